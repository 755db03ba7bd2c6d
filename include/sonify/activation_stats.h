// Statistics of runtime activations (attention maps, hidden states, MLP outputs) and a
// PCA that can be fitted once, saved, loaded and applied later. Plain values; Eigen
// stays in src/analysis. Inputs are row-major float arrays.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "sonify/result.h"

namespace sonify {

// Entropy of attention distributions of one layer, in nats (natural log).
struct AttentionEntropy {
  std::vector<double> per_head;  // mean over query rows of -Σ p ln p
  double mean = 0;               // mean over heads
};

// probs is [heads, queries, keys]; each row is a distribution (not renormalised).
// p is clipped to [1e-12, 1] before the log, as the reference notebook does (a zero
// probability contributes 2.8e-11 instead of 0). Fails on an empty or inconsistent shape.
Result<AttentionEntropy> attention_entropy(const std::vector<float>& probs, std::size_t heads,
                                           std::size_t queries, std::size_t keys);

// L2 norms of hidden states: one per token.
struct HiddenNorms {
  std::vector<double> per_token;
  double mean = 0;
  double max = 0;
};

// hidden is [tokens, width].
Result<HiddenNorms> hidden_state_norms(const std::vector<float>& hidden, std::size_t tokens,
                                       std::size_t width);

// Fraction of |a| < threshold (0 for an empty input).
double mlp_sparsity(const std::vector<float>& activations, double threshold);

// A fitted PCA (centred; components are unit rows, sign fixed as in scikit-learn 1.2:
// the largest-|value| entry of each column of U is positive).
struct Pca {
  std::size_t n_features = 0;
  std::vector<double> mean;                      // n_features
  std::vector<std::vector<double>> components;   // k rows of n_features
  std::vector<double> explained_variance;        // k, ddof 1 as scikit-learn
  std::vector<double> explained_variance_ratio;  // k
  std::vector<double> singular_values;           // k
};

// Fits k components on data [samples, features] (k is capped at min(samples, features)).
Result<Pca> pca_fit(const std::vector<double>& data, std::size_t samples, std::size_t features,
                    std::size_t k);

// Projects data [samples, n_features] → [samples, k].
Result<std::vector<double>> pca_transform(const Pca& pca, const std::vector<double>& data,
                                          std::size_t samples);

// JSON round trip (exact).
std::string pca_to_json(const Pca& pca);
Result<Pca> pca_from_json(std::string_view text, const std::string& what);

}  // namespace sonify
