// The album as one library call: one activation track per prompt of a list (MIDI, WAV,
// JSON, timing), then album.mid, album.wav (or a stereo WAV per pair in contrast mode)
// and manifest.json. Forward passes run one after another on one runtime; rendering, the
// slow part, runs on `jobs` threads, each render single-threaded, so any jobs value
// writes the same bytes. Finished tracks whose input hash matches the manifest are kept.
// For many machines (doc/batch.md): `prepare` fits the caches and the album plan once,
// each `shard` renders its part of the list into the shared directory, and merge_album
// writes what one machine would have written, byte for byte.
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
  // album: one album gain so the whole album measures -14 LUFS (EBU R128) and the tracks
  // keep their relative loudness, every track and album.wav true-peak limited to -1 dBTP
  // (4x oversampled); the manifest reports both. per-track: each track peak-normalised
  // alone (a quiet prompt comes out as loud as a climax). Contrast mode is per-track.
  std::string master = "album";
  int stop_after = 0;   // for tests: stop as if killed after N finished tracks (0: never)
  bool report = false;  // then also OUT/index.html and a page per track (sonify/report.h)
  // Sharding (--shard K/N, 0 <= K < N): this run renders the prompts whose index i
  // (0-based, counting the list's prompts, not its comment or blank lines) has i % N == K,
  // and writes OUT/shard-K-of-N.json instead of manifest.json and the album. A prompt's
  // shard never changes when lines are appended to the list. shards 1: the whole album.
  int shard = 0;
  int shards = 1;
  bool prepare = false;  // only fit the caches and write OUT/album-plan.json
  std::string version;   // sonify's version, recorded so merge can refuse mixed builds
  // Called after each finished track (from the thread that finished it, one call at a time).
  std::function<void(int done, int total)> on_progress;
};

struct AlbumRun {
  std::string manifest_path;
  int tracks = 0;                  // prompts in the list
  int done = 0;                    // tracks written or resumed
  int failures = 0;                // prompts that failed (listed in the manifest)
  int kept = 0;                    // tracks resumed from an earlier run (of `done`)
  int redone = 0;                  // rendered again: inputs changed or files missing/unreadable
  double seconds = 0;              // album length without the trailing gap (0 in contrast mode)
  std::vector<std::string> pages;  // with report: index.html first, then the track pages
  std::vector<std::string> notes;  // what the pages say is missing
};

// Runs the album. A failing prompt does not stop the others: it is counted in `failures`
// and its error recorded in the manifest. Errors are for the album as a whole (bad mode,
// unreadable list, model, output directory).
Result<AlbumRun> run_album(const AlbumRequest& request);

// "K/N" as given to --shard: N in 1..100000, K in 0..N-1.
Status parse_shard(const std::string& text, int* shard, int* shards);

// Merges the shard manifests in `dir` (every shard-K-of-N.json for one N) into
// manifest.json, album.mid and album.wav (pair WAVs in contrast mode), the same bytes a
// single `-j 1` run writes. Refuses, naming the shard or track, when a shard is missing
// or unfinished, when shards disagree on sonify version, list, model, options or mode,
// or when a track's files are missing or differ from what its shard recorded.
struct AlbumMergeRequest {
  std::string dir;
  std::string version;  // this binary's: shards written by another version are refused
  bool report = false;
};
Result<AlbumRun> merge_album(const AlbumMergeRequest& request);

}  // namespace sonify
