// `sonify train` as one library call: text files → a byte-level BPE tokenizer learned
// from the training split → a small GPT-2 or Llama trained by the libtorch plugin → an
// ordinary Hugging Face model directory (config.json, model.safetensors, tokenizer.json,
// tokenizer_config.json) plus training.json with the run's options and loss history.
// With `midi` instead of `corpus`, MIDI files become MIDILike event tokens
// (sonify/midi_tokens.h) and the directory holds midi_tokenizer.json and MODEL_CARD.md
// instead of the text tokenizer files.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "sonify/result.h"
#include "sonify/train.h"

namespace sonify {

struct TrainRunRequest {
  std::vector<std::string> corpus;  // UTF-8 text files, one document per non-blank line
  // MIDI files and folders (searched recursively; files that do not parse as MIDI are
  // skipped and counted, a named file that does not is an error). Exclusive with corpus.
  std::vector<std::string> midi;
  std::string out;            // the model directory to write; missing parents are created
  TrainConfig config;         // vocab, bos_id and eos_id are set from the tokenizer
  int vocab_size = 1024;      // BPE vocabulary size including the 256 bytes and <|endoftext|>
  double val_fraction = 0.1;  // share of documents held out, in (0, 0.5)
  bool force = false;         // replace an existing, non-empty `out`
  std::string save_check;     // when set, also write the in-memory logits on the first
                              // validation tokens here (safetensors), for the reload test
  // Called after every step, and with `eval` after every evaluation.
  std::function<void(int step, double loss, double tokens_per_second, const TrainEval* eval)> progress;
  const std::atomic<bool>* stop =
      nullptr;  // when it becomes true, training stops and what was trained is saved
};

// The figures of a finished run (also in training.json).
struct TrainRun {
  std::int64_t parameters = 0;
  int steps = 0;  // requested
  int steps_done = 0;
  bool interrupted = false;
  double seconds = 0;
  double tokens_per_second = 0;
  int threads = 0;
  std::string blas;             // the BLAS in use, e.g. "openblas"
  double final_val_loss = 0;    // nats per token
  double unigram_val_loss = 0;  // the baseline: the training tokens' unigram distribution
  double bigram_val_loss = 0;   // the stronger baseline: a smoothed bigram of the training tokens
  int midi_files = 0;           // MIDI runs: files read
  int midi_skipped = 0;         // MIDI runs: files in the folders that were not MIDI
};

// The seed's shape for MIDI event models (issue 15): 3 layers, width 128, 4 heads,
// context 256, 1200 steps, set in `config` for each of --layers, --dim, --heads,
// --context and --steps for which `given(option)` is false.
void midi_train_defaults(TrainConfig* config, const std::function<bool(const char* option)>& given);

// Names of the files a MIDI model directory holds besides config.json and the weights.
inline constexpr const char* kMidiTokenizerFile = "midi_tokenizer.json";

// Trains and writes `request.out` atomically: everything goes into a temporary directory
// beside it that is renamed into place at the end. Bad options, an unusable output
// path and corpus problems are refused before training starts; any failure leaves no
// output directory behind.
Result<TrainRun> run_train(const TrainRunRequest& request);

}  // namespace sonify
