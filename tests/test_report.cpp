// `sonify report` without a browser: the helpers against hand-computed values, the piano
// roll of a hand-made score, run detection, and whole pages of weights runs on a fixture
// model checked by an independent oracle (html5lib strict parse, no external URL, size,
// every note against mido), PNGs decoded by PIL, and bad input.
#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "report/markup.h"
#include "report/roll.h"
#include "report/run.h"
#include "sonify/midi.h"
#include "sonify/report.h"
#include "test_support.h"

namespace fs = std::filesystem;
using sonify::test::fixtures_dir;
using sonify::test::list_dir;
using sonify::test::read_file;
using sonify::test::run_program;
using sonify::test::RunResult;
using sonify::test::TempDir;
using sonify::test::write_file;

namespace {

const std::string kOracle = std::string(SONIFY_SOURCE_DIR) + "/tests/oracles/report_check.py";

RunResult oracle(std::vector<std::string> args) {
  args.insert(args.begin(), {"/usr/bin/python3", kOracle});
  return run_program(args);
}

// Runs sonify with a private analysis cache.
RunResult sonify_env(const std::string& cache, std::vector<std::string> args) {
  std::vector<std::string> argv = {"/usr/bin/env", "XDG_CACHE_HOME=" + cache, SONIFY_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_program(argv);
}

std::string tiny() { return fixtures_dir() + "/models/TinyStories-656K"; }

}  // namespace

TEST_CASE("report helpers: base64 (RFC 4648 vectors), escaping, numbers, script-safe JSON") {
  using namespace sonify::report;
  const std::vector<std::pair<std::string, std::string>> vectors = {{"", ""},
                                                                    {"f", "Zg=="},
                                                                    {"fo", "Zm8="},
                                                                    {"foo", "Zm9v"},
                                                                    {"foob", "Zm9vYg=="},
                                                                    {"fooba", "Zm9vYmE="},
                                                                    {"foobar", "Zm9vYmFy"},
                                                                    {std::string("\0\xff\xfe", 3), "AP/+"}};
  for (const auto& [in, out] : vectors) CHECK(base64(in) == out);
  CHECK(esc("<a href=\"x\">&'") == "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
  CHECK(num(12.50) == "12.5");
  CHECK(num(3.0) == "3");
  CHECK(num(-0.04) == "0");
  CHECK(num(-0.25, 2) == "-0.25");
  CHECK(clock_text(187.4) == "3:07");
  const std::string j = script_json(nlohmann::json{{"text", "</script><!-- x"}});
  CHECK(j.find("</") == std::string::npos);
  CHECK(j.find("<!--") == std::string::npos);
  CHECK(nlohmann::json::parse(j)["text"] == "</script><!-- x");
}

TEST_CASE("report roll: a hand-made score lands where the tempo map says") {
  using namespace sonify;
  Score score;
  score.set_tempo(0, 120);              // 0.5 s per beat
  score.set_tempo(score.ticks(8), 60);  // from bar 3 on: 1 s per beat
  score.time_signatures.push_back({0, 4, 4});
  const int lead = score.add_track("Lead", 80);
  score.tracks[lead].note(0, score.ticks(1), 60, 100);              // 0.0-0.5 s
  score.tracks[lead].note(score.ticks(9), score.ticks(2), 72, 40);  // beat 9: 4 s + 1 s = 5.0-7.0 s
  const int drums = score.add_drum_track("Drums");
  score.tracks[drums].note(score.ticks(4), score.ticks(0.25), 36, 90);  // 2.0 s
  score.tracks[drums].note(score.ticks(5), score.ticks(0.25), 42, 90);  // 2.5 s
  auto midi = midi_from_score(score);
  REQUIRE(midi.ok());
  auto roll = report::roll_from_midi(*midi);
  REQUIRE(roll.ok());
  REQUIRE(roll->tracks.size() == 2);
  CHECK(roll->tracks[0].name == "Lead");
  CHECK(roll->tracks[1].drums);
  REQUIRE(roll->notes.size() == 4);
  CHECK(roll->notes[0].start == Approx(0.0));
  CHECK(roll->notes[1].start == Approx(2.0));
  CHECK(roll->notes[2].start == Approx(2.5));
  CHECK(roll->notes[3].start == Approx(5.0));
  CHECK(roll->notes[3].end == Approx(7.0));
  // Bars: 0, 2 s (bar 2 at 120 BPM), 4 s (bar 3, now 60 BPM), 8 s would be past the end (7 s).
  REQUIRE(roll->bar_starts.size() == 3);
  CHECK(roll->bar_starts[1] == Approx(2.0));
  CHECK(roll->bar_starts[2] == Approx(4.0));
  CHECK(roll->duration == Approx(7.0));

  const auto layout = report::roll_layout(*roll, 0, 50);
  CHECK(layout.x(5.0) == Approx(layout.x0 + 250));
  CHECK(layout.pitch_hi - layout.pitch_lo >= 12);
  CHECK(layout.note_y(roll->notes[3], false) <
        layout.note_y(roll->notes[0], false));  // higher pitch, higher row
  REQUIRE(layout.drum_keys == std::vector<int>{36, 42});
  CHECK(layout.note_y(roll->notes[1], true) > layout.note_y(roll->notes[2], true));  // kick below hat
  CHECK(layout.drum_top > layout.note_y(roll->notes[0], false));
  const std::string svg = report::roll_svg(*roll, layout, "test");
  // The loud lead note and the quiet one sit in different paths; the first starts at x0.
  CHECK(svg.find("d=\"M" + report::num(layout.x0) + " ") != std::string::npos);
  CHECK(svg.find("d=\"M" + report::num(layout.x(5.0)) + " ") != std::string::npos);
  CHECK(svg.find("id=\"playhead\"") != std::string::npos);
  CHECK(report::drum_key_name(36) == "kick");
  CHECK(report::drum_key_name(100) == "key 100");

  const auto fit = report::roll_layout(*roll, 1600, 0);
  CHECK(fit.x(roll->duration) == Approx(1600 - 14));
}

TEST_CASE("report runs: kinds told apart, other JSON refused with a line naming it") {
  using nlohmann::json;
  using sonify::report::run_kind_of;
  using sonify::report::RunKind;
  CHECK(*run_kind_of(json{{"genre", "acid"}, {"sections", json::array()}, {"provenance", json::array()}},
                     "a") == RunKind::Weights);
  CHECK(*run_kind_of(json{{"prompt", "hi"}, {"token_ids", {1, 2}}}, "b") == RunKind::Prompt);
  CHECK(*run_kind_of(json{{"tracks", json::array()}, {"complete", true}}, "c") == RunKind::Album);
  const std::vector<std::pair<json, std::string>> bad = {
      {json{{"format_version", 2}, {"matrices", json::array()}},
       "x.json: a features file (sonify analyze), not a run"},
      {json{{"words", json::array()}, {"duration", 1.0}}, "x.json: a timing file"},
      {json{{"hello", 1}}, "x.json: not a sonify run"},
      {json::array(), "x.json: not a sonify run"}};
  for (const auto& [j, message] : bad) {
    auto r = run_kind_of(j, "x.json");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.rfind(message, 0) == 0);
  }
}

TEST_CASE("report WAV header: seconds from the data chunk and the byte rate") {
  TempDir dir;
  // 44100 Hz, stereo, 16 bit: byte rate 176400; a LIST chunk before the data, 0.5 s of data.
  auto le = [](std::uint32_t v, int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s += static_cast<char>((v >> (8 * i)) & 0xFF);
    return s;
  };
  const std::uint32_t data_bytes = 88200;
  std::string wav = "RIFF" + le(36 + 12 + data_bytes, 4) + "WAVE" + "fmt " + le(16, 4) + le(1, 2) + le(2, 2) +
                    le(44100, 4) + le(176400, 4) + le(4, 2) + le(16, 2) + "LIST" + le(4, 4) + "INFO" +
                    "data" + le(data_bytes, 4) + std::string(data_bytes, '\0');
  write_file(dir.file("a.wav"), wav);
  auto s = sonify::report::wav_seconds(dir.file("a.wav"));
  REQUIRE(s.ok());
  CHECK(*s == Approx(0.5));
  write_file(dir.file("b.wav"), "RIFF1234WAVEjunk");
  CHECK_FALSE(sonify::report::wav_seconds(dir.file("b.wav")).ok());
}

TEST_CASE("sonify report: a 4-minute house page is valid HTML5, offline, < 2 MB, and its notes are mido's") {
  TempDir dir;
  const std::string cache = dir.file("cache"), out = dir.file("run");
  auto run =
      sonify_env(cache, {"weights", "--model", tiny(), "--genre", "house", "-o", out, "--midi-only", "-q"});
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  auto rep = sonify_env(cache, {"report", out});
  INFO(rep.out << rep.err);
  REQUIRE(rep.exit_code == 0);
  CHECK(rep.out.find("wrote " + out + "/house.html") != std::string::npos);
  CHECK(rep.err.find("sonify: note: " + out + "/house.wav: missing") != std::string::npos);
  const std::string page = out + "/house.html";
  auto html = oracle({"html", page, std::to_string(2 * 1024 * 1024)});
  INFO(html.err);
  CHECK(html.exit_code == 0);
  auto roll = oracle({"roll", page, out + "/house.mid"});
  INFO(roll.err);
  CHECK(roll.exit_code == 0);
  const std::string text = read_file(page);
  // The page says the WAV is missing and still has the roll, the sections and the model panel.
  CHECK(text.find("house.wav is missing") != std::string::npos);
  CHECK(text.find("<svg id=\"roll\"") != std::string::npos);
  const auto prov = nlohmann::json::parse(read_file(out + "/house.json"));
  for (const auto& section : prov["sections"])
    CHECK(text.find(">" + section["name"].get<std::string>() + " · ") != std::string::npos);
  CHECK(text.find("id=\"model-panel\"") != std::string::npos);
  CHECK(text.find("Singular-value spectra") != std::string::npos);
  CHECK(text.find("No model panel") == std::string::npos);
  // The size limit is the "< 2 MB for a 4-minute house track": house's length now
  // follows the model (issue 13), about 3.5 to 4 minutes.
  CHECK(prov["length_seconds"].get<double>() >= 200);
  // The whole page is deterministic.
  const std::string first = read_file(page);
  REQUIRE(sonify_env(cache, {"report", out + "/house.json", "-q"}).exit_code == 0);
  CHECK(read_file(page) == first);
}

TEST_CASE("sonify report --png: roll and spectra decode with PIL at the documented sizes") {
  TempDir dir;
  const std::string cache = dir.file("cache"), out = dir.file("run");
  REQUIRE(sonify_env(cache, {"weights", "--model", fixtures_dir() + "/models/tiny-gemma3-random", "--genre",
                             "acid", "-o", out, "--midi-only", "-q"})
              .exit_code == 0);
  auto rep = sonify_env(cache, {"report", out, "--png", "-o", dir.file("pages/acid-report.html")});
  INFO(rep.out << rep.err);
  REQUIRE(rep.exit_code == 0);
  auto roll =
      oracle({"png", dir.file("pages/acid-report.roll.png"), std::to_string(sonify::kReportRollPngWidth),
              std::to_string(sonify::kReportRollPngHeight)});
  INFO(roll.err);
  CHECK(roll.exit_code == 0);
  // gemma3 has q, k, v, o, gate, up, down and the embedding: 8 panels in 3 rows.
  auto spectra = oracle({"png", dir.file("pages/acid-report.spectra.png"),
                         std::to_string(sonify::kReportSpectraPngWidth), std::to_string(40 + 3 * 360)});
  INFO(spectra.err);
  CHECK(spectra.exit_code == 0);
  CHECK(std::stoi(roll.out.substr(3)) > 20);  // colours: notes, bands, text, not a blank image
  CHECK(list_dir(dir.file("pages")) ==
        std::vector<std::string>{"acid-report.html", "acid-report.roll.png", "acid-report.spectra.png"});
}

TEST_CASE("sonify report: bad input is one error line and writes nothing") {
  TempDir dir;
  const std::string cache = dir.file("cache"), out = dir.file("run");
  fs::create_directories(dir.file("empty"));
  REQUIRE(sonify_env(cache, {"weights", "--model", tiny(), "--genre", "acid", "-o", out, "--midi-only", "-q"})
              .exit_code == 0);
  REQUIRE(sonify_env(cache, {"analyze", "--model", tiny(), "-o", dir.file("features.json"), "--quiet"})
              .exit_code == 0);
  write_file(dir.file("other.json"), "{\"hello\": 1}");
  write_file(dir.file("broken.json"), "{\"genre\": ");
  fs::create_directories(dir.file("nomidi"));
  fs::copy_file(out + "/acid.json", dir.file("nomidi/acid.json"));
  fs::create_directories(dir.file("two"));
  fs::copy_file(out + "/acid.json", dir.file("two/acid.json"));
  fs::copy_file(out + "/acid.json", dir.file("two/acid2.json"));
  const std::vector<std::pair<std::string, std::string>> cases = {
      {dir.file("empty"), "no run here"},
      {dir.file("features.json"), "a features file (sonify analyze), not a run"},
      {dir.file("other.json"), "not a sonify run"},
      {dir.file("broken.json"), "broken.json"},
      {dir.file("missing.json"), "no such file or directory"},
      {dir.file("nomidi"), "acid.mid: no such file (the piano roll needs the run's MIDI)"},
      {dir.file("two"), "2 runs here (acid.json, acid2.json): pass one of them"},
  };
  for (const auto& [path, message] : cases) {
    const auto before = list_dir(fs::is_directory(path) ? path : dir.path());
    auto r = sonify_env(cache, {"report", path});
    INFO(path << ": " << r.err);
    CHECK(r.exit_code == 1);
    CHECK(r.err.rfind("sonify: error: ", 0) == 0);
    CHECK(r.err.find(message) != std::string::npos);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(list_dir(fs::is_directory(path) ? path : dir.path()) == before);
  }
  // An unwritable output: the error names it, the run's directory gets nothing.
  write_file(dir.file("file"), "x");
  auto r = sonify_env(cache, {"report", out, "-o", dir.file("file/page.html")});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("file") != std::string::npos);
  CHECK(list_dir(out) == std::vector<std::string>{"acid.json", "acid.mid"});
}

TEST_CASE("sonify report: a model that moved still gives a page with the roll and a note") {
  TempDir dir;
  const std::string cache = dir.file("cache"), out = dir.file("run");
  fs::copy(tiny(), dir.file("model"), fs::copy_options::recursive);
  REQUIRE(sonify_env(cache, {"weights", "--model", dir.file("model"), "--genre", "suite", "-o", out,
                             "--midi-only", "-q"})
              .exit_code == 0);
  fs::remove_all(dir.file("model"));
  auto r = sonify_env(cache, {"report", out});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.find("sonify: note: model panel unavailable") != std::string::npos);
  const std::string text = read_file(out + "/suite.html");
  CHECK(text.find("No model panel") != std::string::npos);
  CHECK(text.find("<svg id=\"roll\"") != std::string::npos);
  CHECK(oracle({"html", out + "/suite.html"}).exit_code == 0);
}

TEST_CASE("sonify weights --report writes the run's page with it") {
  TempDir dir;
  const std::string cache = dir.file("cache"), out = dir.file("run");
  auto r = sonify_env(
      cache, {"weights", "--model", tiny(), "--genre", "acid", "-o", out, "--midi-only", "--report"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("wrote " + out + "/acid.html") != std::string::npos);
  CHECK(r.err.find("sonify: note: " + out + "/acid.wav: missing") != std::string::npos);
  CHECK(list_dir(out) == std::vector<std::string>{"acid.html", "acid.json", "acid.mid"});
  CHECK(oracle({"roll", out + "/acid.html", out + "/acid.mid"}).exit_code == 0);
  // The same page as `sonify report` writes afterwards.
  const std::string page = read_file(out + "/acid.html");
  REQUIRE(sonify_env(cache, {"report", out, "-q"}).exit_code == 0);
  CHECK(read_file(out + "/acid.html") == page);
}

TEST_CASE("sonify report --embed puts the WAV inside the page, byte for byte") {
  TempDir dir;
  const std::string cache = dir.file("cache"), out = dir.file("run");
  auto run = sonify_env(
      cache, {"weights", "--model", tiny(), "--genre", "acid", "--set", "bars=2", "-o", out, "-q"});
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  auto rep = sonify_env(cache, {"report", out, "--embed", "-o", dir.file("embedded.html")});
  INFO(rep.err);
  REQUIRE(rep.exit_code == 0);
  auto check = oracle({"embedded", dir.file("embedded.html"), out + "/acid.wav"});
  INFO(check.err);
  CHECK(check.exit_code == 0);
  CHECK(oracle({"html", dir.file("embedded.html")}).exit_code == 0);
  // Without --embed the page links the WAV by its path relative to the page.
  REQUIRE(sonify_env(cache, {"report", out, "-o", dir.file("linked.html")}).exit_code == 0);
  CHECK(read_file(dir.file("linked.html")).find("src=\"run/acid.wav\"") != std::string::npos);
}
