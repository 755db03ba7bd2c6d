// Standard MIDI Files: exact bytes for a small score (hand-assembled), round trips,
// deterministic output, and malformed files ending in clear errors: every truncation
// and thousands of seeded byte flips of a valid file parse or fail cleanly (ASan
// watches for out-of-bounds reads).
#include <catch2/catch.hpp>
#include <cstdint>
#include <random>

#include "sonify/midi.h"
#include "test_support.h"

using sonify::MidiFile;
using sonify::Score;

namespace {

std::string bytes(std::initializer_list<int> v) {
  std::string s;
  for (int b : v) s += static_cast<char>(b);
  return s;
}

Score tiny_score() {
  Score s;
  s.title = "t";
  s.ppq = 96;
  s.set_tempo(0, 120);
  s.add_track("p", 1);
  s.tracks[0].note(0, 96, 60, 100);
  return s;
}

Score rich_score() {
  Score s;
  s.title = "rich";
  s.set_tempo(0, 138);
  s.set_tempo(s.ticks(8), 90.5);
  s.time_signatures.push_back({0, 4, 4});
  s.time_signatures.push_back({s.ticks(8), 7, 8});
  s.key_signatures.push_back(sonify::key_signature_for(64, true));
  s.mark(0, "intro");
  s.mark(s.ticks(8), "drop");
  const int acid = s.add_track("acid", 38);
  const int drums = s.add_drum_track("drums");
  const int pad = s.add_track("pad", 92);
  auto& a = s.tracks[static_cast<std::size_t>(acid)];
  a.control(0, sonify::cc::kPortamento, 127);
  a.control(0, sonify::cc::kPortamentoTime, 20);
  for (int i = 0; i < 32; ++i) {
    a.note(s.ticks(0.25 * i), s.ticks(0.2), 36 + (i * 7) % 24, 60 + i);
    a.control(s.ticks(0.25 * i), sonify::cc::kCutoff, (i * 4) % 128);
    a.control(s.ticks(0.25 * i), sonify::cc::kResonance, 100 - i);
  }
  a.bend(s.ticks(3), -2048);
  a.bend(s.ticks(3.5), 0);
  for (int b = 0; b < 16; ++b)
    s.tracks[static_cast<std::size_t>(drums)].note(s.ticks(b), s.ticks(0.1), 36, 110);
  // Same pitch back to back: the note-off must come before the next note-on.
  for (int b = 0; b < 4; ++b)
    s.tracks[static_cast<std::size_t>(pad)].note(s.ticks(4 * b), s.ticks(4), 60, 50);
  return s;
}

}  // namespace

TEST_CASE("writer: exact bytes of a small score", "[midi]") {
  auto file = sonify::midi_from_score(tiny_score());
  REQUIRE(file.ok());
  const std::string expected =
      "MThd" + bytes({0, 0, 0, 6, 0, 1, 0, 2, 0, 96}) + "MTrk" +
      bytes({0, 0, 0, 16, 0, 0xFF, 3, 1, 't', 0, 0xFF, 0x51, 3, 0x07, 0xA1, 0x20, 0, 0xFF, 0x2F, 0}) +
      "MTrk" + bytes({0, 0,    0,  20,  0,    0xFF, 3,  1, 'p', 0,    0xC0, 1,
                      0, 0x90, 60, 100, 0x60, 0x80, 60, 0, 0,   0xFF, 0x2F, 0});
  CHECK(sonify::midi_encode(*file) == expected);
}

TEST_CASE("writer: deterministic bytes, note-off before note-on, round trip", "[midi]") {
  const Score s = rich_score();
  auto a = sonify::midi_from_score(s);
  auto b = sonify::midi_from_score(rich_score());
  REQUIRE(a.ok());
  const std::string encoded = sonify::midi_encode(*a);
  CHECK(encoded == sonify::midi_encode(*b));

  auto parsed = sonify::midi_parse(encoded, "rich.mid");
  REQUIRE(parsed.ok());
  CHECK(parsed->tracks == a->tracks);
  // In the pad track, at tick 4 beats the note-off (0x80) precedes the note-on (0x90).
  const auto& pad = parsed->tracks[3];
  for (std::size_t i = 0; i + 1 < pad.size(); ++i)
    if (pad[i].tick == pad[i + 1].tick && pad[i].is_channel() && pad[i + 1].is_channel())
      CHECK_FALSE((pad[i].kind() == 0x90 && pad[i + 1].kind() == 0x80));

  auto back = sonify::score_from_midi(*parsed);
  REQUIRE(back.ok());
  Score expected = s;
  auto channels = sonify::assign_channels(s);
  for (std::size_t i = 0; i < expected.tracks.size(); ++i) expected.tracks[i].channel = (*channels)[i];
  // score_from_midi orders tracks by SMF track, and each track's notes by start.
  for (auto& t : expected.tracks)
    std::stable_sort(t.notes.begin(), t.notes.end(),
                     [](const auto& x, const auto& y) { return x.start_ticks < y.start_ticks; });
  CHECK(*back == expected);
  CHECK(sonify::midi_length_seconds(*parsed) == Approx(s.length_seconds()));
}

TEST_CASE("writer: atomic file and validation errors", "[midi]") {
  sonify::test::TempDir dir;
  REQUIRE(sonify::midi_write(tiny_score(), dir.file("a.mid")).ok());
  auto read = sonify::midi_read(dir.file("a.mid"));
  REQUIRE(read.ok());
  CHECK(read->ppq == 96);
  Score bad = tiny_score();
  bad.tracks[0].notes[0].velocity = 0;
  auto st = sonify::midi_write(bad, dir.file("b.mid"));
  REQUIRE_FALSE(st.ok());
  CHECK_THAT(st.error().message, Catch::Contains("velocity 0"));
  CHECK(sonify::test::list_dir(dir.path()) == std::vector<std::string>{"a.mid"});
  CHECK_FALSE(sonify::midi_write(tiny_score(), dir.file("no/such/dir/c.mid")).ok());
}

TEST_CASE("reader: running status, note-on velocity 0, unknown chunks, missing end of track", "[midi]") {
  const std::string head = "MThd" + bytes({0, 0, 0, 6, 0, 0, 0, 1, 0, 48});
  const std::string body = bytes({0, 0x90, 60, 90, 24, 60, 0, 0, 62, 80, 24, 0x80, 62, 0});
  const std::string junk = "XFIL" + bytes({0, 0, 0, 2, 1, 2});
  // The unknown chunk comes first and does not count as a track.
  const std::string file = head + junk + "MTrk" + bytes({0, 0, 0, static_cast<int>(body.size())}) + body;
  auto parsed = sonify::midi_parse(file, "x.mid");
  REQUIRE(parsed.ok());
  REQUIRE(parsed->tracks.size() == 1);
  auto score = sonify::score_from_midi(*parsed);
  REQUIRE(score.ok());
  REQUIRE(score->tracks.size() == 1);
  CHECK(score->tracks[0].notes == std::vector<sonify::Note>{{0, 24, 60, 90}, {24, 24, 62, 80}});
  CHECK(parsed->tracks[0].back().meta == sonify::meta::kEndOfTrack);  // added
}

TEST_CASE("reader: malformed files give clear errors", "[midi]") {
  const std::string head = "MThd" + bytes({0, 0, 0, 6, 0, 1, 0, 1, 0, 96});
  auto track = [](const std::string& body, int len = -1) {
    const int n = len < 0 ? static_cast<int>(body.size()) : len;
    return "MTrk" + bytes({(n >> 24) & 0xFF, (n >> 16) & 0xFF, (n >> 8) & 0xFF, n & 0xFF}) + body;
  };
  struct Case {
    const char* what;
    std::string file;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"empty", "", "not a MIDI file"},
      {"not midi", "RIFF1234WAVE", "not a MIDI file"},
      {"short header", "MThd" + bytes({0, 0, 0, 6, 0, 1}), "MThd length 6 exceeds the file"},
      {"header length < 6", "MThd" + bytes({0, 0, 0, 2, 0, 1}), "less than 6"},
      {"format 2", "MThd" + bytes({0, 0, 0, 6, 0, 2, 0, 1, 0, 96}), "format 2"},
      {"SMPTE", "MThd" + bytes({0, 0, 0, 6, 0, 1, 0, 1, 0xE7, 40}), "SMPTE"},
      {"division 0", "MThd" + bytes({0, 0, 0, 6, 0, 1, 0, 1, 0, 0}), "0 ticks per quarter"},
      {"format 0, two tracks", "MThd" + bytes({0, 0, 0, 6, 0, 0, 0, 2, 0, 96}), "format 0 with 2 tracks"},
      {"missing track", head, "header says 1 tracks but the file ends after 0"},
      {"chunk too long", head + track(bytes({0, 0xFF, 0x2F, 0}), 1000),
       "has length 1000 but only 4 bytes remain"},
      {"truncated note", head + track(bytes({0, 0x90, 60})), "truncated channel event"},
      {"truncated delta", head + track(bytes({0x81})), "truncated delta time"},
      {"long delta", head + track(bytes({0x81, 0x81, 0x81, 0x81, 0x01, 0x90, 60, 1})), "longer than 4 bytes"},
      {"running status at start", head + track(bytes({0, 60, 100, 0, 0xFF, 0x2F, 0})), "running status"},
      {"running status after meta",
       head + track(bytes({0, 0x90, 60, 100, 0, 0xFF, 0x01, 0, 0, 62, 100, 0, 0xFF, 0x2F, 0})),
       "running status"},
      {"status in data", head + track(bytes({0, 0x90, 60, 0x90, 0, 0xFF, 0x2F, 0})), "data byte 0x90"},
      {"meta too long", head + track(bytes({0, 0xFF, 0x01, 50, 'a'})),
       "meta event at offset 23 has length 50"},
      {"sysex too long", head + track(bytes({0, 0xF0, 9, 1, 2})), "SysEx at offset 23 has length 9"},
      {"bad tempo", head + track(bytes({0, 0xFF, 0x51, 2, 1, 2, 0, 0xFF, 0x2F, 0})),
       "tempo event at offset 23 has 2"},
      {"system status", head + track(bytes({0, 0xF8, 0, 0xFF, 0x2F, 0})), "status byte 0xF8"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    auto r = sonify::midi_parse(c.file, "bad.mid");
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::StartsWith("bad.mid: ") && Catch::Contains(c.message));
    CHECK(r.error().message.find('\n') == std::string::npos);
  }
}

TEST_CASE("reader: every truncation and seeded corruptions never read out of bounds", "[midi]") {
  auto file = sonify::midi_from_score(rich_score());
  REQUIRE(file.ok());
  const std::string good = sonify::midi_encode(*file);
  for (std::size_t n = 0; n < good.size(); ++n) {
    auto r = sonify::midi_parse(std::string_view(good.data(), n), "cut.mid");  // a view: ASan sees overreads
    CHECK_FALSE(r.ok());
  }
  std::mt19937 rng(1234);
  int parsed = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string bad = good;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) bad[rng() % bad.size()] = static_cast<char>(rng() & 0xFF);
    auto r = sonify::midi_parse(bad, "flip.mid");
    if (r.ok()) {
      ++parsed;
      CHECK(sonify::score_from_midi(*r).ok());
      CHECK(sonify::midi_length_seconds(*r) >= 0);
    }
  }
  CHECK(parsed > 0);  // most single flips hit note data and still parse
}
