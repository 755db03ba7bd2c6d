// The three direct styles. Every section is synthesised in double, placed so that its
// fade-out overlaps the next section's fade-in (the notebooks wrote them end to end), and
// the whole piece is scaled by one gain at the end.
#include <algorithm>
#include <cmath>
#include <complex>
#include <numeric>

#include "convolve.h"
#include "sonify/activation_stats.h"
#include "sonify/synth.h"

namespace sonify {
namespace {

constexpr double kTwoPi = 6.283185307179586;

std::vector<double> log_space(double lo, double hi, int n) {
  std::vector<double> f(static_cast<std::size_t>(std::max(0, n)));
  for (int i = 0; i < n; ++i)
    f[static_cast<std::size_t>(i)] =
        std::exp(n == 1 ? std::log(lo) : std::log(lo) + (std::log(hi) - std::log(lo)) * i / (n - 1));
  return f;
}

const float* row(const HiddenStack& h, int state, int token) {
  return h.values.data() + (static_cast<std::size_t>(state) * h.tokens + token) * h.width;
}

// a[l][t] = ||h[l, t]|| / (max over every state and token + 1e-9).
std::vector<std::vector<double>> norm_amplitudes(const HiddenStack& h) {
  std::vector<std::vector<double>> a(static_cast<std::size_t>(h.states));
  double top = 0;
  for (int l = 0; l < h.states; ++l)
    for (int t = 0; t < h.tokens; ++t) {
      const float* r = row(h, l, t);
      double s = 0;
      for (int d = 0; d < h.width; ++d) s += static_cast<double>(r[d]) * r[d];
      a[static_cast<std::size_t>(l)].push_back(std::sqrt(s));
      top = std::max(top, std::sqrt(s));
    }
  for (auto& v : a)
    for (double& x : v) x /= top + 1e-9;
  return a;
}

// φ[l][t] = atan2(pc2, pc1) of a 2-component PCA of state l's tokens (0 when it cannot be fitted).
std::vector<std::vector<double>> pca_phases(const HiddenStack& h) {
  std::vector<std::vector<double>> phase(static_cast<std::size_t>(h.states),
                                         std::vector<double>(static_cast<std::size_t>(h.tokens), 0.0));
  if (h.tokens < 2) return phase;
  for (int l = 0; l < h.states; ++l) {
    std::vector<double> data(row(h, l, 0), row(h, l, 0) + static_cast<std::size_t>(h.tokens) * h.width);
    auto pca = pca_fit(data, static_cast<std::size_t>(h.tokens), static_cast<std::size_t>(h.width), 2);
    if (!pca.ok() || pca->components.size() < 2) continue;
    auto z = pca_transform(*pca, data, static_cast<std::size_t>(h.tokens));
    if (!z.ok()) continue;
    for (int t = 0; t < h.tokens; ++t)
      phase[static_cast<std::size_t>(l)][static_cast<std::size_t>(t)] =
          std::atan2((*z)[static_cast<std::size_t>(t) * 2 + 1], (*z)[static_cast<std::size_t>(t) * 2]);
  }
  return phase;
}

// Linear fade-in and fade-out of `fade` samples at both ends.
void fade_ends(std::vector<double>& x, std::size_t fade) {
  const std::size_t n = std::min(fade, x.size() / 2);
  for (std::size_t i = 0; i < n; ++i) {
    const double g = static_cast<double>(i) / static_cast<double>(n);
    x[i] *= g;
    x[x.size() - 1 - i] *= g;
  }
}

// Adds `x` into `out` from `at` on, growing it.
void add_at(std::vector<double>& out, const std::vector<double>& x, std::size_t at) {
  if (out.size() < at + x.size()) out.resize(at + x.size(), 0.0);
  for (std::size_t i = 0; i < x.size(); ++i) out[at + i] += x[i];
}

// A seeded standard normal stream: splitmix64 and Box-Muller.
class Gaussian {
 public:
  explicit Gaussian(std::uint64_t seed) : state_(seed) {}
  double next() {
    const double u1 = (static_cast<double>(bits() >> 11) + 0.5) / 9007199254740992.0;
    const double u2 = static_cast<double>(bits() >> 11) / 9007199254740992.0;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(kTwoPi * u2);
  }

 private:
  std::uint64_t bits() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  std::uint64_t state_;
};

// The notebooks' reverb with a seeded impulse response: Gaussian noise under exp(-damping·u),
// u from 0 to 6·length, scaled to unit energy (the notebook scaled it to peak 1 and then the
// wet signal to peak 1, which made a quiet layer's reverb as loud as a loud one's). The
// tail is kept: it rings into the next section instead of being cut at the section's end.
std::vector<double> reverb(const std::vector<double>& x, double room, double damping, double wet,
                           int sample_rate, std::uint64_t seed) {
  const auto n = static_cast<std::size_t>(std::max(1.0, std::round(room * 3.0 * sample_rate)));
  Gaussian noise(seed);
  std::vector<double> ir(n);
  double energy = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double u = n == 1 ? 0 : 6.0 * room * 3.0 * static_cast<double>(i) / static_cast<double>(n - 1);
    ir[i] = noise.next() * std::exp(-damping * u);
    energy += ir[i] * ir[i];
  }
  for (double& v : ir) v /= std::sqrt(energy);
  std::vector<double> out = synth::convolve(x, ir);
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] = wet * out[i] + (i < x.size() ? (1 - wet) * x[i] : 0.0);
  return out;
}

std::uint64_t mix_seed(std::uint64_t seed, std::uint64_t a, std::uint64_t b) {
  return seed * 0x100000001B3ull ^ (a + 1) * 0x9E3779B97F4A7C15ull ^ (b + 1) * 0xC2B2AE3D27D4EB4Full;
}

Audio to_audio(const std::vector<double>& left, const std::vector<double>& right, int sample_rate) {
  const std::size_t frames = std::max(left.size(), right.size());
  double peak = 0;
  for (double v : left) peak = std::max(peak, std::abs(v));
  for (double v : right) peak = std::max(peak, std::abs(v));
  const double gain = peak > 0 ? 0.5 / peak : 0.0;  // mastering sets the level; no sample near full scale
  Audio a;
  a.sample_rate_hz = sample_rate;
  a.samples.assign(frames * 2, 0.0f);
  for (std::size_t i = 0; i < frames; ++i) {
    a.samples[2 * i] = static_cast<float>(i < left.size() ? left[i] * gain : 0.0);
    a.samples[2 * i + 1] = static_cast<float>(i < right.size() ? right[i] * gain : 0.0);
  }
  return a;
}

// §9: per state, Σ_t a·sin(2π f_t n / SR + φ), sections of 1.2 s overlapping by 0.15 s.
DirectResult thinking(const HiddenStack& h, int sr) {
  DirectResult r;
  const auto f = log_space(80, 5000, h.tokens);
  const auto amp = norm_amplitudes(h);
  const auto phase = pca_phases(h);
  const auto len = static_cast<std::size_t>(std::lround(1.2 * sr));
  const auto fade = static_cast<std::size_t>(std::lround(0.15 * sr));
  std::vector<double> out;
  for (int l = 0; l < h.states; ++l) {
    std::vector<double> x(len, 0.0);
    for (int t = 0; t < h.tokens; ++t) {
      const double a = amp[static_cast<std::size_t>(l)][static_cast<std::size_t>(t)];
      // A phasor turned by a fixed step: one complex product per sample instead of a sine.
      const std::complex<double> step = std::polar(1.0, kTwoPi * f[static_cast<std::size_t>(t)] / sr);
      std::complex<double> z = std::polar(a, phase[static_cast<std::size_t>(l)][static_cast<std::size_t>(t)]);
      for (std::size_t n = 0; n < len; ++n) {
        x[n] += z.imag();
        z *= step;
      }
    }
    fade_ends(x, fade);
    add_at(out, x, static_cast<std::size_t>(l) * (len - fade));
    r.section_start_seconds.push_back(static_cast<double>(static_cast<std::size_t>(l) * (len - fade)) / sr);
    r.partials.frequency_hz.push_back(f);
    r.partials.amplitude.push_back(amp[static_cast<std::size_t>(l)]);
    r.partials.phase.push_back(phase[static_cast<std::size_t>(l)]);
  }
  r.audio = to_audio(out, out, sr);
  r.section_seconds = static_cast<double>(len) / sr;
  r.fade_seconds = static_cast<double>(fade) / sr;
  return r;
}

// A Dorian scale from 110 Hz over four octaves (29 pitches, 110..1760 Hz).
std::vector<double> dorian_hz() {
  std::vector<double> hz;
  for (int octave = 0; octave < 4; ++octave)
    for (int step : {0, 2, 3, 5, 7, 9, 10, 12}) {
      const double f = 110.0 * std::pow(2.0, octave + step / 12.0);
      if (hz.empty() || std::abs(hz.back() - f) > 1e-9) hz.push_back(f);
    }
  return hz;
}

double snap(const std::vector<double>& scale, double f) {
  return *std::min_element(scale.begin(), scale.end(),
                           [f](double a, double b) { return std::abs(a - f) < std::abs(b - f); });
}

// ADSR over a note of n samples: attack and decay as fractions of it, sustain 0.8, release 0.2.
double adsr(std::size_t i, std::size_t n, double attack) {
  const double x = static_cast<double>(i) / static_cast<double>(n);
  const double decay = 0.08, sustain = 0.8, release = 0.2;
  if (x < attack) return x / attack;
  if (x < attack + decay) return 1.0 - (1.0 - sustain) * (x - attack) / decay;
  if (x < 1.0 - release) return sustain;
  return sustain * (1.0 - x) / release;
}

// §10: per state, a voice per token: 7 harmonics (the PCA phase added once), vibrato,
// ADSR, equal-power pan by position, a seeded reverb per channel; 2.5 s sections
// overlapping by 0.6 s; a master reverb over the whole piece.
DirectResult operatic(const HiddenStack& h, int sr, std::uint64_t seed) {
  DirectResult r;
  const auto scale = dorian_hz();
  std::vector<double> f;
  for (double x : log_space(110, 1760, h.tokens)) f.push_back(snap(scale, x));
  const auto amp = norm_amplitudes(h);
  const auto phase = pca_phases(h);
  constexpr double w[] = {1.0, 0.6, 0.35, 0.2, 0.12, 0.07, 0.04};
  const double wsum = std::accumulate(std::begin(w), std::end(w), 0.0);
  const auto len = static_cast<std::size_t>(std::lround(2.5 * sr));
  const auto fade = static_cast<std::size_t>(std::lround(0.6 * sr));
  std::vector<std::vector<double>> dry_l, dry_r;
  double peak = 0;
  for (int l = 0; l < h.states; ++l) {
    std::vector<double> left(len, 0.0), right(len, 0.0);
    for (int t = 0; t < h.tokens; ++t) {
      const double a = std::pow(amp[static_cast<std::size_t>(l)][static_cast<std::size_t>(t)], 0.6);
      const double rate = 4.8 + 0.15 * t, depth = 0.008 + 0.01 * a;
      const double pan = h.tokens == 1 ? 0.0 : -1.0 + 2.0 * t / (h.tokens - 1);
      const double gl = std::sqrt((1 - pan) / 2), gr = std::sqrt((1 + pan) / 2);
      const double fr = f[static_cast<std::size_t>(t)];
      const std::complex<double> shift =
          std::polar(1.0, phase[static_cast<std::size_t>(l)][static_cast<std::size_t>(t)]);
      double cum = 0;
      for (std::size_t n = 0; n < len; ++n) {
        cum += 1.0 + depth * std::sin(kTwoPi * rate * static_cast<double>(n) / sr);
        const std::complex<double> e = std::polar(1.0, kTwoPi * fr * cum / sr);
        std::complex<double> p = e;
        double s = 0;
        for (double wh : w) {
          s += wh * (p * shift).imag();  // sin(hθ + φ)
          p *= e;
        }
        const double v = a * adsr(n, len, 0.1 + 0.1 * a) * s / wsum;
        left[n] += gl * v;
        right[n] += gr * v;
      }
    }
    for (std::size_t n = 0; n < len; ++n) peak = std::max({peak, std::abs(left[n]), std::abs(right[n])});
    dry_l.push_back(std::move(left));
    dry_r.push_back(std::move(right));
  }
  std::vector<double> out_l, out_r;
  for (int l = 0; l < h.states; ++l) {
    const double room = 0.3 + 0.5 * l / (h.states);
    auto& x = dry_l[static_cast<std::size_t>(l)];
    auto& y = dry_r[static_cast<std::size_t>(l)];
    for (std::size_t n = 0; n < len; ++n) {  // one gain for every section: a quiet layer stays quiet
      x[n] /= peak > 0 ? peak : 1;
      y[n] /= peak > 0 ? peak : 1;
    }
    fade_ends(x, fade);
    fade_ends(y, fade);
    const std::size_t at = static_cast<std::size_t>(l) * (len - fade);
    add_at(out_l, reverb(x, room, 0.4, 0.3, sr, mix_seed(seed, l, 0)), at);
    add_at(out_r, reverb(y, room, 0.4, 0.3, sr, mix_seed(seed, l, 1)), at);
    r.section_start_seconds.push_back(static_cast<double>(at) / sr);
    r.partials.frequency_hz.push_back(f);
    std::vector<double> sung;
    for (double v : amp[static_cast<std::size_t>(l)]) sung.push_back(std::pow(v, 0.6));
    r.partials.amplitude.push_back(sung);
    r.partials.phase.push_back(phase[static_cast<std::size_t>(l)]);
  }
  out_l = reverb(out_l, 1.2, 0.2, 0.2, sr, mix_seed(seed, h.states, 0));
  out_r = reverb(out_r, 1.2, 0.2, 0.2, sr, mix_seed(seed, h.states, 1));
  r.audio = to_audio(out_l, out_r, sr);
  r.section_seconds = static_cast<double>(len) / sr;
  r.fade_seconds = static_cast<double>(fade) / sr;
  return r;
}

// §8 on one prompt: the tokens of the last state are the "prompts"; per token a chord of
// one partial per dimension, the 128 highest-variance dimensions from 60 Hz (highest
// variance) to 4 kHz, amplitude |x| over the block's largest |x|, phase 0 or π by sign;
// 0.3 s per token overlapping by 0.02 s; the notebook's per-note normalisation (which
// discarded loudness) is gone.
DirectResult sines(const HiddenStack& h, int sr) {
  DirectResult r;
  const int last = h.states - 1;
  std::vector<double> var(static_cast<std::size_t>(h.width), 0.0);
  for (int d = 0; d < h.width; ++d) {
    double m = 0;
    for (int t = 0; t < h.tokens; ++t) m += row(h, last, t)[d];
    m /= h.tokens;
    for (int t = 0; t < h.tokens; ++t)
      var[static_cast<std::size_t>(d)] += std::pow(row(h, last, t)[d] - m, 2);
  }
  std::vector<int> dims(static_cast<std::size_t>(h.width));
  std::iota(dims.begin(), dims.end(), 0);
  std::stable_sort(dims.begin(), dims.end(), [&](int a, int b) {
    return var[static_cast<std::size_t>(a)] > var[static_cast<std::size_t>(b)];
  });
  dims.resize(std::min<std::size_t>(128, dims.size()));
  const auto f = log_space(60, 4000, static_cast<int>(dims.size()));
  double top = 0;
  for (int t = 0; t < h.tokens; ++t)
    for (int d : dims) top = std::max(top, std::abs(static_cast<double>(row(h, last, t)[d])));
  const auto len = static_cast<std::size_t>(std::lround(0.3 * sr));
  const auto fade = static_cast<std::size_t>(std::lround(0.02 * sr));
  std::vector<double> out;
  r.partials.dimensions = dims;
  for (int t = 0; t < h.tokens; ++t) {
    std::vector<double> x(len, 0.0), amps, phases;
    for (std::size_t k = 0; k < dims.size(); ++k) {
      const double v = row(h, last, t)[dims[k]];
      const double a = std::abs(v) / (top + 1e-9), ph = v >= 0 ? 0.0 : kTwoPi / 2;
      amps.push_back(a);
      phases.push_back(ph);
      const std::complex<double> step = std::polar(1.0, kTwoPi * f[k] / sr);
      std::complex<double> z = std::polar(a, ph);
      for (std::size_t n = 0; n < len; ++n) {
        x[n] += z.imag();
        z *= step;
      }
    }
    fade_ends(x, fade);
    add_at(out, x, static_cast<std::size_t>(t) * (len - fade));
    r.section_start_seconds.push_back(static_cast<double>(static_cast<std::size_t>(t) * (len - fade)) / sr);
    r.partials.frequency_hz.push_back(f);
    r.partials.amplitude.push_back(amps);
    r.partials.phase.push_back(phases);
  }
  r.audio = to_audio(out, out, sr);
  r.section_seconds = static_cast<double>(len) / sr;
  r.fade_seconds = static_cast<double>(fade) / sr;
  return r;
}

}  // namespace

const char* direct_style_name(DirectStyle style) {
  switch (style) {
    case DirectStyle::Thinking:
      return "thinking";
    case DirectStyle::Operatic:
      return "operatic";
    case DirectStyle::Sines:
      return "sines";
  }
  return "?";
}

Result<DirectStyle> direct_style_from_name(const std::string& name) {
  for (auto s : {DirectStyle::Thinking, DirectStyle::Operatic, DirectStyle::Sines})
    if (name == direct_style_name(s)) return s;
  return fail("unknown direct style '", name, "' (thinking, operatic, sines)");
}

Result<DirectResult> direct_synthesize(const HiddenStack& h, const DirectOptions& options) {
  if (h.states < 1 || h.tokens < 1 || h.width < 1 ||
      h.values.size() != static_cast<std::size_t>(h.states) * h.tokens * h.width)
    return fail("direct synthesis: hidden states of [", h.states, ", ", h.tokens, ", ", h.width, "] hold ",
                h.values.size(), " values");
  for (float v : h.values)
    if (!std::isfinite(v)) return fail("direct synthesis: the hidden states hold NaN or Inf");
  if (options.sample_rate_hz < 8000 || options.sample_rate_hz > 192000)
    return fail("direct synthesis: sample rate ", options.sample_rate_hz, " Hz is outside 8000..192000");
  switch (options.style) {
    case DirectStyle::Thinking:
      return thinking(h, options.sample_rate_hz);
    case DirectStyle::Operatic:
      return operatic(h, options.sample_rate_hz, options.seed);
    case DirectStyle::Sines:
      return sines(h, options.sample_rate_hz);
  }
  return fail("direct synthesis: unknown style");
}

}  // namespace sonify
