// config.json → ModelSpec for every family, and the errors for broken configs.
#include <catch2/catch.hpp>
#include <cmath>

#include "sonify/model.h"

using namespace sonify;

TEST_CASE("GPT-2 configs take Hugging Face's defaults", "[spec]") {
  auto s = model_spec_parse(
      R"({"model_type":"gpt2","n_embd":768,"n_layer":12,"n_head":12,"vocab_size":50257})", "c");
  REQUIRE(s.ok());
  CHECK(s->family == Family::GPT2);
  CHECK(s->intermediate_size == 3072);
  CHECK(s->context_length == 1024);
  CHECK(s->head_dim == 64);
  CHECK(s->layer_norm);
  CHECK(s->learned_positions);
  CHECK(s->activation == "gelu_new");
  CHECK(s->tie_word_embeddings);
  CHECK_FALSE(s->gated_mlp);
}

TEST_CASE("Llama-style configs: GQA, head_dim, qwen2 biases, rope scaling", "[spec]") {
  const std::string base =
      R"("hidden_size":64,"num_hidden_layers":2,"intermediate_size":128,"vocab_size":100,"max_position_embeddings":256,"num_attention_heads":8)";
  auto llama = model_spec_parse(
      R"({"model_type":"llama","num_key_value_heads":2,"rope_scaling":{"rope_type":"llama3","factor":8.0},)" +
          base + "}",
      "c");
  REQUIRE(llama.ok());
  CHECK(llama->n_kv_heads == 2);
  CHECK(llama->head_dim == 8);
  CHECK_FALSE(llama->qkv_bias);
  CHECK(llama->rope_scaling_type == "llama3");
  CHECK(llama->rope_scaling_factor == 8.0);
  CHECK(llama->norm_eps == 1e-6);
  CHECK_FALSE(llama->tie_word_embeddings);

  auto qwen = model_spec_parse(
      R"({"model_type":"qwen2","tie_word_embeddings":true,"sliding_window":32,)" + base + "}", "c");
  REQUIRE(qwen.ok());
  CHECK(qwen->qkv_bias);
  CHECK_FALSE(qwen->o_bias);
  CHECK(qwen->sliding_window == 0);  // only with use_sliding_window
  CHECK(qwen->n_kv_heads == 8);

  auto mistral = model_spec_parse(R"({"model_type":"mistral","sliding_window":32,)" + base + "}", "c");
  REQUIRE(mistral.ok());
  CHECK(mistral->sliding_window == 32);
  CHECK(mistral->layer_is_sliding == std::vector<bool>{true, true});

  auto phi3 = model_spec_parse(R"({"model_type":"phi3","partial_rotary_factor":0.75,)" + base + "}", "c");
  REQUIRE(phi3.ok());
  CHECK(phi3->family == Family::Phi3);
  CHECK(phi3->norm_eps == 1e-5);
  CHECK(phi3->partial_rotary_factor == 0.75);
}

TEST_CASE("Gemma 3 configs: pattern, local RoPE base, nested text_config", "[spec]") {
  const std::string text =
      R"("hidden_size":640,"num_hidden_layers":12,"intermediate_size":2048,"vocab_size":262144,"max_position_embeddings":32768,"num_attention_heads":4,"num_key_value_heads":1)";
  auto g = model_spec_parse(R"({"model_type":"gemma3_text",)" + text + "}", "c");
  REQUIRE(g.ok());
  CHECK(g->head_dim == 256);
  CHECK(g->query_pre_attn_scalar == 256);
  CHECK(g->rope_theta == 1e6);
  CHECK(g->rope_local_theta == 10000);
  CHECK(g->norm_weight_offset == 1);
  CHECK(g->tie_word_embeddings);
  CHECK(g->embedding_multiplier == Approx(std::sqrt(640.0)));
  std::vector<bool> expected(12, true);
  expected[5] = expected[11] = false;  // every sixth layer is global
  CHECK(g->layer_is_sliding == expected);

  auto mm = model_spec_parse(
      R"({"model_type":"gemma3","eos_token_id":[1,106],"text_config":{"model_type":"gemma3_text",)" + text +
          "}}",
      "c");
  REQUIRE(mm.ok());
  CHECK(mm->family == Family::Gemma3);
  CHECK(mm->hidden_size == 640);
  CHECK(mm->eos_token_ids == std::vector<int>{1, 106});
}

TEST_CASE("broken configs name the problem", "[spec]") {
  struct Row {
    const char* what;
    std::string json;
    const char* message;
  };
  const std::vector<Row> rows = {
      {"no model_type", R"({"n_embd":4})", "missing required field 'model_type'"},
      {"unknown model_type", R"({"model_type":"bert"})", "unknown model_type 'bert' (supported: gpt2, llama"},
      {"missing dimension", R"({"model_type":"gpt2","n_layer":2,"n_head":2,"vocab_size":9})",
       "missing required field 'n_embd'"},
      {"missing llama field",
       R"({"model_type":"llama","hidden_size":8,"num_hidden_layers":1,"vocab_size":9,"max_position_embeddings":8,"num_attention_heads":2})",
       "missing required field 'intermediate_size'"},
      {"negative dimension", R"({"model_type":"gpt2","n_embd":-8,"n_layer":2,"n_head":2,"vocab_size":9})",
       "'n_embd' must be a positive integer"},
      {"string dimension", R"({"model_type":"gpt2","n_embd":"8","n_layer":2,"n_head":2,"vocab_size":9})",
       "'n_embd' must be a positive integer"},
      {"indivisible heads", R"({"model_type":"gpt2","n_embd":10,"n_layer":2,"n_head":4,"vocab_size":9})",
       "not divisible"},
      {"kv heads",
       R"({"model_type":"llama","hidden_size":8,"num_hidden_layers":1,"intermediate_size":8,"vocab_size":9,"max_position_embeddings":8,"num_attention_heads":4,"num_key_value_heads":3})",
       "not a multiple of num_key_value_heads"},
      {"layer_types length",
       R"({"model_type":"gemma3_text","hidden_size":8,"num_hidden_layers":2,"intermediate_size":8,"vocab_size":9,"max_position_embeddings":8,"num_attention_heads":2,"layer_types":["full_attention"]})",
       "one type per layer"},
      {"gemma3 without text_config", R"({"model_type":"gemma3"})", "no 'text_config'"},
      {"bad eps",
       R"({"model_type":"gpt2","n_embd":8,"n_layer":2,"n_head":2,"vocab_size":9,"layer_norm_epsilon":0})",
       "'layer_norm_epsilon' must be positive"},
      {"not an object", R"([1])", "not a JSON object"},
      {"duplicate key", R"({"model_type":"gpt2","model_type":"llama"})", "duplicate key \"model_type\""},
      {"bad eos",
       R"({"model_type":"gpt2","n_embd":8,"n_layer":2,"n_head":2,"vocab_size":9,"eos_token_id":"x"})",
       "'eos_token_id' must be an integer"},
  };
  for (const auto& row : rows) {
    INFO(row.what);
    auto s = model_spec_parse(row.json, "cfg/config.json");
    REQUIRE_FALSE(s.ok());
    CHECK_THAT(s.error().message, Catch::StartsWith("cfg/config.json"));
    CHECK_THAT(s.error().message, Catch::Contains(row.message));
  }
}
