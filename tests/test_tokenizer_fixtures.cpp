// The tokenizer against ids produced by other people's tokenizers: llama.cpp's 46
// GPT-2 cases (Hugging Face ids) and the TinyStories prompts of the llama2.c reference.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "sonify/tokenizer.h"
#include "test_support.h"

using sonify::Tokenizer;

namespace {

std::vector<std::string> split_cases(const std::string& all) {
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    const std::size_t at = all.find(sep, start);
    if (at == std::string::npos) break;
    out.push_back(all.substr(start, at - start));
    start = at + sep.size();
  }
  return out;
}

std::vector<int> parse_ids(const std::string& line) {
  std::istringstream in(line);
  std::vector<int> ids;
  int id;
  while (in >> id) ids.push_back(id);
  return ids;
}

}  // namespace

TEST_CASE("GPT-2 tokenizer reproduces llama.cpp's 46 cases", "[tokenizer][fixtures]") {
  const std::string dir = sonify::test::fixtures_dir() + "/tokenizers/gpt2/";
  auto tok = Tokenizer::from_file(dir + "tokenizer.json");
  REQUIRE(tok.ok());
  const auto inputs = split_cases(sonify::test::read_file(dir + "cases.inp"));
  std::vector<std::string> lines;
  std::istringstream out(sonify::test::read_file(dir + "cases.out"));
  for (std::string line; std::getline(out, line);) lines.push_back(line);
  REQUIRE(inputs.size() == 46);
  REQUIRE(lines.size() == 46);
  int matched = 0;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    INFO("case " << i << ": [" << inputs[i] << "]");
    auto enc = tok->encode(inputs[i], {/*add_special_tokens=*/false, false});
    REQUIRE(enc.ok());
    CHECK(enc->ids == parse_ids(lines[i]));
    matched += enc->ids == parse_ids(lines[i]);
    // Offsets tile the text: each token's bytes follow the previous token's.
    std::size_t at = 0;
    for (const auto& r : enc->offsets) {
      CHECK(r.begin == at);
      at = r.end;
    }
    CHECK(at == inputs[i].size());
    auto back = tok->decode(enc->ids);
    REQUIRE(back.ok());
    CHECK(*back == inputs[i]);
  }
  CHECK(matched == 46);
}

TEST_CASE("TinyStories tokenizer reproduces the llama2.c reference prompts", "[tokenizer][fixtures]") {
  const std::string fx = sonify::test::fixtures_dir();
  auto tok = Tokenizer::from_model_path(fx + "/models/TinyStories-656K");
  REQUIRE(tok.ok());
  const auto ref = nlohmann::json::parse(sonify::test::read_file(fx + "/reference/tinystories-656k.json"));
  int checked = 0;
  for (const auto& c : ref["cases"]) {
    if (!c.contains("prompt_text")) continue;
    INFO(c["name"].get<std::string>());
    REQUIRE(c["bos_prepended"] == true);
    const std::string text = c["prompt_text"].get<std::string>();
    auto enc = tok->encode(text);
    REQUIRE(enc.ok());
    CHECK(enc->ids == c["token_ids"].get<std::vector<int>>());
    auto back = tok->decode(enc->ids, {/*skip_special=*/true});
    REQUIRE(back.ok());
    CHECK(*back == text);
    ++checked;
  }
  CHECK(checked == 2);
  CHECK(tok->prefix_ids() == std::vector<int>{1});
}

namespace {

// Texts for the oracle comparison: seeded random strings over characters that stress
// the split patterns and the merges, plus lines of English.
std::vector<std::string> oracle_texts(const std::vector<std::string>& alphabet, int count,
                                      std::uint32_t seed) {
  std::vector<std::string> texts = {
      "Once upon a time, there was a little girl named Lily. She loved to play outside in the sun.",
      "\"Mom, can I have a cookie?\" she asked. Her mom smiled and said, \"Yes, you can!\"",
      "The quick brown fox jumps over the lazy dog 1234567890 times.",
      "  indented   text with    runs of spaces \n\n and blank lines\n"};
  std::mt19937 rng(seed);
  for (int n = 0; n < count; ++n) {
    std::string s;
    const int len = 1 + static_cast<int>(rng() % 16);
    for (int k = 0; k < len; ++k) s += alphabet[rng() % alphabet.size()];
    texts.push_back(s);
  }
  return texts;
}

std::vector<std::vector<int>> oracle_ids(const std::string& mode, const std::string& tokenizer_json,
                                         const std::vector<std::string>& texts) {
  sonify::test::TempDir dir;
  sonify::test::write_file(dir.file("texts.json"), nlohmann::json(texts).dump());
  auto r = sonify::test::run_program({"/usr/bin/python3",
                                      std::string(SONIFY_SOURCE_DIR) + "/tests/oracles/bpe_encode.py", mode,
                                      tokenizer_json, dir.file("texts.json")});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return nlohmann::json::parse(r.out).get<std::vector<std::vector<int>>>();
}

}  // namespace

TEST_CASE("fixture tokenizers agree with a simple Python BPE on random text",
          "[tokenizer][fixtures][oracle]") {
  const std::string fx = sonify::test::fixtures_dir();
  const std::vector<std::string> alphabet = {"a", "e", "t",  "h",  "o", "n",  "s", "the", "ing", "er",
                                             " ", " ", "  ", "\n", ".", ",",  "'", "s",   "1",   "23",
                                             "!", "?", "T",  "é",  "😀", "日", "-", "\t",  "ll",  "ve"};
  const auto texts = oracle_texts(alphabet, 300, 656);
  {
    const std::string path = fx + "/tokenizers/gpt2/tokenizer.json";
    auto tok = Tokenizer::from_file(path);
    REQUIRE(tok.ok());
    const auto expected = oracle_ids("gpt2", path, texts);
    int agreed = 0;
    for (std::size_t i = 0; i < texts.size(); ++i) {
      INFO("gpt2 [" << texts[i] << "]");
      auto enc = tok->encode(texts[i], {false, false});
      REQUIRE(enc.ok());
      CHECK(enc->ids == expected[i]);
      agreed += enc->ids == expected[i];
    }
    CHECK(agreed == static_cast<int>(texts.size()));
  }
  {
    const std::string dir = fx + "/models/TinyStories-656K";
    auto tok = Tokenizer::from_model_path(dir);
    REQUIRE(tok.ok());
    const auto expected = oracle_ids("sentencepiece", dir + "/tokenizer.json", texts);
    int agreed = 0;
    for (std::size_t i = 0; i < texts.size(); ++i) {
      INFO("tinystories [" << texts[i] << "]");
      auto enc = tok->encode(texts[i]);
      REQUIRE(enc.ok());
      CHECK(enc->ids == expected[i]);
      agreed += enc->ids == expected[i];
    }
    CHECK(agreed == static_cast<int>(texts.size()));
  }
}
