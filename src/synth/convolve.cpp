#include "convolve.h"

#include <fftw3.h>

#include <complex>
#include <mutex>

namespace sonify::synth {
namespace {

// FFTW's planner is not thread-safe; execution of distinct plans is.
std::mutex planner;

struct Buffer {
  explicit Buffer(std::size_t n) : p(fftw_alloc_real(n)) {}
  ~Buffer() { fftw_free(p); }
  double* p;
};

struct Spectrum {
  explicit Spectrum(std::size_t n) : p(fftw_alloc_complex(n)) {}
  ~Spectrum() { fftw_free(p); }
  fftw_complex* p;
};

}  // namespace

std::vector<double> convolve(const std::vector<double>& x, const std::vector<double>& h) {
  if (x.empty() || h.empty()) return {};
  const std::size_t out = x.size() + h.size() - 1;
  std::size_t n = 1;
  while (n < out) n <<= 1;
  const std::size_t bins = n / 2 + 1;
  Buffer a(n), b(n);
  Spectrum fa(bins), fb(bins);
  fftw_plan pa, pb, back;
  {
    std::lock_guard<std::mutex> lock(planner);
    pa = fftw_plan_dft_r2c_1d(static_cast<int>(n), a.p, fa.p, FFTW_ESTIMATE);
    pb = fftw_plan_dft_r2c_1d(static_cast<int>(n), b.p, fb.p, FFTW_ESTIMATE);
    back = fftw_plan_dft_c2r_1d(static_cast<int>(n), fa.p, a.p, FFTW_ESTIMATE);
  }
  for (std::size_t i = 0; i < n; ++i) {
    a.p[i] = i < x.size() ? x[i] : 0.0;
    b.p[i] = i < h.size() ? h[i] : 0.0;
  }
  fftw_execute(pa);
  fftw_execute(pb);
  for (std::size_t k = 0; k < bins; ++k) {
    const std::complex<double> p = std::complex<double>(fa.p[k][0], fa.p[k][1]) *
                                   std::complex<double>(fb.p[k][0], fb.p[k][1]) / static_cast<double>(n);
    fa.p[k][0] = p.real();
    fa.p[k][1] = p.imag();
  }
  fftw_execute(back);
  std::vector<double> y(a.p, a.p + out);
  {
    std::lock_guard<std::mutex> lock(planner);
    fftw_destroy_plan(pa);
    fftw_destroy_plan(pb);
    fftw_destroy_plan(back);
  }
  return y;
}

}  // namespace sonify::synth
