// Distribution statistics on float arrays, computed in double (no Eigen).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "sonify/features.h"

namespace sonify::analysis {

// Two-pass moments (scipy conventions, see Moments). Empty input gives all zeros.
Moments moments_of(const float* x, std::size_t n);

// Sarle's bimodality coefficient from biased g1/g2 and n (0 when n < 4).
double bimodality_coefficient(double skewness, double kurtosis, std::size_t n);

// Everything that needs the values in order: percentiles, histogram, Hill index.
struct QuantileStats {
  double p02 = 0;
  double p98 = 0;
  std::vector<std::int64_t> histogram;
  double heavy_tail_index = 2;
};

// Sorts x in place (ascending, radix sort) and computes QuantileStats from it.
QuantileStats quantile_stats_sorting(std::vector<float>& x, double mean, int bins);

// Same values as quantile_stats_sorting without sorting or a copy of x (radix selection
// in a few linear passes; for tensors too large to sort).
QuantileStats quantile_stats_selecting(const std::vector<float>& x, double mean, int bins);

// numpy.percentile (linear) of a sorted array, p in [0, 100].
double percentile_sorted(const float* sorted, std::size_t n, double p);

// numpy.histogram(x, bins, range=(lo, hi)) counts (lo == hi widens by 0.5 each way).
std::vector<std::int64_t> histogram_counts(const float* x, std::size_t n, double lo, double hi, int bins);

// Hill estimate from the k + 1 largest deviations sorted descending, capped at 2.
double hill_index(const std::vector<double>& top_descending);

// How many order statistics the Hill estimate uses for n values: max(1, floor(sqrt(n))).
std::size_t hill_k(std::size_t n);

// Wasserstein-1 distance of two sorted samples (equal weights), as scipy computes it.
double wasserstein1_sorted(const std::vector<float>& a, const std::vector<float>& b);

// Ascending radix sort of floats (total order of IEEE values, -0 before +0; NaN not
// expected). Values that are all bfloat16 ones are sorted by counting instead.
void radix_sort(std::vector<float>& x);

}  // namespace sonify::analysis
