// An external parser as oracle: Debian's python3-mido reads every file sonify writes
// (notes, tempos, programs, channels, controllers, bends, markers, signatures), and
// sonify reads type 0 and type 1 files that mido writes (with running status).
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "sonify/midi.h"
#include "test_support.h"

using nlohmann::json;
using sonify::Score;

namespace {

const std::string kOracle = std::string(SONIFY_SOURCE_DIR) + "/tests/oracles/midi_mido.py";

json mido_dump(const std::string& path) {
  auto r = sonify::test::run_program({"/usr/bin/python3", kOracle, "dump", path});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return json::parse(r.out);
}

// The same summary as the oracle prints, computed from sonify's reader.
json sonify_summary(const sonify::MidiFile& file) {
  auto score = sonify::score_from_midi(file);
  REQUIRE(score.ok());
  json j;
  j["type"] = file.format;
  j["ticks_per_beat"] = file.ppq;
  j["tempos"] = json::array();
  for (const auto& t : score->tempos) j["tempos"].push_back({t.tick, t.us_per_quarter});
  j["markers"] = json::array();
  for (const auto& m : score->markers) j["markers"].push_back({m.tick, m.text});
  j["time_signatures"] = json::array();
  for (const auto& t : score->time_signatures)
    j["time_signatures"].push_back({t.tick, t.numerator, t.denominator});
  std::vector<std::vector<std::int64_t>> notes, controls, bends;
  for (const auto& t : score->tracks) {
    for (const auto& n : t.notes)
      notes.push_back({t.channel, n.pitch, n.start_ticks, n.start_ticks + n.length_ticks, n.velocity});
    for (const auto& c : t.controls) controls.push_back({t.channel, c.tick, c.controller, c.value});
    for (const auto& b : t.bends) bends.push_back({t.channel, b.tick, b.value});
  }
  std::sort(notes.begin(), notes.end());
  std::sort(controls.begin(), controls.end());
  std::sort(bends.begin(), bends.end());
  j["notes"] = notes;
  j["controls"] = controls;
  j["bends"] = bends;
  return j;
}

}  // namespace

TEST_CASE("mido reads what sonify writes", "[midi][mido]") {
  Score s;
  s.title = "oracle";
  s.set_tempo(0, 128);
  s.set_tempo(s.ticks(16), 64);
  s.time_signatures.push_back({0, 4, 4});
  s.time_signatures.push_back({s.ticks(16), 6, 8});
  s.key_signatures.push_back(sonify::key_signature_for(62, false));  // D major
  s.key_signatures.push_back({s.ticks(16), -3, true});               // C minor
  s.mark(0, "intro");
  s.mark(s.ticks(16), "layer 7");
  // Fourteen melodic tracks and drums: channels skip 10.
  for (int t = 0; t < 14; ++t) {
    const int i = s.add_track("track " + std::to_string(t), (t * 9) % 128);
    for (int n = 0; n < 20; ++n)
      s.tracks[static_cast<std::size_t>(i)].note(s.ticks(0.5 * n + 0.125 * t), s.ticks(0.3 + 0.1 * (n % 3)),
                                                 30 + (n * 5 + t) % 70, 20 + (n * 13) % 100);
  }
  const int d = s.add_drum_track("drums");
  for (int b = 0; b < 32; ++b)
    s.tracks[static_cast<std::size_t>(d)].note(s.ticks(b), s.ticks(0.1), 36 + b % 10, 100);
  auto& acid = s.tracks[0];
  for (int k = 0; k < 16; ++k) acid.control(s.ticks(0.25 * k), sonify::cc::kCutoff, k * 8);
  acid.control(0, sonify::cc::kPortamento, 127);
  acid.bend(s.ticks(2), -8192);
  acid.bend(s.ticks(3), 8191);
  acid.bend(s.ticks(4), 0);

  sonify::test::TempDir dir;
  const std::string path = dir.file("ours.mid");
  REQUIRE(sonify::midi_write(s, path).ok());
  const json m = mido_dump(path);
  CHECK(m["type"] == 1);
  CHECK(m["ticks_per_beat"] == 480);
  CHECK(m["tempos"] == json::parse("[[0, 468750], [7680, 937500]]"));
  CHECK(m["time_signatures"] == json::parse("[[0, 4, 4], [7680, 6, 8]]"));
  CHECK(m["keys"] == json::parse(R"([[0, "D"], [7680, "Cm"]])"));
  CHECK(m["markers"] == json::parse(R"([[0, "intro"], [7680, "layer 7"]])"));
  CHECK(m["track_names"][0] == "oracle");
  CHECK(m["track_names"][15] == "drums");
  // Programs and channels: track i+1 carries its program on the assigned channel.
  auto channels = sonify::assign_channels(s);
  REQUIRE(channels.ok());
  REQUIRE(m["programs"].size() == s.tracks.size());
  for (std::size_t i = 0; i < s.tracks.size(); ++i) {
    CHECK(m["programs"][i][0] == i + 1);
    CHECK(m["programs"][i][1] == (*channels)[i]);
    CHECK(m["programs"][i][2] == s.tracks[i].program);
  }
  CHECK(m["programs"][14][1] == 9);
  // Every note, controller and bend, from the score itself (not from our reader).
  std::vector<std::vector<std::int64_t>> notes, controls, bends;
  for (std::size_t i = 0; i < s.tracks.size(); ++i) {
    for (const auto& n : s.tracks[i].notes)
      notes.push_back({(*channels)[i], n.pitch, n.start_ticks, n.start_ticks + n.length_ticks, n.velocity});
    for (const auto& c : s.tracks[i].controls)
      controls.push_back({(*channels)[i], c.tick, c.controller, c.value});
    for (const auto& b : s.tracks[i].bends) bends.push_back({(*channels)[i], b.tick, b.value});
  }
  std::sort(notes.begin(), notes.end());
  std::sort(controls.begin(), controls.end());
  std::sort(bends.begin(), bends.end());
  CHECK(m["notes"] == json(notes));
  CHECK(m["controls"] == json(controls));
  CHECK(m["bends"] == json(bends));
  CHECK(m["length_ticks"] == s.end_ticks());
}

TEST_CASE("sonify reads what mido writes, type 0 and type 1", "[midi][mido]") {
  sonify::test::TempDir dir;
  for (const char* type : {"0", "1"}) {
    INFO("type " << type);
    const std::string path = dir.file(std::string("mido") + type + ".mid");
    auto w = sonify::test::run_program({"/usr/bin/python3", kOracle, "write", path, type});
    INFO(w.err);
    REQUIRE(w.exit_code == 0);
    const json m = mido_dump(path);
    auto file = sonify::midi_read(path);
    REQUIRE(file.ok());
    const json ours = sonify_summary(*file);
    for (const char* key :
         {"type", "ticks_per_beat", "tempos", "markers", "time_signatures", "notes", "controls", "bends"}) {
      INFO(key);
      CHECK(ours[key] == m[key]);
    }
    CHECK(m["notes"].size() == 36);
    CHECK(sonify::midi_length_seconds(*file) > 0);
  }
}
