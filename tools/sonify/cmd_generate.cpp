// `sonify generate`: continue a prompt, greedily or by seeded sampling, with a KV cache
// (the prompt is prefilled once, then one position per step).
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "model_run.h"
#include "sonify/runtime.h"

namespace sonify::cli {
namespace {

struct GenerateCliOptions {
  std::string model;
  PromptInput prompt;
  GenerateOptions gen;
  bool no_stop = false;
  int threads = 0;
  bool json = false;
  bool ids_only = false;
};

std::string join(const std::vector<std::int64_t>& ids) {
  std::string out;
  for (std::size_t i = 0; i < ids.size(); ++i) out += (i ? "," : "") + std::to_string(ids[i]);
  return out;
}

int run_generate(GenerateCliOptions o) {
  SONIFY_ASSIGN_OR_REPORT(path, model_path_or_default(o.model));
  SONIFY_ASSIGN_OR_REPORT(model, Model::open(path));
  SONIFY_ASSIGN_OR_REPORT(prompt, model_prompt(o.prompt, path, model));
  const std::vector<std::int64_t>& ids = prompt.ids;
  const std::optional<Tokenizer> tokenizer = model_tokenizer(path);
  RuntimeOptions options;
  options.threads = o.threads;
  SONIFY_ASSIGN_OR_REPORT(runtime, runtime_open(model, options));
  o.gen.stop_at_eos = !o.no_stop;
  SONIFY_ASSIGN_OR_REPORT(generation, generate(*runtime, ids, o.gen));
  if (o.json) {
    nlohmann::ordered_json j;
    j["model"] = path;
    j["prompt_ids"] = ids;
    j["ids"] = generation.ids;
    if (tokenizer) {
      j["prompt_text"] = decode_or_empty(tokenizer, ids);
      j["text"] = decode_or_empty(tokenizer, generation.ids);
    }
    j["stop_reason"] = generation.stop_reason;
    j["decoding"] = o.gen.temperature > 0 ? "sampling" : "greedy";
    j["temperature"] = o.gen.temperature;
    j["top_k"] = o.gen.top_k;
    j["seed"] = o.gen.seed;
    j["kv_cache"] = true;
    std::printf("%s\n", j.dump(1).c_str());
  } else if (tokenizer && !o.ids_only) {
    // The prompt and its continuation decoded together, so spacing comes out right.
    std::vector<std::int64_t> all = ids;
    all.insert(all.end(), generation.ids.begin(), generation.ids.end());
    std::printf("%s\n", decode_or_empty(tokenizer, all).c_str());
    std::fprintf(stderr, "sonify: %zu tokens, stopped: %s, seed %llu\n", generation.ids.size(),
                 generation.stop_reason.c_str(), static_cast<unsigned long long>(o.gen.seed));
  } else {
    std::printf("%s\n", join(generation.ids).c_str());
    std::fprintf(stderr, "sonify: %zu tokens, stopped: %s, seed %llu\n", generation.ids.size(),
                 generation.stop_reason.c_str(), static_cast<unsigned long long>(o.gen.seed));
  }
  return 0;
}

}  // namespace

void register_generate(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<GenerateCliOptions>();
  CLI::App* cmd =
      app.add_subcommand("generate", "Continue a prompt with a model (greedy or seeded sampling)");
  add_model_option(cmd, &o->model);
  add_prompt_options(cmd, &o->prompt);
  cmd->add_option("-n,--max-tokens", o->gen.max_tokens, "Most tokens to generate")
      ->check(CLI::Range(0, 1 << 20))
      ->capture_default_str();
  cmd->add_option("--temperature", o->gen.temperature, "0: greedy; above 0: sample from softmax(logits / T)")
      ->check(CLI::Range(0.0, 100.0))
      ->capture_default_str();
  cmd->add_option("--top-k", o->gen.top_k, "Sample only among the K most likely tokens (0: all)")
      ->check(CLI::Range(0, 1 << 24))
      ->capture_default_str();
  cmd->add_option("--seed", o->gen.seed, "Sampling seed, 0 to 2^64-1 (recorded in --json output)")
      ->check([](const std::string& s) {
        return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos
                   ? std::string()
                   : std::string("must be a non-negative integer");
      })
      ->capture_default_str();
  cmd->add_flag("--no-stop", o->no_stop, "Do not stop at the end-of-sequence token");
  cmd->add_option("--threads", o->threads, "Compute threads (0: all cores)")->check(CLI::Range(0, 256));
  cmd->add_flag("--print-ids", o->ids_only, "Print the generated ids instead of the decoded text");
  cmd->add_flag("--json", o->json, "Print ids, stop reason and decoding settings as JSON");
  cmd->callback([o, exit_code] { *exit_code = run_generate(*o); });
}

}  // namespace sonify::cli
