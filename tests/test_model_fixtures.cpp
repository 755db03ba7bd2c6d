// The fixture models (../shared/fixtures) open with the right architecture, and every
// role tensor equals what an independent numpy reader (tests/oracles/role_tensors.py)
// cuts from the same file.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "sonify/checkpoint_write.h"
#include "sonify/model.h"
#include "test_support.h"

using namespace sonify;
using nlohmann::json;

namespace {

json oracle(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/usr/bin/python3",
                                   std::string(SONIFY_SOURCE_DIR) + "/tests/oracles/role_tensors.py"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = sonify::test::run_program(argv);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return r.out.empty() ? json() : json::parse(r.out);
}

Role role_from_name(const std::string& name) {
  for (int r = 0; r <= static_cast<int>(Role::LmHead); ++r)
    if (role_name(static_cast<Role>(r)) == name) return static_cast<Role>(r);
  FAIL("unknown role " << name);
  return Role::Embed;
}

// Compares every role tensor of `model` with the oracle's summary of the same files.
void check_against_oracle(const Model& model, const json& expected) {
  REQUIRE(expected.size() == model.tensors().size());
  for (const auto& e : expected) {
    const Part part = e["part"] == "bias" ? Part::Bias : Part::Weight;
    const RoleTensor* t = model.find(e["layer"].get<int>(), role_from_name(e["role"]), part);
    INFO("layer " << e["layer"] << " " << e["role"] << " " << e["part"]);
    REQUIRE(t != nullptr);
    CHECK(t->shape == e["shape"].get<std::vector<std::int64_t>>());
    auto values = model.load_f32(*t);
    REQUIRE(values.ok());
    double sum = 0, sumsq = 0;
    for (float v : *values) sum += v, sumsq += double(v) * v;
    CHECK(sum == Approx(e["sum"].get<double>()).margin(1e-6 * (1 + e["sumsq"].get<double>())));
    CHECK(sumsq == Approx(e["sumsq"].get<double>()).epsilon(1e-6));  // Gemma 1 + w rounds in f32
    for (const auto& pick : e["picks"]) CHECK((*values)[pick[0].get<std::size_t>()] == pick[1].get<float>());
  }
}

}  // namespace

TEST_CASE("TinyStories-656K: Llama with GQA and an lm_head-only tied embedding", "[fixtures]") {
  auto model = Model::open(sonify::test::fixtures_dir() + "/models/TinyStories-656K");
  REQUIRE(model.ok());
  const ModelSpec& s = model->spec();
  CHECK(s.family == Family::Llama);
  CHECK(s.n_layers == 2);
  CHECK(s.hidden_size == 128);
  CHECK(s.n_heads == 8);
  CHECK(s.n_kv_heads == 4);
  CHECK(s.head_dim == 16);
  CHECK(s.intermediate_size == 384);
  CHECK(s.vocab_size == 2048);
  CHECK(s.context_length == 512);
  CHECK(s.norm_eps == 1e-6);
  CHECK(model->parameter_count() == 656000);
  const RoleTensor* embed = model->find(-1, Role::Embed);
  REQUIRE(embed != nullptr);
  CHECK(embed->tied);
  CHECK(embed->source->name == "lm_head.weight");
  check_against_oracle(*model, oracle({model->path()}));
}

TEST_CASE("tiny-gpt2-random: Conv1D weights split and transposed", "[fixtures]") {
  auto model = Model::open(sonify::test::fixtures_dir() + "/models/tiny-gpt2-random");
  REQUIRE(model.ok());
  const ModelSpec& s = model->spec();
  CHECK(s.family == Family::GPT2);
  CHECK(s.n_layers == 3);
  CHECK(s.hidden_size == 64);
  CHECK(s.n_heads == 4);
  CHECK(s.intermediate_size == 256);
  CHECK(s.vocab_size == 512);
  CHECK(s.context_length == 64);
  CHECK(model->parameter_count() == 186944);
  CHECK(model->find(-1, Role::LmHead)->tied);
  const RoleTensor* k = model->find(1, Role::K);
  REQUIRE(k != nullptr);
  CHECK(k->transposed);
  CHECK(k->slice_begin == 64);
  CHECK(k->slice_end == 128);
  check_against_oracle(*model, oracle({model->path()}));
}

TEST_CASE("GPT-2 without the transformer. prefix and with attn.bias buffers", "[fixtures]") {
  // Hub GPT-2 checkpoints name tensors "h.0.attn.c_attn.weight" and carry causal-mask
  // buffers; rewrite the fixture that way and expect identical roles.
  auto original = Model::open(sonify::test::fixtures_dir() + "/models/tiny-gpt2-random");
  REQUIRE(original.ok());
  const Checkpoint& src = original->checkpoint();
  std::vector<TensorDecl> decls;
  for (const auto& t : src.tensors())
    decls.push_back({t.name.substr(std::string("transformer.").size()), t.dtype, t.shape});
  for (int layer = 0; layer < 3; ++layer)
    decls.push_back({"h." + std::to_string(layer) + ".attn.bias", DType::F32, {1, 1, 64, 64}});
  sonify::test::TempDir dir;
  std::filesystem::copy_file(original->path() + "/config.json", dir.file("config.json"));
  auto fill = [&](std::size_t i, unsigned char* dst, std::size_t n) {
    if (i < src.tensors().size()) std::memcpy(dst, src.bytes(src.tensors()[i]).data, n);
  };
  REQUIRE(safetensors_write(dir.file("model.safetensors"), decls, {}, fill).ok());
  auto renamed = Model::open(dir.path());
  REQUIRE(renamed.ok());
  CHECK(renamed->ignored_tensors() ==
        std::vector<std::string>{"h.0.attn.bias", "h.1.attn.bias", "h.2.attn.bias"});
  REQUIRE(renamed->tensors().size() == original->tensors().size());
  CHECK(renamed->parameter_count() == original->parameter_count());
  for (std::size_t i = 0; i < renamed->tensors().size(); ++i) {
    const RoleTensor& a = original->tensors()[i];
    const RoleTensor& b = renamed->tensors()[i];
    CHECK(a.layer == b.layer);
    CHECK(a.role == b.role);
    CHECK(*original->load_f32(a) == *renamed->load_f32(b));
  }
}

TEST_CASE("tiny-gemma3-random: four norms, q/k norms, effective 1 + w gains", "[fixtures]") {
  auto model = Model::open(sonify::test::fixtures_dir() + "/models/tiny-gemma3-random");
  REQUIRE(model.ok());
  const ModelSpec& s = model->spec();
  CHECK(s.family == Family::Gemma3);
  CHECK(s.n_layers == 4);
  CHECK(s.hidden_size == 48);
  CHECK(s.n_heads == 2);
  CHECK(s.n_kv_heads == 1);
  CHECK(s.head_dim == 16);
  CHECK(s.sliding_window == 4);
  CHECK(s.layer_is_sliding == std::vector<bool>{true, true, false, true});
  CHECK(s.query_pre_attn_scalar == 24);
  CHECK(model->parameter_count() == 89072);
  const RoleTensor* norm = model->find(2, Role::MlpNorm);
  REQUIRE(norm != nullptr);
  auto stored = model->load_f32(*norm, NormGain::Stored);
  auto effective = model->load_f32(*norm, NormGain::Effective);
  REQUIRE(stored.ok());
  REQUIRE(effective.ok());
  CHECK((*effective)[5] == (*stored)[5] + 1.0f);
  check_against_oracle(*model, oracle({model->path()}));
}

TEST_CASE("Phi-3 fused qkv_proj and gate_up_proj split by rows, mixed dtypes", "[oracle]") {
  sonify::test::TempDir dir;
  oracle({"--make-phi3", dir.path()});
  auto model = Model::open(dir.path());
  REQUIRE(model.ok());
  CHECK(model->spec().family == Family::Phi3);
  CHECK(model->find(0, Role::V)->slice_begin == 48);
  CHECK(model->find(1, Role::Up)->source->dtype == DType::F16);
  CHECK(model->find(-1, Role::LmHead)->source->dtype == DType::BF16);
  CHECK_FALSE(model->find(-1, Role::LmHead)->tied);
  check_against_oracle(*model, oracle({dir.path()}));
}
