// `sonify tokenize`: the token ids, pieces and byte offsets of a prompt, exactly as the
// model-running commands will see them (same options, same checks). The work is
// run_tokenize (sonify/pipeline_run.h).
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "prompt_input.h"
#include "sonify/pipeline_run.h"

namespace sonify::cli {
namespace {

using nlohmann::ordered_json;

struct TokenizeArgs {
  std::string model;
  PromptInput prompt;
  TokenizeRequest request;
  bool json = false;
};

// Control characters, backslashes and quotes escaped so one token stays on one line.
std::string printable(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '\n' || c == '\t' || c == '\r' || c == '\\' || c == '"') {
      out += '\\';
      out += c == '\n' ? 'n' : c == '\t' ? 't' : c == '\r' ? 'r' : static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7F) {
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

int run_tokenize_command(TokenizeArgs& a) {
  TokenizeRequest& r = a.request;
  if (r.tokenizer_path.empty() || !a.model.empty()) {
    SONIFY_ASSIGN_OR_REPORT(path, model_path_or_default(a.model));
    r.model_path = path;
  }
  r.prompt = a.prompt.resolved();
  SONIFY_ASSIGN_OR_REPORT(run, run_tokenize(r));
  print_notes(run.tokens.notes);
  const PromptTokens& t = run.tokens;
  if (a.json) {
    ordered_json j;
    j["source"] = run.source;
    if (!run.tokenizer.empty()) j["tokenizer"] = run.tokenizer;
    if (t.from_text) j["text"] = t.text;
    j["count"] = t.ids.size();
    if (run.context > 0) j["context"] = run.context;
    if (t.truncated_from > 0) j["truncated_from"] = t.truncated_from;
    j["ids"] = t.ids;
    j["pieces"] = t.pieces;
    ordered_json offsets = ordered_json::array();
    for (const auto& o : t.offsets) offsets.push_back({o.begin, o.end});
    if (t.from_text) j["offsets"] = offsets;
    if (!t.special.empty()) j["special"] = t.special;
    std::printf("%s\n", j.dump(-1, ' ', false, ordered_json::error_handler_t::replace).c_str());
    return 0;
  }
  std::printf("%s: %zu tokens", run.source.c_str(), t.ids.size());
  if (!run.tokenizer.empty()) std::printf(" (%s)", run.tokenizer.c_str());
  std::printf("\n%5s %7s %-11s %-24s %s\n", "#", "id", "bytes", "piece", "text");
  for (std::size_t i = 0; i < t.ids.size(); ++i) {
    const std::string piece = i < t.pieces.size() ? "\"" + printable(t.pieces[i]) + "\"" : "";
    std::string range, text;
    if (t.from_text) {
      range = std::to_string(t.offsets[i].begin) + "-" + std::to_string(t.offsets[i].end);
      text =
          "\"" + printable(t.text.substr(t.offsets[i].begin, t.offsets[i].end - t.offsets[i].begin)) + "\"";
    }
    std::printf("%5zu %7d %-11s %s %s\n", i, t.ids[i], range.c_str(), pad(piece, 24).c_str(), text.c_str());
  }
  return 0;
}

}  // namespace

void register_tokenize(CLI::App& app, int* exit_code) {
  auto a = std::make_shared<TokenizeArgs>();
  CLI::App* cmd = app.add_subcommand("tokenize", "Show the token ids, pieces and byte offsets of a prompt");
  add_model_option(cmd, &a->model);
  cmd->add_option("--tokenizer", a->request.tokenizer_path,
                  "A tokenizer.json to use instead of the model's (the model, if given, still sets the "
                  "vocabulary and context limits)");
  add_prompt_options(cmd, &a->prompt);
  cmd->add_flag("--json", a->json, "Print one JSON object with ids, pieces and offsets");
  cmd->callback([a, exit_code] { *exit_code = run_tokenize_command(*a); });
}

}  // namespace sonify::cli
