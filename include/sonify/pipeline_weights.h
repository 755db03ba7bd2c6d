// The weights track as one library call: a model's frozen weights, analysed (through the
// features cache), composed by a genre, rendered, and committed as DIR/GENRE.mid,
// DIR/GENRE.wav and DIR/GENRE.json (identity, options, key, sections, provenance), which
// appear together or not at all.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "sonify/analysis.h"
#include "sonify/result.h"

namespace sonify {

// A step of a run that can take seconds, for a progress line: `verb` ("analysing",
// "hashing", "rendering") `done` of `total` `unit`s, and `work`, the fraction of the step's
// work done (units may differ in cost).
struct StepProgress {
  const char* verb;
  const char* unit;
  std::size_t done;
  std::size_t total;
  double work;
};

struct WeightsRequest {
  std::string model_path;           // a Hugging Face model directory or a .safetensors file
  std::string genre;                // a name from all_genres()
  std::vector<std::string> sets;    // "key=value" parameter overrides, validated by the registry
  std::string genre_config_dir;     // where GENRE.json overrides are looked for ("" = none)
  std::string out_dir = ".";        // created when missing
  bool midi_only = false;           // no WAV; a WAV left by an earlier run is removed
  std::string soundfont;            // "" = $SONIFY_SOUNDFONT, then the system's GM soundfont
  bool report = false;              // then also DIR/GENRE.html, the run's page (sonify/report.h)
  SvdMethod svd = SvdMethod::Auto;  // how the analysis computes singular values (recorded unless auto)
  // Called as the analysis, the hashing of the weight files and the rendering advance, from
  // one thread at a time; may be empty.
  std::function<void(const StepProgress&)> progress;
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

// Many checkpoints, one genre (a training run's checkpoints, a model family), spread over
// machines: a list file with one model per line (a directory, a .safetensors file or
// ORG/NAME[@REVISION] in the Hugging Face cache; blank lines and # comments skipped). Entry
// i (counting models only, so appending lines never moves one) belongs to shard i % N and
// is written as the set OUT/NNN-NAME/GENRE.*; a shard records what it did in
// OUT/weights-shard-K-of-N.json once all its entries ran. A failing model is recorded and
// the others still run.
struct WeightsListRequest {
  std::string list_path;
  int shard = 0;        // K, 0 <= K < shards
  int shards = 1;       // N
  WeightsRequest base;  // genre, options and out_dir; model_path is ignored
  // Called after each model of this shard (done of total); may be empty.
  std::function<void(int done, int total)> on_progress;
};

struct WeightsListRun {
  std::size_t total = 0;  // models in the list
  std::size_t done = 0;   // of this shard
  std::size_t failed = 0;
  std::vector<std::string> errors;  // "NNN-NAME: message"
  std::string manifest;             // the shard's JSON file
};

Result<WeightsListRun> run_weights_list(const WeightsListRequest& request);

// Checks that every shard of OUT is present, ran the same list, genre and options and
// finished every entry without error, then writes OUT/index.json (every model in list order
// with its directory, files, key, tempo and length): the same bytes however many shards
// made it. Returns the index's path. Any gap is one line naming the shard or entry.
Result<std::string> merge_weights_list(const std::string& out_dir, const std::string& genre);

// Runs the whole track. Every error (unknown genre or parameter, unreadable model, a
// failed render, an unwritable directory) comes back as one line and leaves no file of
// the set behind; an earlier run's complete set in DIR stays untouched on failure.
Result<WeightsRun> run_weights(const WeightsRequest& request);

}  // namespace sonify
