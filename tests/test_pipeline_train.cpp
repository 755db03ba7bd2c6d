// run_train called directly (no subprocess): the model directory it commits, the record
// in training.json, the stop flag (what Ctrl-C sets), and refusals that leave nothing.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "sonify/pipeline_train.h"
#include "test_support.h"

using nlohmann::json;
using sonify::test::list_dir;
using sonify::test::read_file;
using sonify::test::TempDir;
namespace fs = std::filesystem;

namespace {

// The plugin sits beside the sonify binary, not beside the test.
struct PluginDir {
  PluginDir() { ::setenv("SONIFY_PLUGIN_DIR", SONIFY_PLUGIN_DIR, 1); }
} plugin_dir;

// The first 300 lines of the bundled corpus.
std::string corpus(const TempDir& dir) {
  std::ifstream in(std::string(SONIFY_SOURCE_DIR) + "/data/corpus/sentences.txt");
  REQUIRE(in.good());
  std::string text, line;
  for (int i = 0; i < 300 && std::getline(in, line); ++i) text += line + "\n";
  sonify::test::write_file(dir.file("corpus.txt"), text);
  return dir.file("corpus.txt");
}

sonify::TrainRunRequest tiny(const TempDir& dir, const std::string& out) {
  sonify::TrainRunRequest r;
  r.corpus = {corpus(dir)};
  r.out = out;
  r.config.layers = 1;
  r.config.dim = 32;
  r.config.heads = 4;
  r.config.context = 32;
  r.config.steps = 20;
  r.config.batch = 4;
  r.config.threads = 1;
  r.vocab_size = 300;
  return r;
}

}  // namespace

TEST_CASE("run_train writes a model directory and a training record", "[pipeline][train]") {
  TempDir dir;
  auto request = tiny(dir, dir.file("runs/new/model"));  // missing parents are created
  int steps_seen = 0, evals_seen = 0;
  request.progress = [&](int step, double, double, const sonify::TrainEval* eval) {
    CHECK(step == ++steps_seen);  // once per step, with the evaluation when there was one
    if (eval != nullptr) ++evals_seen;
  };
  auto run = sonify::run_train(request);
  INFO((run.ok() ? "" : run.error().message));
  REQUIRE(run.ok());
  CHECK(list_dir(dir.file("runs/new/model")) ==
        std::vector<std::string>{"config.json", "model.safetensors", "tokenizer.json",
                                 "tokenizer_config.json", "training.json"});
  CHECK(list_dir(dir.file("runs/new")) == std::vector<std::string>{"model"});  // no temporary left
  CHECK(run->steps_done == 20);
  CHECK(steps_seen == 20);
  CHECK_FALSE(run->interrupted);
  CHECK(run->parameters > 0);
  const json log = json::parse(read_file(dir.file("runs/new/model/training.json")));
  CHECK(log["steps_done"] == 20);
  CHECK(log["parameters"] == run->parameters);
  CHECK(log["final_val_loss"] == run->final_val_loss);
  CHECK(log["unigram_val_loss"] == run->unigram_val_loss);
  CHECK(log["history"].size() == static_cast<std::size_t>(evals_seen));
  CHECK(log["command"] ==
        "sonify train --corpus " + dir.file("corpus.txt") + " --out " + dir.file("runs/new/model") +
            " --arch gpt2 --layers 1 --dim 32 --heads 4 --context 32 --vocab-size 300 --steps 20"
            " --batch 4 --lr 0.003 --warmup 0 --val-fraction 0.1 --seed 0 --threads 1");
  const json config = json::parse(read_file(dir.file("runs/new/model/config.json")));
  CHECK(config["n_layer"] == 1);
  CHECK(config["vocab_size"] == log["tokenizer"]["vocab_size"]);
}

TEST_CASE("run_train stops when the stop flag is set and saves what was trained", "[pipeline][train]") {
  TempDir dir;
  std::atomic<bool> stop{false};
  auto request = tiny(dir, dir.file("m"));
  request.stop = &stop;
  request.progress = [&](int step, double, double, const sonify::TrainEval*) {
    if (step == 7) stop.store(true);
  };
  auto run = sonify::run_train(request);
  REQUIRE(run.ok());
  CHECK(run->interrupted);
  CHECK(run->steps_done == 7);
  const json log = json::parse(read_file(dir.file("m/training.json")));
  CHECK(log["interrupted"] == true);
  CHECK(log["steps_done"] == 7);

  // Stopped before the first step: nothing to save, and nothing is left behind.
  TempDir empty;
  stop.store(true);
  auto early = tiny(empty, empty.file("m"));
  early.stop = &stop;
  auto none = sonify::run_train(early);
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().message.find("nothing saved") != std::string::npos);
  CHECK(list_dir(empty.path()) == std::vector<std::string>{"corpus.txt"});
}

TEST_CASE("run_train refuses bad requests before training and leaves nothing", "[pipeline][train]") {
  TempDir dir;
  fs::create_directories(dir.file("full"));
  sonify::test::write_file(dir.file("full/keep"), "x");
  struct Case {
    std::string what;
    sonify::TrainRunRequest request;
    std::string message;
  };
  std::vector<Case> cases;
  auto add = [&](std::string what, auto edit, std::string message) {
    auto r = tiny(dir, dir.file("m"));
    edit(r);
    cases.push_back({std::move(what), r, std::move(message)});
  };
  add(
      "existing", [&](auto& r) { r.out = dir.file("full"); }, "use --force");
  add(
      "parent is a file", [&](auto& r) { r.out = dir.file("corpus.txt/m"); },
      "corpus.txt is not a directory");
  add(
      "val fraction", [](auto& r) { r.val_fraction = 0.7; }, "--val-fraction");
  add(
      "arch", [](auto& r) { r.config.arch = "bert"; }, "unknown architecture 'bert'");
  add(
      "heads", [](auto& r) { r.config.heads = 5; }, "must be a multiple of --heads");
  add(
      "corpus", [&](auto& r) { r.corpus = {dir.file("missing.txt")}; }, "corpus file not found");
  add(
      "context", [](auto& r) { r.config.context = 4000; }, "smaller than one context window");
  for (const Case& c : cases) {
    INFO(c.what);
    auto run = sonify::run_train(c.request);
    REQUIRE_FALSE(run.ok());
    CHECK(run.error().message.find(c.message) != std::string::npos);
    CHECK(list_dir(dir.path()) == std::vector<std::string>{"corpus.txt", "full"});
    CHECK(list_dir(dir.file("full")) == std::vector<std::string>{"keep"});
  }
}
