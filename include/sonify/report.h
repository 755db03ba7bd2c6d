// `sonify report`: a page to see and hear what the model played. One self-contained,
// offline HTML file per run (inline CSS and JS, no external URL): an audio player, an SVG
// piano roll of the run's MIDI with section bands, bar lines and a playhead that follows
// the audio, provenance of every note and section, the prompt's words lit in time, and
// for weights runs a panel of the model's spectra, statistics, tension and key. Albums get
// an index page that links one page per track. Optionally the roll and the spectra as PNG.
#pragma once

#include <string>
#include <vector>

#include "sonify/result.h"

namespace sonify {

struct ReportOptions {
  // Path of the page to write. Empty: beside the run, DIR/NAME.html for a track and
  // DIR/index.html for an album (whose track pages are always DIR/track_NN.html).
  std::string output;
  // Puts the WAV inside the page as base64 instead of linking it by relative path.
  bool embed_audio = false;
  // Also writes the piano roll (NAME.roll.png, kReportRollPngWidth x kReportRollPngHeight)
  // and, for weights runs, the spectra (NAME.spectra.png, kReportSpectraPngWidth wide),
  // beside the page, drawn with cairo.
  bool png = false;
};

constexpr int kReportRollPngWidth = 1600;
constexpr int kReportRollPngHeight = 600;
constexpr int kReportSpectraPngWidth = 1600;

// What report_write did.
struct ReportOutput {
  std::string kind;                  // "weights", "prompt" or "album"
  std::vector<std::string> written;  // every file written, the main page first
  std::vector<std::string> notes;    // what a page says is missing (a WAV, the model's features)
};

// Writes the report of the run at `run_path`: a run's NAME.json (from `sonify weights` or
// `sonify prompt`), an album's manifest.json, or a directory holding exactly one of them
// (an album's manifest wins). Weights pages read the model's features through the analysis
// cache (analysing the model again when the cache has none). A missing WAV or model is not
// an error: the page says so and still shows the roll. A path without a run, a JSON of
// another kind, an unreadable MIDI file or an unwritable output is an error, and then no
// file is written.
Result<ReportOutput> report_write(const std::string& run_path, const ReportOptions& options);

}  // namespace sonify
