// Scales and modes over MIDI pitches: building a scale over a pitch range in both
// directions from its root, snapping to the nearest degree, and degree arithmetic.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "sonify/result.h"

namespace sonify {

// The modes sonify knows. Intervals in semitones from the root, within one octave.
enum class Mode {
  major,             // 0 2 4 5 7 9 11 (ionian)
  natural_minor,     // 0 2 3 5 7 8 10 (aeolian)
  harmonic_minor,    // 0 2 3 5 7 8 11
  melodic_minor,     // 0 2 3 5 7 9 11 (ascending form, used both ways)
  dorian,            // 0 2 3 5 7 9 10
  phrygian,          // 0 1 3 5 7 8 10
  lydian,            // 0 2 4 6 7 9 11
  mixolydian,        // 0 2 4 5 7 9 10
  locrian,           // 0 1 3 5 6 8 10
  whole_tone,        // 0 2 4 6 8 10
  major_pentatonic,  // 0 2 4 7 9
  minor_pentatonic,  // 0 3 5 7 10
  chromatic,         // 0 .. 11
};

// Every mode, in the order above.
const std::vector<Mode>& all_modes();

// The semitone offsets of `mode` from its root, ascending, starting at 0.
const std::vector<int>& mode_intervals(Mode mode);

// The snake_case name ("natural_minor").
std::string_view mode_name(Mode mode);

// Parses a mode name; also accepts "ionian", "aeolian", "pentatonic_minor" and
// "pentatonic_major". The error lists the known names.
Result<Mode> mode_from_name(std::string_view name);

// The pitch `degree` scale steps from `root` in `mode`: degree 0 is the root, degree 7 in
// a heptatonic mode is the root an octave up, degree -1 the step below it. The degree is
// clamped to +-kMaxScaleDegree, far outside MIDI's range, so the arithmetic cannot overflow.
constexpr int kMaxScaleDegree = 1000;
int mode_degree_pitch(int root, Mode mode, int degree);

// static_cast<int>(x) (truncation toward zero) clamped to [lo, hi], defined for every
// double: NaN gives lo, +-Inf the nearer bound. Every float->int conversion of a value
// measured from weights goes through this, since a bare cast of NaN, Inf or a huge value
// is undefined behaviour.
int to_int_clamped(double x, int lo, int hi);

// The pitches of a mode inside [lo, hi], built downward and upward from the root, so a
// bass range below the root is filled (the notebooks built upward only). Immutable.
class Scale {
 public:
  // All pitches p with lo <= p <= hi whose pitch class belongs to `mode` on `root`.
  // `lo`/`hi` are clamped to 0..127; an empty range gives an empty scale.
  Scale(int root, Mode mode, int lo, int hi);

  int root() const { return root_; }
  Mode mode() const { return mode_; }
  // The pitches, ascending.
  const std::vector<int>& pitches() const { return pitches_; }
  int size() const { return static_cast<int>(pitches_.size()); }
  bool empty() const { return pitches_.empty(); }
  // The i-th pitch from the bottom, i clamped into 0..size()-1. Requires !empty().
  int at(int i) const;
  // at(floor(f * (size() - 1))) with f clamped to [0, 1]: 0 is the lowest, 1 the highest.
  int at_fraction(double f) const;
  bool contains(int pitch) const;
  // Index of the pitch nearest to `pitch`; ties go to the lower pitch. Requires !empty().
  int nearest_index(int pitch) const;
  // The scale pitch nearest to `pitch`; ties go to the lower pitch. Requires !empty().
  int snap(int pitch) const;
  // snap(pitch) moved by `steps` scale degrees, clamped to the ends of the scale.
  int step(int pitch, int steps) const;
  // Degree (0 = root, 1 = second, ...) of `pitch`'s pitch class in the mode, or -1.
  int degree_of(int pitch) const;

 private:
  int root_;
  Mode mode_;
  std::vector<int> pitches_;
};

// Name of a pitch class, "C", "C#", ... "B" (sharps only); `pitch` is taken modulo 12,
// so a MIDI pitch or a negative offset gives its class.
std::string pitch_class_name(int pitch);

// Name of a pitch, "C4" for 60, "F#2" for 42 (sharps only).
std::string pitch_name(int pitch);

// Velocities of the dynamic markings: ppp 16, pp 33, p 49, mp 64, mf 80, f 96, ff 112, fff 127.
// Unknown names give an error listing them.
Result<int> dynamic_velocity(std::string_view marking);

}  // namespace sonify
