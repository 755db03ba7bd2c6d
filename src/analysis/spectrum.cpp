#include "spectrum.h"

#include <Eigen/Dense>
#include <Eigen/SVD>
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

namespace sonify::analysis {
namespace {

using RowMatrixF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

}  // namespace

bool uses_gram(SvdMethod method, std::int64_t rows, std::int64_t cols) {
  switch (method) {
    case SvdMethod::Exact:
      return false;
    case SvdMethod::Gram:
      return true;
    case SvdMethod::Auto:
      return std::min(rows, cols) >= kGramMinDim;
  }
  return false;
}

std::int64_t gram_order(std::int64_t rows, std::int64_t cols) { return std::min(rows, cols); }

std::int64_t gram_slices(std::int64_t rows, std::int64_t cols) {
  const std::int64_t length = std::max(rows, cols);
  return std::max<std::int64_t>(1, (length + kGramSlice - 1) / kGramSlice);
}

std::vector<double> gram_slice(const float* w, std::int64_t rows, std::int64_t cols, std::int64_t slice) {
  Eigen::Map<const RowMatrixF> W(w, rows, cols);
  const std::int64_t order = gram_order(rows, cols);
  const std::int64_t length = std::max(rows, cols);
  const std::int64_t begin = slice * kGramSlice;
  const std::int64_t count = std::min(kGramSlice, length - begin);
  Eigen::MatrixXf g = Eigen::MatrixXf::Zero(order, order);
  if (count > 0) {
    if (rows >= cols)
      g.selfadjointView<Eigen::Lower>().rankUpdate(W.middleRows(begin, count).transpose());
    else
      g.selfadjointView<Eigen::Lower>().rankUpdate(W.middleCols(begin, count));
  }
  std::vector<double> out(static_cast<std::size_t>(order * order), 0.0);
  for (std::int64_t c = 0; c < order; ++c)
    for (std::int64_t r = c; r < order; ++r) out[static_cast<std::size_t>(c * order + r)] = g(r, c);
  return out;
}

std::int64_t gram_groups(std::int64_t rows, std::int64_t cols) {
  return (gram_slices(rows, cols) + kGramGroup - 1) / kGramGroup;
}

std::vector<double> gram_group(const float* w, std::int64_t rows, std::int64_t cols, std::int64_t group) {
  const std::int64_t end = std::min(gram_slices(rows, cols), (group + 1) * kGramGroup);
  std::vector<double> sum = gram_slice(w, rows, cols, group * kGramGroup);
  for (std::int64_t k = group * kGramGroup + 1; k < end; ++k) {
    const std::vector<double> part = gram_slice(w, rows, cols, k);
    for (std::size_t i = 0; i < part.size(); ++i) sum[i] += part[i];
  }
  return sum;
}

std::vector<double> gram_matrix(const float* w, std::int64_t rows, std::int64_t cols) {
  std::vector<double> sum = gram_group(w, rows, cols, 0);
  for (std::int64_t g = 1; g < gram_groups(rows, cols); ++g) {
    const std::vector<double> part = gram_group(w, rows, cols, g);
    for (std::size_t i = 0; i < part.size(); ++i) sum[i] += part[i];
  }
  return sum;
}

std::vector<double> singular_values_from_gram(std::vector<double> gram, std::int64_t order) {
  if (order == 0) return {};
  Eigen::Map<Eigen::MatrixXd> G(gram.data(), order, order);
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(G, Eigen::EigenvaluesOnly);
  const Eigen::VectorXd& lambda = es.eigenvalues();  // ascending
  std::vector<double> sv(static_cast<std::size_t>(order));
  for (std::int64_t i = 0; i < order; ++i)
    sv[static_cast<std::size_t>(i)] = std::sqrt(std::max(0.0, lambda(order - 1 - i)));
  return sv;
}

std::vector<double> singular_values_exact(const float* w, std::int64_t rows, std::int64_t cols) {
  if (rows == 0 || cols == 0) return {};
  Eigen::Map<const RowMatrixF> W(w, rows, cols);
  Eigen::MatrixXd d = W.cast<double>();
  if (rows < cols) d.transposeInPlace();  // tall: BDCSVD's bidiagonalisation is cheaper
  Eigen::BDCSVD<Eigen::MatrixXd> svd(d);
  const Eigen::VectorXd& s = svd.singularValues();  // descending, non-negative
  return std::vector<double>(s.data(), s.data() + s.size());
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
  double best_d = std::numeric_limits<double>::infinity();
  for (std::size_t j = 0; j + kMinTail <= n; ++j) {
    if (j > 0 && x[j] == x[j - 1]) continue;  // each distinct value once
    const double xmin = x[j];
    const double tail = static_cast<double>(n - j);
    const double sum_log = suffix_log[j] - tail * std::log(xmin);
    if (!(sum_log > 0)) continue;
    const double alpha = 1 + tail / sum_log;
    double d = 0;
    for (std::size_t i = j; i < n; ++i) {
      const double cdf = 1 - std::pow(x[i] / xmin, 1 - alpha);
      const double k = static_cast<double>(i - j);
      d = std::max(d, std::max(std::fabs(cdf - k / tail), std::fabs(cdf - (k + 1) / tail)));
    }
    if (d < best_d) {
      best_d = d;
      s.alpha = alpha;
      s.alpha_xmin = xmin;
      s.alpha_tail = static_cast<int>(n - j);
      s.alpha_ks = d;
    }
  }
}

}  // namespace sonify::analysis
