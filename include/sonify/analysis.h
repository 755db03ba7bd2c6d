// The analysis core: measures a model's weights into WeightFeatures, with a cache keyed
// by the checkpoint's identity. Implemented with LAPACK in src/analysis; no LAPACK here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "sonify/features.h"
#include "sonify/model.h"
#include "sonify/result.h"

namespace sonify {

// How singular values are computed.
enum class SvdMethod {
  Auto,   // exact for small matrices, Gram eigenvalues for large ones (doc/features.md)
  Exact,  // LAPACK dgesdd in double for every matrix (slow on large models)
  Gram,   // eigenvalues of the smaller Gram matrix for every matrix
  Fast,   // leading σ by seeded block Lanczos, the bulk by its Gauss quadrature, for
          // matrices at least 512 wide (the others as Auto); each spectrum says which
};

// Auto turns into Fast for models with more matrix weights than this.
constexpr std::int64_t kSvdAutoFastWeights = 5'000'000'000;

// "auto", "exact", "gram", "fast".
std::string_view svd_method_name(SvdMethod method);

struct AnalyzeOptions {
  int histogram_bins = 32;
  SvdMethod svd = SvdMethod::Auto;
  int threads = 0;         // 0: all available cores. The result does not depend on it.
  std::uint64_t seed = 0;  // of the Fast sketches (recorded in the features when used)
  // A tensor holding NaN or Inf fails the analysis unless this is set; then it is left out
  // of the features and listed in WeightFeatures::skipped_nonfinite.
  bool allow_nonfinite = false;
  // Called after each finished matrix (from worker threads, one call at a time); may be
  // empty. `work` in [0, 1] is the estimated fraction of the work done (matrices differ
  // in cost by orders of magnitude), for a time-left estimate.
  std::function<void(std::size_t done, std::size_t total, double work)> progress;
};

// Measures every weight of `model`. Reads one tensor at a time per thread, so memory
// stays near the size of the largest tensor (as f32) plus what the OS keeps mapped.
// The result is identical, byte for byte once serialised, for any `threads`.
Result<WeightFeatures> analyze_weights(const Model& model, const AnalyzeOptions& options);

// Identity of the checkpoint's files: a hex hash of every file's path, size, mtime and
// safetensors header bytes. Changes when any file is rewritten.
Result<std::string> checkpoint_identity(const Model& model);

// $XDG_CACHE_HOME/sonify, else $HOME/.cache/sonify.
Result<std::string> cache_dir();

// Where the cached features of `model` analysed with `options` live.
Result<std::string> features_cache_path(const Model& model, const AnalyzeOptions& options);

// analyze_weights through the cache: returns the cached features when an entry for this
// checkpoint identity and these options exists and parses; otherwise analyses and
// stores the result (atomically). `*from_cache` says which happened. A corrupt or stale
// entry is recomputed and overwritten; an entry that parses but does not describe this
// model's tensors (layers, shapes, ranges) is too, and `*note` (when given) says why.
Result<WeightFeatures> analyze_weights_cached(const Model& model, const AnalyzeOptions& options,
                                              bool* from_cache, std::string* note = nullptr);

// True when this build's analysis code can run on this CPU (it may be compiled for AVX2).
bool analysis_cpu_supported();

}  // namespace sonify
