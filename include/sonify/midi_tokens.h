// MIDI as event tokens for music language models (issue 15): MidiTok's "MIDILike" scheme
// (NoteOn_p / NoteOff_p / TimeShift_b.p.r, optional Velocity_v and Program_p, PAD/BOS/EOS
// special tokens) on a fixed 16th-note grid, with a tokenizer file laid out like the one
// MidiTok's save_params() writes. Differences from MidiTok are listed in doc/midi-tokens.md.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sonify/result.h"
#include "sonify/score.h"

namespace sonify {

struct MidiTokenizerConfig {
  int steps_per_beat = 4;    // the grid: 4 = 16th notes
  int max_shift_steps = 32;  // TimeShift tokens for 1..32 steps; longer gaps repeat them
  int pitch_low = 0;         // NoteOn/NoteOff for pitch_low..pitch_high (inclusive)
  int pitch_high = 127;
  int velocities = 0;     // Velocity tokens (equal bins over 1..127); 0: none, notes play at 90
  bool programs = false;  // Program tokens before NoteOn (Program_-1 for drums); off: drums are left out
};

// What encoding dropped or changed, and what decoding repaired.
struct MidiTokenStats {
  std::int64_t notes = 0;             // notes written (encode) or read back (decode)
  std::int64_t out_of_range = 0;      // notes outside pitch_low..pitch_high (left out)
  std::int64_t drum_notes_left = 0;   // drum notes left out (programs off)
  std::int64_t truncated = 0;         // notes cut where the same pitch struck again before they ended
  std::int64_t orphan_note_offs = 0;  // decode: NoteOff with no sounding NoteOn (dropped)
  std::int64_t stuck_notes = 0;       // decode: notes still sounding at the end (closed there)
  std::int64_t ignored = 0;           // decode: tokens that mean nothing where they stand (PAD, a
                                      // second NoteOn of a pitch on one step, ...)
};

class MidiTokenizer {
 public:
  // Builds the vocabulary of `config`; fails on a config out of range.
  static Result<MidiTokenizer> create(const MidiTokenizerConfig& config);
  // Reads a tokenizer file written by to_json(). A file of another tokenization scheme, or
  // whose vocabulary does not match its config, is an error that says so.
  static Result<MidiTokenizer> parse(std::string_view json_text, const std::string& what);

  const MidiTokenizerConfig& config() const { return config_; }
  int vocab_size() const { return static_cast<int>(vocab_.size()); }
  const std::string& token(int id) const { return vocab_[static_cast<std::size_t>(id)]; }
  int id(std::string_view token) const;  // -1 when absent
  int pad_id() const { return 0; }
  int bos_id() const { return 1; }
  int eos_id() const { return 2; }

  // Quantises the score's notes to the grid and writes them as events: BOS, events in time
  // order (at one step: NoteOffs, then NoteOns, each by ascending pitch), EOS.
  std::vector<int> encode(const Score& score, MidiTokenStats* stats = nullptr) const;
  // Plays the tokens back into a valid score (one track per program, `bpm`): NoteOff
  // without its NoteOn is dropped and a note sounding at the end is closed one step after
  // its last event, both counted in `stats`. Ids outside the vocabulary are an error.
  Result<Score> decode(const std::vector<int>& ids, double bpm = 120, MidiTokenStats* stats = nullptr) const;

  // The tokenizer file: {"tokenization": "MIDILike", "config": {...}, "vocab": {token: id}, ...}.
  std::string to_json() const;

 private:
  MidiTokenizerConfig config_;
  std::vector<std::string> vocab_;
};

}  // namespace sonify
