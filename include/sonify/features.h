// What the analysis core measures in a model's frozen weights (WeightFeatures), as plain
// values that genres read and that serialise to JSON and back without loss. No Eigen here.
// The field meanings, units and conventions are documented in doc/features.md.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sonify/result.h"

namespace sonify {

// Moments of a set of values, computed in double. std is the population std (ddof 0),
// skewness the biased g1 and kurtosis the biased Fisher (excess) kurtosis, as
// scipy.stats.skew/kurtosis compute them (constant data, where scipy gives NaN: 0 and 0).
struct Moments {
  double mean = 0;
  double std = 0;
  double skewness = 0;
  double kurtosis = 0;
  double min = 0;
  double max = 0;
};

// Spectrum of one matrix: all min(rows, cols) singular values and their summaries.
struct Spectrum {
  std::string method;  // "exact" (double SVD), "gram" (eigenvalues of the Gram matrix) or "fast"
  // "fast" only: the leading fast_top values are measured (relative error estimated at most
  // fast_top_error), the others are quantiles of an estimated density whose KS distance from
  // the true one is estimated at fast_bulk_error.
  std::int64_t fast_top = 0;
  double fast_top_error = 0;
  double fast_bulk_error = 0;
  double accuracy_floor = 0;  // absolute error bound of each σ; σ below it have no relative accuracy
  std::vector<double> singular_values;  // descending
  double sigma_max = 0;
  double stable_rank = 0;       // ||W||_F^2 / σ1^2 (0 for an all-zero matrix)
  double spectral_entropy = 0;  // -Σ p ln p with p = σ/Σσ, in nats (0 for all-zero)
  double effective_rank = 0;    // exp(spectral_entropy); 0 for an all-zero matrix
  double condition_number = 0;  // σ1/σmin; 0 when σmin <= accuracy_floor (singular)
  double alpha = 0;             // power-law exponent of the tail of λ = σ² (0: no fit)
  double alpha_xmin = 0;        // the λ where the tail starts (KS-minimising xmin)
  int alpha_tail = 0;           // how many λ ≥ alpha_xmin the fit used
  double alpha_ks = 0;          // Kolmogorov-Smirnov distance of that fit
  // Distance from a random matrix of the same shape (doc/features.md, "trained-ness"):
  double mp_ks = 0;        // KS distance of λ/mean(λ) from the Marchenko–Pastur law of ratio min/max
  double mp_entropy = 0;   // spectral_entropy of the MP law's quantiles (what an iid matrix would give)
  double trainedness = 0;  // 0..1: (mp_ks - 0.45/sqrt(min dim)) / 0.2, clamped (0 = iid random)
};

// WeightWatcher's per-layer metrics under its column names, computed as its published code
// does with default parameters (doc/weightwatcher.md). N = max(rows, cols), M = min; the
// eigenvalues are those of WᵀW (σ², not divided by N). A failed power-law fit gives -1 in
// alpha, xmin, xmax, D, sigma and num_pl_spikes (WeightWatcher's convention).
struct WeightWatcherMetrics {
  std::int64_t N = 0;
  std::int64_t M = 0;
  std::int64_t num_evals = 0;
  double lambda_max = 0;
  double alpha = -1;                // continuous power-law MLE over the tail λ ≥ xmin
  double xmin = -1;                 // the candidate minimising D
  double xmax = -1;                 // largest eigenvalue above 1e-5
  double D = -1;                    // KS distance of the fit
  double sigma = -1;                // (alpha - 1)/sqrt(tail size)
  std::int64_t num_pl_spikes = -1;  // eigenvalues ≥ xmin
  std::string status;               // "success" or "failed"
  std::string warning;              // "over-trained" (alpha < 2), "under-trained" (> 6) or ""
  double log_norm = 0;              // log10 Σλ = log10 ||W||_F²
  double log_spectral_norm = 0;     // log10 λmax
  double alpha_weighted = 0;        // alpha · log10 λmax
  double log_alpha_norm = 0;        // log10 Σ λ^alpha
  double stable_rank = 0;           // Σλ / λmax
  std::int64_t matrix_rank = 0;     // σ above max σ · N · eps
  double matrix_entropy = 0;        // -Σ p ln p / ln rank, p = λ/Σλ (+1e-10)
  std::int64_t num_spikes = 0;      // eigenvalues above the fitted MP bulk edge + Tracy–Widom
  double sigma_mp = 0;              // fitted MP scale of the rescaled ESD
  double mp_softrank = 0;           // bulk edge / λmax of the rescaled ESD
  double bulk_min = 0;              // MP bulk edges in the units of λ
  double bulk_max = 0;
  double W_scale = 0;  // sqrt(M / Σλ): the rescaling applied before the MP fit
};

// One 2-D weight in nn.Linear layout [rows = out, cols = in].
struct MatrixFeatures {
  int layer = -1;      // -1 for model-level tensors (embeddings, lm_head)
  std::string role;    // role_name(): "q", "down", "embed", ...
  std::string tensor;  // the stored tensor it comes from
  std::int64_t rows = 0;
  std::int64_t cols = 0;
  double frobenius = 0;
  Moments moments;
  double p02 = 0;  // 2nd and 98th percentiles (numpy linear interpolation)
  double p98 = 0;
  std::vector<std::int64_t> histogram;  // equal bins over [p02, p98], numpy.histogram rules
  double bimodality = 0;                // Sarle's coefficient (g1² + 1) / (g2 + 3(n-1)²/((n-2)(n-3)))
  double heavy_tail_index = 0;          // Hill estimate of the α-stable index of |w - mean|, in (0, 2]
  std::vector<float> row_norms;         // L2 norm of each row (length rows)
  std::vector<float> col_norms;         // L2 norm of each column (length cols)
  Spectrum spectrum;
  WeightWatcherMetrics weightwatcher;
};

// One 1-D weight: a norm gain (γ) or a bias.
struct VectorFeatures {
  int layer = -1;
  std::string role;  // "attn_norm", "q", ...
  std::string part;  // "weight" or "bias"
  std::string tensor;
  double gain_offset = 0;     // norm weights: the model applies offset + value (Gemma: 1)
  std::vector<float> values;  // as stored in the checkpoint
  Moments moments;            // of the stored values
  double l2 = 0;              // Euclidean norm of the stored values
};

// Change between consecutive layers of the same matrix role (layer - 1 → layer).
struct LayerTransition {
  std::string role;
  int from_layer = 0;
  int to_layer = 0;
  double wasserstein1 = 0;    // W1 distance of the two weight distributions
  double spectral_delta = 0;  // ||σ_to - σ_from||₂ / ||σ_from||₂ (0 when σ_from is all zero)
};

// Key of the model, from PCA of the per-layer attention-norm gains (doc/features.md).
struct Tonality {
  std::string source;          // "pca", "mean_gain" (one layer or identical layers) or "flat"
  int root = 0;                // pitch class, 0 = C
  std::string root_name;       // "C", "C#", ...
  int root_midi = 48;          // root in the octave C3..B3
  std::string mode;            // lydian, major, mixolydian, dorian, natural_minor, harmonic_minor, phrygian
  double key_correlation = 0;  // Pearson correlation of the chroma with the winning key profile
  std::vector<double> chroma;  // 12 pitch-class weights (sum 1, or all 0 when flat)
  std::vector<double> explained_variance_ratio;  // of up to 3 components
  double shape_skewness = 0;                     // skewness of the component that decided the mode
  double shape_kurtosis = 0;
};

// Everything the genres know about a model's weights.
struct WeightFeatures {
  static constexpr int kFormatVersion = 4;
  int format_version = kFormatVersion;
  std::string model_path;
  std::string family;
  int n_layers = 0;
  int hidden_size = 0;
  std::string checkpoint_id;  // identity of the analysed files (sizes, mtimes, header hash)
  int histogram_bins = 32;
  std::string svd_option;                    // "auto", "exact", "gram" or "fast"
  std::uint64_t svd_seed = 0;                // seed of the "fast" spectra (written only with some)
  std::vector<MatrixFeatures> matrices;      // in Model::tensors() order (tied lm_head omitted)
  std::vector<VectorFeatures> vectors;       // in Model::tensors() order
  std::vector<LayerTransition> transitions;  // per role, in layer order
  std::vector<double> tension;  // per layer: mean ||q,k,v,o||_F / (mean ||gate,up,down||_F + 1e-9)
  // How far the spectra are from random, 0..1: per layer the mean spectrum.trainedness of
  // its matrices, and the mean over every matrix of at least 8 rows and columns.
  std::vector<double> layer_trainedness;
  double trainedness = 0;
  Tonality tonality;
  // Tensors left out because they hold NaN or Inf (AnalyzeOptions::allow_nonfinite), with
  // the number of such values; empty for a finite model.
  std::vector<std::pair<std::string, std::int64_t>> skipped_nonfinite;

  // The matrix of (layer, role), or nullptr. role "lm_head" of a tied model gives the embedding.
  const MatrixFeatures* matrix(int layer, std::string_view role) const;
  // The vector of (layer, role, part), or nullptr.
  const VectorFeatures* vector(int layer, std::string_view role, std::string_view part = "weight") const;
};

// Serialises to JSON (doubles written with round-trip precision: from_json gives back
// exactly the same values).
std::string features_to_json(const WeightFeatures& features);

// Parses what features_to_json wrote. `what` names the source in errors.
Result<WeightFeatures> features_from_json(std::string_view text, const std::string& what);

}  // namespace sonify
