// `sonify trace`: one forward pass over a prompt, capturing hidden states, attention
// probabilities, MLP activations and logits into a safetensors file named with
// TransformerLens hook names (plus a JSON sidecar with the Hugging Face module paths).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <numeric>

#include "cli_common.h"
#include "core/atomic_file.h"
#include "model_run.h"
#include "sonify/runtime.h"

namespace sonify::cli {
namespace {

struct TraceOptions {
  std::string model;
  PromptInput prompt;
  std::string out;
  std::string capture = "embed,resid,attn,mlp";
  std::string logits = "last";
  int top_k = 0;
  int threads = 0;
  bool json = false;
};

Result<CaptureRequest> capture_request(const TraceOptions& o) {
  CaptureRequest r;
  std::string list = o.capture + ",";
  for (std::size_t i = 0, comma; (comma = list.find(',', i)) != std::string::npos; i = comma + 1) {
    const std::string item = list.substr(i, comma - i);
    if (item == "embed")
      r.embed = true;
    else if (item == "resid")
      r.resid_post = true;
    else if (item == "attn")
      r.attn_pattern = true;
    else if (item == "mlp")
      r.mlp_post = true;
    else if (!item.empty() && item != "none")
      return fail("--capture: unknown item '", item, "' (use embed, resid, attn, mlp or none)");
  }
  if (o.logits == "all")
    r.logits = LogitPositions::All;
  else if (o.logits == "last")
    r.logits = LogitPositions::Last;
  else if (o.logits == "none")
    r.logits = LogitPositions::None;
  else
    return fail("--logits: expected all, last or none, not '", o.logits, "'");
  return r;
}

// The top_k ids at the last position, by logit (lower id first on ties), with softmax probabilities.
nlohmann::ordered_json top_predictions(const Trace& trace, int top_k, const std::optional<Tokenizer>& tokenizer) {
  const std::int64_t v = trace.logits.shape.back();
  const float* row = trace.logits.values.data() + (trace.logits.values.size() - static_cast<std::size_t>(v));
  std::vector<std::int64_t> order(static_cast<std::size_t>(v));
  std::iota(order.begin(), order.end(), 0);
  const auto k = std::min<std::size_t>(static_cast<std::size_t>(top_k), order.size());
  std::partial_sort(
      order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k), order.end(),
      [&](std::int64_t a, std::int64_t b) { return row[a] != row[b] ? row[a] > row[b] : a < b; });
  const float top = row[order[0]];
  double total = 0;
  for (std::int64_t i = 0; i < v; ++i) total += std::exp(static_cast<double>(row[i]) - top);
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (std::size_t r = 0; r < k; ++r)
    out.push_back({{"id", order[r]},
                   {"text", decode_or_empty(tokenizer, {order[r]})},
                   {"logit", row[order[r]]},
                   {"prob", std::exp(static_cast<double>(row[order[r]]) - top) / total}});
  return out;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int run_trace(const TraceOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  SONIFY_ASSIGN_OR_REPORT(request, capture_request(o));
  if (o.top_k > 0 && request.logits == LogitPositions::None)
    return report(fail("--top-k needs logits; drop --logits none"));
  SONIFY_ASSIGN_OR_REPORT(path, model_path_or_default(o.model));
  SONIFY_ASSIGN_OR_REPORT(model, Model::open(path));
  SONIFY_ASSIGN_OR_REPORT(prompt, model_prompt(o.prompt, path, model));
  const std::vector<std::int64_t>& ids = prompt.ids;
  const std::optional<Tokenizer> tokenizer = model_tokenizer(path);
  {
    // Refuse an unwritable output before the forward pass, not after it.
    auto probe = AtomicFile::create(o.out);
    if (!probe.ok()) return report(probe.error());
    auto sidecar = AtomicFile::create(trace_sidecar_path(o.out));
    if (!sidecar.ok()) return report(sidecar.error());
  }
  RuntimeOptions options;
  options.threads = o.threads;
  SONIFY_ASSIGN_OR_REPORT(runtime, runtime_open(model, options));
  const double load_s = seconds_since(start);
  const auto forward_start = std::chrono::steady_clock::now();
  SONIFY_ASSIGN_OR_REPORT(trace, runtime->forward(ids, request));
  const double forward_s = seconds_since(forward_start);
  const auto write_start = std::chrono::steady_clock::now();
  if (Status written = trace_write(trace, model, o.out); !written.ok()) return report(written.error());
  const double write_s = seconds_since(write_start);
  nlohmann::ordered_json j;
  j["output"] = o.out;
  j["sidecar"] = trace_sidecar_path(o.out);
  j["tokens"] = ids.size();
  j["token_ids"] = ids;
  if (!prompt.tokens.pieces.empty()) j["pieces"] = prompt.tokens.pieces;
  j["threads"] = runtime->threads();
  j["seconds"] = {{"load", load_s}, {"forward", forward_s}, {"write", write_s}};
  if (o.top_k > 0) j["top_k"] = top_predictions(trace, o.top_k, tokenizer);
  if (o.json) {
    std::printf("%s\n", j.dump(1).c_str());
    return 0;
  }
  std::printf("%s (%zu tokens)\n", o.out.c_str(), ids.size());
  if (o.top_k > 0) {
    std::printf("next token after position %zu:\n", ids.size() - 1);
    for (const auto& p : j["top_k"])
      std::printf("  id %6lld  logit %10.4f  p %.4f  %s\n", static_cast<long long>(p["id"].get<std::int64_t>()),
                  p["logit"].get<double>(), p["prob"].get<double>(),
                  nlohmann::json(p["text"].get<std::string>()).dump().c_str());
  }
  return 0;
}

}  // namespace

void register_trace(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<TraceOptions>();
  CLI::App* cmd =
      app.add_subcommand("trace", "Run a prompt through a model and save its activations (safetensors)");
  add_model_option(cmd, &o->model);
  add_prompt_options(cmd, &o->prompt);
  cmd->add_option("-o,--out", o->out, "Output .safetensors (a .json sidecar is written beside it)")
      ->required();
  cmd->add_option("--capture", o->capture, "What to keep: embed, resid, attn, mlp (comma-separated) or none")
      ->capture_default_str();
  cmd->add_option("--logits", o->logits, "Logits at: last (position), all (positions) or none")
      ->capture_default_str();
  cmd->add_option("--top-k", o->top_k, "Print the N most likely next tokens at the last position")
      ->check(CLI::Range(0, 1 << 20));
  cmd->add_option("--threads", o->threads, "Compute threads (0: all cores)")->check(CLI::Range(0, 256));
  cmd->add_flag("--json", o->json, "Print a JSON summary");
  cmd->callback([o, exit_code] { *exit_code = run_trace(*o); });
}

}  // namespace sonify::cli
