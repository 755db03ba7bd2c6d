// Direct synthesis (issue 16, §8-§10) against a float64 numpy/scikit-learn/scipy oracle of
// the same formulas with the notebooks' bugs fixed (tests/oracles/direct_synth.py): the
// partial tables and the audio itself, sample by sample, for every style.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "sonify/synth.h"
#include "test_support.h"

using nlohmann::json;
using sonify::test::read_file;
using sonify::test::run_program;
using sonify::test::TempDir;
using sonify::test::write_file;

namespace {

// Hidden states with structure: every state a different mix of a few directions, so the
// norms, the PCA phases and the high-variance dimensions all vary.
sonify::HiddenStack stack(int states, int tokens, int width) {
  sonify::HiddenStack h{states, tokens, width, {}};
  for (int s = 0; s < states; ++s)
    for (int t = 0; t < tokens; ++t)
      for (int d = 0; d < width; ++d)
        h.values.push_back(static_cast<float>((1.0 + 0.7 * s) * std::sin(0.37 * d * (t + 1) + 0.5 * s) +
                                              0.3 * std::cos(1.3 * d - 0.2 * t * s) + 0.05 * t));
  return h;
}

struct Oracle {
  std::vector<double> audio;  // interleaved stereo
  json table;
};

Oracle oracle(const TempDir& dir, const std::string& style, const sonify::HiddenStack& h,
              std::uint64_t seed) {
  const std::string in = dir.file("stack.f32"), out = dir.file(style + ".f64");
  write_file(in,
             std::string(reinterpret_cast<const char*>(h.values.data()), h.values.size() * sizeof(float)));
  auto r = run_program({"/usr/bin/python3", std::string(SONIFY_SOURCE_DIR) + "/tests/oracles/direct_synth.py",
                        style, in, std::to_string(h.states), std::to_string(h.tokens),
                        std::to_string(h.width), std::to_string(seed), out});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  Oracle o;
  const std::string bytes = read_file(out);
  o.audio.resize(bytes.size() / sizeof(double));
  std::memcpy(o.audio.data(), bytes.data(), o.audio.size() * sizeof(double));
  o.table = json::parse(r.out);
  return o;
}

double circular(double a, double b) { return std::abs(std::remainder(a - b, 2 * M_PI)); }

void check_table(const sonify::PartialTable& p, const json& want) {
  REQUIRE(p.frequency_hz.size() == want["frequency_hz"].size());
  for (std::size_t s = 0; s < p.frequency_hz.size(); ++s) {
    REQUIRE(p.frequency_hz[s].size() == want["frequency_hz"][s].size());
    for (std::size_t k = 0; k < p.frequency_hz[s].size(); ++k) {
      INFO("section " << s << " partial " << k);
      CHECK(std::abs(p.frequency_hz[s][k] - want["frequency_hz"][s][k].get<double>()) < 1e-9);
      CHECK(std::abs(p.amplitude[s][k] - want["amplitude"][s][k].get<double>()) < 1e-9);
      CHECK(circular(p.phase[s][k], want["phase"][s][k].get<double>()) < 1e-6);
    }
  }
  if (want.contains("dimensions")) CHECK(json(p.dimensions) == want["dimensions"]);
}

}  // namespace

TEST_CASE("direct synthesis matches the numpy oracle for every style, sample by sample", "[synth]") {
  TempDir dir;
  const auto h = stack(4, 9, 24);
  for (auto style :
       {sonify::DirectStyle::Thinking, sonify::DirectStyle::Sines, sonify::DirectStyle::Operatic}) {
    const std::string name = sonify::direct_style_name(style);
    INFO(name);
    sonify::DirectOptions options;
    options.style = style;
    options.seed = 7;
    auto got = sonify::direct_synthesize(h, options);
    REQUIRE(got.ok());
    const Oracle want = oracle(dir, name, h, 7);
    check_table(got->partials, want.table);
    REQUIRE(got->audio.samples.size() == want.audio.size());
    double worst = 0, peak = 0;
    for (std::size_t i = 0; i < want.audio.size(); ++i) {
      worst = std::max(worst, std::abs(got->audio.samples[i] - want.audio[i]));
      peak = std::max(peak, static_cast<double>(std::abs(got->audio.samples[i])));
    }
    // The samples are float32 at most 0.5: rounding them costs up to half an ulp below 0.5,
    // 2^-26 = 1.49e-8; the double synthesis (phasors re-anchored per block, partitioned FFT
    // reverb) adds ~1e-12. Measured: 1.49e-8 for every style.
    CHECK(worst < 2e-8);
    CHECK(peak <= 0.5 + 1e-6);  // far from full scale; mastering sets the level
    // Sections overlap by exactly their fade: a crossfade, not sections end to end.
    for (std::size_t s = 1; s < got->section_start_seconds.size(); ++s)
      CHECK(std::abs(got->section_start_seconds[s] - got->section_start_seconds[s - 1] -
                     (got->section_seconds - got->fade_seconds)) < 1e-4);
    // The same inputs give the same bytes.
    auto again = sonify::direct_synthesize(h, options);
    REQUIRE(again.ok());
    CHECK(again->audio.samples == got->audio.samples);
  }
}

TEST_CASE("the operatic reverb is seeded: another seed gives another room, the same seed the same bytes",
          "[synth]") {
  const auto h = stack(2, 5, 16);
  sonify::DirectOptions a;
  a.style = sonify::DirectStyle::Operatic;
  a.seed = 1;
  sonify::DirectOptions b = a;
  b.seed = 2;
  auto x = sonify::direct_synthesize(h, a), y = sonify::direct_synthesize(h, b);
  REQUIRE(x.ok());
  REQUIRE(y.ok());
  CHECK(x->audio.samples != y->audio.samples);
  CHECK(x->partials.amplitude == y->partials.amplitude);
}

TEST_CASE("direct synthesis refuses inconsistent or non-finite hidden states in one line", "[synth]") {
  auto h = stack(2, 3, 4);
  h.values.pop_back();
  auto r = sonify::direct_synthesize(h, {});
  REQUIRE(!r.ok());
  CHECK(r.error().message.find("hold 23 values") != std::string::npos);
  h = stack(2, 3, 4);
  h.values[5] = NAN;
  r = sonify::direct_synthesize(h, {});
  REQUIRE(!r.ok());
  CHECK(r.error().message.find("NaN") != std::string::npos);
  CHECK(!sonify::direct_style_from_name("opera").ok());
}

#ifdef SONIFY_DIRECT_TORCH
TEST_CASE("sonify prompt --style thinking|operatic|sines: the WAV is the oracle's audio from the same trace",
          "[synth][runtime]") {
  // The oracle reads the hidden states from `sonify trace`, so the test checks the whole
  // path: forward pass, partials, synthesis, mastering (a gain; the limiter must not act).
  TempDir dir;
  const std::string text = "Once upon a time, a little dog found a big red ball.";
  auto traced = sonify::test::run_sonify({"trace", text, "-o", dir.file("t.safetensors")});
  INFO(traced.err);
  REQUIRE(traced.exit_code == 0);
  for (const std::string style : {"thinking", "operatic", "sines"}) {
    INFO(style);
    auto r = sonify::test::run_sonify(
        {"prompt", text, "--style", style, "--seed", "3", "-o", dir.file(style), "--name", "p"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(sonify::test::list_dir(dir.file(style)) ==
          std::vector<std::string>{"p.json", "p.timing.json", "p.wav"});
    auto o =
        run_program({"/usr/bin/python3", std::string(SONIFY_SOURCE_DIR) + "/tests/oracles/direct_synth.py",
                     "--trace", style, dir.file("t.safetensors"), "3", dir.file(style + ".f64")});
    INFO(o.err);
    REQUIRE(o.exit_code == 0);
    const json want = json::parse(o.out);
    const json got = json::parse(read_file(dir.file(style + "/p.json")));
    sonify::PartialTable table;
    table.frequency_hz = got["partials"]["frequency_hz"].get<std::vector<std::vector<double>>>();
    table.amplitude = got["partials"]["amplitude"].get<std::vector<std::vector<double>>>();
    table.phase = got["partials"]["phase"].get<std::vector<std::vector<double>>>();
    if (got["partials"].contains("dimensions"))
      table.dimensions = got["partials"]["dimensions"].get<std::vector<int>>();
    check_table(table, want);
    CHECK(got["seed"] == 3);

    const std::string wav = read_file(dir.file(style + "/p.wav"));
    std::vector<std::int16_t> pcm((wav.size() - 44) / 2);
    std::memcpy(pcm.data(), wav.data() + 44, pcm.size() * 2);
    const std::string ref_bytes = read_file(dir.file(style + ".f64"));
    std::vector<double> ref(ref_bytes.size() / sizeof(double));
    std::memcpy(ref.data(), ref_bytes.data(), ref.size() * sizeof(double));
    REQUIRE(pcm.size() == ref.size());
    double xy = 0, yy = 0;
    for (std::size_t i = 0; i < ref.size(); ++i) {
      xy += pcm[i] / 32768.0 * ref[i];
      yy += ref[i] * ref[i];
    }
    const double gain = xy / yy;
    double worst = 0;
    for (std::size_t i = 0; i < ref.size(); ++i)
      worst = std::max(worst, std::abs(pcm[i] / 32768.0 - gain * ref[i]));
    // 16-bit rounding is 1.5e-5; where the -14 LUFS mastering had to limit peaks (the sines'
    // aligned phases make a high crest factor), the waveform still follows the oracle's.
    if (!got["render"]["limited"].get<bool>()) CHECK(worst < 1e-4);
    double xx = 0;
    for (auto v : pcm) xx += (v / 32768.0) * (v / 32768.0);
    CHECK(xy / std::sqrt(xx * yy) > 0.98);
  }
  auto bad =
      sonify::test::run_sonify({"prompt", text, "--style", "sines", "--midi-only", "-o", dir.file("none")});
  CHECK(bad.exit_code != 0);
  CHECK(bad.err == "sonify: error: --midi-only: the sines style synthesises audio and writes no MIDI\n");
  CHECK(!std::filesystem::exists(dir.file("none")));
  auto unused = sonify::test::run_sonify(
      {"prompt", text, "--style", "thinking", "--layers", "0,1,2", "--tempo", "90", "-o", dir.file("none")});
  CHECK(unused.exit_code != 0);
  CHECK(unused.err ==
        "sonify: error: --layers, --tempo: the thinking style synthesises audio straight from the hidden "
        "states "
        "and takes none of these options (they shape the composed styles, voices and markov)\n");
  CHECK(!std::filesystem::exists(dir.file("none")));
}

TEST_CASE("sonify album --style sines: each track is prompt --style's WAV, -j 2 writes -j 1's bytes",
          "[synth][runtime]") {
  TempDir dir;
  const std::vector<std::string> prompts = {"Once upon a time there was a dog.",
                                            "The storm broke over the harbour.",
                                            "A quiet morning in the garden."};
  sonify::test::write_file(dir.file("list.txt"),
                           prompts[0] + "\n# a comment\n" + prompts[1] + "\n\n" + prompts[2] + "\n");
  for (const char* jobs : {"1", "2"}) {
    auto r = sonify::test::run_sonify({"album", dir.file("list.txt"), "--style", "sines", "--seed", "5", "-j",
                                       jobs, "-o", dir.file(std::string("j") + jobs)});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
  }
  const auto files = sonify::test::list_dir(dir.file("j1"));
  CHECK(files == std::vector<std::string>{"album.wav", "manifest.json", "track_01.json",
                                          "track_01.timing.json", "track_01.wav", "track_02.json",
                                          "track_02.timing.json", "track_02.wav", "track_03.json",
                                          "track_03.timing.json", "track_03.wav"});
  CHECK(sonify::test::list_dir(dir.file("j2")) == files);
  for (const auto& f : files) {
    INFO(f);
    CHECK(read_file(dir.file("j1/" + f)) == read_file(dir.file("j2/" + f)));
  }
  const json manifest = json::parse(read_file(dir.file("j1/manifest.json")));
  REQUIRE(manifest["tracks"].size() == 3);
  std::size_t album_frames = 0;
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    auto p = sonify::test::run_sonify(
        {"prompt", prompts[i], "--style", "sines", "--seed", "5", "-o", dir.file("p"), "--name", "p"});
    REQUIRE(p.exit_code == 0);
    const std::string track = "j1/track_0" + std::to_string(i + 1);
    CHECK(read_file(dir.file(track + ".wav")) == read_file(dir.file("p/p.wav")));
    CHECK(read_file(dir.file(track + ".json")) == read_file(dir.file("p/p.json")));
    album_frames += (read_file(dir.file("p/p.wav")).size() - 44) / 4;
    CHECK(manifest["tracks"][i]["prompt"] == prompts[i]);
  }
  // album.wav: the three tracks with two 2-s gaps.
  CHECK(read_file(dir.file("j1/album.wav")).size() == 44 + 4 * (album_frames + 2 * 88200));
  auto bad = sonify::test::run_sonify(
      {"album", dir.file("list.txt"), "--style", "operatic", "--mode", "dialogue", "-o", dir.file("none")});
  CHECK(bad.err ==
        "sonify: error: --mode dialogue: the operatic style makes albums in list order only "
        "(--mode album)\n");
  auto unused = sonify::test::run_sonify(
      {"album", dir.file("list.txt"), "--style", "thinking", "--layers", "1,2", "-o", dir.file("none")});
  CHECK(unused.err ==
        "sonify: error: --layers: the thinking style synthesises audio straight from the hidden "
        "states and takes no such option (they shape the composed styles, voices and markov)\n");
  CHECK(!std::filesystem::exists(dir.file("none")));
}
#endif
