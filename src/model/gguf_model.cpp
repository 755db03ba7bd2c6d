// A GGUF file as a Model: the config from the `<arch>.*` metadata keys llama.cpp writes
// (written as the config.json Hugging Face would have, then parsed by the one config
// reader), and the tensors renamed to Hugging Face's names and layout, so everything
// after Model::bind is the same code as for safetensors.
//
// Architectures llama, qwen2, phi3, gemma3 and gpt2, as convert_hf_to_gguf.py writes them;
// what it did to a tensor is undone here, so the runtime's forward gives the same result as
// the original model:
// - llama's q_proj/k_proj rows are permuted per head (LlamaModel.permute: rows (h, j, i)
//   with j the rotary half become (h, i, j)), because ggml rotates adjacent pairs where
//   Hugging Face rotates halves (qwen2, phi3 and gemma3 use ggml's NeoX rotation: as stored);
// - GPT-2's Conv1D weights (c_attn, c_proj, c_fc) are transposed to [out, in];
// - Gemma 3's norm gains are stored as 1 + w.
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>

#include "model/checkpoint_impl.h"
#include "model/gguf.h"

namespace sonify::gguf {
namespace {

using nlohmann::json;

const Value* find(const File& f, const std::string& key) {
  auto it = f.metadata.find(key);
  return it == f.metadata.end() ? nullptr : &it->second;
}

Result<std::int64_t> integer(const File& f, const std::string& key, const std::string& path) {
  const Value* v = find(f, key);
  if (v == nullptr) return fail(path, ": GGUF metadata has no '", key, "'");
  if (const auto* u = std::get_if<std::uint64_t>(&v->data)) {
    if (*u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      return fail(path, ": GGUF metadata '", key, "' is out of range");
    return static_cast<std::int64_t>(*u);
  }
  if (const auto* i = std::get_if<std::int64_t>(&v->data)) return *i;
  return fail(path, ": GGUF metadata '", key, "' is not an integer");
}

Result<double> number(const File& f, const std::string& key, const std::string& path) {
  const Value* v = find(f, key);
  if (v == nullptr) return fail(path, ": GGUF metadata has no '", key, "'");
  if (const auto* d = std::get_if<double>(&v->data)) return *d;
  if (v->type != ValueType::Bool && v->type != ValueType::String && v->type != ValueType::Array) {
    SONIFY_ASSIGN_OR_RETURN(i, integer(f, key, path));
    return static_cast<double>(i);
  }
  return fail(path, ": GGUF metadata '", key, "' is not a number");
}

Result<std::string> string(const File& f, const std::string& key, const std::string& path) {
  const Value* v = find(f, key);
  if (v == nullptr) return fail(path, ": GGUF metadata has no '", key, "'");
  if (const auto* s = std::get_if<std::string>(&v->data)) return *s;
  return fail(path, ": GGUF metadata '", key, "' is not a string");
}

const Tensor* find_tensor(const File& f, const std::string& name) {
  for (const auto& t : f.tensors)
    if (t.name == name) return &t;
  return nullptr;
}

// How a stored tensor becomes its Hugging Face form (what convert_hf_to_gguf.py did, undone).
enum class Transform {
  None,
  Permute,    // llama's q/k rows, permuted per head (LlamaModel.permute)
  Transpose,  // GPT-2's Conv1D weights, which the converter transposed to [out, in]
  NormShift,  // Gemma 3's norm gains, stored as 1 + w (Gemma3Model adds norm_shift)
};

struct Mapped {
  std::string name;  // empty: not one of the architecture's tensors (left to Model::bind)
  Transform transform = Transform::None;
  int heads = 0;  // Permute only
};

// An architecture llama.cpp writes and the Hugging Face family sonify reads it as.
struct Arch {
  std::string gguf;        // general.architecture
  std::string model_type;  // config.json's
};

const std::vector<Arch>& archs() {
  static const std::vector<Arch> a = {
      {"llama", "llama"}, {"qwen2", "qwen2"}, {"phi3", "phi3"}, {"gemma3", "gemma3_text"}, {"gpt2", "gpt2"}};
  return a;
}

// The config.json Hugging Face would carry for a model with this metadata. Keys follow
// llama.cpp's LLM_KV names under the architecture's prefix; what llama.cpp does not store
// it takes from its own loader (llama-model.cpp), so sonify reads the file as llama.cpp does.
Result<json> hf_config(const File& f, const Arch& arch, const std::string& path) {
  const auto key = [&](const char* k) { return arch.gguf + "." + k; };
  const auto has = [&](const char* k) { return find(f, key(k)) != nullptr; };
  json c;
  c["model_type"] = arch.model_type;
  SONIFY_ASSIGN_OR_RETURN(layers, integer(f, key("block_count"), path));
  SONIFY_ASSIGN_OR_RETURN(width, integer(f, key("embedding_length"), path));
  SONIFY_ASSIGN_OR_RETURN(heads, integer(f, key("attention.head_count"), path));
  SONIFY_ASSIGN_OR_RETURN(ffn, integer(f, key("feed_forward_length"), path));
  SONIFY_ASSIGN_OR_RETURN(ctx, integer(f, key("context_length"), path));
  const Tensor* embed = find_tensor(f, "token_embd.weight");
  if (embed == nullptr || embed->ne.size() != 2) return fail(path, ": GGUF has no 2-D token_embd.weight");
  c["vocab_size"] = embed->ne[1];
  c["tie_word_embeddings"] = find_tensor(f, "output.weight") == nullptr;
  for (const char* id : {"bos", "eos", "padding"}) {
    const std::string k = std::string("tokenizer.ggml.") + id + "_token_id";
    if (find(f, k) == nullptr) continue;
    SONIFY_ASSIGN_OR_RETURN(v, integer(f, k, path));
    c[std::string(id == std::string("padding") ? "pad" : id) + "_token_id"] = v;
  }
  if (arch.gguf == "gpt2") {
    SONIFY_ASSIGN_OR_RETURN(eps, number(f, key("attention.layer_norm_epsilon"), path));
    c["n_layer"] = layers;
    c["n_embd"] = width;
    c["n_head"] = heads;
    c["n_inner"] = ffn;
    c["n_positions"] = c["n_ctx"] = ctx;
    c["layer_norm_epsilon"] = eps;
    c["activation_function"] = "gelu_new";
    return c;
  }
  SONIFY_ASSIGN_OR_RETURN(eps, number(f, key("attention.layer_norm_rms_epsilon"), path));
  c["num_hidden_layers"] = layers;
  c["hidden_size"] = width;
  c["num_attention_heads"] = heads;
  c["intermediate_size"] = ffn;
  c["max_position_embeddings"] = ctx;
  c["rms_norm_eps"] = eps;
  c["num_key_value_heads"] = heads;
  if (has("attention.head_count_kv")) {
    SONIFY_ASSIGN_OR_RETURN(kv, integer(f, key("attention.head_count_kv"), path));
    c["num_key_value_heads"] = kv;
  }
  if (has("attention.key_length")) {
    SONIFY_ASSIGN_OR_RETURN(hd, integer(f, key("attention.key_length"), path));
    c["head_dim"] = hd;
  }
  const bool gemma = arch.gguf == "gemma3";
  c["rope_theta"] = gemma ? 1e6 : 10000.0;
  if (has("rope.freq_base")) {
    SONIFY_ASSIGN_OR_RETURN(base, number(f, key("rope.freq_base"), path));
    c["rope_theta"] = base;
  }
  if (has("rope.scaling.type")) {
    SONIFY_ASSIGN_OR_RETURN(type, string(f, key("rope.scaling.type"), path));
    if (type == "linear") {
      SONIFY_ASSIGN_OR_RETURN(factor, number(f, key("rope.scaling.factor"), path));
      c["rope_scaling"] = {{"type", "linear"}, {"factor", factor}};
    } else if (type != "none") {
      return fail(path, ": GGUF rope scaling '", type, "' is not supported (none and linear are)");
    }
  }
  for (const char* extra : {"rope_freqs.weight", "rope_factors_long.weight", "rope_factors_short.weight"})
    if (find_tensor(f, extra) != nullptr)
      return fail(path, ": GGUF tensor ", extra,
                  " (Llama 3.1 / Phi-3 long-context rope factors) is not supported");
  if (arch.gguf == "phi3" || gemma) {
    if (has("attention.sliding_window")) {
      SONIFY_ASSIGN_OR_RETURN(window, integer(f, key("attention.sliding_window"), path));
      c["sliding_window"] = window;
    } else if (gemma) {
      return fail(path, ": GGUF metadata has no '", key("attention.sliding_window"), "'");
    }
  }
  if (gemma) {
    // llama.cpp's gemma3 hparams: every sixth layer global, local layers at rope base 10000,
    // queries scaled by 1/sqrt(head_dim) (by 1/sqrt(hidden/heads) for the 62-layer 27B).
    const std::int64_t head_dim = c.contains("head_dim") ? c["head_dim"].get<std::int64_t>() : 256;
    c["hidden_activation"] = "gelu_pytorch_tanh";
    c["sliding_window_pattern"] = 6;
    c["rope_local_base_freq"] = 10000.0;
    c["query_pre_attn_scalar"] = layers == 62 ? width / heads : head_dim;
  } else {
    c["hidden_act"] = "silu";
  }
  return c;
}

// Hugging Face name of a GGUF tensor of `arch`, and how to restore its layout.
Mapped hf_name(const std::string& name, const Arch& arch, const ModelSpec& s) {
  const bool gpt2 = arch.gguf == "gpt2", gemma = arch.gguf == "gemma3";
  const std::string body = gpt2 ? "transformer." : "model.";
  const Transform norm = gemma ? Transform::NormShift : Transform::None;
  if (name == "token_embd.weight") return {body + (gpt2 ? "wte.weight" : "embed_tokens.weight")};
  if (name == "position_embd.weight" && gpt2) return {"transformer.wpe.weight"};
  if (name == "output.weight") return {"lm_head.weight"};
  if (name == "output_norm.weight") return {body + (gpt2 ? "ln_f.weight" : "norm.weight"), norm};
  if (name == "output_norm.bias" && gpt2) return {"transformer.ln_f.bias"};
  if (name.rfind("blk.", 0) != 0) return {};
  const std::size_t dot = name.find('.', 4);
  if (dot == std::string::npos || dot == 4) return {};
  const std::string layer = name.substr(4, dot - 4), rest = name.substr(dot + 1);
  if (layer.find_first_not_of("0123456789") != std::string::npos) return {};
  const std::string prefix = body + (gpt2 ? "h." : "layers.") + layer + ".";
  struct Rule {
    const char* gguf;
    const char* hf;
    Transform transform;
  };
  static const std::vector<Rule> kGpt2 = {
      {"attn_norm.weight", "ln_1.weight", Transform::None},
      {"attn_norm.bias", "ln_1.bias", Transform::None},
      {"attn_qkv.weight", "attn.c_attn.weight", Transform::Transpose},
      {"attn_qkv.bias", "attn.c_attn.bias", Transform::None},
      {"attn_output.weight", "attn.c_proj.weight", Transform::Transpose},
      {"attn_output.bias", "attn.c_proj.bias", Transform::None},
      {"ffn_norm.weight", "ln_2.weight", Transform::None},
      {"ffn_norm.bias", "ln_2.bias", Transform::None},
      {"ffn_up.weight", "mlp.c_fc.weight", Transform::Transpose},
      {"ffn_up.bias", "mlp.c_fc.bias", Transform::None},
      {"ffn_down.weight", "mlp.c_proj.weight", Transform::Transpose},
      {"ffn_down.bias", "mlp.c_proj.bias", Transform::None},
  };
  static const std::vector<Rule> kPhi3 = {
      {"attn_norm.weight", "input_layernorm.weight", Transform::None},
      {"attn_qkv.weight", "self_attn.qkv_proj.weight", Transform::None},
      {"attn_output.weight", "self_attn.o_proj.weight", Transform::None},
      {"ffn_norm.weight", "post_attention_layernorm.weight", Transform::None},
      {"ffn_up.weight", "mlp.gate_up_proj.weight", Transform::None},  // gate and up, fused as in HF
      {"ffn_down.weight", "mlp.down_proj.weight", Transform::None},
  };
  static const std::vector<Rule> kGemma3 = {
      {"attn_norm.weight", "input_layernorm.weight", Transform::NormShift},
      {"attn_q_norm.weight", "self_attn.q_norm.weight", Transform::NormShift},
      {"attn_k_norm.weight", "self_attn.k_norm.weight", Transform::NormShift},
      {"post_attention_norm.weight", "post_attention_layernorm.weight", Transform::NormShift},
      {"ffn_norm.weight", "pre_feedforward_layernorm.weight", Transform::NormShift},
      {"post_ffw_norm.weight", "post_feedforward_layernorm.weight", Transform::NormShift},
  };
  // llama and qwen2 (whose q/k/v carry biases); gemma3 shares the projections.
  static const std::vector<Rule> kLlama = {
      {"attn_norm.weight", "input_layernorm.weight", Transform::None},
      {"attn_q.weight", "self_attn.q_proj.weight", Transform::Permute},
      {"attn_q.bias", "self_attn.q_proj.bias", Transform::Permute},
      {"attn_k.weight", "self_attn.k_proj.weight", Transform::Permute},
      {"attn_k.bias", "self_attn.k_proj.bias", Transform::Permute},
      {"attn_v.weight", "self_attn.v_proj.weight", Transform::None},
      {"attn_v.bias", "self_attn.v_proj.bias", Transform::None},
      {"attn_output.weight", "self_attn.o_proj.weight", Transform::None},
      {"attn_output.bias", "self_attn.o_proj.bias", Transform::None},
      {"ffn_norm.weight", "post_attention_layernorm.weight", Transform::None},
      {"ffn_gate.weight", "mlp.gate_proj.weight", Transform::None},
      {"ffn_up.weight", "mlp.up_proj.weight", Transform::None},
      {"ffn_down.weight", "mlp.down_proj.weight", Transform::None},
  };
  const auto lookup = [&](const std::vector<Rule>& rules) -> const Rule* {
    for (const Rule& r : rules)
      if (rest == r.gguf) return &r;
    return nullptr;
  };
  const Rule* rule = gpt2 ? lookup(kGpt2) : arch.gguf == "phi3" ? lookup(kPhi3) : nullptr;
  if (rule == nullptr && gemma) rule = lookup(kGemma3);
  if (rule == nullptr && !gpt2 && arch.gguf != "phi3") rule = lookup(kLlama);
  if (rule == nullptr) return {};
  Mapped m{prefix + rule->hf, rule->transform};
  // Only llama's converter permutes; qwen2 and gemma3 use ggml's NeoX rotation, as HF does.
  if (m.transform == Transform::Permute) {
    if (arch.gguf != "llama") m.transform = Transform::None;
    m.heads = rest.rfind("attn_q.", 0) == 0 ? s.n_heads : s.n_kv_heads;
  }
  return m;
}

// Row r of the Hugging Face matrix is row perm(r) of the GGUF one: within each head of hd
// rows, HF row j·hd/2 + i is stored at 2i + j.
std::int64_t permuted_row(std::int64_t r, std::int64_t head_dim) {
  const std::int64_t h = r / head_dim, k = r % head_dim, half = head_dim / 2;
  return h * head_dim + 2 * (k % half) + k / half;
}

std::map<std::string, std::string> scalar_metadata(const File& f) {
  std::map<std::string, std::string> out;
  out["format"] = "GGUF v" + std::to_string(f.version);
  for (const auto& [k, v] : f.metadata) {
    if (const auto* s = std::get_if<std::string>(&v.data)) out[k] = *s;
    if (const auto* u = std::get_if<std::uint64_t>(&v.data)) out[k] = std::to_string(*u);
    if (const auto* i = std::get_if<std::int64_t>(&v.data)) out[k] = std::to_string(*i);
  }
  return out;
}

}  // namespace

Result<Model> open_model(const std::string& path) {
  SONIFY_ASSIGN_OR_RETURN(map, MappedFile::open(path));
  SONIFY_ASSIGN_OR_RETURN(file, parse(map));
  SONIFY_ASSIGN_OR_RETURN(arch_name, string(file, "general.architecture", path));
  const Arch* arch = nullptr;
  for (const Arch& a : archs())
    if (a.gguf == arch_name) arch = &a;
  if (arch == nullptr)
    return fail(path, ": GGUF architecture '", arch_name,
                "' is not supported (llama, qwen2, phi3, gemma3, gpt2 are)");
  SONIFY_ASSIGN_OR_RETURN(config, hf_config(file, *arch, path));
  SONIFY_ASSIGN_OR_RETURN(spec, model_spec_parse(config.dump(), path + " (GGUF metadata)"));

  struct Entry {
    TensorInfo info;
    std::unique_ptr<DerivedTensor> derived;
  };
  std::vector<Entry> entries;
  std::size_t scratch = 0;
  const unsigned char* base = map.data();
  for (const Tensor& t : file.tensors) {
    const Mapped m = hf_name(t.name, *arch, spec);
    Entry e;
    e.info.name = m.name.empty() ? t.name : m.name;
    for (auto it = t.ne.rbegin(); it != t.ne.rend(); ++it)
      e.info.shape.push_back(static_cast<std::int64_t>(*it));
    const Transform transform = m.transform;
    const int heads = m.heads;
    if (transform == Transform::Permute) {
      const std::int64_t rows = e.info.shape[0];
      if (rows % heads != 0 || (rows / heads) % 2 != 0)
        return fail(path, ": tensor '", t.name, "' has ", rows, " rows, not an even number per each of ",
                    heads, " heads");
    }
    if (transform == Transform::Transpose) {
      if (e.info.shape.size() != 2) return fail(path, ": tensor '", t.name, "' is not a matrix");
      std::swap(e.info.shape[0], e.info.shape[1]);
    }
    const bool plain = t.type == TensorType::F32 || t.type == TensorType::F16 || t.type == TensorType::BF16;
    if (plain && transform == Transform::None) {
      e.info.dtype = t.type == TensorType::F32   ? DType::F32
                     : t.type == TensorType::F16 ? DType::F16
                                                 : DType::BF16;
      e.info.offset = t.offset;
      e.info.nbytes = t.nbytes;
    } else {
      e.info.dtype = DType::F32;
      e.info.stored_as = tensor_type_name(static_cast<std::uint32_t>(t.type));
      e.info.offset = t.offset;
      e.info.nbytes = t.numel * 4;
      e.derived = std::make_unique<DerivedTensor>();
      e.derived->scratch_offset = scratch;
      scratch += (e.info.nbytes + 4095) / 4096 * 4096;  // page-aligned, so dropping pages never spans two
      const unsigned char* src = base + t.offset;
      const TensorType type = t.type;
      const std::uint64_t numel = t.numel;
      // Rows and columns as stored (ne[1] × ne[0]; a vector is one column).
      const std::int64_t rows = t.ne.size() > 1 ? static_cast<std::int64_t>(t.ne[1]) : numel,
                         cols = t.ne.size() > 1 ? static_cast<std::int64_t>(t.ne[0]) : 1;
      e.derived->fill = [src, type, numel, transform, heads, rows, cols](float* dst) {
        if (transform == Transform::None) return dequantize(type, src, numel, dst);
        if (transform == Transform::NormShift) {
          dequantize(type, src, numel, dst);
          for (std::uint64_t i = 0; i < numel; ++i) dst[i] -= 1.0f;
          return;
        }
        std::vector<float> stored(numel);
        dequantize(type, src, numel, stored.data());
        if (transform == Transform::Transpose) {
          for (std::int64_t r = 0; r < rows; ++r)
            for (std::int64_t c = 0; c < cols; ++c) dst[c * rows + r] = stored[r * cols + c];
          return;
        }
        const std::int64_t hd = rows / heads;
        for (std::int64_t r = 0; r < rows; ++r)
          std::memcpy(dst + r * cols, stored.data() + permuted_row(r, hd) * cols, cols * sizeof(float));
      };
    }
    entries.push_back(std::move(e));
  }
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.info.name < b.info.name; });
  for (std::size_t i = 1; i < entries.size(); ++i)
    if (entries[i].info.name == entries[i - 1].info.name)
      return fail(path, ": tensors '", entries[i].info.name, "' appear twice after renaming");

  auto impl = std::make_unique<CheckpointAccess::Impl>();
  SONIFY_TRY(impl->reserve_scratch(scratch, path));
  CheckpointFile cf;
  cf.path = path;
  cf.size_bytes = map.size();
  cf.header_bytes = file.data_offset - 8;  // as for safetensors, 8 + header_bytes is where the data starts
  cf.metadata = scalar_metadata(file);
  impl->files.push_back(std::move(cf));
  for (auto& e : entries) {
    impl->tensors.push_back(std::move(e.info));
    impl->derived.push_back(std::move(e.derived));
  }
  impl->maps.push_back(std::move(map));
  return Model::bind(std::move(spec), CheckpointAccess::make(std::move(impl)), path);
}

}  // namespace sonify::gguf
