// run_weights called directly (no subprocess) on the bundled model: the committed set,
// the provenance JSON against the checkpoint and an independent hash, determinism, and
// that a failed run leaves no file behind.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "sonify/analysis.h"
#include "sonify/model.h"
#include "sonify/pipeline_weights.h"
#include "test_support.h"

using nlohmann::json;
using sonify::test::list_dir;
using sonify::test::read_file;
using sonify::test::TempDir;
namespace fs = std::filesystem;

namespace {

const std::string kModel = std::string(SONIFY_SOURCE_DIR) + "/data/models/sonify-tiny";

sonify::WeightsRequest request(const std::string& out_dir, const std::string& genre = "acid") {
  sonify::WeightsRequest r;
  r.model_path = kModel;
  r.genre = genre;
  r.out_dir = out_dir;
  r.midi_only = true;
  r.sets = {"bars=4"};
  return r;
}

}  // namespace

TEST_CASE("run_weights commits MIDI and a JSON that names the model, options and tensors",
          "[pipeline][weights]") {
  sonify::test::use_private_cache();
  TempDir dir;
  const std::string out = dir.file("new/deeper");  // created when missing, like every -o DIR
  auto run = sonify::run_weights(request(out));
  INFO((run.ok() ? "" : run.error().message));
  REQUIRE(run.ok());
  CHECK(run->files == std::vector<std::string>{out + "/acid.mid", out + "/acid.json"});
  CHECK(list_dir(out) == std::vector<std::string>{"acid.json", "acid.mid"});
  CHECK(read_file(out + "/acid.mid").rfind("MThd", 0) == 0);

  const json j = json::parse(read_file(out + "/acid.json"));
  CHECK(j["genre"] == "acid");
  CHECK(j["model"]["path"] == kModel);
  CHECK(j["options"]["params"]["bars"] == "4");
  CHECK(j["options"]["set"] == json::array({"bars=4"}));
  CHECK(j["options"]["midi_only"] == true);
  CHECK(j["render"].is_null());
  // The file hash against Python's hashlib, an implementation independent of sonify's.
  auto h = sonify::test::run_program(
      {"/usr/bin/python3", "-c",
       "import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],'rb').read()).hexdigest())",
       kModel + "/model.safetensors"});
  REQUIRE(h.exit_code == 0);
  REQUIRE(j["model"]["files"].size() == 1);
  CHECK(j["model"]["files"][0]["sha256"].get<std::string>() + "\n" == h.out);
  CHECK(j["model"]["files"][0]["size_bytes"] == fs::file_size(kModel + "/model.safetensors"));
  // The summary agrees with the record, and the key is the first section's.
  CHECK(j["tempo_bpm"] == run->tempo_bpm);
  CHECK(j["tempo_bpm"].get<double>() ==
        Approx(138).epsilon(1e-5));  // acid's registry default, as MIDI stores it
  REQUIRE(!j["sections"].empty());
  CHECK(j["sections"].size() == run->sections);
  CHECK(j["key"]["root_name"] == run->key_root);
  CHECK(j["key"]["mode"] == run->key_mode);
  CHECK(j["sections"][0]["root_name"] == j["key"]["root_name"]);
  CHECK(j["sections"].back()["end_bar"] == 4);
  // Every tensor named in the provenance is a tensor of the checkpoint, or a transition
  // between two layers' tensors of one role ("v 0->1").
  auto model = sonify::Model::open(kModel);
  REQUIRE(model.ok());
  std::set<std::string> stored;
  for (const auto& t : model->checkpoint().tensors()) stored.insert(t.name);
  const std::regex transition("[a-z_]+ [0-9]+->[0-9]+");
  std::size_t named = 0;
  REQUIRE(!j["provenance"].empty());
  for (const auto& p : j["provenance"]) {
    CHECK(!p["statistics"].empty());
    for (const auto& t : p["tensors"]) {
      INFO(t);
      CHECK((stored.count(t.get<std::string>()) == 1 || std::regex_match(t.get<std::string>(), transition)));
      ++named;
    }
  }
  CHECK(named > 0);
  REQUIRE(j["tracks"].size() >= 2);
  for (const auto& t : j["tracks"]) CHECK(t["notes"].get<int>() > 0);
}

TEST_CASE("run_weights is deterministic and reuses the analysis cache", "[pipeline][weights]") {
  sonify::test::use_private_cache();
  TempDir a, b;
  for (const auto& g : {"acid", "house", "suite", "opera"}) {
    INFO(g);
    auto r = request(a.path(), g);
    r.sets = {"bars=8", "max_minutes=1000"};  // house needs 8 bars; opera is long at any length
    auto first = sonify::run_weights(r);
    r.out_dir = b.path();
    auto second = sonify::run_weights(r);
    REQUIRE(first.ok());
    REQUIRE(second.ok());
    CHECK(second->analysis_from_cache);
    CHECK(read_file(a.file(std::string(g) + ".mid")) == read_file(b.file(std::string(g) + ".mid")));
  }
}

TEST_CASE("run_weights renders a WAV into the set, and --midi-only drops a stale one",
          "[pipeline][weights][render]") {
  sonify::test::use_private_cache();
  TempDir dir;
  auto r = request(dir.path());
  r.midi_only = false;
  r.sets = {"bars=2"};
  auto run = sonify::run_weights(r);
  INFO((run.ok() ? "" : run.error().message));
  REQUIRE(run.ok());
  CHECK(run->files ==
        std::vector<std::string>{dir.file("acid.mid"), dir.file("acid.wav"), dir.file("acid.json")});
  CHECK(list_dir(dir.path()) == std::vector<std::string>{"acid.json", "acid.mid", "acid.wav"});
  const json j = json::parse(read_file(dir.file("acid.json")));
  CHECK(std::abs(j["render"]["loudness_lufs"].get<double>() + 14) < 1.5);
  CHECK(read_file(dir.file("acid.wav")).rfind("RIFF", 0) == 0);
  REQUIRE(sonify::run_weights(request(dir.path())).ok());
  CHECK(list_dir(dir.path()) == std::vector<std::string>{"acid.json", "acid.mid"});
}

TEST_CASE("run_weights reports the progress of analysis, hashing and rendering",
          "[pipeline][weights][render]") {
  TempDir dir, cache;
  // A cache of its own, so the analysis and the hashing run here.
  const char* before = std::getenv("XDG_CACHE_HOME");
  const std::string saved = before != nullptr ? before : "";
  REQUIRE(::setenv("XDG_CACHE_HOME", cache.path().c_str(), 1) == 0);
  auto r = request(dir.path());
  r.midi_only = false;
  r.sets = {"bars=2"};
  std::vector<std::pair<std::string, sonify::StepProgress>> steps;
  r.progress = [&](const sonify::StepProgress& p) { steps.emplace_back(p.verb, p); };
  auto run = sonify::run_weights(r);
  if (before != nullptr)
    ::setenv("XDG_CACHE_HOME", saved.c_str(), 1);
  else
    ::unsetenv("XDG_CACHE_HOME");
  INFO((run.ok() ? "" : run.error().message));
  REQUIRE(run.ok());
  // Progress: analysis, hashing, rendering in that order, each advancing to its end.
  std::vector<std::string> order;
  for (const auto& [verb, p] : steps) {
    if (order.empty() || order.back() != verb) order.push_back(verb);
    CHECK(p.done <= p.total);
  }
  CHECK(order == std::vector<std::string>{"analysing", "hashing", "rendering"});
  for (const std::string verb : {"analysing", "hashing", "rendering"}) {
    INFO(verb);
    double last = -1;
    const sonify::StepProgress* end = nullptr;
    for (const auto& [v, p] : steps)
      if (v == verb) {
        CHECK(p.work >= last);
        last = p.work;
        end = &p;
      }
    REQUIRE(end != nullptr);
    CHECK(end->work == Approx(1.0));
    CHECK(end->done == end->total);
  }
}

TEST_CASE("a cached list of weight hashes that does not cover the files is hashed again",
          "[pipeline][weights]") {
  sonify::test::use_private_cache();
  auto model = sonify::Model::open(kModel);
  REQUIRE(model.ok());
  auto id = sonify::checkpoint_identity(*model);
  auto dir = sonify::cache_dir();
  REQUIRE(id.ok());
  REQUIRE(dir.ok());
  const std::string cache = *dir + "/sha256-" + *id + ".json";
  fs::create_directories(*dir);
  auto h = sonify::test::run_program(
      {"/usr/bin/python3", "-c",
       "import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],'rb').read()).hexdigest())",
       kModel + "/model.safetensors"});
  REQUIRE(h.exit_code == 0);
  for (const std::string stale : {R"([{"path": "x"}])", R"([])", R"({"not": "a list"})"}) {
    INFO(stale);
    sonify::test::write_file(cache, stale);
    TempDir out;
    REQUIRE(sonify::run_weights(request(out.path())).ok());
    const json j = json::parse(read_file(out.file("acid.json")));
    REQUIRE(j["model"]["files"].size() == 1);
    CHECK(j["model"]["files"][0]["sha256"].get<std::string>() + "\n" == h.out);
    CHECK(json::parse(read_file(cache))[0]["sha256"] == j["model"]["files"][0]["sha256"]);  // stored again
  }
}

TEST_CASE("a run_weights whose analysis fails reports the analysis's error, not the hashing's",
          "[pipeline][weights]") {
  // The bundled model with one NaN in a projection: the analysis refuses it while the
  // hashing runs beside it, and is told to stop.
  sonify::test::use_private_cache();
  TempDir model, out;
  for (const auto& e : fs::directory_iterator(kModel))
    fs::copy(e.path(), model.file(e.path().filename().string()));
  const std::string path = model.file("model.safetensors");
  std::string bytes = read_file(path);
  std::uint64_t header = 0;
  std::memcpy(&header, bytes.data(), 8);
  const json h = json::parse(bytes.substr(8, header));
  const auto& t = h.at("transformer.h.0.attn.c_attn.weight");
  REQUIRE(t.at("dtype") == "F32");
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::memcpy(&bytes[8 + header + t.at("data_offsets")[0].get<std::size_t>() + 4 * 7], &nan, 4);
  sonify::test::write_file(path, bytes);
  auto r = request(out.path());
  r.model_path = model.path();
  auto run = sonify::run_weights(r);
  REQUIRE_FALSE(run.ok());
  CHECK(run.error().message.find("non-finite") != std::string::npos);
  CHECK(run.error().message.find("hashing") == std::string::npos);
  CHECK(list_dir(out.path()).empty());
}

TEST_CASE("a failed run_weights leaves no partial file and keeps the previous set", "[pipeline][weights]") {
  sonify::test::use_private_cache();
  TempDir dir;
  REQUIRE(sonify::run_weights(request(dir.path())).ok());
  const std::string mid = read_file(dir.file("acid.mid")), record = read_file(dir.file("acid.json"));

  struct Case {
    std::string what;
    sonify::WeightsRequest request;
    std::string message;
  };
  std::vector<Case> cases;
  auto add = [&](std::string what, auto edit, std::string message) {
    sonify::WeightsRequest r = request(dir.path());
    edit(r);
    cases.push_back({std::move(what), r, std::move(message)});
  };
  // The render fails after the MIDI was written to its temporary name.
  add(
      "soundfont", [](auto& r) { r.midi_only = false, r.soundfont = "/nonexistent/x.sf2"; }, "x.sf2");
  add(
      "genre", [](auto& r) { r.genre = "polka"; }, "valid genres: acid, house, suite, opera");
  add(
      "parameter", [](auto& r) { r.sets = {"tempo=120"}; }, "has no parameter 'tempo'");
  add(
      "range", [](auto& r) { r.sets = {"bpm=1000"}; }, "out of range");
  add(
      "model", [](auto& r) { r.model_path = "/nonexistent/model"; }, "/nonexistent/model");
  for (const Case& c : cases) {
    INFO(c.what);
    auto run = sonify::run_weights(c.request);
    REQUIRE_FALSE(run.ok());
    CHECK(run.error().message.find(c.message) != std::string::npos);
    CHECK(run.error().message.find('\n') == std::string::npos);
    CHECK(list_dir(dir.path()) == std::vector<std::string>{"acid.json", "acid.mid"});
    CHECK(read_file(dir.file("acid.mid")) == mid);
    CHECK(read_file(dir.file("acid.json")) == record);
  }
  // An output path that is a file is refused before anything is written.
  sonify::test::write_file(dir.file("plain"), "x");
  auto run = sonify::run_weights(request(dir.file("plain")));
  REQUIRE_FALSE(run.ok());
  CHECK(run.error().message.find("is not a directory") != std::string::npos);
}
