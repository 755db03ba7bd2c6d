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
                      "--virtual-time-budget=10000", "--hide-scrollbars",
                      // A key press from the test hook carries no user gesture; let it play.
                      "--autoplay-policy=no-user-gesture-required", mode, url});
}

// What the page's test hook reports after `hash` ("#t=3.2", "#click=100,80&key=Space").
json selftest_hash(const std::string& page, const std::string& hash, const std::string& dir,
                   const std::string& window = "1280,2000") {
  auto r = chromium("file://" + page + hash, "--dump-dom", window);
  INFO(r.err.substr(0, 2000));
  REQUIRE(r.exit_code == 0);
  sonify::test::write_file(dir + "/dump.html", r.out);
  auto s = oracle({"selftest", dir + "/dump.html"});
  INFO(s.err);
  REQUIRE(s.exit_code == 0);
  return json::parse(s.out);
}

json selftest(const std::string& page, double t, const std::string& dir,
              const std::string& window = "1280,2000") {
  char hash[32];
  std::snprintf(hash, sizeof hash, "#t=%.3f", t);
  return selftest_hash(page, hash, dir, window);
}

// The JSON the page's script reads.
json page_data(const std::string& html) {
  const std::string open = "id=\"report-data\">";
  const auto a = html.find(open);
  REQUIRE(a != std::string::npos);
  const auto b = html.find("</script>", a);
  return json::parse(html.substr(a + open.size(), b - a - open.size()));
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
  auto run = sonify_env(
      cache, {"weights", "--model", tiny(), "--genre", "house", "--set", "bars=8", "-o", out, "-q"});
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

  // Clicking a Bass note (no other track's note under it) shows its provenance from house.json
  // and the section it is in; then Space starts playing.
  const json data = page_data(text);
  const json prov = json::parse(read_file(out + "/house.json"));
  int bass = -1;
  for (std::size_t i = 0; i < data["tracks"].size(); ++i)
    if (data["tracks"][i]["name"] == "Bass") bass = static_cast<int>(i);
  REQUIRE(bass >= 0);
  const json& layout = data["layout"];
  json chosen;
  for (const auto& n : data["notes"]) {
    if (n[0] != bass) continue;
    bool alone = true;
    for (const auto& m : data["notes"])
      alone = alone && (m[0] == bass || m[3] != n[3] || m[2] <= n[1] || m[1] >= n[2]);
    if (alone) {
      chosen = n;
      break;
    }
  }
  REQUIRE(chosen.is_array());
  const double cx = x0 + (chosen[1].get<double>() + chosen[2].get<double>()) / 2000 * pps;
  const double cy =
      layout["melodic_top"].get<double>() +
      (layout["pitch_hi"].get<int>() - chosen[3].get<int>() + 0.5) * layout["row_height"].get<double>();
  char hash[64];
  std::snprintf(hash, sizeof hash, "#click=%.2f,%.2f&key=Space", cx, cy);
  const auto clicked = selftest_hash(page, hash, dir.path());
  INFO(clicked.dump());
  const std::string info = clicked["info"].get<std::string>();
  CHECK(info.rfind("Bass · ", 0) == 0);
  std::string tensors;
  for (const auto& p : prov["provenance"])
    if (p["part"] == "track Bass") tensors = p["tensors"][0].get<std::string>();
  REQUIRE_FALSE(tensors.empty());
  CHECK(info.find("track Bass") != std::string::npos);
  CHECK(info.find(tensors) != std::string::npos);
  const double start = chosen[1].get<double>() / 1000, bar_seconds = 4 * 60.0 / 128;
  std::string section;
  for (const auto& sec : prov["sections"])
    if (sec["first_bar"].get<int>() * bar_seconds <= start + 1e-6 &&
        start < sec["end_bar"].get<int>() * bar_seconds)
      section = sec["name"].get<std::string>();
  CHECK(info.find("section " + section) != std::string::npos);
  CHECK(clicked["audio"] == "seeked");  // the click seeked the audio to the note
  CHECK(clicked["t"].get<double>() == Approx((cx - x0) / pps).margin(0.02));
  CHECK(clicked["pressed"] == "true");  // Space started the player
  screenshot(page, "report-weights", dir.path());
}

TEST_CASE("report in Chromium: the word whose timing covers t is the one lit, at 1280 px and phone width") {
  chromium_binary();
  TempDir dir;
  const std::string cache = dir.file("cache"), out = dir.file("run");
  fs::create_directories(out);
  auto run = sonify_env(cache, {"prompt", "Once upon a time, there was a little cat named Tom.", "--model",
                                tiny(), "-o", out, "--name", "cat", "--pca-sentences", "64", "--report"});
  INFO(run.out << run.err);
  REQUIRE(run.exit_code == 0);
  CHECK(run.out.find("wrote " + out + "/cat.html") != std::string::npos);
  const std::string page = out + "/cat.html";
  CHECK(oracle({"html", page}).exit_code == 0);
  CHECK(oracle({"roll", page, out + "/cat.mid"}).exit_code == 0);
  const auto timing = json::parse(read_file(out + "/cat.timing.json"));
  const auto& words = timing["words"];
  REQUIRE(words.size() == 11);
  // Each word's coordinates on the voices' PCs 1-3 are on the page, as the timing file has them.
  REQUIRE(words[0]["pca"].size() == 3);
  const json data = page_data(read_file(page));
  const std::string flute = data["words"][0]["values"][0].get<std::string>();
  const auto at = flute.find("(PCs 1-3: ");
  REQUIRE(at != std::string::npos);
  CHECK(std::stod(flute.substr(at + 10)) == Approx(words[0]["pca"][0][0].get<double>()).margin(0.006));
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
  // At phone width the page does not scroll sideways (the roll scrolls inside its box).
  const auto phone = selftest(page, 1.0, dir.path(), "390,1600");
  INFO(phone.dump());
  CHECK(phone["page_width"].get<int>() <= phone["window_width"].get<int>());
  screenshot(page, "report-prompt", dir.path());
  screenshot(page, "report-prompt-phone", dir.path(), "390,1600");
}

TEST_CASE("report in Chromium: an album index lights the track that plays and links every track page") {
  chromium_binary();
  TempDir dir;
  const std::string cache = dir.file("cache"), out = dir.file("album");
  sonify::test::write_file(dir.file("prompts.txt"),
                           "The sun was warm.\nA storm broke the old tree!\nThey slept at last.\n");
  auto run = sonify_env(
      cache, {"album", dir.file("prompts.txt"), "--model", tiny(), "-o", out, "--pca-sentences", "64"});
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
    // Albums measure tension along the bundled contrast direction: each word's is on its page.
    const auto timing = json::parse(read_file(out + "/" + name + ".timing.json"));
    CHECK(timing["words"][0].contains("tension"));
    CHECK(read_file(out + "/" + name + ".html").find(">tension</th>") != std::string::npos);
  }
  const auto& second = manifest["tracks"][1];
  const double t = second["start"].get<double>() + second["duration"].get<double>() / 2;
  const auto found = selftest(index, t, dir.path());
  INFO(found.dump());
  CHECK(found["audio"] == "seeked");
  CHECK(found["on"] == json::array({1, 1}));  // its timeline segment and its table row
  screenshot(index, "report-album", dir.path());
}
