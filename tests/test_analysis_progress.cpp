// The progress line of long steps (src/core/progress.h), driven by an injected clock and an
// injected terminal flag, and `sonify analyze` off a terminal: stderr stays empty.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "core/progress.h"
#include "sonify/analysis.h"
#include "test_support.h"

using sonify::ProgressLine;

namespace {

struct Screen {
  double now = 100;  // the injected clock, seconds
  std::vector<std::string> writes;

  ProgressLine::Options options(bool terminal) {
    ProgressLine::Options o;
    o.verb = "analysing";
    o.unit = "tensors";
    o.terminal = terminal;
    o.clock = [this] { return now; };
    o.write = [this](const std::string& text) { writes.push_back(text); };
    return o;
  }
  std::string all() const {
    std::string s;
    for (const auto& w : writes) s += w;
    return s;
  }
};

}  // namespace

TEST_CASE("progress: durations, the time left and the line", "[analysis][progress]") {
  CHECK(sonify::format_duration(0) == "0 s");
  CHECK(sonify::format_duration(11.2) == "12 s");
  CHECK(sonify::format_duration(59) == "59 s");
  CHECK(sonify::format_duration(59.5) == "1 min 00 s");
  CHECK(sonify::format_duration(65) == "1 min 05 s");
  CHECK(sonify::format_duration(3599) == "59 min 59 s");
  CHECK(sonify::format_duration(3600 + 3 * 60 + 59) == "1 h 03 min");
  CHECK(sonify::format_duration(-1).empty());

  CHECK(sonify::seconds_left(10, 0) < 0);  // nothing done: unknown
  CHECK(sonify::seconds_left(10, 0.25) == 30);
  CHECK(sonify::seconds_left(12, 0.5) == 12);
  CHECK(sonify::seconds_left(12, 1) == 0);

  CHECK(sonify::progress_line("analysing", 57, 145, "tensors", 11.5) ==
        "analysing 57/145 tensors, 12 s left");
  CHECK(sonify::progress_line("analysing", 0, 145, "tensors", -1) == "analysing 0/145 tensors");
}

TEST_CASE("progress: redrawn in place at most every 0.2 s, cleared at the end", "[analysis][progress]") {
  Screen screen;
  {
    ProgressLine bar(screen.options(true));
    screen.now += 1;
    bar.update(0, 4);  // nothing done yet: no estimate
    REQUIRE(screen.writes.size() == 1);
    CHECK(screen.writes[0] == "\ranalysing 0/4 tensors");
    screen.now += 0.1;
    bar.update(1, 4);  // 0.1 s after the last draw: skipped
    CHECK(screen.writes.size() == 1);
    screen.now += 0.9;  // 2 s since the start, a quarter done: 6 s left
    bar.update(1, 4);
    REQUIRE(screen.writes.size() == 2);
    CHECK(screen.writes[1] == "\ranalysing 1/4 tensors, 6 s left");
    screen.now += 2;  // 4 s, the work fraction given explicitly (80 %): 1 s left
    bar.update(2, 4, 0.8);
    REQUIRE(screen.writes.size() == 3);
    CHECK(screen.writes[2] == "\ranalysing 2/4 tensors, 1 s left");
    screen.now += 1;
    bar.update(4, 4);  // the end: the line is blanked, the cursor back at the start
    REQUIRE(screen.writes.size() == 4);
    CHECK(screen.writes[3] == "\r" + std::string(screen.writes[2].size() - 1, ' ') + "\r");
  }
  CHECK(screen.writes.size() == 4);  // already cleared: the destructor writes nothing more

  // A shorter line covers what is left of the longer one before it.
  Screen shrink;
  ProgressLine bar(shrink.options(true));
  shrink.now += 10;
  bar.update(1, 1000, 0.001);  // 9990 s left
  shrink.now += 10;
  bar.update(999, 1000, 0.999);
  REQUIRE(shrink.writes.size() == 2);
  CHECK(shrink.writes[0] == "\ranalysing 1/1000 tensors, 2 h 46 min left");
  CHECK(shrink.writes[1] == "\ranalysing 999/1000 tensors, 1 s left" + std::string(5, ' '));
  shrink.writes.clear();
  bar.clear();
  CHECK(shrink.all() == "\r" + std::string(41, ' ') + "\r");
}

TEST_CASE("progress: nothing at all when not a terminal", "[analysis][progress]") {
  Screen screen;
  {
    ProgressLine bar(screen.options(false));
    for (std::size_t i = 0; i <= 10; ++i) {
      screen.now += 1;
      bar.update(i, 10);
    }
  }
  CHECK(screen.writes.empty());
}

TEST_CASE("analyze off a terminal writes nothing to stderr", "[analysis][progress][cli][fixtures]") {
  sonify::test::use_private_cache();
  const std::string model = sonify::test::fixtures_dir() + "/models/TinyStories-656K";
  sonify::test::TempDir dir;
  // Not quiet: the only thing keeping stderr empty is that it is a pipe here.
  const auto r =
      sonify::test::run_sonify({"analyze", "--model", model, "--no-cache", "-o", dir.file("f.json")});
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.empty());
  CHECK(sonify::test::read_file(dir.file("f.json")).find("\"matrices\"") != std::string::npos);
}

TEST_CASE("analysis progress: from 0 to every matrix plus the vectors, work rising to 1",
          "[analysis][progress][fixtures]") {
  auto model = sonify::Model::open(sonify::test::fixtures_dir() + "/models/TinyStories-656K");
  REQUIRE(model.ok());
  struct Call {
    std::size_t done, total;
    double work;
  };
  std::vector<Call> calls;
  sonify::AnalyzeOptions options;
  options.threads = 2;
  options.progress = [&](std::size_t done, std::size_t total, double work) {
    calls.push_back({done, total, work});
  };
  auto features = sonify::analyze_weights(*model, options);
  REQUIRE(features.ok());
  const std::size_t total = features->matrices.size() + 1;  // the vectors are the last unit
  REQUIRE(calls.size() == total + 1);
  CHECK(calls.front().done == 0);
  CHECK(calls.front().work == 0);
  for (std::size_t i = 1; i < calls.size(); ++i) {
    CHECK(calls[i].total == total);
    CHECK(calls[i].done == i);
    CHECK(calls[i].work >= calls[i - 1].work);
  }
  CHECK(calls.back().work == Approx(1).epsilon(1e-12));
}
