// Steps the model-running commands (trace, generate) share: reading --ids, checking
// them against the model, opening the runtime.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cli_common.h"
#include "sonify/model.h"
#include "sonify/result.h"

namespace sonify::cli {

// Parses "1,2,3" (decimal ids, commas, optional spaces) into ids. Range checks against
// a vocabulary happen later, in prompt_fit.
Result<std::vector<std::int64_t>> parse_token_ids(const std::string& text);

// Checks ids against the model (runtime_check_ids). With `truncate`, a prompt longer
// than the context keeps its last context_length ids (a note goes to stderr) instead of
// being refused.
Status prompt_fit(const ModelSpec& spec, bool truncate, std::vector<std::int64_t>* ids);

}  // namespace sonify::cli

// In a command's run function returning an exit code: declares `var` from a Result, or
// reports its error (one line) and returns 1.
#define SONIFY_ASSIGN_OR_REPORT(var, expr)                                      \
  auto var##_result_ = (expr);                                                  \
  if (!var##_result_.ok()) return ::sonify::cli::report(var##_result_.error()); \
  auto var = std::move(var##_result_).value()
