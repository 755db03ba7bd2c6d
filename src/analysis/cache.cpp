// Checkpoint identity and the features cache. Compiled without the AVX2 flags of the
// numeric files, so analysis_cpu_supported() runs anywhere.
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/atomic_file.h"
#include "sonify/analysis.h"
#include "sonify/scale.h"

namespace sonify {
namespace {

// Bumped whenever a statistic's definition changes, so old cache entries are not reused.
constexpr int kAnalysisRevision = 4;

struct Fnv {
  std::uint64_t h = 1469598103934665603ull;
  void add(const void* data, std::size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
  }
  void add(const std::string& s) { add(s.data(), s.size() + 1); }
  void add(std::uint64_t v) { add(&v, sizeof v); }
  std::string hex() const {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
    return buf;
  }
};

// "features-HASH-": HASH covers the model path, the options and the format; the
// checkpoint identity follows. Entries sharing a prefix are versions of one analysis.
std::string cache_prefix(const Model& model, const AnalyzeOptions& options) {
  Fnv key;
  key.add(std::filesystem::absolute(model.path()).lexically_normal().string());
  key.add(static_cast<std::uint64_t>(WeightFeatures::kFormatVersion));
  key.add(static_cast<std::uint64_t>(kAnalysisRevision));
  key.add(static_cast<std::uint64_t>(options.histogram_bins));
  key.add(std::string(svd_method_name(options.svd)));
  // Added only when set, so the keys of finite analyses stay what they were.
  if (options.allow_nonfinite) key.add(std::string("allow_nonfinite"));
  if (options.seed != 0) key.add(options.seed);
  return "features-" + key.hex() + "-";
}

// Removes the entries of the same analysis for other checkpoint identities (the model
// was rewritten since), so the cache does not grow with every retraining.
void remove_stale(const std::string& path, const std::string& prefix) {
  std::error_code ec;
  const std::filesystem::path keep(path);
  for (const auto& e : std::filesystem::directory_iterator(keep.parent_path(), ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(prefix, 0) == 0 && e.path() != keep) std::filesystem::remove(e.path(), ec);
  }
}

// A cache entry is input like any other file: it may have been edited, truncated by a
// full disk or written by another build. Genres index layers, rows and pitch classes
// with what it says, so it must describe exactly this model's tensors. Returns an empty
// string when it does, else what is wrong.
std::string cache_mismatch(const WeightFeatures& f, const Model& model, const AnalyzeOptions& options) {
  const ModelSpec& spec = model.spec();
  if (f.n_layers != spec.n_layers || f.hidden_size != spec.hidden_size) return "layers or hidden size differ";
  if (f.tension.size() != static_cast<std::size_t>(spec.n_layers)) return "tension has the wrong length";
  for (double t : f.tension)
    if (!std::isfinite(t)) return "tension is not finite";
  const Tonality& k = f.tonality;
  if (k.root < 0 || k.root > 11 || k.root_midi < 0 || k.root_midi > 127 || !mode_from_name(k.mode).ok() ||
      (k.chroma.size() != 12))
    return "tonality out of range";
  std::size_t mi = 0, vi = 0;
  const RoleTensor* embed = model.find(-1, Role::Embed);
  const bool tied = embed != nullptr &&
                    (embed->tied || (model.find(-1, Role::LmHead) && model.find(-1, Role::LmHead)->tied));
  if (!f.skipped_nonfinite.empty() && !options.allow_nonfinite)
    return "tensors skipped without --allow-nonfinite";
  auto skipped = [&](const RoleTensor& t) {
    return std::any_of(f.skipped_nonfinite.begin(), f.skipped_nonfinite.end(),
                       [&](const auto& s) { return s.first == t.source->name; });
  };
  for (const auto& t : model.tensors()) {
    if (skipped(t)) continue;
    if (t.part == Part::Weight && t.shape.size() == 2) {
      if (t.role == Role::LmHead && tied) continue;
      if (mi >= f.matrices.size()) return "matrices missing";
      const MatrixFeatures& m = f.matrices[mi++];
      if (m.layer != t.layer || m.role != role_name(t.role) || m.rows != t.shape[0] || m.cols != t.shape[1] ||
          m.row_norms.size() != static_cast<std::size_t>(m.rows) ||
          m.col_norms.size() != static_cast<std::size_t>(m.cols) ||
          m.histogram.size() != static_cast<std::size_t>(options.histogram_bins) ||
          m.spectrum.singular_values.size() > static_cast<std::size_t>(std::min(m.rows, m.cols)))
        return "matrix " + m.tensor + " does not match the model";
    } else {
      if (vi >= f.vectors.size()) return "vectors missing";
      const VectorFeatures& v = f.vectors[vi++];
      if (v.layer != t.layer || v.role != role_name(t.role) ||
          v.values.size() != static_cast<std::size_t>(t.numel()))
        return "vector " + v.tensor + " does not match the model";
    }
  }
  if (mi != f.matrices.size() || vi != f.vectors.size()) return "more tensors than the model has";
  for (const auto& tr : f.transitions)
    if (tr.from_layer < 0 || tr.to_layer >= spec.n_layers || tr.from_layer >= tr.to_layer)
      return "a transition names layers the model does not have";
  return "";
}

}  // namespace

bool analysis_cpu_supported() {
#if defined(SONIFY_ANALYSIS_AVX2) && (defined(__x86_64__) || defined(__i386__))
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return true;
#endif
}

Result<std::string> checkpoint_identity(const Model& model) {
  Fnv a, b;
  b.h ^= 0x9e3779b97f4a7c15ull;  // a second, independent stream: 128 bits in total
  for (const CheckpointFile& f : model.checkpoint().files()) {
    struct stat st {};
    if (::stat(f.path.c_str(), &st) != 0) return fail(f.path, ": cannot stat the checkpoint file");
    std::ifstream in(f.path, std::ios::binary);
    std::string header(static_cast<std::size_t>(8 + f.header_bytes), '\0');
    if (!in.read(header.data(), static_cast<std::streamsize>(header.size())))
      return fail(f.path, ": cannot read the safetensors header");
    for (Fnv* h : {&a, &b}) {
      h->add(std::filesystem::absolute(f.path).lexically_normal().string());
      h->add(static_cast<std::uint64_t>(st.st_size));
      h->add(static_cast<std::uint64_t>(st.st_mtim.tv_sec));
      h->add(static_cast<std::uint64_t>(st.st_mtim.tv_nsec));
      h->add(header);
    }
  }
  return a.hex() + b.hex();
}

Result<std::string> cache_dir() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x != nullptr && *x == '/')
    return std::string(x) + "/sonify";
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0')
    return std::string(home) + "/.cache/sonify";
  return fail("no cache directory: neither XDG_CACHE_HOME nor HOME is set (use --no-cache)");
}

Result<std::string> features_cache_path(const Model& model, const AnalyzeOptions& options) {
  SONIFY_ASSIGN_OR_RETURN(dir, cache_dir());
  SONIFY_ASSIGN_OR_RETURN(id, checkpoint_identity(model));
  return dir + "/" + cache_prefix(model, options) + id + ".json";
}

Result<WeightFeatures> analyze_weights_cached(const Model& model, const AnalyzeOptions& options,
                                              bool* from_cache, std::string* note) {
  *from_cache = false;
  SONIFY_ASSIGN_OR_RETURN(path, features_cache_path(model, options));
  SONIFY_ASSIGN_OR_RETURN(id, checkpoint_identity(model));
  {
    std::ifstream in(path, std::ios::binary);
    if (in) {
      const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      auto cached = features_from_json(text, path);
      if (!cached.ok() && note != nullptr)
        *note = cached.error().message + "; the cache entry was recomputed";
      // A stale or corrupt entry (unparsable, other checkpoint or options) is recomputed.
      if (cached.ok() && cached->checkpoint_id == id && cached->histogram_bins == options.histogram_bins &&
          cached->svd_option == svd_method_name(options.svd) && cached->model_path == model.path()) {
        const std::string wrong = cache_mismatch(*cached, model, options);
        if (wrong.empty()) {
          *from_cache = true;
          return cached;
        }
        if (note != nullptr) *note = "the features cache " + path + " is invalid (" + wrong + "); recomputed";
      }
    }
  }
  SONIFY_ASSIGN_OR_RETURN(features, analyze_weights(model, options));
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  // A cache that cannot be written only costs time next run; the result is still good.
  if (!ec && write_file_atomic(path, features_to_json(features), Replace::Any).ok())
    remove_stale(path, cache_prefix(model, options));
  return features;
}

}  // namespace sonify
