// Learning a byte-level BPE vocabulary from text, written as a standard Hugging Face
// tokenizer.json (GPT-2 style: ByteLevel pre-tokenizer and decoder, BPE model) that
// sonify's tokenizer and HF `tokenizers` both read.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "sonify/result.h"

namespace sonify {

struct BpeVocabulary {
  // Token strings in id order, in GPT-2's byte-to-unicode alphabet: ids 0..255 are the
  // single bytes, then one token per merge, then the special tokens.
  std::vector<std::string> tokens;
  std::vector<std::pair<std::string, std::string>> merges;  // in rank order
  std::vector<std::string> special;                         // e.g. "<|endoftext|>"
};

// GPT-2's reversible byte -> printable unicode character map, as UTF-8 strings.
const std::vector<std::string>& byte_to_unicode();

// The words of `docs` as GPT-2's byte-level pre-tokenizer splits them, with counts:
// the input bpe_train expects, so merges never cross a split the encoder makes.
std::map<std::string, std::int64_t> bpe_word_counts(const std::vector<std::string>& docs);

// Learns merges from pre-tokenized words (raw bytes, with their counts) until the
// vocabulary has `vocab_size` tokens including `special` (256 + specials: no merges).
// Each step merges the most frequent adjacent pair; ties go to the pair whose merged
// string sorts first, so the result is deterministic.
Result<BpeVocabulary> bpe_train(const std::map<std::string, std::int64_t>& word_counts, int vocab_size,
                                const std::vector<std::string>& special);

// The tokenizer.json text for a learned vocabulary.
std::string bpe_tokenizer_json(const BpeVocabulary& vocab);

}  // namespace sonify
