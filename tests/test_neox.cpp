// GPT-NeoX / Pythia (issue 18) against tests/oracles/neox.py: a tiny random checkpoint in
// Hugging Face's layout written by the oracle, its roles (head-interleaved query_key_value),
// and the forward pass against the oracle's float64 numpy forward with both
// use_parallel_residual settings; analyze and trace run on it. Built with SONIFY_WITH_TORCH.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "runtime_support.h"
#include "sonify/analysis.h"
#include "sonify/runtime.h"
#include "test_support.h"

using namespace sonify;
using nlohmann::json;
using sonify::test::run_program;
using sonify::test::run_sonify;
using sonify::test::TempDir;

namespace {

const std::string kOracle = std::string(SONIFY_SOURCE_DIR) + "/tests/oracles/neox.py";

void write_model(const std::string& dir, bool parallel, int seed) {
  auto r =
      run_program({"/usr/bin/python3", kOracle, "write", dir, parallel ? "1" : "0", std::to_string(seed)});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
}

}  // namespace

TEST_CASE("GPT-NeoX roles: query_key_value is cut per head", "[neox]") {
  TempDir dir;
  write_model(dir.path(), true, 1);
  auto model = Model::open(dir.path());
  INFO((model.ok() ? "" : model.error().message));
  REQUIRE(model.ok());
  const ModelSpec& s = model->spec();
  CHECK(s.family == Family::GPTNeoX);
  CHECK(s.parallel_residual);
  CHECK(s.partial_rotary_factor == 0.5);
  CHECK(s.layer_norm);
  CHECK_FALSE(s.tie_word_embeddings);
  CHECK(model->ignored_tensors().size() == 2);  // the rotary inv_freq buffers
  const RoleTensor* qkv[3] = {model->find(1, Role::Q), model->find(1, Role::K), model->find(1, Role::V)};
  const RoleTensor* bias[3] = {model->find(1, Role::Q, Part::Bias), model->find(1, Role::K, Part::Bias),
                               model->find(1, Role::V, Part::Bias)};
  auto whole = model->checkpoint().to_f32(*qkv[0]->source);
  auto whole_bias = model->checkpoint().to_f32(*bias[0]->source);
  REQUIRE(whole.ok());
  REQUIRE(whole_bias.ok());
  const std::int64_t d = s.hidden_size, hd = s.head_dim;
  for (int part = 0; part < 3; ++part) {
    REQUIRE(qkv[part] != nullptr);
    CHECK(qkv[part]->shape == std::vector<std::int64_t>{d, d});
    auto w = model->load_f32(*qkv[part]);
    auto b = model->load_f32(*bias[part]);
    REQUIRE(w.ok());
    REQUIRE(b.ok());
    // modeling_gpt_neox: row r of head h's q/k/v is stored row h·3·hd + part·hd + r.
    for (std::int64_t h = 0; h < s.n_heads; ++h)
      for (std::int64_t r = 0; r < hd; ++r) {
        const std::int64_t stored = h * 3 * hd + part * hd + r;
        CHECK((*b)[static_cast<std::size_t>(h * hd + r)] == (*whole_bias)[static_cast<std::size_t>(stored)]);
        for (std::int64_t c = 0; c < d; ++c)
          REQUIRE((*w)[static_cast<std::size_t>((h * hd + r) * d + c)] ==
                  (*whole)[static_cast<std::size_t>(stored * d + c)]);
      }
  }
  CHECK(model->find(-1, Role::LmHead)->source->name == "embed_out.weight");
}

TEST_CASE("GPT-NeoX forward matches the float64 oracle, both residual settings", "[neox]") {
  for (bool parallel : {true, false}) {
    INFO("use_parallel_residual " << parallel);
    TempDir dir;
    write_model(dir.path(), parallel, parallel ? 2 : 3);
    std::vector<std::int64_t> ids;
    std::string joined;
    for (int i = 0; i < 20; ++i) {
      ids.push_back((i * 17 + 3) % 50);
      joined += (i ? "," : "") + std::to_string(ids.back());
    }
    auto oracle = run_program({"/usr/bin/python3", kOracle, "forward", dir.path(), joined});
    INFO(oracle.err);
    REQUIRE(oracle.exit_code == 0);
    const json expected = json::parse(oracle.out)["logits"];
    const auto logits = sonify::test::forward_logits(dir.path(), ids);
    REQUIRE(logits.size() == ids.size() * 50);
    double worst = 0, scale = 0;
    for (std::size_t p = 0; p < ids.size(); ++p)
      for (std::size_t v = 0; v < 50; ++v) {
        const double ref = expected[p][v].get<double>();
        scale = std::max(scale, std::fabs(ref));
        worst = std::max(worst, std::fabs(logits[p * 50 + v] - ref));
      }
    INFO("max |logit - oracle| " << worst << " (logits up to " << scale << ")");
    CHECK(worst <= 1e-4);
    CHECK(scale > 1);  // a real signal, not all zeros
  }
}

TEST_CASE("GPT-NeoX analyze and trace run end to end", "[neox]") {
  TempDir dir;
  write_model(dir.file("m"), false, 4);
  auto r = run_sonify({"analyze", "--model", dir.file("m"), "--no-cache", "-o", dir.file("f.json")});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const json f = json::parse(sonify::test::read_file(dir.file("f.json")));
  CHECK(f["family"] == "gpt_neox");
  int qkv = 0;
  for (const auto& m : f["matrices"]) qkv += m["role"] == "q" || m["role"] == "k" || m["role"] == "v";
  CHECK(qkv == 6);
  r = run_sonify({"trace", "--model", dir.file("m"), "--ids", "1,2,3", "-o", dir.file("t.safetensors")});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string sidecar = sonify::test::read_file(dir.file("t.json"));
  CHECK(sidecar.find("blocks.1.hook_resid_post") != std::string::npos);
  CHECK(sidecar.find("gpt_neox.layers.1 (output)") != std::string::npos);
}
