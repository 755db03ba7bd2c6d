// Steps the model-running commands (trace, generate, prompt, album) share: turning the
// prompt options into checked token ids, and decoding ids for display.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cli_common.h"
#include "prompt_input.h"
#include "sonify/model.h"
#include "sonify/result.h"
#include "sonify/tokenizer.h"

namespace sonify::cli {

// A prompt ready for the runtime: ids checked against the model (vocabulary, context,
// runtime_check_ids), with the tokenizer's pieces when there is one.
struct ModelPrompt {
  PromptTokens tokens;
  std::vector<std::int64_t> ids;
};
Result<ModelPrompt> model_prompt(const PromptInput& input, const std::string& model_path, const Model& model);

// The model's tokenizer.json, or nullopt when it has none (an --ids-only model).
std::optional<Tokenizer> model_tokenizer(const std::string& model_path);

// Text of `ids` with the tokenizer (special tokens left out), or "" without one.
std::string decode_or_empty(const std::optional<Tokenizer>& tokenizer, const std::vector<std::int64_t>& ids);

}  // namespace sonify::cli
