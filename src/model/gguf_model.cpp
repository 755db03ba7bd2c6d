// A GGUF file as a Model: the config from the `<arch>.*` metadata keys llama.cpp writes
// (written as the config.json Hugging Face would have, then parsed by the one config
// reader), and the tensors renamed to Hugging Face's names and layout, so everything
// after Model::bind is the same code as for safetensors.
//
// convert_hf_to_gguf.py stores llama's q_proj/k_proj rows permuted per head
// (LlamaModel.permute: rows (h, j, i) with j the rotary half become (h, i, j)), because
// ggml rotates adjacent pairs where Hugging Face rotates halves. The permutation is undone
// here, so the runtime's rotate-half forward gives the same result as the original model.
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

// The config.json a Hugging Face LlamaForCausalLM with this metadata would carry.
Result<json> llama_config(const File& f, const std::string& path) {
  json c;
  c["model_type"] = "llama";
  c["hidden_act"] = "silu";
  const auto key = [](const char* k) { return std::string("llama.") + k; };
  SONIFY_ASSIGN_OR_RETURN(layers, integer(f, key("block_count"), path));
  SONIFY_ASSIGN_OR_RETURN(width, integer(f, key("embedding_length"), path));
  SONIFY_ASSIGN_OR_RETURN(heads, integer(f, key("attention.head_count"), path));
  SONIFY_ASSIGN_OR_RETURN(ffn, integer(f, key("feed_forward_length"), path));
  SONIFY_ASSIGN_OR_RETURN(ctx, integer(f, key("context_length"), path));
  SONIFY_ASSIGN_OR_RETURN(eps, number(f, key("attention.layer_norm_rms_epsilon"), path));
  c["num_hidden_layers"] = layers;
  c["hidden_size"] = width;
  c["num_attention_heads"] = heads;
  c["intermediate_size"] = ffn;
  c["max_position_embeddings"] = ctx;
  c["rms_norm_eps"] = eps;
  c["num_key_value_heads"] = heads;
  if (find(f, key("attention.head_count_kv")) != nullptr) {
    SONIFY_ASSIGN_OR_RETURN(kv, integer(f, key("attention.head_count_kv"), path));
    c["num_key_value_heads"] = kv;
  }
  if (find(f, key("attention.key_length")) != nullptr) {
    SONIFY_ASSIGN_OR_RETURN(hd, integer(f, key("attention.key_length"), path));
    c["head_dim"] = hd;
  }
  c["rope_theta"] = 10000.0;
  if (find(f, key("rope.freq_base")) != nullptr) {
    SONIFY_ASSIGN_OR_RETURN(base, number(f, key("rope.freq_base"), path));
    c["rope_theta"] = base;
  }
  if (find(f, key("rope.scaling.type")) != nullptr) {
    SONIFY_ASSIGN_OR_RETURN(type, string(f, key("rope.scaling.type"), path));
    if (type == "linear") {
      SONIFY_ASSIGN_OR_RETURN(factor, number(f, key("rope.scaling.factor"), path));
      c["rope_scaling"] = {{"type", "linear"}, {"factor", factor}};
    } else if (type != "none") {
      return fail(path, ": GGUF rope scaling '", type, "' is not supported (none and linear are)");
    }
  }
  if (find_tensor(f, "rope_freqs.weight") != nullptr)
    return fail(path, ": GGUF tensor rope_freqs.weight (Llama 3.1 rope scaling) is not supported");
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
  return c;
}

// Hugging Face name of a llama GGUF tensor, and how many heads its rows are permuted
// over (0: not permuted). Empty name: not a llama tensor (left to Model::bind to ignore).
std::pair<std::string, int> llama_name(const std::string& name, const ModelSpec& s) {
  static const std::pair<const char*, const char*> kModel[] = {
      {"token_embd.weight", "model.embed_tokens.weight"},
      {"output_norm.weight", "model.norm.weight"},
      {"output.weight", "lm_head.weight"},
  };
  for (const auto& [g, hf] : kModel)
    if (name == g) return {hf, 0};
  static const std::pair<const char*, const char*> kLayer[] = {
      {"attn_norm.weight", "input_layernorm.weight"},
      {"attn_q.weight", "self_attn.q_proj.weight"},
      {"attn_q.bias", "self_attn.q_proj.bias"},
      {"attn_k.weight", "self_attn.k_proj.weight"},
      {"attn_k.bias", "self_attn.k_proj.bias"},
      {"attn_v.weight", "self_attn.v_proj.weight"},
      {"attn_v.bias", "self_attn.v_proj.bias"},
      {"attn_output.weight", "self_attn.o_proj.weight"},
      {"ffn_norm.weight", "post_attention_layernorm.weight"},
      {"ffn_gate.weight", "mlp.gate_proj.weight"},
      {"ffn_up.weight", "mlp.up_proj.weight"},
      {"ffn_down.weight", "mlp.down_proj.weight"},
  };
  if (name.rfind("blk.", 0) != 0) return {"", 0};
  const std::size_t dot = name.find('.', 4);
  if (dot == std::string::npos || dot == 4) return {"", 0};
  const std::string layer = name.substr(4, dot - 4), rest = name.substr(dot + 1);
  if (layer.find_first_not_of("0123456789") != std::string::npos) return {"", 0};
  for (const auto& [g, hf] : kLayer)
    if (rest == g) {
      int heads = 0;
      if (rest.rfind("attn_q.", 0) == 0) heads = s.n_heads;
      if (rest.rfind("attn_k.", 0) == 0) heads = s.n_kv_heads;
      return {"model.layers." + layer + "." + hf, heads};
    }
  return {"", 0};
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
  SONIFY_ASSIGN_OR_RETURN(arch, string(file, "general.architecture", path));
  if (arch != "llama") return fail(path, ": GGUF architecture '", arch, "' is not supported (llama is)");
  SONIFY_ASSIGN_OR_RETURN(config, llama_config(file, path));
  SONIFY_ASSIGN_OR_RETURN(spec, model_spec_parse(config.dump(), path + " (GGUF metadata)"));

  struct Entry {
    TensorInfo info;
    std::unique_ptr<DerivedTensor> derived;
  };
  std::vector<Entry> entries;
  std::size_t scratch = 0;
  const unsigned char* base = map.data();
  for (const Tensor& t : file.tensors) {
    auto [hf_name, heads] = llama_name(t.name, spec);
    Entry e;
    e.info.name = hf_name.empty() ? t.name : hf_name;
    for (auto it = t.ne.rbegin(); it != t.ne.rend(); ++it)
      e.info.shape.push_back(static_cast<std::int64_t>(*it));
    const bool plain = t.type == TensorType::F32 || t.type == TensorType::F16 || t.type == TensorType::BF16;
    if (heads > 0) {
      const std::int64_t rows = e.info.shape[0];
      if (rows % heads != 0 || (rows / heads) % 2 != 0)
        return fail(path, ": tensor '", t.name, "' has ", rows, " rows, not an even number per each of ",
                    heads, " heads");
    }
    if (plain && heads == 0) {
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
      const std::int64_t rows = e.info.shape[0], cols = numel / e.info.shape[0];
      // A copy: C++17 lambdas cannot capture a structured binding (clang refuses it).
      e.derived->fill = [src, type, numel, heads = heads, rows, cols](float* dst) {
        if (heads == 0) return dequantize(type, src, numel, dst);
        std::vector<float> stored(numel);
        dequantize(type, src, numel, stored.data());
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
