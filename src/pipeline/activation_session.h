// What run_prompt and run_album share: an opened model with its runtime, tokenizer,
// detected key, reference PCA and optional contrast direction (both cached under
// $XDG_CACHE_HOME/sonify/activation), making one track from one prompt, and writing it.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sonify/activation.h"
#include "sonify/model.h"
#include "sonify/pipeline_prompt.h"
#include "sonify/runtime.h"
#include "sonify/tokenizer.h"

namespace sonify::pipeline {

// The opened model and everything fitted for it.
struct ActivationSession {
  ActivationRequest request;
  std::unique_ptr<Model> model;
  std::optional<Tokenizer> tokenizer;
  std::unique_ptr<Runtime> runtime;
  int root_midi = 48;
  std::string mode = "natural_minor";
  std::string key_source;
  std::vector<VoiceSpec> voices;
  ReferencePca pca;
  std::string pca_cache;  // where the PCA was read or written ("" with no_cache)
  std::optional<ContrastDirection> direction;
};

// Tracks measure tension by default: an empty direction becomes the bundled pair file
// DATA_DIR/../configs/contrast/calm-tense.json when it exists.
void default_direction(ActivationRequest* request);

// Opens the model, its runtime and tokenizer, detects the key, loads or fits the PCA
// (and the direction when asked).
Result<std::unique_ptr<ActivationSession>> activation_open(const ActivationRequest& request);

// The per-track choices a caller may override (--key/--mode/--tempo, album groups).
struct TrackSettings {
  std::optional<int> root_midi;
  std::optional<std::string> mode;
  std::optional<double> bpm;
};

// What one track produced.
struct TrackResult {
  std::string text;  // the prompt's text (decoded when it came as ids)
  ActivationTrack track;
  std::string provenance_json;
  std::string timing_json;
  double tension = 0;  // 0 without a direction
  double motion = 0;   // prompt_motion
  std::string mode_source;
  std::string tempo_source;
  int root_midi = 0;
  std::string mode;
  double bpm = 0;
  std::vector<std::string> notes;  // from resolving the prompt
};

// Runs the prompt (text or ids, with the request's prompt flags) through the model and
// composes it; nothing is written.
Result<TrackResult> activation_compose(ActivationSession& session, const PromptOptions& prompt,
                                       const TrackSettings& settings);

// The prompt options for one text of an album, with the request's flags.
PromptOptions prompt_of_text(const ActivationRequest& request, const std::string& text);

// Writes DIR/NAME.mid, .wav (unless midi_only), .timing.json and .json as one OutputSet,
// rendered with `render_threads` synth threads (0: one per CPU).
Status activation_write(const TrackResult& result, const std::string& dir, const std::string& name,
                        bool midi_only, int render_threads);

}  // namespace sonify::pipeline
