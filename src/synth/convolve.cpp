#include "convolve.h"

#include <fftw3.h>

#include <algorithm>
#include <mutex>

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
  explicit Spectra(std::size_t n) : p(fftw_alloc_complex(n)) {}
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

// The spectra of v's blocks of kPart samples, each zero-padded to kSize and scaled by `scale`.
void block_spectra(const std::vector<double>& v, std::size_t blocks, double scale, const Plans& plan,
                   Buffer& tmp, fftw_complex* out) {
  for (std::size_t b = 0; b < blocks; ++b) {
    const std::size_t from = b * kPart, count = std::min(kPart, v.size() - from);
    for (std::size_t i = 0; i < count; ++i) tmp.p[i] = v[from + i] * scale;
    std::fill(tmp.p + count, tmp.p + kSize, 0.0);
    fftw_execute_dft_r2c(plan.forward, tmp.p, out + b * kStride);
  }
}

}  // namespace

std::vector<double> convolve(const std::vector<double>& x, const std::vector<double>& h) {
  if (x.empty() || h.empty()) return {};
  const Plans& plan = plans();
  const std::size_t xq = (x.size() + kPart - 1) / kPart, hp = (h.size() + kPart - 1) / kPart;
  Buffer tmp(kSize);
  Spectra fx(xq * kStride), fh(hp * kStride), acc(kBins);
  block_spectra(x, xq, 1.0, plan, tmp, fx.p);
  block_spectra(h, hp, 1.0 / static_cast<double>(kSize), plan, tmp, fh.p);  // FFTW does not normalise
  std::vector<double> y(x.size() + h.size() - 1, 0.0);
  for (std::size_t j = 0; j + 1 < xq + hp; ++j) {
    std::fill(acc.p[0], acc.p[0] + 2 * kBins, 0.0);
    for (std::size_t p = j >= xq ? j - xq + 1 : 0; p < hp && p <= j; ++p) {
      const fftw_complex* a = fx.p + (j - p) * kStride;
      const fftw_complex* b = fh.p + p * kStride;
      for (std::size_t k = 0; k < kBins; ++k) {
        acc.p[k][0] += a[k][0] * b[k][0] - a[k][1] * b[k][1];
        acc.p[k][1] += a[k][0] * b[k][1] + a[k][1] * b[k][0];
      }
    }
    fftw_execute_dft_c2r(plan.backward, acc.p, tmp.p);  // overwrites acc
    const std::size_t from = j * kPart, count = std::min(kSize, y.size() - from);
    for (std::size_t i = 0; i < count; ++i) y[from + i] += tmp.p[i];
  }
  return y;
}

}  // namespace sonify::synth
