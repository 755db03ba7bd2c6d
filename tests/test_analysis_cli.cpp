// `sonify analyze` through the command line: output file, stdout, the cache (hit, stale,
// corrupt), and every bad input giving one error line and no output file.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "sonify/checkpoint_write.h"
#include "test_support.h"

using sonify::test::read_file;
using sonify::test::run_sonify;
using sonify::test::TempDir;
namespace fs = std::filesystem;

namespace {

// Runs sonify with XDG_CACHE_HOME pointing at `cache`.
sonify::test::RunResult run_cached(const std::string& cache, const std::vector<std::string>& args) {
  ::setenv("XDG_CACHE_HOME", cache.c_str(), 1);
  auto r = run_sonify(args);
  ::unsetenv("XDG_CACHE_HOME");
  return r;
}

std::string copy_fixture(const TempDir& dir, const std::string& name) {
  const std::string dst = dir.file(name);
  fs::copy(sonify::test::fixtures_dir() + "/models/" + name, dst);
  for (const auto& e : fs::directory_iterator(dst))
    fs::permissions(e.path(), fs::perms::owner_write, fs::perm_options::add);
  return dst;
}

// A synthetic one-layer Llama (F32, tied) with the given widths, written to DIR/m.
void write_llama_layer(const TempDir& dir, int hidden, int intermediate, int vocab, std::uint64_t seed) {
  sonify::test::write_file(
      dir.file("arch.json"),
      R"({"architectures":["LlamaForCausalLM"],"model_type":"llama","hidden_size":)" +
          std::to_string(hidden) + R"(,"intermediate_size":)" + std::to_string(intermediate) +
          R"(,"num_hidden_layers":1,"num_attention_heads":4,"num_key_value_heads":2,"vocab_size":)" +
          std::to_string(vocab) +
          R"(,"max_position_embeddings":64,"rms_norm_eps":1e-5,"tie_word_embeddings":true})");
  REQUIRE(sonify::synthetic_checkpoint_write(dir.file("arch.json"), dir.file("m"), sonify::DType::F32, seed)
              .ok());
}

}  // namespace

TEST_CASE("analyze writes to -o or stdout, the same bytes", "[cli][fixtures]") {
  TempDir dir;
  const std::string model = sonify::test::fixtures_dir() + "/models/tiny-gemma3-random";
  auto a = run_sonify({"analyze", "--model", model, "--no-cache", "-o", dir.file("f.json")});
  INFO(a.err);
  REQUIRE(a.exit_code == 0);
  CHECK(a.out.empty());
  auto b = run_sonify({"analyze", "--model", model, "--no-cache", "--threads", "1"});
  REQUIRE(b.exit_code == 0);
  CHECK(b.out == read_file(dir.file("f.json")));
  CHECK(b.err.empty());  // not a terminal: no progress bar
}

TEST_CASE("analyze caches per checkpoint and recomputes stale or corrupt entries", "[cli][fixtures]") {
  TempDir dir, cache;
  const std::string model = copy_fixture(dir, "tiny-gpt2-random");
  auto first = run_cached(cache.path(), {"analyze", "--model", model, "-o", dir.file("a.json")});
  INFO(first.err);
  REQUIRE(first.exit_code == 0);
  const auto entries = sonify::test::list_dir(cache.path() + "/sonify");
  REQUIRE(entries.size() == 1);
  const std::string entry = cache.path() + "/sonify/" + entries[0];
  CHECK(read_file(entry) == read_file(dir.file("a.json")));

  SECTION("a second run reads the cache") {
    // Plant a valid entry with a value no analysis gives: if it comes back, the cache was used.
    std::string planted = read_file(entry);
    const auto pos = planted.find("\"tension\": [");
    REQUIRE(pos != std::string::npos);
    planted.insert(pos + 12, "12345.5, ");
    const auto end = planted.find(']', pos);
    const auto last = planted.rfind(',', end);
    planted.erase(last, end - last);  // drop the last value: same length as before
    sonify::test::write_file(entry, planted);
    auto second = run_cached(cache.path(), {"analyze", "--model", model, "-o", dir.file("b.json")});
    REQUIRE(second.exit_code == 0);
    CHECK(read_file(dir.file("b.json")).find("12345.5") != std::string::npos);
    auto uncached =
        run_cached(cache.path(), {"analyze", "--model", model, "--no-cache", "-o", dir.file("c.json")});
    REQUIRE(uncached.exit_code == 0);
    CHECK(read_file(dir.file("c.json")) == read_file(dir.file("a.json")));
    CHECK(read_file(entry) == planted);  // --no-cache neither reads nor writes it
  }
  SECTION("a corrupt entry is recomputed and replaced") {
    sonify::test::write_file(entry, "{\"format_version\": 1, \"trunc");
    auto again = run_cached(cache.path(), {"analyze", "--model", model, "-o", dir.file("b.json")});
    REQUIRE(again.exit_code == 0);
    CHECK(read_file(dir.file("b.json")) == read_file(dir.file("a.json")));
    CHECK(read_file(entry) == read_file(dir.file("a.json")));
  }
  SECTION("rewriting the checkpoint makes the entry stale; the new one replaces it") {
    const std::string file = model + "/model.safetensors";
    const auto t = fs::last_write_time(file);
    fs::last_write_time(file, t + std::chrono::seconds(5));
    auto again = run_cached(cache.path(), {"analyze", "--model", model, "-o", dir.file("b.json")});
    REQUIRE(again.exit_code == 0);
    const auto now = sonify::test::list_dir(cache.path() + "/sonify");
    REQUIRE(now.size() == 1);
    CHECK(now[0] != entries[0]);                                            // a new identity
    CHECK(read_file(dir.file("b.json")) != read_file(dir.file("a.json")));  // checkpoint_id differs
  }
  SECTION("other options are other entries") {
    auto bins =
        run_cached(cache.path(), {"analyze", "--model", model, "--bins", "8", "-o", dir.file("b.json")});
    REQUIRE(bins.exit_code == 0);
    CHECK(sonify::test::list_dir(cache.path() + "/sonify").size() == 2);
    CHECK(read_file(dir.file("b.json")).find("\"histogram_bins\": 8") != std::string::npos);
  }
}

TEST_CASE("analyze: bad inputs give one error line and no output file", "[cli]") {
  TempDir dir;
  struct Row {
    std::vector<std::string> args;
    int exit_code;
    std::string message;
  };
  const std::string out = dir.file("out.json");
  const std::vector<Row> rows = {
      {{"analyze", "--model", dir.file("missing"), "-o", out}, 1, "no such file or directory"},
      {{"analyze", "--model", dir.path(), "-o", out}, 1, "no config.json"},
      {{"analyze", "--model", SONIFY_SOURCE_DIR, "--bins", "0", "-o", out}, 2, "bins"},
      {{"analyze", "--model", SONIFY_SOURCE_DIR, "--svd", "lapack", "-o", out}, 2, "svd"},
      {{"analyze", "--model", SONIFY_SOURCE_DIR, "--svd", "bogus", "-o", out}, 2, "svd"},
      {{"weights", "--model", SONIFY_SOURCE_DIR, "--genre", "acid", "--svd", "bogus", "-o", out}, 2, "svd"},
      {{"analyze", "--model", SONIFY_SOURCE_DIR, "--threads", "-1", "-o", out}, 2, "threads"},
  };
  for (const auto& row : rows) {
    INFO(row.args[2] << " " << (row.args.size() > 3 ? row.args[3] : ""));
    auto r = run_sonify(row.args);
    CHECK(r.exit_code == row.exit_code);
    CHECK(r.err.find(row.message) != std::string::npos);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK_FALSE(fs::exists(out));
  }
}

TEST_CASE("analyze into a missing directory fails without a partial file", "[cli][fixtures]") {
  TempDir dir;
  auto r = run_sonify({"analyze", "--model", sonify::test::fixtures_dir() + "/models/tiny-gemma3-random",
                       "--no-cache", "-o", dir.file("nope/f.json")});
  CHECK(r.exit_code == 1);
  CHECK(r.err.rfind("sonify: error: ", 0) == 0);
  CHECK(sonify::test::list_dir(dir.path()).empty());
}

TEST_CASE("analyze --svd fast: seeded bytes, each spectrum within its own error estimates of auto's",
          "[cli]") {
  // One Llama layer 640 wide: q, o, gate, up, down and the embedding reach the sketch
  // (>= 512 wide), k and v (320) take the auto path.
  TempDir dir;
  write_llama_layer(dir, 640, 1024, 1024, 3);
  auto analyze = [&](const std::vector<std::string>& extra, const std::string& name) {
    std::vector<std::string> args = {"analyze", "--model", dir.file("m"), "--no-cache", "-o", dir.file(name)};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = run_sonify(args);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return read_file(dir.file(name));
  };
  const std::string fast = analyze({"--svd", "fast", "--seed", "5", "--threads", "2"}, "fast.json");
  CHECK(analyze({"--svd", "fast", "--seed", "5", "--threads", "1"}, "fast1.json") == fast);
  CHECK(analyze({"--svd", "fast", "--seed", "6"}, "fast6.json") != fast);
  const auto f = nlohmann::json::parse(fast), a = nlohmann::json::parse(analyze({}, "auto.json"));
  CHECK(f["svd_option"] == "fast");
  CHECK(f["svd_seed"] == 5);
  CHECK_FALSE(a.contains("svd_seed"));
  REQUIRE(f["matrices"].size() == a["matrices"].size());
  int sketched = 0;
  for (std::size_t m = 0; m < f["matrices"].size(); ++m) {
    const auto& fs_ = f["matrices"][m]["spectrum"];
    const auto& as = a["matrices"][m]["spectrum"];
    INFO(f["matrices"][m]["tensor"] << " " << fs_["method"]);
    const auto fv = fs_["singular_values"].get<std::vector<double>>();
    const auto av = as["singular_values"].get<std::vector<double>>();
    REQUIRE(fv.size() == av.size());
    if (std::min(f["matrices"][m]["rows"].get<int>(), f["matrices"][m]["cols"].get<int>()) < 512) {
      CHECK(fs_["method"] != "fast");
      CHECK(fv == av);
      continue;
    }
    REQUIRE(fs_["method"] == "fast");
    ++sketched;
    const std::size_t top = fs_["fast_top"].get<std::size_t>();
    const double top_error = fs_["fast_top_error"], bulk_error = fs_["fast_bulk_error"];
    for (std::size_t i = 0; i < top; ++i) CHECK(std::fabs(fv[i] - av[i]) <= top_error * av[i]);
    // KS distance of the rest: both are sorted descending.
    std::vector<double> x(fv.begin() + top, fv.end()), y(av.begin() + top, av.end());
    std::sort(x.begin(), x.end());
    std::sort(y.begin(), y.end());
    double ks = 0;
    for (double t : y) {
      const double fx = double(std::upper_bound(x.begin(), x.end(), t) - x.begin()) / x.size();
      const double fy = double(std::upper_bound(y.begin(), y.end(), t) - y.begin()) / y.size();
      ks = std::max(ks, std::fabs(fx - fy));
    }
    INFO("top error " << top_error << ", bulk KS " << ks << " against " << bulk_error);
    CHECK(ks <= bulk_error);
    CHECK(fs_["stable_rank"].get<double>() == Approx(as["stable_rank"].get<double>()).epsilon(top_error * 3));
  }
  CHECK(sketched == 6);
}

TEST_CASE("analyze: square projections take the double Gram (gram64), as numpy's SVD to 1e-9",
          "[cli][oracle]") {
  // One Llama layer 320 wide: q and o are 320 x 320 (square: gram64 under auto), the MLP
  // and the embedding take the float Gram, k and v (160 wide) the exact SVD.
  TempDir dir;
  write_llama_layer(dir, 320, 640, 512, 4);
  auto oracle = sonify::test::run_program(
      {"/usr/bin/python3", std::string(SONIFY_SOURCE_DIR) + "/tests/oracles/analysis.py", dir.file("m")});
  INFO(oracle.err);
  REQUIRE(oracle.exit_code == 0);
  // The oracle's tonality of equal norm gains is NaN (not JSON); only spectra are read here.
  std::string out = oracle.out;
  for (std::size_t at; (at = out.find("NaN")) != std::string::npos;) out.replace(at, 3, "null");
  const auto ref = nlohmann::json::parse(out);
  std::map<std::string, nlohmann::json> ref_spectrum;
  for (const auto& m : ref["matrices"]) ref_spectrum[m["role"].get<std::string>()] = m["spectrum"];
  for (const std::string svd : {"auto", "exact"}) {
    auto r = run_sonify(
        {"analyze", "--model", dir.file("m"), "--no-cache", "--svd", svd, "-o", dir.file("f.json")});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const auto f = nlohmann::json::parse(read_file(dir.file("f.json")));
    std::map<std::string, int> methods;
    for (const auto& m : f["matrices"]) {
      const std::string role = m["role"];
      INFO(svd << " " << role);
      const auto& s = m["spectrum"];
      const auto& rs = ref_spectrum.at(role);
      ++methods[s["method"].get<std::string>()];
      const auto sv = s["singular_values"].get<std::vector<double>>();
      const auto rsv = rs["singular_values"].get<std::vector<double>>();
      REQUIRE(sv.size() == rsv.size());
      const bool gram = s["method"] == "gram";
      const std::size_t top = static_cast<std::size_t>(std::ceil(0.9 * rsv.size()));
      for (std::size_t i = 0; i < sv.size(); ++i) {
        INFO("sigma " << i);
        if (i < top) CHECK(std::fabs(sv[i] - rsv[i]) <= (gram ? 1e-4 : 1e-9) * rsv[i]);
        CHECK(std::fabs(sv[i] - rsv[i]) <= s["accuracy_floor"].get<double>() + 1e-12 * rsv[0]);
      }
      if (gram) continue;
      // The condition number of a square iid matrix (1e2 to 1e4 here) is kept, to 1e-6.
      CHECK(s["condition_number"].get<double>() > 0);
      CHECK(s["condition_number"].get<double>() ==
            Approx(rs["condition_number"].get<double>()).epsilon(1e-6));
      CHECK(s["alpha_tail"] == rs["alpha_tail"]);
      CHECK(s["alpha"].get<double>() == Approx(rs["alpha"].get<double>()).epsilon(1e-6));
    }
    if (svd == "auto")
      CHECK(methods == std::map<std::string, int>{{"exact", 2}, {"gram", 4}, {"gram64", 2}});
    else
      CHECK(methods == std::map<std::string, int>{{"exact", 8}});
  }
}
