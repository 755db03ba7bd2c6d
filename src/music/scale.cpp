#include "sonify/scale.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>

namespace sonify {
namespace {

struct ModeRow {
  Mode mode;
  const char* name;
  std::vector<int> intervals;
};

const std::vector<ModeRow>& mode_table() {
  static const std::vector<ModeRow> rows = {
      {Mode::major, "major", {0, 2, 4, 5, 7, 9, 11}},
      {Mode::natural_minor, "natural_minor", {0, 2, 3, 5, 7, 8, 10}},
      {Mode::harmonic_minor, "harmonic_minor", {0, 2, 3, 5, 7, 8, 11}},
      {Mode::melodic_minor, "melodic_minor", {0, 2, 3, 5, 7, 9, 11}},
      {Mode::dorian, "dorian", {0, 2, 3, 5, 7, 9, 10}},
      {Mode::phrygian, "phrygian", {0, 1, 3, 5, 7, 8, 10}},
      {Mode::lydian, "lydian", {0, 2, 4, 6, 7, 9, 11}},
      {Mode::mixolydian, "mixolydian", {0, 2, 4, 5, 7, 9, 10}},
      {Mode::locrian, "locrian", {0, 1, 3, 5, 6, 8, 10}},
      {Mode::whole_tone, "whole_tone", {0, 2, 4, 6, 8, 10}},
      {Mode::major_pentatonic, "major_pentatonic", {0, 2, 4, 7, 9}},
      {Mode::minor_pentatonic, "minor_pentatonic", {0, 3, 5, 7, 10}},
      {Mode::chromatic, "chromatic", {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}},
  };
  return rows;
}

const ModeRow& row_of(Mode mode) { return mode_table()[static_cast<std::size_t>(mode)]; }

int floor_div(int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

}  // namespace

const std::vector<Mode>& all_modes() {
  static const std::vector<Mode> modes = [] {
    std::vector<Mode> m;
    for (const auto& row : mode_table()) m.push_back(row.mode);
    return m;
  }();
  return modes;
}

const std::vector<int>& mode_intervals(Mode mode) { return row_of(mode).intervals; }

std::string_view mode_name(Mode mode) { return row_of(mode).name; }

Result<Mode> mode_from_name(std::string_view name) {
  static const std::array<std::pair<const char*, Mode>, 4> aliases = {
      {{"ionian", Mode::major},
       {"aeolian", Mode::natural_minor},
       {"pentatonic_minor", Mode::minor_pentatonic},
       {"pentatonic_major", Mode::major_pentatonic}}};
  std::string known;
  for (const auto& row : mode_table()) {
    if (name == row.name) return row.mode;
    known += (known.empty() ? "" : ", ") + std::string(row.name);
  }
  for (const auto& [alias, mode] : aliases)
    if (name == alias) return mode;
  return fail("unknown mode '", name, "' (known: ", known, ")");
}

int mode_degree_pitch(int root, Mode mode, int degree) {
  degree = std::clamp(degree, -kMaxScaleDegree, kMaxScaleDegree);
  const auto& iv = mode_intervals(mode);
  const int n = static_cast<int>(iv.size());
  const int octave = floor_div(degree, n);
  return root + 12 * octave + iv[static_cast<std::size_t>(degree - octave * n)];
}

int to_int_clamped(double x, int lo, int hi) {
  if (std::isnan(x) || x <= lo) return lo;
  if (x >= hi) return hi;
  return static_cast<int>(x);
}

Scale::Scale(int root, Mode mode, int lo, int hi) : root_(root), mode_(mode) {
  lo = std::max(lo, 0);
  hi = std::min(hi, 127);
  for (int p = lo; p <= hi; ++p)
    if (degree_of(p) >= 0) pitches_.push_back(p);
}

int Scale::at(int i) const { return pitches_[static_cast<std::size_t>(std::clamp(i, 0, size() - 1))]; }

int Scale::at_fraction(double f) const {
  if (!(f > 0)) f = 0;  // NaN goes to the bottom too
  if (f > 1) f = 1;
  return at(static_cast<int>(std::floor(f * (size() - 1))));
}

bool Scale::contains(int pitch) const { return std::binary_search(pitches_.begin(), pitches_.end(), pitch); }

int Scale::nearest_index(int pitch) const {
  const auto it = std::lower_bound(pitches_.begin(), pitches_.end(), pitch);
  if (it == pitches_.begin()) return 0;
  if (it == pitches_.end()) return size() - 1;
  const int above = static_cast<int>(it - pitches_.begin());
  // Ties go to the lower pitch.
  return (*it - pitch) < (pitch - *(it - 1)) ? above : above - 1;
}

int Scale::snap(int pitch) const { return at(nearest_index(pitch)); }

int Scale::step(int pitch, int steps) const { return at(nearest_index(pitch) + steps); }

int Scale::degree_of(int pitch) const {
  const int pc = ((pitch - root_) % 12 + 12) % 12;
  const auto& iv = mode_intervals(mode_);
  const auto it = std::find(iv.begin(), iv.end(), pc);
  return it == iv.end() ? -1 : static_cast<int>(it - iv.begin());
}

std::string pitch_class_name(int pitch) {
  static const std::array<const char*, 12> names = {"C",  "C#", "D",  "D#", "E",  "F",
                                                    "F#", "G",  "G#", "A",  "A#", "B"};
  return names[static_cast<std::size_t>(((pitch % 12) + 12) % 12)];
}

std::string pitch_name(int pitch) {
  return pitch_class_name(pitch) + std::to_string(floor_div(pitch, 12) - 1);
}

Result<int> dynamic_velocity(std::string_view marking) {
  static const std::array<std::pair<const char*, int>, 8> table = {
      {{"ppp", 16}, {"pp", 33}, {"p", 49}, {"mp", 64}, {"mf", 80}, {"f", 96}, {"ff", 112}, {"fff", 127}}};
  for (const auto& [name, velocity] : table)
    if (marking == name) return velocity;
  return fail("unknown dynamic '", marking, "' (known: ppp, pp, p, mp, mf, f, ff, fff)");
}

}  // namespace sonify
