#include "model_run.h"

#include <filesystem>

#include "sonify/runtime.h"

namespace sonify::cli {

Result<ModelPrompt> model_prompt(const PromptInput& input, const std::string& model_path, const Model& model) {
  ModelPrompt out;
  SONIFY_ASSIGN_OR_RETURN(tokens, resolve_prompt(input, model_path, model.spec()));
  out.tokens = std::move(tokens);
  out.ids.assign(out.tokens.ids.begin(), out.tokens.ids.end());
  SONIFY_TRY(runtime_check_ids(model.spec(), out.ids));
  return out;
}

std::optional<Tokenizer> model_tokenizer(const std::string& model_path) {
  std::error_code ec;
  const std::filesystem::path p(model_path);
  const auto dir = std::filesystem::is_directory(p, ec) ? p : p.parent_path();
  if (!std::filesystem::exists(dir / "tokenizer.json", ec)) return std::nullopt;
  auto t = Tokenizer::from_model_path(model_path);
  if (!t.ok()) return std::nullopt;
  return std::move(t).value();
}

std::string decode_or_empty(const std::optional<Tokenizer>& tokenizer, const std::vector<std::int64_t>& ids) {
  if (!tokenizer) return "";
  std::vector<int> narrow(ids.begin(), ids.end());
  DecodeOptions options;
  options.skip_special = true;
  auto text = tokenizer->decode(narrow, options);
  return text.ok() ? text.value() : "";
}

}  // namespace sonify::cli
