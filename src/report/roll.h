// The piano roll of a run: its MIDI file's notes in seconds, bar lines, bands (sections or
// words), and the geometry that both the SVG in the page and the PNG use, so a note sits
// at the same place in both.
#pragma once

#include <string>
#include <vector>

#include "sonify/midi.h"
#include "sonify/result.h"

namespace sonify::report {

struct RollTrack {
  std::string name;
  int program = 0;
  bool drums = false;
  std::string color;  // "#rrggbb", dark enough to read on white
  int notes = 0;
};

struct RollNote {
  int track = 0;
  double start = 0;  // seconds
  double end = 0;
  int pitch = 60;
  int velocity = 80;
};

// A named stretch of time drawn behind the notes: a section ("drop", "lydian") or a word.
struct RollBand {
  std::string label;
  std::string detail;
  double start = 0;
  double end = 0;
};

struct Roll {
  std::vector<RollTrack> tracks;
  std::vector<RollNote> notes;     // ordered by start
  std::vector<double> bar_starts;  // seconds of every bar line (from the time signatures)
  std::vector<RollBand> bands;
  double duration = 0;  // seconds shown: the MIDI length, or the audio's when longer
};

// Tracks, notes and bar lines of a parsed MIDI file (bands are left empty).
Result<Roll> roll_from_midi(const MidiFile& midi);

// Where everything is drawn, in pixels (SVG user units).
struct RollLayout {
  double width = 0;
  double height = 0;
  double x0 = 0;             // x of second 0
  double px_per_second = 0;  // x = x0 + t * px_per_second
  double band_top = 0;       // the band labels' strip
  double melodic_top = 0;    // y of the top of the highest pitch row
  double row_height = 0;     // one semitone
  int pitch_lo = 60;         // lowest and highest melodic pitch drawn
  int pitch_hi = 72;
  std::vector<int> drum_keys;  // one lane row per GM key used, lowest first
  double drum_top = 0;
  double drum_row_height = 0;
  double bottom = 0;  // y of the bottom of the last row

  double x(double seconds) const { return x0 + seconds * px_per_second; }
  // Top of the row where `note` of a track (drums or not) is drawn, and its height.
  double note_y(const RollNote& note, bool drums) const;
  double note_height(bool drums) const;
};

// Layout for `roll` with `px_per_second` (the SVG) or, when `px_per_second` is 0, fitting
// the time axis into `width` (the PNG).
RollLayout roll_layout(const Roll& roll, double width, double px_per_second);

// The <svg> element: bands with labels, bar lines and numbers, pitch labels, one path per
// track and loudness step, the playhead, a title and a description.
std::string roll_svg(const Roll& roll, const RollLayout& layout, const std::string& title);

// A short GM name for a drum key (36 "kick"), or "key N".
std::string drum_key_name(int key);

}  // namespace sonify::report
