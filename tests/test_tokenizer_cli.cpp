// `sonify tokenize` end to end, and every bad prompt input ending in one stderr line
// and a non-zero exit.
#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "test_support.h"
#include "tokenizer_test_files.h"

using nlohmann::json;
using sonify::test::run_sonify;
using sonify::test::TempDir;
using sonify::test::write_file;

namespace {

void check_clean_error(const sonify::test::RunResult& r, const std::string& needle, int code = 1) {
  INFO("stderr: " << r.err);
  CHECK(r.signal == 0);
  CHECK(r.exit_code == code);
  CHECK_THAT(r.err, Catch::StartsWith("sonify: error: "));
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK_THAT(r.err, Catch::Contains(needle));
  CHECK(r.out.empty());
}

// A Llama config with a context of `context` tokens and the vocabulary of
// sentencepiece_style_tokenizer (259 + pieces).
std::string llama_config(int context, int vocab) {
  return json{{"model_type", "llama"},    {"hidden_size", 16},
              {"intermediate_size", 32},  {"num_hidden_layers", 1},
              {"num_attention_heads", 2}, {"num_key_value_heads", 1},
              {"vocab_size", vocab},      {"max_position_embeddings", context},
              {"rms_norm_eps", 1e-6},     {"bos_token_id", 1},
              {"eos_token_id", 2}}
      .dump();
}

const std::vector<std::string> kPieces = {"\xE2\x96\x81", "h", "i", "hi", "\xE2\x96\x81hi"};
const json kMerges = {"h i", "\xE2\x96\x81 hi"};

// A model directory: config.json (context 4, vocab 264) and, unless `tokenizer` is
// empty, that tokenizer.json text.
std::string model_dir(const TempDir& dir, const std::string& name, const std::string& tokenizer) {
  const std::string d = dir.file(name);
  std::filesystem::create_directories(d);
  write_file(d + "/config.json", llama_config(4, 264));
  if (!tokenizer.empty()) write_file(d + "/tokenizer.json", tokenizer);
  return d;
}

}  // namespace

TEST_CASE("tokenize prints ids, pieces and offsets", "[cli][tokenizer]") {
  TempDir dir;
  const std::string m =
      model_dir(dir, "m", sonify::test::sentencepiece_style_tokenizer(kPieces, kMerges).dump());
  auto r = run_sonify({"tokenize", "--model", m, "hi hi", "--json"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const json j = json::parse(r.out);
  CHECK(j["ids"] == json({1, 263, 263}));
  CHECK(j["pieces"] == json({"<s>", "\xE2\x96\x81hi", "\xE2\x96\x81hi"}));
  CHECK(j["offsets"] == json::parse("[[0,0],[0,2],[2,5]]"));
  CHECK(j["count"] == 3);
  CHECK(j["special"] == json({true, false, false}));
  CHECK(j["context"] == 4);

  auto no_bos = run_sonify({"tokenize", "--model", m, "hi", "--json", "--no-bos"});
  REQUIRE(no_bos.exit_code == 0);
  CHECK(json::parse(no_bos.out)["ids"] == json({263}));

  auto text = run_sonify({"tokenize", "--model", m, "hi\nhi"});
  REQUIRE(text.exit_code == 0);
  CHECK_THAT(text.out, Catch::Contains("<0x0A>"));
  CHECK_THAT(text.out, Catch::Contains("\"\\n\""));

  auto ids = run_sonify({"tokenize", "--model", m, "--ids", "1, 263,2", "--json"});
  REQUIRE(ids.exit_code == 0);
  CHECK(json::parse(ids.out)["pieces"] == json({"<s>", "\xE2\x96\x81hi", "</s>"}));

  // Over-long prompts are cut only on request, and the cut is announced.
  auto cut = run_sonify({"tokenize", "--model", m, "hi hi hi hi hi", "--json", "--truncate"});
  REQUIRE(cut.exit_code == 0);
  CHECK(json::parse(cut.out)["ids"] == json({1, 263, 263, 263}));
  CHECK(json::parse(cut.out)["truncated_from"] == 6);
  CHECK_THAT(cut.err, Catch::Contains("truncated from 6 to 4 tokens"));

  // --tokenizer alone needs no model.
  auto file = run_sonify({"tokenize", "--tokenizer", m + "/tokenizer.json", "hi", "--json"});
  REQUIRE(file.exit_code == 0);
  CHECK(json::parse(file.out)["ids"] == json({1, 263}));
}

TEST_CASE("tokenize agrees with the TinyStories reference ids", "[cli][tokenizer][fixtures]") {
  const std::string fx = sonify::test::fixtures_dir();
  const auto ref = json::parse(sonify::test::read_file(fx + "/reference/tinystories-656k.json"));
  for (const auto& c : ref["cases"]) {
    if (!c.contains("prompt_text")) continue;
    auto r = run_sonify({"tokenize", "--model", fx + "/models/TinyStories-656K", c["prompt_text"], "--json"});
    REQUIRE(r.exit_code == 0);
    CHECK(json::parse(r.out)["ids"] == c["token_ids"]);
  }
}

TEST_CASE("bad prompts and tokenizers end in one clear error line", "[cli][tokenizer]") {
  TempDir dir;
  const json good = sonify::test::sentencepiece_style_tokenizer(kPieces, kMerges);
  const std::string m = model_dir(dir, "good", good.dump());
  json unigram = good;
  unigram["model"]["type"] = "Unigram";
  json bert_pre = good;
  bert_pre["pre_tokenizer"] = {{"type", "BertPreTokenizer"}};

  check_clean_error(run_sonify({"tokenize", "--model", m, "hi \xFF hi"}),
                    "invalid UTF-8 in the text at byte 3");
  check_clean_error(run_sonify({"tokenize", "--model", m, ""}), "empty prompt");
  check_clean_error(run_sonify({"tokenize", "--model", m}), "no prompt");
  check_clean_error(run_sonify({"tokenize", "--model", m, "hi hi hi hi hi"}),
                    "the prompt is 6 tokens, longer than the model's context of 4 tokens");
  check_clean_error(run_sonify({"tokenize", "--model", model_dir(dir, "none", "")}), "no prompt");
  check_clean_error(run_sonify({"tokenize", "--model", model_dir(dir, "none", ""), "hi"}),
                    "no tokenizer.json, so text cannot be tokenized; pass token ids instead with --ids");
  check_clean_error(run_sonify({"tokenize", "--model", model_dir(dir, "corrupt", "{\"model\": [1,"), "hi"}),
                    "corrupt/tokenizer.json: invalid JSON");
  check_clean_error(run_sonify({"tokenize", "--model", model_dir(dir, "unigram", unigram.dump()), "hi"}),
                    "model type 'Unigram' is not supported");
  check_clean_error(run_sonify({"tokenize", "--model", model_dir(dir, "bert", bert_pre.dump()), "hi"}),
                    "pre-tokenizer type 'BertPreTokenizer' is not supported");
  check_clean_error(run_sonify({"tokenize", "--model", m, "--ids", "1,264"}),
                    "--ids: id 264 is out of range for the model's vocabulary of 264 tokens");
  check_clean_error(run_sonify({"tokenize", "--model", m, "--ids", "1,x"}), "'x' is not a token id");
  check_clean_error(run_sonify({"tokenize", "--model", m, "--ids", "1,2,3,4,5"}), "the prompt is 5 tokens");
  check_clean_error(run_sonify({"tokenize", "--tokenizer", dir.file("nope.json"), "hi"}),
                    "nope.json: no such file");
  check_clean_error(run_sonify({"tokenize", "--model", dir.file("missing-model"), "hi"}), "no config.json");
  // TEXT and --ids together is a usage error.
  auto both = run_sonify({"tokenize", "--model", m, "hi", "--ids", "1"});
  CHECK(both.exit_code == 2);
  CHECK(std::count(both.err.begin(), both.err.end(), '\n') == 1);
  // A model without tokenizer.json still takes ids.
  auto ids_only = run_sonify({"tokenize", "--model", model_dir(dir, "none", ""), "--ids", "1,2", "--json"});
  REQUIRE(ids_only.exit_code == 0);
  CHECK(json::parse(ids_only.out)["ids"] == json({1, 2}));
}
