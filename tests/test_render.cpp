// Rendering with FluidSynth, checked from outside: the WAV (read by scipy, not by us)
// lasts the MIDI length plus the reported tail, is not silent, never reaches full
// scale, and is byte-identical across runs; parallel synths match one synth; bad
// soundfonts and output paths end in one line and leave no file behind.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "sonify/midi.h"
#include "sonify/render.h"
#include "sonify/soundfont.h"
#include "test_support.h"

using nlohmann::json;
using sonify::Score;
using sonify::test::run_sonify;
using sonify::test::TempDir;

namespace {

void require_soundfont() {
  if (!sonify::soundfont_find("").ok())
    sonify::test::skip_test("no GM soundfont: apt-get install fluid-soundfont-gm");
}

// Two seconds at 120 BPM: a piano chord pattern, a bass line and drums.
Score short_score() {
  Score s;
  s.set_tempo(0, 120);
  const int piano = s.add_track("piano", 0);
  const int bass = s.add_track("bass", 38);
  const int drums = s.add_drum_track("drums");
  for (int beat = 0; beat < 4; ++beat) {
    for (int p : {60, 64, 67})
      s.tracks[static_cast<std::size_t>(piano)].note(s.ticks(beat), s.ticks(0.9), p + beat, 90);
    s.tracks[static_cast<std::size_t>(bass)].note(s.ticks(beat), s.ticks(0.5), 36 + beat * 2, 100);
    s.tracks[static_cast<std::size_t>(drums)].note(s.ticks(beat), s.ticks(0.1), beat % 2 ? 38 : 36, 110);
    s.tracks[static_cast<std::size_t>(drums)].note(s.ticks(beat + 0.5), s.ticks(0.1), 42, 80);
  }
  return s;
}

json wav_info(const std::string& path) {
  auto r = sonify::test::run_program(
      {"/usr/bin/python3", std::string(SONIFY_SOURCE_DIR) + "/tests/oracles/wav_info.py", path});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return json::parse(r.out);
}

void check_clean_error(const sonify::test::RunResult& r, const std::string& needle) {
  INFO("stderr: " << r.err);
  CHECK(r.signal == 0);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::StartsWith("sonify: error: ") && Catch::Contains(needle));
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
}

double correlation(const std::vector<float>& a, const std::vector<float>& b) {
  double ab = 0, aa = 0, bb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    ab += static_cast<double>(a[i]) * b[i];
    aa += static_cast<double>(a[i]) * a[i];
    bb += static_cast<double>(b[i]) * b[i];
  }
  return ab / std::sqrt(aa * bb);
}

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  float d = 0;
  for (std::size_t i = 0; i < a.size(); ++i) d = std::max(d, std::fabs(a[i] - b[i]));
  return d;
}

}  // namespace

TEST_CASE("render: duration, level, determinism", "[render]") {
  require_soundfont();
  TempDir dir;
  const Score s = short_score();
  REQUIRE(sonify::midi_write(s, dir.file("in.mid")).ok());
  auto r = run_sonify({"render", dir.file("in.mid"), "-o", dir.file("a.wav"), "--json"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const json report = json::parse(r.out);
  const json info = wav_info(dir.file("a.wav"));
  CHECK(info["rate"] == 44100);
  CHECK(info["channels"] == 2);
  CHECK(info["dtype"] == "int16");
  const double seconds = info["frames"].get<double>() / 44100.0;
  const double tail = report["tail_seconds"];
  CHECK(report["midi_seconds"].get<double>() == Approx(s.length_seconds()).margin(1e-9));
  CHECK(std::fabs(seconds - (s.length_seconds() + tail)) < 0.05);
  CHECK(tail > 0.05);  // the last notes ring on
  CHECK(tail <= 5.05);
  CHECK(info["rms"].get<double>() > 0.01);  // not silent
  CHECK(info["full_scale_samples"] == 0);   // nothing at full scale
  CHECK(info["peak"].get<double>() == Approx(std::pow(10.0, -1.0 / 20)).margin(2e-4));  // -1 dBFS ceiling
  CHECK(report["peak_dbfs"].get<double>() == Approx(-1.0).margin(0.01));
  CHECK(report["loudness_lufs"].is_number());

  auto again = run_sonify({"render", dir.file("in.mid"), "-o", dir.file("b.wav")});
  REQUIRE(again.exit_code == 0);
  CHECK(sonify::test::read_file(dir.file("a.wav")) == sonify::test::read_file(dir.file("b.wav")));
}

TEST_CASE("render --progress json: one line per percent, up to 100, and the same samples", "[render]") {
  require_soundfont();
  TempDir dir;
  Score s;  // 20 s at 120 BPM: about 13 chunks of 1.5 s
  s.set_tempo(0, 120);
  const int piano = s.add_track("piano", 0);
  for (int beat = 0; beat < 40; ++beat)
    s.tracks[static_cast<std::size_t>(piano)].note(s.ticks(beat), s.ticks(0.9), 60 + beat % 12, 90);
  REQUIRE(sonify::midi_write(s, dir.file("in.mid")).ok());
  auto r = run_sonify({"render", dir.file("in.mid"), "-o", dir.file("a.wav"), "--progress", "json"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  std::vector<int> done;
  std::size_t start = 0;
  for (std::size_t end; (end = r.err.find('\n', start)) != std::string::npos; start = end + 1) {
    const json line = json::parse(r.err.substr(start, end - start));
    CHECK(line["total"] == 100);
    CHECK(line["eta"].get<double>() >= 0);
    done.push_back(line["done"].get<int>());
  }
  CHECK(start == r.err.size());  // nothing but the JSON lines on stderr
  REQUIRE(done.size() >= 10);
  CHECK(std::is_sorted(done.begin(), done.end()));
  CHECK(std::adjacent_find(done.begin(), done.end()) == done.end());  // a line only when it changes
  CHECK(done.back() == 100);
  auto quiet = run_sonify({"render", dir.file("in.mid"), "-o", dir.file("b.wav"), "--progress", "none"});
  REQUIRE(quiet.exit_code == 0);
  CHECK(quiet.err.empty());
  CHECK(sonify::test::read_file(dir.file("a.wav")) == sonify::test::read_file(dir.file("b.wav")));
}

TEST_CASE("render: MIDI files written by mido (type 0, running status)", "[render]") {
  require_soundfont();
  TempDir dir;
  auto w = sonify::test::run_program({"/usr/bin/python3",
                                      std::string(SONIFY_SOURCE_DIR) + "/tests/oracles/midi_mido.py", "write",
                                      dir.file("m.mid"), "0"});
  REQUIRE(w.exit_code == 0);
  auto r = run_sonify({"render", dir.file("m.mid"), "--json"});  // writes m.wav beside it
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const json report = json::parse(r.out);
  // 384 ticks at 96 ppq and 0.4 s per beat, then 184 more at 0.6 s per beat.
  CHECK(report["midi_seconds"].get<double>() == Approx(4 * 0.4 + 184.0 / 96 * 0.6));
  const json info = wav_info(dir.file("m.wav"));
  CHECK(std::fabs(info["frames"].get<double>() / 44100 - report["audio_seconds"].get<double>()) < 1e-6);
  CHECK(info["rms"].get<double>() > 0.005);
  CHECK(info["full_scale_samples"] == 0);
}

TEST_CASE("render: a file without notes stays silent", "[render]") {
  require_soundfont();
  Score s;
  s.set_tempo(0, 100);
  s.mark(s.ticks(4), "end");
  auto file = sonify::midi_from_score(s);
  REQUIRE(file.ok());
  auto audio = sonify::render_audio(*file, sonify::SynthOptions{});
  REQUIRE(audio.ok());
  CHECK(audio->seconds() == Approx(2.4).margin(0.05));  // 4 beats at 100 BPM, no tail to speak of
  auto m = sonify::master_audio(*audio, sonify::MasterOptions{});
  REQUIRE(m.ok());
  CHECK(m->gain_db == 0);
  CHECK(m->peak_dbfs < -90);
}

TEST_CASE("render: formats, sample rate, loudness target", "[render]") {
  require_soundfont();
  TempDir dir;
  REQUIRE(sonify::midi_write(short_score(), dir.file("in.mid")).ok());
  auto f = run_sonify(
      {"render", dir.file("in.mid"), "-o", dir.file("f.wav"), "--format", "f32", "--sample-rate", "48000"});
  REQUIRE(f.exit_code == 0);
  const json fi = wav_info(dir.file("f.wav"));
  CHECK(fi["rate"] == 48000);
  CHECK(fi["dtype"] == "float32");
  CHECK(fi["peak"].get<double>() <= std::pow(10.0, -1.0 / 20) + 1e-6);

  auto l = run_sonify({"render", dir.file("in.mid"), "-o", dir.file("l.wav"), "--format", "s24", "--loudness",
                       "-16", "--json"});
  INFO(l.err);
  REQUIRE(l.exit_code == 0);
  const json report = json::parse(l.out);
  CHECK(report["loudness_lufs"].get<double>() == Approx(-16).margin(1.0));
  CHECK(report["peak_dbfs"].get<double>() <= -1.0 + 1e-3);
  const json li = wav_info(dir.file("l.wav"));
  CHECK(li["dtype"] == "int32");  // scipy returns 24-bit PCM left-justified in int32
  CHECK(li["full_scale_samples"] == 0);
  CHECK(li["peak"].get<double>() <= std::pow(10.0, -1.0 / 20) + 1e-4);

  // A loud target forces the limiter; the ceiling still holds.
  auto hot =
      run_sonify({"render", dir.file("in.mid"), "-o", dir.file("h.wav"), "--loudness", "-6", "--json"});
  REQUIRE(hot.exit_code == 0);
  const json hr = json::parse(hot.out);
  CHECK(hr["limited"] == true);
  CHECK(hr["peak_dbfs"].get<double>() <= -1.0 + 1e-3);
  CHECK(wav_info(dir.file("h.wav"))["peak"].get<double>() <= std::pow(10.0, -1.0 / 20) + 1e-4);
}

TEST_CASE("render: parallel synths match one synth", "[render]") {
  require_soundfont();
  auto file = sonify::midi_from_score(short_score());
  REQUIRE(file.ok());
  sonify::SynthOptions one, two;
  one.synths = 1;
  two.synths = 3;
  sonify::RenderStats s1, s2;
  auto a = sonify::render_audio(*file, one, &s1);
  auto b = sonify::render_audio(*file, two, &s2);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(s1.synths == 1);
  CHECK(s2.synths == 3);
  REQUIRE(a->samples.size() == b->samples.size());
  CHECK(correlation(a->samples, b->samples) > 0.9999);
  // Not bit-identical: in one synth, a voice reused at a note onset can differ in its
  // first 64-frame block. Dry, everything else is equal up to float rounding.
  float peak = 0;
  for (float v : a->samples) peak = std::max(peak, std::fabs(v));
  CHECK(max_abs_diff(a->samples, b->samples) < 0.05f * peak);
  auto dry = [&](sonify::SynthOptions o) {
    o.reverb = o.chorus = false;
    auto r = sonify::render_audio(*file, o);
    REQUIRE(r.ok());
    return r->samples;
  };
  const auto da = dry(one), db = dry(two);
  REQUIRE(da.size() == db.size());
  std::size_t blocks = 0, differing = 0;
  for (std::size_t at = 0; at + 128 <= da.size(); at += 128, ++blocks) {
    float d = 0;
    for (std::size_t i = at; i < at + 128; ++i) d = std::max(d, std::fabs(da[i] - db[i]));
    differing += d > 1e-6f ? 1 : 0;
  }
  CHECK(differing * 100 < blocks);  // under 1% of the 64-frame blocks
  // The parallel render is deterministic, and the number of threads never changes it.
  two.threads = 1;
  auto b2 = sonify::render_audio(*file, two);
  REQUIRE(b2.ok());
  CHECK(b2->samples == b->samples);
}

TEST_CASE("render: CC74/CC71 filter modulators are neutral at 64 and audible below", "[render]") {
  require_soundfont();
  Score s;
  const int t = s.add_track("saw", 81);
  for (int i = 0; i < 4; ++i)
    s.tracks[static_cast<std::size_t>(t)].note(s.ticks(i * 0.5), s.ticks(0.45), 48 + i * 3, 100);
  auto plain = sonify::midi_from_score(s);
  REQUIRE(plain.ok());
  sonify::SynthOptions with, without;
  with.synths = without.synths = 1;
  without.filter_ccs = false;
  auto a = sonify::render_audio(*plain, with);
  auto b = sonify::render_audio(*plain, without);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a->samples == b->samples);
  s.tracks[static_cast<std::size_t>(t)].control(0, sonify::cc::kCutoff, 10);
  auto closed = sonify::midi_from_score(s);
  auto c = sonify::render_audio(*closed, with);
  REQUIRE(c.ok());
  // High-frequency energy: squared differences of successive samples of one channel.
  auto hf = [](const std::vector<float>& x, std::size_t frames) {
    double e = 0;
    for (std::size_t i = 1; i < frames; ++i) e += std::pow(x[2 * i] - x[2 * i - 2], 2);
    return e;
  };
  const std::size_t frames = std::min(a->frames(), c->frames());
  const double energy_open = hf(a->samples, frames), energy_closed = hf(c->samples, frames);
  CHECK(energy_closed < 0.5 * energy_open);  // a closed filter takes the highs of a saw lead away
}

// Fundamental frequency of the left channel over [from, from + 2048) by autocorrelation
// (lags for 60..600 Hz): the shortest lag whose correlation is a local peak within 10% of
// the best, so multiples of the period do not win.
double f0_hz(const sonify::Audio& a, double from_seconds) {
  const auto start = static_cast<std::size_t>(from_seconds * a.sample_rate_hz);
  const std::size_t n = 2048, lo = a.sample_rate_hz / 600, hi = a.sample_rate_hz / 60;
  std::vector<double> c(hi + 2, 0.0);
  for (std::size_t lag = lo; lag <= hi + 1; ++lag)
    for (std::size_t i = 0; i < n; ++i)
      c[lag] += a.samples[2 * (start + i)] * a.samples[2 * (start + i + lag)];
  const double best = *std::max_element(c.begin() + static_cast<long>(lo), c.end());
  for (std::size_t lag = lo + 1; lag <= hi; ++lag)
    if (c[lag] >= 0.9 * best && c[lag] >= c[lag - 1] && c[lag] >= c[lag + 1])
      return static_cast<double>(a.sample_rate_hz) / static_cast<double>(lag);
  return 0;
}

TEST_CASE("render: portamento glides between overlapping notes", "[render]") {
  require_soundfont();
  auto render = [](bool glide) {
    Score s;  // 120 BPM: C3 for a beat, then C4 for two, overlapping by 10 ms
    const int t = s.add_track("lead", 80);
    auto& tr = s.tracks[static_cast<std::size_t>(t)];
    tr.control(0, sonify::cc::kPortamentoTime, 4);  // 4 * 128 = 512 ms
    tr.control(0, sonify::cc::kPortamento, glide ? 127 : 0);
    tr.note(0, s.ticks(1.02), 48, 100);
    tr.note(s.ticks(1), s.ticks(2), 60, 100);
    auto file = sonify::midi_from_score(s);
    REQUIRE(file.ok());
    sonify::SynthOptions o;
    o.reverb = o.chorus = false;
    auto a = sonify::render_audio(*file, o);
    REQUIRE(a.ok());
    return std::move(a).value();
  };
  const auto jump = render(false), slide = render(true);
  CHECK(f0_hz(jump, 0.3) == Approx(130.8).epsilon(0.03));   // C3
  CHECK(f0_hz(jump, 0.62) == Approx(261.6).epsilon(0.03));  // C4 right away
  CHECK(f0_hz(slide, 0.62) < 240);                          // still on its way up
  CHECK(f0_hz(slide, 0.62) > 135);
  CHECK(f0_hz(slide, 1.2) == Approx(261.6).epsilon(0.03));  // arrived after 512 ms
}

TEST_CASE("render: bad soundfonts, MIDI and output paths leave no file", "[render]") {
  require_soundfont();
  TempDir dir;
  REQUIRE(sonify::midi_write(short_score(), dir.file("in.mid")).ok());
  using namespace std::string_literals;
  sonify::test::write_file(dir.file("bad.sf2"), "RIFF\x10\x00\x00\x00sfbkLIST\x04\x00\x00\x00INFO"s);
  sonify::test::write_file(dir.file("bad.mid"),
                           "MThd\x00\x00\x00\x06\x00\x01\x00\x01\x00\x60MTrk\x00\x00\x01\x00"s);
  const std::vector<std::string> inputs = {"bad.mid", "bad.sf2", "in.mid"};
  check_clean_error(run_sonify({"render", dir.file("in.mid"), "-o", dir.file("o.wav"), "--soundfont",
                                dir.file("none.sf2")}),
                    "none.sf2: soundfont not found");
  check_clean_error(
      run_sonify({"render", dir.file("in.mid"), "-o", dir.file("o.wav"), "--soundfont", dir.file("bad.sf2")}),
      "bad.sf2: FluidSynth cannot load this soundfont");
  check_clean_error(run_sonify({"render", dir.file("in.mid"), "-o", dir.file("missing/o.wav")}),
                    "does not exist");
  check_clean_error(run_sonify({"render", dir.file("bad.mid"), "-o", dir.file("o.wav")}),
                    "bad.mid: chunk 'MTrk' at offset 14 has length 256");
  check_clean_error(run_sonify({"render", dir.file("nothere.mid"), "-o", dir.file("o.wav")}),
                    "nothere.mid: cannot open");
  ::setenv("SONIFY_SOUNDFONT", dir.file("gone.sf2").c_str(), 1);
  auto env = run_sonify({"render", dir.file("in.mid"), "-o", dir.file("o.wav")});
  ::unsetenv("SONIFY_SOUNDFONT");
  check_clean_error(env, "gone.sf2: soundfont named by $SONIFY_SOUNDFONT not found");
  CHECK(sonify::test::list_dir(dir.path()) == inputs);
  auto usage = run_sonify({"render", dir.file("in.mid"), "--format", "u8"});
  CHECK(usage.exit_code == 2);
  CHECK(sonify::test::list_dir(dir.path()) == inputs);
}
