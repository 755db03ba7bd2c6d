#include "train_tokenize.h"

#include <map>
#include <unordered_map>

namespace sonify::cli {
namespace {

// TEMPORARY until the tokenizer branch lands: split at spaces, keeping the space with
// the following word (GPT-2's pattern agrees on plain ASCII words).
std::vector<std::string> pre_split(const std::string& doc) {
  std::vector<std::string> out;
  std::string cur;
  for (char ch : doc) {
    if (ch == ' ' && !cur.empty()) {
      out.push_back(cur);
      cur.clear();
    }
    cur += ch;
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

}  // namespace

Result<TrainTokenizer> train_tokenizer(const std::vector<std::string>& docs, int vocab_size, const std::string& special) {
  std::map<std::string, std::int64_t> counts;
  for (const std::string& d : docs)
    for (const std::string& w : pre_split(d)) ++counts[w];
  SONIFY_ASSIGN_OR_RETURN(vocab, bpe_train(counts, vocab_size, {special}));
  TrainTokenizer t;
  t.vocab = std::move(vocab);
  t.special_id = static_cast<std::int32_t>(t.vocab.tokens.size() - 1);
  t.json = bpe_tokenizer_json(t.vocab);
  return t;
}

Result<std::vector<std::int32_t>> TrainTokenizer::encode_docs(const std::vector<std::string>& docs) const {
  // TEMPORARY: rank-ordered BPE on the pre-split words.
  std::unordered_map<std::string, int> rank;
  for (std::size_t i = 0; i < vocab.merges.size(); ++i) rank.emplace(vocab.merges[i].first + " " + vocab.merges[i].second, static_cast<int>(i));
  std::unordered_map<std::string, std::int32_t> id_of;
  for (std::size_t i = 0; i < vocab.tokens.size(); ++i) id_of.emplace(vocab.tokens[i], static_cast<std::int32_t>(i));
  std::vector<std::int32_t> ids;
  for (const std::string& d : docs) {
    ids.push_back(special_id);
    for (const std::string& w : pre_split(d)) {
      std::vector<std::string> sym;
      for (unsigned char c : w) sym.push_back(byte_to_unicode()[c]);
      while (sym.size() > 1) {
        int best = -1;
        std::size_t at = 0;
        for (std::size_t i = 0; i + 1 < sym.size(); ++i) {
          auto f = rank.find(sym[i] + " " + sym[i + 1]);
          if (f != rank.end() && (best < 0 || f->second < best)) {
            best = f->second;
            at = i;
          }
        }
        if (best < 0) break;
        sym[at] += sym[at + 1];
        sym.erase(sym.begin() + at + 1);
      }
      for (const std::string& s : sym) ids.push_back(id_of.at(s));
    }
  }
  return ids;
}

}  // namespace sonify::cli
