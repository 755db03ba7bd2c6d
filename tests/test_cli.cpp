// The command line end to end: `sonify inspect` on the fixtures, and every bad input
// ending in one stderr line and a non-zero exit, never a crash or a partial file.
#include <sched.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "sonify/system_probe.h"
#include "test_support.h"

using sonify::test::le64;
using sonify::test::run_sonify;
using sonify::test::TempDir;

namespace {

// Exactly one line on stderr, "sonify: error: ...", exit code 1 (2 for usage), no signal.
void check_clean_error(const sonify::test::RunResult& r, const std::string& needle, int code = 1) {
  INFO("stderr: " << r.err);
  CHECK(r.signal == 0);
  CHECK(r.exit_code == code);
  CHECK_THAT(r.err, Catch::StartsWith("sonify: error: "));
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK_THAT(r.err, Catch::Contains(needle));
  CHECK(r.out.empty());
}

}  // namespace

TEST_CASE("inspect --json describes each fixture model", "[cli][fixtures]") {
  const std::string models = sonify::test::fixtures_dir() + "/models/";
  struct Row {
    const char* dir;
    const char* family;
    int layers, hidden, heads, kv_heads, head_dim, intermediate, vocab, context;
    std::int64_t params;
  };
  const std::vector<Row> rows = {
      {"TinyStories-656K", "llama", 2, 128, 8, 4, 16, 384, 2048, 512, 656000},
      {"tiny-gpt2-random", "gpt2", 3, 64, 4, 4, 16, 256, 512, 64, 186944},
      {"tiny-gemma3-random", "gemma3", 4, 48, 2, 1, 16, 96, 300, 64, 89072},
  };
  for (const auto& row : rows) {
    INFO(row.dir);
    auto r = run_sonify({"inspect", "--model", models + row.dir, "--json"});
    REQUIRE(r.exit_code == 0);
    CHECK(r.err.empty());
    auto j = nlohmann::json::parse(r.out);
    CHECK(j["family"] == row.family);
    CHECK(j["layers"] == row.layers);
    CHECK(j["hidden_size"] == row.hidden);
    CHECK(j["heads"] == row.heads);
    CHECK(j["kv_heads"] == row.kv_heads);
    CHECK(j["head_dim"] == row.head_dim);
    CHECK(j["intermediate_size"] == row.intermediate);
    CHECK(j["vocab_size"] == row.vocab);
    CHECK(j["context_length"] == row.context);
    CHECK(j["parameters"] == row.params);
    CHECK(j["bytes_on_disk"] == std::filesystem::file_size(models + row.dir + "/model.safetensors"));
    CHECK(j["dtypes"].contains("F32"));
    CHECK(j["roles"].size() >= 11);
  }
  // The text form and a single .safetensors file path work too.
  auto text = run_sonify({"inspect", "--model", models + "tiny-gpt2-random/model.safetensors"});
  REQUIRE(text.exit_code == 0);
  CHECK_THAT(text.out, Catch::Contains("186,944"));
  CHECK_THAT(text.out, Catch::Contains("transformer.h.N.attn.c_attn.weight [64:128] (transposed)"));
}

TEST_CASE("bad model inputs end in one clear error line", "[cli]") {
  TempDir dir;
  const std::string cfg =
      R"({"model_type":"gpt2","n_embd":8,"n_layer":1,"n_head":2,"vocab_size":4,"n_positions":4})";
  auto model_dir = [&](const std::string& name, const std::string& config, const std::string& weights) {
    const std::string d = dir.file(name);
    std::filesystem::create_directories(d);
    if (!config.empty()) sonify::test::write_file(d + "/config.json", config);
    if (!weights.empty()) sonify::test::write_file(d + "/model.safetensors", weights);
    return d;
  };
  const std::string header = R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})";
  const std::string good = le64(header.size()) + header + std::string(16, '\0');
  // Everything a 1-layer GPT-2 needs but h.0.ln_1.weight.
  std::string gpt2_without_ln1;
  {
    nlohmann::json h;
    std::uint64_t off = 0;
    auto add = [&](const std::string& name, std::vector<std::int64_t> shape) {
      std::uint64_t n = 4;
      for (auto d : shape) n *= d;
      h[name] = {{"dtype", "F32"}, {"shape", shape}, {"data_offsets", {off, off + n}}};
      off += n;
    };
    add("wte.weight", {4, 8});
    add("wpe.weight", {4, 8});
    add("ln_f.weight", {8});
    add("ln_f.bias", {8});
    add("h.0.ln_1.bias", {8});
    add("h.0.attn.c_attn.weight", {8, 24});
    add("h.0.attn.c_attn.bias", {24});
    const std::string text = h.dump();
    gpt2_without_ln1 = le64(text.size()) + text + std::string(off, '\0');
  }
  struct Row {
    const char* what;
    std::string path;
    const char* message;
  };
  const std::vector<Row> rows = {
      {"missing path", dir.file("nowhere"), "no such file or directory"},
      {"directory without config.json", model_dir("noconfig", "", good), "no config.json in this directory"},
      {"unknown model_type", model_dir("bert", R"({"model_type":"bert"})", good),
       "unknown model_type 'bert'"},
      {"config missing a field", model_dir("nofield", R"({"model_type":"gpt2","n_layer":1})", good),
       "missing required field 'n_embd'"},
      {"config not JSON", model_dir("badcfg", "{nope", good), "invalid JSON"},
      {"empty safetensors", model_dir("empty", cfg, "\x01"), "too short for a header"},
      {"truncated safetensors", model_dir("trunc", cfg, good.substr(0, good.size() - 5)),
       "run past the data section"},
      {"huge header length", model_dir("huge", cfg, le64(1ull << 50) + "{}"), "exceeds the 100 MB limit"},
      {"bad JSON header", model_dir("badjson", cfg, le64(5) + "{\"a\":"), "invalid JSON"},
      {"offset out of range",
       model_dir("range", cfg,
                 [&] {
                   const std::string h = R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,999]}})";
                   return le64(h.size()) + h + std::string(16, '\0');
                 }()),
       "run past the data section"},
      {"overlapping tensors",
       model_dir(
           "overlap", cfg,
           [&] {
             const std::string h =
                 R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}})";
             return le64(h.size()) + h + std::string(24, '\0');
           }()),
       "overlaps the previous tensor"},
      {"shape and bytes disagree",
       model_dir("mismatch", cfg,
                 [&] {
                   const std::string h = R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}})";
                   return le64(h.size()) + h + std::string(16, '\0');
                 }()),
       "need 12 bytes but data_offsets span 16"},
      {"valid file, wrong tensors for the config", model_dir("wrong", cfg, good), "no token embedding"},
      {"missing layer tensor", model_dir("nolayer", cfg, gpt2_without_ln1),
       "no attn_norm weight for layer 0"},
      {"no safetensors at all", model_dir("noweights", cfg, ""), "no model.safetensors"},
  };
  for (const auto& row : rows) {
    INFO(row.what);
    check_clean_error(run_sonify({"inspect", "--model", row.path}), row.message);
  }
}

TEST_CASE("a truncated copy of a real checkpoint is refused", "[cli][fixtures]") {
  TempDir dir;
  const std::string src = sonify::test::fixtures_dir() + "/models/tiny-gemma3-random/";
  std::filesystem::copy_file(src + "config.json", dir.file("config.json"));
  const std::string bytes = sonify::test::read_file(src + "model.safetensors");
  for (std::size_t keep : {bytes.size() - 1, bytes.size() / 2, std::size_t{100}, std::size_t{7}}) {
    INFO("kept " << keep << " bytes");
    sonify::test::write_file(dir.file("model.safetensors"), bytes.substr(0, keep));
    auto r = run_sonify({"inspect", "--model", dir.path()});
    CHECK(r.signal == 0);
    CHECK(r.exit_code == 1);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  }
}

TEST_CASE("usage errors exit 2 with one line, --help and --version exit 0", "[cli]") {
  check_clean_error(run_sonify({"inspect", "--no-such-flag"}), "--no-such-flag", 2);
  check_clean_error(run_sonify({"no-such-command"}), "no-such-command", 2);
  CHECK(run_sonify({"--help"}).exit_code == 0);
  auto version = run_sonify({"--version"});
  CHECK(version.exit_code == 0);
  CHECK_THAT(version.out, Catch::StartsWith("sonify "));
}

TEST_CASE("doctor reports the BLAS in use", "[cli]") {
  auto r = run_sonify({"doctor", "--json"});
  REQUIRE(r.exit_code == 0);
  auto j = nlohmann::json::parse(r.out);
  CHECK(j["cpus"].get<int>() >= 1);
  CHECK(j.contains("blas"));
  CHECK(j["blas"]["kind"].is_string());
  CHECK(j["fluidsynth"].get<std::string>().size() >= 5);
}

namespace {

// Sets (or unsets) SONIFY_THREADS for one scope; the test presets set it to 1.
class ThreadsEnv {
 public:
  explicit ThreadsEnv(const char* value) {
    if (const char* old = std::getenv("SONIFY_THREADS")) old_ = old;
    if (value != nullptr)
      setenv("SONIFY_THREADS", value, 1);
    else
      unsetenv("SONIFY_THREADS");
  }
  ~ThreadsEnv() {
    if (old_)
      setenv("SONIFY_THREADS", old_->c_str(), 1);
    else
      unsetenv("SONIFY_THREADS");
  }

 private:
  std::optional<std::string> old_;
};

}  // namespace

TEST_CASE("SONIFY_THREADS sets the default threads; else the affinity mask does", "[cli]") {
  {
    ThreadsEnv env("3");
    CHECK(sonify::default_threads() == 3);
    auto r = run_sonify({"doctor", "--json"});
    REQUIRE(r.exit_code == 0);
    CHECK(nlohmann::json::parse(r.out)["default_threads"].get<int>() == 3);
  }
  {
    ThreadsEnv env(nullptr);
    int one = 0, all = 0;
    // A thread pinned to one CPU sees a mask of one, whatever the machine has.
    std::thread pinned([&] {
      cpu_set_t set;
      CPU_ZERO(&set);
      REQUIRE(sched_getaffinity(0, sizeof set, &set) == 0);
      all = CPU_COUNT(&set);
      int first = 0;
      while (!CPU_ISSET(first, &set)) ++first;
      CPU_ZERO(&set);
      CPU_SET(first, &set);
      REQUIRE(sched_setaffinity(0, sizeof set, &set) == 0);
      one = sonify::default_threads();
    });
    pinned.join();
    CHECK(one == 1);
    CHECK(sonify::default_threads() == all);
  }
  for (const char* bad : {"0", "257", "-1", "2x", "", "99999999999999999999"}) {
    ThreadsEnv env(bad);
    INFO("SONIFY_THREADS=[" << bad << "]");
    check_clean_error(run_sonify({"doctor"}), "SONIFY_THREADS must be a whole number from 1 to 256", 2);
  }
}

TEST_CASE("synth-checkpoint leaves no partial output when it cannot write", "[cli]") {
  TempDir dir;
  const std::string arch = std::string(SONIFY_SOURCE_DIR) + "/configs/architectures/gpt2-small.json";
  // A file where the output directory should be: nothing can be created under it.
  sonify::test::write_file(dir.file("blocker"), "x");
  check_clean_error(run_sonify({"synth-checkpoint", "--arch", arch, "-o", dir.file("blocker/model")}),
                    "cannot create directory");
  check_clean_error(run_sonify({"synth-checkpoint", "--arch", dir.file("missing.json"), "-o", dir.file("m")}),
                    "no such file");
  check_clean_error(run_sonify({"synth-checkpoint", "--arch", arch, "-o", dir.file("m"), "--dtype", "Q4"}),
                    "unknown dtype 'Q4'");
  check_clean_error(run_sonify({"synth-checkpoint", "--arch", arch, "-o", dir.file("m"), "--seed", "-1"}),
                    "--seed", 2);
  CHECK(sonify::test::list_dir(dir.path()) == std::vector<std::string>{"blocker"});
}
