// `sonify analyze` on the fixture models against tests/oracles/analysis.py (numpy,
// scipy, scikit-learn on float64 copies of the same tensors). Tolerances: singular
// values relative 1e-4 over the top 90% of each spectrum with the Gram method and
// 1e-9 with the exact one; moments and norms relative 1e-5; PCA ratios 1e-9.
#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <tuple>

#include "test_support.h"

using nlohmann::json;
using sonify::test::run_program;
using sonify::test::run_sonify;
using sonify::test::TempDir;

namespace {

json oracle(const std::string& model_dir) {
  auto r = run_program(
      {"/usr/bin/python3", std::string(SONIFY_SOURCE_DIR) + "/tests/oracles/analysis.py", model_dir});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return json::parse(r.out);
}

json analyze(const std::string& model_dir, const std::string& svd) {
  TempDir dir;
  auto r =
      run_sonify({"analyze", "--model", model_dir, "--no-cache", "--svd", svd, "-o", dir.file("f.json")});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return json::parse(sonify::test::read_file(dir.file("f.json")));
}

// |a - b| <= rel * max(|b|, scale).
void near(double a, double b, double rel, double scale = 0) {
  CHECK(std::fabs(a - b) <= rel * std::max(std::fabs(b), scale));
}

void compare_moments(const json& a, const json& b, double scale) {
  for (const char* k : {"mean", "std", "min", "max"}) {
    INFO(k);
    near(a[k], b[k], 1e-5, scale);
  }
  near(a["skewness"], b["skewness"], 1e-5, 1e-3);
  near(a["kurtosis"], b["kurtosis"], 1e-5, 1e-3);
}

void compare(const json& ours, const json& ref, bool gram) {
  std::map<std::pair<int, std::string>, const json*> ref_matrices;
  for (const auto& m : ref["matrices"])
    ref_matrices[{m["layer"].get<int>(), m["role"].get<std::string>()}] = &m;
  REQUIRE(ours["matrices"].size() == ref["matrices"].size());
  for (const auto& m : ours["matrices"]) {
    INFO("matrix layer " << m["layer"] << " " << m["role"]);
    const json& r = *ref_matrices.at({m["layer"].get<int>(), m["role"].get<std::string>()});
    CHECK(m["rows"] == r["rows"]);
    CHECK(m["cols"] == r["cols"]);
    const double scale = r["moments"]["std"].get<double>();
    compare_moments(m["moments"], r["moments"], scale);
    near(m["frobenius"], r["frobenius"], 1e-9);
    CHECK(m["p02"].get<double>() == r["p02"].get<double>());
    CHECK(m["p98"].get<double>() == r["p98"].get<double>());
    CHECK(m["histogram"] == r["histogram"]);
    near(m["bimodality"], r["bimodality"], 1e-5);
    near(m["heavy_tail_index"], r["heavy_tail_index"], 1e-9);
    for (const char* k : {"row_norms", "col_norms"}) {
      REQUIRE(m[k].size() == r[k].size());
      for (std::size_t i = 0; i < m[k].size(); ++i) near(m[k][i], r[k][i], 1e-6);
    }
    const json& s = m["spectrum"];
    const json& rs = r["spectrum"];
    const auto sv = s["singular_values"].get<std::vector<double>>();
    const auto rsv = rs["singular_values"].get<std::vector<double>>();
    REQUIRE(sv.size() == rsv.size());
    const double tol = gram ? 1e-4 : 1e-9;
    const std::size_t top = static_cast<std::size_t>(std::ceil(0.9 * rsv.size()));
    for (std::size_t i = 0; i < sv.size(); ++i) {
      INFO("sigma " << i << " of " << sv.size());
      if (i < top) near(sv[i], rsv[i], tol);
      // Below the top 90%: absolute error within the stated floor (plus rounding).
      CHECK(std::fabs(sv[i] - rsv[i]) <= s["accuracy_floor"].get<double>() + 1e-12 * rsv[0]);
    }
    near(s["sigma_max"], rs["sigma_max"], tol);
    near(s["stable_rank"], rs["stable_rank"], tol);
    near(s["spectral_entropy"], rs["spectral_entropy"], tol);
    near(s["effective_rank"], rs["effective_rank"], tol);
    if (!gram) {
      near(s["condition_number"], rs["condition_number"], 1e-6);
      CHECK(s["alpha_tail"] == rs["alpha_tail"]);
      near(s["alpha"], rs["alpha"], 1e-6);
      near(s["alpha_xmin"], rs["alpha_xmin"], 1e-6);
    }
  }
  REQUIRE(ours["vectors"].size() == ref["vectors"].size());
  std::map<std::tuple<int, std::string, std::string>, const json*> ref_vectors;
  for (const auto& v : ref["vectors"])
    ref_vectors[{v["layer"].get<int>(), v["role"].get<std::string>(), v["part"].get<std::string>()}] = &v;
  for (const json& v : ours["vectors"]) {
    INFO("vector layer " << v["layer"] << " " << v["role"] << " " << v["part"]);
    const json& r =
        *ref_vectors.at({v["layer"].get<int>(), v["role"].get<std::string>(), v["part"].get<std::string>()});
    compare_moments(v["moments"], r["moments"], r["moments"]["std"].get<double>() + 1e-6);
    near(v["l2"], r["l2"], 1e-9);
    REQUIRE(v["values"].size() == r["values"].size());
    for (std::size_t k = 0; k < v["values"].size(); ++k) near(v["values"][k], r["values"][k], 1e-7, 1e-7);
  }
  REQUIRE(ours["transitions"].size() == ref["transitions"].size());
  std::map<std::pair<std::string, int>, const json*> ref_tr;
  for (const auto& t : ref["transitions"])
    ref_tr[{t["role"].get<std::string>(), t["to_layer"].get<int>()}] = &t;
  for (const auto& t : ours["transitions"]) {
    INFO("transition " << t["role"] << " to " << t["to_layer"]);
    const json& r = *ref_tr.at({t["role"].get<std::string>(), t["to_layer"].get<int>()});
    CHECK(t["from_layer"] == r["from_layer"]);
    near(t["wasserstein1"], r["wasserstein1"], 1e-9);
    near(t["spectral_delta"], r["spectral_delta"], gram ? 1e-3 : 1e-9);
  }
  REQUIRE(ours["tension"].size() == ref["tension"].size());
  for (std::size_t l = 0; l < ours["tension"].size(); ++l) near(ours["tension"][l], ref["tension"][l], 1e-9);
  const json& t = ours["tonality"];
  const json& rt = ref["tonality"];
  CHECK(t["source"] == rt["source"]);
  CHECK(t["root"] == rt["root"]);
  CHECK(t["mode"] == rt["mode"]);
  near(t["key_correlation"], rt["key_correlation"], 1e-9);
  for (std::size_t c = 0; c < 12; ++c) near(t["chroma"][c], rt["chroma"][c], 1e-9, 1e-12);
  REQUIRE(t["explained_variance_ratio"].size() == rt["explained_variance_ratio"].size());
  for (std::size_t k = 0; k < rt["explained_variance_ratio"].size(); ++k)
    near(t["explained_variance_ratio"][k], rt["explained_variance_ratio"][k], 1e-9, 1e-12);
  near(t["shape_skewness"], rt["shape_skewness"], 1e-7, 1e-9);
}

void check_model(const std::string& name) {
  const std::string dir = sonify::test::fixtures_dir() + "/models/" + name;
  const json ref = oracle(dir);
  {
    INFO("--svd auto (exact for these shapes)");
    compare(analyze(dir, "auto"), ref, false);
  }
  {
    INFO("--svd gram");
    compare(analyze(dir, "gram"), ref, true);
  }
}

}  // namespace

TEST_CASE("analyze TinyStories-656K matches numpy/scipy/sklearn", "[fixtures][oracle]") {
  check_model("TinyStories-656K");
}
TEST_CASE("analyze tiny-gpt2-random matches numpy/scipy/sklearn", "[fixtures][oracle]") {
  check_model("tiny-gpt2-random");
}
TEST_CASE("analyze tiny-gemma3-random matches numpy/scipy/sklearn", "[fixtures][oracle]") {
  check_model("tiny-gemma3-random");
}
