// Mastering: one gain to a sample-peak ceiling, or to an EBU R128 loudness target with
// a look-ahead limiter that keeps every sample under the ceiling.
#include "render/master.h"

#include <ebur128.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <memory>

namespace sonify {
namespace {

constexpr double kSilenceDbfs = -90.0;

double to_db(double linear) { return linear > 0 ? 20.0 * std::log10(linear) : -1000.0; }
double from_db(double db) { return std::pow(10.0, db / 20.0); }

struct EburDeleter {
  void operator()(ebur128_state* s) const { ebur128_destroy(&s); }
};

// Gain per frame so that |x * gain| <= ceiling, smoothed: a sliding minimum over ±w
// frames, a 50 ms release, then a moving average over ±w/2. Each averaged value only
// sees minima whose windows contain the frame itself, so it never exceeds that frame's
// own limit: the limiter cannot let a peak through.
std::vector<float> limiter_gain(const std::vector<float>& x, double ceiling, int sample_rate_hz) {
  const std::size_t n = x.size() / 2;
  const auto w = static_cast<std::size_t>(std::max(1, sample_rate_hz / 200));  // 5 ms
  std::vector<float> need(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double a = std::max(std::fabs(x[2 * i]), std::fabs(x[2 * i + 1]));
    need[i] = a > ceiling ? static_cast<float>(ceiling / a) : 1.0f;
  }
  // Sliding minimum over [i - w, i + w] with a monotonic deque.
  std::vector<float> lowest(n);
  std::deque<std::size_t> q;
  std::size_t next = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t hi = std::min(n - 1, i + w);
    for (; next <= hi; ++next) {
      while (!q.empty() && need[q.back()] >= need[next]) q.pop_back();
      q.push_back(next);
    }
    while (q.front() + w < i) q.pop_front();
    lowest[i] = need[q.front()];
  }
  const double release = 1.0 - std::exp(-1.0 / (0.050 * sample_rate_hz));
  double held = 1.0;
  for (std::size_t i = 0; i < n; ++i) {
    held = std::min(static_cast<double>(lowest[i]), held + (1.0 - held) * release);
    lowest[i] = static_cast<float>(held);
  }
  // Centred moving average over ±w/2, written over `need` (no longer used).
  const std::size_t h = w / 2;
  double sum = 0;
  std::size_t a = 0, b = 0;  // the window is [a, b)
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t lo = i >= h ? i - h : 0, hi = std::min(n, i + h + 1);
    for (; b < hi; ++b) sum += lowest[b];
    for (; a < lo; ++a) sum -= lowest[a];
    need[i] = static_cast<float>(std::min(1.0, sum / static_cast<double>(hi - lo)));
  }
  return need;
}

}  // namespace

double peak_dbfs(const Audio& audio) {
  float peak = 0;
  for (float v : audio.samples) peak = std::max(peak, std::fabs(v));
  return to_db(peak);
}

Result<double> loudness_lufs(const Audio& audio) {
  std::unique_ptr<ebur128_state, EburDeleter> st(
      ebur128_init(2, static_cast<unsigned long>(audio.sample_rate_hz), EBUR128_MODE_I));
  if (!st) return fail("libebur128: cannot initialise");
  if (audio.frames() > 0 &&
      ebur128_add_frames_float(st.get(), audio.samples.data(), audio.frames()) != EBUR128_SUCCESS)
    return fail("libebur128: cannot measure loudness");
  double lufs = 0;
  if (ebur128_loudness_global(st.get(), &lufs) != EBUR128_SUCCESS)
    return fail("libebur128: cannot measure loudness");
  return std::isfinite(lufs) ? lufs : -1000.0;
}

Result<MasterStats> master_gain(Audio& audio, const MasterOptions& options) {
  if (!(options.peak_ceiling_dbfs <= 0 && options.peak_ceiling_dbfs >= -60))
    return fail("peak ceiling ", options.peak_ceiling_dbfs, " dBFS is outside -60..0");
  if (options.loudness && !(options.loudness_lufs >= -70 && options.loudness_lufs <= 0))
    return fail("loudness target ", options.loudness_lufs, " LUFS is outside -70..0");
  MasterStats stats;
  const double ceiling = from_db(options.peak_ceiling_dbfs);
  const double peak_db = peak_dbfs(audio);
  const double peak = from_db(peak_db);
  // Below -90 dBFS there is nothing to master: FluidSynth's effects leave residue
  // around 1e-8 even in a file without notes, which must not be raised to the ceiling.
  if (peak_db > kSilenceDbfs) {
    double gain = ceiling / peak;
    if (options.loudness) {
      SONIFY_ASSIGN_OR_RETURN(measured, loudness_lufs(audio));
      if (measured > -999) gain = from_db(options.loudness_lufs - measured);
    }
    for (float& v : audio.samples) v = static_cast<float>(v * gain);
    stats.gain_db = to_db(gain);
    if (peak * gain > ceiling) {
      const auto g = limiter_gain(audio.samples, ceiling, audio.sample_rate_hz);
      for (std::size_t i = 0; i < g.size(); ++i) {
        audio.samples[2 * i] *= g[i];
        audio.samples[2 * i + 1] *= g[i];
      }
      stats.limited = true;
      // Float rounding of the product can land a hair above the ceiling.
      const double after = from_db(peak_dbfs(audio));
      if (after > ceiling)
        for (float& v : audio.samples) v = static_cast<float>(v * (ceiling / after));
    }
  }
  stats.peak_dbfs = peak_dbfs(audio);
  return stats;
}

Result<MasterStats> master_audio(Audio& audio, const MasterOptions& options) {
  SONIFY_ASSIGN_OR_RETURN(stats, master_gain(audio, options));
  SONIFY_ASSIGN_OR_RETURN(achieved, loudness_lufs(audio));
  stats.loudness_lufs = achieved;
  return stats;
}

}  // namespace sonify
