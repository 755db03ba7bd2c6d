// `sonify compare` against an independent oracle (tests/oracles/compare_pair.py): copies of
// the trained Llama fixture with a known edit and with an abliteration made by numpy, the
// ranking and every ΔW statistic checked against numpy's, and the track's channels.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "test_support.h"

using nlohmann::json;
using sonify::test::fixtures_dir;
using sonify::test::list_dir;
using sonify::test::read_file;
using sonify::test::run_program;
using sonify::test::run_sonify;
using sonify::test::TempDir;
namespace fs = std::filesystem;

namespace {

const std::string kOracle = std::string(SONIFY_SOURCE_DIR) + "/tests/oracles/compare_pair.py";

std::string base_model() { return fixtures_dir() + "/models/TinyStories-656K"; }

// A copy of the base model changed by the oracle ("edit" or "abliterate").
std::string derived(const TempDir& dir, const std::string& kind) {
  const std::string out = dir.file(kind);
  auto r = run_program({"/usr/bin/python3", kOracle, "make", base_model(), out, kind});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return out;
}

json oracle_expect(const std::string& a, const std::string& b) {
  auto r = run_program({"/usr/bin/python3", kOracle, "expect", a, b});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return json::parse(r.out);
}

json run_compare(const std::string& b, const std::string& out, bool midi_only = true) {
  std::vector<std::string> args = {"compare", base_model(), b, "-o", out, "-q"};
  if (midi_only) args.push_back("--midi-only");
  auto r = run_sonify(args);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return json::parse(read_file(out + "/compare.json"));
}

bool close(double a, double b, double rel) { return std::abs(a - b) <= rel * std::max(std::abs(b), 1e-12); }

// The changed tensors lead the ranking, with numpy's values; every other tensor is unchanged.
void check_against_oracle(const json& got, const json& want) {
  const auto& ranking = got["ranking"];
  REQUIRE(ranking.size() == 20);  // 2 layers x 9 + final norm + lm_head (tied embedding)
  CHECK(got["changed_tensors"] == want.size());
  std::set<std::string> leading;
  for (std::size_t i = 0; i < want.size(); ++i) leading.insert(ranking[i]["tensor"].get<std::string>());
  std::set<std::string> expected;
  for (const auto& [name, e] : want.items()) expected.insert(name);
  CHECK(leading == expected);
  for (const auto& t : ranking) {
    const std::string name = t["tensor"];
    INFO(name);
    if (!want.contains(name)) {
      CHECK(t["relative_change"] == 0.0);
      CHECK(t["changed_entries"] == 0);
      continue;
    }
    const json& e = want[name];
    CHECK(t["changed_entries"] == e["changed_entries"]);
    CHECK(close(t["relative_change"], e["relative_change"], 1e-6));
    CHECK(close(t["delta_sigma1"], e["delta_sigma1"], 1e-5));
    CHECK(close(t["delta_stable_rank"], e["delta_stable_rank"], 1e-4));
  }
}

// Interleaved 16-bit stereo frames of a canonical 44-byte-header WAV.
std::vector<std::int16_t> wav_samples(const std::string& path) {
  const std::string bytes = read_file(path);
  REQUIRE(bytes.size() > 44);
  REQUIRE(bytes.compare(0, 4, "RIFF") == 0);
  std::vector<std::int16_t> s((bytes.size() - 44) / 2);
  std::memcpy(s.data(), bytes.data() + 44, s.size() * 2);
  return s;
}

bool left_equals_right(const std::string& wav) {
  const auto s = wav_samples(wav);
  for (std::size_t i = 0; i + 1 < s.size(); i += 2)
    if (s[i] != s[i + 1]) return false;
  return true;
}

// Seconds of every note-on, read by mido.
std::vector<double> note_onsets(const std::string& midi) {
  auto r = run_program({"/usr/bin/python3", "-c",
                        "import mido, sys\nt = 0\nfor m in mido.MidiFile(sys.argv[1]):\n"
                        "    t += m.time\n    if m.type == 'note_on' and m.velocity > 0: print(repr(t))",
                        midi});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  std::vector<double> out;
  std::size_t at = 0;
  while (at < r.out.size()) {
    const std::size_t end = r.out.find('\n', at);
    out.push_back(std::stod(r.out.substr(at, end - at)));
    at = end + 1;
  }
  return out;
}

}  // namespace

TEST_CASE("compare: an edited copy ranks the two edited tensors first, with numpy's ΔW statistics",
          "[compare][fixtures]") {
  sonify::test::use_private_cache();
  TempDir dir;
  const std::string edited = derived(dir, "edit");
  const json got = run_compare(edited, dir.file("out"), false);
  check_against_oracle(got, oracle_expect(base_model(), edited));
  CHECK(got["layer_change"][0] == 0.0);
  CHECK(got["layer_change"][1].get<double>() > 0.04);
  // The low-rank q edit reads as low rank, the noise on down as diffuse.
  for (const auto& t : got["ranking"]) {
    if (t["role"] == "q" && t["layer"] == 1) CHECK(t["delta_stable_rank"].get<double>() < 3.0);
    if (t["role"] == "down" && t["layer"] == 1) CHECK(t["delta_stable_rank"].get<double>() > 20.0);
  }

  // The change voice sings in layer 1's section only.
  double layer1 = -1;
  for (const auto& sec : got["sections"])
    if (sec["name"] == "layer 1") layer1 = sec["start_seconds"];
  REQUIRE(layer1 > 0);
  const auto onsets = note_onsets(dir.file("out/compare.diff.mid"));
  REQUIRE(!onsets.empty());
  CHECK(onsets.front() >= layer1 - 1e-6);
  // A small edit that leaves the genre's statistics in place gives the same piece on both
  // sides, and then the channels hold the same samples.
  if (read_file(dir.file("out/compare.a.mid")) == read_file(dir.file("out/compare.b.mid")))
    CHECK(left_equals_right(dir.file("out/compare.wav")));
  CHECK(list_dir(dir.file("out")) == std::vector<std::string>{"compare.a.mid", "compare.b.mid",
                                                              "compare.diff.mid", "compare.json",
                                                              "compare.wav"});
}

TEST_CASE("compare: an abliterated copy changes o and down in every layer by a rank-one ΔW",
          "[compare][fixtures]") {
  sonify::test::use_private_cache();
  TempDir dir;
  const std::string abliterated = derived(dir, "abliterate");
  const json got = run_compare(abliterated, dir.file("out"), false);
  check_against_oracle(got, oracle_expect(base_model(), abliterated));
  // Both layers changed enough to move the genre's statistics: B's piece differs from A's
  // and the two channels pull apart.
  CHECK(read_file(dir.file("out/compare.a.mid")) != read_file(dir.file("out/compare.b.mid")));
  CHECK(!left_equals_right(dir.file("out/compare.wav")));
  CHECK(note_onsets(dir.file("out/compare.diff.mid")).size() >= 2);
  for (std::size_t i = 0; i < 4; ++i) {
    const auto& t = got["ranking"][i];
    CHECK((t["role"] == "o" || t["role"] == "down"));
    CHECK(std::abs(t["delta_stable_rank"].get<double>() - 1.0) < 1e-6);
  }
}

TEST_CASE("compare: a model against itself changes nothing and the change voice is silent",
          "[compare][fixtures]") {
  sonify::test::use_private_cache();
  TempDir dir;
  auto r = run_sonify({"compare", base_model(), base_model(), "-o", dir.path(), "-q"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const json j = json::parse(read_file(dir.file("compare.json")));
  CHECK(j["changed_tensors"] == 0);
  CHECK(j["model_change"] == 0.0);
  CHECK(left_equals_right(dir.file("compare.wav")));
  CHECK(note_onsets(dir.file("compare.diff.mid")).empty());  // the change voice is silent
}

TEST_CASE("compare: models of another shape or a missing model are one line, and nothing is written",
          "[compare][fixtures]") {
  sonify::test::use_private_cache();
  TempDir dir;
  const std::string out = dir.file("out");
  struct Case {
    std::string b;
    std::string message;
  };
  const std::vector<Case> cases = {
      {fixtures_dir() + "/models/tiny-gpt2-random", "do not share an architecture: A is llama, B is gpt2"},
      {dir.file("missing"), "missing"},
  };
  auto orphan = run_sonify({"compare", base_model(), base_model(), "--prompt", "Hello.", "-o", out});
  CHECK(orphan.exit_code != 0);
  CHECK(orphan.err == "sonify: error: --prompt needs --direction SET.json\n");
  CHECK(!fs::exists(out));
  for (const auto& c : cases) {
    auto r = run_sonify({"compare", base_model(), c.b, "-o", out});
    INFO(c.b << ": " << r.err);
    CHECK(r.exit_code != 0);
    CHECK(r.err.rfind("sonify: error: ", 0) == 0);
    CHECK(r.err.find(c.message) != std::string::npos);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(!fs::exists(out));
  }
}

#ifdef SONIFY_COMPARE_TORCH
TEST_CASE("compare --direction: a copy abliterated against the fitted direction keeps its projection flat",
          "[compare][fixtures][runtime]") {
  // Orthogonalising every o and down against r stops every block writing along r, so in
  // B the residual stream's r-component stays what the embedding put there, at every
  // state and for every token, while A's moves. The architecture guarantees it; numpy
  // makes the copy from the vector sonify reports.
  sonify::test::use_private_cache();
  TempDir dir;
  const std::string set = std::string(SONIFY_SOURCE_DIR) + "/configs/contrast/calm-tense.json";
  const std::string prompt = "The dog growled at the stranger by the gate.";
  auto first = run_sonify({"compare", base_model(), base_model(), "--direction", set, "--prompt", prompt,
                           "-o", dir.file("self"), "--midi-only", "-q"});
  INFO(first.err);
  REQUIRE(first.exit_code == 0);
  const json self = json::parse(read_file(dir.file("self/compare.json")))["direction"];
  CHECK(self["projection_a"] == self["projection_b"]);
  const int state = self["state"];
  CHECK(state >= 1);

  const std::string b = dir.file("abliterated");
  auto made = run_program(
      {"/usr/bin/python3", kOracle, "make", base_model(), b, "abliterate", dir.file("self/compare.json")});
  INFO(made.err);
  REQUIRE(made.exit_code == 0);
  auto r = run_sonify(
      {"compare", base_model(), b, "--direction", set, "--prompt", prompt, "-o", dir.file("out"), "-q"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const json d = json::parse(read_file(dir.file("out/compare.json")))["direction"];
  CHECK(d["vector"] == self["vector"]);
  CHECK(d["projection_a"] == self["projection_a"]);
  const auto& pb = d["projection_b"];
  const double embed = pb[0];
  const double spread = d["spread"][state];
  for (std::size_t s = 1; s < pb.size(); ++s) CHECK(std::abs(pb[s].get<double>() - embed) < 1e-4 * spread);
  // ... while A's moves by more than the set's own spread at the direction's state.
  CHECK(std::abs(d["projection_a"][state].get<double>() - embed) > spread);
  CHECK(list_dir(dir.file("out")).size() == 7);  // a, b, diff, direction MIDI; both WAVs; JSON
}
#endif
