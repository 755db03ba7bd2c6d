// RoPE frequency tables against an independent numpy transcription of transformers'
// rope initialisation (default, linear, llama3) and Gemma 3's local/global bases.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "sonify/runtime.h"
#include "test_support.h"

using namespace sonify;

namespace {

// numpy's inv_freq for a head_dim, base and rope_scaling JSON (written from
// modeling_rope_utils.py: _compute_default / _compute_linear / _compute_llama3_parameters).
std::vector<double> numpy_inv_freq(int dim, double base, const std::string& scaling) {
  const std::string code = R"(
import json, math, sys
import numpy as np
dim, base, rs = int(sys.argv[1]), float(sys.argv[2]), json.loads(sys.argv[3])
inv = 1.0 / base ** (np.arange(0, dim, 2, dtype=np.float64) / dim)
t = rs.get("rope_type", rs.get("type", "default")) if rs else "default"
if t == "linear":
    inv = inv / rs["factor"]
elif t == "llama3":
    f, lo, hi, old = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"], rs["original_max_position_embeddings"]
    wl = 2 * math.pi / inv
    out = np.where(wl > old / lo, inv / f, inv)
    smooth = (old / wl - lo) / (hi - lo)
    smoothed = (1 - smooth) * out / f + smooth * out
    medium = ~(wl < old / hi) & ~(wl > old / lo)
    inv = np.where(medium, smoothed, out)
print(json.dumps(inv.tolist()))
)";
  auto r = sonify::test::run_program(
      {"/usr/bin/python3", "-c", code, std::to_string(dim), std::to_string(base), scaling});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return nlohmann::json::parse(r.out).get<std::vector<double>>();
}

void check_close(const std::vector<double>& ours, const std::vector<double>& expected) {
  REQUIRE(ours.size() == expected.size());
  for (std::size_t i = 0; i < ours.size(); ++i) CHECK(ours[i] == Approx(expected[i]).epsilon(1e-12));
}

ModelSpec spec_from(const std::string& config) {
  auto spec = model_spec_parse(config, "config.json");
  INFO((spec.ok() ? "" : spec.error().message));
  REQUIRE(spec.ok());
  return *spec;
}

const char* kLlama = R"({"model_type": "llama", "hidden_size": 2048, "num_hidden_layers": 2,
  "intermediate_size": 64, "vocab_size": 10, "max_position_embeddings": 131072,
  "num_attention_heads": 32, "rope_theta": 500000.0 ROPE})";

std::string llama_with(const std::string& rope) {
  std::string s = kLlama;
  return s.replace(s.find(" ROPE"), 5, rope);
}

}  // namespace

TEST_CASE("rope_table: default, linear and llama3 scaling match transformers' formulas") {
  const std::string llama3 = R"({"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0,
    "high_freq_factor": 4.0, "original_max_position_embeddings": 8192})";
  const std::string linear = R"({"type": "linear", "factor": 4.0})";
  for (const std::string scaling : {std::string("null"), linear, llama3}) {
    INFO(scaling);
    const ModelSpec spec = spec_from(llama_with(scaling == "null" ? "" : ", \"rope_scaling\": " + scaling));
    auto table = rope_table(spec, false);
    REQUIRE(table.ok());
    CHECK(table->rotary_dim == 64);
    check_close(table->inv_freq, numpy_inv_freq(64, 500000.0, scaling));
  }
  // Something the runtime does not implement is refused, not silently ignored.
  auto yarn =
      rope_table(spec_from(llama_with(R"(, "rope_scaling": {"rope_type": "yarn", "factor": 4.0})")), false);
  REQUIRE(!yarn.ok());
  CHECK(yarn.error().message.find("'yarn' is not implemented") != std::string::npos);
}

TEST_CASE("rope_table: Gemma 3 sliding layers use the local base without scaling") {
  const ModelSpec spec = spec_from(R"({"model_type": "gemma3_text", "hidden_size": 64, "num_hidden_layers": 2,
    "intermediate_size": 64, "vocab_size": 10, "max_position_embeddings": 64, "num_attention_heads": 2,
    "head_dim": 16, "rope_theta": 1000000.0, "rope_local_base_freq": 10000.0,
    "rope_scaling": {"rope_type": "linear", "factor": 8.0}})");
  auto global = rope_table(spec, false), local = rope_table(spec, true);
  REQUIRE((global.ok() && local.ok()));
  check_close(global->inv_freq, numpy_inv_freq(16, 1e6, R"({"rope_type": "linear", "factor": 8.0})"));
  check_close(local->inv_freq, numpy_inv_freq(16, 1e4, "null"));
}
