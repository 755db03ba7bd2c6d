// What `sonify prompt` and `sonify album` share: an opened model with its runtime,
// tokenizer, detected key, reference PCA and optional contrast direction (both cached
// under $XDG_CACHE_HOME/sonify/activation), and making one track from one prompt.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "prompt_input.h"
#include "sonify/activation.h"
#include "sonify/model.h"
#include "sonify/render.h"
#include "sonify/runtime.h"
#include "sonify/tokenizer.h"

namespace sonify::cli {

// Options shared by prompt and album.
struct ActivationOptions {
  std::string model;
  std::string style = "voices";
  std::string direction;                  // contrast pair file, "" for none
  std::string direction_method = "mean";  // pc1 or mean
  std::string corpus;                     // "" : data/corpus/sentences.txt
  std::string layers;                     // "a,b,c" hidden-state indices, "" : default_voices
  std::string programs;                   // "a,b,c" GM programs, "" : flute, clarinet, strings
  int pca_sentences = 512;
  int pca_stride = 15;
  int threads = 0;
  bool no_cache = false;
  bool midi_only = false;
  unsigned long long seed = 0;
  bool replace_invalid = false;
};

// The opened model and everything fitted for it.
struct ActivationSession {
  ActivationOptions options;
  std::string model_path;
  std::unique_ptr<Model> model;
  std::optional<Tokenizer> tokenizer;
  std::unique_ptr<Runtime> runtime;
  int root_midi = 48;
  std::string mode = "natural_minor";
  std::string key_source;
  std::vector<VoiceSpec> voices;
  ReferencePca pca;
  std::string pca_cache;  // where the PCA was read or written ("" with --no-cache)
  bool pca_from_cache = false;
  std::optional<ContrastDirection> direction;
  std::string direction_path;
  bool direction_from_cache = false;
};

// Adds the shared options to a command.
void add_activation_options(CLI::App* cmd, ActivationOptions* o);

// Opens the model, its runtime and tokenizer, detects the key, loads or fits the PCA
// (and the direction when asked).
Result<std::unique_ptr<ActivationSession>> activation_open(const ActivationOptions& options);

// The per-track choices a caller may override (album groups).
struct TrackSettings {
  std::optional<int> root_midi;
  std::optional<std::string> mode;
  std::optional<double> bpm;
};

// What one track produced.
struct TrackResult {
  ActivationTrack track;
  std::string provenance_json;
  std::string timing_json;
  double tension = 0;  // 0 without a direction
  int root_midi = 0;
  std::string mode;
  double bpm = 0;
};

// Runs `text` through the model and composes it (no files written).
Result<TrackResult> activation_compose(ActivationSession& session, const std::string& text,
                                       const TrackSettings& settings);

// Writes DIR/NAME.mid, .json, .timing.json and (unless midi_only) .wav, rendered with
// `render_threads` synth threads (0: one per CPU; the audio does not depend on it).
Status activation_write(const TrackResult& result, const std::string& dir, const std::string& name,
                        bool midi_only, int render_threads);

// A file name from the first words of a prompt ("once-upon-a-time").
std::string prompt_slug(const std::string& text);

}  // namespace sonify::cli
