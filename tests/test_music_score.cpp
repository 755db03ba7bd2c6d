// The Score value: channel assignment (drums on 10, 15 melodic channels, a clear error
// beyond), the tempo map in seconds, validation, key signatures.
#include <catch2/catch.hpp>

#include "sonify/score.h"

using sonify::Score;

TEST_CASE("channels: drums on 10, melodic tracks on the other 15", "[music][score]") {
  Score s;
  s.add_track("bass", 38);
  s.add_drum_track("drums");
  s.add_track("pad", 92);
  auto ch = sonify::assign_channels(s);
  REQUIRE(ch.ok());
  CHECK(*ch == std::vector<int>{0, 9, 1});

  Score full;
  for (int i = 0; i < 15; ++i) full.add_track("t" + std::to_string(i), i);
  full.add_drum_track("drums");
  auto ok = sonify::assign_channels(full);
  REQUIRE(ok.ok());
  CHECK((*ok)[8] == 8);
  CHECK((*ok)[9] == 10);  // channel 10 skipped
  CHECK((*ok)[14] == 15);
  CHECK((*ok)[15] == 9);

  full.add_track("one too many", 20);
  auto bad = sonify::assign_channels(full);
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.error().message,
             Catch::Contains("16 melodic tracks") && Catch::Contains("15 melodic MIDI channels"));
}

TEST_CASE("channels: explicit choices and conflicts", "[music][score]") {
  Score s;
  s.add_track("a", 5);
  s.tracks[0].channel = 3;
  s.add_track("b", 5);
  s.tracks[1].channel = 3;  // same program: may share
  s.add_track("c", 7);
  auto ch = sonify::assign_channels(s);
  REQUIRE(ch.ok());
  CHECK(*ch == std::vector<int>{3, 3, 0});
  s.tracks[1].program = 6;
  auto clash = sonify::assign_channels(s);
  REQUIRE_FALSE(clash.ok());
  CHECK_THAT(clash.error().message, Catch::Contains("'a' and 'b' share channel 4"));
  Score d;
  d.add_track("melody", 0);
  d.tracks[0].channel = 9;
  CHECK_THAT(sonify::assign_channels(d).error().message, Catch::Contains("cannot use channel 10"));
}

TEST_CASE("tempo map in seconds", "[music][score]") {
  Score s;  // ppq 480, 120 BPM until tick 960, then 60 BPM
  CHECK(s.seconds_at(960) == Approx(1.0));
  s.set_tempo(0, 120);
  s.set_tempo(960, 60);
  CHECK(s.tempos.size() == 2);
  CHECK(s.tempos[1].us_per_quarter == 1000000);
  CHECK(s.seconds_at(960) == Approx(1.0));
  CHECK(s.seconds_at(1440) == Approx(2.0));
  s.set_tempo(960, 240);  // replaces
  CHECK(s.tempos.size() == 2);
  CHECK(s.seconds_at(1920) == Approx(1.5));
  const int t = s.add_track("x", 0);
  s.tracks[static_cast<std::size_t>(t)].note(s.ticks(2), s.ticks(2), 60, 90);
  CHECK(s.end_ticks() == 1920);
  CHECK(s.length_seconds() == Approx(1.5));
  CHECK(s.ticks(0.25) == 120);
}

TEST_CASE("note helpers clamp like pretty_midi, validation catches the rest", "[music][score]") {
  sonify::Track t;
  t.note(-5, 0, 200, 0);
  CHECK(t.notes[0] == sonify::Note{0, 1, 127, 1});
  t.control(10, 74, 300);
  CHECK(t.controls[0].value == 127);
  t.bend(0, 9000);
  CHECK(t.bends[0].value == 8191);
  t.controls.clear();
  t.bend_range(5, 12);
  CHECK(t.controls == std::vector<sonify::ControlChange>{
                          {5, 101, 0}, {5, 100, 0}, {5, 6, 12}, {5, 38, 0}, {5, 101, 127}, {5, 100, 127}});

  struct Case {
    const char* what;
    void (*spoil)(Score&);
    const char* message;
  };
  const std::vector<Case> cases = {
      {"ppq", [](Score& s) { s.ppq = 0; }, "ppq 0"},
      {"pitch", [](Score& s) { s.tracks[0].notes[0].pitch = 128; }, "pitch 128"},
      {"length", [](Score& s) { s.tracks[0].notes[0].length_ticks = 0; }, "has length 0"},
      {"velocity", [](Score& s) { s.tracks[0].notes[0].velocity = 0; }, "velocity 0"},
      {"program", [](Score& s) { s.tracks[0].program = 128; }, "program 128"},
      {"time signature",
       [](Score& s) {
         s.time_signatures.push_back({0, 3, 6});
       },
       "time signature 3/6"},
      {"key",
       [](Score& s) {
         s.key_signatures.push_back({0, 8, false});
       },
       "8 sharps"},
      {"tempo",
       [](Score& s) {
         s.tempos.push_back({0, 0});
       },
       "tempo at tick 0"},
      {"bend",
       [](Score& s) {
         s.tracks[0].bends.push_back({0, -9000});
       },
       "pitch bend -9000"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    Score s;
    s.add_track("lead", 81);
    s.tracks[0].note(0, 480, 60, 80);
    REQUIRE(sonify::score_validate(s).ok());
    c.spoil(s);
    auto st = sonify::score_validate(s);
    REQUIRE_FALSE(st.ok());
    CHECK_THAT(st.error().message, Catch::Contains(c.message));
  }
}

TEST_CASE("key signatures from root and mode", "[music][score]") {
  CHECK(sonify::key_signature_for(60, false) == sonify::KeySignature{0, 0, false});  // C major
  CHECK(sonify::key_signature_for(57, true) == sonify::KeySignature{0, 0, true});    // A minor
  CHECK(sonify::key_signature_for(64, true).sharps == 1);                            // E minor
  CHECK(sonify::key_signature_for(62, false).sharps == 2);                           // D major
  CHECK(sonify::key_signature_for(65, false).sharps == -1);                          // F major
  CHECK(sonify::key_signature_for(65, true).sharps == -4);                           // F minor
}

TEST_CASE("key_signature_for_mode names church modes by their parent major (hand-worked)") {
  using sonify::key_signature_for_mode;
  using sonify::KeySignature;
  using sonify::Mode;
  CHECK(key_signature_for_mode(2, Mode::dorian) == KeySignature{0, 0, false});      // D dorian: C major
  CHECK(key_signature_for_mode(4, Mode::phrygian) == KeySignature{0, 0, false});    // E phrygian: C major
  CHECK(key_signature_for_mode(11, Mode::phrygian) == KeySignature{0, 1, false});   // B phrygian: G major
  CHECK(key_signature_for_mode(5, Mode::lydian) == KeySignature{0, 0, false});      // F lydian: C major
  CHECK(key_signature_for_mode(7, Mode::mixolydian) == KeySignature{0, 0, false});  // G mixolydian: C major
  CHECK(key_signature_for_mode(11, Mode::locrian) == KeySignature{0, 0, false});    // B locrian: C major
  CHECK(key_signature_for_mode(2, Mode::natural_minor) == KeySignature{0, -1, true});  // D minor: 1 flat
  CHECK(key_signature_for_mode(9, Mode::harmonic_minor) == KeySignature{0, 0, true});  // A minor
}
