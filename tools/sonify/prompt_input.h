// The prompt options every model-running command shares (tokenize, trace, generate,
// prompt, album): TEXT or --ids, plus --replace-invalid, --truncate and --no-bos, and
// their resolution to token ids checked against the model's vocabulary and context.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "sonify/model.h"
#include "sonify/result.h"
#include "sonify/tokenizer.h"

namespace sonify::cli {

// What the user asked for; filled by CLI11.
struct PromptInput {
  std::string text;                          // the positional TEXT
  std::string ids;                           // --ids "1,2,3"
  bool replace_invalid = false;              // --replace-invalid
  bool truncate = false;                     // --truncate
  bool no_bos = false;                       // --no-bos
  const CLI::Option* text_option = nullptr;  // set by add_prompt_options
  const CLI::Option* ids_option = nullptr;
};

// The prompt as token ids. pieces and offsets are filled when the ids came from text
// (offsets are byte ranges of `text`); with --ids, pieces are filled when the model has
// a tokenizer.json and offsets stay empty.
struct PromptTokens {
  std::vector<int> ids;
  std::vector<std::string> pieces;
  std::vector<ByteRange> offsets;
  std::vector<bool> special;  // per id: BOS/EOS and other special tokens (filled when known)
  std::string text;           // the prompt text ("" with --ids)
  bool from_text = false;
  std::size_t truncated_from = 0;  // token count before --truncate cut it; 0 if not cut
};

// Adds TEXT (positional), --ids (excludes TEXT), --replace-invalid, --truncate, --no-bos.
void add_prompt_options(CLI::App* app, PromptInput* input);

// Tokenizes the prompt with MODEL_DIR/tokenizer.json (or parses --ids), then checks it:
// an empty prompt, invalid UTF-8, an id outside spec.vocab_size, or more tokens than
// spec.context_length (unless --truncate, which keeps the first context_length tokens
// and prints a note on stderr) are errors. `model_path` may be a directory or a
// .safetensors file; spec.context_length <= 0 means no limit.
Result<PromptTokens> resolve_prompt(const PromptInput& input, const std::string& model_path,
                                    const ModelSpec& spec);

// The same with an already loaded tokenizer (nullptr: only --ids can work).
Result<PromptTokens> resolve_prompt_with(const PromptInput& input, const Tokenizer* tokenizer, int vocab_size,
                                         int context_length);

}  // namespace sonify::cli
