// The forward pass, built into the plugin libsonify_torch.so (the only code besides
// training that includes libtorch). One implementation covers GPT-2, Llama-style
// (Llama, Mistral, Qwen2), Gemma 3 text and Phi-3: the differences are data in
// ModelSpec and the roles Model maps, not separate code paths.
//
// Weights are zero-copy views of the checkpoint's memory map (at::from_blob); a weight
// stored in bf16/f16 is converted to f32 just before its matmul and dropped after, so
// memory stays near one layer's weights plus the activations asked for (decoding, which
// runs every weight once per token, keeps f32 copies of the layer matrices within a
// budget instead). Computation is in f32.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <dlfcn.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "runtime/torch_threads.h"
#include "sonify/runtime.h"
#include "sonify/system_probe.h"

namespace sonify {
namespace {

at::ScalarType scalar_type(DType dtype) {
  switch (dtype) {
    case DType::F16:
      return at::kHalf;
    case DType::BF16:
      return at::kBFloat16;
    case DType::F64:
      return at::kDouble;
    default:
      return at::kFloat;
  }
}

const at::TensorOptions kF32 = at::TensorOptions().dtype(at::kFloat);

// A matrix in logical [out, in] layout: a view of the mapped bytes in the stored dtype.
struct Linear {
  at::Tensor weight;
  at::Tensor bias;       // f32 or undefined
  at::Tensor converted;  // f32 copy kept for decoding when weight is not f32; else undefined
};

struct Norm {
  at::Tensor weight;  // effective gain (Gemma: 1 + w), f32
  at::Tensor bias;    // LayerNorm only
};

struct Layer {
  Norm attn_norm, post_attn_norm, mlp_norm, post_mlp_norm, q_norm, k_norm;
  Linear q, k, v, o, gate, up, down;
  bool sliding = false;
  const RopeTable* rope = nullptr;
};

struct KvCache {
  std::vector<at::Tensor> k, v;  // per layer [Hkv, S, hd]
  std::int64_t length = 0;
};

at::Tensor to_f32(const at::Tensor& t) { return t.scalar_type() == at::kFloat ? t : t.to(at::kFloat); }

// Through BLAS (OpenBLAS when installed). at::mkldnn_linear measured no faster here on
// these shapes and 2x slower on the vocabulary projection.
at::Tensor apply(const Linear& l, const at::Tensor& x) {
  const at::Tensor w = l.converted.defined() ? l.converted : to_f32(l.weight);
  return l.bias.defined() ? at::linear(x, w, l.bias) : at::linear(x, w);
}

Activation to_activation(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kFloat).contiguous();
  Activation a;
  a.shape.assign(c.sizes().begin(), c.sizes().end());
  a.values.assign(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  return a;
}

class TorchRuntime final : public Runtime {
 public:
  TorchRuntime(const Model& model, int threads) : model_(model), spec_(model.spec()), threads_(threads) {}

  Status load() {
    const ModelSpec& s = spec_;
    SONIFY_ASSIGN_OR_RETURN(act, activation_kind(s.activation));
    activation_ = act;
    SONIFY_ASSIGN_OR_RETURN(global, rope_table(s, false));
    SONIFY_ASSIGN_OR_RETURN(local, rope_table(s, true));
    rope_global_ = std::move(global);
    rope_local_ = std::move(local);
    SONIFY_ASSIGN_OR_RETURN(embed, matrix(-1, Role::Embed));
    SONIFY_ASSIGN_OR_RETURN(head, matrix(-1, Role::LmHead));
    embed_ = embed;
    head_ = head;
    if (s.learned_positions) {
      SONIFY_ASSIGN_OR_RETURN(pos, matrix(-1, Role::PosEmbed));
      pos_embed_ = pos;
    }
    SONIFY_ASSIGN_OR_RETURN(final_norm, norm(-1, Role::FinalNorm));
    final_norm_ = final_norm;
    for (int l = 0; l < s.n_layers; ++l) {
      Layer layer;
      SONIFY_ASSIGN_OR_RETURN(attn_norm, norm(l, Role::AttnNorm));
      SONIFY_ASSIGN_OR_RETURN(mlp_norm, norm(l, Role::MlpNorm));
      layer.attn_norm = attn_norm;
      layer.mlp_norm = mlp_norm;
      if (s.family == Family::Gemma3) {
        SONIFY_ASSIGN_OR_RETURN(pa, norm(l, Role::PostAttnNorm));
        SONIFY_ASSIGN_OR_RETURN(pm, norm(l, Role::PostMlpNorm));
        SONIFY_ASSIGN_OR_RETURN(qn, norm(l, Role::QNorm));
        SONIFY_ASSIGN_OR_RETURN(kn, norm(l, Role::KNorm));
        layer.post_attn_norm = pa;
        layer.post_mlp_norm = pm;
        layer.q_norm = qn;
        layer.k_norm = kn;
      }
      for (auto [role, slot] : {std::pair{Role::Q, &layer.q},
                                {Role::K, &layer.k},
                                {Role::V, &layer.v},
                                {Role::O, &layer.o},
                                {Role::Up, &layer.up},
                                {Role::Down, &layer.down},
                                {Role::Gate, &layer.gate}}) {
        if (role == Role::Gate && !s.gated_mlp) continue;
        SONIFY_ASSIGN_OR_RETURN(w, matrix(l, role));
        slot->weight = w;
        if (const RoleTensor* b = model_.find(l, role, Part::Bias)) {
          SONIFY_ASSIGN_OR_RETURN(bias, vector(*b, NormGain::Stored));
          slot->bias = bias;
        }
      }
      layer.sliding = s.sliding_window > 0 && s.layer_is_sliding[static_cast<std::size_t>(l)];
      layer.rope = layer.sliding && s.family == Family::Gemma3 ? &rope_local_ : &rope_global_;
      layers_.push_back(std::move(layer));
    }
    return Status::Ok();
  }

  const ModelSpec& spec() const override { return spec_; }
  int threads() const override { return threads_; }
  std::int64_t cached_tokens() const override { return cache_.length; }
  void reset() override { cache_ = KvCache{}; }

  Result<Trace> forward(const std::vector<std::int64_t>& ids, const CaptureRequest& request) override {
    SONIFY_TRY(runtime_check_ids(spec_, ids));
    return guarded([&]() -> Result<Trace> { return run(ids, request, nullptr); });
  }

  Result<std::vector<float>> extend(const std::vector<std::int64_t>& ids) override {
    CaptureRequest request;
    request.logits = LogitPositions::Last;
    SONIFY_ASSIGN_OR_RETURN(trace, extend_trace(ids, request));
    return std::move(trace.logits.values);
  }

  Result<Trace> extend_trace(const std::vector<std::int64_t>& ids, const CaptureRequest& request) override {
    SONIFY_TRY(runtime_check_ids(spec_, ids));
    keep_converted_weights();
    if (cache_.length + static_cast<std::int64_t>(ids.size()) > spec_.context_length)
      return fail("the sequence would grow to ", cache_.length + static_cast<std::int64_t>(ids.size()),
                  " tokens but the model's context holds ", spec_.context_length);
    Result<Trace> trace = guarded([&]() -> Result<Trace> { return run(ids, request, &cache_); });
    if (!trace.ok()) reset();  // some layers may hold the new positions already
    return trace;
  }

 private:
  enum class Act { GeluTanh, GeluErf, Silu, Relu };

  // Largest f32 copy of the layers' non-f32 matrices kept for decoding. Decoding runs
  // every weight once per token, so converting on use would dominate its time; a
  // single forward pass (trace) converts on use and keeps nothing.
  static constexpr std::int64_t kConvertedBudgetBytes = std::int64_t{1} << 30;

  void keep_converted_weights() {
    if (converted_checked_) return;
    converted_checked_ = true;
    std::int64_t bytes = 0;
    for (Layer& layer : layers_)
      for (Linear* l : {&layer.q, &layer.k, &layer.v, &layer.o, &layer.gate, &layer.up, &layer.down})
        if (l->weight.defined() && l->weight.scalar_type() != at::kFloat) bytes += l->weight.numel() * 4;
    if (bytes == 0 || bytes > kConvertedBudgetBytes) return;
    for (Layer& layer : layers_)
      for (Linear* l : {&layer.q, &layer.k, &layer.v, &layer.o, &layer.gate, &layer.up, &layer.down})
        if (l->weight.defined() && l->weight.scalar_type() != at::kFloat)
          l->converted = l->weight.to(at::kFloat).contiguous();
  }

  static Result<Act> activation_kind(const std::string& name) {
    if (name == "gelu_new" || name == "gelu_pytorch_tanh" || name == "gelu_fast") return Act::GeluTanh;
    if (name == "gelu") return Act::GeluErf;
    if (name == "silu" || name == "swish") return Act::Silu;
    if (name == "relu") return Act::Relu;
    return fail("activation '", name,
                "' is not implemented by the runtime (supported: gelu_new, "
                "gelu_pytorch_tanh, gelu_fast, gelu, silu, relu)");
  }

  template <class F>
  auto guarded(F&& f) -> decltype(f()) {
    try {
      return f();
    } catch (const std::exception& e) {
      std::string what = e.what();
      if (auto nl = what.find('\n'); nl != std::string::npos) what.resize(nl);
      return fail(model_.path(), ": forward pass failed: ", what);
    }
  }

  // A zero-copy view of a role's matrix, [out, in], in the stored dtype.
  Result<at::Tensor> matrix(int layer, Role role) {
    const RoleTensor* t = model_.find(layer, role, Part::Weight);
    if (t == nullptr) return fail(model_.path(), ": no ", role_name(role), " weight for layer ", layer);
    const TensorInfo& info = *t->source;
    const TensorBytes bytes = model_.checkpoint().bytes(info);
    const std::size_t elem = dtype_size(info.dtype);
    if (reinterpret_cast<std::uintptr_t>(bytes.data) % elem != 0) {
      // Misaligned in the file: fall back to a converted copy of this one tensor.
      SONIFY_ASSIGN_OR_RETURN(values, model_.load_f32(*t, NormGain::Stored));
      return at::tensor(at::ArrayRef<float>(values)).view(t->shape);
    }
    at::Tensor whole = at::from_blob(const_cast<unsigned char*>(bytes.data), info.shape,
                                     at::TensorOptions().dtype(scalar_type(info.dtype)));
    const std::int64_t rows = t->slice_end - t->slice_begin;
    if (t->transposed) return whole.narrow(1, t->slice_begin, rows).t();
    if (t->groups > 1)  // head-interleaved: one copy of this role's rows, still in the stored dtype
      return whole.view({t->groups, t->group_stride, info.shape[1]})
          .narrow(1, t->slice_begin, rows)
          .reshape({t->groups * rows, info.shape[1]});
    return whole.narrow(0, t->slice_begin, rows);
  }

  Result<at::Tensor> vector(const RoleTensor& t, NormGain gain) {
    SONIFY_ASSIGN_OR_RETURN(values, model_.load_f32(t, gain));
    return at::tensor(at::ArrayRef<float>(values));
  }

  Result<Norm> norm(int layer, Role role) {
    Norm n;
    const RoleTensor* w = model_.find(layer, role, Part::Weight);
    if (w == nullptr) return fail(model_.path(), ": no ", role_name(role), " for layer ", layer);
    SONIFY_ASSIGN_OR_RETURN(weight, vector(*w, NormGain::Effective));
    n.weight = weight;
    if (const RoleTensor* b = model_.find(layer, role, Part::Bias)) {
      SONIFY_ASSIGN_OR_RETURN(bias, vector(*b, NormGain::Stored));
      n.bias = bias;
    }
    return n;
  }

  at::Tensor apply_norm(const Norm& n, const at::Tensor& x) const {
    if (spec_.layer_norm) return at::layer_norm(x, {x.size(-1)}, n.weight, n.bias, spec_.norm_eps);
    return x * at::rsqrt(x.pow(2).mean(-1, true) + spec_.norm_eps) * n.weight;
  }

  at::Tensor activate(const at::Tensor& x) const {
    switch (activation_) {
      case Act::GeluTanh:
        return at::gelu(x, "tanh");
      case Act::GeluErf:
        return at::gelu(x);
      case Act::Silu:
        return at::silu(x);
      case Act::Relu:
        return at::relu(x);
    }
    return x;
  }

  // cos and sin [T, rotary_dim] for positions pos0 .. pos0+T-1, HF rotate_half layout.
  static std::pair<at::Tensor, at::Tensor> rope_angles(const RopeTable& rope, std::int64_t pos0,
                                                       std::int64_t t) {
    const std::int64_t half = static_cast<std::int64_t>(rope.inv_freq.size());
    at::Tensor cos = at::empty({t, 2 * half}, kF32), sin = at::empty({t, 2 * half}, kF32);
    float* c = cos.data_ptr<float>();
    float* s = sin.data_ptr<float>();
    for (std::int64_t p = 0; p < t; ++p)
      for (std::int64_t i = 0; i < half; ++i) {
        const double angle = static_cast<double>(pos0 + p) * rope.inv_freq[static_cast<std::size_t>(i)];
        const float cv = static_cast<float>(std::cos(angle) * rope.attention_factor);
        const float sv = static_cast<float>(std::sin(angle) * rope.attention_factor);
        c[p * 2 * half + i] = c[p * 2 * half + half + i] = cv;
        s[p * 2 * half + i] = s[p * 2 * half + half + i] = sv;
      }
    return {cos, sin};
  }

  // x [heads, T, hd]: rotates the first rotary_dim features of each head.
  static at::Tensor apply_rope(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
    const std::int64_t rot = cos.size(1);
    if (rot == 0) return x;
    const at::Tensor xr = x.narrow(-1, 0, rot);
    const at::Tensor x1 = xr.narrow(-1, 0, rot / 2), x2 = xr.narrow(-1, rot / 2, rot / 2);
    const at::Tensor rotated = at::cat({-x2, x1}, -1);
    const at::Tensor out = xr * cos + rotated * sin;
    if (rot == x.size(-1)) return out;
    return at::cat({out, x.narrow(-1, rot, x.size(-1) - rot)}, -1);
  }

  // Self-attention of x [T, D] at positions pos0.., attending to the cache and itself.
  // Returns the output [T, D]; *probs gets [H, T, S].
  at::Tensor attention(const Layer& layer, std::size_t index, const at::Tensor& x, std::int64_t pos0,
                       KvCache* cache, at::Tensor* probs) const {
    const std::int64_t t = x.size(0), h = spec_.n_heads, hkv = spec_.n_kv_heads, hd = spec_.head_dim;
    at::Tensor q = apply(layer.q, x).view({t, h, hd}).transpose(0, 1);
    at::Tensor k = apply(layer.k, x).view({t, hkv, hd}).transpose(0, 1);
    at::Tensor v = apply(layer.v, x).view({t, hkv, hd}).transpose(0, 1);
    if (layer.q_norm.weight.defined()) {
      q = apply_norm(layer.q_norm, q);
      k = apply_norm(layer.k_norm, k);
    }
    if (!spec_.learned_positions) {
      const auto [cos, sin] = rope_angles(*layer.rope, pos0, t);
      q = apply_rope(q, cos, sin);
      k = apply_rope(k, cos, sin);
    }
    if (cache != nullptr) {
      if (cache->k.size() <= index) cache->k.resize(index + 1), cache->v.resize(index + 1);
      if (cache->k[index].defined()) {
        k = at::cat({cache->k[index], k}, 1);
        v = at::cat({cache->v[index], v}, 1);
      }
      cache->k[index] = k.contiguous();
      cache->v[index] = v.contiguous();
    }
    const std::int64_t s = k.size(1), group = h / hkv;
    const double scale = spec_.query_pre_attn_scalar > 0 ? 1.0 / std::sqrt(spec_.query_pre_attn_scalar)
                                                         : 1.0 / std::sqrt(static_cast<double>(hd));
    // Grouped heads share their kv head: fold the group into the query rows.
    at::Tensor scores =
        at::matmul((q * scale).reshape({hkv, group * t, hd}), k.transpose(1, 2)).view({h, t, s});
    if (spec_.attn_logit_softcapping > 0)
      scores = at::tanh(scores / spec_.attn_logit_softcapping) * spec_.attn_logit_softcapping;
    const at::Tensor query_pos = at::arange(pos0, pos0 + t, at::kLong).unsqueeze(1);
    const at::Tensor key_pos = at::arange(0, s, at::kLong).unsqueeze(0);
    at::Tensor blocked = key_pos > query_pos;
    if (layer.sliding) blocked = blocked.logical_or(query_pos - key_pos >= spec_.sliding_window);
    scores.masked_fill_(blocked, -std::numeric_limits<float>::infinity());
    *probs = at::softmax(scores, -1);
    const at::Tensor out = at::matmul(probs->view({hkv, group * t, s}), v).view({h, t, hd});
    return apply(layer.o, out.transpose(0, 1).reshape({t, h * hd}));
  }

  // Logits [rows, V] for hidden states x [rows, D], written straight into `out`'s
  // values. A head not stored in f32 is converted one block of rows at a time into a
  // reused buffer, so a 262k × D bf16 head never exists whole in f32.
  void logits(const at::Tensor& x, Activation* out) const {
    const std::int64_t rows = x.size(0), v = head_.size(0);
    out->shape = {rows, v};
    out->values.resize(static_cast<std::size_t>(rows * v));
    at::Tensor result = at::from_blob(out->values.data(), {rows, v}, kF32);
    if (head_.scalar_type() == at::kFloat) {
      at::mm_out(result, x, head_.t());
    } else {
      // A few rows (decoding) are memory-bound: keep the converted block in cache.
      const std::int64_t block = std::min<std::int64_t>(rows <= 8 ? 2048 : 16384, v);
      at::Tensor weights = at::empty({block, head_.size(1)}, kF32);
      at::Tensor partial = at::empty({rows, block}, kF32);
      for (std::int64_t r = 0; r < v; r += block) {
        const std::int64_t n = std::min(block, v - r);
        at::Tensor w = weights.narrow(0, 0, n);
        w.copy_(head_.narrow(0, r, n));
        at::Tensor p = partial.narrow(1, 0, n);
        if (n == block)
          at::mm_out(partial, x, w.t());
        else
          p.copy_(at::mm(x, w.t()));
        result.narrow(1, r, n).copy_(p);
      }
    }
    if (spec_.final_logit_softcapping > 0) {
      const double cap = spec_.final_logit_softcapping;
      result.div_(cap).tanh_().mul_(cap);
    }
  }

  Result<Trace> run(const std::vector<std::int64_t>& ids, const CaptureRequest& request, KvCache* cache) {
    at::NoGradGuard no_grad;
    const std::int64_t t = static_cast<std::int64_t>(ids.size());
    const std::int64_t pos0 = cache != nullptr ? cache->length : 0;
    Trace trace;
    trace.token_ids = ids;
    trace.logit_positions = request.logits;
    const at::Tensor index = at::tensor(at::ArrayRef<std::int64_t>(ids), at::kLong);
    at::Tensor hidden = to_f32(embed_.index_select(0, index));
    if (spec_.embedding_multiplier != 1) hidden = hidden * static_cast<float>(spec_.embedding_multiplier);
    if (pos_embed_.defined()) hidden = hidden + to_f32(pos_embed_.narrow(0, pos0, t));
    if (request.embed) trace.embed = to_activation(hidden);

    const bool gemma = spec_.family == Family::Gemma3;
    for (std::size_t l = 0; l < layers_.size(); ++l) {
      const Layer& layer = layers_[l];
      at::Tensor probs;
      at::Tensor attn = attention(layer, l, apply_norm(layer.attn_norm, hidden), pos0, cache, &probs);
      if (gemma) attn = apply_norm(layer.post_attn_norm, attn);
      const at::Tensor before = hidden;
      hidden = hidden + attn;
      if (request.attn_pattern) trace.attn_pattern.push_back(to_activation(probs));
      probs.reset();

      // GPT-NeoX's parallel residual reads the MLP input from the layer input, not after attention.
      const at::Tensor x = apply_norm(layer.mlp_norm, spec_.parallel_residual ? before : hidden);
      at::Tensor post = spec_.gated_mlp ? activate(apply(layer.gate, x)) * apply(layer.up, x)
                                        : activate(apply(layer.up, x));
      if (request.mlp_post) trace.mlp_post.push_back(to_activation(post));
      at::Tensor mlp = apply(layer.down, post);
      if (gemma) mlp = apply_norm(layer.post_mlp_norm, mlp);
      hidden = hidden + mlp;
      if (request.resid_post) trace.resid_post.push_back(to_activation(hidden));
    }
    if (cache != nullptr) cache->length += t;

    if (request.logits != LogitPositions::None) {
      const at::Tensor rows = request.logits == LogitPositions::All ? hidden : hidden.narrow(0, t - 1, 1);
      logits(apply_norm(final_norm_, rows).contiguous(), &trace.logits);
    }
    return trace;
  }

  const Model& model_;
  const ModelSpec& spec_;
  int threads_ = 1;
  Act activation_ = Act::GeluTanh;
  RopeTable rope_global_, rope_local_;
  at::Tensor embed_, head_, pos_embed_;
  Norm final_norm_;
  std::vector<Layer> layers_;
  KvCache cache_;
  bool converted_checked_ = false;
};

}  // namespace
}  // namespace sonify

namespace sonify {

// Matrix products go through BLAS; OpenBLAS runs its own thread pool. ATen's OpenMP
// threads are kept at 1: libgomp is already loaded (FluidSynth uses it) with its default
// spin-waiting, and spinning OpenMP threads compete with OpenBLAS's threads for the
// same cores (measured on 2 cores: 2-3x the CPU time for the same forward pass).
// Returns the threads the matrix products use.
int configure_threads(int wanted) {
  at::set_num_threads(1);
  using SetThreads = void (*)(int);
  for (const char* lib : {"libopenblas.so.0", "libblas.so.3"}) {
    void* handle = dlopen(lib, RTLD_NOW | RTLD_NOLOAD);
    if (handle == nullptr) continue;
    auto set = reinterpret_cast<SetThreads>(dlsym(handle, "openblas_set_num_threads"));
    dlclose(handle);
    if (set != nullptr) {
      set(wanted);
      return wanted;
    }
  }
  // Another BLAS: let ATen parallelise instead.
  at::set_num_threads(wanted);
  return wanted;
}

}  // namespace sonify

extern "C" __attribute__((visibility("default"))) void sonify_runtime_open(
    const sonify::Model* model, const sonify::RuntimeOptions* options,
    sonify::Result<std::unique_ptr<sonify::Runtime>>* out) {
  try {
    int threads = options->threads;
    if (threads <= 0) threads = sonify::default_threads();
    threads = sonify::configure_threads(threads);
    auto runtime = std::make_unique<sonify::TorchRuntime>(*model, threads);
    sonify::Status status = runtime->load();
    if (!status.ok()) {
      *out = status.error();
      return;
    }
    *out = std::unique_ptr<sonify::Runtime>(std::move(runtime));
  } catch (const std::exception& e) {
    *out = sonify::fail(model->path(), ": cannot open the model on libtorch: ", e.what());
  }
}
