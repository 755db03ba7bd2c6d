// WeightWatcher-compatible metrics (doc/weightwatcher.md) against tests/oracles/ww_metrics.py,
// which restates WeightWatcher's published fitting code with numpy, scipy.optimize.brute/fmin
// and sklearn's KernelDensity: on the fixture models through `sonify analyze`, and on
// synthetic matrices whose eigenvalues follow a power law of known exponent. Exact
// quantities within 1e-6 relative, the same xmin, the same integer counts.
#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "analysis/spectrum.h"
#include "analysis/weightwatcher.h"
#include "test_support.h"

using nlohmann::json;
using sonify::test::run_program;
using sonify::test::run_sonify;
using sonify::test::TempDir;

namespace {

const std::string kOracle = std::string(SONIFY_SOURCE_DIR) + "/tests/oracles/ww_metrics.py";

json run_oracle(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/usr/bin/python3", kOracle};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = run_program(argv);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return json::parse(r.out);
}

void near(const json& a, const json& b, const char* key) {
  INFO(key << ": sonify " << a[key].dump() << " oracle " << b[key].dump());
  const double x = a[key].get<double>(), y = b[key].get<double>();
  CHECK(std::fabs(x - y) <= 1e-6 * std::max(std::fabs(y), 1e-12));
}

void compare(const json& ours, const json& ref) {
  for (const char* k :
       {"N", "M", "num_evals", "num_pl_spikes", "matrix_rank", "num_spikes", "status", "warning"}) {
    INFO(k << ": sonify " << ours[k].dump() << " oracle " << ref[k].dump());
    CHECK(ours[k] == ref[k]);
  }
  // xmin is one of the eigenvalues: the same choice gives it to rounding of the SVD.
  for (const char* k : {"lambda_max", "alpha", "xmin", "xmax", "D", "sigma", "log_norm", "log_spectral_norm",
                        "alpha_weighted", "log_alpha_norm", "stable_rank", "matrix_entropy", "sigma_mp",
                        "mp_softrank", "bulk_min", "bulk_max", "W_scale"})
    near(ours, ref, k);
}

json to_json(const sonify::WeightWatcherMetrics& w) {
  return json{{"N", w.N},
              {"M", w.M},
              {"num_evals", w.num_evals},
              {"lambda_max", w.lambda_max},
              {"alpha", w.alpha},
              {"xmin", w.xmin},
              {"xmax", w.xmax},
              {"D", w.D},
              {"sigma", w.sigma},
              {"num_pl_spikes", w.num_pl_spikes},
              {"status", w.status},
              {"warning", w.warning},
              {"log_norm", w.log_norm},
              {"log_spectral_norm", w.log_spectral_norm},
              {"alpha_weighted", w.alpha_weighted},
              {"log_alpha_norm", w.log_alpha_norm},
              {"stable_rank", w.stable_rank},
              {"matrix_rank", w.matrix_rank},
              {"matrix_entropy", w.matrix_entropy},
              {"num_spikes", w.num_spikes},
              {"sigma_mp", w.sigma_mp},
              {"mp_softrank", w.mp_softrank},
              {"bulk_min", w.bulk_min},
              {"bulk_max", w.bulk_max},
              {"W_scale", w.W_scale}};
}

void check_model(const std::string& dir) {
  TempDir tmp;
  auto r = run_sonify({"analyze", "--model", dir, "--no-cache", "--svd", "exact", "-o", tmp.file("f.json")});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const json ours = json::parse(sonify::test::read_file(tmp.file("f.json")));
  const json ref = run_oracle({dir});
  std::map<std::pair<int, std::string>, const json*> by_key;
  for (const auto& m : ref["matrices"]) by_key[{m["layer"].get<int>(), m["role"].get<std::string>()}] = &m;
  REQUIRE(ours["matrices"].size() == ref["matrices"].size());
  for (const auto& m : ours["matrices"]) {
    INFO("layer " << m["layer"] << " " << m["role"]);
    compare(m["weightwatcher"],
            (*by_key.at({m["layer"].get<int>(), m["role"].get<std::string>()}))["weightwatcher"]);
  }
}

}  // namespace

TEST_CASE("WeightWatcher metrics of TinyStories-656K match the oracle", "[fixtures][oracle][weightwatcher]") {
  check_model(sonify::test::fixtures_dir() + "/models/TinyStories-656K");
}
TEST_CASE("WeightWatcher metrics of tiny-gpt2-random match the oracle", "[fixtures][oracle][weightwatcher]") {
  check_model(sonify::test::fixtures_dir() + "/models/tiny-gpt2-random");
}
TEST_CASE("WeightWatcher metrics of tiny-gemma3-random match the oracle",
          "[fixtures][oracle][weightwatcher]") {
  check_model(sonify::test::fixtures_dir() + "/models/tiny-gemma3-random");
}
TEST_CASE("WeightWatcher metrics of the bundled model match the oracle", "[oracle][weightwatcher]") {
  check_model(std::string(SONIFY_SOURCE_DIR) + "/data/models/sonify-tiny");
}

TEST_CASE("WeightWatcher alpha recovers the exponent of synthetic power-law spectra",
          "[oracle][weightwatcher]") {
  struct Case {
    double alpha;
    int n, m, seed;
  };
  // Tall, wide-as-transposed and square (the quarter-circle branch of the MP fit).
  const Case cases[] = {{2.5, 600, 300, 1}, {3.5, 400, 400, 2}, {5.0, 800, 200, 3}, {1.8, 500, 250, 4}};
  for (const Case& c : cases) {
    INFO("alpha " << c.alpha << " " << c.n << "x" << c.m);
    TempDir tmp;
    const json ref = run_oracle({"--synthetic", tmp.file("w.bin"), std::to_string(c.alpha),
                                 std::to_string(c.n), std::to_string(c.m), std::to_string(c.seed)});
    std::vector<float> w(static_cast<std::size_t>(c.n) * static_cast<std::size_t>(c.m));
    std::ifstream in(tmp.file("w.bin"), std::ios::binary);
    in.read(reinterpret_cast<char*>(w.data()), static_cast<std::streamsize>(w.size() * sizeof(float)));
    REQUIRE(in.gcount() == static_cast<std::streamsize>(w.size() * sizeof(float)));
    const auto sv = sonify::analysis::singular_values_exact(w.data(), c.n, c.m);
    const json ours = to_json(sonify::analysis::weightwatcher_metrics(sv, c.n, c.m));
    compare(ours, ref["weightwatcher"]);
    // The fit finds the exponent it was built with, within three standard errors.
    CHECK(std::fabs(ours["alpha"].get<double>() - c.alpha) <= 3 * ours["sigma"].get<double>());
    CHECK(ours["warning"] == (c.alpha < 2 ? "over-trained" : c.alpha > 6 ? "under-trained" : ""));
  }
}

TEST_CASE("WeightWatcher edge cases follow its failure conventions", "[weightwatcher]") {
  using sonify::analysis::weightwatcher_metrics;
  SECTION("an all-zero matrix reports a failed fit") {
    const auto w = weightwatcher_metrics({0, 0, 0}, 4, 3);
    CHECK(w.status == "failed");
    CHECK(w.alpha == -1);
    CHECK(w.N == 4);
    CHECK(w.M == 3);
  }
  SECTION("one eigenvalue above 1e-5 leaves no candidate xmin") {
    const json ours = to_json(weightwatcher_metrics({2.0, 1e-4, 0}, 12, 3));
    CHECK(ours["status"] == "failed");
    CHECK(ours["warning"] == "over-trained");  // WeightWatcher warns on the -1 of a failed fit
    TempDir tmp;
    sonify::test::write_file(tmp.file("e.json"),
                             json{{"evals", {4.0, 1e-8, 0.0}}, {"N", 12}, {"M", 3}}.dump());
    compare(ours, run_oracle({"--evals", tmp.file("e.json")}));
  }
  SECTION("numpy's pairwise sum") {
    std::vector<double> x;
    for (int i = 0; i < 1000; ++i) x.push_back(1.0 / (1 + i) * (i % 3 == 0 ? -1e8 : 1));
    double seq = 0;
    for (double v : x) seq += v;
    const double pw = sonify::analysis::numpy_sum(x.data(), x.size());
    CHECK(std::fabs(pw - seq) <= 1e-6 * std::fabs(seq));
    CHECK(sonify::analysis::numpy_sum(x.data(), 5) == x[0] + x[1] + x[2] + x[3] + x[4]);
  }
}
