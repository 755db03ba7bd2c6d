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

void MomentsStream::first(const float* x, std::size_t count) {
  if (count == 0) return;
  // Four independent partial sums (a fixed order, so results are reproducible) let the
  // compiler vectorise the loops: element g of the whole goes to sum g % 4 below whole_,
  // the remainder to sum 0.
  double sum[4] = {sum_[0], sum_[1], sum_[2], sum_[3]};
  std::size_t i = 0;
  for (; i < count && at_ + i < whole_ && (at_ + i) % 4 != 0; ++i) sum[(at_ + i) % 4] += x[i];
  for (; i + 4 <= count && at_ + i + 4 <= whole_; i += 4)
    for (int k = 0; k < 4; ++k) sum[k] += x[i + k];
  for (; i < count; ++i) sum[at_ + i < whole_ ? (at_ + i) % 4 : 0] += x[i];
  for (int k = 0; k < 4; ++k) sum_[k] = sum[k];
  float lo = at_ == 0 ? x[0] : lo_, hi = at_ == 0 ? x[0] : hi_;
  for (std::size_t j = 0; j < count; ++j) lo = std::min(lo, x[j]), hi = std::max(hi, x[j]);
  lo_ = lo, hi_ = hi;
  at_ += count;
}

void MomentsStream::second(const float* x, std::size_t count) {
  if (at_ == n_) {  // the first pass is complete: this is the second one's first piece
    mean_ = ((sum_[0] + sum_[1]) + (sum_[2] + sum_[3])) / static_cast<double>(n_);
    at_ = 0;
  }
  const double mean = mean_;
  double s2[4], s3[4], s4[4];
  for (int k = 0; k < 4; ++k) s2[k] = s2_[k], s3[k] = s3_[k], s4[k] = s4_[k];
  auto add = [&](int k, double v) {
    const double d = v - mean, d2 = d * d;
    s2[k] += d2;
    s3[k] += d2 * d;
    s4[k] += d2 * d2;
  };
  std::size_t i = 0;
  for (; i < count && at_ + i < whole_ && (at_ + i) % 4 != 0; ++i) add(static_cast<int>((at_ + i) % 4), x[i]);
  for (; i + 4 <= count && at_ + i + 4 <= whole_; i += 4)
    for (int k = 0; k < 4; ++k) add(k, x[i + k]);
  for (; i < count; ++i) add(at_ + i < whole_ ? static_cast<int>((at_ + i) % 4) : 0, x[i]);
  for (int k = 0; k < 4; ++k) s2_[k] = s2[k], s3_[k] = s3[k], s4_[k] = s4[k];
  at_ += count;
}

Moments MomentsStream::result() const {
  Moments m;
  if (n_ == 0) return m;
  const double dn = static_cast<double>(n_);
  const double m2 = ((s2_[0] + s2_[1]) + (s2_[2] + s2_[3])) / dn;
  const double m3 = ((s3_[0] + s3_[1]) + (s3_[2] + s3_[3])) / dn;
  const double m4 = ((s4_[0] + s4_[1]) + (s4_[2] + s4_[3])) / dn;
  m.mean = mean_;
  m.min = lo_;
  m.max = hi_;
  m.std = std::sqrt(m2);
  // scipy calls m2 <= (1e-15 * mean)^2 zero variance and returns NaN there; we return
  // 0 for both (defined values for constant and all-zero tensors).
  const bool flat = m2 <= (1e-15 * mean_) * (1e-15 * mean_) || m2 == 0;
  m.skewness = flat ? 0 : m3 / std::pow(m2, 1.5);
  m.kurtosis = flat ? 0 : m4 / (m2 * m2) - 3;
  return m;
}

Moments moments_of(const float* x, std::size_t n) {
  MomentsStream s(n);
  s.first(x, n);
  s.second(x, n);
  return s.result();
}

double bimodality_coefficient(double skewness, double kurtosis, std::size_t n) {
  if (n < 4) return 0;
  const double nn = static_cast<double>(n);
  const double denom = kurtosis + 3 * (nn - 1) * (nn - 1) / ((nn - 2) * (nn - 3));
  return denom > 0 ? (skewness * skewness + 1) / denom : 0;
}

namespace {

// numpy.percentile's ranks: the value is interpolated between ranks lo and hi by frac.
struct PercentileRanks {
  std::size_t lo, hi;
  double frac;
};

PercentileRanks percentile_ranks(std::size_t n, double p) {
  const double pos = p / 100.0 * static_cast<double>(n - 1);
  const std::size_t lo = static_cast<std::size_t>(std::floor(pos));
  return {lo, std::min(lo + 1, n - 1), pos - static_cast<double>(lo)};
}

// numpy's _lerp: a + (b - a) * t, mirrored for t >= 0.5.
double lerp(double a, double b, double frac) {
  const double diff = b - a;
  return frac >= 0.5 ? b - diff * (1 - frac) : a + diff * frac;
}

}  // namespace

double percentile_sorted(const float* sorted, std::size_t n, double p) {
  if (n == 0) return 0;
  const PercentileRanks r = percentile_ranks(n, p);
  return lerp(sorted[r.lo], sorted[r.hi], r.frac);
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

// The Hill index of a sorted sample from its two ends, walked inwards: the largest
// deviations from the mean sit there. `at_left(i)` is the i-th smallest value, for
// i = 0, 1, ... in turn, and `at_right(j)` the j-th, for j = n-1, n-2, ... in turn.
template <class Left, class Right>
double hill_from_ends(std::uint64_t n, double mean, Left at_left, Right at_right) {
  const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(n, hill_k(n) + 1));
  std::vector<double> top;
  top.reserve(want);
  std::uint64_t i = 0, j = n - 1;
  while (top.size() < want) {
    // Deviations rounded to float, as the selecting path stores them.
    const double left = static_cast<float>(std::fabs(at_left(i) - mean));
    const double right = static_cast<float>(std::fabs(at_right(j) - mean));
    if (right >= left)
      top.push_back(right), --j;
    else
      top.push_back(left), ++i;
  }
  std::sort(top.begin(), top.end(), std::greater<double>());
  return hill_index(top);
}

}  // namespace

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
  q.heavy_tail_index = hill_from_ends(
      n, mean, [&](std::uint64_t i) { return double(x[i]); }, [&](std::uint64_t j) { return double(x[j]); });
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
    const PercentileRanks r = percentile_ranks(n, k == 0 ? 2 : 98);
    frac[k] = r.frac;
    ranks.push_back(r.lo);
    ranks.push_back(r.hi);
  }
  const std::vector<float> v = select_ranks(x.data(), n, ranks);
  for (int k = 0; k < 2; ++k) (k == 0 ? q.p02 : q.p98) = lerp(v[2 * k], v[2 * k + 1], frac[k]);
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

namespace {

// The bfloat16 value of table index b (a negative key had its low 16 bits flipped to ones).
float table_value(std::uint32_t b) { return key_float(b << 16 | (b < 0x8000u ? 0xffffu : 0u)); }

void ensure_table(ValueTable& t) {
  if (t.count.empty()) t.count.assign(65536, 0);
}

// The value of rank r (0-based, r < n) of the tabled values.
float table_rank(const ValueTable& t, std::uint64_t r) {
  std::uint64_t below = 0;
  for (std::uint32_t b = 0; b < 65536; ++b) {
    below += t.count[b];
    if (r < below) return table_value(b);
  }
  return table_value(65535);  // not reached for r < n
}

}  // namespace

bool value_table_add(ValueTable& table, const float* x, std::size_t n) {
  ensure_table(table);
  std::uint64_t* count = table.count.data();
  for (std::size_t i = 0; i < n; ++i) {
    std::uint32_t u;
    std::memcpy(&u, &x[i], sizeof u);
    if ((u & 0xffffu) != 0) return false;
    ++count[float_key(x[i]) >> 16];
  }
  table.n += n;
  return true;
}

QuantileStats quantile_stats_table(const ValueTable& t, double mean, int bins) {
  QuantileStats q;
  const std::uint64_t n = t.n;
  if (n == 0) {
    q.histogram.assign(static_cast<std::size_t>(std::max(bins, 0)), 0);
    return q;
  }
  for (int k = 0; k < 2; ++k) {
    const PercentileRanks r = percentile_ranks(n, k == 0 ? 2 : 98);
    (k == 0 ? q.p02 : q.p98) = lerp(table_rank(t, r.lo), table_rank(t, r.hi), r.frac);
  }
  // histogram_counts_sorted with the table's entries as the runs of equal values.
  q.histogram.assign(static_cast<std::size_t>(std::max(bins, 0)), 0);
  if (bins > 0) {
    double lo = q.p02, hi = q.p98;
    if (lo == hi) lo -= 0.5, hi += 0.5;
    const std::vector<double> e = bin_edges(lo, hi, bins);
    const double scale = bins / (hi - lo);
    for (std::uint32_t b = 0; b < 65536; ++b) {
      if (t.count[b] == 0) continue;
      const long k = bin_of(table_value(b), lo, hi, scale, e, bins);
      if (k >= 0) q.histogram[static_cast<std::size_t>(k)] += static_cast<std::int64_t>(t.count[b]);
    }
  }
  // The walk from both ends of quantile_stats_sorting, by ranks: rank i lies in entry lb
  // (ranks below lend), rank j in entry rb (ranks from rstart).
  std::uint64_t lend = t.count[0], rstart = n - t.count[65535];
  std::uint32_t lb = 0, rb = 65535;
  q.heavy_tail_index = hill_from_ends(
      n, mean,
      [&](std::uint64_t i) {
        while (i >= lend) lend += t.count[++lb];
        return double(table_value(lb));
      },
      [&](std::uint64_t j) {
        while (j < rstart) rstart -= t.count[--rb];
        return double(table_value(rb));
      });
  return q;
}

namespace {

// A sample as ascending runs of equal values for the Wasserstein merge: a sorted array, or
// a table's entries. skip(v) passes every value equal to v (so -0 and +0 together, as the
// sorted array's == does).
struct SortedCursor {
  const std::vector<float>& v;
  std::size_t at = 0;
  std::uint64_t size() const { return v.size(); }
  bool finite() const {
    return std::all_of(v.begin(), v.end(), [](float x) { return std::isfinite(x); });
  }
  bool done() const { return at >= v.size(); }
  float value() const { return v[at]; }
  std::uint64_t position() const { return at; }
  void skip(double x) {
    while (at < v.size() && v[at] == x) ++at;
  }
};

struct TableCursor {
  const ValueTable& t;
  std::uint32_t b = 0;
  std::uint64_t passed = 0;
  explicit TableCursor(const ValueTable& table) : t(table) {
    if (t.n > 0)
      while (t.count[b] == 0) ++b;
  }
  std::uint64_t size() const { return t.n; }
  bool finite() const {
    for (std::uint32_t k = 0; k < 65536; ++k)
      if (t.count[k] != 0 && !std::isfinite(table_value(k))) return false;
    return true;
  }
  bool done() const { return passed >= t.n; }
  float value() const { return table_value(b); }
  std::uint64_t position() const { return passed; }
  void skip(double x) {
    while (!done() && value() == x) {
      passed += t.count[b];
      if (done()) break;
      while (t.count[++b] == 0) {
      }
    }
  }
};

// wasserstein1_sorted's merge over two cursors: the same operations in the same order.
template <class A, class B>
double wasserstein1_cursors(A a, B b) {
  if (a.size() == 0 || b.size() == 0) return 0;
  if (!a.finite() || !b.finite()) return std::numeric_limits<double>::quiet_NaN();
  const double na = static_cast<double>(a.size()), nb = static_cast<double>(b.size());
  double prev = std::min(a.value(), b.value()), total = 0;
  while (!a.done() || !b.done()) {
    double next;
    if (b.done() || (!a.done() && a.value() <= b.value()))
      next = a.value();
    else
      next = b.value();
    total += std::fabs(static_cast<double>(a.position()) / na - static_cast<double>(b.position()) / nb) *
             (next - prev);
    prev = next;
    a.skip(next);
    b.skip(next);
  }
  return total;
}

}  // namespace

double wasserstein1(const ValueTable& a, const ValueTable& b) {
  return wasserstein1_cursors(TableCursor(a), TableCursor(b));
}

double wasserstein1(const ValueTable& a, const std::vector<float>& b_sorted) {
  return wasserstein1_cursors(TableCursor(a), SortedCursor{b_sorted});
}

double wasserstein1(const std::vector<float>& a_sorted, const ValueTable& b) {
  return wasserstein1_cursors(SortedCursor{a_sorted}, TableCursor(b));
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
