// Synthetic checkpoints: written in HF layout, read back to the same roles, seeded.
#include <catch2/catch.hpp>
#include <cmath>

#include "sonify/checkpoint_write.h"
#include "sonify/model.h"
#include "test_support.h"

using namespace sonify;
using sonify::test::TempDir;

namespace {

std::int64_t layout_params(const ModelSpec& s) {
  std::int64_t n = 0;
  for (const auto& e : model_layout(s)) {
    std::int64_t k = 1;
    for (auto d : e.shape) k *= d;
    n += k;
  }
  return n;
}

}  // namespace

TEST_CASE("the bundled architecture configs have the published parameter counts", "[synthetic]") {
  const std::string dir = std::string(SONIFY_SOURCE_DIR) + "/configs/architectures/";
  auto gpt2 = model_spec_read(dir + "gpt2-small.json");
  REQUIRE(gpt2.ok());
  CHECK(layout_params(*gpt2) == 124439808);  // Hugging Face gpt2 num_parameters()
  auto gemma = model_spec_read(dir + "gemma3-270m.json");
  REQUIRE(gemma.ok());
  CHECK(layout_params(*gemma) == 268098176);  // google/gemma-3-270m
  CHECK(gemma->layer_is_sliding[5] == false);
  CHECK(gemma->layer_is_sliding[6] == true);
}

TEST_CASE("synthetic checkpoints of every family read back to the same roles", "[synthetic]") {
  struct Row {
    const char* family;
    std::string config;
    DType dtype;
  };
  const std::vector<Row> rows = {
      {"gpt2", R"({"model_type":"gpt2","n_embd":32,"n_layer":2,"n_head":4,"vocab_size":50,"n_positions":16})",
       DType::F32},
      {"llama",
       R"({"model_type":"llama","hidden_size":32,"num_hidden_layers":3,"intermediate_size":48,"vocab_size":50,"max_position_embeddings":16,"num_attention_heads":4,"num_key_value_heads":2})",
       DType::BF16},
      {"qwen2",
       R"({"model_type":"qwen2","hidden_size":32,"num_hidden_layers":2,"intermediate_size":48,"vocab_size":50,"max_position_embeddings":16,"num_attention_heads":4,"num_key_value_heads":1,"tie_word_embeddings":true})",
       DType::F16},
      {"gemma3",
       R"({"model_type":"gemma3_text","hidden_size":24,"num_hidden_layers":3,"intermediate_size":40,"vocab_size":50,"max_position_embeddings":16,"num_attention_heads":2,"num_key_value_heads":1,"head_dim":8,"sliding_window_pattern":2})",
       DType::BF16},
      {"phi3",
       R"({"model_type":"phi3","hidden_size":32,"num_hidden_layers":2,"intermediate_size":48,"vocab_size":50,"max_position_embeddings":16,"num_attention_heads":4,"num_key_value_heads":2})",
       DType::F32},
  };
  for (const auto& row : rows) {
    INFO(row.family);
    TempDir dir;
    sonify::test::write_file(dir.file("arch.json"), row.config);
    REQUIRE(synthetic_checkpoint_write(dir.file("arch.json"), dir.file("m"), row.dtype, 42).ok());
    auto model = Model::open(dir.file("m"));
    INFO((model.ok() ? "" : model.error().message));
    REQUIRE(model.ok());
    CHECK(model->parameter_count() == layout_params(model->spec()));
    CHECK(model->ignored_tensors().empty());
    // Weights look like the initialiser asked for: mean 0, std 0.02 scaled by depth.
    const RoleTensor* q = model->find(0, Role::Q);
    REQUIRE(q != nullptr);
    CHECK(q->source->dtype == row.dtype);
    auto values = model->load_f32(*q);
    REQUIRE(values.ok());
    double sum = 0, sumsq = 0;
    for (float v : *values) sum += v, sumsq += double(v) * v;
    const double n = static_cast<double>(values->size());
    CHECK(std::abs(sum / n) < 0.005);
    CHECK(std::sqrt(sumsq / n) == Approx(0.02).epsilon(0.15));
    // Norm gains are near 1 whatever the storage convention.
    auto gain = model->load_f32(*model->find(0, Role::AttnNorm));
    REQUIRE(gain.ok());
    CHECK(std::abs((*gain)[0] - 1.0f) < 0.3f);
  }
}

TEST_CASE("synthetic checkpoints are deterministic in the seed", "[synthetic]") {
  TempDir dir;
  const std::string cfg =
      R"({"model_type":"gpt2","n_embd":16,"n_layer":1,"n_head":2,"vocab_size":20,"n_positions":8})";
  sonify::test::write_file(dir.file("arch.json"), cfg);
  REQUIRE(synthetic_checkpoint_write(dir.file("arch.json"), dir.file("a"), DType::BF16, 7).ok());
  REQUIRE(synthetic_checkpoint_write(dir.file("arch.json"), dir.file("b"), DType::BF16, 7).ok());
  REQUIRE(synthetic_checkpoint_write(dir.file("arch.json"), dir.file("c"), DType::BF16, 8).ok());
  const auto a = sonify::test::read_file(dir.file("a/model.safetensors"));
  CHECK(a == sonify::test::read_file(dir.file("b/model.safetensors")));
  auto q_of = [&](const char* name) {
    auto model = Model::open(dir.file(name));
    REQUIRE(model.ok());
    return *model->load_f32(*model->find(0, Role::Q));
  };
  CHECK(q_of("a") == q_of("b"));
  CHECK(q_of("a") != q_of("c"));
  CHECK(sonify::test::read_file(dir.file("a/config.json")) == cfg);
}
