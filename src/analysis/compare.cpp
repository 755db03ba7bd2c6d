// diff_models: both checkpoints read one tensor at a time per thread, ΔW summed in double.
#include "sonify/compare.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <thread>

#include "lapack.h"
#include "sonify/analysis.h"
#include "sonify/system_probe.h"
#include "spectrum.h"

namespace sonify {
namespace {

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::string tensor_label(const RoleTensor& t) {
  std::string s = t.layer < 0 ? std::string("model-level ") : "layer " + std::to_string(t.layer) + " ";
  s += std::string(role_name(t.role)) + (t.part == Part::Bias ? " bias" : " weight");
  return s + " (" + t.source->name + ")";
}

std::string stored_dtype(const RoleTensor& t) {
  return t.source->stored_as.empty() ? std::string(dtype_name(t.source->dtype)) : t.source->stored_as;
}

std::vector<const RoleTensor*> compared_tensors(const Model& m) {
  std::vector<const RoleTensor*> out;
  for (const auto& t : m.tensors())
    if (!t.tied) out.push_back(&t);
  return out;
}

Result<TensorChange> diff_tensor(const Model& a, const Model& b, const RoleTensor& ta, const RoleTensor& tb) {
  SONIFY_ASSIGN_OR_RETURN(wa, a.load_f32(ta, NormGain::Stored));
  SONIFY_ASSIGN_OR_RETURN(wb, b.load_f32(tb, NormGain::Stored));
  TensorChange c;
  c.layer = ta.layer;
  c.role = std::string(role_name(ta.role));
  c.part = ta.part == Part::Bias ? "bias" : "weight";
  c.tensor = ta.source->name;
  c.shape = ta.shape;
  c.dtype_a = stored_dtype(ta);
  c.dtype_b = stored_dtype(tb);
  double saa = 0, sbb = 0, sab = 0, sdd = 0;
  std::vector<float> delta(ta.shape.size() == 2 ? wa.size() : 0);
  for (std::size_t i = 0; i < wa.size(); ++i) {
    const double x = wa[i], y = wb[i];
    if (!std::isfinite(x) || !std::isfinite(y))
      return fail(tensor_label(ta) + " holds NaN or Inf in model " + (std::isfinite(x) ? "B" : "A") +
                  "; compare needs finite weights");
    const double d = y - x;
    saa += x * x;
    sbb += y * y;
    sab += x * y;
    sdd += d * d;
    c.changed += wa[i] != wb[i];
    if (!delta.empty()) delta[i] = static_cast<float>(d);
  }
  c.norm_a = std::sqrt(saa);
  c.norm_b = std::sqrt(sbb);
  c.delta_norm = std::sqrt(sdd);
  c.relative = c.norm_a > 0 ? c.delta_norm / c.norm_a : c.delta_norm;
  c.cosine = (saa > 0 && sbb > 0) ? sab / (c.norm_a * c.norm_b) : (saa == sbb ? 1.0 : 0.0);
  if (!delta.empty() && c.changed > 0) {
    const std::int64_t rows = ta.shape[0], cols = ta.shape[1];
    std::vector<double> sv;
    if (analysis::uses_gram(SvdMethod::Auto, rows, cols))
      sv = analysis::singular_values_from_gram(analysis::gram_matrix(delta.data(), rows, cols),
                                               analysis::gram_order(rows, cols));
    else
      sv = analysis::singular_values_exact(delta.data(), rows, cols);
    c.delta_sigma1 = sv.empty() ? 0 : sv.front();
    c.delta_stable_rank = c.delta_sigma1 > 0 ? sdd / (c.delta_sigma1 * c.delta_sigma1) : 0;
  }
  return c;
}

}  // namespace

Status models_comparable(const Model& a, const Model& b) {
  const ModelSpec &sa = a.spec(), &sb = b.spec();
  if (sa.family != sb.family)
    return fail("the models do not share an architecture: A is " + std::string(family_name(sa.family)) +
                ", B is " + std::string(family_name(sb.family)));
  if (sa.n_layers != sb.n_layers)
    return fail("the models do not share a shape: A has " + std::to_string(sa.n_layers) + " layers, B has " +
                std::to_string(sb.n_layers));
  const auto ta = compared_tensors(a), tb = compared_tensors(b);
  for (std::size_t i = 0; i < std::max(ta.size(), tb.size()); ++i) {
    if (i >= ta.size()) return fail("model B has " + tensor_label(*tb[i]) + ", which model A lacks");
    if (i >= tb.size()) return fail("model A has " + tensor_label(*ta[i]) + ", which model B lacks");
    const RoleTensor &x = *ta[i], &y = *tb[i];
    if (x.layer != y.layer || x.role != y.role || x.part != y.part)
      return fail("model A has " + tensor_label(x) + " where model B has " + tensor_label(y));
    if (x.shape != y.shape)
      return fail(tensor_label(x) + " is " + shape_text(x.shape) + " in model A and " + shape_text(y.shape) +
                  " in model B");
  }
  return {};
}

Result<ModelDiff> diff_models(const Model& a, const Model& b, int threads) {
  SONIFY_TRY(models_comparable(a, b));
  const analysis::BlasSingleThread blas_single_thread;
  const auto ta = compared_tensors(a), tb = compared_tensors(b);
  std::vector<Result<TensorChange>> results(ta.size(), fail("not compared"));
  if (threads <= 0) threads = default_threads();
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t i = next++; i < ta.size(); i = next++) results[i] = diff_tensor(a, b, *ta[i], *tb[i]);
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < std::min<int>(threads, static_cast<int>(ta.size())); ++t) pool.emplace_back(worker);
  worker();
  for (auto& th : pool) th.join();

  ModelDiff diff;
  diff.layer_change.assign(static_cast<std::size_t>(std::max(0, a.spec().n_layers)), 0.0);
  for (auto& r : results) {
    if (!r.ok()) return r.error();
    TensorChange c = std::move(*r);
    if (c.changed > 0) ++diff.changed_tensors;
    diff.model_change = std::max(diff.model_change, c.relative);
    if (c.layer >= 0 && c.layer < static_cast<int>(diff.layer_change.size()))
      diff.layer_change[c.layer] = std::max(diff.layer_change[c.layer], c.relative);
    diff.tensors.push_back(std::move(c));
  }
  return diff;
}

}  // namespace sonify
