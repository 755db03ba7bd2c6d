#include "core/progress.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>

namespace sonify {

std::string format_duration(double seconds) {
  if (!(seconds >= 0)) return "";
  const long long s = static_cast<long long>(std::ceil(seconds));
  char buf[64];
  if (s < 60)
    std::snprintf(buf, sizeof buf, "%lld s", s);
  else if (s < 3600)
    std::snprintf(buf, sizeof buf, "%lld min %02lld s", s / 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%lld h %02lld min", s / 3600, s / 60 % 60);
  return buf;
}

double seconds_left(double elapsed, double fraction) {
  if (!(fraction > 0) || !(elapsed >= 0)) return -1;
  if (fraction >= 1) return 0;
  return elapsed / fraction * (1 - fraction);
}

std::string progress_line(const std::string& verb, std::size_t done, std::size_t total,
                          const std::string& unit, double left) {
  std::string line = verb + " " + std::to_string(done) + "/" + std::to_string(total) + " " + unit;
  if (left >= 0) line += ", " + format_duration(left) + " left";
  return line;
}

bool stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

ProgressLine::ProgressLine(Options options) : options_(std::move(options)) {
  if (!options_.clock) {
    options_.clock = [] {
      return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
    };
  }
  if (!options_.write) {
    options_.write = [](const std::string& text) {
      std::fputs(text.c_str(), stderr);
      std::fflush(stderr);
    };
  }
  start_ = options_.clock();
}

ProgressLine::~ProgressLine() { clear(); }

void ProgressLine::update(std::size_t done, std::size_t total, double work) {
  if (!options_.terminal) return;
  if (done >= total) {
    clear();
    return;
  }
  const double now = options_.clock();
  if (drawn_ && now - last_draw_ < options_.min_interval) return;
  const double fraction = work >= 0 ? work : total > 0 ? static_cast<double>(done) / total : 0;
  const std::string line =
      progress_line(options_.verb, done, total, options_.unit, seconds_left(now - start_, fraction));
  // Spaces over what is left of a longer previous line.
  const std::size_t pad = shown_ > line.size() ? shown_ - line.size() : 0;
  options_.write("\r" + line + std::string(pad, ' '));
  shown_ = line.size() + pad;
  drawn_ = true;
  last_draw_ = now;
}

void ProgressLine::clear() {
  if (!drawn_) return;
  options_.write("\r" + std::string(shown_, ' ') + "\r");
  drawn_ = false;
  shown_ = 0;
}

}  // namespace sonify
