// MIDI event models (issue 15): `sonify train --midi` reproducible to the byte, `sonify
// sample` reproducible and always valid MIDI (checked by a mido oracle), the bundled
// midi-bach sounding more like the chorales than like twelve-tone rows, and bad input
// refused in one line with nothing written.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "sonify/pipeline_sample.h"
#include "test_support.h"

using nlohmann::json;
using sonify::test::list_dir;
using sonify::test::read_file;
using sonify::test::run_program;
using sonify::test::run_sonify;
using sonify::test::TempDir;

namespace {

struct PluginDir {
  PluginDir() { ::setenv("SONIFY_PLUGIN_DIR", SONIFY_PLUGIN_DIR, 1); }
} plugin_dir;

const std::string kSource = SONIFY_SOURCE_DIR;
const std::string kOracle = kSource + "/tests/sample/sample_check.py";
const std::string kBach = kSource + "/data/models/midi-bach";

// `count` chorales of `split` as MIDI files in `dir` (the corpus found as test_midi_tokens does).
void chorales(const std::string& dir, const std::string& split, int count) {
  std::vector<std::string> candidates;
  if (const char* c = std::getenv("SONIFY_CORPORA")) candidates.push_back(std::string(c) + "/jsb-chorales");
  if (const char* f = std::getenv("SONIFY_FIXTURES"))
    candidates.push_back(std::string(f) + "/../corpora/jsb-chorales");
  candidates.push_back(kSource + "/../shared/corpora/jsb-chorales");
  std::string json_path;
  for (const auto& folder : candidates)
    if (json_path.empty() && std::ifstream(folder + "/Jsb16thSeparated.json"))
      json_path = folder + "/Jsb16thSeparated.json";
  if (json_path.empty()) sonify::test::skip_test("the chorale corpus is not at " + candidates.back());
  auto r = run_program({"/usr/bin/python3", kSource + "/scripts/jsb_to_midi.py", json_path, dir, "--split",
                        split, "--limit", std::to_string(count)});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
}

// A 30-step model of one small layer on 12 chorales and a text file.
std::vector<std::string> tiny_train(const std::string& corpus, const std::string& out) {
  return {"train", "--midi",    corpus, "--out",     out,  "--layers", "1",  "--dim",
          "32",    "--heads",   "2",    "--context", "64", "--steps",  "30", "--batch",
          "4",     "--threads", "1",    "--seed",    "3",  "-q"};
}

void expect_one_line_error(const sonify::test::RunResult& r, const std::string& contains) {
  INFO(r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.err.rfind("sonify: error: ", 0) == 0);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK(r.err.find(contains) != std::string::npos);
}

}  // namespace

TEST_CASE(
    "train --midi: same seed and threads give the same bytes, files that are not MIDI are skipped and "
    "counted",
    "[midi_models]") {
  TempDir dir;
  chorales(dir.file("corpus"), "test", 12);
  sonify::test::write_file(dir.file("corpus/notes.txt"), "not a MIDI file\n");
  for (const char* out : {"a", "b"}) {
    auto r = run_sonify(tiny_train(dir.file("corpus"), dir.file(out)));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
  }
  CHECK(list_dir(dir.file("a")) == std::vector<std::string>{"MODEL_CARD.md", "config.json",
                                                            "midi_tokenizer.json", "model.safetensors",
                                                            "training.json"});
  for (const char* f : {"model.safetensors", "config.json", "midi_tokenizer.json"})
    CHECK(read_file(dir.file(std::string("a/") + f)) == read_file(dir.file(std::string("b/") + f)));
  const json log = json::parse(read_file(dir.file("a/training.json")));
  CHECK(log["midi"]["files"] == 12);
  CHECK(log["midi"]["skipped"] == 1);
  CHECK(log["midi"]["skipped_files"] == json::array({dir.file("corpus/notes.txt")}));
  CHECK(log["tokenizer"]["type"] == "MIDILike");
  CHECK(log["bigram_val_loss"].get<double>() < log["unigram_val_loss"].get<double>());
  const std::string card = read_file(dir.file("a/MODEL_CARD.md"));
  CHECK(card.find("bigram baseline") != std::string::npos);
  CHECK(card.find("1 files in the folders were not MIDI") != std::string::npos);

  // Without shape options, the seed's: 3 layers, width 128, 4 heads, context 256.
  auto r = run_sonify({"train", "--midi", dir.file("corpus"), "--out", dir.file("seed"), "--steps", "1",
                       "--batch", "1", "--threads", "1", "-q"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const json config = json::parse(read_file(dir.file("seed/config.json")));
  CHECK(config["n_layer"] == 3);
  CHECK(config["n_embd"] == 128);
  CHECK(config["n_head"] == 4);
  CHECK(config["n_positions"] == 256);
  CHECK(config["vocab_size"] == 291);
}

TEST_CASE("sample: the same seed gives the same MIDI bytes, and every note is closed (mido oracle)",
          "[midi_models]") {
  TempDir dir;
  chorales(dir.file("corpus"), "test", 12);
  REQUIRE(run_sonify(tiny_train(dir.file("corpus"), dir.file("m"))).exit_code == 0);
  auto sample = [&](const std::string& seed, const std::string& name) {
    auto r = run_sonify({"sample", "--model", dir.file("m"), "--seconds", "6", "--seed", seed, "-o",
                         dir.file("out"), "--name", name, "--midi-only", "--threads", "1", "-q"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
  };
  sample("7", "a");
  sample("7", "b");
  sample("8", "c");
  CHECK(read_file(dir.file("out/a.mid")) == read_file(dir.file("out/b.mid")));
  CHECK(read_file(dir.file("out/a.mid")) != read_file(dir.file("out/c.mid")));
  // --count: seeds 7 and 8 in one process, named NAME-SEED, the same bytes as their own runs.
  auto both = run_sonify({"sample", "--model", dir.file("m"), "--seconds", "6", "--seed", "7", "--count", "2",
                          "-o", dir.file("many"), "--name", "s", "--midi-only", "--threads", "1", "-q"});
  INFO(both.err);
  REQUIRE(both.exit_code == 0);
  CHECK(list_dir(dir.file("many")) == std::vector<std::string>{"s-7.json", "s-7.mid", "s-8.json", "s-8.mid"});
  CHECK(read_file(dir.file("many/s-7.mid")) == read_file(dir.file("out/a.mid")));
  CHECK(read_file(dir.file("many/s-8.mid")) == read_file(dir.file("out/c.mid")));
  CHECK(json::parse(read_file(dir.file("many/s-8.json")))["seed"] == 8);
  auto oracle =
      run_program({"/usr/bin/python3", kOracle, "valid", dir.file("out/a.mid"), dir.file("out/c.mid")});
  INFO(oracle.out << oracle.err);
  REQUIRE(oracle.exit_code == 0);
  const json j = json::parse(read_file(dir.file("out/a.json")));
  CHECK(j["seed"] == 7);
  CHECK(j["settings"]["seconds"] == 6.0);
  CHECK(j["settings"]["temperature"] == 0.9);
  CHECK(j["settings"]["top_k"] == 40);
  CHECK(j["tokens"].get<int>() > 0);
  // A 30-step model writes nonsense often; the oracle found none of it in the MIDI.
  const json& repairs = j["repairs"];
  CHECK(repairs["orphan_note_offs"].get<int>() + repairs["stuck_notes"].get<int>() +
            repairs["same_step_restrikes"].get<int>() >
        0);
  CHECK(oracle.out.find("a.mid: " + std::to_string(j["notes"].get<int>()) + " notes") != std::string::npos);
  CHECK(j["settings"]["constrained"] == false);
  CHECK(j["length_seconds"].get<double>() >= 6.0);
  CHECK(j["length_seconds"].get<double>() <
        6.0 + 32 * 0.15 + 0.01);  // one TimeShift (<= 32 16ths at 100 BPM)
}

TEST_CASE(
    "sample without --model plays the bundled midi-bach into MIDI, WAV and JSON, --constrain draws no orphan",
    "[midi_models]") {
  TempDir dir;
  auto r =
      run_sonify({"sample", "--seconds", "8", "--seed", "1", "--constrain", "-o", dir.file("out"), "-q"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(list_dir(dir.file("out")) == std::vector<std::string>{"sample.json", "sample.mid", "sample.wav"});
  const json j = json::parse(read_file(dir.file("out/sample.json")));
  CHECK(j["model"] == kBach);
  CHECK(j["settings"]["constrained"] == true);
  CHECK(j["repairs"]["orphan_note_offs"] == 0);  // masked, never drawn
  CHECK(j["repairs"]["same_step_restrikes"] == 0);
  CHECK(j["program"] == 52);  // the chorales' choir, read from training.json
  CHECK(j["tempo_bpm"] == 100.0);
  auto oracle = run_program({"/usr/bin/python3", kOracle, "valid", dir.file("out/sample.mid")});
  INFO(oracle.out << oracle.err);
  CHECK(oracle.exit_code == 0);
}

TEST_CASE("sample: midi-bach's pitch classes are closer to the chorales than to twelve-tone rows",
          "[midi_models]") {
  TempDir dir;
  chorales(dir.file("bach"), "test", 77);
  std::vector<std::string> files;
  for (int seed = 0; seed < 20; ++seed) {
    sonify::SampleRequest req;
    req.model_path = kBach;
    req.seconds = 12;
    req.seed = static_cast<std::uint64_t>(seed);
    req.out_dir = dir.file("samples");
    req.name = "s" + std::to_string(seed);
    req.midi_only = true;
    auto run = sonify::run_sample(req);
    INFO((run.ok() ? "" : run.error().message));
    REQUIRE(run.ok());
    files.push_back(run->files.front());
  }
  std::vector<std::string> args = {"/usr/bin/python3", kOracle, "bach", dir.file("bach")};
  args.insert(args.end(), files.begin(), files.end());
  auto r = run_program(args);
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  // The control: twelve-tone rows are not mistaken for Bach, so the check can fail.
  auto rows = run_program({"/usr/bin/python3", kOracle, "rows", dir.file("rows"), "20"});
  REQUIRE(rows.exit_code == 0);
  args.resize(4);
  for (const std::string& f : list_dir(dir.file("rows"))) args.push_back(dir.file("rows/") + f);
  auto control = run_program(args);
  INFO(control.out);
  CHECK(control.exit_code == 1);
  CHECK(control.out.find("closer to Bach: 0 of 20") != std::string::npos);
}

TEST_CASE("train --midi: a corpus of drums alone trains a drum model; sample and prompt play it as a kit",
          "[midi_models]") {
  sonify::test::use_private_cache();
  TempDir dir;
  auto gen = run_program({"/usr/bin/python3", kSource + "/scripts/genre_corpora.py", "hiphop",
                          dir.file("corpus"), "--count", "12", "--seed", "0"});
  INFO(gen.err);
  REQUIRE(gen.exit_code == 0);
  auto t = run_sonify(tiny_train(dir.file("corpus"), dir.file("drums")));
  INFO(t.err);
  REQUIRE(t.exit_code == 0);
  const json log = json::parse(read_file(dir.file("drums/training.json")));
  CHECK(log["midi"]["drums"] == true);
  CHECK(log["midi"]["drum_notes_left"] == 0);  // the kit's keys are the notes
  CHECK(log["midi"]["notes"] > 1000);
  auto s = run_sonify({"sample", "--model", dir.file("drums"), "--seconds", "4", "--seed", "2", "--midi-only",
                       "-q", "-o", dir.file("out")});
  INFO(s.err);
  REQUIRE(s.exit_code == 0);
  CHECK(json::parse(read_file(dir.file("out/sample.json")))["drums"] == true);
  // Every note on the drum channel (mido numbers it 9).
  auto channels = run_program(
      {"/usr/bin/python3", "-c",
       "import mido, sys; m = mido.MidiFile(sys.argv[1]); "
       "print(sorted({x.channel for t in m.tracks for x in t if x.type == 'note_on' and x.velocity > 0}))",
       dir.file("out/sample.mid")});
  INFO(channels.err);
  CHECK(channels.out == "[9]\n");
  // A drum MIDI as the prompt keeps its drums, as training did.
  auto p =
      run_sonify({"prompt", "--model", dir.file("drums"), "--midi-prompt", dir.file("corpus/hiphop-0000.mid"),
                  "--truncate", "--midi-only", "-o", dir.file("out")});
  INFO(p.err);
  REQUIRE(p.exit_code == 0);
  const json pj = json::parse(read_file(dir.file("out/hiphop-0000.json")));
  CHECK(pj["midi_prompt"]["drum_notes_left"] == 0);
  CHECK(pj["midi_prompt"]["tokens"] == 64);
  // The ids and word starts against mido's reading of the drum prompt.
  auto oracle =
      run_program({"/usr/bin/python3", kSource + "/tests/sample/prompt_midi_check.py", "tokens",
                   dir.file("corpus/hiphop-0000.mid"), dir.file("drums"), dir.file("out/hiphop-0000.json")});
  INFO(oracle.out << oracle.err);
  CHECK(oracle.exit_code == 0);
}

TEST_CASE("train --midi and sample: bad input is one line and writes nothing", "[midi_models]") {
  TempDir dir;
  chorales(dir.file("few"), "test", 3);
  std::filesystem::create_directories(dir.file("text"));
  sonify::test::write_file(dir.file("text/notes.txt"), "no music here\n");
  // A MIDI model whose tokenizer file names another scheme.
  REQUIRE(run_program({"/bin/cp", "-r", kBach, dir.file("remi")}).exit_code == 0);
  std::string tok = read_file(dir.file("remi/midi_tokenizer.json"));
  tok.replace(tok.find("\"MIDILike\""), 10, "\"REMI\"");
  sonify::test::write_file(dir.file("remi/midi_tokenizer.json"), tok);

  expect_one_line_error(run_sonify({"sample", "--seconds", "0", "-o", dir.file("o1")}), "--seconds");
  expect_one_line_error(run_sonify({"sample", "--count", "0", "-o", dir.file("o1")}), "--count");
  expect_one_line_error(
      run_sonify({"sample", "--model", kSource + "/data/models/sonify-tiny", "-o", dir.file("o2")}),
      "not a MIDI event model");
  expect_one_line_error(run_sonify({"sample", "--model", dir.file("remi"), "-o", dir.file("o3")}), "REMI");
  expect_one_line_error(run_sonify({"train", "--midi", dir.file("text"), "--out", dir.file("o4")}),
                        "no MIDI files");
  expect_one_line_error(run_sonify({"train", "--midi", dir.file("text/notes.txt"), "--out", dir.file("o5")}),
                        "notes.txt: not a MIDI file");
  expect_one_line_error(run_sonify({"train", "--midi", dir.file("few"), "--out", dir.file("o6"),
                                    "--val-fraction", "0.4", "--context", "2048"}),
                        "too small");
  for (const char* out : {"o1", "o2", "o3", "o4", "o5", "o6"})
    CHECK((!std::filesystem::exists(dir.file(out)) || list_dir(dir.file(out)).empty()));
}
