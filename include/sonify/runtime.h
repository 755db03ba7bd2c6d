// Running a model: a forward pass over token ids that captures the activations a caller
// asks for, and incremental decoding with a KV cache. The implementation lives in the
// libtorch plugin (libsonify_torch.so); this header holds no torch type, so callers
// compile and start without libtorch.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sonify/model.h"
#include "sonify/result.h"

namespace sonify {

// A dense float32 array, row-major, with its shape. Empty (no shape) when not captured.
struct Activation {
  std::vector<std::int64_t> shape;
  std::vector<float> values;

  bool empty() const { return shape.empty(); }
};

// Which positions get logits. A 262k vocabulary makes all positions costly
// (T × V floats), so the default is the last position only.
enum class LogitPositions { None, Last, All };

// What a forward pass keeps. Nothing else is held once a layer is done.
struct CaptureRequest {
  bool embed = false;         // hidden state after embeddings (and positions) [T, D]
  bool resid_post = false;    // hidden state after every block [T, D]
  bool attn_pattern = false;  // attention probabilities per layer [H, T, T]
  bool mlp_post = false;      // MLP activation before the down projection per layer [T, I]
  LogitPositions logits = LogitPositions::Last;

  // Everything, logits at every position.
  static CaptureRequest all();
};

// The activations of one forward pass over one prompt. Per-layer vectors have one
// entry per layer when captured and are empty otherwise.
struct Trace {
  std::vector<std::int64_t> token_ids;   // [T]
  Activation embed;                      // [T, D]
  std::vector<Activation> resid_post;    // [T, D] each
  std::vector<Activation> attn_pattern;  // [H, T, T] each; masked entries are exactly 0
  std::vector<Activation> mlp_post;      // [T, I] each
  Activation logits;                     // [T, V] (All) or [1, V] (Last)
  LogitPositions logit_positions = LogitPositions::Last;
};

// Knobs of the runtime; defaults suit the CLI.
struct RuntimeOptions {
  // Threads of the runtime's own pool, which runs the matrix products in fixed blocks
  // and attention by heads (ATen's OpenMP threads stay at 1, see runtime_torch.cpp);
  // results do not depend on it. 0: $SONIFY_THREADS or every CPU of the process.
  int threads = 0;
};

// A model ready to run. Not thread-safe: one caller at a time. The Model it was opened
// from must outlive it (weights are read from the Model's memory map, never copied whole).
class Runtime {
 public:
  virtual ~Runtime() = default;

  // The architecture being run.
  virtual const ModelSpec& spec() const = 0;

  // Runs `ids` from position 0 (the KV cache is not used or touched) and returns what
  // `request` asks for. Fails on an empty prompt, an id outside the vocabulary or more
  // ids than the context length.
  virtual Result<Trace> forward(const std::vector<std::int64_t>& ids, const CaptureRequest& request) = 0;

  // Appends `ids` to the cached sequence (a KV cache per layer) and returns the logits
  // of the last new position [V]. Fails when the sequence would exceed the context; a
  // failure empties the cache. Keeps f32 copies of BF16/F16 layer matrices (up to 1 GiB)
  // from the first call on, since decoding reads every weight once per token.
  virtual Result<std::vector<float>> extend(const std::vector<std::int64_t>& ids) = 0;

  // extend() returning what `request` asks for of the new positions only: embed and
  // resid_post [t, D], mlp_post [t, I], attn_pattern [H, t, cached + t], logits as asked
  // (Last: the last new position's [1, V]). The rows are those of a forward() over the whole
  // sequence up to float rounding: the new positions attend to the cached keys and values.
  virtual Result<Trace> extend_trace(const std::vector<std::int64_t>& ids, const CaptureRequest& request) = 0;

  // Empties the KV cache.
  virtual void reset() = 0;

  // Tokens held in the KV cache.
  virtual std::int64_t cached_tokens() const = 0;

  // Threads the matrix products use.
  virtual int threads() const = 0;
};

// Loads the libtorch plugin and opens `model` on it. Fails with one line when the plugin
// is missing (sonify built without libtorch) or the model uses something the runtime
// does not implement (an activation, a rope_scaling type).
Result<std::unique_ptr<Runtime>> runtime_open(const Model& model, const RuntimeOptions& options = {});

// Checks prompt ids against the model: non-empty, each in [0, vocab_size), at most
// context_length of them. The error names the first offending id and its position.
Status runtime_check_ids(const ModelSpec& spec, const std::vector<std::int64_t>& ids);

// RoPE inverse frequencies (HF convention, rotate_half) for the rotated part of a head:
// rotary_dim / 2 values. `local` selects Gemma 3's sliding-layer base. rope_scaling
// "linear" and "llama3" are applied; other types are an error. attention_factor is the
// scale the rotated q/k get (1 unless the scaling type says otherwise).
struct RopeTable {
  std::vector<double> inv_freq;
  int rotary_dim = 0;
  double attention_factor = 1;
};
Result<RopeTable> rope_table(const ModelSpec& spec, bool local);

// Decoding settings. temperature 0 is greedy (argmax, lowest id on ties); otherwise
// sampling from softmax(logits / temperature), restricted to the top_k most likely
// tokens when top_k > 0, with a std::mt19937_64 seeded by `seed`.
struct GenerateOptions {
  int max_tokens = 32;
  double temperature = 0;
  int top_k = 0;
  std::uint64_t seed = 0;
  bool stop_at_eos = true;  // stop after emitting one of spec.eos_token_ids
};

// The continuation and why it ended: "eos", "max_tokens", "context" (the context
// length was reached) or "interrupted" (a TokenObserver asked to stop).
struct Generation {
  std::vector<std::int64_t> ids;
  std::string stop_reason;
};

// One generated token as a TokenObserver sees it.
struct TokenStep {
  const std::vector<float>& logits;  // the logits it was chosen from
  std::int64_t id = 0;
  std::chrono::steady_clock::time_point logits_at;  // when those logits were ready
  // With TokenObserver::capture: what the cached step that appended the token captured of it
  // (rows [1, ...]). Null when the context was full, so that no step could append it.
  const Trace* appended = nullptr;
};

// Called once per generated token (the live monitor sounds each token as it comes).
// Returning false stops the generation after this token with stop_reason "interrupted"; an
// error ends it with that error. Without a capture the observer runs before the step that
// appends the token; with one (embed, resid_post, mlp_post or attn_pattern) that step runs
// first, so the observer gets the token's activations from the KV-cached pass instead of a
// forward pass over the whole sequence, and one more step runs after the last token.
struct TokenObserver {
  std::function<Result<bool>(const TokenStep&)> on_token;
  CaptureRequest capture = CaptureRequest{false, false, false, false, LogitPositions::Last};

  explicit operator bool() const { return static_cast<bool>(on_token); }
};

// Decodes up to options.max_tokens ids after `prompt` with the runtime's KV cache
// (the prompt is prefilled once, then one token per step). Resets the cache first.
Result<Generation> generate(Runtime& runtime, const std::vector<std::int64_t>& prompt,
                            const GenerateOptions& options, const TokenObserver& observer = {});

// The index of the next token chosen from `logits` under `options` (see GenerateOptions).
std::int64_t sample_next(const std::vector<float>& logits, const GenerateOptions& options,
                         std::uint64_t* rng_state);

// Writes `trace` as safetensors at `path` with TransformerLens hook names (hook_embed,
// blocks.{l}.hook_resid_post, blocks.{l}.attn.hook_pattern, blocks.{l}.mlp.hook_post,
// logits, token_ids) and a JSON sidecar (`path` with its extension replaced by .json)
// mapping each name to its Hugging Face module path. Both written atomically; on failure
// neither is left behind.
Status trace_write(const Trace& trace, const Model& model, const std::string& path);

// The sidecar path trace_write uses for `path`.
std::string trace_sidecar_path(const std::string& path);

}  // namespace sonify

// Exported by the plugin with C linkage so dlsym finds it by this name: opens `model`,
// storing the runtime or the error in *out.
extern "C" void sonify_runtime_open(const sonify::Model* model, const sonify::RuntimeOptions* options,
                                    sonify::Result<std::unique_ptr<sonify::Runtime>>* out);
