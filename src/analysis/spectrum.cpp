#include "spectrum.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <mutex>
#include <optional>
#include <stdexcept>

#include "lapack.h"
#include "stats.h"

namespace sonify::analysis {

namespace {

// Slice `slice`'s Gram contribution, lower triangle (order × order, column-major), into
// `out`. `at` is where the slice starts: its first row (rows ≥ cols) or column (rows < cols)
// in W. False for an empty matrix (nothing to add to the zeros).
bool gram_slice_product(const float* at, std::int64_t rows, std::int64_t cols, std::int64_t slice,
                        float* out) {
  const std::int64_t order = gram_order(rows, cols);
  const std::int64_t length = std::max(rows, cols);
  const std::int64_t count = std::min(kGramSlice, length - slice * kGramSlice);
  if (count <= 0) return false;
  // Row-major W is column-major Wᵀ (cols × rows, leading dimension cols). With beta = 0
  // ssyrk writes the whole lower triangle, so the output needs no clearing.
  if (rows >= cols)  // WᵀW over rows [begin, begin + count): columns of Wᵀ
    ssyrk_lower(false, order, count, at, cols, out);
  else  // WWᵀ over columns [begin, begin + count): rows of Wᵀ
    ssyrk_lower(true, order, count, at, cols, out);
  return true;
}

// Adds a slice's lower triangle `g` to `sum`: assigns it for the first slice of a group.
void add_gram_slice(const float* g, std::int64_t order, double* sum, bool first) {
  for (std::int64_t c = 0; c < order; ++c) {
    const float* gc = g + c * order;
    double* sc = sum + c * order;
    if (first)
      for (std::int64_t r = c; r < order; ++r) sc[r] = gc[r];
    else
      for (std::int64_t r = c; r < order; ++r) sc[r] += gc[r];
  }
}

// Adds the lower triangle of slice `slice`'s Gram contribution to `sum`, in slice order.
void add_gram_slice(const float* at, std::int64_t rows, std::int64_t cols, std::int64_t slice, float* scratch,
                    double* sum, bool first) {
  if (gram_slice_product(at, rows, cols, slice, scratch))
    add_gram_slice(scratch, gram_order(rows, cols), sum, first);
}

}  // namespace

bool uses_gram(SvdMethod method, std::int64_t rows, std::int64_t cols) {
  switch (method) {
    case SvdMethod::Exact:
      return false;
    case SvdMethod::Gram:
      return true;
    case SvdMethod::Auto:
    case SvdMethod::Fast:  // for the matrices too narrow for the sketch
      return std::min(rows, cols) >= kGramMinDim;
  }
  return false;
}

bool uses_gram64(SvdMethod method, std::int64_t rows, std::int64_t cols) {
  // Fast hands the matrices too narrow for its sketch to the auto path.
  return (method == SvdMethod::Auto || method == SvdMethod::Fast) && rows == cols &&
         rows * cols <= kRefineMaxElements && uses_gram(method, rows, cols);
}

std::int64_t gram_order(std::int64_t rows, std::int64_t cols) { return std::min(rows, cols); }

std::int64_t gram_slices(std::int64_t rows, std::int64_t cols) {
  const std::int64_t length = std::max(rows, cols);
  return std::max<std::int64_t>(1, (length + kGramSlice - 1) / kGramSlice);
}

std::int64_t gram_groups(std::int64_t rows, std::int64_t cols) {
  return (gram_slices(rows, cols) + kGramGroup - 1) / kGramGroup;
}

void gram_group(const float* w, std::int64_t rows, std::int64_t cols, std::int64_t group, GramWorkspace& ws) {
  const std::int64_t step = rows >= cols ? kGramSlice * cols : kGramSlice;
  gram_group([&](std::int64_t k) { return w + k * step; }, rows, cols, group, ws);
}

void gram_group(const std::function<const float*(std::int64_t)>& slice, std::int64_t rows, std::int64_t cols,
                std::int64_t group, GramWorkspace& ws) {
  const std::int64_t order = gram_order(rows, cols);
  const std::int64_t end = std::min(gram_slices(rows, cols), (group + 1) * kGramGroup);
  // assign() reuses the buffers' memory: no new pages for the next matrix of the same order.
  ws.sum.assign(static_cast<std::size_t>(order * order), 0.0);  // the upper triangle stays zero
  if (ws.slice.size() < ws.sum.size()) ws.slice.resize(ws.sum.size());
  for (std::int64_t k = group * kGramGroup; k < end; ++k)
    add_gram_slice(slice(k), rows, cols, k, ws.slice.data(), ws.sum.data(), k == group * kGramGroup);
}

void gram_matrix(const float* w, std::int64_t rows, std::int64_t cols, GramWorkspace& ws) {
  gram_group(w, rows, cols, 0, ws);
  if (gram_groups(rows, cols) == 1) return;
  std::vector<double> sum = std::move(ws.sum);
  for (std::int64_t g = 1; g < gram_groups(rows, cols); ++g) {
    gram_group(w, rows, cols, g, ws);
    for (std::size_t i = 0; i < sum.size(); ++i) sum[i] += ws.sum[i];
  }
  ws.sum = std::move(sum);
}

GramFolder::GramFolder(std::int64_t rows, std::int64_t cols)
    : rows_(rows),
      cols_(cols),
      slices_(gram_slices(rows, cols)),
      ready_(static_cast<std::size_t>(slices_)),
      handed_(static_cast<std::size_t>(slices_), false) {}

std::vector<float> GramFolder::product(const float* at, std::int64_t k) {
  std::vector<float> g;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!spare_.empty()) g = std::move(spare_.back()), spare_.pop_back();
  }
  const std::int64_t order = gram_order(rows_, cols_);
  g.resize(static_cast<std::size_t>(order * order));
  if (!gram_slice_product(at, rows_, cols_, k, g.data())) g.clear();
  return g;
}

void GramFolder::add(std::int64_t k, std::vector<float> g) {
  std::unique_lock<std::mutex> lock(mutex_);
  ready_[static_cast<std::size_t>(k)] = std::move(g);
  handed_[static_cast<std::size_t>(k)] = true;
  if (folding_) return;  // the thread folding now takes it when its turn comes
  folding_ = true;
  // Cleared however the loop ends (an allocation may throw), so a later slice is folded.
  struct Done {
    bool& folding;
    ~Done() { folding = false; }
  } done{folding_};
  const std::int64_t order = gram_order(rows_, cols_);
  const std::size_t size = static_cast<std::size_t>(order * order);
  while (next_ < slices_ && handed_[static_cast<std::size_t>(next_)]) {
    std::vector<float> slice = std::move(ready_[static_cast<std::size_t>(next_)]);
    const std::int64_t i = next_;
    lock.unlock();
    const bool group_start = i % kGramGroup == 0;
    if (group_start) group_.assign(size, 0.0);  // the upper triangle stays zero
    if (!slice.empty()) add_gram_slice(slice.data(), order, group_.data(), group_start);
    if ((i + 1) % kGramGroup == 0 || i + 1 == slices_) {
      if (i < kGramGroup)
        whole_ = std::move(group_);
      else
        for (std::size_t e = 0; e < size; ++e) whole_[e] += group_[e];
    }
    lock.lock();
    if (slice.capacity() > 0) spare_.push_back(std::move(slice));
    ++next_;
  }
}

std::vector<double> GramFolder::result() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (next_ != slices_) throw std::logic_error("GramFolder: the sum asked for before every slice was added");
  spare_.clear();
  group_ = {};
  if (whole_.empty())
    whole_.assign(static_cast<std::size_t>(gram_order(rows_, cols_) * gram_order(rows_, cols_)), 0.0);
  return std::move(whole_);
}

std::vector<double> gram_matrix(const float* w, std::int64_t rows, std::int64_t cols) {
  GramWorkspace ws;
  gram_matrix(w, rows, cols, ws);
  return std::move(ws.sum);
}

std::vector<double> singular_values_from_gram(const std::vector<double>& gram, std::int64_t order) {
  std::vector<float> scratch;
  return singular_values_from_gram(gram.data(), order, scratch);
}

namespace {

// σ (descending) from ascending eigenvalues λ of a Gram matrix: √max(λ, 0).
std::vector<double> sqrt_descending(const std::vector<double>& lambda) {
  std::vector<double> sv(lambda.size());
  for (std::size_t i = 0; i < lambda.size(); ++i)
    sv[i] = std::sqrt(std::max(0.0, lambda[lambda.size() - 1 - i]));
  return sv;
}

}  // namespace

std::vector<double> singular_values_from_gram(const double* gram, std::int64_t order,
                                              std::vector<float>& scratch) {
  if (order == 0) return {};
  const std::size_t n = static_cast<std::size_t>(order);
  if (scratch.size() < n * n) scratch.resize(n * n);
  for (std::size_t c = 0; c < n; ++c)
    for (std::size_t r = c; r < n; ++r) scratch[c * n + r] = static_cast<float>(gram[c * n + r]);
  return sqrt_descending(symmetric_eigenvalues(scratch.data(), order));
}

std::vector<double> singular_values_gram64(const float* w, std::int64_t rows, std::int64_t cols,
                                           GramWorkspace& ws) {
  const std::int64_t order = gram_order(rows, cols);
  if (order == 0) return {};
  ws.wide.assign(w, w + rows * cols);
  ws.sum.resize(static_cast<std::size_t>(order * order));
  // As in add_gram_slice: row-major W is column-major Wᵀ (cols × rows); one product over the
  // whole long dimension (beta = 0 writes the whole lower triangle).
  if (rows >= cols)
    dsyrk_lower(false, order, rows, ws.wide.data(), cols, ws.sum.data());
  else
    dsyrk_lower(true, order, cols, ws.wide.data(), cols, ws.sum.data());
  return sqrt_descending(symmetric_eigenvalues(ws.sum.data(), order));
}

std::vector<double> singular_values_exact(const float* w, std::int64_t rows, std::int64_t cols,
                                          std::vector<double>& scratch) {
  if (rows == 0 || cols == 0) return {};
  // Row-major W is column-major Wᵀ: same singular values, no transpose needed.
  scratch.assign(w, w + rows * cols);
  return singular_values_gesdd(scratch.data(), cols, rows);
}

std::vector<double> singular_values_exact(const float* w, std::int64_t rows, std::int64_t cols) {
  std::vector<double> scratch;
  return singular_values_exact(w, rows, cols, scratch);
}

void summarise_spectrum(Spectrum& s, double frobenius_squared) {
  const auto& sv = s.singular_values;
  s.sigma_max = sv.empty() ? 0 : sv.front();
  double total = 0;
  for (double v : sv) total += v;
  s.stable_rank = s.sigma_max > 0 ? frobenius_squared / (s.sigma_max * s.sigma_max) : 0;
  s.spectral_entropy = 0;
  if (total > 0) {
    for (double v : sv) {
      const double p = v / total;
      if (p > 0) s.spectral_entropy -= p * std::log(p);
    }
  }
  s.effective_rank = total > 0 ? std::exp(s.spectral_entropy) : 0;
  const double smin = sv.empty() ? 0 : sv.back();
  // σmin at or below the accuracy floor is numerically zero: the matrix is singular.
  s.condition_number = smin > s.accuracy_floor && smin > 0 ? s.sigma_max / smin : 0;
  std::vector<double> eig(sv.size());
  for (std::size_t i = 0; i < sv.size(); ++i) eig[i] = sv[i] * sv[i];
  fit_power_law(eig, s);
}

void fit_power_law(const std::vector<double>& eigenvalues, Spectrum& s) {
  s.alpha = 0;
  s.alpha_xmin = 0;
  s.alpha_tail = 0;
  s.alpha_ks = 0;
  std::vector<double> x;
  for (double v : eigenvalues)
    if (v > 0) x.push_back(v);
  std::sort(x.begin(), x.end());
  const std::size_t n = x.size();
  if (n < static_cast<std::size_t>(kMinTail)) return;
  std::vector<double> suffix_log(n + 1, 0.0);  // Σ_{i ≥ j} ln x_i
  for (std::size_t i = n; i-- > 0;) suffix_log[i] = suffix_log[i + 1] + std::log(x[i]);
  struct Fit {
    double xmin, tail, alpha;
  };
  const auto candidate = [&](std::size_t j) -> std::optional<Fit> {
    if (j > 0 && x[j] == x[j - 1]) return std::nullopt;  // each distinct value once
    const double tail = static_cast<double>(n - j);
    const double sum_log = suffix_log[j] - tail * std::log(x[j]);
    if (!(sum_log > 0)) return std::nullopt;
    return Fit{x[j], tail, 1 + tail / sum_log};
  };
  const auto error = [&](const Fit& f, std::size_t j, std::size_t i) {
    const double cdf = 1 - std::pow(x[i] / f.xmin, 1 - f.alpha);
    const double k = static_cast<double>(i - j);
    return std::max(std::fabs(cdf - k / f.tail), std::fabs(cdf - (k + 1) / f.tail));
  };
  const KsScan best = ks_min_scan(n - kMinTail + 1, n, candidate, error);
  if (!best.found) return;
  const Fit f = *candidate(best.index);
  s.alpha = f.alpha;
  s.alpha_xmin = f.xmin;
  s.alpha_tail = static_cast<int>(n - best.index);
  s.alpha_ks = best.d;
}

}  // namespace sonify::analysis

namespace sonify::analysis {

namespace {

constexpr double kPi = 3.14159265358979323846;

// The MP CDF on θ ∈ [0, π] with x = a + (b − a)(1 − cos θ)/2: the substitution removes the
// square-root edges (and the 1/√x pole at q = 1), so a midpoint rule converges fast.
struct MpTable {
  double a = 0, b = 0;
  std::vector<double> cdf;  // at θ_k = π k / kSteps
  static constexpr int kSteps = 4096;
};

MpTable mp_table(double q) {
  MpTable t;
  const double r = std::sqrt(q);
  t.a = (1 - r) * (1 - r);
  t.b = (1 + r) * (1 + r);
  const double h = kPi / MpTable::kSteps, half = (t.b - t.a) / 2;
  t.cdf.assign(MpTable::kSteps + 1, 0.0);
  for (int k = 0; k < MpTable::kSteps; ++k) {
    const double th = (k + 0.5) * h;
    const double x = t.a + half * (1 - std::cos(th));
    const double s = std::sin(th);
    t.cdf[k + 1] = t.cdf[k] + half * half * s * s / (2 * kPi * q * x) * h;
  }
  const double total = t.cdf.back();
  for (double& c : t.cdf) c /= total;
  return t;
}

double table_cdf(const MpTable& t, double x) {
  if (x <= t.a) return 0;
  if (x >= t.b) return 1;
  const double th = std::acos(std::clamp(1 - 2 * (x - t.a) / (t.b - t.a), -1.0, 1.0));
  const double pos = th / kPi * MpTable::kSteps;
  const int k = std::min(static_cast<int>(pos), MpTable::kSteps - 1);
  return t.cdf[k] + (t.cdf[k + 1] - t.cdf[k]) * (pos - k);
}

double table_quantile(const MpTable& t, double u) {
  u = std::clamp(u, 0.0, 1.0);
  const auto it = std::lower_bound(t.cdf.begin(), t.cdf.end(), u);
  const int k = static_cast<int>(std::clamp<std::ptrdiff_t>(it - t.cdf.begin(), 1, MpTable::kSteps));
  const double span = t.cdf[k] - t.cdf[k - 1];
  const double th = (k - 1 + (span > 0 ? (u - t.cdf[k - 1]) / span : 0)) * kPi / MpTable::kSteps;
  return t.a + (t.b - t.a) * (1 - std::cos(th)) / 2;
}

}  // namespace

double marchenko_pastur_cdf(double q, double x) { return table_cdf(mp_table(q), x); }
double marchenko_pastur_quantile(double q, double u) { return table_quantile(mp_table(q), u); }

double random_mp_ks(std::int64_t min_dim) {
  return 0.45 / std::sqrt(static_cast<double>(std::max<std::int64_t>(min_dim, 1)));
}

void compare_to_random(Spectrum& s, std::int64_t rows, std::int64_t cols) {
  s.mp_ks = 0;
  s.mp_entropy = 0;
  s.trainedness = 0;
  const std::size_t m = s.singular_values.size();
  const std::int64_t big = std::max(rows, cols);
  if (m == 0 || big <= 0) return;
  const double q = static_cast<double>(m) / static_cast<double>(big);
  const MpTable t = mp_table(q);
  std::vector<double> lam(m);
  double mean = 0;
  for (std::size_t i = 0; i < m; ++i) mean += lam[i] = s.singular_values[i] * s.singular_values[i];
  mean /= static_cast<double>(m);
  std::vector<double> sigma(m);
  double total = 0;
  for (std::size_t i = 0; i < m; ++i) {
    sigma[i] = std::sqrt(table_quantile(t, (static_cast<double>(i) + 0.5) / static_cast<double>(m)));
    total += sigma[i];
  }
  for (double v : sigma)
    if (v > 0) s.mp_entropy -= v / total * std::log(v / total);
  if (!(mean > 0)) return;  // an all-zero matrix has no spectrum to compare
  std::sort(lam.begin(), lam.end());
  const double n = static_cast<double>(m);
  for (std::size_t i = 0; i < m; ++i) {
    const double f = table_cdf(t, lam[i] / mean);
    s.mp_ks = std::max({s.mp_ks, std::fabs(f - (static_cast<double>(i) + 1) / n),
                        std::fabs(f - static_cast<double>(i) / n)});
  }
  s.trainedness = std::clamp((s.mp_ks - random_mp_ks(static_cast<std::int64_t>(m))) / 0.2, 0.0, 1.0);
}

}  // namespace sonify::analysis
