// Mastering: one gain to a sample-peak ceiling, or to an EBU R128 loudness target with
// a look-ahead limiter that keeps every sample under the ceiling.
#include "render/master.h"

#include <ebur128.h>

#include <algorithm>
#include <array>
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

// The sample peak of each stereo frame.
std::vector<float> frame_peaks(const std::vector<float>& x) {
  std::vector<float> peaks(x.size() / 2);
  for (std::size_t i = 0; i < peaks.size(); ++i)
    peaks[i] = std::max(std::fabs(x[2 * i]), std::fabs(x[2 * i + 1]));
  return peaks;
}

// The peak of each frame and the three points after it, 4× oversampled with a 48-tap
// windowed-sinc interpolator (12 taps per phase), as ITU-R BS.1770-4 Annex 2 describes:
// what a DAC's reconstruction can reach between samples.
std::vector<float> frame_true_peaks(const std::vector<float>& x) {
  constexpr int kPhases = 4, kTaps = 12;
  // Point i + p/4 from the samples i-5 .. i+6 (tap t is sample i + t - 5): a sinc at
  // distance d = 5 - t + p/4 under a Hann window over ±6 samples.
  static const auto coefficients = [] {
    std::array<std::array<double, kTaps>, kPhases> c{};
    const double pi = std::acos(-1.0);
    for (int p = 1; p < kPhases; ++p)
      for (int t = 0; t < kTaps; ++t) {
        const double d = 5.0 - t + static_cast<double>(p) / kPhases;
        const double window = 0.5 + 0.5 * std::cos(pi * d / 6.0);
        c[static_cast<std::size_t>(p)][static_cast<std::size_t>(t)] = std::sin(pi * d) / (pi * d) * window;
      }
    return c;
  }();
  const std::size_t n = x.size() / 2;
  std::vector<float> peaks = frame_peaks(x);
  for (std::size_t i = 0; i < n; ++i)
    for (int ch = 0; ch < 2; ++ch)
      for (int p = 1; p < kPhases; ++p) {
        double v = 0;
        for (int t = 0; t < kTaps; ++t) {
          const long j = static_cast<long>(i) + t - 5;
          if (j >= 0 && static_cast<std::size_t>(j) < n)
            v += coefficients[static_cast<std::size_t>(p)][static_cast<std::size_t>(t)] *
                 x[2 * static_cast<std::size_t>(j) + static_cast<std::size_t>(ch)];
        }
        peaks[i] = std::max(peaks[i], static_cast<float>(std::fabs(v)));
      }
  return peaks;
}

// Gain per frame so that peak * gain <= ceiling, smoothed: a sliding minimum over ±w
// frames, a 50 ms release, then a moving average over ±w/2. Each averaged value only
// sees minima whose windows contain the frame itself, so it never exceeds that frame's
// own limit: the limiter cannot let a peak through.
std::vector<float> limiter_gain(const std::vector<float>& peaks, double ceiling, int sample_rate_hz) {
  const std::size_t n = peaks.size();
  const auto w = static_cast<std::size_t>(std::max(1, sample_rate_hz / 200));  // 5 ms
  std::vector<float> need(n);
  for (std::size_t i = 0; i < n; ++i)
    need[i] = peaks[i] > ceiling ? static_cast<float>(ceiling / peaks[i]) : 1.0f;
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
      const auto g = limiter_gain(frame_peaks(audio.samples), ceiling, audio.sample_rate_hz);
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

Result<double> true_peak_dbtp(const Audio& audio) {
  std::unique_ptr<ebur128_state, EburDeleter> st(
      ebur128_init(2, static_cast<unsigned long>(audio.sample_rate_hz), EBUR128_MODE_TRUE_PEAK));
  if (!st) return fail("libebur128: cannot initialise");
  if (audio.frames() > 0 &&
      ebur128_add_frames_float(st.get(), audio.samples.data(), audio.frames()) != EBUR128_SUCCESS)
    return fail("libebur128: cannot measure the true peak");
  double peak = 0;
  for (unsigned ch = 0; ch < 2; ++ch) {
    double v = 0;
    if (ebur128_true_peak(st.get(), ch, &v) != EBUR128_SUCCESS)
      return fail("libebur128: cannot measure the true peak");
    peak = std::max(peak, v);
  }
  return to_db(peak);
}

Result<MasterStats> master_to_true_peak(Audio& audio, double gain_db, double ceiling_dbtp) {
  if (!(ceiling_dbtp <= 0 && ceiling_dbtp >= -60))
    return fail("true-peak ceiling ", ceiling_dbtp, " dBTP is outside -60..0");
  if (!std::isfinite(gain_db)) return fail("album gain ", gain_db, " dB is not finite");
  MasterStats stats;
  if (peak_dbfs(audio) > kSilenceDbfs) {
    const double gain = from_db(gain_db);
    for (float& v : audio.samples) v = static_cast<float>(v * gain);
    stats.gain_db = gain_db;
    const double ceiling = from_db(ceiling_dbtp);
    const auto peaks = frame_true_peaks(audio.samples);
    if (*std::max_element(peaks.begin(), peaks.end()) > ceiling) {
      const auto g = limiter_gain(peaks, ceiling, audio.sample_rate_hz);
      for (std::size_t i = 0; i < g.size(); ++i) {
        audio.samples[2 * i] *= g[i];
        audio.samples[2 * i + 1] *= g[i];
      }
      stats.limited = true;
    }
    // The limiter's interpolator and libebur128's differ slightly, and the 16-bit
    // rounding after this adds up to half a step: land 0.05 dB under the ceiling, so an
    // independent 4x measurement (tests/oracles/loudness.py) agrees it is under.
    SONIFY_ASSIGN_OR_RETURN(after, true_peak_dbtp(audio));
    if (after > ceiling_dbtp - 0.05) {
      const double scale = from_db(ceiling_dbtp - 0.05 - after);
      for (float& v : audio.samples) v = static_cast<float>(v * scale);
    }
  }
  SONIFY_ASSIGN_OR_RETURN(loudness, loudness_lufs(audio));
  SONIFY_ASSIGN_OR_RETURN(true_peak, true_peak_dbtp(audio));
  stats.loudness_lufs = loudness;
  stats.true_peak_dbtp = true_peak;
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
