// The analysis core on hand-made inputs with known answers: diagonal, rank-1,
// orthogonal, constant and all-zero matrices; both quantile paths; W1; the power-law
// fit; PCA and activation statistics; features JSON round trip; cache; determinism.
#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>
#include <numeric>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "analysis/spectrum.h"
#include "analysis/stats.h"
#include "analysis/tonality.h"
#include "sonify/activation_stats.h"
#include "sonify/analysis.h"
#include "sonify/checkpoint_write.h"
#include "test_support.h"

using namespace sonify;
using namespace sonify::analysis;
using sonify::test::TempDir;

namespace {

std::vector<double> exact(const std::vector<float>& w, std::int64_t r, std::int64_t c) {
  return singular_values_exact(w.data(), r, c);
}

std::vector<double> gram(const std::vector<float>& w, std::int64_t r, std::int64_t c) {
  return singular_values_from_gram(gram_matrix(w.data(), r, c), gram_order(r, c));
}

std::vector<float> gaussian(std::size_t n, unsigned seed, float scale = 1) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

bool finite(const Spectrum& s) {
  for (double v : {s.sigma_max, s.stable_rank, s.spectral_entropy, s.effective_rank, s.condition_number,
                   s.alpha, s.alpha_xmin, s.alpha_ks})
    if (!std::isfinite(v)) return false;
  return true;
}

// A tiny Llama-style model whose every tensor is filled by `value(name, index)`.
std::string write_model(const TempDir& dir,
                        const std::function<float(const std::string&, std::size_t)>& value, int layers = 3) {
  const std::string config = R"({"model_type":"llama","hidden_size":16,"num_hidden_layers":)" +
                             std::to_string(layers) +
                             R"(,"intermediate_size":24,"vocab_size":40,"max_position_embeddings":16,)"
                             R"("num_attention_heads":4,"num_key_value_heads":2})";
  sonify::test::write_file(dir.file("config.json"), config);
  auto spec = model_spec_parse(config, "config");
  REQUIRE(spec.ok());
  std::vector<TensorDecl> decls;
  for (const auto& e : model_layout(*spec)) decls.push_back({e.name, DType::F32, e.shape});
  std::sort(decls.begin(), decls.end(),
            [](const TensorDecl& a, const TensorDecl& b) { return a.name < b.name; });
  auto fill = [&](std::size_t i, unsigned char* dst, std::size_t n) {
    for (std::size_t k = 0; k < n / 4; ++k) {
      const float v = value(decls[i].name, k);
      std::memcpy(dst + 4 * k, &v, 4);
    }
  };
  REQUIRE(safetensors_write(dir.file("model.safetensors"), decls, {}, fill).ok());
  return dir.path();
}

}  // namespace

TEST_CASE("singular values of hand-made matrices", "[analysis]") {
  SECTION("diagonal") {
    std::vector<float> w(4 * 3, 0.0f);
    w[0] = 3, w[4] = -5, w[8] = 1;  // diag(3, -5, 1) in a 4x3 matrix
    for (auto sv : {exact(w, 4, 3), gram(w, 4, 3)}) {
      REQUIRE(sv.size() == 3);
      CHECK(sv[0] == Approx(5).epsilon(1e-12));
      CHECK(sv[1] == Approx(3).epsilon(1e-12));
      CHECK(sv[2] == Approx(1).epsilon(1e-12));
    }
  }
  SECTION("rank one: u v^T has one singular value |u||v|") {
    const std::vector<float> u = {1, 2, 2}, v = {3, 0, 4, 0, 0};
    std::vector<float> w;
    for (float a : u)
      for (float b : v) w.push_back(a * b);
    // The Gram path's zeros are within its floor √eps₃₂·σ₁ (its float eigen-solve), the
    // exact path's within rounding.
    const double gram_floor = std::sqrt(1.1920928955078125e-07) * 15;
    for (auto [sv, zero] : {std::pair{exact(w, 3, 5), 1e-5}, std::pair{gram(w, 3, 5), gram_floor}}) {
      REQUIRE(sv.size() == 3);
      CHECK(sv[0] == Approx(15).epsilon(1e-7));
      CHECK(sv[1] == Approx(0).margin(zero));
      CHECK(sv[2] == Approx(0).margin(zero));
    }
    Spectrum s;
    s.singular_values = exact(w, 3, 5);
    summarise_spectrum(s, 225);
    CHECK(s.stable_rank == Approx(1).epsilon(1e-6));
    CHECK(s.effective_rank == Approx(1).epsilon(1e-6));
    CHECK(finite(s));
  }
  SECTION("orthogonal: every singular value is 1, condition number 1") {
    const float c = std::cos(0.3f), s = std::sin(0.3f);
    const std::vector<float> w = {c, -s, 0, s, c, 0, 0, 0, 1};
    for (auto sv : {exact(w, 3, 3), gram(w, 3, 3)})
      for (double x : sv) CHECK(x == Approx(1).epsilon(1e-6));
    Spectrum sp;
    sp.singular_values = exact(w, 3, 3);
    summarise_spectrum(sp, 3);
    CHECK(sp.condition_number == Approx(1).epsilon(1e-6));
    CHECK(sp.spectral_entropy == Approx(std::log(3.0)).epsilon(1e-6));
    CHECK(sp.effective_rank == Approx(3).epsilon(1e-6));
  }
  SECTION("all-zero and constant matrices give defined values") {
    const std::vector<float> zero(6 * 4, 0.0f), constant(6 * 4, 0.5f);
    Spectrum z;
    z.singular_values = exact(zero, 6, 4);
    summarise_spectrum(z, 0);
    CHECK(finite(z));
    CHECK(z.sigma_max == 0);
    CHECK(z.stable_rank == 0);
    CHECK(z.effective_rank == 0);
    CHECK(z.condition_number == 0);
    CHECK(z.alpha == 0);
    Spectrum c;
    c.singular_values = gram(constant, 6, 4);
    summarise_spectrum(c, 24 * 0.25);
    CHECK(finite(c));
    CHECK(c.sigma_max == Approx(std::sqrt(24 * 0.25)).epsilon(1e-6));  // rank one: 0.5 * sqrt(6 * 4)
    const Moments m = moments_of(zero.data(), zero.size());
    CHECK(m.mean == 0);
    CHECK(m.std == 0);
    CHECK(m.skewness == 0);
    CHECK(m.kurtosis == 0);
    std::vector<float> copy = zero;
    auto q = quantile_stats_sorting(copy, 0, 4);
    CHECK(q.p02 == 0);
    CHECK(q.histogram == std::vector<std::int64_t>{0, 0, 24, 0});  // numpy widens to [-0.5, 0.5]
    CHECK(q.heavy_tail_index == 2);
  }
}

TEST_CASE("Gram singular values agree with the exact SVD to the stated accuracy", "[analysis]") {
  // 2500 x 260 Gaussian with a decaying column scale: spans 3 decades of σ; more rows
  // than one Gram slice (2048), so the slice sum is exercised.
  const std::int64_t rows = 2500, cols = 260;
  std::vector<float> w = gaussian(static_cast<std::size_t>(rows * cols), 7);
  for (std::int64_t i = 0; i < rows; ++i)
    for (std::int64_t j = 0; j < cols; ++j)
      w[i * cols + j] *= static_cast<float>(std::pow(10.0, -3.0 * j / cols));
  const auto e = exact(w, rows, cols), g = gram(w, rows, cols);
  const double floor = std::sqrt(1.1920928955078125e-07) * e[0];
  for (std::size_t i = 0; i < e.size(); ++i) {
    INFO(i << ": exact " << e[i] << " gram " << g[i]);
    CHECK(std::fabs(g[i] - e[i]) <= floor);
    if (e[i] > 100 * floor) CHECK(std::fabs(g[i] - e[i]) <= 1e-4 * e[i]);
  }
}

namespace {

// rows × cols with a power-law column scale (a trained-looking bulk) and three rank-one
// spikes, like bench/llama_checkpoint.py writes.
std::vector<float> trained_like(std::int64_t rows, std::int64_t cols, unsigned seed) {
  std::vector<float> w = gaussian(static_cast<std::size_t>(rows * cols), seed);
  const std::vector<float> u = gaussian(static_cast<std::size_t>(rows), seed + 1),
                           v = gaussian(static_cast<std::size_t>(cols), seed + 2);
  for (std::int64_t i = 0; i < rows; ++i)
    for (std::int64_t j = 0; j < cols; ++j)
      w[i * cols + j] =
          static_cast<float>(w[i * cols + j] * std::pow(1.0 + (j * 7919) % cols, -0.35) + 0.2 * u[i] * v[j]);
  return w;
}

double frobenius2(const std::vector<float>& w) {
  double s = 0;
  for (float x : w) s += double(x) * x;
  return s;
}

// KS distance between the empirical distributions of two samples.
double ks(std::vector<double> a, std::vector<double> b) {
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  double d = 0;
  std::size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    const double x = std::min(a[i], b[j]);
    while (i < a.size() && a[i] <= x) ++i;
    while (j < b.size() && b[j] <= x) ++j;
    d = std::max(d, std::fabs(double(i) / a.size() - double(j) / b.size()));
  }
  return d;
}

// numpy.linalg.svd of the row-major rows × cols float matrix w, in float64.
std::vector<double> numpy_singular_values(const std::vector<float>& w, std::int64_t rows, std::int64_t cols) {
  TempDir dir;
  sonify::test::write_file(dir.file("w.f32"),
                           std::string(reinterpret_cast<const char*>(w.data()), w.size() * sizeof(float)));
  auto r = sonify::test::run_program(
      {"/usr/bin/python3", "-c",
       "import sys, numpy as np\n"
       "w = np.fromfile(sys.argv[1], dtype='<f4').reshape(int(sys.argv[2]), int(sys.argv[3]))\n"
       "print(' '.join(repr(float(x)) for x in np.linalg.svd(w.astype(np.float64), compute_uv=False)))",
       dir.file("w.f32"), std::to_string(rows), std::to_string(cols)});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  std::vector<double> sv;
  std::istringstream in(r.out);
  for (double x; in >> x;) sv.push_back(x);
  return sv;
}

}  // namespace

TEST_CASE("refined Gram (gram64): sigma and condition number of ill-conditioned matrices as numpy's",
          "[analysis][oracle]") {
  // Trained-looking matrices whose columns decay over 4 to 5 decades (condition numbers
  // 1e4 to 1e6, beyond what the float Gram resolves): square, tall and wide.
  struct Case {
    std::int64_t rows, cols;
    double decades;
  };
  GramWorkspace ws;
  for (const Case c : {Case{512, 512, 4}, Case{700, 300, 5}, Case{300, 640, 5.5}}) {
    INFO(c.rows << " x " << c.cols);
    std::vector<float> w = trained_like(c.rows, c.cols, 11);
    for (std::int64_t i = 0; i < c.rows; ++i)
      for (std::int64_t j = 0; j < c.cols; ++j)
        w[i * c.cols + j] *= static_cast<float>(std::pow(10.0, -c.decades * j / c.cols));
    const auto g = singular_values_gram64(w.data(), c.rows, c.cols, ws);
    const auto ref = numpy_singular_values(w, c.rows, c.cols);
    const auto e = exact(w, c.rows, c.cols);
    REQUIRE(g.size() == ref.size());
    REQUIRE(e.size() == ref.size());
    const double kappa = ref.front() / ref.back();
    INFO("condition number " << kappa);
    CHECK(kappa > 1e4);
    // The float Gram cannot see σmin: it is under the float floor.
    CHECK(ref.back() < std::sqrt(1.1920928955078125e-07) * ref.front());
    for (std::size_t i = 0; i < g.size(); ++i) {
      INFO(i << ": gram64 " << g[i] << " numpy " << ref[i]);
      // The stated model: |δσ| ≲ eps₆₄·σ₁²/σ (an eigenvalue error eps₆₄·σ₁², halved by the
      // square root), with a factor 16 of slack, and never beyond the floor.
      CHECK(std::fabs(g[i] - ref[i]) <= 16 * 2.220446049250313e-16 * ref[0] * ref[0] / ref[i]);
      CHECK(std::fabs(g[i] - ref[i]) <= kGram64Floor * ref[0]);
      CHECK(std::fabs(e[i] - ref[i]) <= 1e-9 * ref[i]);  // dgesdd agrees with numpy outright
    }
    CHECK(g.front() / g.back() == Approx(kappa).epsilon(1e-5));
  }
}

TEST_CASE("fast spectrum: within its own error estimates of the exact one, and seeded", "[analysis]") {
  // The last two have a count of rows or columns that is not a multiple of the fused
  // kernels' four.
  for (auto [rows, cols] :
       {std::pair<std::int64_t, std::int64_t>{1500, 640}, {700, 1800}, {517, 203}, {203, 517}}) {
    INFO(rows << " x " << cols);
    const std::vector<float> w = trained_like(rows, cols, 11);
    const double f2 = frobenius2(w);
    const std::vector<double> e = exact(w, rows, cols);
    const FastSpectrum f = singular_values_fast(w.data(), rows, cols, f2, 3);
    REQUIRE(f.singular_values.size() == e.size());
    REQUIRE(f.top == kFastTop);
    INFO("top error " << f.top_error << ", bulk error " << f.bulk_error);
    CHECK(f.top_error > 0);
    CHECK(f.top_error < 0.1);
    CHECK(f.bulk_error < 0.2);
    double worst = 0;
    for (std::int64_t i = 0; i < f.top; ++i) {
      const double rel = std::fabs(f.singular_values[i] - e[i]) / e[i];
      worst = std::max(worst, rel);
      CHECK(rel <= f.top_error);
    }
    INFO("measured top error " << worst);
    const std::vector<double> fb(f.singular_values.begin() + f.top, f.singular_values.end()),
        eb(e.begin() + f.top, e.end());
    const double d = ks(fb, eb);
    INFO("bulk KS distance " << d);
    CHECK(d <= f.bulk_error);
    // The trace is exact: Σσ² = ||W||_F².
    double sum = 0;
    for (double x : f.singular_values) sum += x * x;
    CHECK(sum == Approx(f2).epsilon(1e-6));
    // Same seed, same bytes; another seed, other (equally good) values.
    CHECK(singular_values_fast(w.data(), rows, cols, f2, 3).singular_values == f.singular_values);
    CHECK(singular_values_fast(w.data(), rows, cols, f2, 4).singular_values != f.singular_values);
  }
}

TEST_CASE("the fused 16-column Gram product adds W_s^T (W_s x) into y, for any count of rows", "[analysis]") {
  const std::int64_t cols = 37;
  for (std::int64_t count : {1, 2, 3, 4, 5, 7, 13}) {
    INFO(count << " rows");
    const std::vector<float> w = gaussian(static_cast<std::size_t>(count * cols), 5),
                             xt = gaussian(static_cast<std::size_t>(cols * 16), 6),
                             y0 = gaussian(static_cast<std::size_t>(cols * 16), 7);
    std::vector<float> y = y0;
    if (!has_gram_rows_product16()) {
      WARN("this build has no fused kernels (no AVX2/FMA): gram_rows_product does the work");
      return;
    }
    gram_rows_product16(w.data(), count, cols, xt.data(), y.data());
    for (std::int64_t j = 0; j < cols; ++j)
      for (std::int64_t c = 0; c < 16; ++c) {
        double want = y0[static_cast<std::size_t>(j * 16 + c)], scale = std::fabs(want);
        for (std::int64_t r = 0; r < count; ++r) {
          double inner = 0;
          for (std::int64_t i = 0; i < cols; ++i)
            inner +=
                double(w[static_cast<std::size_t>(r * cols + i)]) * xt[static_cast<std::size_t>(i * 16 + c)];
          want += double(w[static_cast<std::size_t>(r * cols + j)]) * inner;
          scale += std::fabs(double(w[static_cast<std::size_t>(r * cols + j)]) * inner);
        }
        CHECK(std::fabs(y[static_cast<std::size_t>(j * 16 + c)] - want) <= 1e-5 * scale);
      }
  }
}

TEST_CASE("fast spectrum: a matrix of lower rank than the Krylov space", "[analysis]") {
  // W = U·V of rank 40 (600 × 800): the block Lanczos runs out of directions after the
  // first block and a half; the leading 40 values must still be exact, the rest zero.
  const std::int64_t rows = 600, cols = 800, rank = 40;
  const std::vector<float> u = gaussian(static_cast<std::size_t>(rows * rank), 21),
                           v = gaussian(static_cast<std::size_t>(rank * cols), 22);
  std::vector<float> w(static_cast<std::size_t>(rows * cols));
  for (std::int64_t i = 0; i < rows; ++i)
    for (std::int64_t j = 0; j < cols; ++j) {
      double s = 0;
      for (std::int64_t r = 0; r < rank; ++r)
        s += double(u[i * rank + r]) * v[r * cols + j] * std::pow(1.0 + r, -0.5);
      w[i * cols + j] = static_cast<float>(s);
    }
  const double f2 = frobenius2(w);
  const std::vector<double> e = exact(w, rows, cols);
  const FastSpectrum f = singular_values_fast(w.data(), rows, cols, f2, 7);
  REQUIRE(f.singular_values.size() == e.size());
  INFO("top error " << f.top_error);
  CHECK(f.top_error < 1e-3);
  for (std::int64_t i = 0; i < rank; ++i) CHECK(f.singular_values[i] == Approx(e[i]).epsilon(1e-3));
  for (std::size_t i = rank + 8; i < e.size(); ++i) CHECK(f.singular_values[i] <= 1e-3 * e[0]);
  double sum = 0;
  for (double x : f.singular_values) sum += x * x;
  CHECK(sum == Approx(f2).epsilon(1e-4));  // the zeros are float rounding of size √eps₃₂·σ₁
}

namespace {

// The sorting and the selecting quantile paths give the same statistics; `a` is left sorted.
QuantileStats sorting_equals_selecting(std::vector<float>& a, int bins) {
  std::vector<float> b = a;
  const Moments m = moments_of(a.data(), a.size());
  const auto qa = quantile_stats_sorting(a, m.mean, bins);
  const auto qb = quantile_stats_selecting(b, m.mean, bins);
  CHECK(qa.p02 == qb.p02);
  CHECK(qa.p98 == qb.p98);
  CHECK(qa.histogram == qb.histogram);
  CHECK(qa.heavy_tail_index == qb.heavy_tail_index);
  return qa;
}

}  // namespace

TEST_CASE("quantile statistics: sorting and selecting paths agree with numpy rules", "[analysis]") {
  std::vector<float> x = gaussian(10001, 3);
  x[17] = 40;  // a heavy outlier
  std::vector<float> a = x;
  const auto qa = sorting_equals_selecting(a, 16);
  std::int64_t total = 0;
  for (auto c : qa.histogram) total += c;
  CHECK(total == 9601);  // values in [p2, p98]: 96% of 10001 plus both ends
  // numpy.percentile([1, 2, 3, 4], 50) = 2.5; histogram([0, 1, 1, 2], 2, (0, 2)) = [1, 3].
  const float s[] = {1, 2, 3, 4};
  CHECK(percentile_sorted(s, 4, 50) == 2.5);
  const float h[] = {0, 1, 1, 2};
  CHECK(histogram_counts(h, 4, 0, 2, 2) == std::vector<std::int64_t>{1, 3});
  std::vector<float> r = {3, -1, 2, -7, 0.5f, 2};
  radix_sort(r);
  CHECK(r == std::vector<float>{-7, -1, 0.5f, 2, 2, 3});
}

TEST_CASE("radix sort: bfloat16 values by counting, others by radix, both as std::sort by bits",
          "[analysis]") {
  // std::sort on the order-preserving key of the bits: the total order, -0 before +0.
  auto by_bits = [](std::vector<float> v) {
    auto key = [](float f) {
      std::uint32_t u;
      std::memcpy(&u, &f, sizeof u);
      return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
    };
    std::sort(v.begin(), v.end(), [&](float a, float b) { return key(a) < key(b); });
    return v;
  };
  auto same_bits = [](const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
  };
  auto to_bf16 = [](float f) {  // truncation: only the top 16 bits survive
    std::uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    u &= 0xffff0000u;
    std::memcpy(&f, &u, sizeof u);
    return f;
  };
  std::vector<float> bf = gaussian(200001, 11, 0.02f);
  for (float& v : bf) v = to_bf16(v);
  // Both zeros, bfloat16 subnormals of each sign, infinities and the extremes.
  const float specials[] = {0.0f,
                            -0.0f,
                            to_bf16(1e-39f),
                            to_bf16(-1e-39f),
                            std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity(),
                            to_bf16(3e38f),
                            to_bf16(-3e38f),
                            1.0f,
                            -1.0f};
  for (std::size_t i = 0; i < std::size(specials); ++i) bf[i * 977] = bf[i * 977 + 1] = specials[i];
  std::vector<float> sorted = bf;
  radix_sort(sorted);
  CHECK(same_bits(sorted, by_bits(bf)));
  // One value that is not a bfloat16 one: the radix path, the same order.
  std::vector<float> mixed = bf;
  mixed[5000] = 0.0123456f;
  std::vector<float> mixed_sorted = mixed;
  radix_sort(mixed_sorted);
  CHECK(same_bits(mixed_sorted, by_bits(mixed)));
  // So every quantile is the one of the fully sorted array: nth_element agrees.
  const std::vector<float> finite(sorted.begin() + 2, sorted.end() - 2);  // without the infinities
  for (std::size_t rank : {std::size_t{0}, std::size_t{3999}, finite.size() / 2, finite.size() - 1}) {
    std::vector<float> copy = finite;
    std::nth_element(copy.begin(), copy.begin() + static_cast<std::ptrdiff_t>(rank), copy.end());
    CHECK(copy[rank] == finite[rank]);
  }
  std::vector<float> a(finite.rbegin(), finite.rend());
  sorting_equals_selecting(a, 32);
  CHECK(same_bits(a, finite));
}

namespace {

float bf16_truncated(float f) {  // only the top 16 bits survive
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  u &= 0xffff0000u;
  std::memcpy(&f, &u, sizeof u);
  return f;
}

bool same_double(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

ValueTable table_of(const std::vector<float>& x) {
  ValueTable t;
  REQUIRE(value_table_add(t, x.data(), x.size()));
  return t;
}

// Samples of bfloat16 values with what the table must get right: ties, both zeros (equal
// as floats, distinct entries), subnormals, few distinct values, a single value.
std::vector<std::vector<float>> bf16_samples() {
  std::vector<std::vector<float>> out;
  for (std::size_t n : {1, 2, 3, 5, 7, 1000, 200001}) {
    std::vector<float> v = gaussian(n, static_cast<unsigned>(n), 0.02f);
    for (float& x : v) x = bf16_truncated(x);
    out.push_back(v);
  }
  std::vector<float> zeros = {0.0f, -0.0f, 0.0f, -0.0f, bf16_truncated(1e-39f), bf16_truncated(-1e-39f),
                              1,    -1};
  out.push_back(zeros);
  std::vector<float> coarse(5000);
  std::mt19937 rng(4);
  for (float& x : coarse) x = static_cast<float>(static_cast<int>(rng() % 7) - 3) * 0.5f;  // 7 values
  coarse[3] = -0.0f;
  out.push_back(coarse);
  out.push_back(std::vector<float>(33, 0.25f));
  std::vector<float> tailed = gaussian(40000, 9, 0.02f);
  for (float& x : tailed) x = bf16_truncated(x);
  tailed[10] = bf16_truncated(3e38f), tailed[11] = bf16_truncated(-2e38f);
  out.push_back(tailed);
  tailed[12] = std::numeric_limits<float>::infinity();  // W1 is then NaN on both paths
  out.push_back(tailed);
  return out;
}

}  // namespace

TEST_CASE("value table: quantiles, histogram, Hill and W1 equal the sorting path bit for bit", "[analysis]") {
  const auto samples = bf16_samples();
  for (const auto& x : samples) {
    CAPTURE(x.size());
    const ValueTable t = table_of(x);
    CHECK(t.n == x.size());
    const double mean = moments_of(x.data(), x.size()).mean;
    for (int bins : {1, 7, 64}) {
      std::vector<float> sorted = x;
      const QuantileStats a = quantile_stats_sorting(sorted, mean, bins);
      const QuantileStats b = quantile_stats_table(t, mean, bins);
      CHECK(same_double(a.p02, b.p02));
      CHECK(same_double(a.p98, b.p98));
      CHECK(a.histogram == b.histogram);
      CHECK(same_double(a.heavy_tail_index, b.heavy_tail_index));
    }
    // The independent reference for the percentile's two ranks: nth_element.
    const double pos = 0.02 * static_cast<double>(x.size() - 1);
    const std::size_t lo = static_cast<std::size_t>(std::floor(pos)), hi = std::min(lo + 1, x.size() - 1);
    std::vector<float> copy = x;
    std::nth_element(copy.begin(), copy.begin() + static_cast<std::ptrdiff_t>(lo), copy.end());
    const double a = copy[lo];
    std::nth_element(copy.begin(), copy.begin() + static_cast<std::ptrdiff_t>(hi), copy.end());
    const double b = copy[hi], frac = pos - static_cast<double>(lo);
    CHECK(quantile_stats_table(t, mean, 4).p02 ==
          (frac >= 0.5 ? b - (b - a) * (1 - frac) : a + (b - a) * frac));
  }
  // W1 of every pair, with either side a table or a sorted copy.
  for (const auto& x : samples)
    for (const auto& y : samples) {
      std::vector<float> sx = x, sy = y;
      std::sort(sx.begin(), sx.end());
      std::sort(sy.begin(), sy.end());
      const double want = wasserstein1_sorted(sx, sy);
      CAPTURE(x.size(), y.size(), want);
      CHECK(same_double(wasserstein1(table_of(x), table_of(y)), want));
      CHECK(same_double(wasserstein1(table_of(x), sy), want));
      CHECK(same_double(wasserstein1(sx, table_of(y)), want));
    }
  // scipy.stats.wasserstein_distance([0, 1, 3], [5, 6, 8]) = 5, through tables.
  CHECK(wasserstein1(table_of({0, 1, 3}), table_of({5, 6, 8})) == 5);
  // A value that is not a bfloat16 one: no table.
  ValueTable t;
  const float not_bf16[] = {0.5f, 0.1f};
  CHECK_FALSE(value_table_add(t, not_bf16, 2));
}

TEST_CASE("moments fed in pieces equal the whole array's bit for bit", "[analysis]") {
  for (std::size_t n : {1, 3, 4, 9, 1001, 65537}) {
    std::vector<float> x = gaussian(n, static_cast<unsigned>(n) + 1, 0.3f);
    x[0] = 5;  // skewed
    const Moments whole = moments_of(x.data(), n);
    for (std::size_t piece : {std::size_t{1}, std::size_t{3}, std::size_t{4}, std::size_t{7}, n}) {
      CAPTURE(n, piece);
      MomentsStream s(n);
      for (int pass = 0; pass < 2; ++pass)
        for (std::size_t at = 0; at < n; at += piece) {
          if (pass == 0)
            s.first(x.data() + at, std::min(piece, n - at));
          else
            s.second(x.data() + at, std::min(piece, n - at));
        }
      const Moments m = s.result();
      for (auto [a, b] :
           {std::pair{m.mean, whole.mean}, std::pair{m.std, whole.std}, std::pair{m.skewness, whole.skewness},
            std::pair{m.kurtosis, whole.kurtosis}, std::pair{m.min, whole.min}, std::pair{m.max, whole.max}})
        CHECK(same_double(a, b));
    }
  }
}

TEST_CASE("Wasserstein-1, Hill index and the power-law fit on known inputs", "[analysis]") {
  // Shifting a sample by c moves it W1 = c; scipy: W1([0,1,3],[5,6,8]) = 5.
  CHECK(wasserstein1_sorted({0, 1, 3}, {5, 6, 8}) == Approx(5));
  CHECK(wasserstein1_sorted({0, 1}, {0, 0, 1, 1}) == Approx(0));
  CHECK(wasserstein1_sorted({0}, {1, 2}) == Approx(1.5));  // scipy.stats.wasserstein_distance([0],[1,2])
  // Exact Pareto quantiles with exponent a: λ_i = (1 - i/(n+1))^(-1/(a-1)) → fitted α ≈ a.
  std::vector<double> eig;
  for (int i = 0; i < 2000; ++i) eig.push_back(std::pow(1 - (i + 0.5) / 2000.0, -1 / (2.5 - 1)));
  Spectrum s;
  fit_power_law(eig, s);
  CHECK(s.alpha == Approx(2.5).epsilon(0.05));
  CHECK(s.alpha_tail >= kMinTail);
  // Hill on a Pareto(1.5) sample's largest values.
  std::vector<double> top;
  for (int i = 1; i <= 101; ++i) top.push_back(std::pow(i / 1e4, -1 / 1.5));
  CHECK(hill_index(top) == Approx(1.5).epsilon(0.05));
  CHECK(hill_index({1, 1, 1}) == 2);
  CHECK(hill_index({0, 0}) == 2);
}

TEST_CASE("the xmin scan: the plain ascending scan's choice and error, ties to the first", "[analysis]") {
  // Errors drawn from a few levels, so ties between candidates are common; a candidate is
  // skipped where the table says so. The reference evaluates every candidate at every point.
  for (unsigned seed = 0; seed < 40; ++seed) {
    std::mt19937 rng(seed);
    const std::size_t n = 5 + rng() % 300, count = n - rng() % std::min<std::size_t>(n, 6);
    std::vector<std::vector<double>> table(n, std::vector<double>(n, 0));
    std::vector<bool> skip(count);
    for (std::size_t j = 0; j < count; ++j) {
      skip[j] = rng() % 7 == 0;
      for (std::size_t i = j; i < n; ++i) table[j][i] = static_cast<double>(rng() % 5) / 4;
    }
    std::optional<std::size_t> want;
    double want_d = std::numeric_limits<double>::infinity();
    for (std::size_t j = 0; j < count; ++j) {
      if (skip[j]) continue;
      const double d = *std::max_element(table[j].begin() + static_cast<std::ptrdiff_t>(j), table[j].end());
      if (d < want_d) want = j, want_d = d;
    }
    const KsScan got = ks_min_scan(
        count, n, [&](std::size_t j) { return skip[j] ? std::nullopt : std::optional<int>(1); },
        [&](int, std::size_t j, std::size_t i) { return table[j][i]; });
    INFO("seed " << seed << ", " << n << " points, " << count << " candidates");
    REQUIRE(got.found == want.has_value());
    if (want) {
      CHECK(got.index == *want);
      CHECK(got.d == want_d);
    }
  }
  // A Pareto tail under a Marchenko-Pastur-like bulk: the fit with the plain scan's bits.
  std::vector<double> eig;
  for (int i = 0; i < 1900; ++i) eig.push_back(0.2 + 3.0 * (i + 0.5) / 1900);
  for (int i = 0; i < 148; ++i) eig.push_back(3.2 * std::pow(1 - (i + 0.5) / 148.0, -1 / 1.4));
  Spectrum s;
  fit_power_law(eig, s);
  std::sort(eig.begin(), eig.end());
  double best = std::numeric_limits<double>::infinity(), alpha = 0;
  int tail = 0;
  const std::size_t n = eig.size();
  for (std::size_t j = 0; j + kMinTail <= n; ++j) {
    if (j > 0 && eig[j] == eig[j - 1]) continue;
    double sum_log = 0;
    for (std::size_t i = j; i < n; ++i) sum_log += std::log(eig[i] / eig[j]);
    const double a = 1 + static_cast<double>(n - j) / sum_log, t = static_cast<double>(n - j);
    double d = 0;
    for (std::size_t i = j; i < n; ++i) {
      const double cdf = 1 - std::pow(eig[i] / eig[j], 1 - a), k = static_cast<double>(i - j);
      d = std::max(d, std::max(std::fabs(cdf - k / t), std::fabs(cdf - (k + 1) / t)));
    }
    if (d < best) best = d, alpha = a, tail = static_cast<int>(n - j);
  }
  CHECK(s.alpha_tail == tail);
  CHECK(s.alpha == Approx(alpha).epsilon(1e-12));  // its sum of logs runs in another order
  CHECK(s.alpha_ks == Approx(best).epsilon(1e-9));
  CHECK(s.alpha == Approx(2.4).epsilon(0.1));  // density exponent 1 + 1.4
}

TEST_CASE("Gram slices folded in any order, on any thread, give gram_matrix's bits", "[analysis]") {
  // 20 slices (two groups) along the rows, then 18 along the columns.
  for (const auto& [rows, cols] : {std::pair<std::int64_t, std::int64_t>{kGramSlice * 19 + 100, 24},
                                   std::pair<std::int64_t, std::int64_t>{6, kGramSlice * 17 + 5}}) {
    const std::vector<float> w = gaussian(static_cast<std::size_t>(rows * cols), 11);
    const std::vector<double> want = gram_matrix(w.data(), rows, cols);
    const std::int64_t slices = gram_slices(rows, cols);
    const std::int64_t step = rows >= cols ? kGramSlice * cols : kGramSlice;
    for (int threads : {1, 2, 3}) {
      std::vector<std::int64_t> order(static_cast<std::size_t>(slices));
      std::iota(order.begin(), order.end(), 0);
      std::shuffle(order.begin(), order.end(), std::mt19937(static_cast<unsigned>(threads)));
      GramFolder folder(rows, cols);
      std::atomic<std::size_t> next{0};
      auto worker = [&] {
        for (std::size_t i = next++; i < order.size(); i = next++)
          folder.add(order[i], folder.product(w.data() + order[i] * step, order[i]));
      };
      std::vector<std::thread> pool;
      for (int t = 1; t < threads; ++t) pool.emplace_back(worker);
      worker();
      for (auto& t : pool) t.join();
      INFO(rows << " x " << cols << ", " << threads << " threads");
      CHECK(folder.result() == want);
    }
  }
}

TEST_CASE("activation statistics and PCA", "[analysis]") {
  // Uniform attention over 4 keys has entropy ln 4; a one-hot row has 0 (up to the clip).
  std::vector<float> probs = {0.25f, 0.25f, 0.25f, 0.25f, 1, 0, 0, 0};
  auto e = attention_entropy(probs, 2, 1, 4);
  REQUIRE(e.ok());
  CHECK(e->per_head[0] == Approx(std::log(4.0)));
  CHECK(e->per_head[1] == Approx(0).margin(1e-9));
  CHECK(e->mean == Approx(std::log(4.0) / 2));
  CHECK_FALSE(attention_entropy(probs, 3, 1, 4).ok());
  CHECK_FALSE(attention_entropy({}, 0, 0, 0).ok());
  auto n = hidden_state_norms({3, 4, 0, 0}, 2, 2);
  REQUIRE(n.ok());
  CHECK(n->per_token == std::vector<double>{5, 0});
  CHECK(n->mean == 2.5);
  CHECK(mlp_sparsity({0.0f, 0.5f, -0.05f, 2}, 0.1) == 0.5);
  CHECK(mlp_sparsity({}, 0.1) == 0);

  // Points on a line: one component carries all the variance.
  std::vector<double> data;
  for (int i = 0; i < 5; ++i) data.insert(data.end(), {1.0 + i, 2.0 + 2 * i, 3.0});
  auto pca = pca_fit(data, 5, 3, 2);
  REQUIRE(pca.ok());
  CHECK(pca->explained_variance_ratio[0] == Approx(1));
  CHECK(std::fabs(pca->components[0][0]) == Approx(1 / std::sqrt(5.0)));
  auto restored = pca_from_json(pca_to_json(*pca), "pca");
  REQUIRE(restored.ok());
  CHECK(restored->components == pca->components);
  CHECK(restored->mean == pca->mean);
  CHECK(*pca_transform(*restored, data, 5) == *pca_transform(*pca, data, 5));
  CHECK_FALSE(pca_from_json("{", "bad").ok());
  CHECK_FALSE(pca_fit(data, 1, 15, 2).ok());
}

TEST_CASE("PCA agrees with scikit-learn up to sign", "[analysis][oracle]") {
  TempDir dir;
  const std::size_t samples = 12, features = 7;
  std::vector<float> raw = gaussian(samples * features, 11);
  std::vector<double> data(raw.begin(), raw.end());
  nlohmann::json spec;
  spec["k"] = 3;
  for (std::size_t s = 0; s < samples; ++s)
    spec["data"].push_back(
        std::vector<double>(data.begin() + s * features, data.begin() + (s + 1) * features));
  sonify::test::write_file(dir.file("pca.json"), spec.dump());
  auto r = sonify::test::run_program({"/usr/bin/python3",
                                      std::string(SONIFY_SOURCE_DIR) + "/tests/oracles/analysis.py", "--pca",
                                      dir.file("pca.json")});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto ref = nlohmann::json::parse(r.out);
  auto pca = pca_fit(data, samples, features, 3);
  REQUIRE(pca.ok());
  const auto t = *pca_transform(*pca, data, samples);
  for (std::size_t c = 0; c < 3; ++c) {
    double dot = 0;
    for (std::size_t j = 0; j < features; ++j)
      dot += pca->components[c][j] * ref["components"][c][j].get<double>();
    CHECK(std::fabs(dot) == Approx(1).epsilon(1e-9));
    const double sign = dot < 0 ? -1 : 1;
    CHECK(pca->explained_variance_ratio[c] ==
          Approx(ref["explained_variance_ratio"][c].get<double>()).epsilon(1e-9));
    CHECK(pca->explained_variance[c] == Approx(ref["explained_variance"][c].get<double>()).epsilon(1e-9));
    for (std::size_t s = 0; s < samples; ++s)
      CHECK(t[s * 3 + c] == Approx(sign * ref["transform"][s][c].get<double>()).margin(1e-9));
  }
}

TEST_CASE("an all-zero model and a constant model analyse to defined values", "[analysis]") {
  for (float value : {0.0f, 0.25f}) {
    INFO("every weight " << value);
    TempDir dir;
    auto model = Model::open(write_model(dir, [&](const std::string&, std::size_t) { return value; }));
    REQUIRE(model.ok());
    auto f = analyze_weights(*model, {});
    REQUIRE(f.ok());
    const std::string json = features_to_json(*f);
    CHECK(json.find("null") == std::string::npos);  // NaN and inf would be written as null
    CHECK(json.find("nan") == std::string::npos);
    CHECK(f->tonality.source == "flat");
    CHECK(f->tonality.root_name == "C");
    for (const auto& m : f->matrices) {
      CHECK(m.moments.std == 0);
      CHECK(m.spectrum.condition_number == 0);
      CHECK(m.heavy_tail_index == 2);
    }
    for (const auto& t : f->transitions) {
      CHECK(t.wasserstein1 == 0);
      CHECK(t.spectral_delta == 0);
    }
  }
}

TEST_CASE("features JSON round trip is exact and bytes do not depend on threads", "[analysis]") {
  TempDir dir;
  std::mt19937 rng(5);
  std::normal_distribution<float> d(0, 0.3f);
  auto model = Model::open(write_model(
      dir, [&](const std::string&, std::size_t) { return d(rng); }, 4));
  REQUIRE(model.ok());
  AnalyzeOptions one, two;
  one.threads = 1;
  two.threads = 2;
  auto a = analyze_weights(*model, one);
  auto b = analyze_weights(*model, two);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  const std::string ja = features_to_json(*a);
  CHECK(ja == features_to_json(*b));
  auto back = features_from_json(ja, "features");
  REQUIRE(back.ok());
  CHECK(features_to_json(*back) == ja);
  CHECK(back->matrices.size() == a->matrices.size());
  CHECK(back->matrix(2, "down")->spectrum.singular_values == a->matrix(2, "down")->spectrum.singular_values);
  CHECK(back->vector(1, "attn_norm")->values == a->vector(1, "attn_norm")->values);
  CHECK(a->transitions.size() == 7 * 3);  // q k v o gate up down, 4 layers
  CHECK(a->tension.size() == 4);
  CHECK_FALSE(features_from_json("{}", "x").ok());
  CHECK_FALSE(features_from_json("[1,2", "x").ok());
}

namespace {

// A bfloat16 value per (tensor, index): uniform with a heavier column every 13th.
float streamed_value(std::size_t tensor, std::size_t k) {
  std::uint64_t z = (tensor + 1) * 0x9e3779b97f4a7c15ull + k;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  const float u = (static_cast<float>(z >> 40) / 16777216.0f - 0.5f) * (k % 13 == 0 ? 0.2f : 0.04f);
  return bf16_truncated(u);
}

// analyze_weights with `threads` threads and `svd`, required to succeed.
WeightFeatures analysed(const Model& model, int threads, SvdMethod svd = SvdMethod::Auto) {
  AnalyzeOptions options;
  options.threads = threads;
  options.svd = svd;
  auto features = analyze_weights(model, options);
  REQUIRE(features.ok());
  return std::move(*features);
}

// The config of a one-layer Llama that is nearly all embedding (vocab × hidden, tied).
std::string embedding_llama(int hidden, int vocab) {
  return R"({"model_type":"llama","hidden_size":)" + std::to_string(hidden) +
         R"(,"num_hidden_layers":1,"intermediate_size":24,"vocab_size":)" + std::to_string(vocab) +
         R"(,"max_position_embeddings":16,"num_attention_heads":4,"num_key_value_heads":2,)"
         R"("tie_word_embeddings":true})";
}

// The checkpoint of `config` with every tensor of streamed_value's values stored as `dtype`
// in dir; returns dir and the layout (sorted by name, tensor i holds streamed_value(i, ·)).
std::string write_streamed_model(const TempDir& dir, const std::string& config, DType dtype,
                                 std::vector<TensorDecl>& layout) {
  auto spec = model_spec_parse(config, "config");
  REQUIRE(spec.ok());
  layout.clear();
  for (const auto& e : model_layout(*spec)) layout.push_back({e.name, dtype, e.shape});
  std::sort(layout.begin(), layout.end(),
            [](const TensorDecl& a, const TensorDecl& b) { return a.name < b.name; });
  sonify::test::write_file(dir.file("config.json"), config);
  const std::size_t size = dtype == DType::BF16 ? 2 : 4;
  auto fill = [&](std::size_t i, unsigned char* dst, std::size_t n) {
    for (std::size_t k = 0; k < n / size; ++k) {
      const float v = streamed_value(i, k);
      std::uint32_t u;
      std::memcpy(&u, &v, 4);
      if (size == 2) u >>= 16;
      std::memcpy(dst + size * k, &u, size);
    }
  };
  REQUIRE(safetensors_write(dir.file("model.safetensors"), layout, {}, fill).ok());
  return dir.path();
}

}  // namespace

TEST_CASE("a streamed BF16 embedding: the same features as its float32 twin, any thread count",
          "[analysis]") {
  // 262144 × 260 entries (over 2^26): the embedding is measured as a large matrix. As BF16
  // it is streamed in row slices; the F32 twin holds the same values and is loaded whole.
  const std::string config = embedding_llama(260, 262144);
  std::vector<TensorDecl> layout;
  TempDir bf16_dir, f32_dir;
  auto bf16_model = Model::open(write_streamed_model(bf16_dir, config, DType::BF16, layout));
  auto f32_model = Model::open(write_streamed_model(f32_dir, config, DType::F32, layout));
  REQUIRE(bf16_model.ok());
  REQUIRE(f32_model.ok());
  REQUIRE(bf16_model->find(-1, Role::Embed)->numel() > (std::int64_t{1} << 26));
  const WeightFeatures streamed1 = analysed(*bf16_model, 1), streamed2 = analysed(*bf16_model, 2);
  WeightFeatures whole = analysed(*f32_model, 2);
  const std::string js = features_to_json(streamed2);
  CHECK(features_to_json(streamed1) == js);
  whole.model_path = streamed2.model_path;
  whole.checkpoint_id = streamed2.checkpoint_id;
  CHECK(features_to_json(whole) == js);
  // And against references outside the analysis: the percentile's neighbours by
  // nth_element, the Frobenius norm summed here, a column norm.
  const MatrixFeatures* embed = streamed2.matrix(-1, "embed");
  REQUIRE(embed != nullptr);
  CHECK(embed->spectrum.method == "gram");
  std::size_t index = 0;
  while (layout[index].name != embed->tensor) ++index;
  const std::size_t n = static_cast<std::size_t>(embed->rows * embed->cols);
  std::vector<float> x(n);
  double frob2 = 0, col7 = 0;
  for (std::size_t k = 0; k < n; ++k) {
    x[k] = streamed_value(index, k);
    frob2 += double(x[k]) * x[k];
    if (k % 260 == 7) col7 += double(x[k]) * x[k];
  }
  CHECK(embed->frobenius == Approx(std::sqrt(frob2)).epsilon(1e-10));  // summed in another order
  CHECK(embed->col_norms[7] == Approx(std::sqrt(col7)).epsilon(1e-6));
  const double pos = 0.98 * static_cast<double>(n - 1);
  const std::size_t lo = static_cast<std::size_t>(pos);
  std::nth_element(x.begin(), x.begin() + static_cast<std::ptrdiff_t>(lo), x.end());
  const double a = x[lo], b = *std::min_element(x.begin() + static_cast<std::ptrdiff_t>(lo) + 1, x.end());
  const double frac = pos - static_cast<double>(lo);
  CHECK(embed->p98 == (frac >= 0.5 ? b - (b - a) * (1 - frac) : a + (b - a) * frac));
}

TEST_CASE("fast spectrum of a streamed BF16 embedding: the sketch made slice by slice, any thread count",
          "[analysis]") {
  // 131072 × 520 (over 2^26 entries and at least kFastMinDim wide): --svd fast sketches it
  // from row slices converted again for every product, with the statistics beside it.
  const std::string config = embedding_llama(520, 131072);
  std::vector<TensorDecl> layout;
  TempDir dir;
  auto model = Model::open(write_streamed_model(dir, config, DType::BF16, layout));
  REQUIRE(model.ok());
  REQUIRE(model->find(-1, Role::Embed)->numel() > (std::int64_t{1} << 26));
  const WeightFeatures fast1 = analysed(*model, 1, SvdMethod::Fast),
                       fast2 = analysed(*model, 2, SvdMethod::Fast);
  const WeightFeatures reference = analysed(*model, 2);
  CHECK(features_to_json(fast1) == features_to_json(fast2));
  const MatrixFeatures* f = fast2.matrix(-1, "embed");
  const MatrixFeatures* e = reference.matrix(-1, "embed");
  REQUIRE(f != nullptr);
  REQUIRE(e != nullptr);
  CHECK(f->spectrum.method == "fast");
  CHECK(e->spectrum.method == "gram");
  // The statistics are the streamed ones whatever the spectrum.
  CHECK(f->frobenius == e->frobenius);
  CHECK(f->p98 == e->p98);
  const auto& fv = f->spectrum.singular_values;
  const auto& ev = e->spectrum.singular_values;
  REQUIRE(fv.size() == ev.size());
  const auto top = static_cast<std::size_t>(f->spectrum.fast_top);
  REQUIRE(top == static_cast<std::size_t>(kFastTop));
  INFO("top error " << f->spectrum.fast_top_error << ", bulk error " << f->spectrum.fast_bulk_error);
  // Against the Gram spectrum, itself good to √eps₃₂·σ₁ absolute.
  for (std::size_t i = 0; i < top; ++i)
    CHECK(std::fabs(fv[i] - ev[i]) <= f->spectrum.fast_top_error * ev[i] + 4e-4 * ev[0]);
  const std::vector<double> fb(fv.begin() + static_cast<std::ptrdiff_t>(top), fv.end()),
      eb(ev.begin() + static_cast<std::ptrdiff_t>(top), ev.end());
  CHECK(ks(fb, eb) <= f->spectrum.fast_bulk_error);
  double sum = 0;
  for (double x : fv) sum += x * x;
  CHECK(sum == Approx(f->frobenius * f->frobenius).epsilon(1e-6));
}

TEST_CASE("a skipped layer on either side of a thread's chain cut drops the same transitions", "[analysis]") {
  // With 2 threads a chain of 4 layers is cut into layers 0-1 and 2-3: the skipped layer
  // is the cut's last (1) or first (2) layer, each side of it arriving in either order.
  for (int bad : {1, 2}) {
    INFO("NaN in layer " << bad);
    TempDir dir;
    std::mt19937 rng(9);
    std::normal_distribution<float> d(0, 0.3f);
    const std::string bad_name = "model.layers." + std::to_string(bad) + ".mlp.up_proj.weight";
    auto model = Model::open(write_model(
        dir,
        [&](const std::string& name, std::size_t i) {
          return name == bad_name && i == 3 ? std::numeric_limits<float>::quiet_NaN() : d(rng);
        },
        4));
    REQUIRE(model.ok());
    AnalyzeOptions one, two;
    one.threads = 1;
    two.threads = 2;
    one.allow_nonfinite = two.allow_nonfinite = true;
    auto a = analyze_weights(*model, one);
    auto b = analyze_weights(*model, two);
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    CHECK(features_to_json(*a) == features_to_json(*b));
    REQUIRE(b->skipped_nonfinite.size() == 1);
    CHECK(b->skipped_nonfinite[0].first == bad_name);
    CHECK(b->transitions.size() == 7 * 3 - 2);
    for (const auto& t : b->transitions)
      if (t.role == "up") CHECK((t.from_layer != bad && t.to_layer != bad));
  }
}

TEST_CASE("different models get different keys", "[analysis][fixtures]") {
  // Synthetic models that differ only in their seed, and the three fixtures.
  // Keys are a deterministic but scrambled function of the gains (uniform over the 12
  // roots for random gains, see doc/features.md), so unrelated models collide like a
  // birthday problem over 12 x 7 keys: ask for near-uniform spread, not for no collision.
  std::set<std::string> keys, roots, fixture_keys;
  std::string listing;
  int count = 0;
  for (unsigned seed = 1; seed <= 6; ++seed) {
    TempDir dir;
    std::mt19937 rng(seed);
    std::normal_distribution<float> d(0, 0.1f);
    auto model = Model::open(write_model(
        dir,
        [&](const std::string& name, std::size_t) {
          return name.find("norm") != std::string::npos ? 1 + d(rng) : d(rng);
        },
        6));
    REQUIRE(model.ok());
    auto f = analyze_weights(*model, {});
    REQUIRE(f.ok());
    CHECK(f->tonality.source == "pca");
    keys.insert(f->tonality.root_name + " " + f->tonality.mode);
    roots.insert(f->tonality.root_name);
    listing += " seed" + std::to_string(seed) + "=" + f->tonality.root_name + "-" + f->tonality.mode;
    ++count;
  }
  for (const char* name : {"TinyStories-656K", "tiny-gpt2-random", "tiny-gemma3-random"}) {
    auto model = Model::open(sonify::test::fixtures_dir() + "/models/" + name);
    REQUIRE(model.ok());
    auto f = analyze_weights(*model, {});
    REQUIRE(f.ok());
    keys.insert(f->tonality.root_name + " " + f->tonality.mode);
    fixture_keys.insert(f->tonality.root_name + " " + f->tonality.mode);
    roots.insert(f->tonality.root_name);
    listing += std::string(" ") + name + "=" + f->tonality.root_name + "-" + f->tonality.mode;
    ++count;
  }
  INFO(count << " models, " << keys.size() << " distinct keys:" << listing);
  CHECK(fixture_keys.size() == 3);
  CHECK(keys.size() >= 7);
  CHECK(roots.size() >= 4);
}

TEST_CASE("Marchenko-Pastur law: support, moments and a hand-computed value", "[analysis]") {
  for (double q : {0.25, 0.5, 1.0}) {
    INFO("q " << q);
    const double a = (1 - std::sqrt(q)) * (1 - std::sqrt(q)), b = (1 + std::sqrt(q)) * (1 + std::sqrt(q));
    CHECK(marchenko_pastur_cdf(q, a - 1e-9) == 0);
    CHECK(marchenko_pastur_cdf(q, b + 1e-9) == 1);
    // Unit mean and variance q.
    double mean = 0, sq = 0;
    const int n = 4000;
    for (int i = 0; i < n; ++i) {
      const double x = marchenko_pastur_quantile(q, (i + 0.5) / n);
      mean += x;
      sq += x * x;
    }
    mean /= n;
    CHECK(mean == Approx(1).epsilon(0.01));
    CHECK(sq / n - mean * mean == Approx(q).epsilon(0.03));
    CHECK(marchenko_pastur_cdf(q, marchenko_pastur_quantile(q, 0.3)) == Approx(0.3).margin(1e-3));
  }
  // q = 1: F(1) = (4/π)∫_0^{π/6} cos²θ dθ = 1/3 + √3/(2π) (substituting λ = 4 sin²θ).
  CHECK(marchenko_pastur_cdf(1.0, 1.0) ==
        Approx(1.0 / 3 + std::sqrt(3.0) / (2 * 3.14159265358979)).margin(1e-4));
}

TEST_CASE("distance from random: an iid Gaussian matrix is near 0, a power-law spectrum near 1",
          "[analysis]") {
  std::mt19937 rng(7);
  std::normal_distribution<float> d(0, 1);
  const std::int64_t r = 64, c = 256;
  std::vector<float> w(static_cast<std::size_t>(r * c));
  for (float& x : w) x = d(rng);
  Spectrum s;
  s.singular_values = exact(w, r, c);
  compare_to_random(s, r, c);
  CHECK(s.mp_ks < random_mp_ks(64));
  CHECK(s.trainedness == 0);
  double total = 0, h = 0;
  for (double v : s.singular_values) total += v;
  for (double v : s.singular_values) h -= v / total * std::log(v / total);
  CHECK(h == Approx(s.mp_entropy).epsilon(0.01));
  // σ_i = 1/(i+1): a heavy-tailed, far from random spectrum.
  Spectrum p;
  for (int i = 0; i < 64; ++i) p.singular_values.push_back(1.0 / (i + 1));
  compare_to_random(p, 64, 256);
  CHECK(p.mp_ks > 0.3);
  CHECK(p.trainedness == 1);
  // An all-zero matrix has no distance to report.
  Spectrum z;
  z.singular_values.assign(8, 0.0);
  compare_to_random(z, 8, 8);
  CHECK(z.trainedness == 0);
}

TEST_CASE("trained-ness orders the trained fixtures above the random ones", "[analysis][fixtures]") {
  auto trainedness = [](const std::string& dir) {
    auto model = Model::open(dir);
    REQUIRE(model.ok());
    auto f = analyze_weights(*model, {});
    REQUIRE(f.ok());
    CHECK(f->layer_trainedness.size() == static_cast<std::size_t>(f->n_layers));
    return f->trainedness;
  };
  const std::string fx = sonify::test::fixtures_dir() + "/models/";
  const double stories = trainedness(fx + "TinyStories-656K");
  const double bundled = trainedness(std::string(SONIFY_SOURCE_DIR) + "/data/models/sonify-tiny");
  const double gpt2 = trainedness(fx + "tiny-gpt2-random");
  const double gemma = trainedness(fx + "tiny-gemma3-random");
  INFO("TinyStories " << stories << ", sonify-tiny " << bundled << ", gpt2-random " << gpt2
                      << ", gemma3-random " << gemma);
  CHECK(std::min(stories, bundled) > std::max(gpt2, gemma) + 0.2);
  CHECK(std::max(gpt2, gemma) < 0.15);
}
