#include "stats.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace sonify::analysis {
namespace {

// Order-preserving map of a float's bits to an unsigned key.
std::uint32_t float_key(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

float key_float(std::uint32_t k) {
  const std::uint32_t u = (k & 0x80000000u) ? (k & 0x7fffffffu) : ~k;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// numpy.linspace(lo, hi, bins + 1) as numpy computes it.
std::vector<double> bin_edges(double lo, double hi, int bins) {
  std::vector<double> e(static_cast<std::size_t>(bins) + 1);
  const double step = (hi - lo) / bins;
  for (int i = 0; i <= bins; ++i) e[i] = i * step + lo;
  e[bins] = hi;
  return e;
}

}  // namespace

Moments moments_of(const float* x, std::size_t n) {
  Moments m;
  if (n == 0) return m;
  // Four independent partial sums (a fixed order, so results are reproducible) let the
  // compiler vectorise the loops.
  double sum[4] = {0, 0, 0, 0};
  float lo = x[0], hi = x[0];
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4)
    for (int k = 0; k < 4; ++k) sum[k] += x[i + k];
  for (; i < n; ++i) sum[0] += x[i];
  for (std::size_t j = 0; j < n; ++j) lo = std::min(lo, x[j]), hi = std::max(hi, x[j]);
  const double mean = ((sum[0] + sum[1]) + (sum[2] + sum[3])) / static_cast<double>(n);
  double s2[4] = {0, 0, 0, 0}, s3[4] = {0, 0, 0, 0}, s4[4] = {0, 0, 0, 0};
  auto add = [&](int k, double v) {
    const double d = v - mean, d2 = d * d;
    s2[k] += d2;
    s3[k] += d2 * d;
    s4[k] += d2 * d2;
  };
  for (i = 0; i + 4 <= n; i += 4)
    for (int k = 0; k < 4; ++k) add(k, x[i + k]);
  for (; i < n; ++i) add(0, x[i]);
  const double dn = static_cast<double>(n);
  const double m2 = ((s2[0] + s2[1]) + (s2[2] + s2[3])) / dn;
  const double m3 = ((s3[0] + s3[1]) + (s3[2] + s3[3])) / dn;
  const double m4 = ((s4[0] + s4[1]) + (s4[2] + s4[3])) / dn;
  m.mean = mean;
  m.min = lo;
  m.max = hi;
  m.std = std::sqrt(m2);
  // scipy calls m2 <= (1e-15 * mean)^2 zero variance and returns NaN there; we return
  // 0 for both (defined values for constant and all-zero tensors).
  const bool flat = m2 <= (1e-15 * mean) * (1e-15 * mean) || m2 == 0;
  m.skewness = flat ? 0 : m3 / std::pow(m2, 1.5);
  m.kurtosis = flat ? 0 : m4 / (m2 * m2) - 3;
  return m;
}

double bimodality_coefficient(double skewness, double kurtosis, std::size_t n) {
  if (n < 4) return 0;
  const double nn = static_cast<double>(n);
  const double denom = kurtosis + 3 * (nn - 1) * (nn - 1) / ((nn - 2) * (nn - 3));
  return denom > 0 ? (skewness * skewness + 1) / denom : 0;
}

double percentile_sorted(const float* sorted, std::size_t n, double p) {
  if (n == 0) return 0;
  const double pos = p / 100.0 * static_cast<double>(n - 1);
  const std::size_t lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, n - 1);
  const double frac = pos - static_cast<double>(lo);
  const double a = sorted[lo], b = sorted[hi];
  // numpy's _lerp: a + (b - a) * t, mirrored for t >= 0.5.
  const double diff = b - a;
  return frac >= 0.5 ? b - diff * (1 - frac) : a + diff * frac;
}

namespace {

// numpy's bin of v for edges e (its searchsorted correction of the scaled index), or -1
// outside [lo, hi].
long bin_of(double v, double lo, double hi, double scale, const std::vector<double>& e, int bins) {
  if (!(v >= lo && v <= hi)) return -1;
  long k = static_cast<long>((v - lo) * scale);
  if (k >= bins) k = bins - 1;
  if (k > 0 && v < e[k]) --k;
  if (k < bins - 1 && v >= e[k + 1]) ++k;
  return k;
}

// histogram_counts of sorted x: the bin is found once per run of equal values (a bfloat16
// tensor has at most 65536 distinct ones).
std::vector<std::int64_t> histogram_counts_sorted(const float* x, std::size_t n, double lo, double hi,
                                                  int bins) {
  std::vector<std::int64_t> counts(static_cast<std::size_t>(std::max(bins, 0)), 0);
  if (bins <= 0) return counts;
  if (lo == hi) lo -= 0.5, hi += 0.5;
  const std::vector<double> e = bin_edges(lo, hi, bins);
  const double scale = bins / (hi - lo);
  for (std::size_t i = 0, j; i < n; i = j) {
    for (j = i + 1; j < n && x[j] == x[i];) ++j;
    const long k = bin_of(x[i], lo, hi, scale, e, bins);
    if (k >= 0) counts[static_cast<std::size_t>(k)] += static_cast<std::int64_t>(j - i);
  }
  return counts;
}

}  // namespace

std::vector<std::int64_t> histogram_counts(const float* x, std::size_t n, double lo, double hi, int bins) {
  std::vector<std::int64_t> counts(static_cast<std::size_t>(std::max(bins, 0)), 0);
  if (bins <= 0) return counts;
  if (lo == hi) lo -= 0.5, hi += 0.5;
  const std::vector<double> e = bin_edges(lo, hi, bins);
  const double scale = bins / (hi - lo);
  for (std::size_t i = 0; i < n; ++i) {
    const long k = bin_of(x[i], lo, hi, scale, e, bins);
    if (k >= 0) ++counts[static_cast<std::size_t>(k)];
  }
  return counts;
}

std::size_t hill_k(std::size_t n) {
  return std::max<std::size_t>(1, static_cast<std::size_t>(std::floor(std::sqrt(static_cast<double>(n)))));
}

double hill_index(const std::vector<double>& top) {
  if (top.size() < 2) return 2;
  const std::size_t k = top.size() - 1;
  const double threshold = top[k];
  if (!(threshold > 0)) return 2;
  double sum = 0;
  for (std::size_t i = 0; i < k; ++i) sum += std::log(top[i] / threshold);
  if (!(sum > 0)) return 2;
  return std::min(2.0, static_cast<double>(k) / sum);
}

namespace {

// Values converted from bfloat16 (the low 16 bits of every float zero, as in most
// checkpoints) take at most 65536 distinct values, and the top 16 bits of the key order
// them: counting them sorts in one read and one sequential write, with no key arrays.
// Returns false, x untouched, when some value is not a bfloat16 one.
bool counting_sort_bf16(std::vector<float>& x) {
  const std::size_t n = x.size();
  if (n >= (std::size_t{1} << 32)) return false;  // the counts are 32-bit
  std::vector<std::uint32_t> count(65536, 0);
  for (std::size_t i = 0; i < n; ++i) {
    std::uint32_t u;
    std::memcpy(&u, &x[i], sizeof u);
    if ((u & 0xffffu) != 0) return false;
    ++count[float_key(x[i]) >> 16];
  }
  std::size_t at = 0;
  for (std::uint32_t b = 0; b < 65536; ++b) {
    if (count[b] == 0) continue;
    // A negative key (top bit 0) had its low 16 bits flipped to ones.
    const float v = key_float(b << 16 | (b < 0x8000u ? 0xffffu : 0u));
    std::fill(x.begin() + static_cast<std::ptrdiff_t>(at),
              x.begin() + static_cast<std::ptrdiff_t>(at + count[b]), v);
    at += count[b];
  }
  return true;
}

}  // namespace

void radix_sort(std::vector<float>& x) {
  if (counting_sort_bf16(x)) return;
  const std::size_t n = x.size();
  std::vector<std::uint32_t> keys(n), tmp(n);
  for (std::size_t i = 0; i < n; ++i) keys[i] = float_key(x[i]);
  // Three passes of 11 bits (the counts stay in L1).
  std::vector<std::size_t> count(2049);
  for (int shift = 0; shift < 32; shift += 11) {
    std::fill(count.begin(), count.end(), 0);
    for (std::size_t i = 0; i < n; ++i) ++count[((keys[i] >> shift) & 0x7ffu) + 1];
    if (count[1 + ((keys[0] >> shift) & 0x7ffu)] == n) continue;  // all in one bucket
    for (int b = 0; b < 2048; ++b) count[b + 1] += count[b];
    for (std::size_t i = 0; i < n; ++i) tmp[count[(keys[i] >> shift) & 0x7ffu]++] = keys[i];
    keys.swap(tmp);
  }
  for (std::size_t i = 0; i < n; ++i) x[i] = key_float(keys[i]);
}

QuantileStats quantile_stats_sorting(std::vector<float>& x, double mean, int bins) {
  QuantileStats q;
  const std::size_t n = x.size();
  if (n == 0) {
    q.histogram.assign(static_cast<std::size_t>(std::max(bins, 0)), 0);
    return q;
  }
  radix_sort(x);
  q.p02 = percentile_sorted(x.data(), n, 2);
  q.p98 = percentile_sorted(x.data(), n, 98);
  q.histogram = histogram_counts_sorted(x.data(), n, q.p02, q.p98, bins);
  // The largest deviations from the mean sit at the two ends of the sorted array.
  const std::size_t want = std::min(n, hill_k(n) + 1);
  std::vector<double> top;
  top.reserve(want);
  std::size_t i = 0, j = n - 1;
  while (top.size() < want) {
    // Deviations rounded to float, as the selecting path stores them.
    const double left = static_cast<float>(std::fabs(x[i] - mean));
    const double right = static_cast<float>(std::fabs(x[j] - mean));
    if (right >= left)
      top.push_back(right), --j;
    else
      top.push_back(left), ++i;
  }
  std::sort(top.begin(), top.end(), std::greater<double>());
  q.heavy_tail_index = hill_index(top);
  return q;
}

namespace {

// Exact order statistics without sorting: a histogram of the top 16 key bits finds the
// bucket of each wanted rank, a second pass collects that bucket's values.
std::vector<float> select_ranks(const float* x, std::size_t n, const std::vector<std::size_t>& ranks) {
  std::vector<std::uint64_t> count(65537, 0);
  for (std::size_t i = 0; i < n; ++i) ++count[(float_key(x[i]) >> 16) + 1];
  for (std::size_t b = 0; b < 65536; ++b) count[b + 1] += count[b];  // count[b] = values below bucket b
  std::vector<std::uint32_t> bucket_of;
  for (std::size_t rank : ranks)
    bucket_of.push_back(static_cast<std::uint32_t>(
        std::upper_bound(count.begin(), count.end(), static_cast<std::uint64_t>(rank)) - count.begin() - 1));
  const std::uint32_t lowest = *std::min_element(bucket_of.begin(), bucket_of.end());
  const std::uint32_t highest = *std::max_element(bucket_of.begin(), bucket_of.end());
  std::vector<std::vector<float>> buckets(ranks.size());
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint32_t b = float_key(x[i]) >> 16;
    if (b < lowest || b > highest) continue;
    for (std::size_t r = 0; r < ranks.size(); ++r)
      if (b == bucket_of[r]) {
        buckets[r].push_back(x[i]);
        break;
      }
  }
  std::vector<float> out;
  for (std::size_t r = 0; r < ranks.size(); ++r) {
    std::size_t first = 0;  // ranks sharing a bucket use the first one's copy
    while (bucket_of[first] != bucket_of[r]) ++first;
    std::vector<float>& bucket = buckets[first];
    const std::size_t within = ranks[r] - count[bucket_of[r]];
    std::nth_element(bucket.begin(), bucket.begin() + static_cast<std::ptrdiff_t>(within), bucket.end());
    out.push_back(bucket[within]);
  }
  return out;
}

}  // namespace

QuantileStats quantile_stats_selecting(const std::vector<float>& x, double mean, int bins) {
  QuantileStats q;
  const std::size_t n = x.size();
  if (n == 0) {
    q.histogram.assign(static_cast<std::size_t>(std::max(bins, 0)), 0);
    return q;
  }
  std::vector<std::size_t> ranks;
  double frac[2];
  for (int k = 0; k < 2; ++k) {
    const double pos = (k == 0 ? 2 : 98) / 100.0 * static_cast<double>(n - 1);
    const std::size_t lo = static_cast<std::size_t>(std::floor(pos));
    frac[k] = pos - static_cast<double>(lo);
    ranks.push_back(lo);
    ranks.push_back(std::min(lo + 1, n - 1));
  }
  const std::vector<float> v = select_ranks(x.data(), n, ranks);
  for (int k = 0; k < 2; ++k) {
    // The same interpolation as percentile_sorted on the two neighbours.
    const double a = v[2 * k], b = v[2 * k + 1], diff = b - a;
    (k == 0 ? q.p02 : q.p98) = frac[k] >= 0.5 ? b - diff * (1 - frac[k]) : a + diff * frac[k];
  }
  q.histogram = histogram_counts(x.data(), n, q.p02, q.p98, bins);
  // The `want` largest float deviations |x - mean|: find the bucket of the threshold,
  // then keep everything at or above it and sort that small set.
  const std::size_t want = std::min(n, hill_k(n) + 1);
  auto deviation = [&](float value) { return static_cast<float>(std::fabs(value - mean)); };
  std::vector<std::uint64_t> count(65536, 0);
  for (std::size_t i = 0; i < n; ++i) ++count[float_key(deviation(x[i])) >> 16];
  std::size_t above = 0, bucket = 65536;
  while (bucket > 0 && above < want) above += count[--bucket];
  std::vector<double> top;
  for (std::size_t i = 0; i < n; ++i) {
    const float d = deviation(x[i]);
    if ((float_key(d) >> 16) >= bucket) top.push_back(d);
  }
  std::sort(top.begin(), top.end(), std::greater<double>());
  top.resize(want);
  q.heavy_tail_index = hill_index(top);
  return q;
}

double wasserstein1_sorted(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.empty() || b.empty()) return 0;
  // NaN compares unequal to itself, so the merge below would never advance past one.
  auto finite = [](const std::vector<float>& v) {
    return std::all_of(v.begin(), v.end(), [](float x) { return std::isfinite(x); });
  };
  if (!finite(a) || !finite(b)) return std::numeric_limits<double>::quiet_NaN();
  // Integral of |F_a - F_b| over the merged breakpoints (scipy's _cdf_distance, p = 1).
  const double na = static_cast<double>(a.size()), nb = static_cast<double>(b.size());
  std::size_t i = 0, j = 0;
  double prev = std::min(a[0], b[0]), total = 0;
  while (i < a.size() || j < b.size()) {
    double next;
    if (j >= b.size() || (i < a.size() && a[i] <= b[j]))
      next = a[i];
    else
      next = b[j];
    total += std::fabs(static_cast<double>(i) / na - static_cast<double>(j) / nb) * (next - prev);
    prev = next;
    while (i < a.size() && a[i] == next) ++i;
    while (j < b.size() && b[j] == next) ++j;
  }
  return total;
}

}  // namespace sonify::analysis
