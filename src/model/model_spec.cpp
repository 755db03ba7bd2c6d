// config.json → ModelSpec. Defaults follow the Hugging Face config classes of each
// family (GPT2Config, LlamaConfig, MistralConfig, Qwen2Config, Gemma3TextConfig,
// Phi3Config); the dimensions themselves are required, so a truncated config is an
// error that names the missing field rather than a silently wrong model.
#include <algorithm>
#include <cmath>
#include <optional>

#include "core/json_strict.h"
#include "sonify/model.h"

namespace sonify {
namespace {

using nlohmann::json;

constexpr std::int64_t kMaxDim = 1 << 24;  // larger than any real model dimension

class ConfigReader {
 public:
  ConfigReader(const json& object, std::string what) : j_(object), what_(std::move(what)) {}

  bool has(const char* key) const { return j_.contains(key) && !j_[key].is_null(); }

  Result<int> dim(const char* key) const {
    if (!has(key)) return fail(what_, ": missing required field '", key, "'");
    return dim_value(key);
  }
  Result<int> dim_or(const char* key, int fallback) const {
    return has(key) ? dim_value(key) : Result<int>(fallback);
  }
  Result<int> int_or(const char* key, int fallback) const {
    if (!has(key)) return fallback;
    if (!j_[key].is_number_integer()) return fail(what_, ": field '", key, "' must be an integer");
    return static_cast<int>(j_[key].get<std::int64_t>());
  }
  Result<double> number_or(const char* key, double fallback) const {
    if (!has(key)) return fallback;
    if (!j_[key].is_number()) return fail(what_, ": field '", key, "' must be a number");
    double v = j_[key].get<double>();
    if (!std::isfinite(v)) return fail(what_, ": field '", key, "' must be finite");
    return v;
  }
  Result<double> positive_or(const char* key, double fallback) const {
    SONIFY_ASSIGN_OR_RETURN(v, number_or(key, fallback));
    if (!(v > 0)) return fail(what_, ": field '", key, "' must be positive");
    return v;
  }
  Result<bool> bool_or(const char* key, bool fallback) const {
    if (!has(key)) return fallback;
    if (!j_[key].is_boolean()) return fail(what_, ": field '", key, "' must be true or false");
    return j_[key].get<bool>();
  }
  Result<std::string> string_or(const char* key, std::string fallback) const {
    if (!has(key)) return fallback;
    if (!j_[key].is_string()) return fail(what_, ": field '", key, "' must be a string");
    return j_[key].get<std::string>();
  }
  const json& raw(const char* key) const { return j_[key]; }
  const std::string& what() const { return what_; }

 private:
  Result<int> dim_value(const char* key) const {
    const json& v = j_[key];
    if (!v.is_number_integer() || v.get<std::int64_t>() <= 0 || v.get<std::int64_t>() > kMaxDim)
      return fail(what_, ": field '", key, "' must be a positive integer (at most ", kMaxDim, ")");
    return static_cast<int>(v.get<std::int64_t>());
  }

  const json& j_;
  std::string what_;
};

Status read_token_ids(const ConfigReader& r, ModelSpec* spec) {
  SONIFY_ASSIGN_OR_RETURN(bos, r.int_or("bos_token_id", -1));
  SONIFY_ASSIGN_OR_RETURN(pad, r.int_or("pad_token_id", -1));
  spec->bos_token_id = bos;
  spec->pad_token_id = pad;
  spec->eos_token_ids.clear();
  if (r.has("eos_token_id")) {
    const json& eos = r.raw("eos_token_id");
    if (eos.is_number_integer()) {
      spec->eos_token_ids.push_back(eos.get<int>());
    } else if (eos.is_array()) {
      for (const auto& e : eos) {
        if (!e.is_number_integer())
          return fail(r.what(), ": field 'eos_token_id' must be an integer or a list of them");
        spec->eos_token_ids.push_back(e.get<int>());
      }
    } else {
      return fail(r.what(), ": field 'eos_token_id' must be an integer or a list of them");
    }
  }
  return Status::Ok();
}

Status read_rope_scaling(const ConfigReader& r, ModelSpec* spec) {
  if (!r.has("rope_scaling")) return Status::Ok();
  const json& rs = r.raw("rope_scaling");
  if (!rs.is_object()) return fail(r.what(), ": field 'rope_scaling' must be an object or null");
  const char* type_key = rs.contains("rope_type") ? "rope_type" : "type";
  if (!rs.contains(type_key) || !rs[type_key].is_string())
    return fail(r.what(), ": rope_scaling needs a string 'rope_type' (or 'type')");
  spec->rope_scaling_type = rs[type_key].get<std::string>();
  if (rs.contains("factor")) {
    if (!rs["factor"].is_number() || !(rs["factor"].get<double>() > 0))
      return fail(r.what(), ": rope_scaling.factor must be a positive number");
    spec->rope_scaling_factor = rs["factor"].get<double>();
  }
  spec->rope_scaling_json = rs.dump();
  return Status::Ok();
}

Status read_heads(const ConfigReader& r, const char* heads_key, int default_head_dim, ModelSpec* spec) {
  SONIFY_ASSIGN_OR_RETURN(heads, r.dim(heads_key));
  SONIFY_ASSIGN_OR_RETURN(kv, r.dim_or("num_key_value_heads", heads));
  spec->n_heads = heads;
  spec->n_kv_heads = kv;
  if (heads % kv != 0)
    return fail(r.what(), ": num_attention_heads (", heads, ") is not a multiple of num_key_value_heads (",
                kv, ")");
  if (default_head_dim == 0) {
    if (spec->hidden_size % heads != 0 && !r.has("head_dim"))
      return fail(r.what(), ": hidden_size (", spec->hidden_size,
                  ") is not divisible by the head count and no head_dim is given");
    default_head_dim = spec->hidden_size / heads;
  }
  SONIFY_ASSIGN_OR_RETURN(head_dim, r.dim_or("head_dim", default_head_dim));
  spec->head_dim = head_dim;
  // Both factors are at most kMaxDim, so the product fits in 64 bits; the projections'
  // width must stay within the same bound as every other dimension.
  const std::int64_t width = std::int64_t{heads} * head_dim;
  if (width > kMaxDim)
    return fail(r.what(), ": heads x head_dim (", heads, " x ", head_dim, " = ", width, ") exceeds ",
                kMaxDim);
  return Status::Ok();
}

Result<ModelSpec> parse_gpt2(const ConfigReader& r) {
  ModelSpec s;
  s.family = Family::GPT2;
  SONIFY_ASSIGN_OR_RETURN(hidden, r.dim("n_embd"));
  SONIFY_ASSIGN_OR_RETURN(layers, r.dim("n_layer"));
  SONIFY_ASSIGN_OR_RETURN(vocab, r.dim("vocab_size"));
  SONIFY_ASSIGN_OR_RETURN(ctx_default, r.dim_or("n_ctx", 1024));
  SONIFY_ASSIGN_OR_RETURN(ctx, r.dim_or("n_positions", ctx_default));
  SONIFY_ASSIGN_OR_RETURN(
      inner,
      r.dim_or("n_inner", static_cast<int>(std::min<std::int64_t>(4 * std::int64_t{hidden}, kMaxDim))));
  SONIFY_ASSIGN_OR_RETURN(eps, r.positive_or("layer_norm_epsilon", 1e-5));
  SONIFY_ASSIGN_OR_RETURN(act, r.string_or("activation_function", "gelu_new"));
  SONIFY_ASSIGN_OR_RETURN(tie, r.bool_or("tie_word_embeddings", true));
  s.hidden_size = hidden;
  s.n_layers = layers;
  s.vocab_size = vocab;
  s.context_length = ctx;
  s.intermediate_size = inner;
  SONIFY_TRY(read_heads(r, "n_head", 0, &s));
  if (s.n_kv_heads != s.n_heads || std::int64_t{s.head_dim} * s.n_heads != hidden)
    return fail(r.what(), ": GPT-2 needs n_embd divisible by n_head and no grouped KV heads");
  s.norm_eps = eps;
  s.layer_norm = true;
  s.activation = act;
  s.gated_mlp = false;
  s.qkv_bias = s.o_bias = s.mlp_bias = true;
  s.tie_word_embeddings = tie;
  s.learned_positions = true;
  s.rope_theta = 0;
  return s;
}

// GPTNeoXConfig (Pythia): LayerNorm with biases, fused head-interleaved QKV, rotary on the
// first rotary_pct of each head, parallel attention + MLP unless use_parallel_residual is false.
Result<ModelSpec> parse_gpt_neox(const ConfigReader& r) {
  ModelSpec s;
  s.family = Family::GPTNeoX;
  SONIFY_ASSIGN_OR_RETURN(hidden, r.dim("hidden_size"));
  SONIFY_ASSIGN_OR_RETURN(layers, r.dim("num_hidden_layers"));
  SONIFY_ASSIGN_OR_RETURN(inter, r.dim("intermediate_size"));
  SONIFY_ASSIGN_OR_RETURN(vocab, r.dim("vocab_size"));
  SONIFY_ASSIGN_OR_RETURN(ctx, r.dim_or("max_position_embeddings", 2048));
  s.hidden_size = hidden;
  s.n_layers = layers;
  s.intermediate_size = inter;
  s.vocab_size = vocab;
  s.context_length = ctx;
  SONIFY_TRY(read_heads(r, "num_attention_heads", 0, &s));
  if (s.n_kv_heads != s.n_heads || std::int64_t{s.head_dim} * s.n_heads != hidden)
    return fail(r.what(),
                ": GPT-NeoX needs hidden_size divisible by num_attention_heads and no grouped KV heads");
  SONIFY_ASSIGN_OR_RETURN(eps, r.positive_or("layer_norm_eps", 1e-5));
  SONIFY_ASSIGN_OR_RETURN(act, r.string_or("hidden_act", "gelu"));
  SONIFY_ASSIGN_OR_RETURN(tie, r.bool_or("tie_word_embeddings", false));
  SONIFY_ASSIGN_OR_RETURN(pct, r.positive_or("rotary_pct", 0.25));
  if (pct > 1) return fail(r.what(), ": field 'rotary_pct' must be at most 1");
  SONIFY_ASSIGN_OR_RETURN(base, r.positive_or("rotary_emb_base", 10000));
  SONIFY_ASSIGN_OR_RETURN(theta, r.positive_or("rope_theta", base));
  SONIFY_ASSIGN_OR_RETURN(parallel, r.bool_or("use_parallel_residual", true));
  SONIFY_ASSIGN_OR_RETURN(bias, r.bool_or("attention_bias", true));
  s.norm_eps = eps;
  s.layer_norm = true;
  s.activation = act;
  s.gated_mlp = false;
  s.qkv_bias = s.o_bias = bias;
  s.mlp_bias = true;
  s.tie_word_embeddings = tie;
  s.rope_theta = theta;
  s.partial_rotary_factor = pct;
  s.parallel_residual = parallel;
  SONIFY_TRY(read_rope_scaling(r, &s));
  s.layer_is_sliding.assign(layers, false);
  return s;
}

// Llama, Mistral, Qwen2, Gemma 3 and Phi-3 share the Llama field names.
Result<ModelSpec> parse_llama_like(const ConfigReader& r, Family family, const std::string& model_type) {
  ModelSpec s;
  s.family = family;
  const bool gemma = family == Family::Gemma3;
  SONIFY_ASSIGN_OR_RETURN(hidden, r.dim("hidden_size"));
  SONIFY_ASSIGN_OR_RETURN(layers, r.dim("num_hidden_layers"));
  SONIFY_ASSIGN_OR_RETURN(inter, r.dim("intermediate_size"));
  SONIFY_ASSIGN_OR_RETURN(vocab, r.dim("vocab_size"));
  SONIFY_ASSIGN_OR_RETURN(ctx, r.dim("max_position_embeddings"));
  s.hidden_size = hidden;
  s.n_layers = layers;
  s.intermediate_size = inter;
  s.vocab_size = vocab;
  s.context_length = ctx;
  SONIFY_TRY(read_heads(r, "num_attention_heads", gemma ? 256 : 0, &s));

  const double default_eps = family == Family::Phi3 ? 1e-5 : 1e-6;
  SONIFY_ASSIGN_OR_RETURN(eps, r.positive_or("rms_norm_eps", default_eps));
  s.norm_eps = eps;
  if (gemma) {
    SONIFY_ASSIGN_OR_RETURN(act, r.string_or("hidden_activation", "gelu_pytorch_tanh"));
    s.activation = act;
  } else {
    SONIFY_ASSIGN_OR_RETURN(act, r.string_or("hidden_act", "silu"));
    s.activation = act;
  }
  SONIFY_ASSIGN_OR_RETURN(tie, r.bool_or("tie_word_embeddings", gemma));
  s.tie_word_embeddings = tie;
  SONIFY_ASSIGN_OR_RETURN(theta, r.positive_or("rope_theta", gemma ? 1e6 : 10000));
  s.rope_theta = theta;
  SONIFY_ASSIGN_OR_RETURN(partial, r.positive_or("partial_rotary_factor", 1.0));
  if (partial > 1) return fail(r.what(), ": field 'partial_rotary_factor' must be at most 1");
  s.partial_rotary_factor = partial;
  SONIFY_TRY(read_rope_scaling(r, &s));

  SONIFY_ASSIGN_OR_RETURN(attention_bias, r.bool_or("attention_bias", false));
  SONIFY_ASSIGN_OR_RETURN(mlp_bias, r.bool_or("mlp_bias", false));
  s.qkv_bias = attention_bias || model_type == "qwen2";
  s.o_bias = attention_bias;
  s.mlp_bias = mlp_bias;

  // Sliding windows: Mistral and Phi-3 slide on every layer when the field is set;
  // Qwen2 only with use_sliding_window; Gemma 3 on the layers layer_types names.
  bool slides = false;
  if (model_type == "qwen2") {
    SONIFY_ASSIGN_OR_RETURN(use, r.bool_or("use_sliding_window", false));
    slides = use && r.has("sliding_window");
  } else if (gemma) {
    slides = true;
  } else {
    slides = r.has("sliding_window");
  }
  if (slides) {
    SONIFY_ASSIGN_OR_RETURN(window, r.dim_or("sliding_window", 4096));
    s.sliding_window = window;
  }
  s.layer_is_sliding.assign(layers, s.sliding_window > 0);

  if (gemma) {
    s.norm_weight_offset = 1;
    s.embedding_multiplier = std::sqrt(static_cast<double>(hidden));
    SONIFY_ASSIGN_OR_RETURN(local, r.positive_or("rope_local_base_freq", 10000));
    SONIFY_ASSIGN_OR_RETURN(scalar, r.positive_or("query_pre_attn_scalar", 256));
    SONIFY_ASSIGN_OR_RETURN(final_cap, r.number_or("final_logit_softcapping", 0));
    SONIFY_ASSIGN_OR_RETURN(attn_cap, r.number_or("attn_logit_softcapping", 0));
    s.rope_local_theta = local;
    s.query_pre_attn_scalar = scalar;
    s.final_logit_softcapping = final_cap;
    s.attn_logit_softcapping = attn_cap;
    if (r.has("layer_types")) {
      const json& types = r.raw("layer_types");
      if (!types.is_array() || types.size() != static_cast<std::size_t>(layers))
        return fail(r.what(), ": field 'layer_types' must list one type per layer (", layers, ")");
      for (int i = 0; i < layers; ++i) {
        const json& t = types[i];
        if (t == "sliding_attention")
          s.layer_is_sliding[i] = true;
        else if (t == "full_attention")
          s.layer_is_sliding[i] = false;
        else
          return fail(r.what(), ": layer_types[", i, "] must be \"sliding_attention\" or \"full_attention\"");
      }
    } else {
      SONIFY_ASSIGN_OR_RETURN(pattern, r.dim_or("sliding_window_pattern", 6));
      for (int i = 0; i < layers; ++i) s.layer_is_sliding[i] = (i + 1) % pattern != 0;
    }
  }
  return s;
}

}  // namespace

std::string_view supported_model_types() {
  return "gpt2, llama, mistral, qwen2, gemma3_text, gemma3, phi3, gpt_neox";
}

namespace {

Result<ModelSpec> model_spec_from_json(const json& root, const std::string& what) {
  if (!root.is_object()) return fail(what, ": not a JSON object");
  ConfigReader top(root, what);
  if (!top.has("model_type"))
    return fail(what, ": missing required field 'model_type' (supported: ", supported_model_types(), ")");
  SONIFY_ASSIGN_OR_RETURN(model_type, top.string_or("model_type", ""));

  Result<ModelSpec> spec = Error{};
  if (model_type == "gpt2") {
    spec = parse_gpt2(top);
  } else if (model_type == "llama" || model_type == "mistral" || model_type == "qwen2") {
    spec = parse_llama_like(top, Family::Llama, model_type);
  } else if (model_type == "phi3") {
    spec = parse_llama_like(top, Family::Phi3, model_type);
  } else if (model_type == "gpt_neox") {
    spec = parse_gpt_neox(top);
  } else if (model_type == "gemma3_text") {
    spec = parse_llama_like(top, Family::Gemma3, model_type);
  } else if (model_type == "gemma3") {
    if (!top.has("text_config") || !root["text_config"].is_object())
      return fail(what, ": gemma3 config has no 'text_config' object");
    ConfigReader text(root["text_config"], what + " (text_config)");
    spec = parse_llama_like(text, Family::Gemma3, model_type);
    // Multimodal configs keep the tying flag at the top level.
    if (spec.ok() && top.has("tie_word_embeddings")) {
      SONIFY_ASSIGN_OR_RETURN(tie, top.bool_or("tie_word_embeddings", true));
      spec->tie_word_embeddings = tie;
    }
  } else {
    return fail(what, ": unknown model_type '", model_type, "' (supported: ", supported_model_types(), ")");
  }
  if (!spec.ok()) return spec;
  spec->model_type = model_type;
  SONIFY_TRY(read_token_ids(top, &spec.value()));
  SONIFY_ASSIGN_OR_RETURN(dtype, top.string_or("torch_dtype", ""));
  spec->torch_dtype = dtype;
  return spec;
}

}  // namespace

Result<ModelSpec> model_spec_parse(std::string_view json_text, const std::string& what) {
  SONIFY_ASSIGN_OR_RETURN(root, json_parse_strict(json_text, what));
  return model_spec_from_json(root, what);
}

Result<ModelSpec> model_spec_read(const std::string& path) {
  SONIFY_ASSIGN_OR_RETURN(root, json_read_file(path));
  return model_spec_from_json(root, path);
}

}  // namespace sonify
