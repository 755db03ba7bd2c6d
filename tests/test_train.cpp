// `sonify train` end to end: loss goes down, runs are reproducible, the saved model
// matches an independent numpy forward of the in-memory logits, bad input is refused.
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "test_support.h"

using namespace sonify::test;
namespace fs = std::filesystem;

namespace {

std::string corpus_1k(const TempDir& dir) {
  std::ifstream in(std::string(SONIFY_SOURCE_DIR) + "/data/corpus/sentences.txt");
  REQUIRE(in.good());
  std::string text, line;
  for (int i = 0; i < 600 && std::getline(in, line); ++i) text += line + "\n";
  const std::string path = dir.file("corpus.txt");
  write_file(path, text);
  return path;
}

std::vector<std::string> tiny(const std::string& corpus, const std::string& out,
                              const std::string& arch = "gpt2") {
  return {"train", "--corpus", corpus, "-o",           out,   "--arch",    arch, "--layers",
          "2",     "--dim",    "32",   "--heads",      "4",   "--context", "32", "--steps",
          "60",    "--batch",  "8",    "--vocab-size", "320", "--threads", "1",  "-q"};
}

}  // namespace

TEST_CASE("train lowers the validation loss and beats the unigram baseline", "[train]") {
  TempDir dir;
  const std::string corpus = corpus_1k(dir);
  auto r = run_sonify(tiny(corpus, dir.file("m")));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto log = nlohmann::json::parse(read_file(dir.file("m/training.json")));
  const auto& hist = log["history"];
  REQUIRE(hist.size() >= 2);
  const double first = hist.front()["val_loss"], last = hist.back()["val_loss"];
  CHECK(last < first - 0.3);
  CHECK(last < log["unigram_val_loss"].get<double>());
  CHECK(log["steps_done"] == 60);
  for (const char* f : {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"})
    CHECK(fs::exists(dir.file(std::string("m/") + f)));
  // sonify reads its own output like any Hugging Face model.
  auto inspect = run_sonify({"inspect", "--model", dir.file("m"), "--json"});
  REQUIRE(inspect.exit_code == 0);
  auto j = nlohmann::json::parse(inspect.out);
  CHECK(j.dump().find("\"gpt2\"") != std::string::npos);
  // Its tokenizer.json is read back by sonify's tokenizer: a corpus line round-trips, and
  // the prompt starts with the document separator, as every training document did.
  auto tok = run_sonify({"tokenize", "--model", dir.file("m"), "The baker stirred a pot of soup.", "--json"});
  INFO(tok.err);
  REQUIRE(tok.exit_code == 0);
  auto t = nlohmann::json::parse(tok.out);
  CHECK(t.dump().find("<|endoftext|>") != std::string::npos);
  auto gen = run_sonify({"generate", "--model", dir.file("m"), "The baker", "-n", "8", "--no-stop"});
  INFO(gen.err);
  CHECK(gen.exit_code == 0);
  CHECK(gen.out.rfind("The baker", 0) == 0);
}

TEST_CASE("train with the same seed writes the same weights; another seed does not", "[train]") {
  TempDir dir;
  const std::string corpus = corpus_1k(dir);
  auto a = tiny(corpus, dir.file("runs/new/a"));  // missing parents are created, as for every -o DIR
  auto b = tiny(corpus, dir.file("b"));
  auto c = tiny(corpus, dir.file("c"));
  c.insert(c.end(), {"--seed", "7"});
  REQUIRE(run_sonify(a).exit_code == 0);
  REQUIRE(run_sonify(b).exit_code == 0);
  REQUIRE(run_sonify(c).exit_code == 0);
  CHECK(read_file(dir.file("runs/new/a/model.safetensors")) == read_file(dir.file("b/model.safetensors")));
  CHECK(read_file(dir.file("runs/new/a/tokenizer.json")) == read_file(dir.file("b/tokenizer.json")));
  CHECK(read_file(dir.file("runs/new/a/model.safetensors")) != read_file(dir.file("c/model.safetensors")));
}

TEST_CASE("a saved model reproduces the in-memory logits (numpy oracle)", "[train]") {
  for (const std::string arch : {"gpt2", "llama"}) {
    SECTION(arch) {
      TempDir dir;
      const std::string corpus = corpus_1k(dir);
      auto args = tiny(corpus, dir.file("m"), arch);
      args.insert(args.end(), {"--save-check", dir.file("check.safetensors")});
      auto r = run_sonify(args);
      INFO(r.err);
      REQUIRE(r.exit_code == 0);
      auto o =
          run_program({"/usr/bin/python3", std::string(SONIFY_SOURCE_DIR) + "/tests/oracles/train_check.py",
                       dir.file("m"), dir.file("check.safetensors")});
      INFO(o.out << o.err);
      REQUIRE(o.exit_code == 0);
      const auto at = o.out.find("max_abs_diff=");
      REQUIRE(at != std::string::npos);
      const double diff = std::stod(o.out.substr(at + 13));
      CHECK(diff < 1e-4);
      CHECK(o.out.find("positions=32") != std::string::npos);
    }
  }
}

TEST_CASE("train refuses bad input with one line and leaves nothing behind", "[train]") {
  TempDir dir;
  const std::string corpus = corpus_1k(dir);
  write_file(dir.file("empty.txt"), "\n  \n\n");
  write_file(dir.file("small.txt"),
             "one short line\nand another\nand a third\nfour\nfive\nsix\nseven\neight\nnine\nten\n");
  write_file(dir.file("bad.txt"), "fine\n\xC3\x28 broken\n");
  struct Case {
    std::vector<std::string> args;
    std::string message;
    std::string out;
  };
  fs::create_directories(dir.file("ro"));
  fs::permissions(dir.file("ro"), fs::perms::owner_read | fs::perms::owner_exec);
  const bool root_ignores_permissions = ::access(dir.file("ro").c_str(), W_OK) == 0;
  std::vector<Case> cases = {
      {tiny(dir.file("missing.txt"), dir.file("m1")), "corpus file not found", dir.file("m1")},
      {tiny(dir.file("empty.txt"), dir.file("m2")), "empty", dir.file("m2")},
      {tiny(dir.file("small.txt"), dir.file("m3")), "smaller than one context window", dir.file("m3")},
      {tiny(dir.file("bad.txt"), dir.file("m4")), "invalid UTF-8 at byte offset 5", dir.file("m4")},
      {tiny(corpus, corpus + "/m5"), "corpus.txt is not a directory", corpus + "/m5"},
  };
  {
    auto set = [](std::vector<std::string> args, const std::string& option, const std::string& value) {
      *(std::find(args.begin(), args.end(), option) + 1) = value;
      return args;
    };
    auto bad_heads = set(tiny(corpus, dir.file("m7")), "--heads", "5");
    cases.push_back({bad_heads, "must be a multiple of --heads", dir.file("m7")});
    auto bad_arch = set(tiny(corpus, dir.file("m8")), "--arch", "bert");
    cases.push_back({bad_arch, "unknown architecture 'bert'", dir.file("m8")});
  }
  if (!root_ignores_permissions)
    cases.push_back({tiny(corpus, dir.file("ro/m6")), "not writable", dir.file("ro/m6")});
  for (const Case& c : cases) {
    auto r = run_sonify(c.args);
    INFO(c.message << " / " << r.err);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Catch::Contains(c.message));
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK_FALSE(fs::exists(c.out));
  }
  // An existing, non-empty output is not replaced without --force.
  write_file(dir.file("keep.txt"), "x");
  fs::create_directories(dir.file("full"));
  write_file(dir.file("full/file"), "x");
  auto r = run_sonify(tiny(corpus, dir.file("full")));
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("--force"));
  CHECK(read_file(dir.file("full/file")) == "x");
  fs::permissions(dir.file("ro"), fs::perms::owner_all);
}

TEST_CASE(
    "the bundled model: inspect without --model, below the unigram baseline, writes in the corpus's words",
    "[train]") {
  const std::string model = std::string(SONIFY_SOURCE_DIR) + "/data/models/sonify-tiny";
  REQUIRE(fs::exists(model + "/model.safetensors"));
  auto inspect = run_sonify({"inspect", "--json"});
  REQUIRE(inspect.exit_code == 0);
  CHECK(inspect.out.find("sonify-tiny") != std::string::npos);
  auto log = nlohmann::json::parse(read_file(model + "/training.json"));
  CHECK(log["final_val_loss"].get<double>() < 0.5 * log["unigram_val_loss"].get<double>());
  // Greedy continuations of corpus-like prompts use only words the corpus has.
  std::set<std::string> vocabulary;
  {
    std::ifstream in(std::string(SONIFY_SOURCE_DIR) + "/data/corpus/sentences.txt");
    std::string word;
    while (in >> word) vocabulary.insert(word);
  }
  for (const std::string prompt : {"The old sailor", "Tomorrow the painter will", "Why did the baker"}) {
    auto r = run_sonify({"generate", prompt, "--max-tokens", "40"});
    INFO(prompt << " -> " << r.out << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.rfind(prompt, 0) == 0);
    std::istringstream words(r.out);
    std::string word;
    int count = 0;
    while (words >> word) {
      CHECK(vocabulary.count(word) == 1);
      ++count;
    }
    CHECK(count >= 6);
  }
}
