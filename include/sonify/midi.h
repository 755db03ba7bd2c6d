// Standard MIDI Files: writing a Score as SMF type 1, and reading type 0 and 1 files
// from anyone into a list of timed events (what the renderer plays) or back into a Score.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sonify/result.h"
#include "sonify/score.h"

namespace sonify {

// One event of an SMF track at an absolute tick. Channel events keep their status byte
// (running status is resolved); meta events have status 0xFF and `meta` set; SysEx has
// status 0xF0 or 0xF7. `data` holds the channel event's 1-2 data bytes, or the meta or
// SysEx payload.
struct MidiEvent {
  std::int64_t tick = 0;
  std::uint8_t status = 0;
  std::uint8_t meta = 0;
  std::string data;

  bool is_channel() const { return status >= 0x80 && status < 0xF0; }
  int channel() const { return status & 0x0F; }
  int kind() const { return status & 0xF0; }  // 0x80 note off, 0x90 note on, 0xB0 CC, ...
  bool operator==(const MidiEvent& o) const;
};

// Meta event types used by sonify.
namespace meta {
constexpr std::uint8_t kText = 0x01;
constexpr std::uint8_t kTrackName = 0x03;
constexpr std::uint8_t kMarker = 0x06;
constexpr std::uint8_t kEndOfTrack = 0x2F;
constexpr std::uint8_t kTempo = 0x51;
constexpr std::uint8_t kTimeSignature = 0x58;
constexpr std::uint8_t kKeySignature = 0x59;
}  // namespace meta

// A parsed SMF: format 0 or 1, division in ticks per quarter note, and each track's
// events in file order (the end-of-track meta event included).
struct MidiFile {
  int format = 1;
  int ppq = kDefaultPpq;
  std::vector<std::vector<MidiEvent>> tracks;
};

// Tempo map of a MidiFile: tick-to-seconds through every tempo event of every track.
class MidiTempoMap {
 public:
  explicit MidiTempoMap(const MidiFile& file);
  double seconds_at(std::int64_t tick) const;

 private:
  struct Segment {
    std::int64_t tick;
    double seconds;
    double seconds_per_tick;
  };
  std::vector<Segment> segments_;
};

// The Score as an SMF type 1 file: a conductor track (title, tempo map, time and key
// signatures, markers), then one track per Score track (name, program change, controls,
// bends, notes; note-offs before note-ons at the same tick). Fails when the score does
// not validate or channels cannot be assigned. Same score, same bytes.
Result<MidiFile> midi_from_score(const Score& score);

// SMF bytes of `file` (no running status; end-of-track added where missing).
std::string midi_encode(const MidiFile& file);

// Writes the Score as an SMF type 1 file, atomically (no partial file on failure).
Status midi_write(const Score& score, const std::string& path);

// Parses SMF bytes. `name` prefixes error messages. Bad chunk lengths, truncated
// events, running status without a previous status, oversize variable-length numbers,
// SMPTE division and format 2 are errors; nothing is read out of bounds. Unknown
// chunks are skipped.
Result<MidiFile> midi_parse(std::string_view bytes, const std::string& name);

// Reads and parses a MIDI file.
Result<MidiFile> midi_read(const std::string& path);

// Seconds from the start to the last event of any track (end-of-track included).
double midi_length_seconds(const MidiFile& file);

// A Score from a parsed file: one Score track per (SMF track, channel) that has notes
// or controls, programs from the first program change, unmatched note-ons closed at
// the end. Loses what a Score cannot hold (SysEx, mid-track program changes).
Result<Score> score_from_midi(const MidiFile& file);

}  // namespace sonify
