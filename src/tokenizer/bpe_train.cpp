#include "sonify/bpe_train.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "tokenizer/tokenizer_internal.h"

namespace sonify {

const std::vector<std::string>& byte_to_unicode() {
  static const std::vector<std::string> table = [] {
    // Printable bytes map to themselves; the other 68 to U+0100 upwards, in byte order.
    std::vector<std::string> t(256);
    auto utf8 = [](unsigned cp) {
      std::string s;
      if (cp < 0x80) {
        s += static_cast<char>(cp);
      } else {
        s += static_cast<char>(0xC0 | (cp >> 6));
        s += static_cast<char>(0x80 | (cp & 0x3F));
      }
      return s;
    };
    unsigned next = 256;
    for (unsigned b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      t[b] = utf8(printable ? b : next++);
    }
    return t;
  }();
  return table;
}

std::map<std::string, std::int64_t> bpe_word_counts(const std::vector<std::string>& docs) {
  std::map<std::string, std::int64_t> counts;
  for (const std::string& doc : docs)
    for (const auto& [begin, end] : tok::split_matches(tok::SplitPattern::Gpt2, doc))
      ++counts[doc.substr(begin, end - begin)];
  return counts;
}

namespace {

struct Word {
  std::vector<int> symbols;
  std::int64_t count;
};

}  // namespace

Result<BpeVocabulary> bpe_train(const std::map<std::string, std::int64_t>& word_counts, int vocab_size,
                                const std::vector<std::string>& special) {
  const int base = 256 + static_cast<int>(special.size());
  if (vocab_size < base)
    return fail("vocabulary size ", vocab_size, " is below the ", base,
                " tokens every byte-level vocabulary has");
  BpeVocabulary out;
  std::vector<std::string> bytes_of;  // raw bytes of every token, by id
  for (int b = 0; b < 256; ++b) {
    out.tokens.push_back(byte_to_unicode()[b]);
    bytes_of.emplace_back(1, static_cast<char>(b));
  }
  std::vector<Word> words;
  words.reserve(word_counts.size());
  for (const auto& [w, n] : word_counts) {
    if (w.empty() || n <= 0) continue;
    Word word{{}, n};
    for (unsigned char c : w) word.symbols.push_back(c);
    words.push_back(std::move(word));
  }
  std::unordered_map<std::string, int> id_of;
  for (int b = 0; b < 256; ++b) id_of[bytes_of[b]] = b;
  const std::size_t target = static_cast<std::size_t>(vocab_size - static_cast<int>(special.size()));
  while (out.tokens.size() < target) {
    // Recount every adjacent pair. The corpora this is for have a few thousand distinct
    // words, so a full recount per merge costs milliseconds and keeps the code obvious.
    std::unordered_map<std::uint64_t, std::int64_t> counts;
    for (const Word& w : words)
      for (std::size_t i = 0; i + 1 < w.symbols.size(); ++i)
        counts[(static_cast<std::uint64_t>(w.symbols[i]) << 32) |
               static_cast<std::uint32_t>(w.symbols[i + 1])] += w.count;
    if (counts.empty()) break;  // every word is one token: nothing left to merge
    std::uint64_t best = 0;
    std::int64_t best_n = -1;
    std::string best_str;
    for (const auto& [pair, n] : counts) {
      if (n < best_n) continue;
      std::string s = bytes_of[pair >> 32] + bytes_of[pair & 0xFFFFFFFFu];
      if (n > best_n || s < best_str || (s == best_str && pair < best)) {
        best = pair;
        best_n = n;
        best_str = std::move(s);
      }
    }
    const int a = static_cast<int>(best >> 32), b = static_cast<int>(best & 0xFFFFFFFFu);
    // Two different pairs can spell the same string ("ab"+"c", "a"+"bc"): the merge is
    // recorded either way, the token only once (as Hugging Face's trainer does).
    int id;
    if (auto found = id_of.find(best_str); found != id_of.end()) {
      id = found->second;
    } else {
      id = static_cast<int>(bytes_of.size());
      id_of.emplace(best_str, id);
      bytes_of.push_back(best_str);
      out.tokens.push_back(out.tokens[a] + out.tokens[b]);
    }
    out.merges.emplace_back(out.tokens[a], out.tokens[b]);
    for (Word& w : words) {
      std::vector<int>& s = w.symbols;
      std::size_t j = 0;
      for (std::size_t i = 0; i < s.size(); ++i) {
        if (i + 1 < s.size() && s[i] == a && s[i + 1] == b) {
          s[j++] = id;
          ++i;
        } else {
          s[j++] = s[i];
        }
      }
      s.resize(j);
    }
  }
  for (const std::string& sp : special) out.tokens.push_back(sp);
  out.special = special;
  return out;
}

std::string bpe_tokenizer_json(const BpeVocabulary& vocab) {
  using nlohmann::ordered_json;
  ordered_json added = ordered_json::array();
  const std::size_t first_special = vocab.tokens.size() - vocab.special.size();
  for (std::size_t i = 0; i < vocab.special.size(); ++i)
    added.push_back({{"id", first_special + i},
                     {"content", vocab.special[i]},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", false},
                     {"normalized", false},
                     {"special", true}});
  ordered_json v = ordered_json::object();
  for (std::size_t i = 0; i < vocab.tokens.size(); ++i) v[vocab.tokens[i]] = i;
  ordered_json merges = ordered_json::array();
  for (const auto& [a, b] : vocab.merges) merges.push_back(a + " " + b);
  const ordered_json byte_level = {
      {"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}};
  // Every training document starts after the first special token (the document
  // separator), so a prompt gets it too: the template puts it in front.
  ordered_json post = byte_level;
  if (!vocab.special.empty()) {
    const std::string& sep = vocab.special.front();
    const ordered_json first = {{"SpecialToken", {{"id", sep}, {"type_id", 0}}}};
    post = {{"type", "TemplateProcessing"},
            {"single", {first, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
            {"pair",
             {first,
              {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
              first,
              {{"Sequence", {{"id", "B"}, {"type_id", 1}}}}}},
            {"special_tokens", {{sep, {{"id", sep}, {"ids", {first_special}}, {"tokens", {sep}}}}}}};
  }
  ordered_json j = {{"version", "1.0"},
                    {"truncation", nullptr},
                    {"padding", nullptr},
                    {"added_tokens", added},
                    {"normalizer", nullptr},
                    {"pre_tokenizer", byte_level},
                    {"post_processor", post},
                    {"decoder", byte_level},
                    {"model",
                     {{"type", "BPE"},
                      {"dropout", nullptr},
                      {"unk_token", nullptr},
                      {"continuing_subword_prefix", ""},
                      {"end_of_word_suffix", ""},
                      {"fuse_unk", false},
                      {"byte_fallback", false},
                      {"vocab", v},
                      {"merges", merges}}}};
  return j.dump(1) + "\n";
}

}  // namespace sonify
