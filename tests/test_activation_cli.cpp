// `sonify prompt` and `sonify album` on the TinyStories-656K fixture (Llama, with a
// tokenizer): determinism, the timing JSON against the MIDI (mido), the calm-vs-tense
// direction, album -j equality, resume and failing lines. Needs the libtorch plugin.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "test_support.h"

using sonify::test::fixtures_dir;
using sonify::test::read_file;
using sonify::test::run_program;
using sonify::test::RunResult;
using sonify::test::TempDir;
using sonify::test::write_file;

namespace {

std::string tiny() { return fixtures_dir() + "/models/TinyStories-656K"; }

// Runs sonify with a private cache directory.
RunResult sonify_env(const std::string& cache, std::vector<std::string> args) {
  std::vector<std::string> argv = {"/usr/bin/env", "XDG_CACHE_HOME=" + cache, SONIFY_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_program(argv);
}

std::vector<std::string> prompt_args(const std::string& text, const std::string& out,
                                     const std::string& name) {
  return {"prompt", text,          "--model",         tiny(), "-o", out, "--name",
          name,     "--midi-only", "--pca-sentences", "64"};
}

nlohmann::json read_json(const std::string& path) { return nlohmann::json::parse(read_file(path)); }

}  // namespace

TEST_CASE("sonify prompt: same prompt same MIDI, every word timed, different prompts differ") {
  TempDir dir;
  const std::string cache = dir.file("cache");
  const std::string text = "Once upon a time, there was a little cat named Tom.";
  auto first = sonify_env(cache, prompt_args(text, dir.path(), "a"));
  INFO(first.out << first.err);
  REQUIRE(first.exit_code == 0);
  // Second run reads the cached PCA; a third fits it again: all three byte-identical.
  REQUIRE(sonify_env(cache, prompt_args(text, dir.path(), "b")).exit_code == 0);
  auto args = prompt_args(text, dir.path(), "c");
  args.push_back("--no-cache");
  REQUIRE(sonify_env(cache, args).exit_code == 0);
  CHECK(read_file(dir.file("a.mid")) == read_file(dir.file("b.mid")));
  CHECK(read_file(dir.file("a.mid")) == read_file(dir.file("c.mid")));
  CHECK_FALSE(std::filesystem::exists(dir.file("a.wav")));

  auto oracle =
      run_program({"/usr/bin/python3", std::string(SONIFY_SOURCE_DIR) + "/tests/oracles/activation_timing.py",
                   dir.file("a.mid"), dir.file("a.timing.json")});
  INFO(oracle.out << oracle.err);
  CHECK(oracle.exit_code == 0);
  CHECK(oracle.out == "ok 11 3\n");  // 11 words, 3 voices
  const auto timing = read_json(dir.file("a.timing.json"));
  CHECK(timing["words"][0]["text"] == "Once");
  CHECK(timing["words"][10]["text"] == "Tom.");
  const auto prov = read_json(dir.file("a.json"));
  CHECK(prov["voices"].size() == 3);
  CHECK(prov["pca"]["sentences"] == 64);
  CHECK(prov["token_ids"][0] == 1);  // BOS

  REQUIRE(sonify_env(cache, prompt_args("The dog barked at the big red ball.", dir.path(), "d")).exit_code ==
          0);
  CHECK(read_file(dir.file("d.mid")) != read_file(dir.file("a.mid")));
}

TEST_CASE("sonify prompt: bad inputs give one error line and no output") {
  TempDir dir;
  const std::string cache = dir.file("cache");
  auto bad_layers = prompt_args("Hello there.", dir.path(), "x");
  bad_layers.insert(bad_layers.end(), {"--layers", "1,2,9"});
  auto r = sonify_env(cache, bad_layers);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("sonify: error: --layers: hidden state 9 does not exist") == 0);
  // -o DIR that does not exist yet is created, as for every command.
  auto r2 = sonify_env(cache, prompt_args("Hello", dir.file("missing/deeper"), "x"));
  CHECK(r2.exit_code == 0);
  CHECK(std::filesystem::exists(dir.file("missing/deeper/x.mid")));
  write_file(dir.file("plain"), "not a directory");
  auto r2b = sonify_env(cache, prompt_args("Hello", dir.file("plain"), "x"));
  CHECK(r2b.exit_code == 1);
  CHECK(r2b.err == "sonify: error: " + dir.file("plain") + ": exists and is not a directory\n");
  auto r3 = sonify_env(cache, prompt_args("   ", dir.path(), "x"));
  CHECK(r3.exit_code == 1);
  auto bad_dir = prompt_args("Hello there.", dir.path(), "x");
  bad_dir.insert(bad_dir.end(), {"--direction", dir.file("nope.json")});
  CHECK(sonify_env(cache, bad_dir).exit_code == 1);
  CHECK_FALSE(std::filesystem::exists(dir.file("x.mid")));
  CHECK_FALSE(std::filesystem::exists(dir.file("x.json")));
}

// Tensions of prompts, from one `sonify album --midi-only` run's manifest.
std::vector<double> album_tensions(const TempDir& dir, const std::vector<std::string>& prompts,
                                   const std::string& pairs, const std::string& method,
                                   const std::string& out) {
  std::string list;
  for (const auto& p : prompts) list += nlohmann::json({{"prompt", p}}).dump() + "\n";
  write_file(dir.file(out + ".jsonl"), list);
  auto r = sonify_env(dir.file("cache"), {"album", dir.file(out + ".jsonl"), "--model", tiny(), "-o",
                                          dir.file(out), "--midi-only", "--pca-sentences", "64",
                                          "--direction", pairs, "--direction-method", method});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  std::vector<double> t;
  const auto manifest = read_json(dir.file(out + "/manifest.json"));
  for (const auto& track : manifest["tracks"]) t.push_back(track["tension"]);
  REQUIRE(t.size() == prompts.size());
  return t;
}

TEST_CASE("calm and tense prompts project to opposite sides of the calm-vs-tense direction") {
  // Measured on TinyStories-656K (2 blocks, width 128); the thresholds leave a margin
  // below what was measured (see doc in the issue note): the effect is real but modest.
  TempDir dir;
  const std::string pairs_path = std::string(SONIFY_SOURCE_DIR) + "/configs/contrast/calm-tense.json";
  const auto set = nlohmann::json::parse(read_file(pairs_path));
  const auto& pairs = set["pairs"];
  REQUIRE(pairs.size() == 16);
  auto mean = [](const std::vector<double>& v, std::size_t from, std::size_t step) {
    double s = 0;
    int n = 0;
    for (std::size_t i = from; i < v.size(); i += step, ++n) s += v[i];
    return s / n;
  };
  auto ordered_pairs = [](const std::vector<double>& v) {
    int n = 0;
    for (std::size_t i = 0; i + 1 < v.size(); i += 2) n += v[i] < v[i + 1];
    return n;
  };
  // Held out: the direction from the first 8 pairs, tested on the other 8 (A, B, A, B, ...).
  nlohmann::json half = set;
  half["pairs"] = nlohmann::json::array();
  std::vector<std::string> held;
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    if (i < 8) {
      half["pairs"].push_back(pairs[i]);
    } else {
      held.push_back(pairs[i][0]);
      held.push_back(pairs[i][1]);
    }
  }
  write_file(dir.file("half.json"), half.dump());
  const auto t = album_tensions(dir, held, dir.file("half.json"), "mean", "held");
  INFO("held-out calm mean " << mean(t, 0, 2) << ", tense mean " << mean(t, 1, 2) << ", ordered pairs "
                             << ordered_pairs(t) << "/8");
  CHECK(mean(t, 0, 2) < 0);      // measured -0.46
  CHECK(mean(t, 1, 2) > 0);      // measured +0.04
  CHECK(ordered_pairs(t) >= 5);  // measured 6 of 8

  // The whole set (in sample): calm below tense in most pairs, the sides by their means.
  std::vector<std::string> all;
  for (const auto& p : pairs) {
    all.push_back(p[0]);
    all.push_back(p[1]);
  }
  const auto u = album_tensions(dir, all, pairs_path, "mean", "all");
  INFO("calm mean " << mean(u, 0, 2) << ", tense mean " << mean(u, 1, 2) << ", ordered pairs "
                    << ordered_pairs(u));
  CHECK(mean(u, 0, 2) < -0.2);
  CHECK(mean(u, 1, 2) > 0.2);
  CHECK(ordered_pairs(u) >= 13);  // measured 14 of 16
}

TEST_CASE("sonify prompt renders a WAV") {
  TempDir dir;
  auto args = prompt_args("A cat.", dir.path(), "w");
  args.erase(std::find(args.begin(), args.end(), "--midi-only"));
  auto r = sonify_env(dir.file("cache"), args);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string wav = read_file(dir.file("w.wav"));
  CHECK(wav.size() > 44 + 44100);
  CHECK(wav.compare(0, 4, "RIFF") == 0);
}

TEST_CASE("sonify album: -j 2 equals -j 1, resume keeps finished tracks, a bad line is reported") {
  TempDir dir;
  const std::string cache = dir.file("cache");
  const std::string list = dir.file("list.txt");
  write_file(list,
             "# test album\n"
             "The cat sat.\n"
             "\n"
             "{\"prompt\": \"A big dog ran.\", \"title\": \"Dog\", \"group\": \"g1\"}\n"
             "Bad \xff line.\n"
             "{\"prompt\": \"The sun is warm.\", \"group\": \"g2\"}\n"
             "Lily smiled.\n");
  auto album = [&](const std::string& out, const std::string& jobs, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"album", list, "--model",         tiny(), "-o",    dir.file(out),
                                     "-j",    jobs, "--pca-sentences", "64",   "--gap", "0.5"};
    args.insert(args.end(), extra.begin(), extra.end());
    return sonify_env(cache, args);
  };
  auto one = album("j1", "1");
  INFO(one.out << one.err);
  CHECK(one.exit_code == 1);  // the bad line
  CHECK(one.err.find("1 of 5 prompts failed") != std::string::npos);
  auto two = album("j2", "2");
  CHECK(two.exit_code == 1);
  const auto files = sonify::test::list_dir(dir.file("j1"));
  CHECK(files == sonify::test::list_dir(dir.file("j2")));
  CHECK(std::find(files.begin(), files.end(), "album.wav") != files.end());
  CHECK(std::find(files.begin(), files.end(), "album.mid") != files.end());
  CHECK(std::find(files.begin(), files.end(), "track_05.wav") != files.end());
  CHECK(std::find(files.begin(), files.end(), "track_03.mid") == files.end());
  for (const auto& f : files) {
    INFO(f);
    CHECK(read_file(dir.file("j1/" + f)) == read_file(dir.file("j2/" + f)));
  }
  const auto manifest = read_json(dir.file("j1/manifest.json"));
  REQUIRE(manifest["tracks"].size() == 5);
  CHECK(manifest["tracks"][2]["error"].get<std::string>().find("UTF-8") != std::string::npos);
  CHECK(manifest["tracks"][1]["title"] == "Dog");
  CHECK(manifest["tracks"][1]["group"] == "g1");
  CHECK(manifest["tracks"][4]["start"].get<double>() > manifest["tracks"][3]["start"].get<double>());

  // Interrupted after two tracks, then resumed: the two finished tracks are not redone.
  auto stopped = album("r", "1", {"--stop-after", "2"});
  CHECK(stopped.exit_code == 1);
  CHECK(std::filesystem::exists(dir.file("r/track_02.raw.wav")));
  CHECK_FALSE(std::filesystem::exists(dir.file("r/track_04.mid")));
  CHECK_FALSE(std::filesystem::exists(dir.file("r/album.wav")));
  const auto t1 = std::filesystem::last_write_time(dir.file("r/track_01.raw.wav"));
  const auto t2 = std::filesystem::last_write_time(dir.file("r/track_02.mid"));
  auto resumed = album("r", "1");
  CHECK(resumed.exit_code == 1);
  CHECK(std::filesystem::last_write_time(dir.file("r/track_01.raw.wav")) == t1);
  CHECK(std::filesystem::last_write_time(dir.file("r/track_02.mid")) == t2);
  CHECK(read_file(dir.file("r/track_05.mid")) == read_file(dir.file("j1/track_05.mid")));
  CHECK(read_file(dir.file("r/track_01.wav")) == read_file(dir.file("j1/track_01.wav")));
  const auto m2 = read_json(dir.file("r/manifest.json"));
  CHECK(m2["complete"] == true);
  CHECK(m2["tracks"][0]["resumed"] == true);
  CHECK(std::filesystem::exists(dir.file("r/album.wav")));
}

TEST_CASE("sonify album --mode dialogue: calm → peak → resolution, each prompt once") {
  TempDir dir;
  const std::string list = dir.file("d.txt");
  write_file(list,
             "The cat slept by the warm fire.\nThe monster screamed and broke the door.\n"
             "Lily smiled at the sun.\nThe storm was loud and everyone was afraid.\n"
             "The bird sang a soft song.\nTom ran from the angry bear.\n");
  auto r = sonify_env(dir.file("cache"), {"album", list, "--model", tiny(), "-o", dir.file("out"), "--mode",
                                          "dialogue", "--midi-only", "--pca-sentences", "64"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto manifest = read_json(dir.file("out/manifest.json"));
  const auto& tracks = manifest["tracks"];
  REQUIRE(tracks.size() == 6);
  std::vector<std::string> prompts;
  std::vector<double> t;
  for (const auto& track : tracks) {
    prompts.push_back(track["prompt"]);
    t.push_back(track["tension"]);
  }
  std::sort(prompts.begin(), prompts.end());
  CHECK(std::unique(prompts.begin(), prompts.end()) == prompts.end());
  // Rises to the peak, then falls; the peak's tempo is the fastest.
  const auto peak = static_cast<std::size_t>(std::max_element(t.begin(), t.end()) - t.begin());
  CHECK(peak > 0);
  CHECK(peak < t.size() - 1);
  for (std::size_t i = 1; i <= peak; ++i) CHECK(t[i - 1] <= t[i]);
  for (std::size_t i = peak + 1; i < t.size(); ++i) CHECK(t[i - 1] >= t[i]);
  CHECK(tracks[peak]["tempo"].get<double>() == 112.0);
  CHECK(tracks[peak]["mode"] == "phrygian");
}

TEST_CASE("sonify album --mode contrast: A/B pairs of equal length and a stereo WAV per pair") {
  TempDir dir;
  const std::string list = dir.file("c.txt");
  write_file(list, "The cat slept.\nThe angry monster screamed and broke the big door.\nAn odd one.\n");
  auto r = sonify_env(dir.file("cache"), {"album", list, "--model", tiny(), "-o", dir.file("out"), "--mode",
                                          "contrast", "--pca-sentences", "64", "-j", "2"});
  INFO(r.err);
  CHECK(r.exit_code == 1);  // the third prompt has no partner
  const auto manifest = read_json(dir.file("out/manifest.json"));
  REQUIRE(manifest["tracks"].size() == 3);
  CHECK(manifest["tracks"][2]["error"].get<std::string>().find("has no B") != std::string::npos);
  const double la = manifest["tracks"][0]["duration"], lb = manifest["tracks"][1]["duration"];
  CHECK(std::abs(la - lb) < 0.002);
  CHECK(manifest["tracks"][0]["tempo"].get<double>() < 84.0);  // the short A is slowed down
  // The MIDI files agree on their length (mido oracle).
  auto length = [&](const std::string& f) {
    auto o = run_program(
        {"/usr/bin/python3", "-c", "import mido,sys; print(mido.MidiFile(sys.argv[1]).length)", f});
    return std::stod(o.out);
  };
  CHECK(std::abs(length(dir.file("out/pair_01_a.mid")) - length(dir.file("out/pair_01_b.mid"))) < 0.002);
  const std::string stereo = read_file(dir.file("out/pair_01.wav"));
  CHECK(stereo.size() > 44 + 44100 * 4);
  CHECK_FALSE(std::filesystem::exists(dir.file("out/pair_02.wav")));
}

TEST_CASE("sonify prompt --style markov: same seed same bytes, another seed another track") {
  TempDir dir;
  const std::string text = "Once upon a time, there was a little cat named Tom.";
  auto run = [&](const std::string& name, const std::string& seed) {
    auto args = prompt_args(text, dir.path(), name);
    args.insert(args.end(), {"--style", "markov", "--seed", seed, "--direction",
                             std::string(SONIFY_SOURCE_DIR) + "/configs/contrast/calm-tense.json"});
    auto r = sonify_env(dir.file("cache"), args);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return read_file(dir.file(name + ".mid"));
  };
  const std::string a = run("a", "5");
  CHECK(run("b", "5") == a);
  CHECK(run("c", "6") != a);
  const auto timing = read_json(dir.file("a.timing.json"));
  CHECK(timing["words"].size() == 11);
  CHECK(read_json(dir.file("a.json"))["markov"]["lead_hidden_state"] == 1);
}

TEST_CASE("sonify prompt on the bundled model: deterministic, every word timed (mido), prompts differ") {
  TempDir dir;
  const std::string cache = dir.file("cache");
  const std::string text = "The old sailor pulled a heavy rope on the pier.";
  auto args = [&](const std::string& t, const std::string& name) {
    // No --model: the bundled sonify-tiny.
    return std::vector<std::string>{"prompt",          t,   "-o", dir.path(), "--name", name, "--midi-only",
                                    "--pca-sentences", "64"};
  };
  auto first = sonify_env(cache, args(text, "a"));
  INFO(first.out << first.err);
  REQUIRE(first.exit_code == 0);
  REQUIRE(sonify_env(cache, args(text, "b")).exit_code == 0);
  CHECK(read_file(dir.file("a.mid")) == read_file(dir.file("b.mid")));
  auto oracle =
      run_program({"/usr/bin/python3", std::string(SONIFY_SOURCE_DIR) + "/tests/oracles/activation_timing.py",
                   dir.file("a.mid"), dir.file("a.timing.json")});
  INFO(oracle.out << oracle.err);
  CHECK(oracle.exit_code == 0);
  CHECK(oracle.out == "ok 10 3\n");  // 10 words, 3 voices
  const auto prov = read_json(dir.file("a.json"));
  CHECK(prov.dump().find("sonify-tiny") != std::string::npos);
  REQUIRE(sonify_env(cache, args("Tomorrow the painter will finish a mural.", "c")).exit_code == 0);
  CHECK(read_file(dir.file("c.mid")) != read_file(dir.file("a.mid")));
}

// Issue 13 on the bundled model (always present) and, with the fixtures, TinyStories:
// the example album in both styles, measured by the prompt-metrics oracle (mido): tension
// correlates >= 0.6 with density or loudness, at least two of tempo/mode/density/
// instruments follow the prompts, no first-position artefact, a stepwise markov lead,
// celesta and organ with more than one pitch, no empty or one-pitch track, no silence
// over 1 s, every track ends on the tonic or fades; groups get moods by their tension.
// A second album, the calm-tense pair prompts one per line, checks the same on sentences
// written to differ in tension, and repeats its first prompt (at the end, after every
// other) so the oracle can check that identical prompts get identical instruments.
TEST_CASE("prompt styles carry the model: the prompt-metrics oracle on the example album") {
  TempDir dir;
  const std::string cache = dir.file("cache");
  const std::string stories = std::string(SONIFY_SOURCE_DIR) + "/configs/albums/small-stories.jsonl";
  const std::string pairs = dir.file("calm-tense.txt");
  {
    const auto set = read_json(std::string(SONIFY_SOURCE_DIR) + "/configs/contrast/calm-tense.json");
    std::ofstream out(pairs);
    for (const auto& pair : set["pairs"])
      out << pair[0].get<std::string>() << "\n" << pair[1].get<std::string>() << "\n";
    out << set["pairs"][0][0].get<std::string>() << "\n";
  }
  std::vector<std::pair<std::string, std::string>> models = {{"bundled", ""}};
  // fixtures_dir() would skip the whole test without fixtures; the bundled model runs anyway.
  const char* env = std::getenv("SONIFY_FIXTURES");
  const std::string fixtures =
      env != nullptr && *env != '\0' ? env : std::string(SONIFY_SOURCE_DIR) + "/../shared/fixtures";
  if (std::filesystem::is_directory(fixtures + "/models/TinyStories-656K"))
    models.push_back({"tinystories", fixtures + "/models/TinyStories-656K"});
  for (const auto& [label, model] : models) {
    for (const char* style : {"voices", "markov"}) {
      const std::string out = dir.file(label + "-" + style);
      const std::string out_pairs = out + "-pairs";
      {
        std::vector<std::string> args = {"album",   pairs,         "--style", style, "-o",
                                         out_pairs, "--midi-only", "-j",      "2",   "--pca-sentences",
                                         "128"};
        if (!model.empty()) args.insert(args.end(), {"--model", model});
        auto run = sonify_env(cache, args);
        INFO(label << " " << style << " pairs: " << run.out << run.err);
        REQUIRE(run.exit_code == 0);
        const std::string oracle = std::string(SONIFY_SOURCE_DIR) + "/tests/oracles/prompt_metrics.py";
        auto check = run_program({"/usr/bin/python3", oracle, "check", out_pairs});
        INFO(check.out << check.err);
        CHECK(check.exit_code == 0);
        auto measured = run_program({"/usr/bin/python3", oracle, "album", out_pairs});
        REQUIRE(measured.exit_code == 0);
        const auto a = nlohmann::json::parse(measured.out);
        CHECK(a["repeated_prompts"] == 2);  // the identical-instruments check had a pair to compare
        CHECK(a["distinct"]["instruments"] >= 2);
      }
      std::vector<std::string> args = {"album", stories, "--style",         style, "-o", out, "--midi-only",
                                       "-j",    "2",     "--pca-sentences", "128"};
      if (!model.empty()) args.insert(args.end(), {"--model", model});
      auto run = sonify_env(cache, args);
      INFO(label << " " << style << ": " << run.out << run.err);
      REQUIRE(run.exit_code == 0);
      auto check =
          run_program({"/usr/bin/python3",
                       std::string(SONIFY_SOURCE_DIR) + "/tests/oracles/prompt_metrics.py", "check", out});
      INFO(check.out << check.err);
      CHECK(check.exit_code == 0);
      // The provenance names the statistic behind tempo, mode, density and loudness.
      const auto prov = read_json(out + "/track_01.json");
      for (const char* what : {"tempo", "mode", "density", "loudness"}) {
        INFO(what);
        CHECK(prov["follows"].contains(what));
        CHECK(!prov["follows"][what]["statistic"].get<std::string>().empty());
      }
      // The "trouble" group sounds darker than "morning" and "night" (its prompts are tenser).
      const auto manifest = read_json(out + "/manifest.json");
      std::map<std::string, std::string> mode_of;
      for (const auto& t : manifest["tracks"])
        mode_of[t["group"].get<std::string>()] = t["mode"].get<std::string>();
      const std::vector<std::string> bright_to_dark = {"major", "mixolydian", "natural_minor", "phrygian"};
      auto darkness = [&](const std::string& g) {
        return std::find(bright_to_dark.begin(), bright_to_dark.end(), mode_of[g]) - bright_to_dark.begin();
      };
      CHECK(darkness("trouble") > darkness("morning"));
      CHECK(darkness("trouble") > darkness("night"));
    }
  }
}
