// WeightWatcher-compatible metrics of one matrix (doc/weightwatcher.md). Plain C++, no Eigen:
// the steps restate WeightWatcher's numpy/scipy/sklearn code, in its order of operations, so
// that the results agree with it to rounding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "sonify/features.h"

namespace sonify::analysis {

// numpy's pairwise summation (np.sum of a float64 array): the same rounding as the oracle.
double numpy_sum(const double* x, std::size_t n);

// WW_powerlaw.WWFit on sorted positive data: every value but the last is a candidate xmin.
struct WwPowerLaw {
  bool ok = false;
  double alpha = -1, xmin = -1, xmax = -1, D = -1, sigma = -1;
};
WwPowerLaw ww_power_law(const std::vector<double>& sorted);

// scipy.optimize.fmin (Nelder–Mead, default tolerances and call limits) in one dimension.
double nelder_mead_1d(const std::function<double(double)>& f, double x0);

// RMT_Util.fit_density_with_range: the MP (or quarter-circle, Q = 1) scale σ fitted to the
// linear-kernel KDE of `to_fit` by a brute grid over [0.05, 2)·scale and an fmin polish.
double ww_fit_mp_sigma(const std::vector<double>& to_fit, double Q, double scale);

// All metrics from the singular values of a rows × cols matrix (any order).
WeightWatcherMetrics weightwatcher_metrics(const std::vector<double>& singular_values, std::int64_t rows,
                                           std::int64_t cols);

}  // namespace sonify::analysis
