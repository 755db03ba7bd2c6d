#include "prompt_input.h"

#include <cstdio>

namespace sonify::cli {
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

}  // namespace

void add_prompt_options(CLI::App* app, PromptInput* input) {
  CLI::Option* text =
      app->add_option("text", input->text, "Prompt text (UTF-8); write -- before a text that starts with -");
  CLI::Option* ids =
      app->add_option("--ids", input->ids, "Token ids instead of text, comma-separated: 1,2,3");
  text->excludes(ids);
  ids->excludes(text);
  input->text_option = text;
  input->ids_option = ids;
  app->add_flag("--replace-invalid", input->replace_invalid,
                "Replace invalid UTF-8 bytes with U+FFFD instead of failing");
  app->add_flag("--truncate", input->truncate, "Keep the first context-length tokens of an over-long prompt");
  app->add_flag("--no-bos", input->no_bos, "Do not add the tokenizer's BOS/EOS tokens");
}

Result<PromptTokens> resolve_prompt_with(const PromptInput& input, const Tokenizer* tokenizer, int vocab_size,
                                         int context_length) {
  PromptTokens out;
  const bool have_text = input.text_option != nullptr ? input.text_option->count() > 0 : !input.text.empty();
  const bool have_ids = input.ids_option != nullptr ? input.ids_option->count() > 0 : !input.ids.empty();
  if (!have_text && !have_ids)
    return fail("no prompt: give the text as an argument, or token ids with --ids 1,2,3");
  if (have_ids) {
    SONIFY_ASSIGN_OR_RETURN(ids, parse_ids(input.ids, vocab_size));
    out.ids = std::move(ids);
    if (tokenizer != nullptr)
      for (int id : out.ids) {
        out.pieces.push_back(tokenizer->piece(id).value_or(""));
        out.special.push_back(tokenizer->is_special(id));
      }
  } else {
    if (input.text.empty()) return fail("empty prompt: give some text, or token ids with --ids");
    if (tokenizer == nullptr) return fail("no tokenizer for this model: pass token ids with --ids 1,2,3");
    EncodeOptions options;
    options.add_special_tokens = !input.no_bos;
    options.replace_invalid = input.replace_invalid;
    SONIFY_ASSIGN_OR_RETURN(enc, tokenizer->encode(input.text, options));
    for (int id : enc.ids)
      if (vocab_size > 0 && id >= vocab_size)
        return fail("the tokenizer gave id ", id, " (", enc.pieces[&id - enc.ids.data()],
                    "), outside the model's vocabulary of ", vocab_size, " tokens");
    out.ids = std::move(enc.ids);
    out.pieces = std::move(enc.pieces);
    out.offsets = std::move(enc.offsets);
    out.special = std::move(enc.special);
    out.text = input.text;
    out.from_text = true;
    if (enc.invalid_bytes_replaced > 0)
      std::fprintf(stderr, "sonify: note: replaced %zu invalid UTF-8 byte%s with U+FFFD\n",
                   enc.invalid_bytes_replaced, enc.invalid_bytes_replaced == 1 ? "" : "s");
  }
  if (out.ids.empty()) return fail("empty prompt: it has no tokens");
  const std::size_t limit = context_length > 0 ? static_cast<std::size_t>(context_length) : 0;
  if (limit > 0 && out.ids.size() > limit) {
    if (!input.truncate)
      return fail("the prompt is ", out.ids.size(), " tokens, longer than the model's context of ", limit,
                  " tokens; shorten it or pass --truncate to keep the first ", limit);
    out.truncated_from = out.ids.size();
    out.ids.resize(limit);
    if (out.pieces.size() > limit) out.pieces.resize(limit);
    if (out.offsets.size() > limit) out.offsets.resize(limit);
    if (out.special.size() > limit) out.special.resize(limit);
    std::fprintf(stderr, "sonify: note: prompt truncated from %zu to %zu tokens (the model's context)\n",
                 out.truncated_from, limit);
  }
  return out;
}

Result<PromptTokens> resolve_prompt(const PromptInput& input, const std::string& model_path,
                                    const ModelSpec& spec) {
  const bool have_text = input.text_option != nullptr ? input.text_option->count() > 0 : !input.text.empty();
  auto tokenizer = Tokenizer::from_model_path(model_path);
  if (!tokenizer.ok()) {
    // Only text needs the tokenizer; without text, report the prompt problem instead.
    if (have_text) return tokenizer.error();
    return resolve_prompt_with(input, nullptr, spec.vocab_size, spec.context_length);
  }
  return resolve_prompt_with(input, &*tokenizer, spec.vocab_size, spec.context_length);
}

}  // namespace sonify::cli
