// MIDILike event tokens (issue 15): the round trip MIDI -> tokens -> MIDI against a mido
// oracle on the Bach chorales and on sonify's own genre files, properties on random
// scores, the vocabulary of the seed (291 tokens) and the tokenizer file.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "sonify/midi.h"
#include "sonify/midi_tokens.h"
#include "test_support.h"

using nlohmann::json;
using sonify::test::read_file;
using sonify::test::run_program;
using sonify::test::run_sonify;
using sonify::test::TempDir;

namespace {

const std::string kOracle = std::string(SONIFY_SOURCE_DIR) + "/tests/oracles/midi_tokens_check.py";

sonify::MidiTokenizer tokenizer(sonify::MidiTokenizerConfig c = {}) {
  auto t = sonify::MidiTokenizer::create(c);
  REQUIRE(t.ok());
  return *t;
}

// Tokenizes `path`, plays the tokens back into `out`, and asks the oracle.
json round_trip(const sonify::MidiTokenizer& t, const std::string& path, const std::string& out) {
  auto file = sonify::midi_read(path);
  REQUIRE(file.ok());
  auto score = sonify::score_from_midi(*file);
  REQUIRE(score.ok());
  const auto ids = t.encode(*score);
  auto back = t.decode(ids);
  REQUIRE(back.ok());
  REQUIRE(sonify::midi_write(*back, out).ok());
  auto r = run_program({"/usr/bin/python3", kOracle, path, out});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return json::parse(r.out);
}

}  // namespace

TEST_CASE("MIDILike tokens: the seed's vocabulary of 291 and a tokenizer file that reads back",
          "[music][midi_tokens]") {
  const auto t = tokenizer();
  CHECK(t.vocab_size() == 291);  // PAD, BOS, EOS, 128 NoteOn, 128 NoteOff, 32 TimeShift
  CHECK(t.token(3) == "NoteOn_0");
  CHECK(t.token(3 + 128 + 60) == "NoteOff_60");
  CHECK(t.token(t.vocab_size() - 1) == "TimeShift_8.0.4");
  CHECK(t.id("TimeShift_0.1.4") == 259);
  auto again = sonify::MidiTokenizer::parse(t.to_json(), "tokenizer.json");
  REQUIRE(again.ok());
  CHECK(again->vocab_size() == 291);
  sonify::MidiTokenizerConfig c;
  c.velocities = 8;
  c.programs = true;
  const auto rich = tokenizer(c);
  CHECK(rich.vocab_size() == 291 + 8 + 129);
  CHECK(sonify::MidiTokenizer::parse(rich.to_json(), "x").ok());

  json other = json::parse(t.to_json());
  other["tokenization"] = "REMI";
  auto remi = sonify::MidiTokenizer::parse(other.dump(), "remi.json");
  REQUIRE(!remi.ok());
  CHECK(remi.error().message ==
        "remi.json: tokenization 'REMI' is not MIDILike (sonify reads MIDILike token files only)");
  json swapped = json::parse(t.to_json());
  swapped["vocab"]["NoteOn_0"] = 4;
  CHECK(!sonify::MidiTokenizer::parse(swapped.dump(), "x").ok());
  CHECK(!sonify::MidiTokenizer::parse("{\"vocab\": {}}", "text.json").ok());
}

TEST_CASE("MIDILike round trip keeps every chorale note's pitch, grid onset and duration (mido oracle)",
          "[music][midi_tokens][corpus]") {
  TempDir dir;
  // The corpus sits beside the fixtures in the shared folder: try $SONIFY_CORPORA, then next
  // to $SONIFY_FIXTURES, then ../shared beside the project.
  std::vector<std::string> candidates;
  if (const char* c = std::getenv("SONIFY_CORPORA")) candidates.push_back(std::string(c) + "/jsb-chorales");
  if (const char* f = std::getenv("SONIFY_FIXTURES"))
    candidates.push_back(std::string(f) + "/../corpora/jsb-chorales");
  candidates.push_back(std::string(SONIFY_SOURCE_DIR) + "/../shared/corpora/jsb-chorales");
  std::string json_path;
  for (const auto& folder : candidates)
    if (json_path.empty() && std::ifstream(folder + "/Jsb16thSeparated.json"))
      json_path = folder + "/Jsb16thSeparated.json";
  if (json_path.empty()) sonify::test::skip_test("the chorale corpus is not at " + candidates.back());
  auto conv = run_program({"/usr/bin/python3", std::string(SONIFY_SOURCE_DIR) + "/scripts/jsb_to_midi.py",
                           json_path, dir.file("jsb"), "--split", "test", "--limit", "20"});
  INFO(conv.err);
  REQUIRE(conv.exit_code == 0);
  const auto t = tokenizer();
  long notes = 0;
  for (int i = 0; i < 20; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "test-%03d.mid", i);
    const json r = round_trip(t, dir.file("jsb/") + name, dir.file(std::string("rt-") + name));
    INFO(name << ": " << r.dump());
    CHECK(r["equal"] == true);
    CHECK(r["expected"].get<int>() > 20);
    notes += r["expected"].get<long>();
  }
  CHECK(notes > 1000);
}

TEST_CASE("MIDILike round trip of sonify's own genre files (swing, drums left out)", "[music][midi_tokens]") {
  TempDir dir;
  const auto t = tokenizer();
  for (const std::string genre : {"acid", "house", "suite"}) {
    auto r = run_sonify({"weights", "--genre", genre, "--midi-only", "-q", "-o", dir.path()});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const json check = round_trip(t, dir.file(genre + ".mid"), dir.file(genre + "-rt.mid"));
    INFO(genre << ": " << check.dump());
    CHECK(check["equal"] == true);
  }
}

TEST_CASE("MIDILike decoding repairs what a sampler may write and counts it", "[music][midi_tokens]") {
  const auto t = tokenizer();
  const int on60 = t.id("NoteOn_60"), off60 = t.id("NoteOff_60"), off62 = t.id("NoteOff_62"),
            shift = t.id("TimeShift_0.2.4");
  sonify::MidiTokenStats st;
  auto s = t.decode({t.bos_id(), off62, on60, shift, t.id("NoteOn_64"), shift, off60, t.pad_id()}, 100, &st);
  REQUIRE(s.ok());
  CHECK(st.orphan_note_offs == 1);
  CHECK(st.stuck_notes == 1);  // NoteOn_64 never ends
  CHECK(st.ignored == 1);      // PAD
  CHECK(st.notes == 2);
  REQUIRE(s->tracks.size() == 1);
  CHECK(s->tracks[0].notes[0].length_ticks == 4 * 120);
  CHECK(sonify::score_validate(*s).ok());
  CHECK(!t.decode({on60, 9999}).ok());
  // A pitch struck twice on one step is one note (two would overlap on the same key).
  auto twice = t.decode({on60, on60, shift, off60}, 100, &st);
  REQUIRE(twice.ok());
  CHECK(st.notes == 1);
  CHECK(st.ignored == 1);
  CHECK(sonify::score_validate(*twice).ok());
}

TEST_CASE("MIDILike properties on random scores: decoding is a fixed point and time is kept",
          "[music][midi_tokens]") {
  std::mt19937 rng(20261130);
  const auto t = tokenizer();
  for (int trial = 0; trial < 50; ++trial) {
    sonify::Score s;
    s.ppq = std::uniform_int_distribution<int>(24, 960)(rng);
    const int tracks = std::uniform_int_distribution<int>(1, 3)(rng);
    for (int k = 0; k < tracks; ++k) {
      const int index = s.add_track("t", 0);
      for (int n = 0; n < 40; ++n)
        s.tracks[index].note(std::uniform_int_distribution<int>(0, 40 * s.ppq)(rng),
                             std::uniform_int_distribution<int>(1, 12 * s.ppq)(rng),
                             std::uniform_int_distribution<int>(30, 90)(rng), 80);
    }
    sonify::MidiTokenStats first;
    const auto ids = t.encode(s, &first);
    CHECK(ids.front() == t.bos_id());
    CHECK(ids.back() == t.eos_id());
    auto back = t.decode(ids);
    REQUIRE(back.ok());
    sonify::MidiTokenStats second;
    const auto again = t.encode(*back, &second);
    CHECK(again == ids);  // what survives one round trip survives every one
    CHECK(second.truncated == 0);
    CHECK(first.notes + first.truncated >= 40 * tracks - first.truncated);
  }
}
