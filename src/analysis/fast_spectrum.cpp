// --svd fast: block Lanczos (Golub & Underwood 1977) on the Gram operator MᵀM from a seeded
// Gaussian block, with full re-orthogonalisation in double. The largest Ritz values are the
// leading singular values (their residuals bound the error), and the same Krylov space gives
// the rest as quantiles of the bulk density by block stochastic Lanczos quadrature (Ubaru,
// Chen & Saad 2017; Chen, Trogdon & Ubaru 2021): one product with W and one with Wᵀ of 16
// columns a step, so the cost is a few dozen passes over W instead of an O(n³) eigenproblem.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <type_traits>

#include "lapack.h"
#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif
#include "spectrum.h"

namespace sonify::analysis {

void gram_rows_product(const float* w, std::int64_t count, std::int64_t cols, const float* x, std::int64_t l,
                       float* inner, float* y, float beta) {
  // Row-major W_s is column-major W_sᵀ with leading dimension cols.
  sgemm(true, false, count, l, cols, w, cols, x, cols, inner, count);
  sgemm(false, false, cols, l, count, w, cols, inner, count, y, cols, beta);
}

namespace {

#if defined(__AVX2__) && defined(__FMA__)
// The fused kernels for 16 columns: x and y row-major (n × 16, two AVX registers a row).
// OpenBLAS packs its whole large operand before every product, and with 16 columns the
// packing costs ~70 % of the arithmetic (perf, 8B shape: incopy + itcopy 30 % of the CPU
// against 42 % in the kernel); these read W where it lies, each of R rows once per pass.

// out (R × 16) = Σ_{j<n} W[r][j]·xt[j] for the R ≤ 4 rows at w (stride ld). The
// accumulators are named variables: with an array of them GCC 12 stored every one to the
// stack at every step here (perf annotate), and the 2-layer 8B-shaped fast analysis took
// 6.77 s against 4.8 s.
template <int R>
void dot_rows(const float* w, std::int64_t ld, std::int64_t n, const float* xt, float* out) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, b0 = a0, b1 = a0, c0 = a0, c1 = a0, d0 = a0, d1 = a0;
  const float* w0 = w;
  const float* w1 = w + (R > 1 ? ld : 0);
  const float* w2 = w + (R > 2 ? 2 * ld : 0);
  const float* w3 = w + (R > 3 ? 3 * ld : 0);
  for (std::int64_t j = 0; j < n; ++j) {
    const __m256 x0 = _mm256_loadu_ps(xt + 16 * j), x1 = _mm256_loadu_ps(xt + 16 * j + 8);
    const __m256 s0 = _mm256_broadcast_ss(w0 + j);
    a0 = _mm256_fmadd_ps(s0, x0, a0);
    a1 = _mm256_fmadd_ps(s0, x1, a1);
    if constexpr (R > 1) {
      const __m256 s1 = _mm256_broadcast_ss(w1 + j);
      b0 = _mm256_fmadd_ps(s1, x0, b0);
      b1 = _mm256_fmadd_ps(s1, x1, b1);
    }
    if constexpr (R > 2) {
      const __m256 s2 = _mm256_broadcast_ss(w2 + j);
      c0 = _mm256_fmadd_ps(s2, x0, c0);
      c1 = _mm256_fmadd_ps(s2, x1, c1);
    }
    if constexpr (R > 3) {
      const __m256 s3 = _mm256_broadcast_ss(w3 + j);
      d0 = _mm256_fmadd_ps(s3, x0, d0);
      d1 = _mm256_fmadd_ps(s3, x1, d1);
    }
  }
  _mm256_storeu_ps(out, a0);
  _mm256_storeu_ps(out + 8, a1);
  if constexpr (R > 1) _mm256_storeu_ps(out + 16, b0), _mm256_storeu_ps(out + 24, b1);
  if constexpr (R > 2) _mm256_storeu_ps(out + 32, c0), _mm256_storeu_ps(out + 40, c1);
  if constexpr (R > 3) _mm256_storeu_ps(out + 48, d0), _mm256_storeu_ps(out + 56, d1);
}

// yt[j] += Σ_r W[r][j]·in[r] for j < n, the R ≤ 4 rows at w (stride ld), in R × 16.
template <int R>
void axpy_rows(const float* w, std::int64_t ld, std::int64_t n, const float* in, float* yt) {
  const __m256 a0 = _mm256_loadu_ps(in), a1 = _mm256_loadu_ps(in + 8);
  const __m256 b0 = R > 1 ? _mm256_loadu_ps(in + 16) : a0, b1 = R > 1 ? _mm256_loadu_ps(in + 24) : a0;
  const __m256 c0 = R > 2 ? _mm256_loadu_ps(in + 32) : a0, c1 = R > 2 ? _mm256_loadu_ps(in + 40) : a0;
  const __m256 d0 = R > 3 ? _mm256_loadu_ps(in + 48) : a0, d1 = R > 3 ? _mm256_loadu_ps(in + 56) : a0;
  const float* w0 = w;
  const float* w1 = w + (R > 1 ? ld : 0);
  const float* w2 = w + (R > 2 ? 2 * ld : 0);
  const float* w3 = w + (R > 3 ? 3 * ld : 0);
  for (std::int64_t j = 0; j < n; ++j) {
    __m256 y0 = _mm256_loadu_ps(yt + 16 * j), y1 = _mm256_loadu_ps(yt + 16 * j + 8);
    const __m256 s0 = _mm256_broadcast_ss(w0 + j);
    y0 = _mm256_fmadd_ps(s0, a0, y0);
    y1 = _mm256_fmadd_ps(s0, a1, y1);
    if constexpr (R > 1) {
      const __m256 s1 = _mm256_broadcast_ss(w1 + j);
      y0 = _mm256_fmadd_ps(s1, b0, y0);
      y1 = _mm256_fmadd_ps(s1, b1, y1);
    }
    if constexpr (R > 2) {
      const __m256 s2 = _mm256_broadcast_ss(w2 + j);
      y0 = _mm256_fmadd_ps(s2, c0, y0);
      y1 = _mm256_fmadd_ps(s2, c1, y1);
    }
    if constexpr (R > 3) {
      const __m256 s3 = _mm256_broadcast_ss(w3 + j);
      y0 = _mm256_fmadd_ps(s3, d0, y0);
      y1 = _mm256_fmadd_ps(s3, d1, y1);
    }
    _mm256_storeu_ps(yt + 16 * j, y0);
    _mm256_storeu_ps(yt + 16 * j + 8, y1);
  }
}

// Runs f.template operator()<R>(first row) over `rows` rows in groups of 4, then the rest.
template <class F>
void in_fours(std::int64_t rows, F&& f) {
  std::int64_t r = 0;
  for (; r + 4 <= rows; r += 4) f(std::integral_constant<int, 4>(), r);
  switch (rows - r) {
    case 3:
      f(std::integral_constant<int, 3>(), r);
      break;
    case 2:
      f(std::integral_constant<int, 2>(), r);
      break;
    case 1:
      f(std::integral_constant<int, 1>(), r);
      break;
    default:
      break;
  }
}
#endif

}  // namespace

bool has_gram_rows_product16() {
#if defined(__AVX2__) && defined(__FMA__)
  return true;
#else
  return false;
#endif
}

void rows16_of_columns(const float* x, std::int64_t n, float* xt) {
  for (std::int64_t j = 0; j < n; ++j)
    for (std::int64_t c = 0; c < 16; ++c) xt[j * 16 + c] = x[c * n + j];
}

void gram_rows_product16(const float* w, std::int64_t count, std::int64_t cols, const float* xt, float* yt) {
#if defined(__AVX2__) && defined(__FMA__)
  in_fours(count, [&](auto rows, std::int64_t r) {
    constexpr int R = decltype(rows)::value;
    alignas(32) float inner[R * 16];
    dot_rows<R>(w + r * cols, cols, cols, xt, inner);
    axpy_rows<R>(w + r * cols, cols, cols, inner, yt);
  });
#else
  (void)w, (void)count, (void)cols, (void)xt, (void)yt;
#endif
}

namespace {

// MᵀM·X for M = W (rows ≥ cols) or Wᵀ, n = min(rows, cols): the sum over slices of the long
// dimension of M_sᵀ(M_s X), each slice about kSliceBytes so that it is still in the cache
// for its second product. Two whole products (M·X, then Mᵀ·Y) would read W from memory
// twice, and with a few dozen columns a product is bound by that reading, not by the
// arithmetic (measured: OpenBLAS's packing of W took more time than its kernel).
constexpr std::int64_t kSliceBytes = std::int64_t{2} << 20;

void gram_product(const float* w, std::int64_t rows, std::int64_t cols, const float* x, std::int64_t l,
                  float* y, std::vector<float>& inner) {
  const std::int64_t n = std::min(rows, cols), m = std::max(rows, cols);
#if defined(__AVX2__) && defined(__FMA__)
  if (l == 16) {
    // x and y row-major for the fused kernels (n × 16 each, in `inner`).
    inner.resize(static_cast<std::size_t>(2 * n * 16));
    float* xt = inner.data();
    float* yt = xt + n * 16;
    rows16_of_columns(x, n, xt);
    std::fill(yt, yt + n * 16, 0.0f);
    if (rows >= cols) {
      gram_rows_product16(w, rows, cols, xt, yt);
    } else {
      // M = Wᵀ: for each block of columns s of W, z = W_sᵀx (rows of W added into z), then
      // y += W_s z; each block small enough (~kSliceBytes) to be in the cache for the second.
      const std::int64_t step = std::max<std::int64_t>(16, kSliceBytes / (4 * rows));
      std::vector<float> z(static_cast<std::size_t>(step * 16));
      for (std::int64_t begin = 0; begin < cols; begin += step) {
        const std::int64_t count = std::min(step, cols - begin);
        std::fill(z.begin(), z.begin() + count * 16, 0.0f);
        in_fours(rows, [&](auto group, std::int64_t r) {
          constexpr int R = decltype(group)::value;
          axpy_rows<R>(w + r * cols + begin, cols, count, xt + r * 16, z.data());
        });
        in_fours(rows, [&](auto group, std::int64_t r) {
          constexpr int R = decltype(group)::value;
          alignas(32) float part[R * 16];
          dot_rows<R>(w + r * cols + begin, cols, count, z.data(), part);
          for (int k = 0; k < R * 16; ++k) yt[r * 16 + k] += part[k];
        });
      }
    }
    for (std::int64_t j = 0; j < n; ++j)
      for (std::int64_t c = 0; c < 16; ++c) y[c * n + j] = yt[j * 16 + c];
    return;
  }
#endif
  const std::int64_t step = std::max<std::int64_t>(16, kSliceBytes / (4 * n));
  inner.resize(static_cast<std::size_t>(step * l));
  for (std::int64_t begin = 0; begin < m; begin += step) {
    const std::int64_t count = std::min(step, m - begin);
    const float beta = begin == 0 ? 0.0f : 1.0f;
    // Row-major W is column-major Wᵀ with leading dimension cols.
    if (rows >= cols) {  // M_s = rows [begin, begin + count) of W
      gram_rows_product(w + begin * cols, count, cols, x, l, inner.data(), y, beta);
    } else {  // M = Wᵀ: M_s = columns [begin, begin + count) of W
      const float* ws = w + begin;
      sgemm(false, false, count, l, rows, ws, cols, x, rows, inner.data(), count);
      sgemm(true, false, rows, l, count, ws, cols, inner.data(), count, y, rows, beta);
    }
  }
}

// Gaussian entries from a 64-bit Mersenne Twister (Box–Muller written out, so the values do
// not depend on the standard library's distribution code).
void fill_gaussian(std::mt19937_64& rng, float* out, std::size_t count) {
  const double scale = 1.0 / 18446744073709551616.0;  // 2^-64
  for (std::size_t i = 0; i < count; i += 2) {
    const double u1 = (static_cast<double>(rng()) + 1.0) * scale, u2 = static_cast<double>(rng()) * scale;
    const double r = std::sqrt(-2 * std::log(u1)), t = 2 * 3.14159265358979323846 * u2;
    out[i] = static_cast<float>(r * std::cos(t));
    if (i + 1 < count) out[i + 1] = static_cast<float>(r * std::sin(t));
  }
}

// Orthonormalises the n×b block `x` (column-major, double) against the first `have` columns
// of `basis` (twice, classical Gram–Schmidt) and then within itself (twice), so that
// x_before = basis·C + x_after·R with R upper triangular, written to `r` (b×b, column-major).
// A column that has nothing left (the Krylov space is exhausted: a rank-deficient W) is
// replaced by a random direction orthogonal to everything before it, with a zero in R.
// x (n×cols) −= basis·(basisᵀx) twice, for the first `have` columns of the n-row basis.
void project_out_of_basis(double* x, std::int64_t n, std::int64_t cols, const double* basis,
                          std::int64_t have) {
  if (have == 0) return;
  std::vector<double> c(static_cast<std::size_t>(have * cols));
  for (int pass = 0; pass < 2; ++pass) {
    dgemm(true, false, have, cols, n, 1.0, basis, n, x, n, 0.0, c.data(), have);
    dgemm(false, false, n, cols, have, -1.0, basis, n, c.data(), have, 1.0, x, n);
  }
}

void orthonormalise_block(double* x, std::int64_t n, std::int64_t b, const double* basis, std::int64_t have,
                          double floor, std::mt19937_64& rng, double* r) {
  project_out_of_basis(x, n, b, basis, have);
  std::fill(r, r + b * b, 0.0);
  auto project_out = [&](double* col, std::int64_t upto, double* coef) {
    for (int pass = 0; pass < 2; ++pass) {
      for (std::int64_t a = 0; a < upto; ++a) {
        const double* q = x + a * n;
        double d = 0;
        for (std::int64_t i = 0; i < n; ++i) d += q[i] * col[i];
        for (std::int64_t i = 0; i < n; ++i) col[i] -= d * q[i];
        if (coef != nullptr) coef[a] += d;
      }
    }
  };
  for (std::int64_t j = 0; j < b; ++j) {
    double* col = x + j * n;
    project_out(col, j, r + j * b);
    double norm = 0;
    for (std::int64_t i = 0; i < n; ++i) norm += col[i] * col[i];
    norm = std::sqrt(norm);
    if (norm > floor) {
      r[j * b + j] = norm;
      for (std::int64_t i = 0; i < n; ++i) col[i] /= norm;
      continue;
    }
    // Nothing left: a fresh direction, orthogonal to the basis and to this block's columns.
    for (int attempt = 0; attempt < 4; ++attempt) {
      for (std::int64_t i = 0; i < n; ++i) col[i] = (rng() >> 63) ? 1.0 : -1.0;
      project_out_of_basis(col, n, 1, basis, have);
      project_out(col, j, nullptr);
      double fresh = 0;
      for (std::int64_t i = 0; i < n; ++i) fresh += col[i] * col[i];
      fresh = std::sqrt(fresh);
      if (fresh > 1e-3 * std::sqrt(static_cast<double>(n))) {
        for (std::int64_t i = 0; i < n; ++i) col[i] /= fresh;
        break;
      }
      if (attempt == 3) std::fill(col, col + n, 0.0);  // n exhausted: a zero column
    }
  }
}

}  // namespace

bool uses_fast(SvdMethod method, std::int64_t rows, std::int64_t cols) {
  return method == SvdMethod::Fast && std::min(rows, cols) >= kFastMinDim;
}

std::uint64_t fast_seed(std::uint64_t seed, const std::string& tensor) {
  std::uint64_t h = 1469598103934665603ull ^ seed;
  for (unsigned char c : tensor) h = (h ^ c) * 1099511628211ull;
  return h;
}

FastSpectrum singular_values_fast(const float* w, std::int64_t rows, std::int64_t cols,
                                  double frobenius_squared, std::uint64_t seed) {
  std::vector<float> inner;
  return singular_values_fast(
      [&](const float* x, std::int64_t l, float* y) { gram_product(w, rows, cols, x, l, y, inner); },
      std::min(rows, cols), frobenius_squared, seed);
}

FastSpectrum singular_values_fast(const GramProduct& gram, std::int64_t n, double frobenius_squared,
                                  std::uint64_t seed) {
  const std::int64_t b = std::min<std::int64_t>(kFastBlock, n);
  const std::int64_t steps = std::max<std::int64_t>(1, std::min<std::int64_t>(kFastBlockSteps, n / b));
  const std::int64_t dim = b * steps;  // the Krylov space's dimension, ≤ n
  const std::int64_t k = std::min<std::int64_t>(kFastTop, dim / 2);
  std::mt19937_64 rng(seed);
  FastSpectrum out;
  out.top = k;

  // Block Lanczos on A = MᵀM from a Gaussian block Z = Q₁R₁: A·[Q₁ … Q_s] = [Q₁ … Q_s]·T +
  // F·E_sᵀ with T block tridiagonal (diagonal blocks A_j, off-diagonal R_{j+1}) and F the last
  // residual block. Each step is one product with M and one with Mᵀ of b columns; the basis
  // is kept in double and fully re-orthogonalised, so T is accurate to the products' rounding.
  std::vector<double> basis(static_cast<std::size_t>(n * dim)), t(static_cast<std::size_t>(dim * dim), 0.0);
  std::vector<double> r1(static_cast<std::size_t>(b * b)), block(static_cast<std::size_t>(n * b)),
      coef(static_cast<std::size_t>(b * b));
  std::vector<float> xf(static_cast<std::size_t>(n * b)), af(static_cast<std::size_t>(n * b));
  fill_gaussian(rng, xf.data(), xf.size());
  std::copy(xf.begin(), xf.end(), block.begin());
  double scale = 0;  // the largest |T| entry so far: ≈ ||A||, for the floor of a spent direction
  orthonormalise_block(block.data(), n, b, nullptr, 0, 0.0, rng, r1.data());
  std::copy(block.begin(), block.end(), basis.begin());
  auto at = [&](std::int64_t i, std::int64_t j) -> double& {
    return t[static_cast<std::size_t>(j * dim + i)];
  };
  for (std::int64_t s = 0; s < steps; ++s) {
    const double* q = basis.data() + s * b * n;
    for (std::int64_t i = 0; i < n * b; ++i) xf[static_cast<std::size_t>(i)] = static_cast<float>(q[i]);
    gram(xf.data(), b, af.data());
    std::copy(af.begin(), af.end(), block.begin());
    // A_s = Q_sᵀ A Q_s (symmetrised), then the block three-term recurrence.
    dgemm(true, false, b, b, n, 1.0, q, n, block.data(), n, 0.0, coef.data(), b);
    for (std::int64_t i = 0; i < b; ++i)
      for (std::int64_t j = 0; j < b; ++j) {
        const double v =
            0.5 * (coef[static_cast<std::size_t>(j * b + i)] + coef[static_cast<std::size_t>(i * b + j)]);
        at(s * b + i, s * b + j) = v;
        scale = std::max(scale, std::fabs(v));
      }
    for (std::int64_t j = 0; j < b; ++j)
      for (std::int64_t i = 0; i < b; ++i)
        coef[static_cast<std::size_t>(j * b + i)] = at(s * b + i, s * b + j);
    dgemm(false, false, n, b, b, -1.0, q, n, coef.data(), b, 1.0, block.data(), n);
    if (s > 0) {
      for (std::int64_t j = 0; j < b; ++j)
        for (std::int64_t i = 0; i < b; ++i)
          coef[static_cast<std::size_t>(j * b + i)] = at((s - 1) * b + i, s * b + j);
      dgemm(false, false, n, b, b, -1.0, q - b * n, n, coef.data(), b, 1.0, block.data(), n);
    }
    if (s + 1 == steps) {
      // F: the residual block, orthogonalised against the basis but not normalised.
      project_out_of_basis(block.data(), n, b, basis.data(), dim);
      break;
    }
    std::vector<double> r(static_cast<std::size_t>(b * b));
    orthonormalise_block(block.data(), n, b, basis.data(), (s + 1) * b, 1e-7 * scale, rng, r.data());
    for (std::int64_t j = 0; j < b; ++j)
      for (std::int64_t i = 0; i <= j; ++i) {
        at((s + 1) * b + i, s * b + j) = r[static_cast<std::size_t>(j * b + i)];
        at(s * b + j, (s + 1) * b + i) = r[static_cast<std::size_t>(j * b + i)];
      }
    std::copy(block.begin(), block.end(), basis.begin() + (s + 1) * b * n);
  }

  // Ritz values θ (ascending) and vectors U of T.
  const std::vector<double> theta = symmetric_eigenvalues(t.data(), dim, true);
  auto u = [&](std::int64_t row, std::int64_t e) { return t[static_cast<std::size_t>(e * dim + row)]; };

  // The leading k: the largest Ritz values. The residual of Ritz pair (θ, Qu) is F·u_s (u's
  // last block), whose norm bounds the distance of θ to an eigenvalue of A (Bauer–Fike for
  // symmetric matrices); Ritz values never exceed the true ones, so σ lies in
  // [√θ, √(θ + r)], a relative error of at most √(1 + r/θ) − 1.
  std::vector<double> g(static_cast<std::size_t>(b * b));
  dgemm(true, false, b, b, n, 1.0, block.data(), n, block.data(), n, 0.0, g.data(), b);
  std::vector<double> lambda;
  for (std::int64_t j = 0; j < k; ++j) {
    const std::int64_t e = dim - 1 - j;
    const double lam = std::max(0.0, theta[static_cast<std::size_t>(e)]);
    lambda.push_back(lam);
    double r2 = 0;
    for (std::int64_t a = 0; a < b; ++a)
      for (std::int64_t c = 0; c < b; ++c)
        r2 += u((steps - 1) * b + a, e) * g[static_cast<std::size_t>(c * b + a)] * u((steps - 1) * b + c, e);
    // Values under the float floor (σ < √eps₃₂·σ₁, the spectrum's accuracy_floor) are
    // rounding, not measurements: no relative error is claimed for them.
    if (lam > 1.1920928955078125e-07 * lambda.front())
      out.top_error = std::max(out.top_error, std::sqrt(1 + std::sqrt(std::max(0.0, r2)) / lam) - 1);
  }

  // Bulk: block Gauss quadrature. For probe p (column p of Z), z_pᵀ f(A) z_p ≈
  // Σ_e f(θ_e)·c_{e,p}² with c_e = R₁ᵀ·u_e's first block, so each Ritz value below the
  // leading k is an atom of the density with weight Σ_p c_{e,p}² / b.
  const std::int64_t bulk = n - k;
  if (bulk > 0) {
    struct Atom {
      double x, w;
      std::vector<double> per;  // c_{e,p}²
    };
    std::vector<Atom> atoms;
    for (std::int64_t e = 0; e < dim - k; ++e) {
      Atom atom{std::max(0.0, theta[static_cast<std::size_t>(e)]), 0.0, std::vector<double>(b)};
      for (std::int64_t p = 0; p < b; ++p) {
        double c = 0;
        for (std::int64_t a = 0; a <= p; ++a) c += r1[static_cast<std::size_t>(p * b + a)] * u(a, e);
        atom.per[p] = c * c;
        atom.w += c * c / static_cast<double>(b);
      }
      atoms.push_back(std::move(atom));
    }
    // theta is ascending, so the atoms are too.
    double total = 0;
    for (const Atom& a : atoms) total += a.w;
    // Error estimate: twice the standard error over the probes of the counting function, at
    // every node, plus the resolution of a quadrature of `steps` block steps: measured against
    // exact spectra of power-law and Marchenko–Pastur-like matrices, the KS distance of a
    // Gauss quadrature of s steps is up to 1.9/s (the 8B shape's embedding; about 0.7/s for
    // 1024 × 4096 projections), mostly where the density is steepest (its lowest node can
    // carry a tenth of the mass); kFastResolution/s with the standard error covers every one
    // measured.
    {
      std::vector<double> mass(b, 0.0), per(b, 0.0);
      for (const Atom& a : atoms)
        for (std::int64_t p = 0; p < b; ++p) mass[p] += a.per[p];
      double worst = 0;
      for (const Atom& a : atoms) {
        double mean = 0, var = 0;
        for (std::int64_t p = 0; p < b; ++p) {
          per[p] += mass[p] > 0 ? a.per[p] / mass[p] : 0;
          mean += per[p];
        }
        mean /= static_cast<double>(b);
        for (double c : per) var += (c - mean) * (c - mean);
        if (b > 1)
          worst = std::max(worst, std::sqrt(var / static_cast<double>(b - 1) / static_cast<double>(b)));
      }
      out.bulk_error = std::min(1.0, 2 * worst + kFastResolution / static_cast<double>(steps));
    }
    // Quantiles of the piecewise-linear counting function through the atoms' midpoints.
    std::vector<double> cx, cy;
    double run = 0;
    for (const Atom& a : atoms) {
      cx.push_back(a.x);
      cy.push_back((run + a.w / 2) / total);
      run += a.w;
    }
    const double ceiling = lambda.empty() ? std::numeric_limits<double>::infinity() : lambda.back();
    std::vector<double> values(static_cast<std::size_t>(bulk));
    for (std::int64_t i = 0; i < bulk; ++i) {
      const double level = 1 - (static_cast<double>(i) + 0.5) / static_cast<double>(bulk);  // descending
      const auto it = std::lower_bound(cy.begin(), cy.end(), level);
      double val;
      if (it == cy.begin())
        val = cx.front();
      else if (it == cy.end())
        val = cx.back();
      else {
        const std::size_t j = static_cast<std::size_t>(it - cy.begin());
        const double f = (level - cy[j - 1]) / std::max(cy[j] - cy[j - 1], 1e-300);
        val = cx[j - 1] + f * (cx[j] - cx[j - 1]);
      }
      values[static_cast<std::size_t>(i)] = std::min(val, ceiling);
    }
    lambda.insert(lambda.end(), values.begin(), values.end());
  }
  out.singular_values.resize(lambda.size());
  for (std::size_t i = 0; i < lambda.size(); ++i)
    out.singular_values[i] = std::sqrt(std::max(0.0, lambda[i]));
  std::sort(out.singular_values.begin(), out.singular_values.end(), std::greater<double>());
  if (frobenius_squared >= 0) fit_fast_trace(out, frobenius_squared);
  return out;
}

void fit_fast_trace(FastSpectrum& f, double frobenius_squared) {
  const std::size_t k = static_cast<std::size_t>(f.top);
  if (f.singular_values.size() <= k) return;
  // The trace is known exactly: Σσ² = ||W||_F². Scale the bulk to carry what the leading
  // values leave, which fixes its mean whatever the quadrature's error. Values pushed to
  // the ceiling (the smallest leading value) keep it; the others carry the remainder.
  const double ceiling =
      k > 0 ? f.singular_values[k - 1] * f.singular_values[k - 1] : std::numeric_limits<double>::infinity();
  double lead = 0, rest = 0;
  for (std::size_t i = 0; i < k; ++i) lead += f.singular_values[i] * f.singular_values[i];
  std::vector<double> values;
  for (std::size_t i = k; i < f.singular_values.size(); ++i) {
    values.push_back(std::min(f.singular_values[i] * f.singular_values[i], ceiling));
    rest += values.back();
  }
  const double want = frobenius_squared - lead;
  for (int pass = 0; pass < 32 && rest > 0 && want > 0; ++pass) {
    double fixed = 0, free = 0;
    for (double x : values) (x >= ceiling ? fixed : free) += x;
    if (free <= 0 || std::fabs(fixed + free - want) <= 1e-12 * want) break;
    const double factor = (want - fixed) / free;
    if (!(factor > 0)) break;
    for (double& x : values)
      if (x < ceiling) x = std::min(x * factor, ceiling);
  }
  for (std::size_t i = k; i < f.singular_values.size(); ++i) f.singular_values[i] = std::sqrt(values[i - k]);
  std::sort(f.singular_values.begin() + static_cast<std::ptrdiff_t>(k), f.singular_values.end(),
            std::greater<double>());
}

}  // namespace sonify::analysis
