// `sonify report` pages in headless Chromium (Debian's chromium package), loaded from the
// file system: the page's test hook (page.html#t=SECONDS) seeks the real <audio> element,
// and the DOM dump shows where the page's own handlers put the playhead and which word or
// track they lit; screenshots of each page type are checked to have content. Skipped with
// a message when Chromium is absent (a failure when CI=true).
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "test_support.h"

namespace fs = std::filesystem;
using nlohmann::json;
using sonify::test::fixtures_dir;
using sonify::test::read_file;
using sonify::test::run_program;
using sonify::test::RunResult;
using sonify::test::skip_test;
using sonify::test::TempDir;

namespace {

const std::string kOracle = std::string(SONIFY_SOURCE_DIR) + "/tests/oracles/report_check.py";

RunResult oracle(std::vector<std::string> args) {
  args.insert(args.begin(), {"/usr/bin/python3", kOracle});
  return run_program(args);
}

RunResult sonify_env(const std::string& cache, std::vector<std::string> args) {
  std::vector<std::string> argv = {"/usr/bin/env", "XDG_CACHE_HOME=" + cache, SONIFY_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_program(argv);
}

std::string chromium_binary() {
  for (const char* p : {"/usr/bin/chromium", "/usr/bin/chromium-browser"})
    if (fs::exists(p)) return p;
  skip_test("chromium not installed (Debian package chromium; scripts/test.sh installs it)");
}

// Headless Chromium on `url` with a fresh profile; `mode` is --dump-dom or --screenshot=FILE.
RunResult chromium(const std::string& url, const std::string& mode, const std::string& window = "1280,2000") {
  TempDir profile;
  return run_program({chromium_binary(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                      "--no-first-run", "--disable-background-networking", "--disable-component-update",
                      "--disable-sync", "--user-data-dir=" + profile.path(), "--window-size=" + window,
                      "--virtual-time-budget=10000", "--hide-scrollbars", mode, url});
}

// What the page's test hook reports after seeking to t.
json selftest(const std::string& page, double t, const std::string& dir) {
  char hash[32];
  std::snprintf(hash, sizeof hash, "#t=%.3f", t);
  auto r = chromium("file://" + page + hash, "--dump-dom");
  INFO(r.err.substr(0, 2000));
  REQUIRE(r.exit_code == 0);
  sonify::test::write_file(dir + "/dump.html", r.out);
  auto s = oracle({"selftest", dir + "/dump.html"});
  INFO(s.err);
  REQUIRE(s.exit_code == 0);
  return json::parse(s.out);
}

// Screenshot of `page` at `window`, checked to have content; kept in $SONIFY_REPORT_SHOTS if set.
void screenshot(const std::string& page, const std::string& name, const std::string& dir,
                const std::string& window = "1280,2000") {
  const std::string png = dir + "/" + name + ".png";
  auto r = chromium("file://" + page, "--screenshot=" + png, window);
  INFO(r.err.substr(0, 2000));
  REQUIRE(r.exit_code == 0);
  auto check = oracle({"nonblank", png});
  INFO(check.err);
  CHECK(check.exit_code == 0);
  if (const char* keep = std::getenv("SONIFY_REPORT_SHOTS"); keep != nullptr && *keep != '\0')
    fs::copy_file(png, std::string(keep) + "/" + name + ".png", fs::copy_options::overwrite_existing);
}

std::string tiny() { return fixtures_dir() + "/models/TinyStories-656K"; }

}  // namespace

TEST_CASE("report in Chromium: seeking the audio of a weights page moves the playhead to x0 + t * pps") {
  chromium_binary();
  TempDir dir;
  const std::string cache = dir.file("cache"), out = dir.file("run");
  auto run = sonify_env(cache, {"weights", "--model", tiny(), "--genre", "house", "--set", "bars=8", "-o", out, "-q"});
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  REQUIRE(sonify_env(cache, {"report", out, "-q"}).exit_code == 0);
  const std::string page = out + "/house.html";
  // The roll's scale is checked against mido's note times (oracle), so x0 + t * pps is where
  // second t of the MIDI is drawn.
  REQUIRE(oracle({"roll", page, out + "/house.mid"}).exit_code == 0);
  const std::string text = read_file(page);
  auto attr = [&](const std::string& name) {
    const auto at = text.find(name + "=\"", text.find("<svg id=\"roll\""));
    return std::stod(text.substr(at + name.size() + 2));
  };
  const double x0 = attr("data-x0"), pps = attr("data-pps");
  const auto found = selftest(page, 3.2, dir.path());
  INFO(found.dump());
  CHECK(found["audio"] == "seeked");  // the <audio> element loaded house.wav and seeked
  CHECK(found["t"].get<double>() == Approx(3.2).margin(0.01));
  CHECK(found["x"].get<double>() == Approx(x0 + 3.2 * pps).margin(0.5));
  // Bars=8 at 128 BPM: intro, buildup, drop, outro; at 3.2 s (bar 2) the intro is on.
  screenshot(page, "report-weights", dir.path());
}

TEST_CASE("report in Chromium: the word whose timing covers t is the one lit, at 1280 px and phone width") {
  chromium_binary();
  TempDir dir;
  const std::string cache = dir.file("cache"), out = dir.file("run");
  auto run = sonify_env(cache, {"prompt", "Once upon a time, there was a little cat named Tom.", "--model", tiny(),
                                "-o", out, "--name", "cat", "--pca-sentences", "64"});
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  auto rep = sonify_env(cache, {"report", out + "/cat.json"});
  INFO(rep.err);
  REQUIRE(rep.exit_code == 0);
  const std::string page = out + "/cat.html";
  CHECK(oracle({"html", page}).exit_code == 0);
  CHECK(oracle({"roll", page, out + "/cat.mid"}).exit_code == 0);
  const auto timing = json::parse(read_file(out + "/cat.timing.json"));
  const auto& words = timing["words"];
  REQUIRE(words.size() == 11);
  // Middle of word 4 ("time,"), then of the last word: the page lights exactly that word.
  for (std::size_t k : {std::size_t{3}, words.size() - 1}) {
    const double t = (words[k]["start"].get<double>() + words[k]["end"].get<double>()) / 2;
    const auto found = selftest(page, t, dir.path());
    INFO(found.dump());
    CHECK(found["audio"] == "seeked");
    CHECK(found["word"] == words[k]["text"]);
    CHECK(found["on"] == json::array({static_cast<int>(k)}));
    CHECK(found["x"].get<double>() == Approx(found["expected_x"].get<double>()).margin(0.5));
  }
  // Between two words (a rest after a comma) nothing is lit.
  const double gap = (words[3]["end"].get<double>() + words[4]["start"].get<double>()) / 2;
  if (words[4]["start"].get<double>() - words[3]["end"].get<double>() > 0.05)
    CHECK(selftest(page, gap, dir.path())["on"].empty());
  screenshot(page, "report-prompt", dir.path());
  screenshot(page, "report-prompt-phone", dir.path(), "390,1600");
}

TEST_CASE("report in Chromium: an album index lights the track that plays and links every track page") {
  chromium_binary();
  TempDir dir;
  const std::string cache = dir.file("cache"), out = dir.file("album");
  sonify::test::write_file(dir.file("prompts.txt"),
                           "The sun was warm.\nA storm broke the old tree!\nThey slept at last.\n");
  auto run = sonify_env(cache, {"album", dir.file("prompts.txt"), "--model", tiny(), "-o", out, "--pca-sentences",
                                "64"});
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  auto rep = sonify_env(cache, {"report", out});
  INFO(rep.out << rep.err);
  REQUIRE(rep.exit_code == 0);
  const std::string index = out + "/index.html";
  CHECK(oracle({"html", index}).exit_code == 0);
  const auto manifest = json::parse(read_file(out + "/manifest.json"));
  const std::string text = read_file(index);
  for (const auto& row : manifest["tracks"]) {
    const std::string name = row["name"].get<std::string>();
    CHECK(text.find("href=\"" + name + ".html\"") != std::string::npos);
    CHECK(oracle({"html", out + "/" + name + ".html"}).exit_code == 0);
    CHECK(read_file(out + "/" + name + ".html").find("href=\"index.html\"") != std::string::npos);
  }
  const auto& second = manifest["tracks"][1];
  const double t = second["start"].get<double>() + second["duration"].get<double>() / 2;
  const auto found = selftest(index, t, dir.path());
  INFO(found.dump());
  CHECK(found["audio"] == "seeked");
  CHECK(found["on"] == json::array({1, 1}));  // its timeline segment and its table row
  screenshot(index, "report-album", dir.path());
}
