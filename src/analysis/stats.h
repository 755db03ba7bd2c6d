// Distribution statistics on float arrays, computed in double (no Eigen).
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "sonify/features.h"

namespace sonify::analysis {

// The candidate j in [0, count) whose largest error over the points i in [j, n) is smallest,
// the first on ties: the xmin scan of a Clauset power-law fit, where error(c, j, i) is the
// KS error of candidate j's fit at point i and candidate(j) yields c, that fit's parameters,
// or an empty optional for a candidate to skip. found is false when none was eligible.
// A candidate is dropped as soon as its error reaches the best so far, as the plain scan
// does; two things make that happen early. A first pass visits every kCoarse-th candidate,
// so the best error is near its final value before the rest are scanned, and each
// candidate is first tried at the point where the previous one failed or peaked. The
// result and its error are those of the plain ascending scan, bit for bit: only the order
// of the visits changes, and every accepted candidate is evaluated at every point.
struct KsScan {
  bool found = false;
  std::size_t index = 0;
  double d = std::numeric_limits<double>::infinity();
};

template <class Candidate, class Error>
KsScan ks_min_scan(std::size_t count, std::size_t n, Candidate&& candidate, Error&& error) {
  constexpr std::size_t kCoarse = 32;
  KsScan best;
  std::size_t probe = 0;
  auto visit = [&](std::size_t j) {
    const auto c = candidate(j);
    if (!c) return;
    const bool earlier = best.found && j < best.index;  // wins a tie
    const auto loses = [&](double d) { return earlier ? d > best.d : d >= best.d; };
    if (probe > j && probe < n && loses(error(*c, j, probe))) return;
    double d = 0;
    std::size_t peak = j;
    for (std::size_t i = j; i < n; ++i) {
      const double e = error(*c, j, i);
      if (e > d) {
        d = e;
        peak = i;
      }
      if (loses(d)) {
        probe = i;
        return;
      }
    }
    probe = peak;
    best = {true, j, d};
  };
  const bool coarse = count > 2 * kCoarse;
  if (coarse)
    for (std::size_t j = 0; j < count; j += kCoarse) visit(j);
  for (std::size_t j = 0; j < count; ++j)
    if (!coarse || j % kCoarse != 0) visit(j);
  return best;
}

// Two-pass moments (scipy conventions, see Moments). Empty input gives all zeros.
Moments moments_of(const float* x, std::size_t n);

// moments_of fed in consecutive pieces (a matrix streamed by row slices): every piece once
// to first(), then every piece again in the same order to second(). Each sum runs over the
// same elements in the same order as moments_of's, so the result is the same bits.
class MomentsStream {
 public:
  explicit MomentsStream(std::size_t n) : n_(n), whole_(n - n % 4) {}
  void first(const float* x, std::size_t count);
  void second(const float* x, std::size_t count);
  Moments result() const;

 private:
  std::size_t n_, whole_, at_ = 0;  // whole_: the elements summed in four lanes
  double sum_[4] = {0, 0, 0, 0}, s2_[4] = {0, 0, 0, 0}, s3_[4] = {0, 0, 0, 0}, s4_[4] = {0, 0, 0, 0};
  float lo_ = 0, hi_ = 0;
  double mean_ = 0;
};

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

// How many times each bfloat16 value occurs (index: the top 16 bits of the value's
// order-preserving key): for values that are all bfloat16 ones (most checkpoints), what a
// sorted copy gives in 512 KB instead of 4 bytes a value.
struct ValueTable {
  std::vector<std::uint64_t> count;  // 65536 entries once something was added
  std::uint64_t n = 0;
};

// Adds x to the table; false (the table then undefined) when some value is not a bfloat16 one.
bool value_table_add(ValueTable& table, const float* x, std::size_t n);

// quantile_stats_sorting's values, bit for bit, from the table of the same values.
QuantileStats quantile_stats_table(const ValueTable& table, double mean, int bins);

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
// The same bits with either sample or both given as a table.
double wasserstein1(const ValueTable& a, const ValueTable& b);
double wasserstein1(const ValueTable& a, const std::vector<float>& b_sorted);
double wasserstein1(const std::vector<float>& a_sorted, const ValueTable& b);

// Ascending radix sort of floats (total order of IEEE values, -0 before +0; NaN not
// expected). Values that are all bfloat16 ones are sorted by counting instead.
void radix_sort(std::vector<float>& x);

}  // namespace sonify::analysis
