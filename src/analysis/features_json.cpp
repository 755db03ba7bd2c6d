// WeightFeatures <-> JSON. Field names match the struct members; doc/features.md
// describes them.
#include <algorithm>
#include <nlohmann/json.hpp>

#include "sonify/features.h"

namespace sonify {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

ordered_json moments_json(const Moments& m) {
  return {{"mean", m.mean},         {"std", m.std}, {"skewness", m.skewness},
          {"kurtosis", m.kurtosis}, {"min", m.min}, {"max", m.max}};
}

Moments moments_from(const json& j) {
  Moments m;
  m.mean = j.at("mean").get<double>();
  m.std = j.at("std").get<double>();
  m.skewness = j.at("skewness").get<double>();
  m.kurtosis = j.at("kurtosis").get<double>();
  m.min = j.at("min").get<double>();
  m.max = j.at("max").get<double>();
  return m;
}

ordered_json spectrum_json(const Spectrum& s) {
  ordered_json j;
  j["method"] = s.method;
  if (s.method == "fast") {
    j["fast_top"] = s.fast_top;
    j["fast_top_error"] = s.fast_top_error;
    j["fast_bulk_error"] = s.fast_bulk_error;
  }
  j["accuracy_floor"] = s.accuracy_floor;
  j["sigma_max"] = s.sigma_max;
  j["stable_rank"] = s.stable_rank;
  j["spectral_entropy"] = s.spectral_entropy;
  j["effective_rank"] = s.effective_rank;
  j["condition_number"] = s.condition_number;
  j["alpha"] = s.alpha;
  j["alpha_xmin"] = s.alpha_xmin;
  j["alpha_tail"] = s.alpha_tail;
  j["alpha_ks"] = s.alpha_ks;
  j["mp_ks"] = s.mp_ks;
  j["mp_entropy"] = s.mp_entropy;
  j["trainedness"] = s.trainedness;
  j["singular_values"] = s.singular_values;
  return j;
}

Spectrum spectrum_from(const json& j) {
  Spectrum s;
  s.method = j.at("method").get<std::string>();
  if (s.method == "fast") {
    s.fast_top = j.at("fast_top").get<std::int64_t>();
    s.fast_top_error = j.at("fast_top_error").get<double>();
    s.fast_bulk_error = j.at("fast_bulk_error").get<double>();
  }
  s.accuracy_floor = j.at("accuracy_floor").get<double>();
  s.sigma_max = j.at("sigma_max").get<double>();
  s.stable_rank = j.at("stable_rank").get<double>();
  s.spectral_entropy = j.at("spectral_entropy").get<double>();
  s.effective_rank = j.at("effective_rank").get<double>();
  s.condition_number = j.at("condition_number").get<double>();
  s.alpha = j.at("alpha").get<double>();
  s.alpha_xmin = j.at("alpha_xmin").get<double>();
  s.alpha_tail = j.at("alpha_tail").get<int>();
  s.alpha_ks = j.at("alpha_ks").get<double>();
  s.mp_ks = j.at("mp_ks").get<double>();
  s.mp_entropy = j.at("mp_entropy").get<double>();
  s.trainedness = j.at("trainedness").get<double>();
  s.singular_values = j.at("singular_values").get<std::vector<double>>();
  return s;
}

ordered_json weightwatcher_json(const WeightWatcherMetrics& w) {
  return ordered_json{{"N", w.N},
                      {"M", w.M},
                      {"num_evals", w.num_evals},
                      {"lambda_max", w.lambda_max},
                      {"alpha", w.alpha},
                      {"xmin", w.xmin},
                      {"xmax", w.xmax},
                      {"D", w.D},
                      {"sigma", w.sigma},
                      {"num_pl_spikes", w.num_pl_spikes},
                      {"status", w.status},
                      {"warning", w.warning},
                      {"log_norm", w.log_norm},
                      {"log_spectral_norm", w.log_spectral_norm},
                      {"alpha_weighted", w.alpha_weighted},
                      {"log_alpha_norm", w.log_alpha_norm},
                      {"stable_rank", w.stable_rank},
                      {"matrix_rank", w.matrix_rank},
                      {"matrix_entropy", w.matrix_entropy},
                      {"num_spikes", w.num_spikes},
                      {"sigma_mp", w.sigma_mp},
                      {"mp_softrank", w.mp_softrank},
                      {"bulk_min", w.bulk_min},
                      {"bulk_max", w.bulk_max},
                      {"W_scale", w.W_scale}};
}

WeightWatcherMetrics weightwatcher_from(const json& j) {
  WeightWatcherMetrics w;
  w.N = j.at("N").get<std::int64_t>();
  w.M = j.at("M").get<std::int64_t>();
  w.num_evals = j.at("num_evals").get<std::int64_t>();
  w.lambda_max = j.at("lambda_max").get<double>();
  w.alpha = j.at("alpha").get<double>();
  w.xmin = j.at("xmin").get<double>();
  w.xmax = j.at("xmax").get<double>();
  w.D = j.at("D").get<double>();
  w.sigma = j.at("sigma").get<double>();
  w.num_pl_spikes = j.at("num_pl_spikes").get<std::int64_t>();
  w.status = j.at("status").get<std::string>();
  w.warning = j.at("warning").get<std::string>();
  w.log_norm = j.at("log_norm").get<double>();
  w.log_spectral_norm = j.at("log_spectral_norm").get<double>();
  w.alpha_weighted = j.at("alpha_weighted").get<double>();
  w.log_alpha_norm = j.at("log_alpha_norm").get<double>();
  w.stable_rank = j.at("stable_rank").get<double>();
  w.matrix_rank = j.at("matrix_rank").get<std::int64_t>();
  w.matrix_entropy = j.at("matrix_entropy").get<double>();
  w.num_spikes = j.at("num_spikes").get<std::int64_t>();
  w.sigma_mp = j.at("sigma_mp").get<double>();
  w.mp_softrank = j.at("mp_softrank").get<double>();
  w.bulk_min = j.at("bulk_min").get<double>();
  w.bulk_max = j.at("bulk_max").get<double>();
  w.W_scale = j.at("W_scale").get<double>();
  return w;
}

}  // namespace

const MatrixFeatures* WeightFeatures::matrix(int layer, std::string_view role) const {
  for (const auto& m : matrices)
    if (m.layer == layer && m.role == role) return &m;
  if (role == "lm_head") return matrix(layer, "embed");  // tied: analysed once as the embedding
  return nullptr;
}

const VectorFeatures* WeightFeatures::vector(int layer, std::string_view role, std::string_view part) const {
  for (const auto& v : vectors)
    if (v.layer == layer && v.role == role && v.part == part) return &v;
  return nullptr;
}

std::string features_to_json(const WeightFeatures& f) {
  ordered_json j;
  j["format_version"] = f.format_version;
  j["model_path"] = f.model_path;
  j["family"] = f.family;
  j["n_layers"] = f.n_layers;
  j["hidden_size"] = f.hidden_size;
  j["checkpoint_id"] = f.checkpoint_id;
  j["histogram_bins"] = f.histogram_bins;
  j["svd_option"] = f.svd_option;
  if (std::any_of(f.matrices.begin(), f.matrices.end(),
                  [](const MatrixFeatures& m) { return m.spectrum.method == "fast"; }))
    j["svd_seed"] = f.svd_seed;
  j["tension"] = f.tension;
  j["layer_trainedness"] = f.layer_trainedness;
  j["trainedness"] = f.trainedness;
  const Tonality& t = f.tonality;
  j["tonality"] = {{"source", t.source},
                   {"root", t.root},
                   {"root_name", t.root_name},
                   {"root_midi", t.root_midi},
                   {"mode", t.mode},
                   {"key_correlation", t.key_correlation},
                   {"chroma", t.chroma},
                   {"explained_variance_ratio", t.explained_variance_ratio},
                   {"shape_skewness", t.shape_skewness},
                   {"shape_kurtosis", t.shape_kurtosis}};
  ordered_json transitions = ordered_json::array();
  for (const auto& tr : f.transitions)
    transitions.push_back({{"role", tr.role},
                           {"from_layer", tr.from_layer},
                           {"to_layer", tr.to_layer},
                           {"wasserstein1", tr.wasserstein1},
                           {"spectral_delta", tr.spectral_delta}});
  j["transitions"] = transitions;
  if (!f.skipped_nonfinite.empty()) {
    ordered_json skipped = ordered_json::array();
    for (const auto& [tensor, count] : f.skipped_nonfinite)
      skipped.push_back({{"tensor", tensor}, {"nonfinite_values", count}});
    j["skipped_nonfinite"] = skipped;
  }
  ordered_json vectors = ordered_json::array();
  for (const auto& v : f.vectors) {
    ordered_json e;
    e["layer"] = v.layer;
    e["role"] = v.role;
    e["part"] = v.part;
    e["tensor"] = v.tensor;
    e["gain_offset"] = v.gain_offset;
    e["l2"] = v.l2;
    e["moments"] = moments_json(v.moments);
    e["values"] = v.values;
    vectors.push_back(std::move(e));
  }
  j["vectors"] = vectors;
  ordered_json matrices = ordered_json::array();
  for (const auto& m : f.matrices) {
    ordered_json e;
    e["layer"] = m.layer;
    e["role"] = m.role;
    e["tensor"] = m.tensor;
    e["rows"] = m.rows;
    e["cols"] = m.cols;
    e["frobenius"] = m.frobenius;
    e["moments"] = moments_json(m.moments);
    e["p02"] = m.p02;
    e["p98"] = m.p98;
    e["histogram"] = m.histogram;
    e["bimodality"] = m.bimodality;
    e["heavy_tail_index"] = m.heavy_tail_index;
    e["spectrum"] = spectrum_json(m.spectrum);
    e["weightwatcher"] = weightwatcher_json(m.weightwatcher);
    e["row_norms"] = m.row_norms;
    e["col_norms"] = m.col_norms;
    matrices.push_back(std::move(e));
  }
  j["matrices"] = matrices;
  return j.dump(1) + "\n";
}

Result<WeightFeatures> features_from_json(std::string_view text, const std::string& what) {
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail(what, ": not a features JSON object");
  try {
    WeightFeatures f;
    f.format_version = j.at("format_version").get<int>();
    if (f.format_version != WeightFeatures::kFormatVersion)
      return fail(what, ": features format version ", f.format_version, ", this sonify reads ",
                  WeightFeatures::kFormatVersion);
    f.model_path = j.at("model_path").get<std::string>();
    f.family = j.at("family").get<std::string>();
    f.n_layers = j.at("n_layers").get<int>();
    f.hidden_size = j.at("hidden_size").get<int>();
    f.checkpoint_id = j.at("checkpoint_id").get<std::string>();
    f.histogram_bins = j.at("histogram_bins").get<int>();
    f.svd_option = j.at("svd_option").get<std::string>();
    if (j.contains("svd_seed")) f.svd_seed = j.at("svd_seed").get<std::uint64_t>();
    f.tension = j.at("tension").get<std::vector<double>>();
    f.layer_trainedness = j.at("layer_trainedness").get<std::vector<double>>();
    f.trainedness = j.at("trainedness").get<double>();
    const json& t = j.at("tonality");
    f.tonality.source = t.at("source").get<std::string>();
    f.tonality.root = t.at("root").get<int>();
    f.tonality.root_name = t.at("root_name").get<std::string>();
    f.tonality.root_midi = t.at("root_midi").get<int>();
    f.tonality.mode = t.at("mode").get<std::string>();
    f.tonality.key_correlation = t.at("key_correlation").get<double>();
    f.tonality.chroma = t.at("chroma").get<std::vector<double>>();
    f.tonality.explained_variance_ratio = t.at("explained_variance_ratio").get<std::vector<double>>();
    f.tonality.shape_skewness = t.at("shape_skewness").get<double>();
    f.tonality.shape_kurtosis = t.at("shape_kurtosis").get<double>();
    for (const json& e : j.at("transitions")) {
      LayerTransition tr;
      tr.role = e.at("role").get<std::string>();
      tr.from_layer = e.at("from_layer").get<int>();
      tr.to_layer = e.at("to_layer").get<int>();
      tr.wasserstein1 = e.at("wasserstein1").get<double>();
      tr.spectral_delta = e.at("spectral_delta").get<double>();
      f.transitions.push_back(std::move(tr));
    }
    if (j.contains("skipped_nonfinite"))
      for (const json& e : j.at("skipped_nonfinite"))
        f.skipped_nonfinite.emplace_back(e.at("tensor").get<std::string>(),
                                         e.at("nonfinite_values").get<std::int64_t>());
    for (const json& e : j.at("vectors")) {
      VectorFeatures v;
      v.layer = e.at("layer").get<int>();
      v.role = e.at("role").get<std::string>();
      v.part = e.at("part").get<std::string>();
      v.tensor = e.at("tensor").get<std::string>();
      v.gain_offset = e.at("gain_offset").get<double>();
      v.l2 = e.at("l2").get<double>();
      v.moments = moments_from(e.at("moments"));
      v.values = e.at("values").get<std::vector<float>>();
      f.vectors.push_back(std::move(v));
    }
    for (const json& e : j.at("matrices")) {
      MatrixFeatures m;
      m.layer = e.at("layer").get<int>();
      m.role = e.at("role").get<std::string>();
      m.tensor = e.at("tensor").get<std::string>();
      m.rows = e.at("rows").get<std::int64_t>();
      m.cols = e.at("cols").get<std::int64_t>();
      m.frobenius = e.at("frobenius").get<double>();
      m.moments = moments_from(e.at("moments"));
      m.p02 = e.at("p02").get<double>();
      m.p98 = e.at("p98").get<double>();
      m.histogram = e.at("histogram").get<std::vector<std::int64_t>>();
      m.bimodality = e.at("bimodality").get<double>();
      m.heavy_tail_index = e.at("heavy_tail_index").get<double>();
      m.spectrum = spectrum_from(e.at("spectrum"));
      m.weightwatcher = weightwatcher_from(e.at("weightwatcher"));
      m.row_norms = e.at("row_norms").get<std::vector<float>>();
      m.col_norms = e.at("col_norms").get<std::vector<float>>();
      if (static_cast<std::int64_t>(m.row_norms.size()) != m.rows ||
          static_cast<std::int64_t>(m.col_norms.size()) != m.cols)
        return fail(what, ": matrix '", m.tensor, "' has norms of the wrong length");
      f.matrices.push_back(std::move(m));
    }
    return f;
  } catch (const json::exception& e) {
    return fail(what, ": bad features JSON (", e.what(), ")");
  }
}

}  // namespace sonify
