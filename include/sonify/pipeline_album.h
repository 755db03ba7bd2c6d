// The album as one library call: one activation track per prompt of a list (MIDI, WAV,
// JSON, timing), then album.mid, album.wav (or a stereo WAV per pair in contrast mode)
// and manifest.json. Forward passes run one after another on one runtime; rendering, the
// slow part, runs on `jobs` threads, each render single-threaded, so any jobs value
// writes the same bytes. Finished tracks whose input hash matches the manifest are kept.
// Implemented in src/pipeline (sonify_pipeline).
#pragma once

#include <functional>
#include <string>

#include "sonify/pipeline_prompt.h"
#include "sonify/result.h"

namespace sonify {

struct AlbumRequest {
  ActivationRequest activation;   // activation.direction "" : DATA_DIR/../configs/contrast/calm-tense.json
  std::string file;               // one prompt a line (# comments) or JSON Lines {prompt, title, group}
  std::string out_dir = "album";  // created when missing
  // album (file order), dialogue (ordered by tension into calm → peak → resolution) or
  // contrast (consecutive prompts as A/B pairs of equal length).
  std::string mode = "album";
  int jobs = 1;
  double gap_seconds = 2.0;
  int stop_after = 0;   // for tests: stop as if killed after N finished tracks (0: never)
  bool report = false;  // then also OUT/index.html and a page per track (sonify/report.h)
  // Called after each finished track (from the thread that finished it, one call at a time).
  std::function<void(int done, int total)> on_progress;
};

struct AlbumRun {
  std::string manifest_path;
  int tracks = 0;                  // prompts in the list
  int done = 0;                    // tracks written or resumed
  int failures = 0;                // prompts that failed (listed in the manifest)
  double seconds = 0;              // album length without the trailing gap (0 in contrast mode)
  std::vector<std::string> pages;  // with report: index.html first, then the track pages
  std::vector<std::string> notes;  // what the pages say is missing
};

// Runs the album. A failing prompt does not stop the others: it is counted in `failures`
// and its error recorded in the manifest. Errors are for the album as a whole (bad mode,
// unreadable list, model, output directory).
Result<AlbumRun> run_album(const AlbumRequest& request);

}  // namespace sonify
