// Direct synthesis (issue 16, §8-§10) against a float64 numpy/scikit-learn/scipy oracle of
// the same formulas with the notebooks' bugs fixed (tests/oracles/direct_synth.py): the
// partial tables and the audio itself, sample by sample, for every style.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
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
    CHECK(worst < 2e-6);
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
