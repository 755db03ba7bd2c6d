// `sonify trace`: one forward pass over a prompt, capturing hidden states, attention
// probabilities, MLP activations and logits into a safetensors file named with
// TransformerLens hook names (plus a JSON sidecar with the Hugging Face module paths).
// The work is run_trace (sonify/pipeline_run.h).
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "prompt_input.h"
#include "sonify/pipeline_run.h"

namespace sonify::cli {
namespace {

struct TraceArgs {
  std::string model;
  PromptInput prompt;
  TraceRequest request;
  bool json = false;
};

nlohmann::ordered_json summary(const TraceRun& run) {
  nlohmann::ordered_json j;
  j["output"] = run.out;
  j["sidecar"] = run.sidecar;
  j["tokens"] = run.ids.size();
  j["token_ids"] = run.ids;
  if (!run.pieces.empty()) j["pieces"] = run.pieces;
  j["threads"] = run.threads;
  j["seconds"] = {{"load", run.load_seconds}, {"forward", run.forward_seconds}, {"write", run.write_seconds}};
  if (!run.top.empty()) {
    j["top_k"] = nlohmann::ordered_json::array();
    for (const TopToken& t : run.top)
      j["top_k"].push_back({{"id", t.id}, {"text", t.text}, {"logit", t.logit}, {"prob", t.prob}});
  }
  return j;
}

int run_trace_command(TraceArgs& a) {
  SONIFY_ASSIGN_OR_REPORT(path, model_path_or_default(a.model));
  a.request.model_path = path;
  a.request.prompt = a.prompt.resolved();
  SONIFY_ASSIGN_OR_REPORT(run, run_trace(a.request));
  print_notes(run.notes);
  if (a.json) {
    std::printf("%s\n", summary(run).dump(1).c_str());
    return 0;
  }
  std::printf("%s (%zu tokens)\n", run.out.c_str(), run.ids.size());
  if (!run.top.empty()) std::printf("next token after position %zu:\n", run.ids.size() - 1);
  for (const TopToken& t : run.top)
    std::printf("  id %6lld  logit %10.4f  p %.4f  %s\n", static_cast<long long>(t.id), t.logit, t.prob,
                nlohmann::json(t.text).dump().c_str());
  return 0;
}

}  // namespace

void register_trace(CLI::App& app, int* exit_code) {
  auto a = std::make_shared<TraceArgs>();
  TraceRequest& r = a->request;
  CLI::App* cmd =
      app.add_subcommand("trace", "Run a prompt through a model and save its activations (safetensors)");
  add_model_option(cmd, &a->model);
  add_prompt_options(cmd, &a->prompt);
  cmd->add_option("-o,--out", r.out, "Output .safetensors (a .json sidecar is written beside it)")
      ->required();
  cmd->add_option("--capture", r.capture, "What to keep: embed, resid, attn, mlp (comma-separated) or none")
      ->capture_default_str();
  cmd->add_option("--logits", r.logits, "Logits at: last (position), all (positions) or none")
      ->capture_default_str();
  cmd->add_option("--top-k", r.top_k, "Print the N most likely next tokens at the last position")
      ->check(CLI::Range(0, 1 << 20));
  cmd->add_option("--threads", r.threads, "Compute threads (0: $SONIFY_THREADS or all cores)")
      ->check(CLI::Range(0, 256));
  cmd->add_flag("--allow-nonfinite", r.allow_nonfinite,
                "Keep the trace of a model whose logits hold NaN or Inf (refused otherwise)");
  cmd->add_flag("--json", a->json, "Print a JSON summary");
  cmd->callback([a, exit_code] { *exit_code = run_trace_command(*a); });
}

}  // namespace sonify::cli
