// The weights track as one library call: a model's frozen weights, analysed (through the
// features cache), composed by a genre, rendered, and committed as DIR/GENRE.mid,
// DIR/GENRE.wav and DIR/GENRE.json (identity, options, key, sections, provenance), which
// appear together or not at all.
#pragma once

#include <string>
#include <vector>

#include "sonify/result.h"

namespace sonify {

struct WeightsRequest {
  std::string model_path;         // a Hugging Face model directory or a .safetensors file
  std::string genre;              // a name from all_genres()
  std::vector<std::string> sets;  // "key=value" parameter overrides, validated by the registry
  std::string genre_config_dir;   // where GENRE.json overrides are looked for ("" = none)
  std::string out_dir = ".";      // created when missing
  bool midi_only = false;         // no WAV; a WAV left by an earlier run is removed
  std::string soundfont;          // "" = $SONIFY_SOUNDFONT, then the system's GM soundfont
  bool report = false;            // then also DIR/GENRE.html, the run's page (sonify/report.h)
};

// Wall-clock seconds of each stage; recorded in the JSON, not part of the music.
struct WeightsTimings {
  double analysis = 0;
  double hash = 0;
  double composition = 0;
  double rendering = 0;
  double total = 0;
};

// What a committed run wrote, for the caller to report.
struct WeightsRun {
  std::string genre;
  std::string key_root;  // "F", or "?" when the genre wrote no sections
  std::string key_mode;  // "phrygian", or ""
  double tempo_bpm = 0;
  double length_seconds = 0;
  std::size_t sections = 0;
  std::vector<std::string> files;     // the committed paths: .mid, .wav (unless midi_only), .json (, .html)
  std::vector<std::string> warnings;  // from the genre, also in the JSON
  std::vector<std::string> notes;     // what the report page says is missing (with report)
  bool analysis_from_cache = false;
  WeightsTimings seconds;
};

// Runs the whole track. Every error (unknown genre or parameter, unreadable model, a
// failed render, an unwritable directory) comes back as one line and leaves no file of
// the set behind; an earlier run's complete set in DIR stays untouched on failure.
Result<WeightsRun> run_weights(const WeightsRequest& request);

}  // namespace sonify
