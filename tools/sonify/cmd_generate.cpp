// `sonify generate`: continue a prompt, greedily or by seeded sampling, with a KV cache
// (the prompt is prefilled once, then one position per step). The work is run_generate
// (sonify/pipeline_run.h). --monitor sounds each token as it is generated.
#include <csignal>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "prompt_input.h"
#include "sonify/pipeline_run.h"

namespace sonify::cli {
namespace {

struct GenerateArgs {
  std::string model;
  PromptInput prompt;
  GenerateRequest request;
  bool no_stop = false;
  bool json = false;
  bool ids_only = false;
};

volatile std::sig_atomic_t interrupted = 0;
void on_interrupt(int) { interrupted = 1; }

std::string join(const std::vector<std::int64_t>& ids) {
  std::string out;
  for (std::size_t i = 0; i < ids.size(); ++i) out += (i ? "," : "") + std::to_string(ids[i]);
  return out;
}

int run_generate_command(GenerateArgs& a) {
  SONIFY_ASSIGN_OR_REPORT(path, model_path_or_default(a.model));
  GenerateRequest& r = a.request;
  r.model_path = path;
  r.prompt = a.prompt.resolved();
  r.options.stop_at_eos = !a.no_stop;
  const bool live = r.monitor.wav == "-";
  if (live && a.json) return report(fail("--json prints to stdout, where --monitor - writes the audio"));
  if (!r.monitor.wav.empty()) {  // Ctrl-C ends the piece early; the WAV is finished, not cut
    r.monitor.stop = &interrupted;
    std::signal(SIGINT, on_interrupt);
    std::signal(SIGPIPE, SIG_IGN);
  }
  SONIFY_ASSIGN_OR_REPORT(run, run_generate(r));
  print_notes(run.notes);
  if (!r.monitor.wav.empty())
    std::fprintf(stderr, "sonify: monitor: %.2f s of audio%s%s\n", run.monitor_seconds,
                 run.monitor_json.empty() ? "" : ", tokens in ", run.monitor_json.c_str());
  const Generation& g = run.generation;
  if (a.json) {
    nlohmann::ordered_json j;
    j["model"] = path;
    j["prompt_ids"] = run.prompt_ids;
    j["ids"] = g.ids;
    if (run.has_tokenizer) {
      j["prompt_text"] = run.prompt_text;
      j["text"] = run.text;
    }
    j["stop_reason"] = g.stop_reason;
    j["decoding"] = r.options.temperature > 0 ? "sampling" : "greedy";
    j["temperature"] = r.options.temperature;
    j["top_k"] = r.options.top_k;
    j["seed"] = r.options.seed;
    j["kv_cache"] = true;
    std::printf("%s\n", j.dump(1).c_str());
    return 0;
  }
  std::fprintf(live ? stderr : stdout, "%s\n",
               run.has_tokenizer && !a.ids_only ? run.full_text.c_str() : join(g.ids).c_str());
  std::fprintf(stderr, "sonify: %zu tokens, stopped: %s, seed %llu\n", g.ids.size(), g.stop_reason.c_str(),
               static_cast<unsigned long long>(r.options.seed));
  return 0;
}

}  // namespace

void register_generate(CLI::App& app, int* exit_code) {
  auto a = std::make_shared<GenerateArgs>();
  GenerateOptions& gen = a->request.options;
  CLI::App* cmd =
      app.add_subcommand("generate", "Continue a prompt with a model (greedy or seeded sampling)");
  add_model_option(cmd, &a->model);
  add_prompt_options(cmd, &a->prompt);
  cmd->add_option("-n,--max-tokens", gen.max_tokens, "Most tokens to generate")
      ->check(CLI::Range(0, 1 << 20))
      ->capture_default_str();
  cmd->add_option("--temperature", gen.temperature, "0: greedy; above 0: sample from softmax(logits / T)")
      ->check(CLI::Range(0.0, 100.0))
      ->capture_default_str();
  cmd->add_option("--top-k", gen.top_k, "Sample only among the K most likely tokens (0: all)")
      ->check(CLI::Range(0, 1 << 24))
      ->capture_default_str();
  cmd->add_option("--seed", gen.seed, "Sampling seed, 0 to 2^64-1 (recorded in --json output)")
      ->check([](const std::string& s) {
        return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos
                   ? std::string()
                   : std::string("must be a non-negative integer");
      })
      ->capture_default_str();
  cmd->add_flag("--no-stop", a->no_stop, "Do not stop at the end-of-sequence token");
  cmd->add_option("--threads", a->request.threads, "Compute threads (0: $SONIFY_THREADS or all cores)")
      ->check(CLI::Range(0, 256));
  cmd->add_flag("--print-ids", a->ids_only, "Print the generated ids instead of the decoded text");
  cmd->add_flag("--json", a->json, "Print ids, stop reason and decoding settings as JSON");
  MonitorRequest& m = a->request.monitor;
  cmd->add_option("--monitor", m.wav, "Sound each token as it comes: a WAV file, or - for stdout (| aplay)");
  cmd->add_option("--monitor-json", m.json, "With --monitor -: write the token record (scores, notes) here");
  cmd->add_option("--direction", m.direction, "With --monitor: score tokens along this contrast pair file");
  cmd->add_option("--monitor-step", m.step_seconds, "With --monitor: seconds of audio per token")
      ->capture_default_str();
  cmd->callback([a, exit_code] { *exit_code = run_generate_command(*a); });
}

}  // namespace sonify::cli
