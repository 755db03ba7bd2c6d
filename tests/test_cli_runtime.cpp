// Bad inputs to `sonify trace` and `sonify generate`: each gives one error line, a
// non-zero exit and no output file. None of these needs libtorch, so they also run in
// the sanitizer build (which has no plugin).
#include <catch2/catch.hpp>
#include <filesystem>

#include "test_support.h"

using sonify::test::fixtures_dir;
using sonify::test::list_dir;
using sonify::test::read_file;
using sonify::test::run_program;
using sonify::test::run_sonify;
using sonify::test::TempDir;
using sonify::test::write_file;

namespace {

std::string gpt2() { return fixtures_dir() + "/models/tiny-gpt2-random"; }

std::string count_ids(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += (i ? "," : "") + std::to_string(i % 500);
  return s;
}

// One stderr line starting "sonify: error:" that contains `needle`.
void check_one_line_error(const sonify::test::RunResult& r, const std::string& needle) {
  INFO(r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.err.rfind("sonify: error: ", 0) == 0);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK(r.err.find(needle) != std::string::npos);
}

}  // namespace

TEST_CASE("trace and generate refuse bad prompts and outputs before running anything") {
  struct Row {
    std::string what;
    std::vector<std::string> args;  // after the command name and --model
    std::string needle;
  };
  const std::vector<Row> rows = {
      {"id out of range",
       {"--ids", "1,512,3"},
       "id 512 is out of range for the model's vocabulary of 512 tokens"},
      {"negative id", {"--ids", "1,-2"}, "'-2' is not a token id"},
      {"not a number", {"--ids", "1,x"}, "'x' is not a token id"},
      {"empty item", {"--ids", "1,,2"}, "'' is not a token id"},
      {"no prompt", {}, "no prompt: give the text as an argument"},
      {"text for a model without tokenizer.json", {"hello"}, "tokenizer.json"},
      {"more ids than the context",
       {"--ids", count_ids(65)},
       "the prompt is 65 tokens, longer than the model's context of 64"},
  };
  for (const std::string command : {"trace", "generate"})
    for (const Row& row : rows) {
      INFO(command << ": " << row.what);
      TempDir dir;
      std::vector<std::string> args = {command, "--model", gpt2()};
      args.insert(args.end(), row.args.begin(), row.args.end());
      if (command == "trace") args.insert(args.end(), {"-o", dir.file("t.safetensors")});
      check_one_line_error(run_sonify(args), row.needle);
      CHECK(list_dir(dir.path()).empty());
    }
}

TEST_CASE("trace refuses an unwritable output before the forward pass") {
  auto r = run_sonify({"trace", "--model", gpt2(), "--ids", "1,2", "-o", "/nonexistent-dir/t.safetensors"});
  check_one_line_error(r, "/nonexistent-dir/t.safetensors");
  CHECK(!std::filesystem::exists("/nonexistent-dir"));
}

TEST_CASE("trace refuses unknown architectures and checkpoints that do not match their config") {
  TempDir dir;
  const std::string model = dir.file("model");
  std::filesystem::create_directory(model);
  std::filesystem::copy_file(gpt2() + "/model.safetensors", model + "/model.safetensors");
  std::string config = read_file(gpt2() + "/config.json");
  write_file(model + "/config.json", std::string(config).replace(config.find("\"gpt2\""), 6, "\"bert\""));
  check_one_line_error(run_sonify({"trace", "--model", model, "--ids", "1", "-o", dir.file("t.safetensors")}),
                       "unknown model_type 'bert'");
  write_file(model + "/config.json",
             std::string(config).replace(config.find("\"n_embd\": 64"), 12, "\"n_embd\": 32"));
  check_one_line_error(run_sonify({"generate", "--model", model, "--ids", "1"}), "but the config needs");
  CHECK(list_dir(dir.path()) == std::vector<std::string>{"model"});
}

TEST_CASE("a sonify without its libtorch plugin says so in one line and writes nothing") {
  TempDir dir;
  std::filesystem::create_directory(dir.file("no-plugin"));
  for (const std::string command : {"trace", "generate"}) {
    std::vector<std::string> argv = {"/usr/bin/env", "SONIFY_PLUGIN_DIR=" + dir.file("no-plugin"),
                                     SONIFY_BIN,     command,
                                     "--model",      gpt2(),
                                     "--ids",        "1,2"};
    if (command == "trace") argv.insert(argv.end(), {"-o", dir.file("t.safetensors")});
    check_one_line_error(run_program(argv), "was sonify built with SONIFY_WITH_TORCH=ON?");
  }
  CHECK(list_dir(dir.path()) == std::vector<std::string>{"no-plugin"});
}

TEST_CASE("generate refuses a negative seed as a usage error") {
  auto r = run_sonify({"generate", "--model", gpt2(), "--ids", "1", "--temperature", "1", "--seed", "-1"});
  CHECK(r.exit_code == 2);
}
