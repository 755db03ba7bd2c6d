// The three direct styles. Every section is synthesised in double, placed so that its
// fade-out overlaps the next section's fade-in (the notebooks wrote them end to end), and
// the whole piece is scaled by one gain at the end.
#include <algorithm>
#include <cmath>
#include <complex>
#include <cstring>
#include <numeric>

#include "convolve.h"
#include "core/fresh_memory.h"
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

// A seeded standard normal stream: splitmix64 and Box-Muller, both normals of a pair (r·cos,
// then r·sin): one log and one sincos per two samples of an impulse response.
class Gaussian {
 public:
  explicit Gaussian(std::uint64_t seed) : state_(seed) {}
  double next() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double u1 = (static_cast<double>(bits() >> 11) + 0.5) / 9007199254740992.0;
    const double u2 = static_cast<double>(bits() >> 11) / 9007199254740992.0;
    const double r = std::sqrt(-2.0 * std::log(u1)), angle = kTwoPi * u2;
    spare_ = r * std::sin(angle);
    has_spare_ = true;
    return r * std::cos(angle);
  }

 private:
  std::uint64_t bits() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  std::uint64_t state_;
  double spare_ = 0;
  bool has_spare_ = false;
};

// The notebooks' reverb with a seeded impulse response: Gaussian noise under exp(-damping·u),
// u from 0 to 6·length, scaled to unit energy (the notebook scaled it to peak 1 and then the
// wet signal to peak 1, which made a quiet layer's reverb as loud as a loud one's). The
// tail is kept: it rings into the next section instead of being cut at the section's end.
// Returned times wet, plus (1 − wet) at u = 0: convolving with it mixes wet and dry signal.
// Written into ir (its memory reused from call to call: fresh pages cost more than the noise).
void room_response(double room, double damping, double wet, int sample_rate, std::uint64_t seed,
                   std::vector<double>& ir) {
  const auto n = static_cast<std::size_t>(std::max(1.0, std::round(room * 3.0 * sample_rate)));
  Gaussian noise(seed);
  ir.resize(n);
  double energy = 0, decay = 1;
  const double du = n == 1 ? 0 : 6.0 * room * 3.0 / static_cast<double>(n - 1),
               step = std::exp(-damping * du);
  for (std::size_t i = 0; i < n; ++i) {
    // exp(−damping·u) by one product per sample, set again every 1024 samples (error ≤ 1024 ulps)
    decay = i % 1024 == 0 ? std::exp(-damping * du * static_cast<double>(i)) : decay * step;
    ir[i] = noise.next() * decay;
    energy += ir[i] * ir[i];
  }
  const double gain = wet / std::sqrt(energy);
  for (double& v : ir) v *= gain;
  ir[0] += 1 - wet;
}

// Adds reverb(x) into out from `at` on, growing it to hold the tail.
void reverb_add(const std::vector<double>& x, double room, double damping, double wet, int sample_rate,
                std::uint64_t seed, std::vector<double>& out, std::size_t at, std::vector<double>& ir) {
  room_response(room, damping, wet, sample_rate, seed, ir);
  if (out.size() < at + x.size() + ir.size() - 1) out.resize(at + x.size() + ir.size() - 1, 0.0);
  synth::convolve_add(x, ir, out.data() + at);
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
  reserve_prefaulted(a.samples, frames * 2);
  for (std::size_t i = 0; i < frames; ++i) {  // appended: resize would first zero every sample
    a.samples.push_back(static_cast<float>(i < left.size() ? left[i] * gain : 0.0));
    a.samples.push_back(static_cast<float>(i < right.size() ? right[i] * gain : 0.0));
  }
  return a;
}

// Σ_k a_k·sin(ω_k n + φ_k) for n < len, block by block: with z_k = a_k·e^{i(ω_k n0 + φ_k)} at a
// block's start, sample n0 + m is Σ_k Im(z_k·e^{iω_k m}) = Σ_k Re z_k·sin(ω_k m) + Im z_k·cos(ω_k m),
// four products per partial and sample from a table of the block's sines and cosines instead of
// a dependent complex product per sample. z_k moves on by e^{iω_k·kBlock} (computed directly)
// once per block, so the rounding error grows by an ulp per block, never per sample.
class SineBank {
 public:
  static constexpr std::size_t kBlock = 64;

  explicit SineBank(const std::vector<double>& omega) : size_(omega.size()) {
    for (double w : omega) {
      for (std::size_t m = 0; m < kBlock; ++m) sin_.push_back(std::sin(w * static_cast<double>(m)));
      for (std::size_t m = 0; m < kBlock; ++m) cos_.push_back(std::cos(w * static_cast<double>(m)));
      jump_.push_back(std::polar(1.0, w * static_cast<double>(kBlock)));
    }
  }

  std::vector<double> render(const std::vector<double>& amp, const std::vector<double>& phase,
                             std::size_t len) const {
    std::vector<std::complex<double>> z(size_);
    for (std::size_t k = 0; k < size_; ++k) z[k] = std::polar(amp[k], phase[k]);
    std::vector<double> x((len + kBlock - 1) / kBlock * kBlock, 0.0);
    for (std::size_t n0 = 0; n0 < x.size(); n0 += kBlock) {
      double* __restrict out = x.data() + n0;
      for (std::size_t k = 0; k < size_; ++k) {
        const double re = z[k].real(), im = z[k].imag();
        const double* __restrict s = sin_.data() + k * kBlock;
        const double* __restrict c = cos_.data() + k * kBlock;
        for (std::size_t m = 0; m < kBlock; ++m) out[m] += re * s[m] + im * c[m];
        z[k] *= jump_[k];
      }
    }
    x.resize(len);
    return x;
  }

 private:
  std::size_t size_;
  std::vector<double> sin_, cos_;  // [partial][m]
  std::vector<std::complex<double>> jump_;
};

std::vector<double> radians_per_sample(const std::vector<double>& hz, int sr) {
  std::vector<double> w;
  for (double f : hz) w.push_back(kTwoPi * f / sr);
  return w;
}

// §9: per state, Σ_t a·sin(2π f_t n / SR + φ), sections of 1.2 s overlapping by 0.15 s.
DirectResult thinking(const HiddenStack& h, int sr) {
  DirectResult r;
  const auto f = log_space(80, 5000, h.tokens);
  const auto amp = norm_amplitudes(h);
  const auto phase = pca_phases(h);
  const auto len = static_cast<std::size_t>(std::lround(1.2 * sr));
  const auto fade = static_cast<std::size_t>(std::lround(0.15 * sr));
  const SineBank bank(radians_per_sample(f, sr));
  std::vector<double> out;
  reserve_prefaulted(
      out, static_cast<std::size_t>(h.states - 1) * (len - fade) + len);  // add_at grows it in place
  for (int l = 0; l < h.states; ++l) {
    std::vector<double> x =
        bank.render(amp[static_cast<std::size_t>(l)], phase[static_cast<std::size_t>(l)], len);
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

// The sung voices of one state (§10, before the reverb): per token t, with θ(n) = ω_t·cum(n),
// cum(n) = Σ_{j≤n} (1 + depth·sin(ω_v j)), the voice a·adsr(n)·Σ_h w_h sin(hθ + φ) / Σ w, panned.
// Per sample and voice: the vibrato by a phasor, e^{iθ} by a phasor turned by e^{iω}·e^{iκ sin(ω_v n)}
// (κ = ω·depth ≤ 0.005 rad, the small rotation by its Taylor series to δ⁵, below an ulp), and
// the harmonics by Clenshaw's recurrence sin((h+1)θ+φ) = 2cosθ·sin(hθ+φ) − sin((h−1)θ+φ) on
// cos θ and sin(θ+φ). Every kAnchor samples both phasors are set again from the closed form
// Σ_{j≤n} sin(ω_v j) = sin(ω_v n/2)·sin(ω_v (n+1)/2) / sin(ω_v/2), so the recursions' rounding
// error cannot grow with the length of the note.
struct Voices {
  std::vector<double> hz, amp, phase;  // per token: frequency, sung amplitude a, PCA phase
};

constexpr int kChunk = 8;  // tokens computed together, one lane each
constexpr std::size_t kBlock = 64, kAnchor = 4096;
constexpr double kDecay = 0.08, kSustain = 0.8, kRelease = 0.2;

struct Chunk {
  double omega[kChunk], vib[kChunk], depth[kChunk];
  double step_re[kChunk], step_im[kChunk], vib_re[kChunk], vib_im[kChunk], kappa[kChunk];
  double shift_re[kChunk], shift_im[kChunk];  // e^{iφ}
  double attack[kChunk], inv_attack[kChunk], decay_end[kChunk], gain_l[kChunk], gain_r[kChunk];
  double e_re[kChunk], e_im[kChunk], u_re[kChunk], u_im[kChunk];  // at sample n0 − 1
};

struct Row {  // one sample of a chunk's voices, summed over the chunks
  double lane[kChunk];
};

// Vectors move through memory by reference: a vector passed or returned by value would change
// the calling convention between the functions compiled for different instruction sets.
template <class V>
__attribute__((always_inline)) inline void load(V& v, const double* p) {
  std::memcpy(&v, p, sizeof v);
}

// The vector types are not declared inside the template: GCC (12) turns a scalar mixed with a
// vector whose size depends on a template parameter into {x, 0, ...} instead of {x, x, ...}.
using V2 = double __attribute__((vector_size(2 * sizeof(double))));
using V4 = double __attribute__((vector_size(4 * sizeof(double))));
using V8 = double __attribute__((vector_size(8 * sizeof(double))));

// Adds the block [n0, n0 + count) of a chunk's voices to acc[m][lane]: W lanes at a time
// through GCC's vector extension, which applies the scalar operations lane by lane (nothing is
// reassociated, and no path contracts into FMA), so every sample is the same whatever W the
// machine runs. `enveloped`: the ADSR is applied per voice (attack and decay); otherwise every
// voice is in its sustain or release and the caller applies that common level.
template <class V>
__attribute__((always_inline)) inline void sing_block(Chunk& k, std::size_t n0, std::size_t count,
                                                      std::size_t len, bool enveloped, Row* acc_l,
                                                      Row* acc_r) {
  constexpr int W = sizeof(V) / sizeof(double);
  constexpr double w[] = {1.0, 0.6, 0.35, 0.2, 0.12, 0.07, 0.04};
  for (int s = 0; s < kChunk; s += W) {
    V step_re, step_im, vib_re, vib_im, kappa, shift_re, shift_im, attack, inv_attack, decay_end, gain_l,
        gain_r, e_re, e_im, u_re, u_im;
    load(step_re, k.step_re + s);
    load(step_im, k.step_im + s);
    load(vib_re, k.vib_re + s);
    load(vib_im, k.vib_im + s);
    load(kappa, k.kappa + s);
    load(shift_re, k.shift_re + s);
    load(shift_im, k.shift_im + s);
    load(attack, k.attack + s);
    load(inv_attack, k.inv_attack + s);
    load(decay_end, k.decay_end + s);
    load(gain_l, k.gain_l + s);
    load(gain_r, k.gain_r + s);
    load(e_re, k.e_re + s);
    load(e_im, k.e_im + s);
    load(u_re, k.u_re + s);
    load(u_im, k.u_im + s);
    for (std::size_t m = 0; m < count; ++m) {
      const V ur = u_re * vib_re - u_im * vib_im;
      u_im = u_re * vib_im + u_im * vib_re;
      u_re = ur;
      const V d = kappa * u_im, d2 = d * d;
      const V rot_re = 1.0 - d2 * (0.5 - d2 * (1.0 / 24));
      const V rot_im = d - d * d2 * (1.0 / 6 - d2 * (1.0 / 120));
      const V r_re = step_re * rot_re - step_im * rot_im;
      const V r_im = step_re * rot_im + step_im * rot_re;
      const V er = e_re * r_re - e_im * r_im;
      e_im = e_re * r_im + e_im * r_re;
      e_re = er;
      const V two_cos = e_re + e_re;
      const V s1 = e_im * shift_re + e_re * shift_im;  // sin(θ + φ)
      V b2 = w[6] + V{}, b1 = w[5] + two_cos * b2;
      for (int i = 4; i >= 0; --i) {
        const V b0 = w[i] + two_cos * b1 - b2;
        b2 = b1;
        b1 = b0;
      }
      V voice = b1 * s1 - b2 * shift_im;  // sin(φ) = Im e^{iφ}
      if (enveloped) {
        const double x = static_cast<double>(n0 + m) / static_cast<double>(len);
        const double tail = x < 1.0 - kRelease ? kSustain : kSustain * (1.0 - x) / kRelease;
        const V xs = x + V{};
        voice *= xs < attack
                     ? xs * inv_attack
                     : (xs < decay_end ? 1.0 - (1.0 - kSustain) / kDecay * (xs - attack) : tail + V{});
      }
      V al, ar;
      load(al, acc_l[m].lane + s);
      load(ar, acc_r[m].lane + s);
      al += voice * gain_l;
      ar += voice * gain_r;
      std::memcpy(acc_l[m].lane + s, &al, sizeof al);
      std::memcpy(acc_r[m].lane + s, &ar, sizeof ar);
    }
    std::memcpy(k.e_re + s, &e_re, sizeof e_re);
    std::memcpy(k.e_im + s, &e_im, sizeof e_im);
    std::memcpy(k.u_re + s, &u_re, sizeof u_re);
    std::memcpy(k.u_im + s, &u_im, sizeof u_im);
  }
}

// The widest vectors the machine has; the samples are the same on every path.
using SingBlock = void (*)(Chunk&, std::size_t, std::size_t, std::size_t, bool, Row*, Row*);
// AVX-512F brings fused multiply-adds, which GCC would contract a·b + c into (rounded once, not
// twice): switched off here so that this path gives the others' bits.
__attribute__((target("avx512f"), optimize("fp-contract=off"))) void sing_block_avx512(
    Chunk& k, std::size_t n0, std::size_t count, std::size_t len, bool enveloped, Row* acc_l, Row* acc_r) {
  sing_block<V8>(k, n0, count, len, enveloped, acc_l, acc_r);
}
__attribute__((target("avx2"))) void sing_block_avx2(Chunk& k, std::size_t n0, std::size_t count,
                                                     std::size_t len, bool enveloped, Row* acc_l,
                                                     Row* acc_r) {
  sing_block<V4>(k, n0, count, len, enveloped, acc_l, acc_r);
}
void sing_block_sse2(Chunk& k, std::size_t n0, std::size_t count, std::size_t len, bool enveloped, Row* acc_l,
                     Row* acc_r) {
  sing_block<V2>(k, n0, count, len, enveloped, acc_l, acc_r);
}
SingBlock sing_kernel() {
  if (__builtin_cpu_supports("avx512f")) return sing_block_avx512;
  if (__builtin_cpu_supports("avx2")) return sing_block_avx2;
  return sing_block_sse2;
}

void sing(const Voices& v, int sr, std::size_t len, std::vector<double>& left, std::vector<double>& right) {
  constexpr double w[] = {1.0, 0.6, 0.35, 0.2, 0.12, 0.07, 0.04};
  const double wsum = std::accumulate(std::begin(w), std::end(w), 0.0);
  const std::size_t tokens = v.hz.size(), chunks = (tokens + kChunk - 1) / kChunk;
  std::vector<Chunk> chunk(chunks);
  double last_decay = 0;  // from here on every voice is in its sustain or release
  for (std::size_t c = 0; c < chunks; ++c)
    for (int j = 0; j < kChunk; ++j) {
      const std::size_t t = c * kChunk + static_cast<std::size_t>(j);
      const bool real = t < tokens;  // padding lanes sing with amplitude 0
      const double a = real ? v.amp[t] : 0.0, f = real ? v.hz[t] : 0.0, ph = real ? v.phase[t] : 0.0;
      const double pan =
          tokens == 1 ? 0.0 : -1.0 + 2.0 * static_cast<double>(t) / static_cast<double>(tokens - 1);
      Chunk& k = chunk[c];
      k.omega[j] = kTwoPi * f / sr;
      k.vib[j] = kTwoPi * (4.8 + 0.15 * static_cast<double>(t)) / sr;
      k.step_re[j] = std::cos(k.omega[j]);
      k.step_im[j] = std::sin(k.omega[j]);
      k.vib_re[j] = std::cos(k.vib[j]);
      k.vib_im[j] = std::sin(k.vib[j]);
      k.depth[j] = 0.008 + 0.01 * a;
      k.kappa[j] = k.omega[j] * k.depth[j];
      k.shift_re[j] = std::cos(ph);
      k.shift_im[j] = std::sin(ph);
      k.attack[j] = 0.1 + 0.1 * a;
      k.inv_attack[j] = 1.0 / k.attack[j];
      k.decay_end[j] = k.attack[j] + kDecay;
      k.gain_l[j] = real ? a * std::sqrt((1 - pan) / 2) / wsum : 0.0;
      k.gain_r[j] = real ? a * std::sqrt((1 + pan) / 2) / wsum : 0.0;
      last_decay = std::max(last_decay, k.decay_end[j]);
    }
  static const SingBlock kernel = sing_kernel();
  left.resize(len);  // every sample is written below
  right.resize(len);
  std::vector<Row> acc_l(kBlock), acc_r(kBlock);
  for (std::size_t n0 = 0; n0 < len; n0 += kBlock) {
    const std::size_t count = std::min(kBlock, len - n0);
    const bool enveloped = static_cast<double>(n0) / static_cast<double>(len) < last_decay;
    for (std::size_t m = 0; m < count; ++m)
      for (int j = 0; j < kChunk; ++j) acc_l[m].lane[j] = acc_r[m].lane[j] = 0.0;
    for (Chunk& k : chunk) {
      if (n0 % kAnchor == 0)
        for (int j = 0; j < kChunk; ++j) {
          const double before = static_cast<double>(n0) - 1;  // the state is that of sample n0 − 1
          const double vibrato = std::sin(k.vib[j] * before / 2) * std::sin(k.vib[j] * (before + 1) / 2) /
                                 std::sin(k.vib[j] / 2);
          const double theta = k.omega[j] * (static_cast<double>(n0) + k.depth[j] * vibrato);
          k.e_re[j] = std::cos(theta);
          k.e_im[j] = std::sin(theta);
          k.u_re[j] = std::cos(k.vib[j] * before);
          k.u_im[j] = std::sin(k.vib[j] * before);
        }
      kernel(k, n0, count, len, enveloped, acc_l.data(), acc_r.data());
    }
    for (std::size_t m = 0; m < count; ++m) {
      double l = 0, r = 0;
      for (int j = 0; j < kChunk; ++j) {
        l += acc_l[m].lane[j];
        r += acc_r[m].lane[j];
      }
      if (!enveloped) {
        const double x = static_cast<double>(n0 + m) / static_cast<double>(len);
        const double level = x < 1.0 - kRelease ? kSustain : kSustain * (1.0 - x) / kRelease;
        l *= level;
        r *= level;
      }
      left[n0 + m] = l;
      right[n0 + m] = r;
    }
  }
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
  const auto len = static_cast<std::size_t>(std::lround(2.5 * sr));
  const auto fade = static_cast<std::size_t>(std::lround(0.6 * sr));
  // No gain per section: one common gain keeps a quiet layer quiet, and every step from here is
  // linear with to_audio setting the level at the end, so the sections need no common peak
  // first and each state is sung, faded and reverberated in turn in the same two buffers.
  std::vector<double> left, right, ir, out_l, out_r;  // out_*: the sections, each with its reverb tail
  reserve_prefaulted(ir, static_cast<std::size_t>(std::round(1.2 * 3.0 * sr)));  // the longest, the master's
  reserve_prefaulted(left, len);
  reserve_prefaulted(right, len);
  reserve_prefaulted(out_l, static_cast<std::size_t>(h.states - 1) * (len - fade) + len +
                                static_cast<std::size_t>((3 + 4) * sr));  // the sections' tails, the master's
  reserve_prefaulted(out_r, out_l.capacity());
  for (int l = 0; l < h.states; ++l) {
    std::vector<double> sung;
    for (double a : amp[static_cast<std::size_t>(l)]) sung.push_back(std::pow(a, 0.6));
    sing(Voices{f, sung, phase[static_cast<std::size_t>(l)]}, sr, len, left, right);
    fade_ends(left, fade);
    fade_ends(right, fade);
    const double room = 0.3 + 0.5 * l / (h.states);
    const std::size_t at = static_cast<std::size_t>(l) * (len - fade);
    reverb_add(left, room, 0.4, 0.3, sr, mix_seed(seed, l, 0), out_l, at, ir);
    reverb_add(right, room, 0.4, 0.3, sr, mix_seed(seed, l, 1), out_r, at, ir);
    r.section_start_seconds.push_back(static_cast<double>(at) / sr);
    r.partials.frequency_hz.push_back(f);
    r.partials.amplitude.push_back(sung);
    r.partials.phase.push_back(phase[static_cast<std::size_t>(l)]);
  }
  room_response(1.2, 0.2, 0.2, sr, mix_seed(seed, h.states, 0), ir);
  synth::convolve_in_place(out_l, ir);
  room_response(1.2, 0.2, 0.2, sr, mix_seed(seed, h.states, 1), ir);
  synth::convolve_in_place(out_r, ir);
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
  const SineBank bank(radians_per_sample(f, sr));
  std::vector<double> out;
  reserve_prefaulted(
      out, static_cast<std::size_t>(h.tokens - 1) * (len - fade) + len);  // add_at grows it in place
  r.partials.dimensions = dims;
  for (int t = 0; t < h.tokens; ++t) {
    std::vector<double> amps, phases;
    for (std::size_t k = 0; k < dims.size(); ++k) {
      const double v = row(h, last, t)[dims[k]];
      const double a = std::abs(v) / (top + 1e-9), ph = v >= 0 ? 0.0 : kTwoPi / 2;
      amps.push_back(a);
      phases.push_back(ph);
    }
    std::vector<double> x = bank.render(amps, phases, len);
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
