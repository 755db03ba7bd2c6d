#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "sonify/checkpoint.h"
#include "sonify/model.h"
#include "sonify/pipeline_inspect.h"

namespace sonify {
namespace {

using nlohmann::ordered_json;

// The stored name with the layer number as N, plus how the role is cut from it.
std::string stored_as(const RoleTensor& t) {
  std::string name = t.source->name;
  if (t.layer >= 0) {
    const std::string number = "." + std::to_string(t.layer) + ".";
    if (auto p = name.find(number); p != std::string::npos) name.replace(p, number.size(), ".N.");
  }
  const std::int64_t stored_rows = t.source->shape[t.transposed ? 1 : 0];
  if (t.groups > 1)
    name += " [" + std::to_string(t.slice_begin) + ":" + std::to_string(t.slice_end) + " of every " +
            std::to_string(t.group_stride) + "]";
  else if (t.slice_end - t.slice_begin != stored_rows)
    name += " [" + std::to_string(t.slice_begin) + ":" + std::to_string(t.slice_end) + "]";
  if (t.transposed) name += " (transposed)";
  if (t.tied) name += " (tied)";
  return name;
}

// Tensors holding NaN or Inf, with how many values: a damaged or badly converted
// checkpoint shows here before analyze refuses it. Read in blocks so a large tensor
// never needs a second copy in memory.
ordered_json nonfinite_tensors(const Checkpoint& ckpt) {
  constexpr std::size_t kBlock = 1 << 16;
  std::vector<float> block(kBlock);
  ordered_json out = ordered_json::array();
  for (const TensorInfo& t : ckpt.tensors()) {
    if (!dtype_is_float(t.dtype)) continue;
    const unsigned char* data = ckpt.bytes(t).data;
    const std::size_t size = dtype_size(t.dtype), count = t.nbytes / size;
    std::int64_t bad = 0;
    for (std::size_t i = 0; i < count; i += kBlock) {
      const std::size_t n = std::min(kBlock, count - i);
      convert_to_f32(t.dtype, data + i * size, n, block.data());
      bad += std::count_if(block.begin(), block.begin() + static_cast<std::ptrdiff_t>(n),
                           [](float x) { return !std::isfinite(x); });
    }
    if (bad > 0) out.push_back({{"tensor", t.name}, {"nonfinite_values", bad}, {"values", count}});
  }
  return out;
}

std::string role_label(const RoleTensor& t) {
  return std::string(role_name(t.role)) + (t.part == Part::Bias ? ".bias" : "");
}

ordered_json describe(const Model& model) {
  const ModelSpec& s = model.spec();
  const Checkpoint& ckpt = model.checkpoint();
  ordered_json j;
  j["path"] = model.path();
  j["family"] = family_name(s.family);
  j["model_type"] = s.model_type;
  j["layers"] = s.n_layers;
  j["hidden_size"] = s.hidden_size;
  j["heads"] = s.n_heads;
  j["kv_heads"] = s.n_kv_heads;
  j["head_dim"] = s.head_dim;
  j["intermediate_size"] = s.intermediate_size;
  j["vocab_size"] = s.vocab_size;
  j["context_length"] = s.context_length;
  j["parameters"] = model.parameter_count();
  std::map<std::string, std::int64_t> dtypes;
  // A GGUF tensor is reported in the type its file holds (Q4_K), not as the f32 it is read as.
  for (const auto& t : ckpt.tensors())
    dtypes[t.stored_as.empty() ? std::string(dtype_name(t.dtype)) : t.stored_as] += 1;
  j["dtypes"] = dtypes;
  j["bytes_on_disk"] = ckpt.bytes_on_disk();
  j["tied_embeddings"] = s.tie_word_embeddings;
  j["norm"] = {{"kind", s.layer_norm ? "LayerNorm" : "RMSNorm"},
               {"eps", s.norm_eps},
               {"gain_offset", s.norm_weight_offset}};
  j["activation"] = s.activation;
  j["gated_mlp"] = s.gated_mlp;
  j["positions"] = s.learned_positions ? "learned" : "rope";
  if (!s.learned_positions) {
    j["rope_theta"] = s.rope_theta;
    if (s.rope_local_theta > 0) j["rope_local_theta"] = s.rope_local_theta;
    if (!s.rope_scaling_type.empty()) j["rope_scaling"] = ordered_json::parse(s.rope_scaling_json);
  }
  if (s.sliding_window > 0) {
    std::vector<int> sliding;
    for (int i = 0; i < s.n_layers; ++i)
      if (s.layer_is_sliding[i]) sliding.push_back(i);
    j["sliding_window"] = {{"size", s.sliding_window}, {"layers", sliding}};
  }
  if (s.query_pre_attn_scalar > 0) j["query_pre_attn_scalar"] = s.query_pre_attn_scalar;
  if (s.final_logit_softcapping > 0) j["final_logit_softcapping"] = s.final_logit_softcapping;

  ordered_json files = ordered_json::array();
  for (const auto& f : ckpt.files())
    files.push_back({{"path", f.path},
                     {"bytes", f.size_bytes},
                     {"header_bytes", f.header_bytes},
                     {"metadata", f.metadata}});
  j["files"] = files;

  // One row per (role, part) with the layers that have it; shapes and dtypes agree
  // across layers (bind() checked shapes against the config).
  ordered_json roles = ordered_json::array();
  std::map<std::pair<Role, Part>, std::size_t> row_of;
  for (const auto& t : model.tensors()) {
    const auto key = std::make_pair(t.role, t.part);
    auto it = row_of.find(key);
    if (it == row_of.end()) {
      row_of[key] = roles.size();
      roles.push_back({{"role", role_label(t)},
                       {"shape", t.shape},
                       {"dtype", t.source->stored_as.empty() ? std::string(dtype_name(t.source->dtype))
                                                             : t.source->stored_as},
                       {"layers", ordered_json::array()},
                       {"stored_as", stored_as(t)},
                       {"tied", t.tied}});
      it = row_of.find(key);
    }
    if (t.layer >= 0) roles[it->second]["layers"].push_back(t.layer);
  }
  j["roles"] = roles;
  j["ignored_tensors"] = model.ignored_tensors();
  j["nonfinite_tensors"] = nonfinite_tensors(ckpt);
  return j;
}

std::string thousands(std::int64_t n) {
  std::string digits = std::to_string(n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string human_bytes(double b) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (b >= 1000 && u < 4) b /= 1000, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", b, units[u]);
  return buf;
}

std::string layer_ranges(const ordered_json& layers) {
  if (layers.empty()) return "-";
  std::string out;
  std::size_t i = 0;
  while (i < layers.size()) {
    std::size_t k = i;
    while (k + 1 < layers.size() && layers[k + 1].get<int>() == layers[k].get<int>() + 1) ++k;
    if (!out.empty()) out += ",";
    out += std::to_string(layers[i].get<int>());
    if (k > i) out += "-" + std::to_string(layers[k].get<int>());
    i = k + 1;
  }
  return out;
}

// printf into a string: the table's column widths are printf widths.
template <class... Args>
void appendf(std::string* out, const char* format, Args... args) {
  const int n = std::snprintf(nullptr, 0, format, args...);
  std::string buf(static_cast<std::size_t>(n) + 1, '\0');
  std::snprintf(buf.data(), buf.size(), format, args...);
  out->append(buf.data(), static_cast<std::size_t>(n));
}

std::string text_of(const ordered_json& j) {
  std::string out;
  auto line = [&out](const char* key, const std::string& value) {
    appendf(&out, "%-14s %s\n", key, value.c_str());
  };
  line("model", j["path"].get<std::string>());
  line("family", j["family"].get<std::string>() + " (model_type " + j["model_type"].get<std::string>() + ")");
  line("layers", std::to_string(j["layers"].get<int>()));
  line("hidden size", std::to_string(j["hidden_size"].get<int>()));
  line("heads", std::to_string(j["heads"].get<int>()) + " (kv heads " +
                    std::to_string(j["kv_heads"].get<int>()) + ", head dim " +
                    std::to_string(j["head_dim"].get<int>()) + ")");
  line("intermediate", std::to_string(j["intermediate_size"].get<int>()));
  line("vocab", std::to_string(j["vocab_size"].get<int>()));
  line("context", std::to_string(j["context_length"].get<int>()));
  line("parameters", thousands(j["parameters"].get<std::int64_t>()));
  std::string dtypes;
  for (const auto& [name, count] : j["dtypes"].items())
    dtypes += (dtypes.empty() ? "" : ", ") + name + " x" + std::to_string(count.get<int>());
  line("dtypes", dtypes);
  line("on disk", human_bytes(j["bytes_on_disk"].get<double>()) + " in " + std::to_string(j["files"].size()) +
                      (j["files"].size() == 1 ? " file" : " files"));
  char eps[32];
  std::snprintf(eps, sizeof eps, "%g", j["norm"]["eps"].get<double>());
  line("norm",
       j["norm"]["kind"].get<std::string>() + " eps " + eps +
           (j["norm"]["gain_offset"].get<double>() != 0 ? " (gain stored as w, applied as 1 + w)" : ""));
  line("mlp", j["activation"].get<std::string>() + (j["gated_mlp"].get<bool>() ? " gated" : ""));
  line("positions", j["positions"].get<std::string>());
  if (j.contains("sliding_window"))
    line("sliding window", std::to_string(j["sliding_window"]["size"].get<int>()) + " on layers " +
                               layer_ranges(j["sliding_window"]["layers"]));
  appendf(&out, "\n%-16s %-9s %-16s %-5s %s\n", "role", "layers", "shape", "dtype", "stored as");
  for (const auto& r : j["roles"]) {
    std::string shape = "[";
    for (std::size_t k = 0; k < r["shape"].size(); ++k)
      shape += (k ? ", " : "") + std::to_string(r["shape"][k].get<std::int64_t>());
    shape += "]";
    const std::string source = r["stored_as"].get<std::string>();
    appendf(&out, "%-16s %-9s %-16s %-5s %s\n", r["role"].get<std::string>().c_str(),
            layer_ranges(r["layers"]).c_str(), shape.c_str(), r["dtype"].get<std::string>().c_str(),
            source.c_str());
  }
  if (!j["ignored_tensors"].empty()) {
    appendf(&out, "\nignored %zu stored tensors not used by the model:", j["ignored_tensors"].size());
    std::size_t shown = 0;
    for (const auto& n : j["ignored_tensors"]) {
      if (shown++ == 8) {
        out += " ...";
        break;
      }
      out += " " + n.get<std::string>();
    }
    out += "\n";
  }
  if (!j["nonfinite_tensors"].empty()) {
    appendf(&out, "\n%zu tensors hold non-finite values (NaN or Inf); analyze refuses them:\n",
            j["nonfinite_tensors"].size());
    for (const auto& t : j["nonfinite_tensors"])
      appendf(&out, "  %s: %lld of %lld\n", t["tensor"].get<std::string>().c_str(),
              static_cast<long long>(t["nonfinite_values"].get<std::int64_t>()),
              static_cast<long long>(t["values"].get<std::int64_t>()));
  }
  return out;
}

}  // namespace

std::string inspect_json(const Model& model) {
  return describe(model).dump(2, ' ', false, ordered_json::error_handler_t::replace) + "\n";
}

std::string inspect_text(const Model& model) { return text_of(describe(model)); }

}  // namespace sonify
