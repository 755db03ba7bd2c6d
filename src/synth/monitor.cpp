// The live monitor's voice (include/sonify/synth.h, the notebooks' §20).
#include <algorithm>
#include <array>
#include <cmath>

#include "sonify/synth.h"

namespace sonify {
namespace {

constexpr double kTwoPi = 6.283185307179586;

double wrap(double phase) { return phase >= kTwoPi ? phase - kTwoPi : phase; }

}  // namespace

int monitor_note(double x, double score, double threshold) {
  if (!std::isfinite(x) || !std::isfinite(score)) return -1;
  const double target = 48.0 + 36.0 / (1.0 + std::exp(-x));
  const double octave = std::floor(target / 12.0);
  const double pitch_class = target - 12.0 * octave;
  const std::array<int, 7> sorted = {0, 1, 2, 4, 6, 7, 9};
  int best = -1;
  for (int c : sorted) {
    if ((c == 1 || c == 6) && score < threshold) continue;
    if (best < 0 || std::abs(c - pitch_class) < std::abs(best - pitch_class)) best = c;
  }
  return static_cast<int>(octave) * 12 + best;
}

double monitor_hz(int note) {
  if (note < 0) return 0;
  return std::clamp(440.0 * std::pow(2.0, (note - 69) / 12.0), 60.0, 2000.0);
}

MonitorVoice::MonitorVoice(const MonitorOptions& options) : options_(options) {
  smoothing_ = std::pow(0.9, options.step_seconds / options.tick_seconds);
  step_frames_ = static_cast<std::size_t>(std::lround(options.step_seconds * options.sample_rate_hz));
  glide_frames_ = std::max<std::size_t>(
      1, static_cast<std::size_t>(std::lround(options.glide_seconds * options.sample_rate_hz)));
}

MonitorStep MonitorVoice::step(double raw_score, double surprisal, double max_surprisal,
                               std::vector<std::int16_t>* out) {
  MonitorStep s;
  s.raw_score = std::isfinite(raw_score) ? std::clamp(raw_score, 0.0, 1.0) : 0.0;
  score_ = smoothing_ * score_ + (1 - smoothing_) * s.raw_score;
  s.score = score_;
  s.x = max_surprisal > 0 && std::isfinite(surprisal) ? 4.0 * surprisal / max_surprisal - 2.0 : 0.0;
  s.note = monitor_note(s.x, s.score, options_.alert_threshold);
  s.dissonant = s.score >= options_.alert_threshold;
  s.hz = monitor_hz(s.note);
  s.fm_index = 2 + 10 * s.score;
  s.cutoff_hz = std::min(1000 + 8000 * s.score, 0.45 * options_.sample_rate_hz);
  s.drive = 0.9 * s.score;

  // The first token starts at its own pitch; later ones glide from where the last one was.
  hz_from_ = started_ ? hz_ : s.hz;
  index_from_ = started_ ? index_ : s.fm_index;
  started_ = true;
  hz_ = s.hz;
  index_ = s.fm_index;
  // RBJ cookbook low-pass; the state (z1, z2) carries over so the filter does not restart.
  const double w0 = kTwoPi * s.cutoff_hz / options_.sample_rate_hz;
  const double alpha = std::sin(w0) / 2.0;  // Q = 1
  const double a0 = 1 + alpha;
  b0_ = (1 - std::cos(w0)) / 2 / a0;
  b1_ = (1 - std::cos(w0)) / a0;
  b2_ = b0_;
  a1_ = -2 * std::cos(w0) / a0;
  a2_ = (1 - alpha) / a0;
  k_ = 2 * s.drive / (1 - s.drive);
  render(step_frames_, false, out);
  return s;
}

void MonitorVoice::release(std::vector<std::int16_t>* out) {
  if (!started_) return;
  hz_from_ = hz_;
  index_from_ = index_;
  render(glide_frames_, true, out);
}

void MonitorVoice::render(std::size_t frames, bool fade_out, std::vector<std::int16_t>* out) {
  const double rate = options_.sample_rate_hz;
  for (std::size_t n = 0; n < frames; ++n) {
    const double ramp = std::min(1.0, static_cast<double>(n + 1) / static_cast<double>(glide_frames_));
    const double hz = hz_from_ + (hz_ - hz_from_) * ramp;
    const double index = index_from_ + (index_ - index_from_) * ramp;
    const double gain = fade_out ? 1.0 - ramp : 1.0;
    const double fm = gain * 0.2 * std::sin(carrier_phase_ + index * std::sin(modulator_phase_));
    carrier_phase_ = wrap(carrier_phase_ + kTwoPi * hz / rate);
    modulator_phase_ = wrap(modulator_phase_ + kTwoPi * 0.5 * hz / rate);
    const double y = b0_ * fm + z1_;
    z1_ = b1_ * fm - a1_ * y + z2_;
    z2_ = b2_ * fm - a2_ * y;
    const double shaped = 0.8 * (1 + k_) * y / (1 + k_ * std::abs(y));
    const auto sample = static_cast<std::int16_t>(std::lround(std::clamp(shaped, -1.0, 1.0) * 32767.0));
    out->push_back(sample);
    out->push_back(sample);
  }
}

}  // namespace sonify
