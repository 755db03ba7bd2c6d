// tokenize, trace and generate as library calls: the prompt resolved on the one path
// every model-running command shares (sonify/pipeline_tokens.h), then the tokenizer, one
// forward pass saved to safetensors, or a continuation. Implemented in src/pipeline
// (sonify_pipeline).
#pragma once

#include <csignal>
#include <cstdint>
#include <string>
#include <vector>

#include "sonify/pipeline_tokens.h"
#include "sonify/result.h"
#include "sonify/runtime.h"

namespace sonify {

// The prompt as the model-running commands will see it.
struct TokenizeRequest {
  std::string model_path;      // "" : only tokenizer_path (no vocabulary or context limit)
  std::string tokenizer_path;  // "" : the model's tokenizer.json
  PromptOptions prompt;
};

struct TokenizeRun {
  std::string source;     // the tokenizer file, or the model it came with
  std::string tokenizer;  // Tokenizer::describe(), "" when there is none (ids only)
  int context = 0;        // the model's context length, 0 when unknown
  PromptTokens tokens;
};

// Loads the tokenizer (and the model's config.json for its limits) and resolves the prompt.
Result<TokenizeRun> run_tokenize(const TokenizeRequest& request);

// One forward pass saved as OUT (safetensors, TransformerLens hook names) and its JSON
// sidecar (OUT with the extension .json), both or neither.
struct TraceRequest {
  std::string model_path;
  PromptOptions prompt;
  std::string out;                               // a file name with an extension other than .json
  std::string capture = "embed,resid,attn,mlp";  // comma-separated, or "none"
  std::string logits = "last";                   // all, last or none
  int top_k = 0;                                 // most likely next tokens to report
  int threads = 0;                               // 0: all cores
  // Non-finite logits (damaged weights) are refused with one line and nothing written,
  // unless this is set: the trace is then kept, since it shows where NaN first appears.
  bool allow_nonfinite = false;
};

struct TopToken {
  std::int64_t id = 0;
  std::string text;  // decoded, "" without a tokenizer
  double logit = 0;
  double prob = 0;
};

struct TraceRun {
  std::string out;
  std::string sidecar;
  std::vector<std::int64_t> ids;
  std::vector<std::string> pieces;  // empty without a tokenizer
  int threads = 0;
  double load_seconds = 0;
  double forward_seconds = 0;
  double write_seconds = 0;
  std::vector<TopToken> top;  // by logit, lower id first on ties
  std::vector<std::string> notes;
};

// Refuses a bad capture list or an unwritable output before the forward pass.
Result<TraceRun> run_trace(const TraceRequest& request);

// generate --monitor (the notebooks' §20): each generated token sounded as it comes, by
// the FM voice of sonify/synth.h, one block of audio per token written and flushed before
// the next token is computed.
struct MonitorRequest {
  std::string wav;   // "" : no monitor; "-" : stdout; else a .wav file (with NAME.json beside it)
  std::string json;  // with "-": where the token record goes ("" : none)
  // A contrast pair file: each token's score is the tension of its hidden states along the
  // set's direction (as prompt --direction measures a prompt). "" : the score is the
  // token's surprisal relative to a uniform guess.
  std::string direction;
  double step_seconds = 0.2;  // audio per token
  // Set by the caller (a SIGINT handler) to stop after the token being sounded; the WAV
  // and the record are then finished as after a normal end.
  const volatile std::sig_atomic_t* stop = nullptr;
};

// A continuation of the prompt, greedy or seeded sampling, with a KV cache.
struct GenerateRequest {
  std::string model_path;
  PromptOptions prompt;
  GenerateOptions options;
  int threads = 0;
  MonitorRequest monitor;
};

struct GenerateRun {
  std::vector<std::int64_t> prompt_ids;
  Generation generation;
  bool has_tokenizer = false;
  std::string prompt_text;  // decoded prompt, "" without a tokenizer
  std::string text;         // decoded continuation
  std::string full_text;    // prompt and continuation decoded together (spacing comes out right)
  std::vector<std::string> notes;
  std::string monitor_json;    // the token record written, "" for none
  double monitor_seconds = 0;  // audio written by the monitor
};

Result<GenerateRun> run_generate(const GenerateRequest& request);

}  // namespace sonify
