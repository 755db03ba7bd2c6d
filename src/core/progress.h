// A one-line progress report with the time left ("analysing 57/145 tensors, 12 s left"),
// redrawn in place on a terminal and cleared at the end. Off the terminal it writes
// nothing, so logs, pipes and tests see the same stderr as without it. The clock, the
// terminal test and the writer are injectable so the logic is testable without sleeping.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

namespace sonify {

// "4 s", "1 min 05 s", "2 h 03 min" (rounded up to whole seconds; negative: "").
std::string format_duration(double seconds);

// Seconds left when `fraction` of the work took `elapsed` seconds, assuming the rest goes
// at the same rate; negative (unknown) before any work is done.
double seconds_left(double elapsed, double fraction);

// "<verb> <done>/<total> <unit>, <time> left", without the time part when `left` < 0.
std::string progress_line(const std::string& verb, std::size_t done, std::size_t total,
                          const std::string& unit, double left);

// Whether stderr is a terminal (isatty).
bool stderr_is_terminal();

class ProgressLine {
 public:
  struct Options {
    std::string verb = "working";
    std::string unit = "items";
    bool terminal = false;                          // draw only then
    double min_interval = 0.2;                      // seconds between redraws
    std::function<double()> clock;                  // monotonic seconds; default steady_clock
    std::function<void(const std::string&)> write;  // default: stderr, flushed
  };
  explicit ProgressLine(Options options);
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  // `done` of `total` units finished; `work` in [0, 1] is the fraction of the work done when
  // units differ in cost (negative: done / total). Redraws at most every min_interval
  // seconds; when done reaches total the line is cleared. Not thread-safe: call it from
  // one thread at a time.
  void update(std::size_t done, std::size_t total, double work = -1);

  // Clears the line if one is shown (also done by the destructor).
  void clear();

 private:
  Options options_;
  double start_ = 0;
  double last_draw_ = 0;
  bool drawn_ = false;
  std::size_t shown_ = 0;  // length of the line on screen
};

}  // namespace sonify
