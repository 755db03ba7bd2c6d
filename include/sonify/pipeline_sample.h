// `sonify sample` as one library call: a MIDI event model (trained by `sonify train
// --midi`, with midi_tokenizer.json) continues from BOS with the runtime's KV cache until
// the requested length, and the tokens are played back as DIR/NAME.mid, NAME.wav and
// NAME.json, committed together.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sonify/result.h"

namespace sonify {

struct SampleRequest {
  std::string model_path;  // a model directory with midi_tokenizer.json
  double seconds = 30;     // music to sample, in (0, 600]
  double temperature = 0.9;
  int top_k = 40;  // 0: the whole vocabulary
  std::uint64_t seed = 0;
  // Pieces to sample, with seeds seed, seed + 1, ...: one is NAME.*, more are NAME-SEED.*,
  // each the same bytes as its own run with that seed, all committed or none.
  int count = 1;
  std::string out_dir = ".";
  std::string name = "sample";
  // Mask, before each draw, the tokens that would mean nothing where they stand (a NoteOff
  // of a silent pitch, a second strike of a pitch on one step) instead of repairing them
  // afterwards. Off by default: on midi-bach it halves the notes and thins four parts to
  // about one (the mass of a masked NoteOff mostly goes to TimeShifts).
  bool constrain = false;
  bool midi_only = false;  // no WAV; a WAV left by an earlier run is removed
  std::string soundfont;   // "" = $SONIFY_SOUNDFONT, then the system's GM soundfont
  int threads = 0;         // 0: all cores
};

// Totals over the pieces when count > 1.
struct SampleRun {
  std::vector<std::string> files;  // the committed paths
  std::int64_t tokens = 0;         // sampled, BOS not counted
  std::int64_t notes = 0;
  std::int64_t window_shifts = 0;  // times the context was full and the cache re-filled
  std::int64_t repairs = 0;        // orphan NoteOffs, stuck notes, ignored tokens, same-step re-strikes
  double length_seconds = 0;
  double sampling_seconds = 0;
};

// Refuses a model without a MIDI tokenizer (a text model), a tokenizer file of another
// scheme, a length outside (0, 600] s and bad sampling settings with one line, before
// anything is written. Sampling is deterministic: same model, settings and seed give
// the same MIDI bytes. Tokens that make no sense where they stand are repaired as the
// tokenizer's decode does and counted in NAME.json, so the MIDI is always valid.
Result<SampleRun> run_sample(const SampleRequest& request);

}  // namespace sonify
