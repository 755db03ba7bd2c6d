// The tokenizer on hand-made tokenizer.json files whose expected ids are worked out by
// hand from the Hugging Face semantics, plus the split patterns against an independent
// regex engine (tests/oracles/split_patterns.py, Python's `regex` module).
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <random>

#include "sonify/tokenizer.h"
#include "sonify/utf8.h"
#include "test_support.h"
#include "tokenizer/tokenizer_internal.h"
#include "tokenizer_test_files.h"

using nlohmann::json;
using sonify::EncodeOptions;
using sonify::Tokenizer;
using sonify::test::byte_level_tokenizer;
using sonify::test::sentencepiece_style_tokenizer;

namespace {

Tokenizer load(const json& j, const std::string& config = "") {
  auto t = Tokenizer::parse(j.dump(), config, "test tokenizer.json");
  INFO((t.ok() ? "" : t.error().message));
  REQUIRE(t.ok());
  return std::move(t).value();
}

std::vector<int> ids(const Tokenizer& t, const std::string& text, bool specials = true) {
  auto e = t.encode(text, {specials, false});
  INFO((e.ok() ? "" : e.error().message));
  REQUIRE(e.ok());
  return e->ids;
}

std::vector<std::string> pieces(const Tokenizer& t, const std::string& text) {
  auto e = t.encode(text, {false, false});
  REQUIRE(e.ok());
  return e->pieces;
}

const std::vector<std::string> kRoundTrip = {
    "Hello world",
    " leading space",
    "trailing space ",
    "  two leading, three   inside,  two trailing  ",
    "new\nlines\n\n\nand\r\nCRLF\n",
    "\ttabs\t\tand\u00A0no-break spaces",
    "emoji 😀 and family 👩‍👩‍👧 and flag 🇫🇷",
    "CJK 日本語のテキスト 中文",
    "combining: e\u0301 a\u0308 Khmer ស្វាគមន៍",
    "Cyrillic Привет мир, Greek Καλημέρα",
    "numbers 1234567 3.14159 -42",
    "it's I'M we'll they'd you've",
    "punct!!! ??? ... --- ((()))",
    "\n",
    " ",
    "x",
};

}  // namespace

TEST_CASE("BPE merges by rank, as strings or pairs", "[tokenizer]") {
  const std::vector<std::string> p = {"\xE2\x96\x81", "a", "b", "c", "ab", "bc", "abc"};
  // ids: ▁ 259, a 260, b 261, c 262, ab 263, bc 264, abc 265
  CHECK(ids(load(sentencepiece_style_tokenizer(p, {"b c", "a b"})), "abc") ==
        std::vector<int>{1, 259, 260, 264});
  CHECK(ids(load(sentencepiece_style_tokenizer(p, {"a b", "b c"})), "abc") ==
        std::vector<int>{1, 259, 263, 262});
  CHECK(ids(load(sentencepiece_style_tokenizer(p, {"a b", "ab c"})), "abc") == std::vector<int>{1, 259, 265});
  CHECK(ids(load(sentencepiece_style_tokenizer(p, json::parse(R"([["a","b"],["ab","c"]])"))), "abc") ==
        std::vector<int>{1, 259, 265});
  // Lowest rank first, leftmost on ties: "abab" with only "a b" → ab ab.
  CHECK(ids(load(sentencepiece_style_tokenizer(p, {"a b"})), "abab", false) ==
        std::vector<int>{259, 263, 263});
  // The pair form can hold tokens with spaces, which the string form cannot.
  auto with_space = sentencepiece_style_tokenizer({"x", " y", "x y"}, json::parse(R"([["x"," y"]])"));
  CHECK(Tokenizer::parse(with_space.dump(), "", "t").ok());
  auto bad = Tokenizer::parse(sentencepiece_style_tokenizer(p, {"a b c"}).dump(), "", "t");
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.error().message, Catch::Contains("not two tokens"));
  auto missing = Tokenizer::parse(sentencepiece_style_tokenizer(p, {"a z"}).dump(), "", "t");
  REQUIRE_FALSE(missing.ok());
  CHECK_THAT(missing.error().message, Catch::Contains("not in the vocab"));
}

TEST_CASE("added tokens are split off before the model", "[tokenizer]") {
  const auto t = load(sentencepiece_style_tokenizer({"\xE2\x96\x81", "h", "i", "hi", "\xE2\x96\x81hi"},
                                                    {"h i", "\xE2\x96\x81 hi"}));
  // ▁ 259, h 260, i 261, hi 262, ▁hi 263. Each text segment gets its own "▁".
  auto e = t.encode("hi</s>hi");
  REQUIRE(e.ok());
  CHECK(e->ids == std::vector<int>{1, 263, 2, 263});
  CHECK(e->special == std::vector<bool>{true, false, true, false});
  REQUIRE(e->offsets.size() == 4);
  CHECK(e->offsets[2].begin == 2);
  CHECK(e->offsets[2].end == 6);
  CHECK(e->offsets[3].begin == 6);
  CHECK(e->offsets[3].end == 8);
  CHECK(*t.decode(e->ids) == "<s> hi</s> hi");
  CHECK(*t.decode(e->ids, {true}) == "hi hi");
  // Without specials there is no BOS; the EOS written in the text stays.
  CHECK(ids(t, "hi</s>", false) == std::vector<int>{263, 2});
}

TEST_CASE("byte fallback covers characters outside the vocabulary", "[tokenizer]") {
  const auto t = load(sentencepiece_style_tokenizer({"\xE2\x96\x81"}, json::array()));
  // é is C3 A9; <0xNN> has id 3 + NN.
  auto e = t.encode("\xC3\xA9", {false, false});
  REQUIRE(e.ok());
  CHECK(e->ids == std::vector<int>{259, 3 + 0xC3, 3 + 0xA9});
  CHECK(e->pieces == std::vector<std::string>{"\xE2\x96\x81", "<0xC3>", "<0xA9>"});
  CHECK(e->offsets[1].begin == 0);
  CHECK(e->offsets[2].end == 2);
  CHECK(ids(t, "😀", false) == std::vector<int>{259, 3 + 0xF0, 3 + 0x9F, 3 + 0x98, 3 + 0x80});
  CHECK(*t.decode({259, 3 + 0xC3, 3 + 0xA9}) == "\xC3\xA9");
  // A byte sequence that is not UTF-8 decodes to one U+FFFD per byte.
  CHECK(*t.decode({3 + 0xC3, 3 + 0x41}) == "\xEF\xBF\xBD\xEF\xBF\xBD");
  // Without byte fallback and without unk, an unknown character is an error.
  auto j = sentencepiece_style_tokenizer({"\xE2\x96\x81"}, json::array());
  j["model"]["byte_fallback"] = false;
  j["model"]["unk_token"] = nullptr;
  auto strict = load(j).encode("a\xC3\xA9");
  REQUIRE_FALSE(strict.ok());
  CHECK_THAT(strict.error().message, Catch::Contains("U+0061 at byte 0"));
}

TEST_CASE("decode(encode(s)) == s", "[tokenizer]") {
  const auto sp = load(sentencepiece_style_tokenizer(
      {"\xE2\x96\x81", "h", "e", "l", "o", "he", "ll", "hell", "hello"}, {"h e", "l l", "he ll", "hell o"}));
  const json gpt2_pre = {
      {"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}};
  const auto bl = load(byte_level_tokenizer({"he", "ll", "hell"}, {"h e", "l l", "he ll"}, gpt2_pre));
  for (const auto& s : kRoundTrip) {
    INFO("[" << s << "]");
    auto a = sp.encode(s);
    REQUIRE(a.ok());
    CHECK(*sp.decode(a->ids, {true}) == s);
    auto b = bl.encode(s);
    REQUIRE(b.ok());
    CHECK(*bl.decode(b->ids) == s);
    // Byte-level offsets tile the text exactly.
    std::size_t at = 0;
    for (const auto& r : b->offsets) {
      CHECK(r.begin == at);
      at = r.end;
    }
    CHECK(at == s.size());
  }
}

TEST_CASE("Split pre-tokenizers: Llama 3 and Qwen2 patterns, digits", "[tokenizer]") {
  auto split = [](const char* regex) {
    return json{
        {"type", "Sequence"},
        {"pretokenizers",
         {{{"type", "Split"}, {"pattern", {{"Regex", regex}}}, {"behavior", "Isolated"}, {"invert", false}},
          {{"type", "ByteLevel"},
           {"add_prefix_space", false},
           {"trim_offsets", true},
           {"use_regex", false}}}}};
  };
  const char* llama3 =
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  const char* qwen2 =
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  const std::vector<std::string> p = {"12", "123", "1234", "'M"};  // 256 257 258 259
  const json merges = {"1 2", "12 3", "123 4", "' M"};
  const json gpt2_pre = {
      {"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}};
  const auto l3 = load(byte_level_tokenizer(p, merges, split(llama3)));
  const auto qw = load(byte_level_tokenizer(p, merges, split(qwen2)));
  const auto g2 = load(byte_level_tokenizer(p, merges, gpt2_pre));
  // Numbers in groups of 1-3 (Llama 3), one by one (Qwen2), whole runs (GPT-2).
  CHECK(ids(l3, "1234") == std::vector<int>{257, '4'});
  CHECK(ids(qw, "1234") == std::vector<int>{'1', '2', '3', '4'});
  CHECK(ids(g2, "1234") == std::vector<int>{258});
  // Contractions are case-insensitive in Llama 3 only.
  CHECK(pieces(l3, "I'M") == std::vector<std::string>{"I", "'M"});
  CHECK(pieces(g2, "I'M") == std::vector<std::string>{"I", "'", "M"});
  // Digits pre-tokenizer (SmolLM) before ByteLevel.
  const json digits = {{"type", "Sequence"},
                       {"pretokenizers",
                        {{{"type", "Digits"}, {"individual_digits", true}},
                         {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}}}};
  CHECK(ids(load(byte_level_tokenizer(p, merges, digits)), "1234") == std::vector<int>{'1', '2', '3', '4'});
  // ignore_merges (Llama 3): a piece that is itself in the vocab is one token.
  auto no_merges = byte_level_tokenizer(p, json::array(), split(llama3));
  CHECK(ids(load(no_merges), "123") == std::vector<int>{'1', '2', '3'});
  no_merges["model"]["ignore_merges"] = true;
  CHECK(ids(load(no_merges), "123") == std::vector<int>{257});
}

TEST_CASE("split patterns agree with Python's regex module", "[tokenizer][oracle]") {
  std::vector<std::string> texts = kRoundTrip;
  texts.insert(texts.end(), {"I'M here 12345\n\n  x", "'S 'ſ 'LL 're'VE", "  \n \n  a", "a\r\n\r\n b",
                             "x \t\n y", "\u2028z\u3000 w", "!! ?? 'x",
                             "\xC2\xA0\xC2\xA0"
                             "a",
                             "123abc 4567 89", "   ", "a   "});
  // Random strings over an alphabet of the characters the patterns care about.
  const std::vector<std::string> alphabet = {"a",  "Z",  "é",  "ſ",  "日",       "1",        "٣", "½",
                                             " ",  "  ", "\t", "\n", "\r",       "'",        "s", "t",
                                             "re", "ll", "!",  "😀",  "\xCC\x81", "\xC2\xA0", "_", "-"};
  std::mt19937 rng(5);
  for (int n = 0; n < 400; ++n) {
    std::string s;
    const int len = 1 + static_cast<int>(rng() % 12);
    for (int k = 0; k < len; ++k) s += alphabet[rng() % alphabet.size()];
    texts.push_back(s);
  }
  sonify::test::TempDir dir;
  sonify::test::write_file(dir.file("texts.json"), json(texts).dump());
  auto r = sonify::test::run_program({"/usr/bin/python3",
                                      std::string(SONIFY_SOURCE_DIR) + "/tests/oracles/split_patterns.py",
                                      dir.file("texts.json")});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const json expected = json::parse(r.out);
  const std::vector<std::pair<const char*, sonify::tok::SplitPattern>> patterns = {
      {"gpt2", sonify::tok::SplitPattern::Gpt2},
      {"llama3", sonify::tok::SplitPattern::Llama3},
      {"qwen2", sonify::tok::SplitPattern::Qwen2}};
  int agreed = 0;
  for (const auto& [name, pattern] : patterns) {
    for (std::size_t i = 0; i < texts.size(); ++i) {
      std::vector<std::string> got;
      for (const auto& [b, e] : sonify::tok::split_matches(pattern, texts[i]))
        got.push_back(texts[i].substr(b, e - b));
      INFO(name << " [" << texts[i] << "]");
      CHECK(got == expected[name][i].get<std::vector<std::string>>());
      agreed += got == expected[name][i].get<std::vector<std::string>>();
    }
  }
  CHECK(agreed == static_cast<int>(3 * texts.size()));
}

TEST_CASE("Metaspace pre-tokenizer prepend schemes", "[tokenizer]") {
  auto j = sentencepiece_style_tokenizer({"\xE2\x96\x81", "h", "i", "hi", "\xE2\x96\x81hi"},
                                         {"h i", "\xE2\x96\x81 hi"});
  j["normalizer"] = nullptr;
  j["decoder"] = {{"type", "Sequence"},
                  {"decoders",
                   {{{"type", "Metaspace"},
                     {"replacement", "\xE2\x96\x81"},
                     {"prepend_scheme", "always"},
                     {"split", true}},
                    {{"type", "ByteFallback"}},
                    {{"type", "Fuse"}}}}};
  struct Row {
    const char* scheme;
    bool split;
    std::vector<int> expected;
  };
  // hi 262, ▁hi 263. "first" prepends only to the text at the start of the input.
  for (const Row& row : std::vector<Row>{{"first", true, {1, 263, 2, 262, 263}},
                                         {"first", false, {1, 263, 2, 262, 263}},
                                         {"always", true, {1, 263, 2, 263, 263}},
                                         {"never", true, {1, 262, 2, 262, 263}}}) {
    INFO(row.scheme << " split " << row.split);
    j["pre_tokenizer"] = {{"type", "Metaspace"},
                          {"replacement", "\xE2\x96\x81"},
                          {"prepend_scheme", row.scheme},
                          {"split", row.split}};
    const auto t = load(j);
    CHECK(ids(t, "hi</s>hi hi") == row.expected);
  }
  j["pre_tokenizer"] = {
      {"type", "Metaspace"}, {"replacement", "\xE2\x96\x81"}, {"prepend_scheme", "first"}, {"split", false}};
  CHECK(*load(j).decode(ids(load(j), "hi hi"), {true}) == "hi hi");
}

TEST_CASE("BOS and EOS follow the post-processor and tokenizer_config.json", "[tokenizer]") {
  const auto j = sentencepiece_style_tokenizer({"\xE2\x96\x81"}, json::array());
  CHECK(ids(load(j), "") == std::vector<int>{1});
  CHECK(ids(load(j, R"({"add_bos_token": false, "bos_token": "<s>"})"), "") == std::vector<int>{});
  CHECK(ids(load(j, R"({"add_eos_token": true, "eos_token": {"content": "</s>"}})"), "") ==
        std::vector<int>{1, 2});
  auto plain = j;
  plain["post_processor"] = nullptr;
  CHECK(ids(load(plain), "") == std::vector<int>{});
  CHECK(ids(load(plain, R"({"add_bos_token": true, "bos_token": "<s>"})"), "") == std::vector<int>{1});
  auto bad = Tokenizer::parse(plain.dump(), R"({"add_bos_token": true, "bos_token": "<nope>"})", "t");
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.error().message, Catch::Contains("<nope>"));
}

TEST_CASE("invalid UTF-8 is an error naming the byte, or U+FFFD on request", "[tokenizer]") {
  const auto t = load(sentencepiece_style_tokenizer({"\xE2\x96\x81", "a", "b"}, json::array()));
  auto e = t.encode(
      "ab\xFF"
      "ab");
  REQUIRE_FALSE(e.ok());
  CHECK_THAT(e.error().message, Catch::Contains("at byte 2"));
  auto r = t.encode(
      "ab\xE2\x82"
      "ab",
      {true, true});  // a truncated 3-byte sequence: one U+FFFD
  REQUIRE(r.ok());
  CHECK(r->invalid_bytes_replaced == 2);
  CHECK(*t.decode(r->ids, {true}) ==
        "ab\xEF\xBF\xBD"
        "ab");
  // The three byte tokens of U+FFFD all point at the two replaced bytes.
  CHECK(r->offsets[4].begin == 2);
  CHECK(r->offsets[6].end == 4);
}

TEST_CASE("NFC normalizer: decomposed text tokenizes like precomposed text", "[tokenizer]") {
  auto j =
      sentencepiece_style_tokenizer({"\xE2\x96\x81", "c", "a", "f", "\xC3\xA9", "ca", "caf", "caf\xC3\xA9"},
                                    {"c a", "ca f", "caf \xC3\xA9"});
  j["normalizer"] = {{"type", "NFC"}};
  const auto t = load(j);
  const auto precomposed = t.encode("caf\xC3\xA9");
  const auto decomposed = t.encode("cafe\xCC\x81");
  REQUIRE(precomposed.ok());
  REQUIRE(decomposed.ok());
  CHECK(decomposed->ids == precomposed->ids);
  // The composed é covers both original characters: bytes 3..6.
  CHECK(decomposed->offsets.back().begin == 0);
  CHECK(decomposed->offsets.back().end == 6);
}

TEST_CASE("NFC agrees with Python's unicodedata", "[tokenizer][oracle]") {
  // Starters, marks of several classes (230 above, 220 below, 202 attached, 1 overlay,
  // 0 but composing), Hangul jamo and syllables, singletons and exclusions.
  const std::vector<std::string> alphabet = {"a",
                                             "e",
                                             "o",
                                             "u",
                                             "A",
                                             "\xC3\xA9",
                                             "\xCC\x81",
                                             "\xCC\x88",
                                             "\xCC\xA3",
                                             "\xCC\xA7",
                                             "\xCC\x80",
                                             "\xCD\x82",
                                             "\xE1\x84\x80",
                                             "\xE1\x85\xA1",
                                             "\xE1\x86\xA8",
                                             "\xEA\xB0\x80",
                                             "\xE2\x84\xA6",
                                             "\xE0\xA4\xA8",
                                             "\xE0\xA4\xBC",
                                             "\xE0\xA5\x8D",
                                             "\xE0\xA5\x98",
                                             "\xE0\xBD\xB1",
                                             "\xE0\xBD\xB2",
                                             "\xCD\x84",
                                             "\xE1\xBE\xB3",
                                             "\xCE\xB1",
                                             "\xCD\x85",
                                             " ",
                                             "\xE2\x89\xA0",
                                             "=",
                                             "\xCC\xB8"};
  std::vector<std::string> texts;
  std::mt19937 rng(15);
  for (int n = 0; n < 500; ++n) {
    std::string s;
    const int len = 1 + static_cast<int>(rng() % 8);
    for (int k = 0; k < len; ++k) s += alphabet[rng() % alphabet.size()];
    texts.push_back(s);
  }
  sonify::test::TempDir dir;
  sonify::test::write_file(dir.file("texts.json"), json(texts).dump());
  sonify::test::write_file(dir.file("nfc.py"),
                           "import json, sys, unicodedata\n"
                           "texts = json.load(open(sys.argv[1], encoding='utf-8'))\n"
                           "json.dump([unicodedata.normalize('NFC', t) for t in texts], sys.stdout)\n");
  auto r = sonify::test::run_program({"/usr/bin/python3", dir.file("nfc.py"), dir.file("texts.json")});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto expected = json::parse(r.out).get<std::vector<std::string>>();
  int agreed = 0;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    sonify::tok::Piece p;
    for (std::size_t k = 0; k < texts[i].size(); ++k) p.append(texts[i].substr(k, 1), {k, k + 1});
    const auto got = sonify::tok::nfc(p);
    INFO("[" << texts[i] << "]");
    CHECK(got.text == expected[i]);
    agreed += got.text == expected[i];
    CHECK(got.align.size() == got.text.size());
  }
  CHECK(agreed == static_cast<int>(texts.size()));
}

TEST_CASE("unsupported tokenizer.json parts are refused when loading", "[tokenizer]") {
  const json base = sentencepiece_style_tokenizer({"\xE2\x96\x81"}, json::array());
  struct Row {
    const char* pointer;
    json value;
    const char* needle;
  };
  const std::vector<Row> rows = {
      {"/model/type", "WordPiece", "model type 'WordPiece' is not supported"},
      {"/model/dropout", 0.1, "dropout"},
      {"/model/continuing_subword_prefix", "##", "continuing_subword_prefix"},
      {"/model/unk_token", "<nope>", "unk_token"},
      {"/normalizer", {{"type", "NFKC"}}, "normalizer type 'NFKC'"},
      {"/normalizer",
       {{"type", "Replace"}, {"pattern", {{"Regex", " +"}}}, {"content", "x"}},
       "regex pattern"},
      {"/pre_tokenizer", {{"type", "Whitespace"}}, "pre-tokenizer type 'Whitespace'"},
      {"/pre_tokenizer",
       {{"type", "Split"}, {"pattern", {{"Regex", "\\w+"}}}, {"behavior", "Isolated"}, {"invert", false}},
       "Split pre-tokenizer pattern"},
      {"/pre_tokenizer",
       {{"type", "Metaspace"}, {"replacement", "_"}, {"prepend_scheme", "sometimes"}},
       "prepend_scheme"},
      {"/post_processor", {{"type", "Weird"}}, "post-processor type 'Weird'"},
      {"/decoder", {{"type", "WordPiece"}}, "decoder type 'WordPiece'"},
      {"/model/vocab", json::array(), "vocab must be an object"},
      {"/model/merges", 3, "merges must be a list"},
      {"/added_tokens", {{{"content", "x"}}}, "unexpected tokenizer.json structure"},
  };
  for (const Row& row : rows) {
    INFO(row.pointer << " = " << row.value.dump());
    json j = base;
    j[json::json_pointer(row.pointer)] = row.value;
    auto t = Tokenizer::parse(j.dump(), "", "tok.json");
    REQUIRE_FALSE(t.ok());
    CHECK_THAT(t.error().message, Catch::StartsWith("tok.json: "));
    CHECK_THAT(t.error().message, Catch::Contains(row.needle));
  }
  CHECK_FALSE(Tokenizer::parse("{not json", "", "tok.json").ok());
  CHECK_FALSE(Tokenizer::parse("[]", "", "tok.json").ok());
  CHECK_FALSE(Tokenizer::parse(R"({"version":"1.0"})", "", "tok.json").ok());
}

TEST_CASE("Split on a string with each delimiter behavior", "[tokenizer]") {
  // a 259, b 260, - 261, a- 262, -b 263, a-b 264, -- 265; merges would join across splits.
  auto j =
      sentencepiece_style_tokenizer({"a", "b", "-", "a-", "-b", "a-b", "--"}, {"a -", "- b", "a- b", "- -"});
  j["normalizer"] = nullptr;
  struct Row {
    const char* behavior;
    const char* text;
    std::vector<int> expected;
  };
  const std::vector<Row> rows = {
      {"Isolated", "a-b", {259, 261, 260}},
      {"Removed", "a-b", {259, 260}},
      {"MergedWithPrevious", "a-b", {262, 260}},
      {"MergedWithNext", "a-b", {259, 263}},
      {"Contiguous", "a--b", {259, 265, 260}},
      {"Isolated", "a--b", {259, 261, 261, 260}},
      {"MergedWithPrevious", "a--b", {262, 261, 260}},
      {"MergedWithNext", "a--b", {259, 261, 263}},
  };
  CHECK(ids(load(j), "a-b", false) == std::vector<int>{264});  // no pre-tokenizer: one piece
  for (const Row& row : rows) {
    INFO(row.behavior << " " << row.text);
    j["pre_tokenizer"] = {
        {"type", "Split"}, {"pattern", {{"String", "-"}}}, {"behavior", row.behavior}, {"invert", false}};
    CHECK(ids(load(j), row.text, false) == row.expected);
  }
}

TEST_CASE("added tokens with lstrip, rstrip and single_word", "[tokenizer]") {
  // ▁ 259, h 260, i 261, hi 262, ▁hi 263, then added <m> 264.
  auto j = sentencepiece_style_tokenizer({"\xE2\x96\x81", "h", "i", "hi", "\xE2\x96\x81hi"},
                                         {"h i", "\xE2\x96\x81 hi"});
  j["model"]["vocab"]["<m>"] = 264;
  j["added_tokens"].push_back({{"id", 264},
                               {"content", "<m>"},
                               {"single_word", false},
                               {"lstrip", true},
                               {"rstrip", true},
                               {"normalized", false},
                               {"special", true}});
  // The spaces around <m> belong to it, so neither side gets a "▁" token for them.
  auto e = load(j).encode("hi  <m> hi", {false, false});
  REQUIRE(e.ok());
  CHECK(e->ids == std::vector<int>{263, 264, 263});
  CHECK(e->offsets[1].begin == 2);
  CHECK(e->offsets[1].end == 8);  // the stripped spaces belong to the token
  j["added_tokens"].back()["lstrip"] = false;
  j["added_tokens"].back()["rstrip"] = false;
  j["added_tokens"].back()["single_word"] = true;
  // Inside a word the token is not matched; "<", "m", ">" fall back to bytes.
  CHECK(ids(load(j), "hi<m>", false) == std::vector<int>{263, 3 + '<', 3 + 'm', 3 + '>'});
  CHECK(ids(load(j), "hi <m>", false) == std::vector<int>{263, 259, 264});
}

TEST_CASE("decode refuses unknown ids and can skip special tokens", "[tokenizer]") {
  const auto t = load(sentencepiece_style_tokenizer({"\xE2\x96\x81", "h", "i", "hi", "\xE2\x96\x81hi"},
                                                    {"h i", "\xE2\x96\x81 hi"}));
  CHECK(t.vocab_size() == 264);
  CHECK(t.piece(263) == std::optional<std::string>("\xE2\x96\x81hi"));
  CHECK_FALSE(t.piece(264).has_value());
  CHECK(t.token_id("</s>") == std::optional<int>(2));
  CHECK(t.is_special(1));
  CHECK_FALSE(t.is_special(263));
  auto bad = t.decode({1, 264});
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.error().message, Catch::Contains("token id 264 is not in the vocabulary"));
  CHECK_FALSE(t.decode({-1}).ok());
  CHECK(*t.decode({1, 263, 2}, {true}) == "hi");
  CHECK(*t.decode({}) == "");
  CHECK_THAT(t.describe(), Catch::Contains("byte fallback"));
}

TEST_CASE("random bytes never crash encode or decode", "[tokenizer]") {
  const json gpt2_pre = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"use_regex", true}};
  const std::vector<Tokenizer> tokenizers = [&] {
    std::vector<Tokenizer> v;
    v.push_back(load(byte_level_tokenizer({"he", "ll", "hell"}, {"h e", "l l", "he ll"}, gpt2_pre)));
    v.push_back(load(sentencepiece_style_tokenizer({"\xE2\x96\x81", "h", "i", "hi"}, {"h i"})));
    return v;
  }();
  std::mt19937 rng(77);
  for (int n = 0; n < 500; ++n) {
    std::string s(rng() % 24, '\0');
    for (char& c : s) c = static_cast<char>(rng() % 4 == 0 ? rng() % 0x80 : 0x80 + rng() % 0x80);
    for (const Tokenizer& t : tokenizers) {
      auto strict = t.encode(s);
      auto lenient = t.encode(s, {true, true});
      REQUIRE(lenient.ok());
      CHECK(strict.ok() == !sonify::utf8_first_invalid(s).has_value());
      auto text = t.decode(lenient->ids);
      REQUIRE(text.ok());
      CHECK_FALSE(sonify::utf8_first_invalid(*text).has_value());
      for (const auto& r : lenient->offsets) CHECK((r.begin <= r.end && r.end <= s.size()));
    }
    // Any in-range id sequence decodes to valid UTF-8.
    std::vector<int> ids(rng() % 12);
    for (int& id : ids) id = static_cast<int>(rng() % 259);
    for (const Tokenizer& t : tokenizers) {
      auto text = t.decode(ids);
      REQUIRE(text.ok());
      CHECK_FALSE(sonify::utf8_first_invalid(*text).has_value());
    }
  }
}
