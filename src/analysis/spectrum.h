// Singular values and spectral summaries (LAPACK inside, plain types outside).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "sonify/analysis.h"
#include "sonify/features.h"

namespace sonify::analysis {

// Matrices with min(rows, cols) below this use the exact SVD in SvdMethod::Auto.
constexpr std::int64_t kGramMinDim = 256;
// A Gram spectrum whose σmin is below kRefineRatio·σmax is recomputed from a Gram matrix
// formed in double (method "gram64") when the matrix has at most kRefineMaxElements entries.
constexpr double kRefineRatio = 1e-2;
constexpr std::int64_t kRefineMaxElements = std::int64_t{1} << 22;

// The Gram matrix is accumulated over fixed slices of the long dimension, each slice in
// float, the slices summed in double in order within fixed groups, and the groups
// summed in order. The order of the sums is fixed whichever thread makes which slice
// (GramFolder), so the sum does not depend on the number of threads.
constexpr std::int64_t kGramSlice = 2048;
constexpr std::int64_t kGramGroup = 16;

// Whether (rows, cols) uses the Gram path under `method`.
bool uses_gram(SvdMethod method, std::int64_t rows, std::int64_t cols);

// Whether (rows, cols) goes straight to the double Gram (gram64) under `method`: in Auto (and
// Fast below kFastMinDim), a
// square matrix of at most kRefineMaxElements entries. Its σmin is nearly always under
// kRefineRatio·σmax (the Marchenko–Pastur law of a square matrix reaches 0; trained
// Llama q and o projections have condition numbers of 1e4 to 1e5), so a float Gram
// spectrum would only be computed to be thrown away.
bool uses_gram64(SvdMethod method, std::int64_t rows, std::int64_t cols);

// Order of the Gram matrix (min(rows, cols)) and its slices along max(rows, cols).
std::int64_t gram_order(std::int64_t rows, std::int64_t cols);
std::int64_t gram_slices(std::int64_t rows, std::int64_t cols);

// Buffers one thread reuses from matrix to matrix: a fresh block for every Gram slice
// cost more in page faults and clearing than the product of the slice itself.
struct GramWorkspace {
  std::vector<float> slice;  // ssyrk's output for one slice
  std::vector<double> sum;   // the summed lower triangle (column-major, upper triangle zero)
  std::vector<double> wide;  // W in double, for the gram64 Gram matrix and dgesdd
};

// Groups of kGramGroup slices, and the in-order sum of one group's slices into ws.sum.
std::int64_t gram_groups(std::int64_t rows, std::int64_t cols);
void gram_group(const float* w, std::int64_t rows, std::int64_t cols, std::int64_t group, GramWorkspace& ws);
// The same sums with the slices supplied one at a time, so W need not be whole in memory:
// slice(k) points at slice k's first row (rows ≥ cols) or column (rows < cols), laid out as
// in the whole row-major W (leading dimension cols).
void gram_group(const std::function<const float*(std::int64_t)>& slice, std::int64_t rows, std::int64_t cols,
                std::int64_t group, GramWorkspace& ws);

// The whole Gram lower triangle (the groups summed in order) into ws.sum, or returned.
void gram_matrix(const float* w, std::int64_t rows, std::int64_t cols, GramWorkspace& ws);
std::vector<double> gram_matrix(const float* w, std::int64_t rows, std::int64_t cols);

// The whole Gram lower triangle from slices made on any thread in any order, summed as
// gram_matrix sums them (so the same bits): a slice is added to its group's sum once every
// slice before it has been, a group to the whole once every group before it has. Jobs of
// one slice each keep the threads busy to the end, where jobs of a group each would leave
// one idle for up to a group's time. Whoever hands over the next slice in order adds it
// and any after it already handed over; the others only leave theirs.
class GramFolder {
 public:
  GramFolder(std::int64_t rows, std::int64_t cols);
  // Slice k's product; `at` as slice(k) of gram_group. Any thread, any order.
  std::vector<float> product(const float* at, std::int64_t k);
  // Hands over slice k's product (each k once).
  void add(std::int64_t k, std::vector<float> product);
  // The sum, once every slice is added.
  std::vector<double> result();

 private:
  std::int64_t rows_, cols_, slices_, next_ = 0;
  std::mutex mutex_;
  bool folding_ = false;
  std::vector<std::vector<float>> ready_, spare_;
  std::vector<bool> handed_;
  std::vector<double> group_, whole_;
};

// Singular values (descending) from a summed Gram lower triangle, by single-precision
// eigenvalues (ssyevd) of its float copy in `scratch`: the float Gram's own rounding already
// limits σ to √eps₃₂·σ₁, a float tridiagonalisation stays inside that floor and takes
// half the time of a double one (its matrix-vector half moves half the bytes).
std::vector<double> singular_values_from_gram(const double* gram, std::int64_t order,
                                              std::vector<float>& scratch);
std::vector<double> singular_values_from_gram(const std::vector<double>& gram, std::int64_t order);

// Singular values (descending) from the Gram matrix formed in double (dsyrk on W converted
// to double, in ws.wide, the product in ws.sum) and its double eigenvalues (dsyevd): σ to
// about eps₆₄·σ₁²/σ absolute, so σ down to √eps₆₄·σ₁ (kGram64Floor) and the condition
// number of an ill-conditioned matrix keep relative accuracy, at a third of dgesdd's cost.
constexpr double kGram64Floor = 1.4901161193847656e-08;  // √eps₆₄ = 2⁻²⁶
std::vector<double> singular_values_gram64(const float* w, std::int64_t rows, std::int64_t cols,
                                           GramWorkspace& ws);

// All singular values by LAPACK's dgesdd in double (the double copy of W in `scratch`).
std::vector<double> singular_values_exact(const float* w, std::int64_t rows, std::int64_t cols);
std::vector<double> singular_values_exact(const float* w, std::int64_t rows, std::int64_t cols,
                                          std::vector<double>& scratch);

// --svd fast (fast_spectrum.cpp): block Lanczos on the Gram operator from a seeded Gaussian
// block of kFastBlock columns, kFastBlockSteps steps (one product with W and one with Wᵀ
// each): the kFastTop largest Ritz values are the leading singular values, the others are
// quantiles of the bulk density from the same run's block Gauss quadrature, whose KS error
// is estimated as twice the probes' standard error plus kFastResolution / kFastBlockSteps.
// Matrices narrower than kFastMinDim take the auto path: there the exact methods cost about
// as much.
constexpr std::int64_t kFastTop = 64;
constexpr std::int64_t kFastBlock = 16;
// 14 steps: the 8B shape in 108–124 s on two cores, top errors ~1e-3 and bulk KS ~0.12 (16 steps:
// 134 s, ~1e-4 and ~0.10; 12 steps: 96 s, ~1e-2 and ~0.15; doc/features.md).
constexpr std::int64_t kFastBlockSteps = 14;
constexpr double kFastResolution = 1.75;
constexpr std::int64_t kFastMinDim = 512;

bool uses_fast(SvdMethod method, std::int64_t rows, std::int64_t cols);

// The seed of one matrix's sketch: the run's seed mixed with the tensor name, so it does
// not depend on which thread measures the matrix or in what order.
std::uint64_t fast_seed(std::uint64_t seed, const std::string& tensor);

struct FastSpectrum {
  std::vector<double> singular_values;  // all min(rows, cols), descending
  std::int64_t top = 0;                 // how many leading values the sketch measured
  double top_error = 0;                 // relative error bound estimate of those
  double bulk_error = 0;                // estimated KS distance of the rest from the true bulk
};
FastSpectrum singular_values_fast(const float* w, std::int64_t rows, std::int64_t cols,
                                  double frobenius_squared, std::uint64_t seed);
// The same with the Gram operator given as a product: gram(x, l, y) sets the n×l column-major
// y to MᵀM·x for the n×l x, where M is W or Wᵀ with n = min(rows, cols) columns. It must give
// the same bits for the same x every time (the sketch is seeded, the result deterministic).
using GramProduct = std::function<void(const float* x, std::int64_t l, float* y)>;
FastSpectrum singular_values_fast(const GramProduct& gram, std::int64_t n, double frobenius_squared,
                                  std::uint64_t seed);
// One slice's share of the Gram product: y (cols×l, column-major) = W_sᵀ(W_s·x) + beta·y for
// the count × cols row-major rows W_s, through `inner` (count×l). A slice small enough to
// stay in the cache is read from memory once for both products.
void gram_rows_product(const float* w, std::int64_t count, std::int64_t cols, const float* x, std::int64_t l,
                       float* inner, float* y, float beta);
// The same for 16 columns with x and y row-major (cols × 16), adding into y: each row of W_s
// is read once for both of its products, by AVX2 kernels without OpenBLAS's packing. Only
// where has_gram_rows_product16() (a build with AVX2 and FMA); elsewhere it does nothing
// and gram_rows_product does the work.
void gram_rows_product16(const float* w, std::int64_t count, std::int64_t cols, const float* xt, float* yt);
bool has_gram_rows_product16();
// x (n × 16, column-major, as the block Lanczos holds it) row-major into xt, for the above.
void rows16_of_columns(const float* x, std::int64_t n, float* xt);
// The bulk values scaled so that Σσ² is ||W||_F² (frobenius_squared), the leading ones kept;
// singular_values_fast does this itself unless frobenius_squared is negative.
void fit_fast_trace(FastSpectrum& f, double frobenius_squared);

// Fills every summary of `s` from s.singular_values, s.accuracy_floor and the squared
// Frobenius norm.
void summarise_spectrum(Spectrum& s, double frobenius_squared);

// Marchenko–Pastur law of ratio q = min/max dimension and unit mean (the limit spectrum of
// W Wᵀ/max for iid W of unit variance): its CDF at x, and the quantile at u in [0, 1].
double marchenko_pastur_cdf(double q, double x);
double marchenko_pastur_quantile(double q, double u);

// KS distance of a matrix's iid-finite-size fluctuation: 95th percentile of mp_ks over
// Gaussian matrices measured at 0.43/sqrt(m) or below for m >= 16 (0.59 at m = 8); above
// this a spectrum is not what an untrained matrix of its shape would give.
double random_mp_ks(std::int64_t min_dim);

// Fills s.mp_ks, s.mp_entropy and s.trainedness from s.singular_values (rows × cols).
void compare_to_random(Spectrum& s, std::int64_t rows, std::int64_t cols);

// Power-law fit of the tail of eigenvalues λ (any order): continuous MLE exponent
// α = 1 + n / Σ ln(λ/xmin) with the xmin minimising the KS distance (Clauset et al.),
// over candidate xmin that leave at least kMinTail values. Writes alpha* fields.
constexpr int kMinTail = 5;
void fit_power_law(const std::vector<double>& eigenvalues, Spectrum& s);

}  // namespace sonify::analysis
