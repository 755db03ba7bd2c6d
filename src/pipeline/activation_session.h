// What run_prompt and run_album share: an opened model with its runtime, tokenizer,
// detected key, reference PCA and optional contrast direction (both cached under
// $XDG_CACHE_HOME/sonify/activation), making one track from one prompt, and writing it.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sonify/activation.h"
#include "sonify/midi_tokens.h"
#include "sonify/model.h"
#include "sonify/pipeline_prompt.h"
#include "sonify/runtime.h"
#include "sonify/tokenizer.h"

namespace sonify::pipeline {

// The opened model and everything fitted for it.
struct ActivationSession {
  ActivationRequest request;
  std::unique_ptr<Model> model;
  std::optional<Tokenizer> tokenizer;  // a text model's
  std::optional<MidiTokenizer> midi;   // a MIDI event model's (prompt --midi-prompt)
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
// (and the direction when asked). `midi_prompt`: the prompts come as MIDI files, so the
// model must be a MIDI event model (its PCA fitted on its own samples); without it, a MIDI
// event model is refused in one line.
Result<std::unique_ptr<ActivationSession>> activation_open(const ActivationRequest& request,
                                                           bool midi_prompt = false);

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

// A prompt of a MIDI event model: its source file (recorded in the provenance).
struct MidiPromptRecord {
  std::string path;
  std::string sha256;
  std::int64_t notes = 0;
  MidiTokenStats stats;
};

// activation_compose for tokens already resolved (a MIDI prompt: `midi` says where from).
Result<TrackResult> activation_compose_tokens(ActivationSession& session, PromptTokens tokens,
                                              const TrackSettings& settings, const MidiPromptRecord* midi);

// The prompt options for one text of an album, with the request's flags.
PromptOptions prompt_of_text(const ActivationRequest& request, const std::string& text);

// Writes DIR/NAME.mid, .wav (unless midi_only), .timing.json and .json as one OutputSet,
// rendered with `render_threads` synth threads (0: one per CPU).
Status activation_write(const TrackResult& result, const std::string& dir, const std::string& name,
                        bool midi_only, int render_threads);

}  // namespace sonify::pipeline
