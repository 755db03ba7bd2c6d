#include "sonify/activation_stats.h"

#include <Eigen/Dense>
#include <Eigen/SVD>
#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

namespace sonify {

Result<AttentionEntropy> attention_entropy(const std::vector<float>& probs, std::size_t heads,
                                           std::size_t queries, std::size_t keys) {
  if (heads == 0 || queries == 0 || keys == 0)
    return fail("attention_entropy: empty shape [", heads, ", ", queries, ", ", keys, "]");
  if (probs.size() != heads * queries * keys)
    return fail("attention_entropy: ", probs.size(), " values do not make [", heads, ", ", queries, ", ",
                keys, "]");
  AttentionEntropy out;
  for (std::size_t h = 0; h < heads; ++h) {
    double sum = 0;
    for (std::size_t q = 0; q < queries; ++q) {
      const float* row = probs.data() + (h * queries + q) * keys;
      double e = 0;
      for (std::size_t k = 0; k < keys; ++k) {
        const double p = std::clamp<double>(row[k], 1e-12, 1.0);
        e -= p * std::log(p);
      }
      sum += e;
    }
    out.per_head.push_back(sum / static_cast<double>(queries));
    out.mean += out.per_head.back() / static_cast<double>(heads);
  }
  return out;
}

Result<HiddenNorms> hidden_state_norms(const std::vector<float>& hidden, std::size_t tokens,
                                       std::size_t width) {
  if (hidden.size() != tokens * width)
    return fail("hidden_state_norms: ", hidden.size(), " values do not make [", tokens, ", ", width, "]");
  HiddenNorms out;
  for (std::size_t t = 0; t < tokens; ++t) {
    double s = 0;
    for (std::size_t j = 0; j < width; ++j) s += double(hidden[t * width + j]) * hidden[t * width + j];
    out.per_token.push_back(std::sqrt(s));
    out.mean += out.per_token.back() / static_cast<double>(tokens);
    out.max = std::max(out.max, out.per_token.back());
  }
  return out;
}

double mlp_sparsity(const std::vector<float>& activations, double threshold) {
  if (activations.empty()) return 0;
  std::size_t below = 0;
  for (float a : activations) below += std::fabs(double(a)) < threshold;
  return static_cast<double>(below) / static_cast<double>(activations.size());
}

Result<Pca> pca_fit(const std::vector<double>& data, std::size_t samples, std::size_t features,
                    std::size_t k) {
  if (samples < 2 || features == 0) return fail("pca_fit: need at least 2 samples and 1 feature");
  if (data.size() != samples * features)
    return fail("pca_fit: ", data.size(), " values do not make [", samples, ", ", features, "]");
  k = std::min({k, samples, features});
  if (k == 0) return fail("pca_fit: no components requested");
  using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Eigen::Map<const RowMatrix> X(data.data(), static_cast<Eigen::Index>(samples),
                                static_cast<Eigen::Index>(features));
  const Eigen::RowVectorXd mean = X.colwise().mean();
  const Eigen::MatrixXd centred = X.rowwise() - mean;
  Eigen::BDCSVD<Eigen::MatrixXd> svd(centred, Eigen::ComputeThinU | Eigen::ComputeThinV);
  Eigen::MatrixXd U = svd.matrixU();
  Eigen::MatrixXd V = svd.matrixV();
  const Eigen::VectorXd& S = svd.singularValues();
  // scikit-learn's svd_flip (u-based): the largest-|value| entry of each U column > 0.
  for (Eigen::Index c = 0; c < U.cols(); ++c) {
    Eigen::Index at = 0;
    U.col(c).cwiseAbs().maxCoeff(&at);
    if (U(at, c) < 0) U.col(c) *= -1, V.col(c) *= -1;
  }
  Pca pca;
  pca.n_features = features;
  pca.mean.assign(mean.data(), mean.data() + features);
  double total = 0;
  for (Eigen::Index i = 0; i < S.size(); ++i) total += S(i) * S(i) / static_cast<double>(samples - 1);
  for (std::size_t c = 0; c < k; ++c) {
    const Eigen::Index ci = static_cast<Eigen::Index>(c);
    std::vector<double> row(features);
    for (std::size_t j = 0; j < features; ++j) row[j] = V(static_cast<Eigen::Index>(j), ci);
    pca.components.push_back(std::move(row));
    const double ev = S(ci) * S(ci) / static_cast<double>(samples - 1);
    pca.explained_variance.push_back(ev);
    pca.explained_variance_ratio.push_back(total > 0 ? ev / total : 0);
    pca.singular_values.push_back(S(ci));
  }
  return pca;
}

Result<std::vector<double>> pca_transform(const Pca& pca, const std::vector<double>& data,
                                          std::size_t samples) {
  const std::size_t f = pca.n_features, k = pca.components.size();
  if (data.size() != samples * f)
    return fail("pca_transform: ", data.size(), " values do not make [", samples, ", ", f, "]");
  std::vector<double> out(samples * k, 0.0);
  for (std::size_t s = 0; s < samples; ++s)
    for (std::size_t c = 0; c < k; ++c) {
      double v = 0;
      for (std::size_t j = 0; j < f; ++j) v += (data[s * f + j] - pca.mean[j]) * pca.components[c][j];
      out[s * k + c] = v;
    }
  return out;
}

std::string pca_to_json(const Pca& pca) {
  nlohmann::ordered_json j;
  j["n_features"] = pca.n_features;
  j["mean"] = pca.mean;
  j["components"] = pca.components;
  j["explained_variance"] = pca.explained_variance;
  j["explained_variance_ratio"] = pca.explained_variance_ratio;
  j["singular_values"] = pca.singular_values;
  return j.dump();
}

Result<Pca> pca_from_json(std::string_view text, const std::string& what) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail(what, ": not a PCA JSON object");
  try {
    Pca pca;
    pca.n_features = j.at("n_features").get<std::size_t>();
    pca.mean = j.at("mean").get<std::vector<double>>();
    pca.components = j.at("components").get<std::vector<std::vector<double>>>();
    pca.explained_variance = j.at("explained_variance").get<std::vector<double>>();
    pca.explained_variance_ratio = j.at("explained_variance_ratio").get<std::vector<double>>();
    pca.singular_values = j.at("singular_values").get<std::vector<double>>();
    if (pca.mean.size() != pca.n_features) return fail(what, ": mean has the wrong length");
    for (const auto& c : pca.components)
      if (c.size() != pca.n_features) return fail(what, ": a component has the wrong length");
    return pca;
  } catch (const nlohmann::json::exception& e) {
    return fail(what, ": bad PCA JSON (", e.what(), ")");
  }
}

}  // namespace sonify
