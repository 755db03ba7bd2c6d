// Hostile and careless inputs (issue 20), one row each: the input is built in a fresh
// directory, the command runs under a time limit (a hang fails the row instead of the
// suite), and the row asserts the exit code, a substring of the single error line and
// that no output file was left behind.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>

#include "core/mapped_file.h"
#include "test_support.h"

using sonify::test::read_file;
using sonify::test::TempDir;
using sonify::test::write_file;
namespace fs = std::filesystem;

namespace {

// Copies a fixture model into `dir`/name, writable.
std::string copy_model(const TempDir& dir, const std::string& fixture, const std::string& name = "m") {
  const std::string dst = dir.file(name);
  fs::copy(sonify::test::fixtures_dir() + "/models/" + fixture, dst);
  for (const auto& e : fs::directory_iterator(dst))
    fs::permissions(e.path(), fs::perms::owner_write, fs::perm_options::add);
  return dst;
}

// Overwrites `count` F32 values of the first F32 tensor whose name contains `part` with `value`
// (every value when count < 0).
void poison_f32(const std::string& file, const std::string& part, float value, long count) {
  std::string bytes = read_file(file);
  std::uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  const auto header = nlohmann::json::parse(bytes.substr(8, n));
  for (const auto& [name, t] : header.items()) {
    if (name == "__metadata__" || name.find(part) == std::string::npos || t["dtype"] != "F32") continue;
    const std::uint64_t begin = t["data_offsets"][0], end = t["data_offsets"][1];
    const std::uint64_t values = (end - begin) / 4;
    const std::uint64_t k = count < 0 ? values : std::min<std::uint64_t>(values, count);
    for (std::uint64_t i = 0; i < k; ++i) std::memcpy(&bytes[8 + n + begin + 4 * i], &value, 4);
    write_file(file, bytes);
    return;
  }
  FAIL("no F32 tensor matching " << part << " in " << file);
}

// A one-note type-1 MIDI file at 96 PPQ.
std::string tiny_midi() {
  const std::string track = std::string("\x00\x90\x3c\x40\x60\x80\x3c\x40\x00\xff\x2f\x00", 12);
  return std::string("MThd\x00\x00\x00\x06\x00\x01\x00\x01\x00\x60", 14) + "MTrk" +
         std::string("\x00\x00\x00", 3) + static_cast<char>(track.size()) + track;
}

// 60 bytes that ask for hours: tempo 0xFFFFFF (16.8 s per quarter) at 1 tick per quarter,
// then a note after a delta of 0x0FFFFFFF ticks.
std::string endless_midi() {
  const std::string track = std::string("\x00\xff\x51\x03\xff\xff\xff", 7) +
                            std::string("\xff\xff\xff\x7f\x90\x3c\x40", 7) +
                            std::string("\x01\x80\x3c\x40\x00\xff\x2f\x00", 8);
  return std::string("MThd\x00\x00\x00\x06\x00\x00\x00\x01\x00\x01", 14) + "MTrk" +
         std::string("\x00\x00\x00", 3) + static_cast<char>(track.size()) + track;
}

struct Row {
  const char* name;
  // Builds the input in `dir` and returns the sonify arguments.
  std::function<std::vector<std::string>(const TempDir& dir)> setup;
  int exit_code;
  const char* error;                     // substring of the one stderr line
  const char* must_not_exist = nullptr;  // a path relative to dir that must not appear
  // A check of what is left in dir after the run (the input must survive, for example).
  std::function<void(const TempDir& dir)> after = nullptr;
};

sonify::test::RunResult run_limited(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/usr/bin/timeout", "-s", "KILL", "60", SONIFY_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  return sonify::test::run_program(argv);
}

}  // namespace

TEST_CASE("hostile inputs end in one clear line and leave nothing behind", "[hostile][fixtures]") {
  const std::vector<Row> rows = {
      {"NaN weights: analyze refuses naming the tensor",
       [](const TempDir& d) {
         const std::string m = copy_model(d, "tiny-gpt2-random");
         poison_f32(m + "/model.safetensors", "h.1.mlp.c_fc.weight", std::nanf(""), 1);
         return std::vector<std::string>{"analyze", "--no-cache", "--model", m, "-o", d.file("f.json")};
       },
       1, "h.1.mlp.c_fc.weight has 1 non-finite values", "f.json"},
      {"all-NaN weights: a genre refuses instead of hanging",
       [](const TempDir& d) {
         const std::string m = copy_model(d, "tiny-gpt2-random");
         poison_f32(m + "/model.safetensors", "h.0.attn.c_attn.weight", std::nanf(""), -1);
         return std::vector<std::string>{"weights", "--model",     m,    "-g",
                                         "acid",    "--midi-only", "-o", d.file("out")};
       },
       1, "non-finite values (NaN or Inf)", "out/acid.mid"},
      {"Inf weights: analyze refuses",
       [](const TempDir& d) {
         const std::string m = copy_model(d, "tiny-gpt2-random");
         poison_f32(m + "/model.safetensors", "h.2.mlp.c_proj.weight", INFINITY, 3);
         return std::vector<std::string>{"analyze", "--no-cache", "--model", m, "-o", d.file("f.json")};
       },
       1, "has 3 non-finite values", "f.json"},
      {"NaN weights with --allow-nonfinite: skipped and listed",
       [](const TempDir& d) {
         const std::string m = copy_model(d, "tiny-gpt2-random");
         poison_f32(m + "/model.safetensors", "h.1.mlp.c_fc.weight", std::nanf(""), 2);
         return std::vector<std::string>{"analyze", "--no-cache", "--allow-nonfinite", "--model",
                                         m,         "-o",         d.file("f.json")};
       },
       0, "", nullptr,
       [](const TempDir& d) {
         const auto j = nlohmann::json::parse(read_file(d.file("f.json")));
         REQUIRE(j["skipped_nonfinite"].size() == 1);
         CHECK(j["skipped_nonfinite"][0]["tensor"] == "transformer.h.1.mlp.c_fc.weight");
         CHECK(j["skipped_nonfinite"][0]["nonfinite_values"] == 2);
         for (const auto& m : j["matrices"]) CHECK(m["tensor"] != "transformer.h.1.mlp.c_fc.weight");
       }},
      {"config with heads x head_dim beyond 2^24",
       [](const TempDir& d) {
         const std::string m = copy_model(d, "TinyStories-656K");
         auto config = nlohmann::json::parse(read_file(m + "/config.json"));
         config["num_attention_heads"] = 1 << 24;
         config["num_key_value_heads"] = 1 << 24;
         config["head_dim"] = 1 << 24;
         write_file(m + "/config.json", config.dump());
         return std::vector<std::string>{"inspect", "--model", m};
       },
       1, "exceeds 16777216"},
      {"FIFO as model.safetensors is refused, not waited on",
       [](const TempDir& d) {
         const std::string m = copy_model(d, "tiny-gpt2-random");
         fs::remove(m + "/model.safetensors");
         REQUIRE(::mkfifo((m + "/model.safetensors").c_str(), 0600) == 0);
         return std::vector<std::string>{"inspect", "--model", m};
       },
       1, "not a regular file"},
      {"FIFO as tokenizer.json is refused, not reported missing",
       [](const TempDir& d) {
         const std::string m = copy_model(d, "TinyStories-656K");
         fs::remove(m + "/tokenizer.json");
         REQUIRE(::mkfifo((m + "/tokenizer.json").c_str(), 0600) == 0);
         return std::vector<std::string>{"tokenize", "--model", m, "hello"};
       },
       1, "not a regular file"},
      {"shard symlink outside the model directory",
       [](const TempDir& d) {
         const std::string m = copy_model(d, "tiny-gpt2-random");
         fs::rename(m + "/model.safetensors", d.file("elsewhere.safetensors"));
         fs::create_symlink(d.file("elsewhere.safetensors"), m + "/model.safetensors");
         return std::vector<std::string>{"inspect", "--model", m};
       },
       1, "outside the model directory"},
      {"render a.mid -o a.mid keeps the MIDI",
       [](const TempDir& d) {
         write_file(d.file("a.mid"), tiny_midi());
         return std::vector<std::string>{"render", d.file("a.mid"), "-o", d.file("a.mid")};
       },
       1, "is the input", nullptr,
       [](const TempDir& d) { CHECK(read_file(d.file("a.mid")) == tiny_midi()); }},
      {"render -o through a symlink to the input",
       [](const TempDir& d) {
         write_file(d.file("a.mid"), tiny_midi());
         fs::create_symlink(d.file("a.mid"), d.file("link.wav"));
         return std::vector<std::string>{"render", d.file("a.mid"), "-o", d.file("link.wav")};
       },
       1, "is the input", nullptr,
       [](const TempDir& d) {
         CHECK(read_file(d.file("a.mid")) == tiny_midi());
         CHECK(fs::is_symlink(d.file("link.wav")));
       }},
      {"render -o a symlink to another file is not replaced",
       [](const TempDir& d) {
         write_file(d.file("a.mid"), tiny_midi());
         write_file(d.file("keep.txt"), "keep");
         fs::create_symlink(d.file("keep.txt"), d.file("out.wav"));
         return std::vector<std::string>{"render", d.file("a.mid"), "-o", d.file("out.wav")};
       },
       1, "is a symbolic link", nullptr,
       [](const TempDir& d) {
         CHECK(fs::is_symlink(d.file("out.wav")));
         CHECK(read_file(d.file("keep.txt")) == "keep");
       }},
      {"analyze -o M/model.safetensors keeps the weights",
       [](const TempDir& d) {
         const std::string m = copy_model(d, "tiny-gpt2-random");
         return std::vector<std::string>{"analyze", "--no-cache", "--model",
                                         m,         "-o",         m + "/model.safetensors"};
       },
       1, "a file of the input", nullptr,
       [](const TempDir& d) {
         CHECK(read_file(d.file("m/model.safetensors")) ==
               read_file(sonify::test::fixtures_dir() + "/models/tiny-gpt2-random/model.safetensors"));
       }},
#ifdef SONIFY_HOSTILE_TORCH  // prompt runs the model before it writes
      {"prompt --name ../../x stays inside -o",
       [](const TempDir& d) {
         fs::create_directories(d.file("a/b"));
         return std::vector<std::string>{"prompt",  "hello", "--midi-only",    "--name",
                                         "../../x", "-o",    d.file("a/b/out")};
       },
       1, "must be a plain file name", "a/x.mid"},
#endif
      {"generate --temperature nan",
       [](const TempDir&) {
         return std::vector<std::string>{"generate", "hello", "--temperature", "nan"};
       },
       2, "must be finite, not "},
      {"album --gap nan",
       [](const TempDir& d) {
         write_file(d.file("list.txt"), "hello\n");
         return std::vector<std::string>{"album", d.file("list.txt"), "--gap", "nan", "-o", d.file("out")};
       },
       2, "must be finite, not ", "out"},
      {"a 40-byte MIDI asking for days is refused before rendering",
       [](const TempDir& d) {
         write_file(d.file("long.mid"), endless_midi());
         return std::vector<std::string>{"render", d.file("long.mid"), "-o", d.file("long.wav")};
       },
       1, "more than the limit of 120", "long.wav"},
      {"render --ceiling inf",
       [](const TempDir& d) {
         write_file(d.file("a.mid"), tiny_midi());
         return std::vector<std::string>{"render", d.file("a.mid"), "--ceiling", "inf",
                                         "-o",     d.file("a.wav")};
       },
       2, "must be finite, not ", "a.wav"},
      {"a MIDI with no tracks is refused, not rendered as silence",
       [](const TempDir& d) {
         write_file(d.file("a.mid"), std::string("MThd\x00\x00\x00\x06\x00\x01\x00\x00\x00\x60", 14));
         return std::vector<std::string>{"render", d.file("a.mid"), "-o", d.file("a.wav")};
       },
       1, "has no notes to render (0 tracks", "a.wav"},
      {"a MIDI setting tempo 0 is refused",
       [](const TempDir& d) {
         const std::string track = std::string("\x00\xff\x51\x03\x00\x00\x00", 7) +
                                   std::string("\x00\x90\x3c\x40\x60\x80\x3c\x40\x00\xff\x2f\x00", 12);
         write_file(d.file("a.mid"), std::string("MThd\x00\x00\x00\x06\x00\x00\x00\x01\x00\x60", 14) +
                                         "MTrk" + std::string("\x00\x00\x00", 3) +
                                         static_cast<char>(track.size()) + track);
         return std::vector<std::string>{"render", d.file("a.mid"), "-o", d.file("a.wav")};
       },
       1, "sets 0 microseconds per quarter note", "a.wav"},
#ifdef SONIFY_HOSTILE_TORCH
      {"prompt --name too long for one of its files writes none of them",
       [](const TempDir& d) {
         return std::vector<std::string>{
             "prompt", "hello", "--midi-only", "--name", std::string(250, 'n'), "-o", d.file("out")};
       },
       1, "more than the 255 a file system allows", nullptr,
       [](const TempDir& d) { CHECK(sonify::test::list_dir(d.file("out")).empty()); }},
#endif
      {"a 254-byte output name is written (its temporary name is shortened)",
       [](const TempDir& d) {
         write_file(d.file("a.mid"), tiny_midi());
         return std::vector<std::string>{"render", d.file("a.mid"), "-o",
                                         d.file(std::string(250, 'n') + ".wav")};
       },
       0, "", nullptr,
       [](const TempDir& d) { CHECK(fs::file_size(d.file(std::string(250, 'n') + ".wav")) > 1000); }},
  };
  for (const Row& row : rows) {
    DYNAMIC_SECTION(row.name) {
      TempDir dir;
      const auto args = row.setup(dir);
      const auto r = run_limited(args);
      INFO(r.err);
      REQUIRE(r.exit_code != 137);  // killed by the time limit: a hang
      CHECK(r.exit_code == row.exit_code);
      CHECK(r.err.find(row.error) != std::string::npos);
      if (row.exit_code != 0) {
        CHECK(r.err.rfind("sonify: error: ", 0) == 0);
        CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
      }
      if (row.must_not_exist != nullptr) CHECK_FALSE(fs::exists(dir.file(row.must_not_exist)));
      for (const auto& e : fs::recursive_directory_iterator(dir.path()))
        CHECK(e.path().filename().string().find(".tmp-") == std::string::npos);
      if (row.after) row.after(dir);
    }
  }
}

#ifdef SONIFY_HOSTILE_TORCH
TEST_CASE("prompt --replace-invalid writes valid JSON", "[hostile][fixtures]") {
  TempDir dir;
  const std::string model = sonify::test::fixtures_dir() + "/models/TinyStories-656K";
  const auto r = run_limited({"prompt", "--model", model, "--midi-only", "--replace-invalid", "--name", "t",
                              "-o", dir.path(), std::string("Once upon a \xff time")});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto j = nlohmann::json::parse(read_file(dir.file("t.json")));
  CHECK(j["prompt"].get<std::string>().find("\xef\xbf\xbd") != std::string::npos);  // U+FFFD
  CHECK_NOTHROW(nlohmann::json::parse(read_file(dir.file("t.timing.json"))));
}
#endif

TEST_CASE("an edited features cache is recomputed with a note", "[hostile][fixtures]") {
  TempDir dir, cache;
  const std::string m = copy_model(dir, "tiny-gpt2-random");
  ::setenv("XDG_CACHE_HOME", cache.path().c_str(), 1);
  const auto first = run_limited({"analyze", "--model", m, "-o", dir.file("a.json")});
  REQUIRE(first.exit_code == 0);
  const auto entries = sonify::test::list_dir(cache.path() + "/sonify");
  REQUIRE(entries.size() == 1);
  const std::string entry = cache.path() + "/sonify/" + entries[0];
  for (const auto& edit : std::vector<std::function<void(nlohmann::json&)>>{
           [](nlohmann::json& j) { j["n_layers"] = 50; },
           [](nlohmann::json& j) { j["tonality"]["root"] = 99; },
           [](nlohmann::json& j) { j["matrices"][0]["row_norms"] = nlohmann::json::array(); },
           [](nlohmann::json& j) { j["transitions"][0]["to_layer"] = 7; }}) {
    auto j = nlohmann::json::parse(read_file(entry));
    edit(j);
    write_file(entry, j.dump(1));
    const auto again = run_limited({"analyze", "--model", m, "-o", dir.file("b.json")});
    INFO(again.err);
    CHECK(again.exit_code == 0);
    CHECK(again.err.find("recomputed") != std::string::npos);
    CHECK(read_file(dir.file("b.json")) == read_file(dir.file("a.json")));
  }
  ::unsetenv("XDG_CACHE_HOME");
}

namespace {

// A MIDI holding one note for `minutes` at 120 BPM, 96 PPQ: rendering it takes a while.
std::string held_note_midi(int minutes) {
  const std::uint32_t ticks = static_cast<std::uint32_t>(minutes) * 120 * 96;
  std::string vlq;
  for (int shift = 21; shift > 0; shift -= 7)
    if (ticks >> shift) vlq += static_cast<char>(0x80 | ((ticks >> shift) & 0x7F));
  vlq += static_cast<char>(ticks & 0x7F);
  const std::string track =
      std::string("\x00\x90\x3c\x40", 4) + vlq + std::string("\x80\x3c\x40\x00\xff\x2f\x00", 7);
  return std::string("MThd\x00\x00\x00\x06\x00\x00\x00\x01\x00\x60", 14) + "MTrk" +
         std::string("\x00\x00\x00", 3) + static_cast<char>(track.size()) + track;
}

}  // namespace

TEST_CASE("SIGTERM and SIGINT mid-render leave no hidden partial file", "[hostile][fixtures]") {
  for (const char* sig : {"TERM", "INT"}) {
    TempDir dir;
    write_file(dir.file("a.mid"), held_note_midi(10));
    // (A shell ignores SIGINT in its background jobs; env gives the render the default back.)
    // The shell starts the render, waits until the WAV's partial file exists (it is written
    // after the synthesis), then signals it.
    const std::string script = std::string("env --default-signal=INT '") + SONIFY_BIN + "' render '" +
                               dir.file("a.mid") + "' -o '" + dir.file("a.wav") +
                               "' & pid=$!; found=0; for i in $(seq 3000); do if ls -A '" + dir.path() +
                               "' | grep -q 'a.wav.tmp-'; then found=1; break; fi; sleep 0.02; done; kill -" +
                               sig + " $pid; wait $pid; rc=$?; echo \"$found $rc\"";
    const auto r = sonify::test::run_program({"/bin/sh", "-c", script});
    INFO(sig << ": " << r.out << r.err);
    CHECK(r.out == (std::string(sig) == "TERM" ? "1 143\n" : "1 130\n"));  // seen, then died of the signal
    CHECK(sonify::test::list_dir(dir.path()) == std::vector<std::string>{"a.mid"});
  }
}

TEST_CASE("partial files of a dead process are removed by the next run", "[hostile][fixtures]") {
  TempDir dir;
  // A PID that is not running: a child that has exited and been reaped.
  const auto probe = sonify::test::run_program({"/bin/sh", "-c", "sh -c 'echo $$'"});
  const std::string dead = probe.out.substr(0, probe.out.find('\n'));
  write_file(dir.file(".old.wav.tmp-" + dead), "partial");
  write_file(dir.file(".t.partial-" + dead + ".mid"), "partial");
  write_file(dir.file(".keep.tmp-" + std::to_string(::getpid())), "alive");  // this test's own PID
  write_file(dir.file("a.mid"), tiny_midi());
  const auto r = sonify::test::run_sonify({"render", dir.file("a.mid"), "-o", dir.file("a.wav")});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(sonify::test::list_dir(dir.path()) ==
        std::vector<std::string>{".keep.tmp-" + std::to_string(::getpid()), "a.mid", "a.wav"});
}

TEST_CASE("a checkpoint shrinking under its mapping ends in one line, not SIGBUS", "[hostile]") {
  TempDir dir;
  const std::string path = dir.file("model.safetensors");
  write_file(path, std::string(1 << 16, 'x'));
  int err[2];
  REQUIRE(::pipe(err) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::dup2(err[1], STDERR_FILENO);
    auto map = sonify::MappedFile::open(path);
    if (!map.ok() || ::truncate(path.c_str(), 0) != 0) ::_exit(3);
    volatile unsigned char last = map->data()[map->size() - 1];  // past the new end: SIGBUS
    ::_exit(last == 'x' ? 4 : 5);
  }
  ::close(err[1]);
  std::string text;
  char buf[512];
  for (ssize_t n; (n = ::read(err[0], buf, sizeof buf)) > 0;) text.append(buf, static_cast<std::size_t>(n));
  ::close(err[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  INFO(text);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 1);
  CHECK(text == "sonify: error: " + path +
                    ": the file shrank while it was being read (was it rewritten during the run?)\n");
}

#ifdef SONIFY_HOSTILE_TORCH
TEST_CASE("album resume after an edited list and a killed run renders the new prompts",
          "[hostile][fixtures]") {
  TempDir dir;
  const std::string model = sonify::test::fixtures_dir() + "/models/TinyStories-656K";
  auto album = [&](const std::vector<std::string>& extra, int exit_code) {
    std::vector<std::string> args = {"album", dir.file("list.txt"), "--model", model, "--midi-only",
                                     "-o",    dir.file("out")};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = run_limited(args);
    INFO(r.err);
    REQUIRE(r.exit_code == exit_code);
  };
  write_file(dir.file("list.txt"), "The cat sat.\nA dog ran far.\nBirds sing at dawn.\n");
  album({}, 0);
  write_file(dir.file("list.txt"), "Rain fell on the hill.\nThe sea was calm.\nStars came out.\n");
  album({"--stop-after", "1"}, 1);  // as if killed after the first new track
  album({}, 0);
  const auto manifest = nlohmann::json::parse(read_file(dir.file("out/manifest.json")));
  for (const auto& track : manifest["tracks"]) {
    const std::string name = track["name"];
    const auto provenance = nlohmann::json::parse(read_file(dir.file("out/" + name + ".json")));
    CHECK(provenance["prompt"] == track["prompt"]);  // the files hold the new prompt's music
  }
  CHECK(manifest["tracks"][0].value("resumed", false));  // rendered by the stopped run, kept
  CHECK_FALSE(manifest["tracks"][1].value("resumed", false));
  CHECK_FALSE(manifest["tracks"][2].value("resumed", false));
}
#endif

TEST_CASE("inspect lists the tensors holding NaN or Inf", "[hostile][fixtures]") {
  TempDir dir;
  const std::string m = copy_model(dir, "tiny-gpt2-random");
  poison_f32(m + "/model.safetensors", "h.1.mlp.c_fc.weight", std::nanf(""), 3);
  poison_f32(m + "/model.safetensors", "h.2.attn.c_proj.weight", -INFINITY, 1);
  const auto r = run_limited({"inspect", "--json", "--model", m});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto j = nlohmann::json::parse(r.out);
  REQUIRE(j["nonfinite_tensors"].size() == 2);
  CHECK(j["nonfinite_tensors"][0]["tensor"] == "transformer.h.1.mlp.c_fc.weight");
  CHECK(j["nonfinite_tensors"][0]["nonfinite_values"] == 3);
  CHECK(j["nonfinite_tensors"][0]["values"] == 64 * 256);
  CHECK(j["nonfinite_tensors"][1]["tensor"] == "transformer.h.2.attn.c_proj.weight");
  CHECK(j["nonfinite_tensors"][1]["nonfinite_values"] == 1);
  const auto text = run_limited({"inspect", "--model", m});
  CHECK(text.out.find("2 tensors hold non-finite values") != std::string::npos);
  CHECK(text.out.find("transformer.h.1.mlp.c_fc.weight: 3 of 16384") != std::string::npos);
  const auto clean = run_limited(
      {"inspect", "--json", "--model", sonify::test::fixtures_dir() + "/models/tiny-gpt2-random"});
  CHECK(nlohmann::json::parse(clean.out)["nonfinite_tensors"].empty());
}

TEST_CASE("replacing an existing file of another kind needs --force", "[hostile][fixtures]") {
  TempDir dir;
  write_file(dir.file("a.mid"), tiny_midi());
  write_file(dir.file("notes.txt"), "my notes\n");
  const auto refused = run_limited({"render", dir.file("a.mid"), "-o", dir.file("notes.txt")});
  INFO(refused.err);
  CHECK(refused.exit_code == 1);
  CHECK(refused.err ==
        "sonify: error: " + dir.file("notes.txt") +
            ": exists and holds text, not a WAV file; refusing to replace it (--force replaces it)\n");
  CHECK(read_file(dir.file("notes.txt")) == "my notes\n");
  CHECK(sonify::test::list_dir(dir.path()) == std::vector<std::string>{"a.mid", "notes.txt"});
  // The same kind is replaced as before; --force (before or after the command's options)
  // replaces another kind.
  const auto again = run_limited({"render", dir.file("a.mid"), "-o", dir.file("a.wav")});
  REQUIRE(again.exit_code == 0);
  CHECK(run_limited({"render", dir.file("a.mid"), "-o", dir.file("a.wav")}).exit_code == 0);
  const auto forced = run_limited({"render", dir.file("a.mid"), "-o", dir.file("notes.txt"), "--force"});
  INFO(forced.err);
  CHECK(forced.exit_code == 0);
  CHECK(read_file(dir.file("notes.txt")).substr(0, 4) == "RIFF");
  // A MIDI over a JSON file, through an output set (weights writes MIDI, JSON, WAV).
  fs::create_directory(dir.file("out"));
  write_file(dir.file("out/acid.mid"), "{\"mine\": true}\n");
  const auto set =
      run_limited({"weights", "--model", sonify::test::fixtures_dir() + "/models/tiny-gpt2-random", "-g",
                   "acid", "--midi-only", "-o", dir.file("out")});
  INFO(set.err);
  CHECK(set.exit_code == 1);
  CHECK(set.err.find("holds JSON, not a MIDI file") != std::string::npos);
  CHECK(sonify::test::list_dir(dir.file("out")) == std::vector<std::string>{"acid.mid"});
  CHECK(read_file(dir.file("out/acid.mid")) == "{\"mine\": true}\n");
}

TEST_CASE("a tokenizer whose vocabulary differs from the model's embedding gets one note",
          "[hostile][fixtures]") {
  TempDir dir;
  const std::string m = copy_model(dir, "TinyStories-656K");
  auto config = nlohmann::json::parse(read_file(m + "/config.json"));
  const int tokenizer_size = config["vocab_size"];  // the fixture's tokenizer matches its model
  const auto matched = run_limited({"tokenize", "--model", m, "Once upon a time"});
  CHECK(matched.err.empty());
  config["vocab_size"] = tokenizer_size + 64;
  write_file(m + "/config.json", config.dump());
  const auto larger = run_limited({"tokenize", "--model", m, "Once upon a time"});
  INFO(larger.err);
  CHECK(larger.exit_code == 0);
  CHECK(larger.err == "sonify: note: the tokenizer has " + std::to_string(tokenizer_size) +
                          " tokens but the model's embedding has " + std::to_string(tokenizer_size + 64) +
                          " rows: ids from " + std::to_string(tokenizer_size) + " on decode to nothing\n");
  config["vocab_size"] = 300;
  write_file(m + "/config.json", config.dump());
  const auto smaller = run_limited({"tokenize", "--model", m, "--ids", "1,2,3"});
  INFO(smaller.err);
  CHECK(smaller.exit_code == 0);
  CHECK(smaller.err == "sonify: note: the tokenizer has " + std::to_string(tokenizer_size) +
                           " tokens but the model's embedding has 300 rows: ids from 300 on cannot be given "
                           "to the model\n");
}

namespace {

// Runs sonify with SIGXFSZ ignored and files limited to `kib` KiB, so the first write past
// the limit fails with EFBIG as on a full disk.
sonify::test::RunResult run_with_file_limit(int kib, const std::vector<std::string>& args) {
  std::string cmd = "trap '' XFSZ; ulimit -f " + std::to_string(kib * 2) + "; exec '" + SONIFY_BIN + "'";
  for (const auto& a : args) cmd += " '" + a + "'";
  return sonify::test::run_program({"/usr/bin/timeout", "-s", "KILL", "60", "/bin/sh", "-c", cmd});
}

}  // namespace

TEST_CASE("a full disk while writing an output set gives one line and leaves nothing",
          "[hostile][fixtures]") {
  TempDir dir;
  write_file(dir.file("a.mid"), tiny_midi());
  const auto render = run_with_file_limit(16, {"render", dir.file("a.mid"), "-o", dir.file("a.wav")});
  INFO(render.err);
  CHECK(render.exit_code == 1);
  CHECK(render.err.rfind("sonify: error: ", 0) == 0);
  CHECK(std::count(render.err.begin(), render.err.end(), '\n') == 1);
  CHECK(render.err.find("File too large") != std::string::npos);
  CHECK(sonify::test::list_dir(dir.path()) == std::vector<std::string>{"a.mid"});
  // weights writes its MIDI and JSON (small) before the WAV (large): all or nothing.
  const auto set = run_with_file_limit(
      64, {"weights", "--model", sonify::test::fixtures_dir() + "/models/tiny-gpt2-random", "-g", "acid",
           "-o", dir.file("out")});
  INFO(set.err);
  CHECK(set.exit_code == 1);
  CHECK(set.err.rfind("sonify: error: ", 0) == 0);
  CHECK(std::count(set.err.begin(), set.err.end(), '\n') == 1);
  CHECK(sonify::test::list_dir(dir.file("out")).empty());
  // The line names the file asked for, not the hidden temporary that was being written.
  CHECK(set.err.find(".partial-") == std::string::npos);
  CHECK(set.err.find(".tmp-") == std::string::npos);
}

#ifdef SONIFY_HOSTILE_TORCH
TEST_CASE("NaN logits: generate and trace refuse with one line and write nothing", "[hostile][fixtures]") {
  TempDir dir;
  const std::string m = copy_model(dir, "tiny-gpt2-random");
  poison_f32(m + "/model.safetensors", "h.0.attn.c_attn.weight", std::nanf(""), -1);
  const auto gen = run_limited({"generate", "--model", m, "--ids", "1,2,3", "-n", "4"});
  INFO(gen.err);
  CHECK(gen.exit_code == 1);
  CHECK(gen.out.empty());
  CHECK(gen.err.rfind("sonify: error: the model gave 512 non-finite logits (NaN or Inf) of 512 at step 0",
                      0) == 0);
  CHECK(std::count(gen.err.begin(), gen.err.end(), '\n') == 1);
  const auto trace = run_limited({"trace", "--model", m, "--ids", "1,2,3", "-o", dir.file("t.safetensors")});
  INFO(trace.err);
  CHECK(trace.exit_code == 1);
  CHECK(trace.err.rfind("sonify: error: the model gave 512 non-finite logits (NaN or Inf) of 512;", 0) == 0);
  CHECK(std::count(trace.err.begin(), trace.err.end(), '\n') == 1);
  CHECK(sonify::test::list_dir(dir.path()) == std::vector<std::string>{"m"});
  // --allow-nonfinite keeps the trace (it shows where NaN appears) and says so.
  const auto kept = run_limited({"trace", "--model", m, "--ids", "1,2,3", "--top-k", "3", "--allow-nonfinite",
                                 "-o", dir.file("t.safetensors")});
  INFO(kept.err);
  CHECK(kept.exit_code == 0);
  CHECK(kept.err.find("the logits hold 512 non-finite values") != std::string::npos);
  CHECK(sonify::test::list_dir(dir.path()) == std::vector<std::string>{"m", "t.json", "t.safetensors"});
}
#endif
