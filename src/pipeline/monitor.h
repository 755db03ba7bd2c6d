// generate --monitor's session (sonify/pipeline_run.h MonitorRequest): the WAV stream, the
// per-token score and the record, driven by generate()'s TokenObserver.
#pragma once

#include <memory>
#include <optional>

#include "sonify/pipeline_run.h"
#include "sonify/runtime.h"
#include "sonify/tokenizer.h"

namespace sonify::pipeline {

class Monitor {
 public:
  // Refuses a bad output name before anything runs.
  static Status check(const MonitorRequest& request);

  // Fits the direction when asked for and opens the WAV (its header is written at once).
  static Result<std::unique_ptr<Monitor>> open(const MonitorRequest& request, Runtime& runtime,
                                               const std::optional<Tokenizer>& tokenizer,
                                               const std::vector<std::int64_t>& prompt_ids);
  virtual ~Monitor() = default;

  // Sounds each token: its score, its block of audio written and flushed.
  virtual TokenObserver observer() = 0;

  // The voice's release, the WAV's sizes, the record; then the files are put in place.
  virtual Status finish(const GenerateRun& run, const std::string& model_path) = 0;

  // Audio written so far.
  virtual double seconds() const = 0;
};

}  // namespace sonify::pipeline
