#include <algorithm>
#include <filesystem>

#include "sonify/pipeline_tokens.h"
#include "sonify/runtime.h"

namespace sonify {
namespace {

Result<std::vector<int>> parse_ids(const std::string& list, int vocab_size) {
  std::vector<int> ids;
  std::size_t i = 0;
  while (i <= list.size()) {
    std::size_t end = list.find(',', i);
    if (end == std::string::npos) end = list.size();
    std::string item = list.substr(i, end - i);
    while (!item.empty() && item.front() == ' ') item.erase(0, 1);
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (item.empty() || item.size() > 9 || item.find_first_not_of("0123456789") != std::string::npos)
      return fail("--ids: '", item, "' is not a token id (expected comma-separated integers like 1,2,3)");
    const int id = std::stoi(item);
    if (vocab_size > 0 && id >= vocab_size)
      return fail("--ids: id ", id, " is out of range for the model's vocabulary of ", vocab_size,
                  " tokens (ids 0..", vocab_size - 1, ")");
    ids.push_back(id);
    i = end + 1;
  }
  return ids;
}

std::size_t common_prefix(const std::string& a, const std::string& b) {
  return static_cast<std::size_t>(
      std::mismatch(a.begin(), a.begin() + std::min(a.size(), b.size()), b.begin()).first - a.begin());
}

}  // namespace

Result<PromptTokens> prompt_tokens(const PromptOptions& prompt, const Tokenizer* tokenizer, int vocab_size,
                                   int context_length) {
  PromptTokens out;
  if (!prompt.have_text && !prompt.have_ids)
    return fail("no prompt: give the text as an argument, or token ids with --ids 1,2,3");
  // A mismatch is legal (embeddings padded to a multiple of 64, a tokenizer from another
  // model) but explains odd output: ids past the tokenizer decode to nothing, and ids past
  // the model are refused below.
  if (tokenizer != nullptr && vocab_size > 0 && tokenizer->vocab_size() != vocab_size)
    out.notes.push_back(
        "the tokenizer has " + std::to_string(tokenizer->vocab_size()) +
        " tokens but the model's embedding has " + std::to_string(vocab_size) + " rows" +
        (tokenizer->vocab_size() < vocab_size
             ? ": ids from " + std::to_string(tokenizer->vocab_size()) + " on decode to nothing"
             : ": ids from " + std::to_string(vocab_size) + " on cannot be given to the model"));
  if (prompt.have_ids) {
    SONIFY_ASSIGN_OR_RETURN(ids, parse_ids(prompt.ids, vocab_size));
    out.ids = std::move(ids);
    if (tokenizer != nullptr)
      for (int id : out.ids) {
        out.pieces.push_back(tokenizer->piece(id).value_or(""));
        out.special.push_back(tokenizer->is_special(id));
      }
  } else {
    if (prompt.text.empty()) return fail("empty prompt: give some text, or token ids with --ids");
    if (tokenizer == nullptr) return fail("no tokenizer for this model: pass token ids with --ids 1,2,3");
    EncodeOptions options;
    options.add_special_tokens = !prompt.no_bos;
    options.replace_invalid = prompt.replace_invalid;
    SONIFY_ASSIGN_OR_RETURN(enc, tokenizer->encode(prompt.text, options));
    for (std::size_t i = 0; i < enc.ids.size(); ++i)
      if (vocab_size > 0 && enc.ids[i] >= vocab_size)
        return fail("the tokenizer gave id ", enc.ids[i], " (", enc.pieces[i],
                    "), outside the model's vocabulary of ", vocab_size, " tokens");
    out.ids = std::move(enc.ids);
    out.pieces = std::move(enc.pieces);
    out.offsets = std::move(enc.offsets);
    out.special = std::move(enc.special);
    out.text = prompt.text;
    out.from_text = true;
    if (enc.invalid_bytes_replaced > 0)
      out.notes.push_back("replaced " + std::to_string(enc.invalid_bytes_replaced) + " invalid UTF-8 byte" +
                          (enc.invalid_bytes_replaced == 1 ? "" : "s") + " with U+FFFD");
  }
  if (out.ids.empty()) return fail("empty prompt: it has no tokens");
  const std::size_t limit = context_length > 0 ? static_cast<std::size_t>(context_length) : 0;
  if (limit > 0 && out.ids.size() > limit) {
    if (!prompt.truncate)
      return fail("the prompt is ", out.ids.size(), " tokens, longer than the model's context of ", limit,
                  " tokens; shorten it or pass --truncate to keep the first ", limit);
    out.truncated_from = out.ids.size();
    out.ids.resize(limit);
    if (out.pieces.size() > limit) out.pieces.resize(limit);
    if (out.offsets.size() > limit) out.offsets.resize(limit);
    if (out.special.size() > limit) out.special.resize(limit);
    out.notes.push_back("prompt truncated from " + std::to_string(out.truncated_from) + " to " +
                        std::to_string(limit) + " tokens (the model's context)");
  }
  return out;
}

std::optional<Tokenizer> tokenizer_if_present(const std::string& model_path) {
  std::error_code ec;
  const std::filesystem::path p(model_path);
  const auto dir = std::filesystem::is_directory(p, ec) ? p : p.parent_path();
  if (!std::filesystem::exists(dir / "tokenizer.json", ec) && p.extension() != ".gguf") return std::nullopt;
  auto t = Tokenizer::from_model_path(model_path);
  if (!t.ok()) return std::nullopt;
  return std::move(t).value();
}

Result<ModelPrompt> model_prompt(const PromptOptions& prompt, const std::string& model_path,
                                 const Model& model) {
  const ModelSpec& spec = model.spec();
  auto tokenizer = Tokenizer::from_model_path(model_path);
  // Only text needs the tokenizer; without text, report the prompt's own problem instead.
  if (!tokenizer.ok() && prompt.have_text) return tokenizer.error();
  ModelPrompt out;
  SONIFY_ASSIGN_OR_RETURN(tokens, prompt_tokens(prompt, tokenizer.ok() ? &*tokenizer : nullptr,
                                                spec.vocab_size, spec.context_length));
  out.tokens = std::move(tokens);
  out.ids.assign(out.tokens.ids.begin(), out.tokens.ids.end());
  SONIFY_TRY(runtime_check_ids(spec, out.ids));
  return out;
}

std::string decode_or_empty(const std::optional<Tokenizer>& tokenizer, const std::vector<std::int64_t>& ids) {
  if (!tokenizer) return "";
  std::vector<int> narrow(ids.begin(), ids.end());
  DecodeOptions options;
  options.skip_special = true;
  auto text = tokenizer->decode(narrow, options);
  return text.ok() ? text.value() : "";
}

void prompt_text_from_ids(const Tokenizer& tokenizer, PromptTokens* tokens) {
  DecodeOptions options;
  options.skip_special = true;
  std::vector<std::string> prefixes;
  std::vector<int> prefix;
  for (int id : tokens->ids) {
    prefix.push_back(id);
    auto text = tokenizer.decode(prefix, options);
    prefixes.push_back(text.ok() ? *text : std::string());
  }
  tokens->text = prefixes.empty() ? "" : prefixes.back();
  // A prefix may end in half a character (shown as U+FFFD until the next byte comes), so
  // each token covers what its prefix shares with the whole text beyond the previous one.
  tokens->offsets.clear();
  std::size_t begin = 0;
  for (const std::string& p : prefixes) {
    const std::size_t end = std::max(begin, common_prefix(p, tokens->text));
    tokens->offsets.push_back({begin, end});
    begin = end;
  }
}

}  // namespace sonify
