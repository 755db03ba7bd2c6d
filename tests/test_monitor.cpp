// generate --monitor (issue 16, the notebooks' §20): the quantiser by hand, and on the bundled
// model the WAV against a float64 re-synthesis of the voice (tests/oracles/monitor_check.py),
// audio read from the pipe before generation ends, a SIGINT that leaves a finished WAV,
// identical bytes on a second run.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "sonify/synth.h"
#include "test_support.h"
#ifdef SONIFY_MONITOR_TORCH
#include <cstdlib>

#include "sonify/activation.h"
#include "sonify/model.h"
#include "sonify/runtime.h"
#include "sonify/tokenizer.h"
#endif

using nlohmann::json;
using sonify::test::read_file;
using sonify::test::run_program;
using sonify::test::run_sonify;
using sonify::test::TempDir;

TEST_CASE("monitor_note is §20's quantiser: MIDI 48 + 36 sigmoid(x), pentatonic, {1, 6} from the threshold",
          "[synth][monitor]") {
  // x = 0: target 66, pitch class 6 → 7 (pentatonic), or 6 itself once dissonance is allowed.
  CHECK(sonify::monitor_note(0, 0.2, 0.5) == 67);
  CHECK(sonify::monitor_note(0, 0.5, 0.5) == 66);
  // target 59.8 (class 11.8) goes down to 9, not up to the next octave's 0.
  CHECK(sonify::monitor_note(std::log(11.8 / 24.2), 0, 0.5) == 57);
  // target 49.5 (class 1.5): 2 without dissonance; with it, 1 and 2 are equally near and the lower wins.
  CHECK(sonify::monitor_note(std::log(1.5 / 34.5), 0, 0.5) == 50);
  CHECK(sonify::monitor_note(std::log(1.5 / 34.5), 1, 0.5) == 49);
  CHECK(sonify::monitor_note(60, 0, 0.5) == 84);
  CHECK(sonify::monitor_note(-60, 0, 0.5) == 48);
  CHECK(sonify::monitor_note(std::nan(""), 0, 0.5) == -1);
  CHECK(sonify::monitor_hz(69) == Approx(440.0));
  CHECK(sonify::monitor_hz(10) == 60.0);
  CHECK(sonify::monitor_hz(-1) == 0.0);
}

#ifdef SONIFY_MONITOR_TORCH
namespace {

const std::string kModel = std::string(SONIFY_SOURCE_DIR) + "/data/models/sonify-tiny";
const std::string kOracle = std::string(SONIFY_SOURCE_DIR) + "/tests/oracles/monitor_check.py";
const std::string kPairs = std::string(SONIFY_SOURCE_DIR) + "/configs/contrast/calm-tense.json";
constexpr std::size_t kStepFrames = 8820, kReleaseFrames = 441;

json oracle(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/usr/bin/python3", kOracle};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = run_program(argv);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return json::parse(r.out);
}

std::uint32_t le32(const std::string& bytes, std::size_t at) {
  std::uint32_t v = 0;
  std::memcpy(&v, bytes.data() + at, 4);
  return v;
}

}  // namespace

TEST_CASE("generate --monitor FILE: the voice oracle's samples, sizes right, same bytes twice",
          "[monitor][runtime]") {
  TempDir dir;
  const std::vector<std::string> args = {"generate", "Once upon a time", "-m", kModel, "-n",
                                         "24",       "--no-stop"};
  for (const char* name : {"a.wav", "b.wav"}) {
    auto with = args;
    with.insert(with.end(), {"--monitor", dir.file(name)});
    auto r = run_sonify(with);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
  }
  CHECK(read_file(dir.file("a.wav")) == read_file(dir.file("b.wav")));
  const json record = json::parse(read_file(dir.file("a.json")));
  CHECK(read_file(dir.file("b.json")) == read_file(dir.file("a.json")));
  // The monitor only listens: the tokens are those of a plain run.
  auto plain = args;
  plain.push_back("--json");
  auto p = run_sonify(plain);
  REQUIRE(p.exit_code == 0);
  CHECK(json::parse(p.out)["ids"] == record["ids"]);
  REQUIRE(record["tokens"].size() == 24);
  CHECK(record["score"]["source"] == "surprisal");

  const std::string wav = read_file(dir.file("a.wav"));
  const std::size_t data = 4 * (24 * kStepFrames + kReleaseFrames);
  REQUIRE(wav.size() == 44 + data);
  CHECK(le32(wav, 4) == 36 + data);
  CHECK(le32(wav, 40) == data);
  const json v = oracle({"voice", dir.file("a.wav"), dir.file("a.json")});
  INFO(v.dump());
  CHECK(v["frames"] == v["oracle_frames"]);
  CHECK(v["max_lsb_diff"].get<double>() <= 0.5 + 1e-6);  // the oracle's float64 samples round to the WAV's
  CHECK(v["max_table_diff"].get<double>() < 1e-9);
  CHECK(v["channels_equal"] == true);
  CHECK(v["peak"].get<double>() < 0.9);
  CHECK(v["notes"].size() >= 3);
}

TEST_CASE("generate --monitor -: audio comes out of the pipe before the last token is generated",
          "[monitor][runtime]") {
  TempDir dir;
  const json live = oracle({"live", SONIFY_BIN, kModel, dir.path()});
  INFO(live.dump());
  REQUIRE(live["rc"] == 0);
  CHECK(live["tokens"] == 100);
  // Both clocks are CLOCK_MONOTONIC: the first sample arrived while tokens were still to come.
  CHECK(live["first_audio_at"].get<double>() < live["last_logits_at"].get<double>());
  CHECK(live["running_at_first_audio"] == true);
  CHECK(live["tokens_logged_before_first_audio"].get<int>() < 100);
  // A pipe cannot be rewound: the header carries the largest sizes; the samples are a file run's.
  const std::string stream = read_file(dir.file("live.raw"));
  CHECK(le32(stream, 4) == 0xffffffffu);
  CHECK(le32(stream, 40) == 0xffffffffu);
  auto r = run_sonify({"generate", "Once upon a time", "-m", kModel, "-n", "100", "--no-stop", "--monitor",
                       dir.file("file.wav")});
  REQUIRE(r.exit_code == 0);
  CHECK(stream.substr(44) == read_file(dir.file("file.wav")).substr(44));
  CHECK(read_file(dir.file("live.json")) == read_file(dir.file("file.json")));
}

TEST_CASE("generate --monitor --direction: SIGINT mid-way leaves a finished, shorter WAV and its record",
          "[monitor][runtime]") {
  TempDir dir;
  const json cut = oracle({"sigint", SONIFY_BIN, kModel, dir.path(), kPairs});
  INFO(cut.dump());
  REQUIRE(cut["sent"] == true);
  CHECK(cut["rc"] == 0);
  CHECK(cut["files"] == json({"cut.json", "cut.timing.json", "cut.wav"}));  // no partial file
  const json record = json::parse(read_file(dir.file("cut.json")));
  CHECK(record["stop_reason"] == "interrupted");
  CHECK(record["score"]["source"] == "direction");
  const std::size_t tokens = record["tokens"].size();
  CHECK(tokens >= 2);
  CHECK(tokens < 120);
  CHECK(read_file(dir.file("cut.wav")).size() == 44 + 4 * (tokens * kStepFrames + kReleaseFrames));
  const json v = oracle({"voice", dir.file("cut.wav"), dir.file("cut.json")});
  INFO(v.dump());
  CHECK(v["frames"] == v["oracle_frames"]);
  CHECK(v["max_lsb_diff"].get<double>() <= 0.5 + 1e-6);
  CHECK(v["max_table_diff"].get<double>() < 1e-9);
}

TEST_CASE(
    "generate --monitor --direction: each token's score from its cached step is the full-recompute score",
    "[monitor][runtime]") {
  // The monitor takes the new token's hidden states from the KV-cached step that appended it;
  // the reference here is what it did before: a forward pass over the whole sequence so far,
  // the last row's tension. Float32 rounding differs between the two passes (measured up to
  // 3.2e-6 on these models, for tensions of order 1), hence the tolerance.
  setenv("SONIFY_PLUGIN_DIR", SONIFY_PLUGIN_DIR, 1);
  for (const std::string& path : {kModel, sonify::test::fixtures_dir() + "/models/TinyStories-656K"}) {
    INFO(path);
    TempDir dir;
    auto r = run_sonify({"generate", "Once upon a time", "-m", path, "-n", "40", "--no-stop", "--threads",
                         "1", "--monitor", dir.file("m.wav"), "--direction", kPairs});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const json record = json::parse(read_file(dir.file("m.json")));
    REQUIRE(record["tokens"].size() == 40);

    auto model = sonify::Model::open(path);
    REQUIRE(model.ok());
    auto tokenizer = sonify::Tokenizer::from_model_path(path);
    REQUIRE(tokenizer.ok());
    auto runtime = sonify::runtime_open(*model);
    REQUIRE(runtime.ok());
    auto set = sonify::contrast_set_read(kPairs);
    REQUIRE(set.ok());
    auto direction = sonify::contrast_direction_fit(**runtime, *tokenizer, *set, "mean");
    REQUIRE(direction.ok());
    std::vector<std::int64_t> ids = record["prompt_ids"].get<std::vector<std::int64_t>>();
    double worst = 0;
    for (const json& t : record["tokens"]) {
      ids.push_back(t["id"].get<std::int64_t>());
      sonify::CaptureRequest capture = sonify::hidden_states_request();
      auto trace = (*runtime)->forward(ids, capture);
      REQUIRE(trace.ok());
      auto h = sonify::hidden_states_from_trace(*trace);
      REQUIRE(h.ok());
      const double full = sonify::contrast_token_tension(*direction, *h).back();
      worst = std::max(worst, std::abs(t["tension"].get<double>() - full));
      CHECK(t["raw_score"].get<double>() == Approx(sonify::tension_level(full)).margin(3e-5));
    }
    INFO("largest |cached - full| tension " << worst);
    CHECK(worst <= 3e-5);
  }
}

TEST_CASE("generate --monitor: bad options are one line, nothing written", "[monitor][runtime]") {
  TempDir dir;
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--monitor", dir.file("a.mp3")}, "give a .wav file"},
      {{"--direction", kPairs}, "add --monitor"},
      {{"--monitor", "-", "--json"}, "--json prints to stdout"},
      {{"--monitor", dir.file("a.wav"), "--monitor-json", dir.file("x.json")}, "only with --monitor -"},
      {{"--monitor", dir.file("a.wav"), "--direction", dir.file("none.json")}, "none.json"},
  };
  for (const auto& [extra, says] : cases) {
    std::vector<std::string> args = {"generate", "Once", "-m", kModel, "-n", "3"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = run_sonify(args);
    INFO(r.err);
    CHECK(r.exit_code != 0);
    CHECK(r.err.find(says) != std::string::npos);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  }
  CHECK(sonify::test::list_dir(dir.path()).empty());
}
#endif
