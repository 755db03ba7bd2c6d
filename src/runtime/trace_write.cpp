// Trace → safetensors with TransformerLens hook names, plus a JSON sidecar naming the
// Hugging Face module each tensor comes from.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "sonify/checkpoint_write.h"
#include "sonify/runtime.h"

namespace sonify {
namespace {

struct Entry {
  std::string name;
  std::string hf_module;
  std::string meaning;
  const Activation* activation = nullptr;  // nullptr: token_ids
};

// Module paths in the family's canonical Hugging Face naming.
struct HfNames {
  std::string embed, block, pattern, mlp_post, logits;
};

HfNames hf_names(Family family) {
  if (family == Family::GPT2)
    return {"transformer.drop (output: wte + wpe)", "transformer.h.{l} (output)",
            "transformer.h.{l}.attn (attention weights, output_attentions=True)",
            "transformer.h.{l}.mlp.act (output)", "lm_head (output)"};
  if (family == Family::GPTNeoX)
    return {"gpt_neox.embed_in (output)", "gpt_neox.layers.{l} (output)",
            "gpt_neox.layers.{l}.attention (attention weights, output_attentions=True)",
            "gpt_neox.layers.{l}.mlp.act (output)", "embed_out (output)"};
  return {family == Family::Gemma3 ? "model.embed_tokens (output, scaled by sqrt(hidden_size))"
                                   : "model.embed_tokens (output)",
          "model.layers.{l} (output)",
          "model.layers.{l}.self_attn (attention weights, output_attentions=True)",
          "model.layers.{l}.mlp.down_proj (input: act(gate) * up)", "lm_head (output)"};
}

std::string at_layer(std::string pattern, std::size_t layer) {
  const auto at = pattern.find("{l}");
  if (at != std::string::npos) pattern.replace(at, 3, std::to_string(layer));
  return pattern;
}

std::vector<Entry> entries(const Trace& trace, Family family) {
  const HfNames hf = hf_names(family);
  std::vector<Entry> out;
  out.push_back({"token_ids", "input_ids", "token ids [T] (int64)", nullptr});
  if (!trace.embed.empty())
    out.push_back({"hook_embed", hf.embed, "hidden state after embeddings [T, D]", &trace.embed});
  for (std::size_t l = 0; l < trace.resid_post.size(); ++l)
    out.push_back({"blocks." + std::to_string(l) + ".hook_resid_post", at_layer(hf.block, l),
                   "hidden state after the block [T, D]", &trace.resid_post[l]});
  for (std::size_t l = 0; l < trace.attn_pattern.size(); ++l)
    out.push_back({"blocks." + std::to_string(l) + ".attn.hook_pattern", at_layer(hf.pattern, l),
                   "attention probabilities [H, T query, T key]", &trace.attn_pattern[l]});
  for (std::size_t l = 0; l < trace.mlp_post.size(); ++l)
    out.push_back({"blocks." + std::to_string(l) + ".mlp.hook_post", at_layer(hf.mlp_post, l),
                   "MLP activation before the down projection [T, I]", &trace.mlp_post[l]});
  if (!trace.logits.empty())
    out.push_back({"logits", hf.logits,
                   trace.logit_positions == LogitPositions::All ? "logits at every position [T, V]"
                                                                : "logits at the last position [1, V]",
                   &trace.logits});
  return out;
}

}  // namespace

std::string trace_sidecar_path(const std::string& path) {
  return std::filesystem::path(path).replace_extension(".json").string();
}

Status trace_write(const Trace& trace, const Model& model, const std::string& path) {
  const std::vector<Entry> list = entries(trace, model.spec().family);
  nlohmann::json tensors = nlohmann::json::object();
  std::vector<TensorDecl> decls;
  for (const Entry& e : list) {
    TensorDecl d;
    d.name = e.name;
    if (e.activation == nullptr) {
      d.dtype = DType::I64;
      d.shape = {static_cast<std::int64_t>(trace.token_ids.size())};
    } else {
      d.dtype = DType::F32;
      d.shape = e.activation->shape;
    }
    tensors[e.name] = {{"hf_module", e.hf_module}, {"shape", d.shape}, {"meaning", e.meaning}};
    decls.push_back(std::move(d));
  }
  nlohmann::json sidecar = {
      {"format", "sonify-trace/1"},
      {"model", model.path()},
      {"family", std::string(family_name(model.spec().family))},
      {"token_ids", trace.token_ids},
      {"logit_positions", trace.logit_positions == LogitPositions::All    ? "all"
                          : trace.logit_positions == LogitPositions::Last ? "last"
                                                                          : "none"},
      {"naming", "TransformerLens hook names; hf_module is the Hugging Face module path"},
      {"tensors", tensors}};

  std::map<std::string, const Entry*> by_name;
  for (const Entry& e : list) by_name[e.name] = &e;
  const std::string sidecar_path = trace_sidecar_path(path);
  SONIFY_TRY(write_file_atomic(sidecar_path, sidecar.dump(1) + "\n"));
  Status status = safetensors_write_from(path, decls, {{"format", "sonify-trace"}}, [&](std::size_t i) {
    const Entry& e = *by_name.at(decls[i].name);
    return e.activation == nullptr ? static_cast<const void*>(trace.token_ids.data())
                                   : static_cast<const void*>(e.activation->values.data());
  });
  if (!status.ok()) std::remove(sidecar_path.c_str());
  return status;
}

}  // namespace sonify
