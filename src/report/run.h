// Finding a run on disk and telling its kind from its JSON: a weights or prompt track's
// NAME.json (with NAME.mid, NAME.wav and, for prompts, NAME.timing.json beside it) or an
// album's manifest.json.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "sonify/result.h"

namespace sonify::report {

enum class RunKind { Weights, Prompt, Album };

// "weights", "prompt", "album".
const char* run_kind_name(RunKind kind);

struct Run {
  RunKind kind = RunKind::Weights;
  std::string dir;   // the directory holding the run's files
  std::string name;  // NAME (the stem of NAME.json), "manifest" for an album
  std::string json_path;
  nlohmann::json json;  // NAME.json or manifest.json

  // DIR/NAME + ext.
  std::string file(const std::string& ext) const { return dir + "/" + name + ext; }
};

// The kind of a parsed JSON, or an error naming what it is instead (a features file, a
// timing file, something else). `path` names it in the message.
Result<RunKind> run_kind_of(const nlohmann::json& j, const std::string& path);

// The run at `path`: a NAME.json or manifest.json, or a directory with an album's
// manifest.json or exactly one run's NAME.json.
Result<Run> run_locate(const std::string& path);

// Seconds of audio in a PCM or float WAV file (from its header), or an error.
Result<double> wav_seconds(const std::string& path);

}  // namespace sonify::report
