// Helpers the genre files share: parameter blocks, per-layer statistics, scales and
// keys, provenance. Internal to src/genres.
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "sonify/genres.h"
#include "sonify/scale.h"

namespace sonify::genres {

// A bound for counts, lengths and ticks converted from features: far beyond any music,
// well inside int.
constexpr int kIntMax = 1 << 24;

// Feature-derived doubles to int, rounded to nearest or truncated towards zero, clamped
// to [lo, hi] through to_int_clamped: defined for NaN, ±Inf and 1e300 alike.
inline int round_int(double x, int lo, int hi) { return to_int_clamped(std::round(x), lo, hi); }
inline int trunc_int(double x, int lo, int hi) { return to_int_clamped(x, lo, hi); }

// The genres (one file each).
Genre acid_genre();
Genre house_genre();
Genre suite_genre();
Genre opera_genre();

// Parameters every genre has: bpm, bars (0 = the genre's own length), root, mode,
// pitch_lo/pitch_hi (range of the main melodic voice), max_minutes (warning threshold).
std::vector<ParamSpec> common_params(double bpm, const std::string& mode_default, int pitch_lo, int pitch_hi);

// (x - min) / (max - min + 1e-9); a constant or empty vector gives zeros.
std::vector<double> norm01(const std::vector<double>& x);

// 0.5 + 0.5·tanh((x - median) / (2 · 1.4826 · MAD)): a 0..1 spread that one outlier row
// (common in trained models) cannot squash the way it squashes norm01. MAD 0: norm01.
std::vector<double> robust01(const std::vector<double>& x);

// `n` values of `v` at rows floor(i * size / n) (all of v, padded with 0, when shorter).
std::vector<double> strided(const std::vector<float>& v, int n);

// A statistic of one matrix role per layer (0 where the layer lacks the role), and the
// tensors it read. `fallback` is used for layers where `role` is missing.
struct LayerSeries {
  std::vector<double> values;
  std::vector<std::string> tensors;
  std::string role;  // the role that was found first ("gate", or "up" for GPT-2)
};
LayerSeries layer_series(const WeightFeatures& f, const std::vector<std::string>& roles,
                         const std::function<double(const MatrixFeatures&)>& stat);

// Mean of log1p(σ) over the top 16 singular values relative to log1p(σ1): how fast the
// spectrum decays (1 = flat), the non-degenerate replacement for norm01(sorted σ)[0].
double spectral_decay(const MatrixFeatures& m);

// The key a genre writes in: root pitch class and register from the tonality (or the
// `root` parameter), mode from the tonality (or the `mode` parameter, or `fixed`).
struct Key {
  int root_pc = 0;
  int root_midi = 48;  // root in C3..B3
  Mode mode = Mode::major;
};
Result<Key> resolve_key(const WeightFeatures& f, const GenreParams& p);

// Adds "the result is N minutes long" to warnings when over max_minutes.
void warn_length(GenreOutput& out, const GenreParams& p);

// Section with its scale; also writes the marker and (if it changes) the key signature.
void add_section(GenreOutput& out, const std::string& name, int first_bar, int end_bar, int root_pc,
                 Mode mode);

// Tick of the start of `bar` (4/4) plus `beats`.
inline std::int64_t bar_tick(const Score& s, int bar, double beats = 0) { return s.ticks(4.0 * bar + beats); }

// Tensor names of role at layer (empty when missing).
std::string tensor_of(const WeightFeatures& f, int layer, const std::string& role);

}  // namespace sonify::genres

namespace sonify::genres {

// Shortens every note that would still sound when the same pitch starts again on the
// track (and drops a repeat at the same tick), so no two identical notes overlap.
void fix_overlaps(Track& track);

// log1p(σ_j) of matrix (layer, role) for j in `indices` (missing σ: 0), per layer, each
// index normalised over the layers with norm01: where a layer's spectrum sits among the
// model's layers, not where σ1 sits in its own sorted spectrum (always at the top).
std::vector<std::vector<double>> spectrum_across_layers(const WeightFeatures& f, const std::string& role,
                                                        const std::vector<int>& indices,
                                                        std::vector<std::string>* tensors);

}  // namespace sonify::genres

namespace sonify::genres {

// Anchored scales: a statistic read against a fixed scale that means the same for every
// model, so that absolute differences (trained vs random, one model vs another of the
// same depth) survive; ranks say where a layer sits among the model's layers. blend()
// mixes both, so a 2-layer model no longer collapses to 0 and 1.

// clamp((x - lo) / (hi - lo), 0, 1).
double anchor01(double x, double lo, double hi);
// anchor01 on a log scale (x, lo, hi > 0; x <= 0 gives 0).
double anchor_log01(double x, double lo, double hi);
// Power-law α of the eigenvalue tail on [2, 8]: 1 at α <= 2 (heavy-tailed, well trained),
// 0 at α >= 8 (random-like); no fit (α = 0) gives 0.
double alpha_anchor(double alpha);
// Excess kurtosis on a log scale: log1p(max(k, 0)) / log1p(30), clamped (Gaussian 0).
double kurtosis_anchor(double kurtosis);
// How far below the Marchenko–Pastur value the spectral entropy is: (H_mp - H) / H_mp
// over [0, 0.25] (0 = as flat as a random matrix of that shape).
double entropy_anchor(const Spectrum& s);
// Rank of each value among all (ties share the mean rank) over n - 1; one value gives 0.5.
std::vector<double> ranks01(const std::vector<double>& x);
// w_abs · absolute + (1 - w_abs) · ranks01(values), element-wise.
std::vector<double> blend(const std::vector<double>& absolute, const std::vector<double>& values,
                          double w_abs = 0.6);

// The voicing of `pcs` (pitch classes, one per voice, no two equal) in [lo, hi], at most
// max_span wide, that moves least from `prev` (voices matched in pitch order); without a
// previous chord, the one closest above lo + 3. Empty when no voicing fits.
std::vector<int> voice_lead(const std::vector<int>& pcs, const std::vector<int>& prev, int lo, int hi,
                            int max_span = 16);

// "name=value" with 3 significant digits, for the provenance of a decision.
std::string stat_text(const std::string& name, double value);

}  // namespace sonify::genres
