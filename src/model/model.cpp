// Tensor names → (layer, role, part), once per model, per family. The tables below are
// the only place in sonify that knows Hugging Face tensor names.
#include "sonify/model.h"

#include <algorithm>
#include <array>
#include <filesystem>
#include <map>
#include <tuple>

#include "model/gguf.h"

namespace fs = std::filesystem;

namespace sonify {
namespace {

struct RoleRow {
  Role role;
  std::string_view name;
  bool norm;
};

constexpr std::array<RoleRow, 17> kRoles = {{
    {Role::Embed, "embed", false},
    {Role::PosEmbed, "pos_embed", false},
    {Role::Q, "q", false},
    {Role::K, "k", false},
    {Role::V, "v", false},
    {Role::O, "o", false},
    {Role::Gate, "gate", false},
    {Role::Up, "up", false},
    {Role::Down, "down", false},
    {Role::AttnNorm, "attn_norm", true},
    {Role::PostAttnNorm, "post_attn_norm", true},
    {Role::MlpNorm, "mlp_norm", true},
    {Role::PostMlpNorm, "post_mlp_norm", true},
    {Role::QNorm, "q_norm", true},
    {Role::KNorm, "k_norm", true},
    {Role::FinalNorm, "final_norm", true},
    {Role::LmHead, "lm_head", false},
}};

// One piece of a stored tensor: a role, and for fused tensors how many output rows
// it takes (0: all of them).
struct Piece {
  Role role;
  std::int64_t rows;
};

// How one stored tensor, named by its suffix, maps to roles.
struct NameRule {
  std::string suffix;
  Part part;
  bool transposed;            // Conv1D [in, out]
  std::vector<Piece> pieces;  // one for plain tensors, several for fused ones
  std::int64_t groups = 1;    // the pieces repeat this many times, once per head (GPT-NeoX)
};

struct FamilyNames {
  std::string canonical_prefix;            // what writers use
  std::vector<std::string> body_prefixes;  // tried in order before matching
  std::vector<std::string> head_names;     // lm_head spellings, matched whole
  std::string layer_prefix;                // "h." or "layers."
  std::vector<NameRule> model_rules;
  std::vector<NameRule> layer_rules;
  std::vector<std::string> ignored_suffixes;  // buffers inside a layer
  std::vector<std::string> ignored_prefixes;  // whole subtrees (a vision tower)
};

NameRule plain(std::string suffix, Role role, Part part = Part::Weight, bool transposed = false) {
  return NameRule{std::move(suffix), part, transposed, {{role, 0}}};
}

// Adds NAME.weight and NAME.bias rules for a plain linear layer.
void linear(std::vector<NameRule>* rules, const std::string& name, Role role, bool t = false) {
  rules->push_back(plain(name + ".weight", role, Part::Weight, t));
  rules->push_back(plain(name + ".bias", role, Part::Bias));
}

FamilyNames gpt2_names(const ModelSpec& s) {
  const std::int64_t d = s.hidden_size;
  FamilyNames f;
  f.canonical_prefix = "transformer.";
  f.body_prefixes = {"transformer.", ""};
  f.head_names = {"lm_head.weight"};
  f.layer_prefix = "h.";
  f.model_rules = {plain("wte.weight", Role::Embed), plain("wpe.weight", Role::PosEmbed)};
  linear(&f.model_rules, "ln_f", Role::FinalNorm);
  const std::vector<Piece> qkv = {{Role::Q, d}, {Role::K, d}, {Role::V, d}};
  auto& l = f.layer_rules;
  linear(&l, "ln_1", Role::AttnNorm);
  l.push_back({"attn.c_attn.weight", Part::Weight, true, qkv});
  l.push_back({"attn.c_attn.bias", Part::Bias, false, qkv});
  linear(&l, "attn.c_proj", Role::O, true);
  linear(&l, "ln_2", Role::MlpNorm);
  linear(&l, "mlp.c_fc", Role::Up, true);
  linear(&l, "mlp.c_proj", Role::Down, true);
  f.ignored_suffixes = {"attn.bias", "attn.masked_bias"};
  return f;
}

// GPTNeoXForCausalLM (Pythia). query_key_value holds, for each head in turn, that head's
// q, k and v rows (modeling_gpt_neox views it as [.., heads, 3·head_dim]).
FamilyNames gpt_neox_names(const ModelSpec& s) {
  const std::int64_t hd = s.head_dim;
  FamilyNames f;
  f.canonical_prefix = "gpt_neox.";
  f.body_prefixes = {"gpt_neox."};
  f.head_names = {"embed_out.weight"};
  f.layer_prefix = "layers.";
  f.model_rules = {plain("embed_in.weight", Role::Embed)};
  linear(&f.model_rules, "final_layer_norm", Role::FinalNorm);
  const std::vector<Piece> qkv = {{Role::Q, hd}, {Role::K, hd}, {Role::V, hd}};
  auto& l = f.layer_rules;
  linear(&l, "input_layernorm", Role::AttnNorm);
  l.push_back({"attention.query_key_value.weight", Part::Weight, false, qkv, s.n_heads});
  l.push_back({"attention.query_key_value.bias", Part::Bias, false, qkv, s.n_heads});
  linear(&l, "attention.dense", Role::O);
  linear(&l, "post_attention_layernorm", Role::MlpNorm);
  linear(&l, "mlp.dense_h_to_4h", Role::Up);
  linear(&l, "mlp.dense_4h_to_h", Role::Down);
  f.ignored_suffixes = {"attention.bias", "attention.masked_bias", "attention.rotary_emb.inv_freq"};
  return f;
}

FamilyNames llama_like_names(const ModelSpec& s) {
  const bool gemma = s.family == Family::Gemma3;
  FamilyNames f;
  f.canonical_prefix = "model.";
  f.body_prefixes = {"model."};
  f.head_names = {"lm_head.weight"};
  if (gemma) {
    // Gemma3ForConditionalGeneration, before and after transformers 4.52.
    f.body_prefixes = {"model.language_model.", "language_model.model.", "model."};
    f.head_names = {"lm_head.weight", "language_model.lm_head.weight"};
    f.ignored_prefixes = {"vision_tower.", "multi_modal_projector.", "model.vision_tower.",
                          "model.multi_modal_projector."};
  }
  f.layer_prefix = "layers.";
  f.model_rules = {plain("embed_tokens.weight", Role::Embed), plain("norm.weight", Role::FinalNorm)};
  auto& l = f.layer_rules;
  linear(&l, "self_attn.o_proj", Role::O);
  linear(&l, "mlp.down_proj", Role::Down);
  l.push_back(plain("input_layernorm.weight", Role::AttnNorm));
  if (s.family == Family::Phi3) {
    const std::int64_t q = std::int64_t{s.n_heads} * s.head_dim;
    const std::int64_t kv = std::int64_t{s.n_kv_heads} * s.head_dim;
    const std::int64_t i = s.intermediate_size;
    l.push_back(
        {"self_attn.qkv_proj.weight", Part::Weight, false, {{Role::Q, q}, {Role::K, kv}, {Role::V, kv}}});
    l.push_back({"mlp.gate_up_proj.weight", Part::Weight, false, {{Role::Gate, i}, {Role::Up, i}}});
  } else {
    linear(&l, "self_attn.q_proj", Role::Q);
    linear(&l, "self_attn.k_proj", Role::K);
    linear(&l, "self_attn.v_proj", Role::V);
    linear(&l, "mlp.gate_proj", Role::Gate);
    linear(&l, "mlp.up_proj", Role::Up);
  }
  if (gemma) {
    l.push_back(plain("post_attention_layernorm.weight", Role::PostAttnNorm));
    l.push_back(plain("pre_feedforward_layernorm.weight", Role::MlpNorm));
    l.push_back(plain("post_feedforward_layernorm.weight", Role::PostMlpNorm));
    l.push_back(plain("self_attn.q_norm.weight", Role::QNorm));
    l.push_back(plain("self_attn.k_norm.weight", Role::KNorm));
  } else {
    l.push_back(plain("post_attention_layernorm.weight", Role::MlpNorm));
  }
  f.ignored_suffixes = {"self_attn.rotary_emb.inv_freq"};
  return f;
}

FamilyNames family_names(const ModelSpec& s) {
  if (s.family == Family::GPT2) return gpt2_names(s);
  if (s.family == Family::GPTNeoX) return gpt_neox_names(s);
  return llama_like_names(s);
}

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// Splits "h.12.attn.c_proj.weight" (after the layer prefix) into 12 and the rest.
bool split_layer(std::string_view rest, int* layer, std::string_view* suffix) {
  std::size_t i = 0;
  long value = 0;
  while (i < rest.size() && rest[i] >= '0' && rest[i] <= '9' && i < 7) {
    value = value * 10 + (rest[i] - '0');
    ++i;
  }
  if (i == 0 || i >= rest.size() || rest[i] != '.') return false;
  if (i > 1 && rest[0] == '0') return false;  // no leading zeros
  *layer = static_cast<int>(value);
  *suffix = rest.substr(i + 1);
  return true;
}

const NameRule* find_rule(const std::vector<NameRule>& rules, std::string_view suffix) {
  for (const auto& r : rules)
    if (r.suffix == suffix) return &r;
  return nullptr;
}

std::vector<std::int64_t> expected_shape(const ModelSpec& s, Role role, Part part) {
  const std::int64_t d = s.hidden_size, v = s.vocab_size, i = s.intermediate_size;
  const std::int64_t q = std::int64_t{s.n_heads} * s.head_dim;
  const std::int64_t kv = std::int64_t{s.n_kv_heads} * s.head_dim;
  std::vector<std::int64_t> w;
  switch (role) {
    case Role::Embed:
    case Role::LmHead:
      w = {v, d};
      break;
    case Role::PosEmbed:
      w = {s.context_length, d};
      break;
    case Role::Q:
      w = {q, d};
      break;
    case Role::K:
    case Role::V:
      w = {kv, d};
      break;
    case Role::O:
      w = {d, q};
      break;
    case Role::Gate:
    case Role::Up:
      w = {i, d};
      break;
    case Role::Down:
      w = {d, i};
      break;
    case Role::QNorm:
    case Role::KNorm:
      w = {s.head_dim};
      break;
    default:
      w = {d};
      break;  // the other norms
  }
  if (part == Part::Bias) return {w.front()};
  return w;
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string out = "[";
  for (std::size_t k = 0; k < shape.size(); ++k) out += (k ? ", " : "") + std::to_string(shape[k]);
  return out + "]";
}

// The (role, part) pairs every layer of this spec must have.
std::vector<std::pair<Role, Part>> required_in_layer(const ModelSpec& s) {
  std::vector<std::pair<Role, Part>> r;
  for (Role role : {Role::AttnNorm, Role::Q, Role::K, Role::V, Role::O, Role::MlpNorm, Role::Up, Role::Down})
    r.emplace_back(role, Part::Weight);
  if (s.gated_mlp) r.emplace_back(Role::Gate, Part::Weight);
  if (s.family == Family::Gemma3)
    for (Role role : {Role::PostAttnNorm, Role::PostMlpNorm, Role::QNorm, Role::KNorm})
      r.emplace_back(role, Part::Weight);
  if (s.layer_norm) r.emplace_back(Role::AttnNorm, Part::Bias), r.emplace_back(Role::MlpNorm, Part::Bias);
  if (s.qkv_bias)
    for (Role role : {Role::Q, Role::K, Role::V}) r.emplace_back(role, Part::Bias);
  if (s.o_bias) r.emplace_back(Role::O, Part::Bias);
  if (s.mlp_bias) {
    r.emplace_back(Role::Up, Part::Bias);
    r.emplace_back(Role::Down, Part::Bias);
    if (s.gated_mlp) r.emplace_back(Role::Gate, Part::Bias);
  }
  return r;
}

int sort_group(const RoleTensor& t) {
  if (t.role == Role::Embed || t.role == Role::PosEmbed) return 0;
  if (t.layer >= 0) return 1;
  return 2;
}

// Model-level (role, part) pairs a checkpoint of this spec stores.
std::vector<std::pair<Role, Part>> required_in_model(const ModelSpec& s) {
  std::vector<std::pair<Role, Part>> r = {{Role::FinalNorm, Part::Weight}};
  if (s.layer_norm) r.emplace_back(Role::FinalNorm, Part::Bias);
  if (s.learned_positions) r.emplace_back(Role::PosEmbed, Part::Weight);
  return r;
}

}  // namespace

std::vector<LayoutEntry> model_layout(const ModelSpec& s) {
  const FamilyNames names = family_names(s);
  std::vector<LayoutEntry> out;
  auto emit = [&](const NameRule& rule, int layer, const std::vector<std::pair<Role, Part>>& wanted) {
    for (const auto& p : rule.pieces)
      if (std::find(wanted.begin(), wanted.end(), std::make_pair(p.role, rule.part)) == wanted.end()) return;
    std::int64_t rows = 0;
    for (const auto& p : rule.pieces) rows += p.rows != 0 ? p.rows : expected_shape(s, p.role, rule.part)[0];
    rows *= rule.groups;
    std::vector<std::int64_t> shape = expected_shape(s, rule.pieces[0].role, rule.part);
    shape[0] = rows;
    if (rule.transposed) std::swap(shape[0], shape[1]);
    const std::string layer_part = layer < 0 ? "" : names.layer_prefix + std::to_string(layer) + ".";
    out.push_back(
        {names.canonical_prefix + layer_part + rule.suffix, shape, rule.pieces[0].role, rule.part, layer});
  };
  auto model_wanted = required_in_model(s);
  model_wanted.emplace_back(Role::Embed, Part::Weight);
  for (const auto& rule : names.model_rules) emit(rule, -1, model_wanted);
  const auto layer_wanted = required_in_layer(s);
  for (int layer = 0; layer < s.n_layers; ++layer)
    for (const auto& rule : names.layer_rules) emit(rule, layer, layer_wanted);
  if (!s.tie_word_embeddings)
    out.push_back({names.head_names.front(), expected_shape(s, Role::LmHead, Part::Weight), Role::LmHead,
                   Part::Weight, -1});
  return out;
}

std::string_view family_name(Family family) {
  switch (family) {
    case Family::GPT2:
      return "gpt2";
    case Family::Llama:
      return "llama";
    case Family::Gemma3:
      return "gemma3";
    case Family::Phi3:
      return "phi3";
    case Family::GPTNeoX:
      return "gpt_neox";
  }
  return "?";
}

std::string_view role_name(Role role) { return kRoles[static_cast<std::size_t>(role)].name; }
bool role_is_norm(Role role) { return kRoles[static_cast<std::size_t>(role)].norm; }

std::int64_t RoleTensor::numel() const {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

Model::Model(ModelSpec spec, Checkpoint checkpoint, std::string path)
    : spec_(std::move(spec)), checkpoint_(std::move(checkpoint)), path_(std::move(path)) {}

Result<Model> Model::open(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return fail(path, ": no such file or directory");
  const bool is_dir = fs::is_directory(path, ec);
  if (!is_dir && (fs::path(path).extension() == ".gguf" || gguf::has_magic(path)))
    return gguf::open_model(path);
  const fs::path config =
      is_dir ? fs::path(path) / "config.json" : fs::path(path).parent_path() / "config.json";
  if (!fs::exists(config, ec))
    return fail(path, is_dir ? ": no config.json in this directory (expected a Hugging Face model directory)"
                             : ": no config.json beside this file");
  SONIFY_ASSIGN_OR_RETURN(spec, model_spec_read(config.string()));
  SONIFY_ASSIGN_OR_RETURN(checkpoint, Checkpoint::open(path));
  return bind(std::move(spec), std::move(checkpoint), path);
}

Result<Model> Model::bind(ModelSpec spec, Checkpoint checkpoint, std::string path) {
  Model model(std::move(spec), std::move(checkpoint), std::move(path));
  const ModelSpec& s = model.spec_;
  const FamilyNames names = family_names(s);
  const std::string& file0 = model.checkpoint_.files().front().path;
  std::map<std::tuple<int, Role, Part>, RoleTensor> mapped;

  auto add = [&](const TensorInfo& info, int layer, const NameRule& rule) -> Status {
    const bool vector =
        rule.part == Part::Bias || (rule.pieces.size() == 1 && role_is_norm(rule.pieces[0].role));
    const std::string where = file0 + ": tensor '" + info.name + "'";
    if (!dtype_is_float(info.dtype))
      return fail(where, " is ", dtype_name(info.dtype), ", expected a floating-point type");
    if (info.shape.size() != (vector ? 1u : 2u))
      return fail(where, " has shape ", shape_text(info.shape), ", expected ", vector ? 1 : 2, " dimensions");
    std::vector<std::int64_t> logical = info.shape;
    if (rule.transposed) std::swap(logical[0], logical[1]);
    std::int64_t per_group = 0;
    for (const auto& p : rule.pieces) per_group += p.rows == 0 ? logical[0] : p.rows;
    const std::int64_t total = per_group * rule.groups;
    if (total != logical[0])
      return fail(where, " has shape ", shape_text(info.shape), " but the config needs ", total,
                  " fused output rows");
    std::int64_t begin = 0;
    for (const auto& p : rule.pieces) {
      RoleTensor t;
      t.layer = layer;
      t.role = p.role;
      t.part = rule.part;
      t.source = &info;
      t.transposed = rule.transposed;
      t.slice_begin = begin;
      t.slice_end = begin + (p.rows == 0 ? logical[0] : p.rows);
      begin = t.slice_end;
      t.groups = rule.groups;
      t.group_stride = rule.groups > 1 ? per_group : 0;
      t.shape = logical;
      t.shape[0] = (t.slice_end - t.slice_begin) * t.groups;
      const auto want = expected_shape(s, t.role, t.part);
      if (t.shape != want)
        return fail(where, " (", role_name(t.role), rule.part == Part::Bias ? " bias" : "",
                    ") has logical shape ", shape_text(t.shape), ", but config.json implies ",
                    shape_text(want));
      if (!mapped.emplace(std::make_tuple(layer, t.role, t.part), t).second)
        return fail(where, " maps to ", role_name(t.role), " of layer ", layer,
                    ", which another tensor already holds");
    }
    return Status::Ok();
  };

  for (const TensorInfo& info : model.checkpoint_.tensors()) {
    const std::string_view name = info.name;
    if (std::find(names.head_names.begin(), names.head_names.end(), name) != names.head_names.end()) {
      SONIFY_TRY(add(info, -1, plain(std::string(name), Role::LmHead)));
      continue;
    }
    bool ignored = false;
    for (const auto& p : names.ignored_prefixes) ignored = ignored || starts_with(name, p);
    bool matched = false;
    for (const auto& prefix : names.body_prefixes) {
      if (ignored || matched || !starts_with(name, prefix)) continue;
      const std::string_view rest = name.substr(prefix.size());
      if (const NameRule* rule = find_rule(names.model_rules, rest)) {
        SONIFY_TRY(add(info, -1, *rule));
        matched = true;
      } else if (starts_with(rest, names.layer_prefix)) {
        int layer = 0;
        std::string_view suffix;
        if (!split_layer(rest.substr(names.layer_prefix.size()), &layer, &suffix)) continue;
        if (layer >= s.n_layers)
          return fail(file0, ": tensor '", info.name, "' belongs to layer ", layer,
                      " but config.json declares ", s.n_layers, " layers");
        if (const NameRule* layer_rule = find_rule(names.layer_rules, suffix)) {
          SONIFY_TRY(add(info, layer, *layer_rule));
          matched = true;
        } else if (std::find(names.ignored_suffixes.begin(), names.ignored_suffixes.end(), suffix) !=
                   names.ignored_suffixes.end()) {
          ignored = true;
        }
      }
    }
    if (!matched) model.ignored_.push_back(info.name);
  }

  // Tied embeddings may be stored either way round.
  auto key = [](Role r) { return std::make_tuple(-1, r, Part::Weight); };
  const bool has_embed = mapped.count(key(Role::Embed)) > 0;
  const bool has_head = mapped.count(key(Role::LmHead)) > 0;
  if (!has_embed && !has_head)
    return fail(model.path_, ": no token embedding in the checkpoint (", family_name(s.family), " names it ",
                s.family == Family::GPT2      ? "'wte.weight'"
                : s.family == Family::GPTNeoX ? "'gpt_neox.embed_in.weight'"
                                              : "'model.embed_tokens.weight'",
                ")");
  if (!has_head || !has_embed) {
    if (!s.tie_word_embeddings)
      return fail(model.path_, has_head
                                   ? ": no token embedding in the checkpoint and tie_word_embeddings is false"
                                   : ": no " + names.head_names.front() +
                                         " in the checkpoint and tie_word_embeddings is false");
    RoleTensor copy = mapped.at(key(has_head ? Role::LmHead : Role::Embed));
    copy.role = has_head ? Role::Embed : Role::LmHead;
    copy.tied = true;
    mapped.emplace(key(copy.role), copy);
  }

  const auto model_required = required_in_model(s);
  auto missing = [&](int layer, Role role, Part part) -> Error {
    return fail(model.path_, ": checkpoint has no ", role_name(role),
                part == Part::Bias ? " bias" : " weight",
                layer >= 0 ? " for layer " + std::to_string(layer) : std::string(), " (expected for ",
                family_name(s.family), " with this config.json)");
  };
  for (const auto& [role, part] : model_required)
    if (!mapped.count({-1, role, part})) return missing(-1, role, part);
  const auto per_layer = required_in_layer(s);
  for (int layer = 0; layer < s.n_layers; ++layer)
    for (const auto& [role, part] : per_layer)
      if (!mapped.count({layer, role, part})) return missing(layer, role, part);

  for (auto& [k, t] : mapped) model.tensors_.push_back(std::move(t));
  std::stable_sort(model.tensors_.begin(), model.tensors_.end(),
                   [](const RoleTensor& a, const RoleTensor& b) {
                     return std::make_tuple(sort_group(a), a.layer, a.role, a.part) <
                            std::make_tuple(sort_group(b), b.layer, b.role, b.part);
                   });
  return model;
}

const RoleTensor* Model::find(int layer, Role role, Part part) const {
  for (const auto& t : tensors_)
    if (t.layer == layer && t.role == role && t.part == part) return &t;
  return nullptr;
}

std::int64_t Model::parameter_count() const {
  std::int64_t total = 0;
  const TensorInfo* last = nullptr;
  std::vector<const TensorInfo*> seen;
  for (const auto& t : tensors_) seen.push_back(t.source);
  std::sort(seen.begin(), seen.end());
  for (const TensorInfo* info : seen) {
    if (info != last) total += info->numel();
    last = info;
  }
  return total;
}

Result<std::vector<float>> Model::load_f32(const RoleTensor& t, NormGain gain) const {
  const TensorInfo& src = *t.source;
  std::vector<float> out(static_cast<std::size_t>(t.numel()));
  const unsigned char* base = checkpoint_.bytes(src).data;
  const std::size_t elem = dtype_size(src.dtype);
  if (!t.transposed) {
    // Rows of the logical matrix are rows of the stored one: convert each group's block.
    const std::int64_t row_len = t.shape.size() == 2 ? t.shape[1] : 1;
    const std::int64_t block = (t.slice_end - t.slice_begin) * row_len;
    for (std::int64_t g = 0; g < t.groups; ++g)
      convert_to_f32(src.dtype,
                     base + static_cast<std::size_t>((g * t.group_stride + t.slice_begin) * row_len) * elem,
                     static_cast<std::size_t>(block), out.data() + g * block);
  } else {
    SONIFY_ASSIGN_OR_RETURN(whole, checkpoint_.to_f32(src));
    const std::int64_t in = src.shape[0], cols = src.shape[1];
    const std::int64_t rows = t.slice_end - t.slice_begin;
    for (std::int64_t r = 0; r < rows; ++r)
      for (std::int64_t c = 0; c < in; ++c)
        out[static_cast<std::size_t>(r * in + c)] =
            whole[static_cast<std::size_t>(c * cols + t.slice_begin + r)];
  }
  if (gain == NormGain::Effective && role_is_norm(t.role) && t.part == Part::Weight &&
      spec_.norm_weight_offset != 0)
    for (float& x : out) x += static_cast<float>(spec_.norm_weight_offset);
  return out;
}

}  // namespace sonify
