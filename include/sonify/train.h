// Training a small decoder-only transformer on a token stream. The training itself runs
// in the libtorch plugin (libsonify_torch.so); this header has no torch types, so the
// CLI can describe a run and receive the trained weights as plain buffers.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "sonify/result.h"

namespace sonify {

// Hyper-parameters of one training run. Defaults train a ~2 M-parameter GPT-2.
struct TrainConfig {
  std::string arch = "gpt2";  // "gpt2" or "llama"
  int layers = 4;
  int dim = 192;
  int heads = 6;
  int context = 128;
  int vocab = 0;  // set from the tokenizer
  int steps = 1000;
  int batch = 16;
  double lr = 3e-3;           // peak learning rate
  int warmup = 0;             // 0: 5% of the steps
  double min_lr_ratio = 0.1;  // cosine decays to lr * min_lr_ratio
  double weight_decay = 0.1;  // AdamW, matrices only (not biases, norms)
  double grad_clip = 1.0;     // global L2 norm
  int eval_every = 0;         // 0: 20 evaluations over the run
  int eval_batches = 8;
  std::uint64_t seed = 0;
  int threads = 0;  // 0: all cores
  double norm_eps = 1e-5;
  double rope_theta = 10000.0;  // llama only
  int bos_id = 0;               // written into config.json
  int eos_id = 0;
};

// One evaluation point.
struct TrainEval {
  int step = 0;
  double train_loss = 0;  // mean over the steps since the last evaluation
  double val_loss = 0;
  double lr = 0;
  double seconds = 0;  // wall time since the start
};

// A trained tensor in Hugging Face layout and naming, float32, row-major.
struct NamedTensor {
  std::string name;
  std::vector<std::int64_t> shape;
  std::vector<float> data;
};

struct TrainResult {
  std::vector<NamedTensor> tensors;
  std::vector<TrainEval> history;
  int steps_done = 0;
  bool interrupted = false;  // stopped early by the stop flag (Ctrl-C)
  double seconds = 0;
  double tokens_per_second = 0;
  std::int64_t parameters = 0;
  int threads = 0;
  // Logits of the trained model at every position of `check_ids` [T * vocab], computed
  // in memory before the weights leave the plugin (the reload test compares them).
  std::vector<float> check_logits;
};

// What the plugin needs besides the configuration: token streams, a progress callback
// (called after every step and evaluation), and a flag that stops the run early.
struct TrainRequest {
  TrainConfig config;
  std::vector<std::int32_t> train_ids;
  std::vector<std::int32_t> val_ids;
  std::vector<std::int32_t> check_ids;
  std::function<void(int step, double loss, double tokens_per_second, const TrainEval* eval)> progress;
  const std::atomic<bool>* stop = nullptr;
};

using TrainFunction = Result<TrainResult> (*)(const TrainRequest&);

}  // namespace sonify

// Exported by the plugin with C linkage so dlsym finds it by this name.
extern "C" sonify::Result<sonify::TrainResult> sonify_torch_train(const sonify::TrainRequest& request);
