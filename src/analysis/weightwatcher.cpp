#include "weightwatcher.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "stats.h"

namespace sonify::analysis {
namespace {

constexpr double kPi = 3.141592653589793;
constexpr double kEvalsThresh = 1e-5;  // WeightWatcher's EVALS_THRESH: smaller λ are not fitted
constexpr double kEpsilon = 1e-10;     // its EPSILON in matrix_entropy
constexpr double kBandwidth = 0.1;     // resid_mp's KDE bandwidth
constexpr int kGrid = 1000;            // resid_mp's linspace
constexpr double kDensityThresh = 0.01;

double sum_vec(const std::vector<double>& v) { return numpy_sum(v.data(), v.size()); }

// KDE of resid_mp, which does not depend on σ: the grid points whose density exceeds the
// threshold, their densities, and the count of those below it (zeros in the residual).
struct Density {
  std::vector<double> x, y;
  std::size_t below = 0;
  double peak_x = 0, x_max = 0;
};

Density linear_kde(const std::vector<double>& samples) {
  Density d;
  const double top = *std::max_element(samples.begin(), samples.end()) + 0.5;
  const double step = top / (kGrid - 1);
  const double n = static_cast<double>(samples.size());
  double peak_y = -1;
  for (int i = 0; i < kGrid; ++i) {
    const double x = i == kGrid - 1 ? top : i * step;
    double s = 0;
    for (double v : samples) {
      const double dist = std::fabs(x - v);
      if (dist < kBandwidth) s += 1 - dist / kBandwidth;
    }
    // sklearn's score_samples: log of the kernel sum, normalised by -log h - log n, then exp.
    const double y = std::exp(std::log(s) + -std::log(kBandwidth) - std::log(n));
    if (y > kDensityThresh) {
      d.x.push_back(x);
      d.y.push_back(y);
      if (y > peak_y) {
        peak_y = y;
        d.peak_x = x;
      }
      d.x_max = std::max(d.x_max, x);
    } else if (y < kDensityThresh) {
      ++d.below;
    }
  }
  return d;
}

double residual(const Density& d, double Q, double sigma) {
  std::vector<double> r(d.x.size() + d.below, 0.0);
  if (Q == 1) {
    for (std::size_t i = 0; i < d.x.size(); ++i) {
      const double x = d.x[i];
      const double root = std::sqrt(4 - x * x);
      const double mp = std::isnan(root) ? 0 : (1 / (kPi * sigma * sigma)) * root;
      r[i] = mp - d.y[i];
    }
  } else {
    const double y = 1 / Q;
    const double b = std::pow(sigma * (1 + std::sqrt(1 / Q)), 2);
    const double a = std::pow(sigma * (1 - std::sqrt(1 / Q)), 2);
    const bool penalty = b < d.peak_x || b > d.x_max || a > d.peak_x;
    for (std::size_t i = 0; i < d.x.size(); ++i) {
      const double x = d.x[i];
      if (penalty) {
        r[i] = 1000;
        continue;
      }
      const double root = std::sqrt((b - x) * (x - a));
      double mp = (1 / (2 * kPi * sigma * sigma * x * y)) * root;
      if (std::isnan(mp)) mp = 0;  // np.nan_to_num
      if (std::isinf(mp))
        mp = mp > 0 ? std::numeric_limits<double>::max() : -std::numeric_limits<double>::max();
      r[i] = mp - d.y[i];
    }
  }
  for (double& v : r) v *= v;
  return sum_vec(r);
}

// WeightWatcher may print inf or nan (log10 Σ λ^-1 with a zero λ after a failed fit); JSON
// holds neither, so such a value is written as -1, its failure marker.
WeightWatcherMetrics finite_or_minus_one(WeightWatcherMetrics w) {
  for (double* v : {&w.lambda_max, &w.alpha, &w.xmin, &w.xmax, &w.D, &w.sigma, &w.log_norm,
                    &w.log_spectral_norm, &w.alpha_weighted, &w.log_alpha_norm, &w.stable_rank,
                    &w.matrix_entropy, &w.sigma_mp, &w.mp_softrank, &w.bulk_min, &w.bulk_max, &w.W_scale})
    if (!std::isfinite(*v)) *v = -1;
  return w;
}

}  // namespace

double numpy_sum(const double* x, std::size_t n) {
  if (n < 8) {
    double res = 0.;
    for (std::size_t i = 0; i < n; ++i) res += x[i];
    return res;
  }
  if (n <= 128) {
    double r[8];
    for (int j = 0; j < 8; ++j) r[j] = x[j];
    std::size_t i = 8;
    for (; i < n - (n % 8); i += 8)
      for (int j = 0; j < 8; ++j) r[j] += x[i + j];
    double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) res += x[i];
    return res;
  }
  std::size_t n2 = n / 2;
  n2 -= n2 % 8;
  return numpy_sum(x, n2) + numpy_sum(x + n2, n - n2);
}

WwPowerLaw ww_power_law(const std::vector<double>& data) {
  const std::size_t total = data.size();
  if (total < 2) return WwPowerLaw{};  // no candidate xmin: WWFit's argmin of an empty array raises
  std::vector<double> log_data(total);
  for (std::size_t i = 0; i < total; ++i) log_data[i] = std::log(data[i]);
  const auto candidate = [&](std::size_t i) -> std::optional<double> {
    const double n = static_cast<double>(total - i);
    return 1 + n / (numpy_sum(log_data.data() + i, total - i) - n * log_data[i]);
  };
  const auto error = [&](double alpha, std::size_t i, std::size_t k) {
    if (!(alpha > 1)) return 1.0;  // WWFit leaves D = 1 where alpha <= 1
    const double n = static_cast<double>(total - i);
    return std::fabs(1 - std::pow(data[k] / data[i], -alpha + 1) - static_cast<double>(k - i) / n);
  };
  const KsScan best = ks_min_scan(total - 1, total, candidate, error);
  WwPowerLaw fit;
  if (best.found) {
    const double alpha = *candidate(best.index);
    const double n = static_cast<double>(total - best.index);
    fit = {true, alpha, data[best.index], data.back(), best.d, (alpha - 1) / std::sqrt(n)};
  }
  // An infinite alpha (a tail of equal values) would not survive JSON; report a failed fit.
  if (!std::isfinite(fit.alpha)) fit = WwPowerLaw{};
  return fit;
}

double nelder_mead_1d(const std::function<double(double)>& f, double x0) {
  constexpr double kXatol = 1e-4, kFatol = 1e-4;
  constexpr int kMax = 200;  // maxiter = maxfun = 200·N
  int calls = 0;
  bool stop = false;
  // fmin raises once maxfun calls are spent; the pending step is dropped.
  auto eval = [&](double x, double& out) {
    if (calls >= kMax) {
      stop = true;
      return false;
    }
    ++calls;
    out = f(x);
    return true;
  };
  double sim[2] = {x0, x0 != 0 ? (1 + 0.05) * x0 : 0.00025};
  double fsim[2] = {std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity()};
  for (int k = 0; k < 2 && eval(sim[k], fsim[k]); ++k) {
  }
  auto order = [&] {
    if (fsim[1] < fsim[0]) {  // argsort of two keeps ties in place
      std::swap(sim[0], sim[1]);
      std::swap(fsim[0], fsim[1]);
    }
  };
  order();
  int iterations = 1;
  while (!stop && calls < kMax && iterations < kMax) {
    if (std::fabs(sim[1] - sim[0]) <= kXatol && std::fabs(fsim[0] - fsim[1]) <= kFatol) break;
    const double xbar = sim[0];
    const double xr = 2 * xbar - sim[1];
    double fxr = 0;
    if (!eval(xr, fxr)) break;
    if (fxr < fsim[0]) {
      const double xe = 3 * xbar - 2 * sim[1];
      double fxe = 0;
      if (!eval(xe, fxe)) break;
      if (fxe < fxr) {
        sim[1] = xe;
        fsim[1] = fxe;
      } else {
        sim[1] = xr;
        fsim[1] = fxr;
      }
    } else {  // with one dimension fsim[-2] is fsim[0]: no plain reflection, contract
      bool shrink = false;
      if (fxr < fsim[1]) {
        const double xc = 1.5 * xbar - 0.5 * sim[1];
        double fxc = 0;
        if (!eval(xc, fxc)) break;
        if (fxc <= fxr) {
          sim[1] = xc;
          fsim[1] = fxc;
        } else {
          shrink = true;
        }
      } else {
        const double xcc = 0.5 * xbar + 0.5 * sim[1];
        double fxcc = 0;
        if (!eval(xcc, fxcc)) break;
        if (fxcc < fsim[1]) {
          sim[1] = xcc;
          fsim[1] = fxcc;
        } else {
          shrink = true;
        }
      }
      if (shrink) {
        sim[1] = sim[0] + 0.5 * (sim[1] - sim[0]);
        if (!eval(sim[1], fsim[1])) break;
      }
    }
    ++iterations;
    order();
  }
  order();
  return sim[0];
}

double ww_fit_mp_sigma(const std::vector<double>& to_fit, double Q, double scale) {
  const Density d = linear_kde(to_fit);
  // resid_mp takes max() of the kept densities: with none, WeightWatcher's MP fit raises.
  if (d.x.empty() && Q != 1) return std::numeric_limits<double>::quiet_NaN();
  // np.mgrid[slice(start, stop, step)] is np.arange: x_i = start + i·((start + step) - start).
  const double start = 0.05 * scale, stop = 2.0 * scale, step = 0.01 * scale;
  const auto count = static_cast<std::int64_t>(std::ceil((stop - start) / step));
  const double delta = (start + step) - start;
  double best_x = start, best_f = std::numeric_limits<double>::infinity();
  for (std::int64_t i = 0; i < count; ++i) {
    const double x = i == 1 ? start + step : start + static_cast<double>(i) * delta;
    const double f = residual(d, Q, x);
    if (f < best_f || (i == 0)) {
      best_f = f;
      best_x = x;
    }
  }
  return nelder_mead_1d([&](double s) { return residual(d, Q, s); }, best_x);
}

WeightWatcherMetrics weightwatcher_metrics(const std::vector<double>& singular_values, std::int64_t rows,
                                           std::int64_t cols) {
  WeightWatcherMetrics w;
  w.N = std::max(rows, cols);
  w.M = std::min(rows, cols);
  std::vector<double> evals(singular_values.size());
  for (std::size_t i = 0; i < evals.size(); ++i) evals[i] = singular_values[i] * singular_values[i];
  std::sort(evals.begin(), evals.end());
  w.num_evals = static_cast<std::int64_t>(evals.size());
  w.status = "failed";
  const double norm = sum_vec(evals);
  if (evals.empty() || !(norm > 0)) return w;  // log10 of a zero norm: nothing to report
  w.lambda_max = evals.back();

  std::vector<double> nz;
  for (double v : evals)
    if (v > kEvalsThresh) nz.push_back(v);
  const WwPowerLaw fit = ww_power_law(nz);
  if (fit.ok) {
    w.status = "success";
    w.alpha = fit.alpha;
    w.xmin = fit.xmin;
    w.xmax = fit.xmax;
    w.D = fit.D;
    w.sigma = fit.sigma;
    w.num_pl_spikes = std::count_if(evals.begin(), evals.end(), [&](double v) { return v >= fit.xmin; });
  }
  // WeightWatcher warns on the raw alpha, so a failed fit (-1) reads "over-trained".
  w.warning = w.alpha < 2 ? "over-trained" : w.alpha > 6 ? "under-trained" : "";

  w.log_norm = std::log10(norm);
  w.log_spectral_norm = std::log10(w.lambda_max);
  w.alpha_weighted = w.alpha * w.log_spectral_norm;
  std::vector<double> powered(evals.size());
  for (std::size_t i = 0; i < evals.size(); ++i) powered[i] = std::pow(evals[i], w.alpha);
  w.log_alpha_norm = std::log10(sum_vec(powered));
  w.stable_rank = norm / w.lambda_max;

  std::vector<double> sv(evals.size());
  for (std::size_t i = 0; i < evals.size(); ++i) sv[i] = std::sqrt(evals[i]);
  const double tol = sv.back() * static_cast<double>(w.N) * std::numeric_limits<double>::epsilon();
  w.matrix_rank = std::count_if(sv.begin(), sv.end(), [&](double v) { return v > tol; });
  std::vector<double> plogp(evals.size());
  for (std::size_t i = 0; i < evals.size(); ++i) {
    const double p = evals[i] / norm + kEpsilon;
    plogp[i] = p * std::log(p);
  }
  w.matrix_entropy = -sum_vec(plogp) / std::log(static_cast<double>(w.matrix_rank) + kEpsilon);

  const double Q = static_cast<double>(w.N) / static_cast<double>(w.M);
  w.W_scale = std::sqrt(static_cast<double>(evals.size())) / std::sqrt(norm);
  std::vector<double> scaled(evals.size());
  for (std::size_t i = 0; i < evals.size(); ++i) scaled[i] = (w.W_scale * w.W_scale) * evals[i];
  const double lambda_max = *std::max_element(scaled.begin(), scaled.end());
  const double inv = 1.0 / std::sqrt(Q);
  const double scale = std::sqrt(lambda_max / ((1 + inv) * (1 + inv)));
  std::vector<double> to_fit = scaled;
  if (Q == 1)
    for (double& v : to_fit) v = std::sqrt(v);
  const double s1 = ww_fit_mp_sigma(to_fit, Q, scale);
  if (std::isnan(s1)) {  // WeightWatcher's failed MP fit: every MP column -1
    w.num_spikes = -1;
    w.sigma_mp = w.mp_softrank = w.bulk_min = w.bulk_max = w.W_scale = -1;
    return finite_or_minus_one(w);
  }
  const double bulk_max = std::pow(s1 * (1 + 1 / std::sqrt(Q)), 2);
  const double bulk_min = std::pow(s1 * (1 - 1 / std::sqrt(Q)), 2);
  const double tw =
      1 / std::sqrt(Q) * std::pow(bulk_max, 2.0 / 3) * std::pow(static_cast<double>(w.M), -2.0 / 3);
  const double edge = bulk_max + std::sqrt(tw);
  w.num_spikes = std::count_if(scaled.begin(), scaled.end(), [&](double v) { return v > edge; });
  w.sigma_mp = s1;
  w.mp_softrank = bulk_max / lambda_max;
  w.bulk_min = bulk_min / (w.W_scale * w.W_scale);
  w.bulk_max = bulk_max / (w.W_scale * w.W_scale);
  return finite_or_minus_one(w);
}

}  // namespace sonify::analysis
