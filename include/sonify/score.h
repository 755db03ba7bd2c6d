// The Score: what every genre produces and what the MIDI writer and the renderer
// consume. Times are in ticks (ppq ticks per quarter note); a tempo map turns them into
// seconds. A plain value: copy it, compare it, build it up with the helpers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sonify/result.h"
#include "sonify/scale.h"

namespace sonify {

// Ticks per quarter note unless a Score says otherwise.
constexpr int kDefaultPpq = 480;
// The General MIDI drum channel, 0-based (channel 10 to a musician).
constexpr int kDrumChannel = 9;

// Controller numbers the genres use (MIDI 1.0 and GM2 assignments).
namespace cc {
constexpr int kModulation = 1;
constexpr int kPortamentoTime = 5;  // glide time; FluidSynth honours it with kPortamento on
constexpr int kVolume = 7;
constexpr int kPan = 10;  // 0 left, 64 centre, 127 right
constexpr int kExpression = 11;
constexpr int kSustain = 64;
constexpr int kPortamento = 65;  // >= 64 on
constexpr int kResonance = 71;   // 64 neutral; the renderer maps it to filter Q
constexpr int kRelease = 72;
constexpr int kAttack = 73;
constexpr int kCutoff = 74;             // 64 neutral; the renderer maps it to filter cutoff
constexpr int kPortamentoControl = 84;  // source pitch of the next note's glide
constexpr int kReverbSend = 91;
constexpr int kChorusSend = 93;
}  // namespace cc

// GM percussion keys (channel 10).
namespace drum {
constexpr int kKick = 36;
constexpr int kRim = 37;
constexpr int kSnare = 38;
constexpr int kClap = 39;
constexpr int kClosedHat = 42;
constexpr int kLowTom = 45;
constexpr int kOpenHat = 46;
constexpr int kCrash = 49;
constexpr int kHighTom = 50;
constexpr int kRide = 51;
}  // namespace drum

// A sounding note: key down at start_ticks for length_ticks (> 0).
struct Note {
  std::int64_t start_ticks = 0;
  std::int64_t length_ticks = 0;
  int pitch = 60;     // 0..127
  int velocity = 80;  // 1..127
  bool operator==(const Note& o) const;
};

// A controller change (controller 0..127, value 0..127).
struct ControlChange {
  std::int64_t tick = 0;
  int controller = 0;
  int value = 0;
  bool operator==(const ControlChange& o) const;
};

// A pitch-bend value, -8192..8191 (0 is no bend; range ±2 semitones by default).
struct PitchBend {
  std::int64_t tick = 0;
  int value = 0;
  bool operator==(const PitchBend& o) const;
};

// One instrument part. Melodic tracks play GM `program` (0-based); drum tracks play
// the GM kit `program` (0 = Standard) on channel 10.
struct Track {
  std::string name;
  int program = 0;  // 0..127
  bool drums = false;
  int channel = -1;  // 0..15, or -1 to let assign_channels() choose
  std::vector<Note> notes;
  std::vector<ControlChange> controls;
  std::vector<PitchBend> bends;

  // Appends a note; pitch is clamped into 0..127 and velocity into 1..127 as pretty_midi
  // did, a non-positive length becomes 1 tick.
  void note(std::int64_t start_ticks, std::int64_t length_ticks, int pitch, int velocity);
  // Appends a controller change (values clamped to 0..127).
  void control(std::int64_t tick, int controller, int value);
  // Appends a pitch bend (clamped to -8192..8191).
  void bend(std::int64_t tick, int value);
  // Sets the pitch-bend range to ±semitones (RPN 0: CC101 0, CC100 0, CC6 n, CC38 0,
  // then RPN null 127/127) so slides wider than the default ±2 semitones work.
  void bend_range(std::int64_t tick, int semitones);
  bool operator==(const Track& o) const;
};

// Tempo from `tick` on, in microseconds per quarter note (the SMF unit, exact).
struct TempoChange {
  std::int64_t tick = 0;
  int us_per_quarter = 500000;
  double bpm() const { return 60e6 / us_per_quarter; }
  bool operator==(const TempoChange& o) const;
};

// Time signature from `tick` on, e.g. 6/8 is {tick, 6, 8}; denominator a power of two.
struct TimeSignature {
  std::int64_t tick = 0;
  int numerator = 4;
  int denominator = 4;
  bool operator==(const TimeSignature& o) const;
};

// Key signature: sharps (positive) or flats (negative), -7..7, and major/minor.
struct KeySignature {
  std::int64_t tick = 0;
  int sharps = 0;
  bool minor = false;
  bool operator==(const KeySignature& o) const;
};

// A named point, e.g. the start of a section ("drop", "layer 3").
struct Marker {
  std::int64_t tick = 0;
  std::string text;
  bool operator==(const Marker& o) const;
};

struct Score {
  std::string title;
  int ppq = kDefaultPpq;
  std::vector<TempoChange> tempos;  // empty means 120 BPM
  std::vector<TimeSignature> time_signatures;
  std::vector<KeySignature> key_signatures;
  std::vector<Marker> markers;
  std::vector<Track> tracks;

  // Ticks for a length in quarter notes (beats), rounded to the nearest tick.
  std::int64_t ticks(double beats) const;
  // Sets a tempo from `tick` on (replacing one at the same tick).
  void set_tempo(std::int64_t tick, double bpm);
  // Adds a melodic track and returns its index (references into tracks move on growth).
  int add_track(std::string name, int program);
  // Adds a drum track (GM kit `kit`, 0 = Standard) and returns its index.
  int add_drum_track(std::string name, int kit = 0);
  // Adds a section marker.
  void mark(std::int64_t tick, std::string text);
  // The tick after the last note ends (or the last event, whichever is later).
  std::int64_t end_ticks() const;
  // Seconds from the start to `tick` through the tempo map.
  double seconds_at(std::int64_t tick) const;
  // seconds_at(end_ticks()).
  double length_seconds() const;
  bool operator==(const Score& o) const;
};

// Key signature for a root pitch class and mode family: sharps/flats of the relative
// major (e.g. root 9 (A) minor -> 0 sharps, minor).
KeySignature key_signature_for(int root_pitch, bool minor, std::int64_t tick = 0);

// Key signature naming `mode` on `root_pc`: the parent major's accidentals for church
// modes (D dorian -> C major, 0 sharps), minor for the minor scales.
KeySignature key_signature_for_mode(int root_pc, Mode mode, std::int64_t tick = 0);

// Checks a score: ppq 1..32767, pitches/velocities/controllers in range, note lengths
// > 0, ticks >= 0, tempo 1..16777215 us/quarter, channels valid, time signature
// denominators powers of two, key signatures -7..7. The error names the track.
Status score_validate(const Score& score);

// Channels per track: drum tracks get channel 10 (index 9), melodic tracks the other 15
// in track order unless they set one. More than 15 melodic tracks, a melodic track on
// channel 10, or two tracks sharing a channel with different programs is an error that
// says so. Returns one channel per track.
Result<std::vector<int>> assign_channels(const Score& score);

}  // namespace sonify
