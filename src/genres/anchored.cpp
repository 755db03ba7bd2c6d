// The anchored and relative mappings the genres share (genre_util.h).
#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <sstream>

#include "genre_util.h"

namespace sonify::genres {

double anchor01(double x, double lo, double hi) {
  if (!(hi > lo) || !std::isfinite(x)) return 0;
  return std::clamp((x - lo) / (hi - lo), 0.0, 1.0);
}

double anchor_log01(double x, double lo, double hi) {
  if (!(x > 0) || !(lo > 0) || !(hi > lo)) return 0;
  return anchor01(std::log(x), std::log(lo), std::log(hi));
}

double alpha_anchor(double alpha) { return alpha > 0 ? 1 - anchor01(alpha, 2, 8) : 0; }

double kurtosis_anchor(double kurtosis) {
  return std::clamp(std::log1p(std::max(kurtosis, 0.0)) / std::log1p(30.0), 0.0, 1.0);
}

double entropy_anchor(const Spectrum& s) {
  if (!(s.mp_entropy > 0)) return 0;
  return anchor01((s.mp_entropy - s.spectral_entropy) / s.mp_entropy, 0, 0.25);
}

std::vector<double> ranks01(const std::vector<double>& x) {
  const std::size_t n = x.size();
  std::vector<double> out(n, 0.5);
  if (n < 2) return out;
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return x[a] < x[b]; });
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i;
    while (j + 1 < n && x[order[j + 1]] == x[order[i]]) ++j;
    const double r = 0.5 * static_cast<double>(i + j) / static_cast<double>(n - 1);
    for (std::size_t k = i; k <= j; ++k) out[order[k]] = r;
    i = j + 1;
  }
  return out;
}

std::vector<double> blend(const std::vector<double>& absolute, const std::vector<double>& values,
                          double w_abs) {
  const std::vector<double> r = ranks01(values);
  std::vector<double> out(values.size(), 0.0);
  for (std::size_t i = 0; i < values.size(); ++i)
    out[i] = w_abs * (i < absolute.size() ? absolute[i] : 0.0) + (1 - w_abs) * r[i];
  return out;
}

std::string stat_text(const std::string& name, double value) {
  std::ostringstream os;
  os.precision(3);
  os << name << "=" << value;
  return os.str();
}

std::vector<int> voice_lead(const std::vector<int>& pcs, const std::vector<int>& prev, int lo, int hi,
                            int max_span) {
  std::vector<std::vector<int>> cand(pcs.size());
  for (std::size_t i = 0; i < pcs.size(); ++i)
    for (int p = lo; p <= hi; ++p)
      if (((p % 12) + 12) % 12 == pcs[i]) cand[i].push_back(p);
  std::vector<int> best, cur(pcs.size());
  double best_cost = 1e18;
  std::function<void(std::size_t)> rec = [&](std::size_t i) {
    if (i == pcs.size()) {
      std::vector<int> v = cur;
      std::sort(v.begin(), v.end());
      for (std::size_t k = 1; k < v.size(); ++k)
        if (v[k] == v[k - 1]) return;
      if (v.back() - v.front() > max_span) return;
      double cost = 0;
      if (prev.empty()) {
        cost = std::abs(v.front() - (lo + 3)) + 0.1 * (v.back() - v.front());
      } else {
        for (std::size_t k = 0; k < v.size() && k < prev.size(); ++k) cost += std::abs(v[k] - prev[k]);
      }
      cost += 0.01 * v.front();  // deterministic tie-break: lower
      if (cost < best_cost) best_cost = cost, best = v;
      return;
    }
    for (int p : cand[i]) {
      cur[i] = p;
      rec(i + 1);
    }
  };
  rec(0);
  return best;
}

}  // namespace sonify::genres
