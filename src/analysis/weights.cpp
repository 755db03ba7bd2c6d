// analyze_weights: the work plan. Matrices of one role form a chain processed in layer
// order (each keeps the previous layer's sorted values and spectrum for the transition
// statistics); chains and single matrices are jobs handed to worker threads. Very large
// matrices (the embedding) are read first, and their Gram matrix is split into fixed
// slices that all threads share. Every result lands in a slot fixed by the plan and
// sums run in a fixed order, so the output does not depend on the number of threads.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "lapack.h"
#include "sonify/analysis.h"
#include "sonify/system_probe.h"
#include "spectrum.h"
#include "stats.h"
#include "tonality.h"
#include "weightwatcher.h"

namespace sonify {
namespace {

using analysis::QuantileStats;

// Matrices with more entries than this (embeddings and output heads: 128256 × 4096 is 2 GB
// in float32) are measured one at a time by all threads, outside the chains. A BF16 one
// with rows ≥ cols on the Gram path is streamed: read in row slices, never whole in float32.
constexpr std::int64_t kLargeMatrix = std::int64_t{1} << 26;
// --svd fast on a streamed matrix: each product of the sketch converts the rows again, in
// slices of kSketchSlice rows (4 MB of float32 at 4096 wide, so the slice is still in cache
// for its second product), kSketchGroup slices a job; the jobs' sums are added in order.
constexpr std::int64_t kSketchSlice = 256;
constexpr std::int64_t kSketchGroup = 16;
// Rows per slice of a streamed matrix's statistics pass: about 1 MB of float32.
std::int64_t stream_rows(std::int64_t cols) {
  return std::max<std::int64_t>(1, (std::int64_t{1} << 18) / cols);
}

// Drops the pages of [data, data + nbytes) from this process's resident set (whole
// pages inside the range only); the file stays mapped and pages come back if read again.
void release_pages(const unsigned char* data, std::size_t nbytes) {
  const std::uintptr_t page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const std::uintptr_t begin = (reinterpret_cast<std::uintptr_t>(data) + page - 1) / page * page;
  const std::uintptr_t end = (reinterpret_cast<std::uintptr_t>(data) + nbytes) / page * page;
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

// Runs jobs 0..count-1 on `threads` threads (the caller is one of them).
void run_parallel(std::size_t count, int threads, const std::function<void(std::size_t)>& job) {
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t i = next++; i < count; i = next++) job(i);
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < std::min<int>(threads, static_cast<int>(count)); ++t) pool.emplace_back(worker);
  worker();
  for (auto& th : pool) th.join();
}

// The tensor as float32 in its logical layout, releasing the stored pages as they are
// converted, so a large tensor never has both forms resident. `reuse` (may be empty) gives
// its memory to the result: a chain's matrices share one shape, so the previous layer's
// buffer takes the new values without new pages or clearing.
Result<std::vector<float>> load(const Model& model, const RoleTensor& t, NormGain gain = NormGain::Stored,
                                int threads = 1, std::vector<float> reuse = {}) {
  const TensorBytes b = model.checkpoint().bytes(*t.source);
  if (t.transposed || t.groups > 1 || (gain == NormGain::Effective && role_is_norm(t.role))) {
    auto values = model.load_f32(t, gain);
    release_pages(b.data, t.source->nbytes);
    return values;
  }
  // Row slices of an [out, in] tensor are contiguous: convert them in chunks.
  const std::size_t esize = dtype_size(t.source->dtype);
  const std::size_t row = t.shape.size() == 2 ? static_cast<std::size_t>(t.shape[1]) : 1;
  const unsigned char* src = b.data + static_cast<std::size_t>(t.slice_begin) * row * esize;
  std::vector<float> out = std::move(reuse);
  out.resize(static_cast<std::size_t>(t.numel()));
  constexpr std::size_t kChunk = std::size_t{1} << 22;
  run_parallel((out.size() + kChunk - 1) / kChunk, threads, [&](std::size_t chunk) {
    const std::size_t done = chunk * kChunk;
    const std::size_t count = std::min(kChunk, out.size() - done);
    convert_to_f32(t.source->dtype, src + done * esize, count, out.data() + done);
    release_pages(src + done * esize, count * esize);
  });
  return out;
}

// What a chain keeps of a layer for the transition to the next: its values in order, as a
// table when every value is a bfloat16 one (512 KB), else as a sorted copy.
struct MatrixResult {
  MatrixFeatures features;
  analysis::ValueTable table;
  std::vector<float> sorted;
};

// The statistics of a matrix's values that do not need the spectrum: moments, row and
// column norms, ‖W‖F² and the value table. Fed row slices in order, each once to first()
// and again to second(), it gives the same bits as the whole matrix in one slice.
class ValueStatistics {
 public:
  ValueStatistics(std::int64_t rows, std::int64_t cols)
      : cols_(cols),
        moments_(static_cast<std::size_t>(rows * cols)),
        col_(static_cast<std::size_t>(cols), 0.0),
        row_norms_(static_cast<std::size_t>(rows)) {}

  // One row at a time, so a whole matrix is read from memory once for all of these.
  void first(const float* w, std::int64_t count) {
    const std::size_t width = static_cast<std::size_t>(cols_);
    for (std::int64_t i = 0; i < count; ++i) {
      const float* row = w + i * cols_;
      moments_.first(row, width);
      if (tabled_) tabled_ = analysis::value_table_add(table_, row, width);
      double s = 0;
      for (std::size_t j = 0; j < width; ++j) {
        const double v = row[j];
        s += v * v;
        col_[j] += v * v;
      }
      row_norms_[static_cast<std::size_t>(row_++)] = static_cast<float>(std::sqrt(s));
      frob2_ += s;
    }
  }
  void second(const float* w, std::int64_t count) {
    moments_.second(w, static_cast<std::size_t>(count * cols_));
  }

  double frobenius_squared() const { return frob2_; }
  // The value table, or null when some value is not a bfloat16 one.
  analysis::ValueTable* table() { return tabled_ ? &table_ : nullptr; }

  void fill(MatrixFeatures& f) {
    f.moments = moments_.result();
    f.bimodality = analysis::bimodality_coefficient(f.moments.skewness, f.moments.kurtosis,
                                                    static_cast<std::size_t>(f.rows * f.cols));
    f.row_norms = std::move(row_norms_);
    f.col_norms.resize(col_.size());
    for (std::size_t j = 0; j < col_.size(); ++j) f.col_norms[j] = static_cast<float>(std::sqrt(col_[j]));
    f.frobenius = std::sqrt(frob2_);
  }

 private:
  std::int64_t cols_, row_ = 0;
  analysis::MomentsStream moments_;
  std::vector<double> col_;
  std::vector<float> row_norms_;
  double frob2_ = 0;
  bool tabled_ = true;
  analysis::ValueTable table_;
};

// All statistics of one matrix. `values` holds them when the caller streamed the matrix
// (then w is empty), else they are computed from w. `gram` is the summed Gram lower
// triangle when the caller computed it already (shared slices), else empty. In a chain
// the values in order are kept for the transition: the table, or w itself sorted (moved
// out of w); otherwise w is left as it was, for the next load to reuse.
MatrixResult measure_matrix(const RoleTensor& t, std::vector<float>& w, ValueStatistics* values,
                            bool in_chain, const AnalyzeOptions& options, std::vector<double> gram,
                            analysis::GramWorkspace& ws,
                            std::optional<analysis::FastSpectrum> sketched = std::nullopt) {
  MatrixResult r;
  MatrixFeatures& f = r.features;
  f.layer = t.layer;
  f.role = std::string(role_name(t.role));
  f.tensor = t.source->name;
  f.rows = t.shape[0];
  f.cols = t.shape[1];
  std::optional<ValueStatistics> own;
  if (values == nullptr) {
    values = &own.emplace(f.rows, f.cols);
    values->first(w.data(), f.rows);
    values->second(w.data(), f.rows);
  }
  values->fill(f);
  const double frob2 = values->frobenius_squared();

  Spectrum& s = f.spectrum;
  if (analysis::uses_fast(options.svd, f.rows, f.cols)) {
    analysis::FastSpectrum fast;
    if (sketched) {  // made while the statistics were still running: the trace is fitted now
      fast = std::move(*sketched);
      analysis::fit_fast_trace(fast, frob2);
    } else {
      fast = analysis::singular_values_fast(w.data(), f.rows, f.cols, frob2,
                                            analysis::fast_seed(options.seed, f.tensor));
    }
    s.singular_values = std::move(fast.singular_values);
    s.method = "fast";
    s.fast_top = fast.top;
    s.fast_top_error = fast.top_error;
    s.fast_bulk_error = fast.bulk_error;
    s.accuracy_floor = std::sqrt(1.1920928955078125e-07) * s.singular_values.front();
  } else if (analysis::uses_gram(options.svd, f.rows, f.cols)) {
    bool refine = analysis::uses_gram64(options.svd, f.rows, f.cols);
    if (!refine) {
      const std::int64_t order = analysis::gram_order(f.rows, f.cols);
      if (gram.empty()) analysis::gram_matrix(w.data(), f.rows, f.cols, ws);
      s.singular_values =
          analysis::singular_values_from_gram(gram.empty() ? ws.sum.data() : gram.data(), order, ws.slice);
      s.method = "gram";
      const double smax = s.singular_values.empty() ? 0 : s.singular_values.front();
      s.accuracy_floor = std::sqrt(1.1920928955078125e-07) * smax;
      refine = options.svd != SvdMethod::Gram && !s.singular_values.empty() &&
               s.singular_values.back() < analysis::kRefineRatio * smax &&
               f.rows * f.cols <= analysis::kRefineMaxElements;
    }
    if (refine) {
      s.singular_values = analysis::singular_values_gram64(w.data(), f.rows, f.cols, ws);
      s.method = "gram64";
      s.accuracy_floor = analysis::kGram64Floor * s.singular_values.front();
    }
  } else {
    s.singular_values = analysis::singular_values_exact(w.data(), f.rows, f.cols, ws.wide);
    s.method = "exact";
    const double smax = s.singular_values.empty() ? 0 : s.singular_values.front();
    s.accuracy_floor = 2.220446049250313e-16 * static_cast<double>(std::max(f.rows, f.cols)) * smax;
  }
  analysis::summarise_spectrum(s, frob2);
  analysis::compare_to_random(s, f.rows, f.cols);
  f.weightwatcher = analysis::weightwatcher_metrics(s.singular_values, f.rows, f.cols);

  QuantileStats q;
  if (analysis::ValueTable* table = values->table()) {
    q = analysis::quantile_stats_table(*table, f.moments.mean, options.histogram_bins);
    if (in_chain) r.table = std::move(*table);
  } else if (in_chain) {
    q = analysis::quantile_stats_sorting(w, f.moments.mean, options.histogram_bins);
    r.sorted = std::move(w);
  } else {
    q = analysis::quantile_stats_selecting(w, f.moments.mean, options.histogram_bins);
  }
  f.p02 = q.p02;
  f.p98 = q.p98;
  f.histogram = std::move(q.histogram);
  f.heavy_tail_index = q.heavy_tail_index;
  return r;
}

// W1 between two layers' values, from whichever form each kept.
double wasserstein1(const MatrixResult& a, const MatrixResult& b) {
  const bool ta = !a.table.count.empty(), tb = !b.table.count.empty();
  if (ta && tb) return analysis::wasserstein1(a.table, b.table);
  if (ta) return analysis::wasserstein1(a.table, b.sorted);
  if (tb) return analysis::wasserstein1(a.sorted, b.table);
  return analysis::wasserstein1_sorted(a.sorted, b.sorted);
}

LayerTransition transition(const MatrixResult& from, const MatrixResult& to) {
  LayerTransition tr;
  tr.role = to.features.role;
  tr.from_layer = from.features.layer;
  tr.to_layer = to.features.layer;
  tr.wasserstein1 = wasserstein1(from, to);
  const auto& a = from.features.spectrum.singular_values;
  const auto& b = to.features.spectrum.singular_values;
  double diff = 0, base = 0;
  for (std::size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
    const double x = i < a.size() ? a[i] : 0, y = i < b.size() ? b[i] : 0;
    diff += (y - x) * (y - x);
    base += x * x;
  }
  tr.spectral_delta = base > 0 ? std::sqrt(diff / base) : 0;
  return tr;
}

std::int64_t count_nonfinite(const float* w, std::size_t n) {
  return std::count_if(w, w + n, [](float x) { return !std::isfinite(x); });
}

// Every statistic of a tensor with NaN or Inf would be NaN (and sorting it is undefined),
// so such a tensor is refused, or skipped when the options allow it. Returns true when the
// tensor is to be measured.
Result<bool> finite_verdict(const RoleTensor& t, std::int64_t nonfinite, const AnalyzeOptions& options) {
  if (nonfinite == 0) return true;
  if (!options.allow_nonfinite)
    return fail("tensor ", t.source->name, " has ", nonfinite, " non-finite values (NaN or Inf) of ",
                t.numel(), "; the checkpoint is damaged (analyze --allow-nonfinite skips such tensors)");
  return false;
}

Result<bool> check_finite(const RoleTensor& t, const std::vector<float>& w, const AnalyzeOptions& options,
                          std::int64_t* nonfinite) {
  *nonfinite = count_nonfinite(w.data(), w.size());
  return finite_verdict(t, *nonfinite, options);
}

bool is_matrix(const RoleTensor& t) { return t.part == Part::Weight && t.shape.size() == 2; }

// Rough CPU seconds of one matrix on a 2020s core, only for the progress estimate: the Gram
// product (min²·max at ~100 GFLOP/s) and eigen-solve (min³ at ~40 GFLOP/s) in float, at
// half those rates in double (a gram64 spectrum), ~16 ns an entry for conversion and
// statistics (measured on the Llama-3.2-1B shape).
double estimated_gram_seconds(const RoleTensor& t) {
  return static_cast<double>(t.numel()) * static_cast<double>(std::min(t.shape[0], t.shape[1])) / 1e11;
}

// The products of --svd fast: 4·kFastBlock flops per entry and step, at ~70 GFLOP/s (the
// fused 16-column kernels: 64–75 GFLOP/s on one core in a standalone bench on an
// 8192 × 4096 matrix).
double estimated_sketch_seconds(const RoleTensor& t) {
  return static_cast<double>(t.numel()) * 4 * analysis::kFastBlock * analysis::kFastBlockSteps / 7e10;
}

double estimated_seconds(const RoleTensor& t, SvdMethod method) {
  if (analysis::uses_fast(method, t.shape[0], t.shape[1]))
    return estimated_sketch_seconds(t) + static_cast<double>(t.numel()) * 1.6e-8;
  const double small = static_cast<double>(std::min(t.shape[0], t.shape[1]));
  const double once = estimated_gram_seconds(t) + small * small * small / 4e10;
  return once * (analysis::uses_gram64(SvdMethod::Auto, t.shape[0], t.shape[1]) ? 2 : 1) +
         static_cast<double>(t.numel()) * 1.6e-8;
}

}  // namespace

std::string_view svd_method_name(SvdMethod method) {
  switch (method) {
    case SvdMethod::Auto:
      return "auto";
    case SvdMethod::Exact:
      return "exact";
    case SvdMethod::Gram:
      return "gram";
    case SvdMethod::Fast:
      return "fast";
  }
  return "?";
}

Result<WeightFeatures> analyze_weights(const Model& model, const AnalyzeOptions& options) {
  if (options.histogram_bins < 1 || options.histogram_bins > 1000000)
    return fail("histogram bins must be between 1 and 1000000, got ", options.histogram_bins);
  const ModelSpec& spec = model.spec();
  WeightFeatures out;
  out.model_path = model.path();
  out.family = std::string(family_name(spec.family));
  out.n_layers = spec.n_layers;
  out.hidden_size = spec.hidden_size;
  out.histogram_bins = options.histogram_bins;
  out.svd_option = std::string(svd_method_name(options.svd));
  SONIFY_ASSIGN_OR_RETURN(id, checkpoint_identity(model));
  out.checkpoint_id = id;
  const analysis::BlasSingleThread blas_single_thread;
  // The options the matrices are measured with: Auto on a big model means Fast.
  AnalyzeOptions run = options;
  if (options.svd == SvdMethod::Auto) {
    std::int64_t weights = 0;
    for (const auto& t : model.tensors())
      if (is_matrix(t)) weights += t.numel();
    if (weights > kSvdAutoFastWeights) run.svd = SvdMethod::Fast;
  }
  if (run.svd == SvdMethod::Fast) out.svd_seed = options.seed;
  const int threads = options.threads > 0 ? options.threads : default_threads();

  // The plan: matrix slots in tensor order, grouped into chains by role.
  const RoleTensor* embed = model.find(-1, Role::Embed);
  const bool tied = embed != nullptr &&
                    (embed->tied || (model.find(-1, Role::LmHead) && model.find(-1, Role::LmHead)->tied));
  std::vector<const RoleTensor*> matrices;
  std::vector<const RoleTensor*> vectors;
  for (const auto& t : model.tensors()) {
    if (is_matrix(t)) {
      if (t.role == Role::LmHead && tied) continue;
      matrices.push_back(&t);
    } else {
      vectors.push_back(&t);
    }
  }
  std::vector<MatrixResult> results(matrices.size());
  std::vector<std::vector<std::size_t>> chains;  // slot indices, layer order
  std::map<Role, std::size_t> chain_of;
  std::vector<std::size_t> large;
  for (std::size_t i = 0; i < matrices.size(); ++i) {
    const RoleTensor& t = *matrices[i];
    if (t.numel() > kLargeMatrix) {
      large.push_back(i);
    } else if (t.layer < 0) {
      chains.push_back({i});
    } else {
      auto it = chain_of.find(t.role);
      if (it == chain_of.end()) it = chain_of.emplace(t.role, chains.size()).first, chains.emplace_back();
      chains[it->second].push_back(i);
    }
  }
  std::vector<std::optional<LayerTransition>> transition_into(matrices.size());  // by the later layer's slot
  std::vector<std::optional<Error>> errors(matrices.size() + 1);
  std::vector<std::int64_t> nonfinite(matrices.size(), 0);
  // Progress in matrices, and in estimated work so the time left is not skewed by one
  // embedding worth dozens of small matrices. The vectors count as one last unit.
  std::vector<double> work(matrices.size()), credited(matrices.size(), 0.0);
  double work_total = 0;
  for (std::size_t i = 0; i < matrices.size(); ++i)
    work_total += work[i] = estimated_seconds(*matrices[i], run.svd);
  std::mutex progress_mutex;
  std::size_t done = 0;
  double work_done = 0;
  const std::size_t total = matrices.size() + 1;
  // Credits `amount` of slot's work (all of what is left when negative); `finished` counts it.
  auto advance = [&](std::size_t slot, double amount, bool finished) {
    std::lock_guard<std::mutex> lock(progress_mutex);
    if (slot < work.size()) {
      if (amount < 0) amount = work[slot] - credited[slot];
      credited[slot] += amount;
      work_done += amount;
    }
    done += finished;
    if (options.progress)
      options.progress(done, total, work_total > 0 ? std::min(1.0, work_done / work_total) : 1.0);
  };
  auto tick = [&](std::size_t slot) { advance(slot, -1, true); };
  if (options.progress) options.progress(0, total, 0);

  // Large matrices one at a time, all threads on each. A streamed one (BF16, rows ≥ cols,
  // Gram or fast path) is never whole in float32: the statistics pass and each Gram slice
  // (or each fixed group of sketch slices, once for every product of --svd fast) are jobs
  // that convert their own row slices from the mapped tensor; a GramFolder sums the slices
  // in gram_matrix's order. Other large ones are loaded whole. The eigenvalues and
  // summaries of each then run beside the chains below (a whole one only if it is the
  // last, so at most one is held in float32).
  struct Pending {
    std::size_t slot;
    std::vector<float> w;
    std::vector<double> gram;
    std::optional<ValueStatistics> values;
    std::optional<analysis::FastSpectrum> sketched;
  };
  std::vector<Pending> pending;
  for (std::size_t slot : large) {
    const RoleTensor& t = *matrices[slot];
    const std::int64_t rows = t.shape[0], cols = t.shape[1];
    const bool streamable = t.source->dtype == DType::BF16 && !t.transposed && t.groups == 1 &&
                            rows >= cols && rows > 0 && cols > 0;
    const bool sketch = streamable && analysis::uses_fast(run.svd, rows, cols);
    const bool on_gram =
        !analysis::uses_fast(run.svd, rows, cols) && analysis::uses_gram(run.svd, rows, cols);
    const std::int64_t gram_slices = on_gram ? analysis::gram_slices(rows, cols) : 0;
    const double per_slice = on_gram ? estimated_gram_seconds(t) / static_cast<double>(gram_slices) : 0;
    std::optional<analysis::GramFolder> folder;
    if (on_gram) folder.emplace(rows, cols);
    std::vector<double> gram;
    if (streamable && (on_gram || sketch)) {
      const TensorBytes b = model.checkpoint().bytes(*t.source);
      const unsigned char* base = b.data + static_cast<std::size_t>(t.slice_begin * cols) * 2;
      // Rows [begin, begin + count) as float32 in `buffer`; their stored pages are dropped,
      // except while the sketch still has products to make over them.
      auto read = [&](std::int64_t begin, std::int64_t count, std::vector<float>& buffer) {
        const std::size_t n = static_cast<std::size_t>(count * cols);
        buffer.resize(n);
        const unsigned char* src = base + static_cast<std::size_t>(begin * cols) * 2;
        convert_to_f32(DType::BF16, src, n, buffer.data());
        if (!sketch) release_pages(src, n * 2);
        return buffer.data();
      };
      ValueStatistics values(rows, cols);
      auto statistics = [&] {
        std::vector<float> buffer;
        const std::int64_t step = stream_rows(cols);
        for (std::int64_t r = 0; r < rows; r += step) {
          const std::int64_t count = std::min(step, rows - r);
          const float* w = read(r, count, buffer);
          nonfinite[slot] += count_nonfinite(w, static_cast<std::size_t>(count * cols));
          values.first(w, count);
        }
        if (nonfinite[slot] > 0) return;
        for (std::int64_t r = 0; r < rows; r += step) {
          const std::int64_t count = std::min(step, rows - r);
          values.second(read(r, count, buffer), count);
        }
      };
      std::optional<analysis::FastSpectrum> sketched;
      if (sketch) {
        // The statistics on one thread while the others make the sketch's products (with
        // one thread, one after the other): each is about a pass of conversion and
        // arithmetic per product of the sketch, so the two take about as long.
        // Once the statistics are done, their thread joins the products (the groups and
        // their order are fixed, so the sums do not depend on how many threads make them).
        std::atomic<bool> counted{threads <= 1};
        std::thread side;
        if (threads > 1)
          side = std::thread([&] {
            statistics();
            counted = true;
          });
        else
          statistics();
        const std::int64_t slices = (rows + kSketchSlice - 1) / kSketchSlice;
        const std::int64_t jobs = (slices + kSketchGroup - 1) / kSketchGroup;
        const double per_job =
            estimated_sketch_seconds(t) / static_cast<double>(jobs * analysis::kFastBlockSteps);
        std::vector<std::vector<float>> sums(static_cast<std::size_t>(jobs));
        // With 16 columns the fused kernels take x and the sums row-major (cols × 16).
        std::vector<float> xt;
        auto product = [&](const float* x, std::int64_t l, float* y) {
          const bool fused = l == 16 && analysis::has_gram_rows_product16();
          if (fused) {
            xt.resize(static_cast<std::size_t>(cols * 16));
            analysis::rows16_of_columns(x, cols, xt.data());
          }
          run_parallel(static_cast<std::size_t>(jobs), counted ? threads : threads - 1, [&](std::size_t job) {
            std::vector<float> buffer, inner(fused ? 0 : static_cast<std::size_t>(kSketchSlice * l));
            std::vector<float>& sum = sums[job];
            sum.assign(static_cast<std::size_t>(cols * l), 0.0f);
            for (std::int64_t k = 0; k < kSketchGroup; ++k) {
              const std::int64_t begin = (static_cast<std::int64_t>(job) * kSketchGroup + k) * kSketchSlice;
              if (begin >= rows) break;
              const std::int64_t count = std::min(kSketchSlice, rows - begin);
              const float* w = read(begin, count, buffer);
              if (fused)
                analysis::gram_rows_product16(w, count, cols, xt.data(), sum.data());
              else
                analysis::gram_rows_product(w, count, cols, x, l, inner.data(), sum.data(), 1.0f);
            }
            advance(slot, per_job, false);
          });
          for (std::int64_t i = 0; i < cols * l; ++i) {
            // Element i of column-major y: row j, column c; the sums are laid out like x.
            const std::int64_t j = i % cols, c = i / cols;
            const std::size_t at = static_cast<std::size_t>(fused ? j * 16 + c : i);
            double v = 0;
            for (const auto& sum : sums) v += sum[at];
            y[i] = static_cast<float>(v);
          }
        };
        // Products over non-finite values are not worth a spectrum; the verdict below decides.
        try {
          sketched = analysis::singular_values_fast(product, cols, -1,
                                                    analysis::fast_seed(run.seed, t.source->name));
        } catch (const std::exception&) {
          if (side.joinable()) side.join();
          if (nonfinite[slot] == 0) throw;
        }
        if (side.joinable()) side.join();
        release_pages(base, static_cast<std::size_t>(rows * cols) * 2);
      } else {
        // Job 0 is the statistics, then one job per Gram slice, each converting its own rows
        // into a buffer from `buffers` (fresh 16–32 MB blocks would cost page faults).
        std::mutex buffers_mutex;
        std::vector<std::vector<float>> buffers;
        run_parallel(static_cast<std::size_t>(1 + gram_slices), threads, [&](std::size_t job) {
          if (job == 0) {
            statistics();
            return;
          }
          std::vector<float> buffer;
          {
            std::lock_guard<std::mutex> lock(buffers_mutex);
            if (!buffers.empty()) buffer = std::move(buffers.back()), buffers.pop_back();
          }
          const std::int64_t k = static_cast<std::int64_t>(job) - 1;
          const std::int64_t begin = k * analysis::kGramSlice;
          folder->add(k,
                      folder->product(read(begin, std::min(analysis::kGramSlice, rows - begin), buffer), k));
          advance(slot, per_slice, false);
          std::lock_guard<std::mutex> lock(buffers_mutex);
          buffers.push_back(std::move(buffer));
        });
        gram = folder->result();
      }
      SONIFY_ASSIGN_OR_RETURN(finite, finite_verdict(t, nonfinite[slot], options));
      if (!finite) {
        tick(slot);
        continue;
      }
      pending.push_back(Pending{slot, {}, std::move(gram), std::move(values), std::move(sketched)});
      continue;
    }
    auto w = load(model, t, NormGain::Stored, threads);
    if (!w.ok()) return w.error();
    SONIFY_ASSIGN_OR_RETURN(finite, check_finite(t, *w, options, &nonfinite[slot]));
    if (!finite) {
      tick(slot);
      continue;
    }
    if (on_gram) {
      const std::int64_t step = rows >= cols ? analysis::kGramSlice * cols : analysis::kGramSlice;
      run_parallel(static_cast<std::size_t>(gram_slices), threads, [&](std::size_t job) {
        const std::int64_t k = static_cast<std::int64_t>(job);
        folder->add(k, folder->product(w->data() + k * step, k));
        advance(slot, per_slice, false);
      });
      gram = folder->result();
    }
    if (slot == large.back()) {
      pending.push_back(Pending{slot, std::move(*w), std::move(gram), std::nullopt, std::nullopt});
      break;
    }
    analysis::GramWorkspace ws;
    results[slot] = measure_matrix(t, *w, nullptr, false, run, std::move(gram), ws);
    tick(slot);
  }

  // Chains are cut into up to `threads` segments of at least two layers, run largest first
  // so the threads finish together (2 threads on 5 equal chains would leave one idle for a
  // fifth of the time); the large matrix's statistics go first of all.
  struct Segment {
    std::size_t chain, begin, end;  // positions [begin, end) in chains[chain]
    double cost = 0;
  };
  std::vector<Segment> segments;
  for (std::size_t c = 0; c < chains.size(); ++c) {
    const std::size_t size = chains[c].size();
    const std::size_t parts =
        std::max<std::size_t>(1, std::min<std::size_t>(static_cast<std::size_t>(threads), size / 2));
    for (std::size_t p = 0; p < parts; ++p) {
      Segment seg{c, size * p / parts, size * (p + 1) / parts};
      for (std::size_t i = seg.begin; i < seg.end; ++i) seg.cost += work[chains[c][i]];
      segments.push_back(seg);
    }
  }
  std::stable_sort(segments.begin(), segments.end(),
                   [](const Segment& a, const Segment& b) { return a.cost > b.cost; });
  // A cut between the layers in slots `last` (ending one segment) and `first` (starting
  // the next): both arrive, in either order, and the second computes the transition (both
  // sorted arrays are then present). It frees `last`'s values, and `first`'s if its own
  // segment has moved past it (released); else that segment reuses them as usual.
  struct Cut {
    std::size_t last = 0;
    std::mutex mutex;
    int arrived = 0;
    bool valid = true, released = false;
  };
  std::map<std::size_t, Cut> cuts;  // by `first`; complete before the threads start
  for (const Segment& seg : segments)
    if (seg.begin > 0) cuts[chains[seg.chain][seg.begin]].last = chains[seg.chain][seg.begin - 1];
  auto arrive = [&](std::size_t first, bool valid) {
    Cut& cut = cuts.at(first);
    std::lock_guard<std::mutex> lock(cut.mutex);
    cut.valid = cut.valid && valid;
    if (++cut.arrived < 2) return;
    if (cut.valid) transition_into[first] = transition(results[cut.last], results[first]);
    results[cut.last].sorted = {}, results[cut.last].table = {};
    if (cut.released) results[first].sorted = {}, results[first].table = {};
  };
  // Whether `first`'s own segment may take its values now (the cut is done with them).
  auto release = [&](std::size_t first) {
    Cut& cut = cuts.at(first);
    std::lock_guard<std::mutex> lock(cut.mutex);
    cut.released = true;
    return cut.arrived == 2;
  };
  // A finished segment's workspace and spare values buffer go to the next segment started:
  // fresh blocks would cost page faults and clearing again.
  struct Scratch {
    analysis::GramWorkspace ws;
    std::vector<float> spare;  // the values of the layer before last, for the next load
  };
  std::mutex scratch_mutex;
  std::vector<Scratch> scratch_pool;
  const std::size_t first_job = pending.size();
  run_parallel(first_job + segments.size(), threads, [&](std::size_t k) {
    if (k < first_job) {
      Pending& p = pending[k];
      analysis::GramWorkspace ws;
      results[p.slot] = measure_matrix(*matrices[p.slot], p.w, p.values ? &*p.values : nullptr, false, run,
                                       std::move(p.gram), ws, std::move(p.sketched));
      p.w = {}, p.values.reset();
      tick(p.slot);
      return;
    }
    const Segment& seg = segments[k - first_job];
    const auto& chain = chains[seg.chain];
    MatrixResult* previous = nullptr;
    bool previous_after_cut = false;
    // Whether this segment may drop or reuse the previous layer's values.
    auto own_previous = [&] { return !previous_after_cut || release(chain[seg.begin]); };
    Scratch scratch;
    {
      std::lock_guard<std::mutex> lock(scratch_mutex);
      if (!scratch_pool.empty()) scratch = std::move(scratch_pool.back()), scratch_pool.pop_back();
    }
    analysis::GramWorkspace& ws = scratch.ws;
    std::vector<float>& spare = scratch.spare;
    for (std::size_t i = seg.begin; i < seg.end; ++i) {
      const std::size_t slot = chain[i];
      const RoleTensor& t = *matrices[slot];
      auto w = load(model, t, NormGain::Stored, 1, std::move(spare));
      if (!w.ok()) {
        errors[slot] = w.error();
        return;
      }
      auto finite = check_finite(t, *w, options, &nonfinite[slot]);
      if (!finite.ok()) {
        errors[slot] = finite.error();
        return;
      }
      if (*finite) {
        results[slot] = measure_matrix(t, *w, nullptr, true, run, {}, ws);
        if (previous != nullptr) {
          transition_into[slot] = transition(*previous, results[slot]);
          if (own_previous()) {
            // The next load reuses this layer's buffer, or the previous layer's sorted copy
            // when this layer's values became its own sorted copy.
            if (w->empty()) spare = std::move(previous->sorted);
            previous->sorted = {}, previous->table = {};
          }
        }
        if (!w->empty()) spare = std::move(*w);
      } else {
        // A transition across the skipped layer would compare non-adjacent layers.
        if (previous != nullptr && own_previous()) previous->sorted = {}, previous->table = {};
        spare = std::move(*w);
      }
      const bool after_cut = i == seg.begin && seg.begin > 0;
      if (after_cut) arrive(slot, *finite);
      if (i + 1 == seg.end && seg.end < chain.size()) arrive(chain[i + 1], *finite);
      previous = *finite ? &results[slot] : nullptr;
      previous_after_cut = after_cut;
      tick(slot);
    }
    // The last layer's values are needed only by a cut behind it.
    if (previous != nullptr && seg.end == chain.size() && own_previous())
      previous->sorted = {}, previous->table = {};
    std::lock_guard<std::mutex> lock(scratch_mutex);
    scratch_pool.push_back(std::move(scratch));
  });
  for (const auto& e : errors)
    if (e) return *e;

  for (std::size_t i = 0; i < results.size(); ++i) {
    if (nonfinite[i] > 0)
      out.skipped_nonfinite.emplace_back(matrices[i]->source->name, nonfinite[i]);
    else
      out.matrices.push_back(std::move(results[i].features));
  }
  for (const auto& chain : chains)
    for (std::size_t slot : chain)
      if (transition_into[slot]) out.transitions.push_back(std::move(*transition_into[slot]));

  // Vectors: small, read on this thread.
  std::vector<std::vector<double>> attn_gains;
  for (const RoleTensor* t : vectors) {
    auto values = load(model, *t, NormGain::Stored);
    if (!values.ok()) return values.error();
    std::int64_t bad = 0;
    SONIFY_ASSIGN_OR_RETURN(finite, check_finite(*t, *values, options, &bad));
    if (!finite) {
      out.skipped_nonfinite.emplace_back(t->source->name, bad);
      continue;
    }
    VectorFeatures v;
    v.layer = t->layer;
    v.role = std::string(role_name(t->role));
    v.part = t->part == Part::Bias ? "bias" : "weight";
    v.tensor = t->source->name;
    v.gain_offset = role_is_norm(t->role) && t->part == Part::Weight ? spec.norm_weight_offset : 0;
    v.moments = analysis::moments_of(values->data(), values->size());
    double l2 = 0;
    for (float x : *values) l2 += double(x) * x;
    v.l2 = std::sqrt(l2);
    v.values = std::move(*values);
    if (t->role == Role::AttnNorm && t->part == Part::Weight && t->layer >= 0) {
      std::vector<double> g(v.values.begin(), v.values.end());
      for (double& x : g) x += v.gain_offset;
      attn_gains.push_back(std::move(g));
    }
    out.vectors.push_back(std::move(v));
  }

  out.tension.assign(static_cast<std::size_t>(std::max(spec.n_layers, 0)), 0.0);
  for (int l = 0; l < spec.n_layers; ++l) {
    auto mean_frob = [&](std::initializer_list<const char*> roles) {
      double sum = 0;
      int count = 0;
      for (const char* r : roles)
        if (const MatrixFeatures* m = out.matrix(l, r)) sum += m->frobenius, ++count;
      return count ? sum / count : 0.0;
    };
    out.tension[static_cast<std::size_t>(l)] =
        mean_frob({"q", "k", "v", "o"}) / (mean_frob({"gate", "up", "down"}) + 1e-9);
  }
  out.layer_trainedness.assign(static_cast<std::size_t>(std::max(spec.n_layers, 0)), 0.0);
  {
    // Matrices under 8 wide have too few singular values for a distribution distance.
    std::vector<double> sum(out.layer_trainedness.size(), 0.0), count(out.layer_trainedness.size(), 0.0);
    double all = 0, n = 0;
    for (const auto& m : out.matrices) {
      if (std::min(m.rows, m.cols) < 8) continue;
      all += m.spectrum.trainedness, ++n;
      if (m.layer >= 0 && m.layer < spec.n_layers) {
        sum[static_cast<std::size_t>(m.layer)] += m.spectrum.trainedness;
        count[static_cast<std::size_t>(m.layer)] += 1;
      }
    }
    for (std::size_t l = 0; l < sum.size(); ++l)
      out.layer_trainedness[l] = count[l] > 0 ? sum[l] / count[l] : 0.0;
    out.trainedness = n > 0 ? all / n : 0.0;
  }
  out.tonality = analysis::tonality_from_gains(attn_gains);
  tick(matrices.size());
  return out;
}

}  // namespace sonify
