#include "tonality.h"

#include <array>
#include <cmath>

#include "sonify/activation_stats.h"
#include "sonify/scale.h"

namespace sonify::analysis {
namespace {

// Krumhansl-Kessler key profiles (probe-tone ratings), tonic first.
constexpr std::array<double, 12> kMajor = {6.35, 2.23, 3.48, 2.33, 4.38, 4.09,
                                           2.52, 5.19, 2.39, 3.66, 2.29, 2.88};
constexpr std::array<double, 12> kMinor = {6.33, 2.68, 3.52, 5.38, 2.60, 3.53,
                                           2.54, 4.75, 3.98, 2.69, 3.34, 3.17};

double correlation(const std::vector<double>& a, const std::array<double, 12>& profile, int root) {
  double ma = 0, mb = 0;
  for (int c = 0; c < 12; ++c) ma += a[c], mb += profile[c];
  ma /= 12, mb /= 12;
  double sab = 0, saa = 0, sbb = 0;
  for (int c = 0; c < 12; ++c) {
    const double x = a[c] - ma, y = profile[(c - root + 12) % 12] - mb;
    sab += x * y, saa += x * x, sbb += y * y;
  }
  return saa > 0 && sbb > 0 ? sab / std::sqrt(saa * sbb) : 0;
}

// Biased skewness and excess kurtosis of v (0, 0 when constant).
void shape_of(const std::vector<double>& v, double* skew, double* kurt) {
  double m = 0;
  for (double x : v) m += x;
  m /= static_cast<double>(v.size());
  double m2 = 0, m3 = 0, m4 = 0;
  for (double x : v) {
    const double d = x - m;
    m2 += d * d, m3 += d * d * d, m4 += d * d * d * d;
  }
  const double n = static_cast<double>(v.size());
  m2 /= n, m3 /= n, m4 /= n;
  const bool flat = m2 <= (1e-15 * m) * (1e-15 * m) || m2 == 0;
  *skew = flat ? 0 : m3 / std::pow(m2, 1.5);
  *kurt = flat ? 0 : m4 / (m2 * m2) - 3;
}

// Key from per-channel weights `energy` (folded onto 12 pitch classes by channel index)
// and the shape statistics of `shape`.
void decide_key(const std::vector<double>& energy, const std::vector<double>& shape, Tonality& t) {
  t.chroma.assign(12, 0.0);
  // Mean, not sum, per pitch class: when the width is not a multiple of 12 the first
  // classes get one channel more, and summing would bias every model towards the keys
  // that favour them (three fixtures all came out in B before this).
  std::array<double, 12> count{};
  for (std::size_t j = 0; j < energy.size(); ++j) t.chroma[j % 12] += energy[j], count[j % 12] += 1;
  for (int c = 0; c < 12; ++c)
    if (count[c] > 0) t.chroma[c] /= count[c];
  double total = 0;
  for (double c : t.chroma) total += c;
  if (total > 0)
    for (double& c : t.chroma) c /= total;
  bool minor = false;
  t.root = 0;
  t.key_correlation = -2;
  for (int family = 0; family < 2; ++family)
    for (int root = 0; root < 12; ++root) {
      const double r = correlation(t.chroma, family == 0 ? kMajor : kMinor, root);
      if (r > t.key_correlation) t.key_correlation = r, t.root = root, minor = family == 1;
    }
  shape_of(shape, &t.shape_skewness, &t.shape_kurtosis);
  const double g1 = t.shape_skewness;
  if (!minor)
    t.mode = g1 > 0.1 ? "lydian" : g1 < -0.1 ? "mixolydian" : "major";
  else
    t.mode = g1 > 0.1               ? "dorian"
             : g1 < -0.1            ? "phrygian"
             : t.shape_kurtosis > 3 ? "harmonic_minor"
                                    : "natural_minor";
}

void finish(Tonality& t) {
  t.root_name = pitch_class_name(t.root);
  t.root_midi = 48 + t.root;
}

}  // namespace

Tonality tonality_from_gains(const std::vector<std::vector<double>>& gains) {
  Tonality t;
  t.source = "flat";
  t.mode = "major";
  t.chroma.assign(12, 0.0);
  const std::size_t layers = gains.size();
  const std::size_t width = layers ? gains[0].size() : 0;
  if (width == 0) return finish(t), t;

  if (layers >= 2) {
    std::vector<double> data;
    for (const auto& g : gains) data.insert(data.end(), g.begin(), g.end());
    auto pca = pca_fit(data, layers, width, std::min<std::size_t>(3, std::min(layers, width)));
    if (pca.ok() && !pca->components.empty() && pca->explained_variance[0] > 0) {
      t.source = "pca";
      t.explained_variance_ratio = pca->explained_variance_ratio;
      // Orient each component so that layer scores grow with depth (the PCA sign is
      // otherwise a library convention).
      auto scores = pca_transform(*pca, data, layers);
      const std::size_t k = pca->components.size();
      for (std::size_t c = 0; c < k; ++c) {
        double trend = 0;
        for (std::size_t l = 0; l < layers; ++l)
          trend += (static_cast<double>(l) - (layers - 1) / 2.0) * (*scores)[l * k + c];
        if (trend < 0)
          for (double& v : pca->components[c]) v = -v;
      }
      // Chroma: how much each channel's gain varies across layers (the diagonal of the
      // covariance), folded onto pitch classes. Mode: shape of the second component.
      std::vector<double> variance(width, 0.0);
      for (std::size_t j = 0; j < width; ++j)
        for (std::size_t l = 0; l < layers; ++l) {
          const double d = gains[l][j] - pca->mean[j];
          variance[j] += d * d;
        }
      const bool second = k >= 2 && pca->explained_variance[1] > 1e-12 * pca->explained_variance[0];
      decide_key(variance, pca->components[second ? 1 : 0], t);
      return finish(t), t;
    }
  }
  // One layer, or all layers identical: the centred mean gain vector.
  std::vector<double> mean(width, 0.0);
  for (const auto& g : gains)
    for (std::size_t j = 0; j < width; ++j) mean[j] += g[j] / static_cast<double>(layers);
  double centre = 0;
  for (double v : mean) centre += v / static_cast<double>(width);
  double norm = 0;
  for (double& v : mean) v -= centre, norm += v * v;
  norm = std::sqrt(norm);
  if (!(norm > 1e-12 * std::fabs(centre)) || norm == 0) return finish(t), t;
  std::vector<double> energy(width);
  for (std::size_t j = 0; j < width; ++j) energy[j] = mean[j] * mean[j];
  t.source = "mean_gain";
  decide_key(energy, mean, t);
  return finish(t), t;
}

}  // namespace sonify::analysis
