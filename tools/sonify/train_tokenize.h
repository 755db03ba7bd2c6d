// The tokenizer `sonify train` learns: byte-level BPE over the training documents.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sonify/bpe_train.h"
#include "sonify/result.h"

namespace sonify::cli {

struct TrainTokenizer {
  BpeVocabulary vocab;
  std::int32_t special_id = 0;  // <|endoftext|>: document separator, BOS and EOS
  std::string json;             // tokenizer.json text
  // The token stream of `docs`: each document preceded by the separator.
  Result<std::vector<std::int32_t>> encode_docs(const std::vector<std::string>& docs) const;
};

Result<TrainTokenizer> train_tokenizer(const std::vector<std::string>& docs, int vocab_size, const std::string& special);

}  // namespace sonify::cli
