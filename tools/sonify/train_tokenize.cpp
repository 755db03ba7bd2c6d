#include "train_tokenize.h"

#include "sonify/tokenizer.h"

namespace sonify::cli {

Result<TrainTokenizer> train_tokenizer(const std::vector<std::string>& docs, int vocab_size, const std::string& special) {
  SONIFY_ASSIGN_OR_RETURN(vocab, bpe_train(bpe_word_counts(docs), vocab_size, {special}));
  TrainTokenizer t;
  t.vocab = std::move(vocab);
  t.special_id = static_cast<std::int32_t>(t.vocab.tokens.size() - 1);
  t.json = bpe_tokenizer_json(t.vocab);
  return t;
}

Result<std::vector<std::int32_t>> TrainTokenizer::encode_docs(const std::vector<std::string>& docs) const {
  // The corpus is encoded by the same tokenizer that will read the saved tokenizer.json,
  // so the model trains on exactly the ids a prompt gets later.
  SONIFY_ASSIGN_OR_RETURN(tokenizer, Tokenizer::parse(json, "", "trained tokenizer.json"));
  EncodeOptions options;
  options.add_special_tokens = false;
  std::vector<std::int32_t> ids;
  for (const std::string& d : docs) {
    ids.push_back(special_id);
    SONIFY_ASSIGN_OR_RETURN(encoding, tokenizer.encode(d, options));
    ids.insert(ids.end(), encoding.ids.begin(), encoding.ids.end());
  }
  return ids;
}

}  // namespace sonify::cli
