// run_tokenize, run_trace, run_generate (include/sonify/pipeline_run.h).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <numeric>

#include "core/atomic_file.h"
#include "core/output_set.h"
#include "monitor.h"
#include "sonify/pipeline_run.h"

namespace sonify {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

Result<ModelSpec> spec_for(const std::string& model_path) {
  std::error_code ec;
  const bool is_dir = std::filesystem::is_directory(model_path, ec);
  if (!is_dir && std::filesystem::path(model_path).extension() == ".gguf") {  // the config is its metadata
    SONIFY_ASSIGN_OR_RETURN(model, Model::open(model_path));
    return model.spec();
  }
  const auto config =
      (is_dir ? std::filesystem::path(model_path) : std::filesystem::path(model_path).parent_path()) /
      "config.json";
  if (!std::filesystem::exists(config, ec))
    return fail(model_path,
                is_dir ? ": no config.json in this directory" : ": no config.json beside this file");
  return model_spec_read(config.string());
}

Result<CaptureRequest> capture_request(const TraceRequest& o) {
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
  if (o.top_k > 0 && r.logits == LogitPositions::None)
    return fail("--top-k needs logits; drop --logits none");
  return r;
}

// The top_k ids at the last position, by logit (lower id first on ties), with softmax probabilities.
std::vector<TopToken> top_predictions(const Trace& trace, int top_k,
                                      const std::optional<Tokenizer>& tokenizer) {
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
  std::vector<TopToken> out;
  for (std::size_t r = 0; r < k; ++r)
    out.push_back({order[r], decode_or_empty(tokenizer, {order[r]}), row[order[r]],
                   std::exp(static_cast<double>(row[order[r]]) - top) / total});
  return out;
}

}  // namespace

Result<TokenizeRun> run_tokenize(const TokenizeRequest& request) {
  TokenizeRun run;
  std::optional<Tokenizer> tokenizer;
  int vocab_size = 0;
  if (!request.tokenizer_path.empty()) {
    SONIFY_ASSIGN_OR_RETURN(t, Tokenizer::from_file(request.tokenizer_path));
    tokenizer.emplace(std::move(t));
    vocab_size = tokenizer->vocab_size();
    run.source = request.tokenizer_path;
  }
  if (!request.model_path.empty()) {
    SONIFY_ASSIGN_OR_RETURN(spec, spec_for(request.model_path));
    vocab_size = spec.vocab_size;
    run.context = spec.context_length;
    if (!tokenizer) {
      auto t = Tokenizer::from_model_path(request.model_path);
      if (t.ok())
        tokenizer.emplace(std::move(*t));
      else if (request.prompt.have_text)
        return t.error();
      run.source = request.model_path;
    }
  }
  SONIFY_ASSIGN_OR_RETURN(
      tokens, prompt_tokens(request.prompt, tokenizer ? &*tokenizer : nullptr, vocab_size, run.context));
  run.tokens = std::move(tokens);
  if (tokenizer) run.tokenizer = tokenizer->describe();
  return run;
}

Result<TraceRun> run_trace(const TraceRequest& request) {
  const auto start = std::chrono::steady_clock::now();
  SONIFY_ASSIGN_OR_RETURN(capture, capture_request(request));
  const std::filesystem::path out(request.out);
  if (out.extension().empty() || out.extension() == ".json")
    return fail(request.out, ": give the trace an extension other than .json, e.g. trace.safetensors (the ",
                "sidecar beside it gets .json)");
  SONIFY_TRY(check_not_input(request.out, {request.model_path}));
  SONIFY_TRY(check_not_input(trace_sidecar_path(request.out), {request.model_path}));
  SONIFY_ASSIGN_OR_RETURN(model, Model::open(request.model_path));
  SONIFY_ASSIGN_OR_RETURN(prompt, model_prompt(request.prompt, request.model_path, model));
  const std::optional<Tokenizer> tokenizer = tokenizer_if_present(request.model_path);
  // Refuse an unwritable output before the forward pass, not after it; the trace and its
  // sidecar then appear together (trace_write puts the sidecar beside the temporary name).
  SONIFY_TRY(AtomicFile::create(request.out));
  const std::string dir = out.has_parent_path() ? out.parent_path().string() : ".";
  SONIFY_ASSIGN_OR_RETURN(set, OutputSet::open(dir, out.stem().string()));
  const std::string ext = out.extension().string();
  const std::string temp = set.temp_path(ext);
  (void)set.temp_path(".json");
  RuntimeOptions options;
  options.threads = request.threads;
  SONIFY_ASSIGN_OR_RETURN(runtime, runtime_open(model, options));
  const double load_seconds = seconds_since(start);
  const auto forward_start = std::chrono::steady_clock::now();
  SONIFY_ASSIGN_OR_RETURN(trace, runtime->forward(prompt.ids, capture));
  const double forward_seconds = seconds_since(forward_start);
  TraceRun run;
  // NaN breaks the predictions' ordering, and a trace of a damaged model is rarely what was
  // meant, so it is refused before anything is written unless asked for.
  const auto& logits = trace.logits.values;
  const auto bad = std::count_if(logits.begin(), logits.end(), [](float x) { return !std::isfinite(x); });
  if (bad > 0 && !request.allow_nonfinite)
    return fail("the model gave ", bad, " non-finite logits (NaN or Inf) of ", logits.size(),
                "; its weights are damaged (sonify inspect lists the tensors; trace --allow-nonfinite ",
                "keeps the trace)");
  const auto write_start = std::chrono::steady_clock::now();
  SONIFY_TRY(trace_write(trace, model, temp));
  SONIFY_TRY(set.commit());
  run.load_seconds = load_seconds;
  run.forward_seconds = forward_seconds;
  run.write_seconds = seconds_since(write_start);
  run.out = request.out;
  run.sidecar = trace_sidecar_path(request.out);
  run.ids = prompt.ids;
  run.pieces = prompt.tokens.pieces;
  run.threads = runtime->threads();
  run.notes = std::move(prompt.tokens.notes);
  if (bad > 0)
    run.notes.push_back("the logits hold " + std::to_string(bad) +
                        " non-finite values (NaN or Inf): the weights are damaged; no top predictions");
  else if (request.top_k > 0)
    run.top = top_predictions(trace, request.top_k, tokenizer);
  return run;
}

Result<GenerateRun> run_generate(const GenerateRequest& request) {
  SONIFY_TRY(pipeline::Monitor::check(request.monitor));
  SONIFY_ASSIGN_OR_RETURN(model, Model::open(request.model_path));
  SONIFY_ASSIGN_OR_RETURN(prompt, model_prompt(request.prompt, request.model_path, model));
  const std::optional<Tokenizer> tokenizer = tokenizer_if_present(request.model_path);
  RuntimeOptions options;
  options.threads = request.threads;
  SONIFY_ASSIGN_OR_RETURN(runtime, runtime_open(model, options));
  std::unique_ptr<pipeline::Monitor> monitor;
  if (!request.monitor.wav.empty()) {
    SONIFY_TRY(runtime_check_ids(runtime->spec(), prompt.ids));
    SONIFY_ASSIGN_OR_RETURN(m, pipeline::Monitor::open(request.monitor, *runtime, tokenizer, prompt.ids));
    monitor = std::move(m);
  }
  SONIFY_ASSIGN_OR_RETURN(generation, generate(*runtime, prompt.ids, request.options,
                                               monitor ? monitor->observer() : TokenObserver{}));
  GenerateRun run;
  run.prompt_ids = prompt.ids;
  run.has_tokenizer = tokenizer.has_value();
  run.prompt_text = decode_or_empty(tokenizer, prompt.ids);
  run.text = decode_or_empty(tokenizer, generation.ids);
  std::vector<std::int64_t> all = prompt.ids;
  all.insert(all.end(), generation.ids.begin(), generation.ids.end());
  run.full_text = decode_or_empty(tokenizer, all);
  run.generation = std::move(generation);
  run.notes = std::move(prompt.tokens.notes);
  if (monitor) {
    SONIFY_TRY(monitor->finish(run, request.model_path));
    run.monitor_seconds = monitor->seconds();
    if (request.monitor.wav != "-")
      run.monitor_json = std::filesystem::path(request.monitor.wav).replace_extension(".json").string();
    else
      run.monitor_json = request.monitor.json;
  }
  return run;
}

}  // namespace sonify
