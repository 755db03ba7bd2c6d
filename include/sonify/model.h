// A model: its architecture (from config.json) and its weights mapped once to
// (layer, role). Nothing outside src/model sees a tensor name; everything else asks for
// "layer 3, q, weight" and gets the tensor in nn.Linear layout [out, in].
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sonify/checkpoint.h"
#include "sonify/result.h"

namespace sonify {

enum class Family { GPT2, Llama, Gemma3, Phi3, GPTNeoX };

// "gpt2", "llama", "gemma3", "phi3", "gpt_neox".
std::string_view family_name(Family family);

// The model_type values config.json may carry, comma-separated, for error messages.
std::string_view supported_model_types();

// Architecture as read from config.json. Field defaults follow Hugging Face's config
// classes for each family; anything a forward pass needs is here.
struct ModelSpec {
  Family family = Family::Llama;
  std::string model_type;  // as written in config.json
  int n_layers = 0;
  int hidden_size = 0;
  int n_heads = 0;
  int n_kv_heads = 0;
  int head_dim = 0;
  int intermediate_size = 0;
  int vocab_size = 0;
  int context_length = 0;   // n_positions / max_position_embeddings
  bool layer_norm = false;  // LayerNorm with bias (GPT-2); otherwise RMSNorm
  double norm_eps = 1e-5;
  double norm_weight_offset = 0;  // Gemma stores RMSNorm gains as w, applies 1 + w
  std::string activation;         // gelu_new, silu, gelu_pytorch_tanh, ...
  bool gated_mlp = true;          // down(act(gate(x)) * up(x)) versus down(act(up(x)))
  bool qkv_bias = false;
  bool o_bias = false;
  bool mlp_bias = false;
  bool tie_word_embeddings = false;
  bool learned_positions = false;  // GPT-2's wpe instead of RoPE
  bool parallel_residual = false;  // GPT-NeoX: x + attn(ln1(x)) + mlp(ln2(x)) in one step
  double rope_theta = 10000;
  double rope_local_theta = 0;  // Gemma 3 sliding layers; 0 when unused
  double partial_rotary_factor = 1;
  std::string rope_scaling_type;  // empty when none; "linear", "llama3", "longrope", ...
  double rope_scaling_factor = 1;
  std::string rope_scaling_json;       // the whole rope_scaling object, for the runtime
  int sliding_window = 0;              // 0: no sliding window anywhere
  std::vector<bool> layer_is_sliding;  // one per layer
  double query_pre_attn_scalar = 0;    // 0: scale scores by head_dim^-0.5
  double embedding_multiplier = 1;     // Gemma: sqrt(hidden_size)
  double final_logit_softcapping = 0;  // 0: none
  double attn_logit_softcapping = 0;   // 0: none
  int bos_token_id = -1;
  std::vector<int> eos_token_ids;
  int pad_token_id = -1;
  std::string torch_dtype;
};

// Parses a config.json text. `what` names its source in errors.
Result<ModelSpec> model_spec_parse(std::string_view json_text, const std::string& what);

// Reads and parses a config.json file.
Result<ModelSpec> model_spec_read(const std::string& path);

// What a weight does. Norms: attn_norm is applied to the attention input, mlp_norm to
// the MLP input (GPT-2 ln_2, Llama post_attention_layernorm, Gemma pre_feedforward);
// post_attn_norm and post_mlp_norm are Gemma's norms on the sublayer outputs.
enum class Role {
  Embed,
  PosEmbed,
  Q,
  K,
  V,
  O,
  Gate,
  Up,
  Down,
  AttnNorm,
  PostAttnNorm,
  MlpNorm,
  PostMlpNorm,
  QNorm,
  KNorm,
  FinalNorm,
  LmHead
};
enum class Part { Weight, Bias };

std::string_view role_name(Role role);  // "q", "attn_norm", "lm_head", ...
bool role_is_norm(Role role);

// One logical tensor, mapped from its stored form. Matrices are in nn.Linear layout
// [out, in] whatever the file holds; fused tensors are sliced along `out`.
struct RoleTensor {
  int layer = -1;  // -1 for model-level tensors
  Role role = Role::Embed;
  Part part = Part::Weight;
  const TensorInfo* source = nullptr;  // the stored tensor (owned by the Checkpoint)
  bool transposed = false;             // stored [in, out] (GPT-2 Conv1D)
  std::int64_t slice_begin = 0;        // rows [slice_begin, slice_end) of the logical
  std::int64_t slice_end = 0;          // [out, in] matrix (or of a 1-D vector)
  // Head-interleaved fused tensors (GPT-NeoX query_key_value): the logical rows are
  // `groups` blocks of (slice_end - slice_begin) rows, block g stored at rows
  // g·group_stride + [slice_begin, slice_end). 1 and 0 for every other tensor.
  std::int64_t groups = 1;
  std::int64_t group_stride = 0;
  std::vector<std::int64_t> shape;  // logical shape
  bool tied = false;                // storage shared with another role (tied lm_head)

  std::int64_t numel() const;
};

// How load_f32 returns norm weights: as the gain the model applies (Gemma: 1 + w) or
// exactly as stored.
enum class NormGain { Effective, Stored };

// A checkpoint bound to its architecture. Move-only; views stay valid while it lives.
class Model {
 public:
  // Opens a model directory (config.json + safetensors) or a .safetensors file with a
  // config.json beside it. Validates the config, maps every tensor to a role and checks
  // every shape against the config; the first problem is returned as an Error.
  static Result<Model> open(const std::string& path);

  // Binds an already opened checkpoint to a spec (used by tests and tools).
  static Result<Model> bind(ModelSpec spec, Checkpoint checkpoint, std::string path);

  const ModelSpec& spec() const { return spec_; }
  const Checkpoint& checkpoint() const { return checkpoint_; }
  const std::string& path() const { return path_; }

  // All mapped tensors ordered by (layer, role, part), model-level ones first.
  const std::vector<RoleTensor>& tensors() const { return tensors_; }

  // The tensor for (layer, role, part), or nullptr when the model has none.
  const RoleTensor* find(int layer, Role role, Part part = Part::Weight) const;

  // Stored tensors that were ignored on purpose (attention mask buffers, rotary
  // caches, a multimodal model's vision tower).
  const std::vector<std::string>& ignored_tensors() const { return ignored_; }

  // Parameters in the mapped tensors, each stored tensor counted once (a tied
  // embedding counts once, as Hugging Face's num_parameters() does).
  std::int64_t parameter_count() const;

  // The tensor converted to float32 in its logical layout. Reads only this tensor.
  Result<std::vector<float>> load_f32(const RoleTensor& tensor, NormGain gain = NormGain::Effective) const;

 private:
  Model(ModelSpec spec, Checkpoint checkpoint, std::string path);

  ModelSpec spec_;
  Checkpoint checkpoint_;
  std::string path_;
  std::vector<RoleTensor> tensors_;
  std::vector<std::string> ignored_;
};

// One stored tensor of a checkpoint in Hugging Face layout for `spec`: its name, stored
// shape, and the role of its (first) piece. Used to write checkpoints that every reader,
// sonify's and Hugging Face's, maps back to the same roles.
struct LayoutEntry {
  std::string name;
  std::vector<std::int64_t> shape;
  Role role = Role::Embed;
  Part part = Part::Weight;
  int layer = -1;
};

// Every tensor a checkpoint of `spec` holds, with the family's canonical names
// ("transformer." prefix for GPT-2, "model." otherwise), in layer order.
std::vector<LayoutEntry> model_layout(const ModelSpec& spec);

}  // namespace sonify
