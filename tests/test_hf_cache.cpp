// Hugging Face cache names (issue 18): a cache laid out as huggingface_hub writes it
// (models--ORG--NAME/{blobs,refs,snapshots}, snapshot files as relative links into blobs/)
// around the fixture models; resolution, revisions, a commit hash, a dangling link, a
// missing model, the environment's precedence, a local directory winning over a name,
// `sonify models`, and `sonify weights --model ORG/NAME` offline.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "sonify/hf_cache.h"
#include "test_support.h"

namespace fs = std::filesystem;
using nlohmann::json;
using sonify::test::run_sonify;
using sonify::test::TempDir;

namespace {

const std::string kMain = "0123456789abcdef0123456789abcdef01234567";
const std::string kV2 = "89abcdef0123456789abcdef0123456789abcdef";
const std::string kBroken = "fedcba9876543210fedcba9876543210fedcba98";
const std::string kBert = "1111111111111111111111111111111111111111";

// Copies `file` into blobs/ under `blob` and links snapshots/`commit`/`name` to it, as
// huggingface_hub does (relative link ../../blobs/BLOB).
void add_file(const fs::path& model, const std::string& commit, const std::string& name, const fs::path& file,
              const std::string& blob) {
  fs::create_directories(model / "blobs");
  fs::create_directories(model / "snapshots" / commit);
  if (!file.empty() && !fs::exists(model / "blobs" / blob)) fs::copy_file(file, model / "blobs" / blob);
  fs::create_symlink(fs::path("../../blobs") / blob, model / "snapshots" / commit / name);
}

void add_ref(const fs::path& model, const std::string& ref, const std::string& commit) {
  fs::create_directories((model / "refs" / ref).parent_path());
  sonify::test::write_file((model / "refs" / ref).string(), commit);  // no newline, as the hub writes it
}

// The cache: sonify-test/tiny-gpt2 (main: GPT-2, v2: the TinyStories Llama), bare `gpt2`,
// `broken` (weights link dangling), `google/bert-tiny` (unsupported model type).
void make_cache(const fs::path& cache) {
  const fs::path fx = sonify::test::fixtures_dir() + "/models";
  const fs::path m = cache / "models--sonify-test--tiny-gpt2";
  add_file(m, kMain, "config.json", fx / "tiny-gpt2-random/config.json", "b1");
  add_file(m, kMain, "model.safetensors", fx / "tiny-gpt2-random/model.safetensors", "b2");
  add_file(m, kV2, "config.json", fx / "TinyStories-656K/config.json", "b3");
  add_file(m, kV2, "model.safetensors", fx / "TinyStories-656K/model.safetensors", "b4");
  add_file(m, kV2, "tokenizer.json", fx / "TinyStories-656K/tokenizer.json", "b5");
  add_ref(m, "main", kMain);
  add_ref(m, "v2", kV2);
  const fs::path g = cache / "models--gpt2";
  add_file(g, kMain, "config.json", fx / "tiny-gpt2-random/config.json", "c1");
  add_file(g, kMain, "model.safetensors", fx / "tiny-gpt2-random/model.safetensors", "c2");
  add_ref(g, "main", kMain);
  const fs::path b = cache / "models--broken";
  add_file(b, kBroken, "config.json", fx / "tiny-gpt2-random/config.json", "d1");
  add_file(b, kBroken, "model.safetensors", "", "d2-never-downloaded");
  add_ref(b, "main", kBroken);
  const fs::path bert = cache / "models--google--bert-tiny";
  fs::create_directories(bert / "blobs");
  sonify::test::write_file((bert / "blobs" / "e1").string(), R"({"model_type": "bert", "hidden_size": 128})");
  add_file(bert, kBert, "config.json", "", "e1");
  add_ref(bert, "main", kBert);
}

struct EnvGuard {  // restores the variables a test changes
  std::vector<std::pair<std::string, std::optional<std::string>>> saved;
  void set(const std::string& name, const char* value) {
    const char* old = std::getenv(name.c_str());
    saved.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
    if (value)
      setenv(name.c_str(), value, 1);
    else
      unsetenv(name.c_str());
  }
  ~EnvGuard() {
    for (auto it = saved.rbegin(); it != saved.rend(); ++it)
      if (it->second)
        setenv(it->first.c_str(), it->second->c_str(), 1);
      else
        unsetenv(it->first.c_str());
  }
};

std::string resolved(const std::string& given, const std::string& cache) {
  auto r = sonify::resolve_model_reference(given, cache);
  INFO((r.ok() ? std::string() : r.error().message));
  REQUIRE(r.ok());
  return r.value();
}

std::string refused(const std::string& given, const std::string& cache) {
  auto r = sonify::resolve_model_reference(given, cache);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find('\n') == std::string::npos);
  return r.error().message;
}

}  // namespace

TEST_CASE("Hugging Face names resolve to snapshots, by ref, tag and commit", "[fixtures][hf_cache]") {
  TempDir tmp;
  const fs::path cache = fs::path(tmp.path()) / "hub";
  make_cache(cache);
  const std::string c = cache.string();
  const fs::path m = cache / "models--sonify-test--tiny-gpt2" / "snapshots";
  CHECK(resolved("sonify-test/tiny-gpt2", c) == (m / kMain).string());
  CHECK(resolved("sonify-test/tiny-gpt2@main", c) == (m / kMain).string());
  CHECK(resolved("sonify-test/tiny-gpt2@v2", c) == (m / kV2).string());
  CHECK(resolved("sonify-test/tiny-gpt2@" + kV2, c) == (m / kV2).string());
  CHECK(resolved("gpt2", c) == (cache / "models--gpt2" / "snapshots" / kMain).string());
  // Not Hub names: returned as given for the loader to refuse.
  CHECK(resolved("/no/such/dir", c) == "/no/such/dir");
  CHECK(resolved("a/b/c", c) == "a/b/c");
  CHECK(resolved("org/../x", c) == "org/../x");
}

TEST_CASE("A missing model, revision or blob is one line with the download command", "[fixtures][hf_cache]") {
  TempDir tmp;
  const fs::path cache = fs::path(tmp.path()) / "hub";
  make_cache(cache);
  const std::string c = cache.string();
  std::string e = refused("nobody/nothing", c);
  CHECK(e.find((cache / "models--nobody--nothing").string()) != std::string::npos);
  CHECK(e.find(fs::absolute("nobody/nothing").string()) != std::string::npos);
  CHECK(e.find("huggingface-cli download nobody/nothing`") != std::string::npos);
  e = refused("sonify-test/tiny-gpt2@v9", c);
  CHECK(e.find("revision 'v9'") != std::string::npos);
  CHECK(e.find("huggingface-cli download sonify-test/tiny-gpt2 --revision v9") != std::string::npos);
  e = refused("broken", c);
  CHECK(e.find("model.safetensors is a link to a missing blob") != std::string::npos);
  CHECK(e.find("huggingface-cli download broken") != std::string::npos);
  // A ref naming a snapshot that is not there.
  add_ref(cache / "models--gpt2", "gone", kV2);
  e = refused("gpt2@gone", c);
  CHECK(e.find("names snapshot '" + kV2 + "'") != std::string::npos);
  e = refused("gpt2", (fs::path(tmp.path()) / "empty").string());
  CHECK(e.find("huggingface-cli download gpt2") != std::string::npos);
}

TEST_CASE("A local directory wins over a cache name", "[fixtures][hf_cache]") {
  TempDir tmp;
  const fs::path cache = fs::path(tmp.path()) / "hub";
  make_cache(cache);
  fs::create_directories(fs::path(tmp.path()) / "work" / "sonify-test" / "tiny-gpt2");
  const fs::path old = fs::current_path();
  fs::current_path(fs::path(tmp.path()) / "work");
  const std::string got = resolved("sonify-test/tiny-gpt2", cache.string());
  const std::string other = resolved("gpt2", cache.string());
  fs::current_path(old);
  CHECK(got == "sonify-test/tiny-gpt2");
  CHECK(other == (cache / "models--gpt2" / "snapshots" / kMain).string());
}

TEST_CASE("The cache directory follows huggingface_hub's environment order", "[hf_cache]") {
  EnvGuard env;
  env.set("HF_HUB_CACHE", "/a/hub");
  env.set("HUGGINGFACE_HUB_CACHE", "/b/hub");
  env.set("HF_HOME", "/c");
  env.set("XDG_CACHE_HOME", "/d");
  env.set("HOME", "/e");
  CHECK(sonify::hf_hub_cache_dir() == "/a/hub");
  env.set("HF_HUB_CACHE", nullptr);
  CHECK(sonify::hf_hub_cache_dir() == "/b/hub");
  env.set("HUGGINGFACE_HUB_CACHE", nullptr);
  CHECK(sonify::hf_hub_cache_dir() == "/c/hub");
  env.set("HF_HOME", nullptr);
  CHECK(sonify::hf_hub_cache_dir() == "/d/huggingface/hub");
  env.set("XDG_CACHE_HOME", nullptr);
  CHECK(sonify::hf_hub_cache_dir() == "/e/.cache/huggingface/hub");
}

TEST_CASE("sonify models lists the cache; --model ORG/NAME runs offline", "[fixtures][hf_cache]") {
  TempDir tmp;
  const fs::path cache = fs::path(tmp.path()) / "hub";
  make_cache(cache);
  EnvGuard env;
  env.set("HF_HUB_CACHE", cache.c_str());

  auto r = run_sonify({"models", "--json"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const json list = json::parse(r.out);
  CHECK(list["cache"] == cache.string());
  std::map<std::string, json> by;
  for (const auto& m : list["models"])
    by[m["repo_id"].get<std::string>() + "@" + m["revision"].get<std::string>()] = m;
  REQUIRE(by.size() == 5);
  CHECK(by.at("sonify-test/tiny-gpt2@main")["family"] == "gpt2");
  CHECK(by.at("sonify-test/tiny-gpt2@main")["supported"] == true);
  CHECK(by.at("sonify-test/tiny-gpt2@main")["bytes"] ==
        fs::file_size(sonify::test::fixtures_dir() + "/models/tiny-gpt2-random/model.safetensors") +
            fs::file_size(sonify::test::fixtures_dir() + "/models/tiny-gpt2-random/config.json"));
  CHECK(by.at("sonify-test/tiny-gpt2@v2")["family"] == "llama");
  CHECK(by.at("gpt2@main")["supported"] == true);
  CHECK(by.at("broken@main")["supported"] == false);
  CHECK(by.at("broken@main")["problem"] == "model.safetensors is a link to a missing blob");
  CHECK(by.at("google/bert-tiny@main")["family"] == "bert");
  CHECK(by.at("google/bert-tiny@main")["supported"] == false);
  CHECK(by.at("google/bert-tiny@main")["problem"].get<std::string>().rfind("unknown model_type 'bert'", 0) ==
        0);
  r = run_sonify({"models"});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("sonify-test/tiny-gpt2") != std::string::npos);

  r = run_sonify({"inspect", "--model", "sonify-test/tiny-gpt2@v2", "--json"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(json::parse(r.out)["family"] == "llama");

  r = run_sonify({"weights", "--model", "sonify-test/tiny-gpt2", "--genre", "acid", "--midi-only", "-o",
                  tmp.file("out")});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  bool midi = false;
  for (const auto& name : sonify::test::list_dir(tmp.file("out")))
    midi |= fs::path(name).extension() == ".mid";
  CHECK(midi);

  r = run_sonify({"inspect", "--model", "nobody/nothing"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.rfind("sonify: error: model 'nobody/nothing'", 0) == 0);
  CHECK(r.err.find("huggingface-cli download nobody/nothing") != std::string::npos);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
}
