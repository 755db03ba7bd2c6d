// The prompt every model-running command takes (tokenize, trace, generate, prompt,
// album): text or token ids, plus replace-invalid, truncate and no-bos, resolved to token
// ids checked against the model's vocabulary and context. One path for all of them, so
// a prompt that `sonify tokenize` accepts runs the same way everywhere.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sonify/model.h"
#include "sonify/result.h"
#include "sonify/tokenizer.h"

namespace sonify {

// What the user asked for. Exactly one of text / ids is meant to be given.
struct PromptOptions {
  std::string text;
  std::string ids;  // "1,2,3"
  bool have_text = false;
  bool have_ids = false;
  bool replace_invalid = false;  // invalid UTF-8 bytes become U+FFFD instead of an error
  bool truncate = false;         // keep the first context-length tokens of an over-long prompt
  bool no_bos = false;           // do not add the tokenizer's BOS/EOS tokens
};

// The prompt as token ids. pieces and offsets are filled when the ids came from text
// (offsets are byte ranges of `text`); with ids, pieces are filled when there is a
// tokenizer and offsets stay empty.
struct PromptTokens {
  std::vector<int> ids;
  std::vector<std::string> pieces;
  std::vector<ByteRange> offsets;
  std::vector<bool> special;  // per id: BOS/EOS and other special tokens (filled when known)
  std::string text;           // the prompt text ("" with ids)
  bool from_text = false;
  std::size_t truncated_from = 0;  // token count before truncation cut it; 0 if not cut
  std::vector<std::string> notes;  // one-line notes for the user (bytes replaced, truncated)
};

// Tokenizes the text with `tokenizer` (or parses the ids), then checks it: an empty
// prompt, invalid UTF-8, an id outside vocab_size, or more tokens than context_length
// (unless truncate) are errors. tokenizer may be nullptr (only ids can work);
// vocab_size or context_length <= 0 mean no limit.
Result<PromptTokens> prompt_tokens(const PromptOptions& prompt, const Tokenizer* tokenizer, int vocab_size,
                                   int context_length);

// The model's tokenizer.json (beside a .safetensors file or in the directory), or
// nullopt when the model has none (an ids-only model).
std::optional<Tokenizer> tokenizer_if_present(const std::string& model_path);

// A prompt ready for the runtime: prompt_tokens() with the model's own tokenizer and
// limits, plus runtime_check_ids. A tokenizer that exists but does not load is an error
// only when the prompt is text.
struct ModelPrompt {
  PromptTokens tokens;
  std::vector<std::int64_t> ids;
};
Result<ModelPrompt> model_prompt(const PromptOptions& prompt, const std::string& model_path,
                                 const Model& model);

// Text of `ids` (special tokens left out), or "" without a tokenizer or on a bad id.
std::string decode_or_empty(const std::optional<Tokenizer>& tokenizer, const std::vector<std::int64_t>& ids);

// Text and byte offsets for ids given directly, decoded prefix by prefix, so the words of
// an ids prompt can be found as for text (group_words). Special tokens cover no bytes.
void prompt_text_from_ids(const Tokenizer& tokenizer, PromptTokens* tokens);

}  // namespace sonify
