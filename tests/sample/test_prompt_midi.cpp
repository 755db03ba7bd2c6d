// `sonify prompt --midi-prompt FILE.mid` on the bundled MIDI event model (issue 15): the token
// ids the track is made from match a mido tokenization written from doc/midi-tokens.md,
// MIDI + WAV + JSON are written and are the same bytes on a second run, over-long prompts
// behave as text ones do, and prompts of the wrong kind are one line with nothing written.
#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "test_support.h"

using nlohmann::json;
using sonify::test::list_dir;
using sonify::test::read_file;
using sonify::test::run_program;
using sonify::test::run_sonify;
using sonify::test::TempDir;

namespace {

const std::string kSource = SONIFY_SOURCE_DIR;
const std::string kOracle = kSource + "/tests/sample/prompt_midi_check.py";
const std::string kBach = kSource + "/data/models/midi-bach";

void chorale(const std::string& path, int chords) {
  auto r = run_program({"/usr/bin/python3", kOracle, "chorale", path, std::to_string(chords)});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
}

void oracle_tokens(const std::string& midi, const std::string& prompt_json) {
  auto r = run_program({"/usr/bin/python3", kOracle, "tokens", midi, kBach, prompt_json});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
}

void expect_error(const std::vector<std::string>& args, const std::string& out, const std::string& contains,
                  const std::string& model = kBach) {
  std::vector<std::string> all = {"prompt", "--model", model, "-o", out, "--midi-only"};
  all.insert(all.end(), args.begin(), args.end());
  auto r = run_sonify(all);
  INFO(r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.err.rfind("sonify: error: ", 0) == 0);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK(r.err.find(contains) != std::string::npos);
  CHECK((!std::filesystem::exists(out) || list_dir(out).empty()));
}

}  // namespace

TEST_CASE(
    "prompt --midi-prompt: midi-bach's tokens match a mido oracle, MIDI, WAV and JSON are the same bytes "
    "twice",
    "[prompt_midi]") {
  sonify::test::use_private_cache();
  TempDir dir;
  chorale(dir.file("chorale.mid"), 8);
  for (const char* out : {"a", "b"}) {
    auto r = run_sonify(
        {"prompt", "--model", kBach, "--midi-prompt", dir.file("chorale.mid"), "-o", dir.file(out)});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
  }
  const std::vector<std::string> files = {"chorale.json", "chorale.mid", "chorale.timing.json",
                                          "chorale.wav"};
  CHECK(list_dir(dir.file("a")) == files);
  for (const std::string& f : files) CHECK(read_file(dir.file("a/" + f)) == read_file(dir.file("b/" + f)));
  oracle_tokens(dir.file("chorale.mid"), dir.file("a/chorale.json"));
  const json j = json::parse(read_file(dir.file("a/chorale.json")));
  CHECK(j["midi_prompt"]["file"] == dir.file("chorale.mid"));
  CHECK(j["token_ids"][0] == 1);  // BOS first, as training and sampling have it
  CHECK(j["pca"]["corpus_hash"] == "model-samples-32x64-t1");
  // One word per onset: 8 chords and a passing note in each (the last release joins the last).
  CHECK(j["words"] == 16);
  auto valid = run_program(
      {"/usr/bin/python3", kSource + "/tests/sample/sample_check.py", "valid", dir.file("a/chorale.mid")});
  INFO(valid.err);
  CHECK(valid.exit_code == 0);
}

TEST_CASE("prompt --midi-prompt: an over-long MIDI is refused like a long text, or cut with --truncate",
          "[prompt_midi]") {
  sonify::test::use_private_cache();
  TempDir dir;
  chorale(dir.file("long.mid"), 30);  // 361 tokens, the model's context is 256
  expect_error({"--midi-prompt", dir.file("long.mid")}, dir.file("o"),
               "longer than the model's context of 256");
  auto r = run_sonify({"prompt", "--model", kBach, "--midi-prompt", dir.file("long.mid"), "--truncate",
                       "--midi-only", "--style", "markov", "-o", dir.file("t")});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.find("prompt truncated from 361 to 256 tokens") != std::string::npos);
  const json j = json::parse(read_file(dir.file("t/long.json")));
  CHECK(j["truncated_from"] == 361);
  CHECK(j["midi_prompt"]["tokens"] == 256);
  oracle_tokens(dir.file("long.mid"), dir.file("t/long.json"));
}

TEST_CASE("prompt --midi-prompt: prompts of the wrong kind and bad MIDI files are one line, nothing written",
          "[prompt_midi]") {
  TempDir dir;
  chorale(dir.file("c.mid"), 2);
  sonify::test::write_file(dir.file("bad.mid"), "MThd not really");
  auto empty = run_program({"/usr/bin/python3", "-c",
                            "import mido, sys; m = mido.MidiFile(); m.tracks.append(mido.MidiTrack()); "
                            "m.save(sys.argv[1])",
                            dir.file("empty.mid")});
  REQUIRE(empty.exit_code == 0);
  const std::string tiny = kSource + "/data/models/sonify-tiny";
  expect_error({"--midi-prompt", dir.file("c.mid")}, dir.file("o1"), "--midi-prompt needs a MIDI event model",
               tiny);
  expect_error({"a text prompt"}, dir.file("o2"), "--midi-prompt FILE.mid");
  expect_error({"--ids", "1,51"}, dir.file("o3"), "--midi-prompt FILE.mid");
  expect_error({"some text", "--midi-prompt", dir.file("c.mid")}, dir.file("o4"), "not both");
  expect_error({"--midi-prompt", dir.file("missing.mid")}, dir.file("o5"), "no such file");
  expect_error({"--midi-prompt", dir.file("bad.mid")}, dir.file("o6"), "bad.mid");
  expect_error({"--midi-prompt", dir.file("empty.mid")}, dir.file("o7"), "no notes");
  expect_error({"--midi-prompt", dir.file("c.mid"), "--style", "sines"}, dir.file("o8"),
               "takes text prompts");
  expect_error(
      {"--midi-prompt", dir.file("c.mid"), "--direction", kSource + "/configs/contrast/calm-tense.json"},
      dir.file("o9"), "--direction");

  // Written beside itself, the track would take the prompt's name: refused, the MIDI kept.
  std::filesystem::create_directories(dir.file("in"));
  std::filesystem::copy_file(dir.file("c.mid"), dir.file("in/c.mid"));
  auto r =
      run_sonify({"prompt", "--model", kBach, "--midi-prompt", dir.file("in/c.mid"), "-o", dir.file("in")});
  INFO(r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("is the input") != std::string::npos);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK(list_dir(dir.file("in")) == std::vector<std::string>{"c.mid"});
  CHECK(sonify::test::read_file(dir.file("in/c.mid")) == sonify::test::read_file(dir.file("c.mid")));
  // --name config in the model's own folder would replace its config.json.
  std::filesystem::copy(kBach, dir.file("model"));
  r = run_sonify({"prompt", "--model", dir.file("model"), "--midi-prompt", dir.file("c.mid"), "-o",
                  dir.file("model"), "--name", "config", "--midi-only"});
  INFO(r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("a file of the input") != std::string::npos);
  CHECK(sonify::test::read_file(dir.file("model/config.json")) ==
        sonify::test::read_file(kBach + "/config.json"));
}
