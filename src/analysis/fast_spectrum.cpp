// --svd fast: the leading singular values by randomised subspace iteration (Halko,
// Martinsson & Tropp 2011, algorithm 4.4) and the rest as quantiles of the bulk density
// estimated by stochastic Lanczos quadrature (Ubaru, Chen & Saad 2017) on the Gram
// operator with the leading subspace deflated. Every product is a single-precision GEMM
// over the whole matrix with a few dozen columns, so the cost is a handful of passes over
// W instead of an O(n³) eigenproblem.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <random>
#include <string>

#include "lapack.h"
#include "spectrum.h"

namespace sonify::analysis {
namespace {

// M = W (rows ≥ cols) or Wᵀ, so M is m×n with n = min(rows, cols), the order of the
// Gram operator MᵀM whose eigenvalues are σ².
struct Operator {
  const float* w;
  std::int64_t rows, cols, m, n;

  // Y (m×l) = M·X (X n×l), column-major. Row-major W is column-major Wᵀ (ld cols).
  void apply(const float* x, std::int64_t l, float* y) const {
    if (rows >= cols)
      sgemm(true, false, rows, l, cols, w, cols, x, cols, y, rows);
    else
      sgemm(false, false, cols, l, rows, w, cols, x, rows, y, cols);
  }
  // X (n×l) = Mᵀ·Y (Y m×l).
  void apply_t(const float* y, std::int64_t l, float* x) const {
    if (rows >= cols)
      sgemm(false, false, cols, l, rows, w, cols, y, rows, x, cols);
    else
      sgemm(true, false, rows, l, cols, w, cols, y, cols, x, rows);
  }
};

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

// x -= V (Vᵀ x) for the n×k orthonormal V, in double.
void deflate(const std::vector<float>& v, std::int64_t n, std::int64_t k, double* x) {
  for (std::int64_t j = 0; j < k; ++j) {
    const float* col = v.data() + j * n;
    double dot = 0;
    for (std::int64_t i = 0; i < n; ++i) dot += col[i] * x[i];
    for (std::int64_t i = 0; i < n; ++i) x[i] -= dot * col[i];
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
  const Operator op{w, rows, cols, std::max(rows, cols), std::min(rows, cols)};
  const std::int64_t m = op.m, n = op.n;
  const std::int64_t l = std::min(kFastTop + kFastOversample, n), k = std::min(kFastTop, l);
  std::mt19937_64 rng(seed);
  FastSpectrum out;
  out.top = k;

  // Range finder with power iterations, re-orthonormalised after every product.
  std::vector<float> x(static_cast<std::size_t>(n * l)), y(static_cast<std::size_t>(m * l));
  fill_gaussian(rng, x.data(), x.size());
  op.apply(x.data(), l, y.data());
  orthonormalise(y.data(), m, l);
  for (int it = 0; it < kFastPowerIterations; ++it) {
    op.apply_t(y.data(), l, x.data());
    orthonormalise(x.data(), n, l);
    op.apply(x.data(), l, y.data());
    orthonormalise(y.data(), m, l);
  }
  op.apply_t(y.data(), l, x.data());  // x = Bᵀ with B = YᵀM (l×n): σ(B) ≤ σ(M), interlaced

  // σ(B)² and B's right singular vectors from the small Gram BBᵀ = xᵀx.
  std::vector<double> g(static_cast<std::size_t>(l * l), 0.0);
  for (std::int64_t a = 0; a < l; ++a)
    for (std::int64_t b = a; b < l; ++b) {
      double s = 0;
      const float *xa = x.data() + a * n, *xb = x.data() + b * n;
      for (std::int64_t i = 0; i < n; ++i) s += static_cast<double>(xa[i]) * xb[i];
      g[static_cast<std::size_t>(a * l + b)] = s;  // lower triangle, column a
    }
  const std::vector<double> theta = symmetric_eigenvalues(g.data(), l, true);  // ascending
  std::vector<double> top(static_cast<std::size_t>(k));
  std::vector<float> v(static_cast<std::size_t>(n * k), 0.0f);  // right Ritz vectors
  for (std::int64_t j = 0; j < k; ++j) {
    const std::int64_t e = l - 1 - j;
    const double lam = std::max(0.0, theta[static_cast<std::size_t>(e)]);
    top[static_cast<std::size_t>(j)] = lam;
    const double inv = lam > 0 ? 1 / std::sqrt(lam) : 0;
    for (std::int64_t i = 0; i < n; ++i) {
      double s = 0;
      for (std::int64_t a = 0; a < l; ++a)
        s += static_cast<double>(x[static_cast<std::size_t>(a * n + i)]) *
             g[static_cast<std::size_t>(e * l + a)];
      v[static_cast<std::size_t>(j * n + i)] = static_cast<float>(s * inv);
    }
  }
  orthonormalise(v.data(), n, k);

  // Error of each leading λ = σ²: the residual r = ||MᵀM v − λ v|| bounds the distance of λ
  // to the nearest eigenvalue (Bauer–Fike for symmetric matrices), and Ritz values never
  // exceed the true ones, so σ lies in [σ̃, sqrt(σ̃² + r)].
  {
    std::vector<float> mv(static_cast<std::size_t>(m * k)), mtmv(static_cast<std::size_t>(n * k));
    op.apply(v.data(), k, mv.data());
    op.apply_t(mv.data(), k, mtmv.data());
    for (std::int64_t j = 0; j < k; ++j) {
      const double lam = top[static_cast<std::size_t>(j)];
      double r2 = 0;
      for (std::int64_t i = 0; i < n; ++i) {
        const double d =
            mtmv[static_cast<std::size_t>(j * n + i)] - lam * v[static_cast<std::size_t>(j * n + i)];
        r2 += d * d;
      }
      if (lam > 0) out.top_error = std::max(out.top_error, std::sqrt(1 + std::sqrt(r2) / lam) - 1);
    }
  }

  // Bulk: Lanczos on P MᵀM P (P = I − VVᵀ) from kFastProbes Rademacher starts, all probes
  // advancing together so each step is one pass over W for M and one for Mᵀ.
  const std::int64_t bulk = n - k;
  std::vector<double> lambda(top);
  if (bulk > 0) {
    const int probes = kFastProbes;
    const int steps = static_cast<int>(std::min<std::int64_t>(kFastLanczosSteps, bulk));
    std::vector<std::vector<double>> basis(static_cast<std::size_t>(probes));  // steps × n each
    std::vector<std::vector<double>> alpha(probes), beta(probes);
    std::vector<double> mass(probes, 0.0);
    std::vector<bool> live(probes, true);
    std::vector<float> q(static_cast<std::size_t>(n * probes)), mq(static_cast<std::size_t>(m * probes)),
        aq(static_cast<std::size_t>(n * probes));
    for (int p = 0; p < probes; ++p) {
      std::vector<double> z(static_cast<std::size_t>(n));
      for (auto& e : z) e = (rng() >> 63) ? 1.0 : -1.0;
      deflate(v, n, k, z.data());
      double norm2 = 0;
      for (double e : z) norm2 += e * e;
      mass[p] = norm2;
      for (auto& e : z) e /= std::sqrt(norm2);
      basis[p] = std::move(z);
    }
    for (int s = 0; s < steps; ++s) {
      for (int p = 0; p < probes; ++p)
        for (std::int64_t i = 0; i < n; ++i)
          q[static_cast<std::size_t>(p * n + i)] =
              live[p] ? static_cast<float>(basis[p][static_cast<std::size_t>(s * n + i)]) : 0.0f;
      op.apply(q.data(), probes, mq.data());
      op.apply_t(mq.data(), probes, aq.data());
      for (int p = 0; p < probes; ++p) {
        if (!live[p]) continue;
        std::vector<double> r(aq.begin() + p * n, aq.begin() + (p + 1) * n);
        deflate(v, n, k, r.data());
        const double* cur = basis[p].data() + s * n;
        double a = 0;
        for (std::int64_t i = 0; i < n; ++i) a += r[static_cast<std::size_t>(i)] * cur[i];
        alpha[p].push_back(a);
        // Full re-orthogonalisation (twice) against every earlier Lanczos vector: in float
        // products the three-term recurrence alone loses orthogonality within a few steps.
        for (int pass = 0; pass < 2; ++pass)
          for (int t = 0; t <= s; ++t) {
            const double* b = basis[p].data() + t * n;
            double d = 0;
            for (std::int64_t i = 0; i < n; ++i) d += r[static_cast<std::size_t>(i)] * b[i];
            for (std::int64_t i = 0; i < n; ++i) r[static_cast<std::size_t>(i)] -= d * b[i];
          }
        double bnorm = 0;
        for (double e : r) bnorm += e * e;
        bnorm = std::sqrt(bnorm);
        if (s + 1 == steps) continue;                           // the last step needs only its α
        if (bnorm <= 1e-10 * std::max(std::fabs(a), 1e-300)) {  // invariant subspace: exact
          live[p] = false;
          continue;
        }
        beta[p].push_back(bnorm);
        for (auto& e : r) e /= bnorm;
        basis[p].insert(basis[p].end(), r.begin(), r.end());
      }
    }
    // Gauss quadrature nodes and weights of each probe's tridiagonal matrix.
    struct Atom {
      double x, w;
      int probe;
    };
    std::vector<Atom> atoms;
    for (int p = 0; p < probes; ++p) {
      const auto ns = static_cast<std::int64_t>(alpha[p].size());
      std::vector<double> t(static_cast<std::size_t>(ns * ns), 0.0);
      for (std::int64_t i = 0; i < ns; ++i) {
        t[static_cast<std::size_t>(i * ns + i)] = alpha[p][static_cast<std::size_t>(i)];
        if (i + 1 < ns) t[static_cast<std::size_t>(i * ns + i + 1)] = beta[p][static_cast<std::size_t>(i)];
      }
      const std::vector<double> nodes = symmetric_eigenvalues(t.data(), ns, true);
      for (std::int64_t j = 0; j < ns; ++j) {
        const double u0 = t[static_cast<std::size_t>(j * ns)];
        atoms.push_back({std::max(0.0, nodes[static_cast<std::size_t>(j)]), u0 * u0 * mass[p] / probes, p});
      }
    }
    std::sort(atoms.begin(), atoms.end(), [](const Atom& a, const Atom& b) { return a.x < b.x; });
    double total = 0;
    for (const Atom& a : atoms) total += a.w;
    // Error estimate: twice the standard error over probes of the counting function,
    // at every node, plus the resolution of steps-point Gauss quadrature.
    {
      std::vector<double> per(probes, 0.0);
      double worst = 0;
      for (const Atom& a : atoms) {
        per[a.probe] += a.w * probes / static_cast<double>(bulk);
        double mean = 0, var = 0;
        for (double c : per) mean += c;
        mean /= probes;
        for (double c : per) var += (c - mean) * (c - mean);
        worst = std::max(worst, std::sqrt(var / (probes - 1) / probes));
      }
      out.bulk_error = std::min(1.0, 2 * worst + 1.0 / steps);
    }
    // Quantiles of the piecewise-linear counting function through the atoms' midpoints.
    std::vector<double> cx, cy;
    double run = 0;
    for (const Atom& a : atoms) {
      cx.push_back(a.x);
      cy.push_back((run + a.w / 2) / total);
      run += a.w;
    }
    const double ceiling = top.empty() ? std::numeric_limits<double>::infinity() : top.back();
    std::vector<double> values(static_cast<std::size_t>(bulk));
    for (std::int64_t i = 0; i < bulk; ++i) {
      const double u = 1 - (static_cast<double>(i) + 0.5) / static_cast<double>(bulk);  // descending
      const auto it = std::lower_bound(cy.begin(), cy.end(), u);
      double val;
      if (it == cy.begin())
        val = cx.front();
      else if (it == cy.end())
        val = cx.back();
      else {
        const std::size_t j = static_cast<std::size_t>(it - cy.begin());
        const double f = (u - cy[j - 1]) / std::max(cy[j] - cy[j - 1], 1e-300);
        val = cx[j - 1] + f * (cx[j] - cx[j - 1]);
      }
      values[static_cast<std::size_t>(i)] = std::min(val, ceiling);
    }
    // The trace is known exactly: Σλ = ||W||_F². Scale the bulk to carry what the leading
    // values leave, which fixes its mean whatever the quadrature's error.
    double lead = 0, rest = 0;
    for (double t : top) lead += t;
    for (double t : values) rest += t;
    // Values pushed to the ceiling keep it; the others carry the remainder.
    const double want = frobenius_squared - lead;
    for (int pass = 0; pass < 32 && rest > 0 && want > 0; ++pass) {
      double fixed = 0, free = 0;
      for (double t : values) (t >= ceiling ? fixed : free) += t;
      if (free <= 0 || std::fabs(fixed + free - want) <= 1e-12 * want) break;
      const double scale = (want - fixed) / free;
      if (!(scale > 0)) break;
      for (double& t : values)
        if (t < ceiling) t = std::min(t * scale, ceiling);
    }
    lambda.insert(lambda.end(), values.begin(), values.end());
  }
  out.singular_values.resize(lambda.size());
  for (std::size_t i = 0; i < lambda.size(); ++i)
    out.singular_values[i] = std::sqrt(std::max(0.0, lambda[i]));
  std::sort(out.singular_values.begin(), out.singular_values.end(), std::greater<double>());
  return out;
}

}  // namespace sonify::analysis
