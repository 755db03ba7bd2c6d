// Scales and modes: the interval table, building in both directions from the root
// (the notebooks' upward-only builder clamped every bass note to the root), snapping
// with ties to the lower pitch, degree arithmetic, names.
#include <catch2/catch.hpp>

#include "sonify/scale.h"

using sonify::Mode;
using sonify::Scale;

TEST_CASE("mode interval table", "[music][scale]") {
  struct Row {
    const char* name;
    std::vector<int> intervals;
  };
  const std::vector<Row> rows = {
      {"major", {0, 2, 4, 5, 7, 9, 11}},
      {"natural_minor", {0, 2, 3, 5, 7, 8, 10}},
      {"harmonic_minor", {0, 2, 3, 5, 7, 8, 11}},
      {"melodic_minor", {0, 2, 3, 5, 7, 9, 11}},
      {"dorian", {0, 2, 3, 5, 7, 9, 10}},
      {"phrygian", {0, 1, 3, 5, 7, 8, 10}},
      {"lydian", {0, 2, 4, 6, 7, 9, 11}},
      {"mixolydian", {0, 2, 4, 5, 7, 9, 10}},
      {"locrian", {0, 1, 3, 5, 6, 8, 10}},
      {"whole_tone", {0, 2, 4, 6, 8, 10}},
      {"major_pentatonic", {0, 2, 4, 7, 9}},
      {"minor_pentatonic", {0, 3, 5, 7, 10}},
      {"chromatic", {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}},
  };
  REQUIRE(sonify::all_modes().size() == rows.size());
  for (const auto& row : rows) {
    INFO(row.name);
    auto mode = sonify::mode_from_name(row.name);
    REQUIRE(mode.ok());
    CHECK(sonify::mode_intervals(*mode) == row.intervals);
    CHECK(sonify::mode_name(*mode) == row.name);
  }
  CHECK(*sonify::mode_from_name("aeolian") == Mode::natural_minor);
  CHECK(*sonify::mode_from_name("ionian") == Mode::major);
  CHECK(*sonify::mode_from_name("pentatonic_minor") == Mode::minor_pentatonic);
  auto bad = sonify::mode_from_name("hypophrygian");
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.error().message,
             Catch::Contains("unknown mode 'hypophrygian'") && Catch::Contains("dorian"));
}

TEST_CASE("scales are built downward and upward from the root", "[music][scale]") {
  // The notebooks' build_scale(60, major, 24, 108) started at 60; ours covers 24..108.
  const Scale s(60, Mode::major, 24, 108);
  CHECK(s.pitches().front() == 24);
  CHECK(s.pitches().back() == 108);
  CHECK(s.size() == 50);                                 // 7 per octave over C1..B7 (24..107), plus C8
  const Scale pent(45, Mode::minor_pentatonic, 36, 60);  // A minor pentatonic: A C D E G
  CHECK(pent.pitches() == std::vector<int>{36, 38, 40, 43, 45, 48, 50, 52, 55, 57, 60});
  // House bass from the spec: root 60 - 12 = 48, pentatonic minor, 24..60, now reaches down to 24.
  const Scale bass(48, Mode::minor_pentatonic, 24, 60);
  CHECK(bass.pitches().front() == 24);
  CHECK(bass.contains(31));    // G below the root is in the scale
  CHECK(bass.snap(30) == 29);  // F# between F and G: the tie goes down
  const Scale clamp(60, Mode::chromatic, -20, 200);
  CHECK(clamp.size() == 128);
  CHECK(Scale(60, Mode::major, 70, 60).empty());
}

TEST_CASE("snapping, stepping and degrees", "[music][scale]") {
  const Scale s(60, Mode::major, 48, 84);
  CHECK(s.snap(61) == 60);  // C# is between C and D: tie goes to the lower pitch
  CHECK(s.snap(63) == 62);  // D# tie -> D
  CHECK(s.snap(66) == 65);  // F# tie -> F
  CHECK(s.snap(0) == 48);
  CHECK(s.snap(127) == 84);
  CHECK(s.contains(64));
  CHECK_FALSE(s.contains(66));
  CHECK(s.step(60, 1) == 62);
  CHECK(s.step(60, -1) == 59);
  CHECK(s.step(60, 7) == 72);
  CHECK(s.step(61, 2) == 64);    // snaps to 60 first
  CHECK(s.step(60, 100) == 84);  // clamped to the top
  CHECK(s.at_fraction(0.0) == 48);
  CHECK(s.at_fraction(1.0) == 84);
  CHECK(s.at_fraction(0.5) == s.at((s.size() - 1) / 2));
  CHECK(s.degree_of(67) == 4);
  CHECK(s.degree_of(66) == -1);
  CHECK(s.degree_of(47) == 6);
  CHECK(sonify::mode_degree_pitch(60, Mode::major, 0) == 60);
  CHECK(sonify::mode_degree_pitch(60, Mode::major, 7) == 72);
  CHECK(sonify::mode_degree_pitch(60, Mode::major, -1) == 59);
  CHECK(sonify::mode_degree_pitch(60, Mode::major, -7) == 48);
  CHECK(sonify::mode_degree_pitch(57, Mode::minor_pentatonic, -6) == 43);  // A C D E G: -5 -> 45, -6 -> 43
}

TEST_CASE("pitch names and dynamics", "[music][scale]") {
  CHECK(sonify::pitch_name(60) == "C4");
  CHECK(sonify::pitch_name(42) == "F#2");
  CHECK(sonify::pitch_name(0) == "C-1");
  CHECK(sonify::pitch_class_name(0) == "C");
  CHECK(sonify::pitch_class_name(1) == "C#");
  CHECK(sonify::pitch_class_name(11) == "B");
  CHECK(sonify::pitch_class_name(66) == "F#");  // a MIDI pitch gives its class
  CHECK(sonify::pitch_class_name(-1) == "B");   // an offset below C wraps
  CHECK(*sonify::dynamic_velocity("mf") == 80);
  CHECK(*sonify::dynamic_velocity("fff") == 127);
  CHECK_FALSE(sonify::dynamic_velocity("loud").ok());
}
