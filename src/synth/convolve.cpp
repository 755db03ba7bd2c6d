#include "convolve.h"

#include <fftw3.h>

#include <algorithm>
#include <memory>
#include <mutex>

#include "core/fresh_memory.h"

namespace sonify::synth {
namespace {

// Uniformly partitioned convolution: x and h cut into blocks of kPart samples, every block
// transformed once at size 2·kPart, output block j the inverse transform of Σ_{p+q=j} X_q·H_p.
// One transform size for every signal means one pair of plans for the whole process: planning
// a transform of the whole signal's size (2^18..2^20 here) cost more than the convolutions
// themselves (FFTW computes its twiddle factors anew for every size), and large transforms
// walk memory that small ones keep in cache.
constexpr std::size_t kPart = 32768, kSize = 2 * kPart, kBins = kSize / 2 + 1;
// Spectra stored kStride apart so that each starts 64-byte aligned like the planning buffer:
// the new-array execute functions need the alignment the plan was made with.
constexpr std::size_t kStride = (kBins + 3) / 4 * 4;

struct Buffer {
  explicit Buffer(std::size_t n) : p(fftw_alloc_real(n)) {}
  ~Buffer() { fftw_free(p); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  double* p;
};

struct Spectra {
  explicit Spectra(std::size_t n) : p(fftw_alloc_complex(n)) { prefault(p, n * sizeof(fftw_complex)); }
  ~Spectra() { fftw_free(p); }
  Spectra(const Spectra&) = delete;
  Spectra& operator=(const Spectra&) = delete;
  fftw_complex* p;
};

// Planned once with FFTW_ESTIMATE (the same plan, hence the same bits, on every run) and never
// destroyed; fftw_execute_dft_* on a shared plan is thread-safe, planning is not.
struct Plans {
  fftw_plan forward, backward;
};

const Plans& plans() {
  static std::mutex planner;
  static Plans p{};
  std::lock_guard<std::mutex> lock(planner);
  if (!p.forward) {
    Buffer a(kSize);
    Spectra f(kBins);
    p.forward = fftw_plan_dft_r2c_1d(static_cast<int>(kSize), a.p, f.p, FFTW_ESTIMATE);
    p.backward = fftw_plan_dft_c2r_1d(static_cast<int>(kSize), f.p, a.p, FFTW_ESTIMATE);
  }
  return p;
}

// Per thread, kept from call to call: touching fresh pages (page faults) cost more than the
// transforms. Output block j is complete once x's block j is in, so only hp accumulating
// spectra are live at a time, however long x is.
struct Scratch {
  Buffer time{kSize}, carry{kPart};
  Spectra block{kBins};
  std::unique_ptr<Spectra> h, acc;
  std::size_t capacity = 0;  // blocks h and acc hold

  void reserve(std::size_t blocks) {
    if (blocks <= capacity) return;
    blocks = std::max<std::size_t>(blocks, 8);  // a reverb of up to 5.9 s at 44.1 kHz at the first call
    h = std::make_unique<Spectra>(blocks * kStride);
    acc = std::make_unique<Spectra>(blocks * kStride);
    capacity = blocks;
  }
};

// The spectrum of block b of x[0, size) (kPart samples from b·kPart, zero-padded to kSize)
// times scale.
void block_spectrum(const double* x, std::size_t size, std::size_t b, double scale, const Plans& plan,
                    Scratch& s, fftw_complex* out) {
  const std::size_t from = b * kPart, count = std::min(kPart, size - from);
  for (std::size_t i = 0; i < count; ++i) s.time.p[i] = x[from + i] * scale;
  std::fill(s.time.p + count, s.time.p + kSize, 0.0);
  fftw_execute_dft_r2c(plan.forward, s.time.p, out);
}

// y = x * h (replace) or y += x * h over x.size() + h.size() − 1 values. Replacing,
// y may be x itself: output block j is written only once x's block j has been transformed, its
// second half carried into block j + 1 until that block of x has been read in turn.
void convolve(const double* x, std::size_t size, const std::vector<double>& h, double* y, bool replace) {
  const Plans& plan = plans();
  thread_local Scratch s;
  const std::size_t xq = (size + kPart - 1) / kPart, hp = (h.size() + kPart - 1) / kPart;
  s.reserve(hp);
  for (std::size_t p = 0; p < hp; ++p)  // FFTW does not normalise: 1/kSize (exact) goes into h
    block_spectrum(h.data(), h.size(), p, 1.0 / static_cast<double>(kSize), plan, s, s.h->p + p * kStride);
  std::fill(s.acc->p[0], s.acc->p[0] + 2 * hp * kStride, 0.0);
  std::fill(s.carry.p, s.carry.p + kPart, 0.0);
  const std::size_t out = size + h.size() - 1;
  auto emit = [&](std::size_t j) {  // output block j: every contribution is in
    fftw_complex* acc = s.acc->p + j % hp * kStride;
    fftw_execute_dft_c2r(plan.backward, acc, s.time.p);  // overwrites acc
    std::fill(acc[0], acc[0] + 2 * kBins, 0.0);
    const std::size_t from = j * kPart;
    if (!replace) {
      for (std::size_t i = 0; i < std::min(kSize, out - from); ++i) y[from + i] += s.time.p[i];
      return;
    }
    for (std::size_t i = 0; i < std::min(kPart, out - from); ++i) y[from + i] = s.time.p[i] + s.carry.p[i];
    std::copy(s.time.p + kPart, s.time.p + kSize, s.carry.p);
  };
  for (std::size_t q = 0; q < xq; ++q) {
    block_spectrum(x, size, q, 1.0, plan, s, s.block.p);
    const fftw_complex* a = s.block.p;
    for (std::size_t p = 0; p < hp; ++p) {
      const fftw_complex* b = s.h->p + p * kStride;
      fftw_complex* acc = s.acc->p + (q + p) % hp * kStride;
      for (std::size_t k = 0; k < kBins; ++k) {
        acc[k][0] += a[k][0] * b[k][0] - a[k][1] * b[k][1];
        acc[k][1] += a[k][0] * b[k][1] + a[k][1] * b[k][0];
      }
    }
    emit(q);
  }
  for (std::size_t j = xq; j + 1 < xq + hp; ++j) emit(j);
  if (replace)  // the last block's second half
    for (std::size_t i = 0, from = (xq + hp - 1) * kPart; from + i < out && i < kPart; ++i)
      y[from + i] = s.carry.p[i];
}

}  // namespace

void convolve_add(const std::vector<double>& x, const std::vector<double>& h, double* y) {
  if (!x.empty() && !h.empty()) convolve(x.data(), x.size(), h, y, false);
}

void convolve_in_place(std::vector<double>& x, const std::vector<double>& h) {
  if (x.empty() || h.empty()) {
    x.clear();
    return;
  }
  const std::size_t size = x.size();
  x.resize(size + h.size() - 1, 0.0);
  convolve(x.data(), size, h, x.data(), true);
}

}  // namespace sonify::synth
