// Byte-level BPE training: hand-worked merge orders, tie-breaking, the GPT-2 byte
// alphabet and the tokenizer.json it writes.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <set>

#include "sonify/bpe_train.h"

using namespace sonify;

TEST_CASE("byte_to_unicode is GPT-2's table", "[bpe]") {
  const auto& t = byte_to_unicode();
  REQUIRE(t.size() == 256);
  CHECK(t['A'] == "A");
  CHECK(t['!'] == "!");
  CHECK(t[' '] == "\xC4\xA0");   // U+0120 'Ġ'
  CHECK(t['\n'] == "\xC4\x8A");  // U+010A 'Ċ'
  CHECK(t[0] == "\xC4\x80");     // U+0100
  CHECK(t[0xAD] == "\xC5\x83");  // soft hyphen is the last remapped byte: U+0143
  std::set<std::string> distinct(t.begin(), t.end());
  CHECK(distinct.size() == 256);
}

TEST_CASE("bpe_train merges the most frequent pair first (worked by hand)", "[bpe]") {
  // (a,b) occurs 3+2 = 5 times, (b,c) 2+1 = 3: merge "a b"; then (ab,c) 2 beats (b,c) 1;
  // then only (b,c) is left.
  auto v = bpe_train({{"ab", 3}, {"abc", 2}, {"bc", 1}}, 260, {"<|endoftext|>"});
  REQUIRE(v.ok());
  REQUIRE(v->merges.size() == 3);
  CHECK(v->merges[0] == std::make_pair(std::string("a"), std::string("b")));
  CHECK(v->merges[1] == std::make_pair(std::string("ab"), std::string("c")));
  CHECK(v->merges[2] == std::make_pair(std::string("b"), std::string("c")));
  REQUIRE(v->tokens.size() == 260);
  CHECK(v->tokens[256] == "ab");
  CHECK(v->tokens[257] == "abc");
  CHECK(v->tokens[258] == "bc");
  CHECK(v->tokens[259] == "<|endoftext|>");
}

TEST_CASE("bpe_train breaks ties by the merged string and stops when nothing is left", "[bpe]") {
  auto v = bpe_train({{"zw", 1}, {"xy", 1}}, 1000, {});
  REQUIRE(v.ok());
  REQUIRE(v->merges.size() == 2);
  CHECK(v->merges[0].first == "x");
  CHECK(v->merges[1].first == "z");
  CHECK(v->tokens.size() == 258);  // nothing more to merge: smaller than asked
}

TEST_CASE("bpe_train spells spaces and bytes in the byte alphabet", "[bpe]") {
  auto v = bpe_train({{" the", 10}}, 259, {});
  REQUIRE(v.ok());
  CHECK(v->merges[0] == std::make_pair(std::string("\xC4\xA0"), std::string("t")));
  std::set<std::string> distinct(v->tokens.begin(), v->tokens.end());
  CHECK(distinct.size() == v->tokens.size());
}

TEST_CASE("bpe_train refuses a vocabulary smaller than the bytes", "[bpe]") {
  auto v = bpe_train({{"ab", 1}}, 256, {"<|endoftext|>"});
  REQUIRE_FALSE(v.ok());
  CHECK_THAT(v.error().message, Catch::Contains("257"));
}

TEST_CASE("bpe_tokenizer_json writes a Hugging Face BPE tokenizer", "[bpe]") {
  auto v = bpe_train({{"ab", 3}, {"abc", 2}}, 259, {"<|endoftext|>"});
  REQUIRE(v.ok());
  auto j = nlohmann::json::parse(bpe_tokenizer_json(*v));
  CHECK(j["model"]["type"] == "BPE");
  CHECK(j["pre_tokenizer"]["type"] == "ByteLevel");
  CHECK(j["decoder"]["type"] == "ByteLevel");
  // Prompts start with the document separator, as every training document did.
  CHECK(j["post_processor"]["type"] == "TemplateProcessing");
  CHECK(j["post_processor"]["special_tokens"]["<|endoftext|>"]["ids"][0] == 258);
  CHECK(j["model"]["vocab"].size() == 259);
  CHECK(j["model"]["vocab"]["ab"] == 256);
  CHECK(j["model"]["merges"][0] == "a b");
  CHECK(j["added_tokens"][0]["id"] == 258);
  CHECK(j["added_tokens"][0]["content"] == "<|endoftext|>");
  CHECK(j["added_tokens"][0]["special"] == true);
}

TEST_CASE("bpe_word_counts splits like GPT-2's pre-tokenizer", "[bpe]") {
  auto counts = bpe_word_counts({"The cat's hat.", "The  cat 42"});
  CHECK(counts["The"] == 2);
  CHECK(counts[" cat"] == 2);
  CHECK(counts["'s"] == 1);
  CHECK(counts[" hat"] == 1);
  CHECK(counts["."] == 1);
  CHECK(counts[" "] == 1);  // the first of two spaces stays alone
  CHECK(counts[" 42"] == 1);
}
