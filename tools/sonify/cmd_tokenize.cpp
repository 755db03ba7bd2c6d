// `sonify tokenize`: the token ids, pieces and byte offsets of a prompt, exactly as the
// model-running commands will see them (same options, same checks: prompt_input.h).
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "prompt_input.h"
#include "sonify/model.h"
#include "sonify/tokenizer.h"

namespace sonify::cli {
namespace {

using nlohmann::ordered_json;

// Control characters, backslashes and quotes escaped so one token stays on one line.
std::string printable(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '\n')
      out += "\\n";
    else if (c == '\t')
      out += "\\t";
    else if (c == '\r')
      out += "\\r";
    else if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// Pads to `width` columns, counting code points (good enough for a table).
std::string pad(const std::string& s, std::size_t width) {
  std::size_t cols = 0;
  for (unsigned char c : s) cols += (c & 0xC0) != 0x80;
  return cols >= width ? s : s + std::string(width - cols, ' ');
}

Result<ModelSpec> spec_for(const std::string& model_path) {
  std::error_code ec;
  const bool is_dir = std::filesystem::is_directory(model_path, ec);
  const auto config =
      (is_dir ? std::filesystem::path(model_path) : std::filesystem::path(model_path).parent_path()) /
      "config.json";
  if (!std::filesystem::exists(config, ec))
    return fail(model_path,
                is_dir ? ": no config.json in this directory" : ": no config.json beside this file");
  return model_spec_read(config.string());
}

}  // namespace

void register_tokenize(CLI::App& app, int* exit_code) {
  struct Options {
    std::string model;
    std::string tokenizer;
    bool json = false;
    PromptInput prompt;
  };
  auto opts = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("tokenize", "Show the token ids, pieces and byte offsets of a prompt");
  add_model_option(cmd, &opts->model);
  cmd->add_option("--tokenizer", opts->tokenizer,
                  "A tokenizer.json to use instead of the model's (the model, if given, still sets the "
                  "vocabulary and context limits)");
  add_prompt_options(cmd, &opts->prompt);
  cmd->add_flag("--json", opts->json, "Print one JSON object with ids, pieces and offsets");
  cmd->callback([opts, exit_code] {
    auto run = [&]() -> Result<ordered_json> {
      std::optional<Tokenizer> tokenizer;
      int vocab_size = 0, context = 0;
      std::string source;
      if (!opts->tokenizer.empty()) {
        SONIFY_ASSIGN_OR_RETURN(t, Tokenizer::from_file(opts->tokenizer));
        tokenizer.emplace(std::move(t));
        vocab_size = tokenizer->vocab_size();
        source = opts->tokenizer;
      }
      if (opts->tokenizer.empty() || !opts->model.empty()) {
        SONIFY_ASSIGN_OR_RETURN(path, model_path_or_default(opts->model));
        SONIFY_ASSIGN_OR_RETURN(spec, spec_for(path));
        vocab_size = spec.vocab_size;
        context = spec.context_length;
        if (!tokenizer) {
          auto t = Tokenizer::from_model_path(path);
          if (t.ok())
            tokenizer.emplace(std::move(*t));
          else if (opts->prompt.text_option->count() > 0)
            return t.error();
          source = path;
        }
      }
      SONIFY_ASSIGN_OR_RETURN(
          tokens, resolve_prompt_with(opts->prompt, tokenizer ? &*tokenizer : nullptr, vocab_size, context));
      ordered_json j;
      j["source"] = source;
      if (tokenizer) j["tokenizer"] = tokenizer->describe();
      if (tokens.from_text) j["text"] = tokens.text;
      j["count"] = tokens.ids.size();
      if (context > 0) j["context"] = context;
      if (tokens.truncated_from > 0) j["truncated_from"] = tokens.truncated_from;
      j["ids"] = tokens.ids;
      j["pieces"] = tokens.pieces;
      ordered_json offsets = ordered_json::array();
      for (const auto& r : tokens.offsets) offsets.push_back({r.begin, r.end});
      if (tokens.from_text) j["offsets"] = offsets;
      if (!tokens.special.empty()) j["special"] = tokens.special;
      return j;
    };
    auto result = run();
    if (!result.ok()) return void(*exit_code = report(result.error()));
    const ordered_json& j = *result;
    if (opts->json) {
      std::printf("%s\n", j.dump(-1, ' ', false, ordered_json::error_handler_t::replace).c_str());
      return;
    }
    std::printf("%s: %zu tokens", j["source"].get<std::string>().c_str(), j["ids"].size());
    if (j.contains("tokenizer")) std::printf(" (%s)", j["tokenizer"].get<std::string>().c_str());
    std::printf("\n%5s %7s %-11s %-24s %s\n", "#", "id", "bytes", "piece", "text");
    for (std::size_t i = 0; i < j["ids"].size(); ++i) {
      std::string piece =
          i < j["pieces"].size() ? "\"" + printable(j["pieces"][i].get<std::string>()) + "\"" : "";
      std::string range, text;
      if (j.contains("offsets")) {
        const auto b = j["offsets"][i][0].get<std::size_t>(), e = j["offsets"][i][1].get<std::size_t>();
        range = std::to_string(b) + "-" + std::to_string(e);
        text = "\"" + printable(j["text"].get<std::string>().substr(b, e - b)) + "\"";
      }
      std::printf("%5zu %7d %-11s %s %s\n", i, j["ids"][i].get<int>(), range.c_str(), pad(piece, 24).c_str(),
                  text.c_str());
    }
  });
}

}  // namespace sonify::cli
