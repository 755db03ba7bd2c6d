// The forward pass, built into the plugin libsonify_torch.so (the only code besides
// training that includes libtorch). One implementation covers GPT-2, Llama-style
// (Llama, Mistral, Qwen2), Gemma 3 text and Phi-3: the differences are data in
// ModelSpec and the roles Model maps, not separate code paths.
//
// Weights are zero-copy views of the checkpoint's memory map (at::from_blob). Every
// matrix product is split by sonify into fixed blocks of output columns, each a
// single-threaded BLAS call on a thread of the runtime's own pool; a block of a matrix
// stored in bf16/f16 is converted to f32 into that thread's scratch just before its call,
// so the f32 copy stays in cache and memory stays near the activations asked for
// (decoding, which runs every weight once per token, keeps f32 copies of the layer
// matrices within a budget instead). The blocks do not depend on the thread count, and
// none splits a sum, so the results do not either (OpenBLAS's own threading changes the
// last bits with its partition). Attention runs one head per task. Computation is in f32.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>

#include "core/fresh_memory.h"
#include "runtime/torch_threads.h"
#include "runtime/worker_pool.h"
#include "sonify/checkpoint.h"
#include "sonify/runtime.h"
#include "sonify/system_probe.h"

// The Fortran BLAS (OpenBLAS on Debian), the library ATen itself calls.
extern "C" void sgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k,
                       const float* alpha, const float* a, const int* lda, const float* b, const int* ldb,
                       const float* beta, float* c, const int* ldc, std::size_t, std::size_t);

namespace sonify {
namespace {

// Column-major C[m, n] = alpha op(A)[m, k] op(B)[k, n], as BLAS sees it.
void gemm(char trans_a, char trans_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha,
          const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float* c, std::int64_t ldc) {
  const int M = static_cast<int>(m), N = static_cast<int>(n), K = static_cast<int>(k);
  const int LDA = static_cast<int>(lda), LDB = static_cast<int>(ldb), LDC = static_cast<int>(ldc);
  const float zero = 0;
  sgemm_(&trans_a, &trans_b, &M, &N, &K, &alpha, a, &LDA, b, &LDB, &zero, c, &LDC, 1, 1);
}

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

// How a product block reads a matrix of logical shape [out, in] from memory.
struct MatrixView {
  const unsigned char* data = nullptr;
  DType dtype = DType::F32;
  std::int64_t out = 0, in = 0;
  std::int64_t ld = 0;      // elements from one row (column when transposed) to the next
  bool transposed = false;  // element (o, i) at data[i * ld + o] instead of data[o * ld + i]
};

DType dtype_of(at::ScalarType type) {
  switch (type) {
    case at::kHalf:
      return DType::F16;
    case at::kBFloat16:
      return DType::BF16;
    case at::kDouble:
      return DType::F64;
    default:
      return DType::F32;
  }
}

// `*t` becomes contiguous when neither of its dimensions is (a layout no checkpoint
// view produces today, but the products need one of the two).
MatrixView view_of(at::Tensor* t) {
  if (t->stride(1) != 1 && t->stride(0) != 1) *t = t->contiguous();
  MatrixView v;
  v.data = static_cast<const unsigned char*>(t->data_ptr());
  v.dtype = dtype_of(t->scalar_type());
  v.out = t->size(0);
  v.in = t->size(1);
  v.transposed = t->stride(1) != 1;
  v.ld = v.transposed ? t->stride(1) : t->stride(0);
  if (v.ld < (v.transposed ? v.out : v.in)) v.ld = v.transposed ? v.out : v.in;  // one row or column
  return v;
}

// A matrix in logical [out, in] layout: a view of the mapped bytes in the stored dtype.
struct Linear {
  at::Tensor weight;
  at::Tensor bias;       // f32 or undefined
  at::Tensor converted;  // f32 copy kept for decoding when weight is not f32; else undefined
  MatrixView view;       // of `converted` when defined, else of `weight`
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

// Floats of one product block's f32 weights (a thread's scratch): small enough to stay
// in cache between the conversion and the BLAS call, large enough that the call is
// efficient. Block boundaries follow from the shape alone, never the thread count.
constexpr std::int64_t kBlockFloats = std::int64_t{1} << 16;

std::int64_t block_rows(std::int64_t in) { return std::max<std::int64_t>(16, kBlockFloats / in / 16 * 16); }

// One product: y[rows, 0..out) (row stride ldy) = x[rows, in] W^T + bias; with `gate`,
// a gated MLP's act(x G^T + gate_bias) * (x W^T + bias), fused per block so the
// element-wise work runs on the pool, on data still in cache.
struct Product {
  const MatrixView* w;
  const float* bias;  // [out] or nullptr
  const float* x;     // [rows, in], contiguous
  float* y;
  std::int64_t ldy;
  double softcap = 0;  // > 0: y = tanh(y / softcap) * softcap
  const MatrixView* gate = nullptr;
  const float* gate_bias = nullptr;
  const std::function<at::Tensor(const at::Tensor&)>* act = nullptr;  // with gate
};

// A pool thread's memory: one block's converted weights and its gate values.
struct Scratch {
  std::vector<float> weights, gate;
};

// Columns [r0, r0 + n) of x W^T + bias into y (its column r0, row stride ldy), on the
// calling thread; a block of weights not stored in f32 is converted into `weights`.
void block_product(const MatrixView& w, const float* bias, const float* x, std::int64_t rows, std::int64_t r0,
                   std::int64_t n, float* y, std::int64_t ldy, std::vector<float>* weights) {
  const float* a;
  std::int64_t lda;
  char trans;
  if (w.dtype == DType::F32) {
    a = reinterpret_cast<const float*>(w.data) + (w.transposed ? r0 : r0 * w.ld);
    lda = w.ld;
    trans = w.transposed ? 'N' : 'T';
  } else {
    const std::size_t esize = dtype_size(w.dtype);
    if (weights->size() < static_cast<std::size_t>(n * w.in))
      weights->resize(static_cast<std::size_t>(n * w.in));
    float* buf = weights->data();
    if (w.transposed) {  // column-major [n, in]
      for (std::int64_t i = 0; i < w.in; ++i)
        convert_to_f32(w.dtype, w.data + static_cast<std::size_t>(i * w.ld + r0) * esize,
                       static_cast<std::size_t>(n), buf + i * n);
      lda = n;
      trans = 'N';
    } else if (w.ld == w.in) {  // rows back to back: one run
      convert_to_f32(w.dtype, w.data + static_cast<std::size_t>(r0 * w.ld) * esize,
                     static_cast<std::size_t>(n * w.in), buf);
      lda = w.in;
      trans = 'T';
    } else {
      for (std::int64_t r = 0; r < n; ++r)
        convert_to_f32(w.dtype, w.data + static_cast<std::size_t>((r0 + r) * w.ld) * esize,
                       static_cast<std::size_t>(w.in), buf + r * w.in);
      lda = w.in;
      trans = 'T';
    }
    a = buf;
  }
  gemm(trans, 'N', n, rows, w.in, 1, a, lda, x, w.in, y, ldy);
  if (bias != nullptr)
    for (std::int64_t t = 0; t < rows; ++t)
      for (std::int64_t j = 0; j < n; ++j) y[t * ldy + j] += bias[r0 + j];
}

void product_block(const Product& p, std::int64_t rows, std::int64_t r0, std::int64_t n, Scratch* scratch) {
  float* y = p.y + r0;
  block_product(*p.w, p.bias, p.x, rows, r0, n, y, p.ldy, &scratch->weights);
  if (p.gate != nullptr) {
    scratch->gate.resize(static_cast<std::size_t>(rows * n));
    block_product(*p.gate, p.gate_bias, p.x, rows, r0, n, scratch->gate.data(), n, &scratch->weights);
    at::Tensor up = at::from_blob(y, {rows, n}, {p.ldy, 1}, kF32);
    up.mul_((*p.act)(at::from_blob(scratch->gate.data(), {rows, n}, kF32)));
  }
  if (p.softcap > 0) {
    const float cap = static_cast<float>(p.softcap);
    for (std::int64_t t = 0; t < rows; ++t)
      for (std::int64_t j = 0; j < n; ++j) y[t * p.ldy + j] = std::tanh(y[t * p.ldy + j] / cap) * cap;
  }
}

// OpenBLAS's own threads off while the runtime's pool calls it (a multi-threaded
// OpenBLAS serialises concurrent callers); the count is restored for other BLAS users
// in the process (analysis, activation PCA).
class BlasOneThread {
 public:
  BlasOneThread() {
    if (get_ == nullptr || set_ == nullptr) return;
    previous_ = get_();
    if (previous_ != 1) set_(1);
  }
  ~BlasOneThread() {
    if (previous_ > 1) set_(previous_);
  }
  BlasOneThread(const BlasOneThread&) = delete;
  BlasOneThread& operator=(const BlasOneThread&) = delete;

  static void resolve(void* blas) {
    get_ = reinterpret_cast<int (*)()>(dlsym(blas, "openblas_get_num_threads"));
    set_ = reinterpret_cast<void (*)(int)>(dlsym(blas, "openblas_set_num_threads"));
  }

 private:
  static inline int (*get_)() = nullptr;
  static inline void (*set_)(int) = nullptr;
  int previous_ = 0;
};

// Captured activations are fresh memory, which the VMs this runs on fault in slowly
// (core/fresh_memory.h): every one is prefaulted before it is written.
Activation fresh_activation(std::vector<std::int64_t> shape) {
  Activation a;
  a.shape = std::move(shape);
  std::size_t n = 1;
  for (std::int64_t d : a.shape) n *= static_cast<std::size_t>(d);
  reserve_prefaulted(a.values, n);
  a.values.resize(n);
  return a;
}

Activation to_activation(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kFloat).contiguous();
  Activation a = fresh_activation({c.sizes().begin(), c.sizes().end()});
  std::memcpy(a.values.data(), c.data_ptr<float>(), a.values.size() * sizeof(float));
  return a;
}

class TorchRuntime final : public Runtime {
 public:
  TorchRuntime(const Model& model, int threads)
      : model_(model), spec_(model.spec()), threads_(threads), pool_(threads), scratch_(threads) {}

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
    head_view_ = view_of(&head_);
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
        slot->view = view_of(&slot->weight);
        if (const RoleTensor* b = model_.find(l, role, Part::Bias)) {
          SONIFY_ASSIGN_OR_RETURN(bias, vector(*b, NormGain::Stored));
          slot->bias = bias;
        }
      }
      layer.sliding = s.sliding_window > 0 && s.layer_is_sliding[static_cast<std::size_t>(l)];
      layer.rope = layer.sliding && s.family == Family::Gemma3 ? &rope_local_ : &rope_global_;
      layers_.push_back(std::move(layer));
    }
    map_weights();
    return Status::Ok();
  }

  // Maps the products' weights into the page table now, in one call per matrix instead of
  // a page fault per 64 KB inside the forward pass (MADV_POPULATE_READ, Linux 5.14; advice
  // only: an older kernel faults them in as before). Measured on the 270M shape's
  // 536 MB: 14 ms here against ~80 ms of faults in the first forward pass.
  void map_weights() const {
    constexpr int kPopulateRead = 22;  // MADV_POPULATE_READ, absent from older headers
    const auto page = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
    auto populate = [&](const MatrixView& v) {
      if (v.data == nullptr) return;
      const std::size_t bytes = static_cast<std::size_t>(((v.transposed ? v.in : v.out) - 1) * v.ld +
                                                         (v.transposed ? v.out : v.in)) *
                                dtype_size(v.dtype);
      const auto begin = reinterpret_cast<std::uintptr_t>(v.data) & ~(page - 1);
      madvise(reinterpret_cast<void*>(begin), reinterpret_cast<std::uintptr_t>(v.data) + bytes - begin,
              kPopulateRead);
    };
    populate(head_view_);
    for (const Layer& layer : layers_)
      for (const Linear* l : {&layer.q, &layer.k, &layer.v, &layer.o, &layer.gate, &layer.up, &layer.down})
        if (l->weight.defined()) populate(l->view);
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
        if (l->weight.defined() && l->weight.scalar_type() != at::kFloat) {
          l->converted = l->weight.to(at::kFloat).contiguous();
          l->view = view_of(&l->converted);
        }
  }

  // Runs every block of every product on the pool in one go.
  void multiply(std::int64_t rows, const std::vector<Product>& products) {
    std::vector<std::size_t> first{0};  // first task of each product
    for (const Product& p : products) {
      const std::int64_t step = block_rows(p.w->in);
      first.push_back(first.back() + static_cast<std::size_t>((p.w->out + step - 1) / step));
    }
    pool_.run(first.back(), [&](std::size_t task, int worker) {
      const std::size_t k =
          static_cast<std::size_t>(std::upper_bound(first.begin(), first.end(), task) - first.begin()) - 1;
      const Product& p = products[k];
      const std::int64_t step = block_rows(p.w->in), r0 = static_cast<std::int64_t>(task - first[k]) * step;
      product_block(p, rows, r0, std::min(step, p.w->out - r0), &scratch_[static_cast<std::size_t>(worker)]);
    });
  }

  static Product product(const Linear& l, const at::Tensor& x, at::Tensor* y) {
    TORCH_CHECK(x.is_contiguous() && x.scalar_type() == at::kFloat && x.size(1) == l.view.in);
    return {&l.view, l.bias.defined() ? l.bias.data_ptr<float>() : nullptr, x.data_ptr<float>(),
            y->data_ptr<float>(), y->size(1)};
  }

  // x [T, in] W^T + bias, through the pool.
  at::Tensor apply(const Linear& l, const at::Tensor& x) {
    const at::Tensor in = x.contiguous();
    at::Tensor y = at::empty({in.size(0), l.view.out}, kF32);
    multiply(in.size(0), {product(l, in, &y)});
    return y;
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
  // Returns the output [T, D]; `pattern`, when given, gets the probabilities [H, T, S].
  at::Tensor attention(const Layer& layer, std::size_t index, const at::Tensor& x, std::int64_t pos0,
                       KvCache* cache, Activation* pattern) {
    const std::int64_t t = x.size(0), h = spec_.n_heads, hkv = spec_.n_kv_heads, hd = spec_.head_dim;
    at::Tensor q = at::empty({t, h * hd}, kF32), k = at::empty({t, hkv * hd}, kF32),
               v = at::empty({t, hkv * hd}, kF32);
    multiply(t, {product(layer.q, x, &q), product(layer.k, x, &k), product(layer.v, x, &v)});
    q = q.view({t, h, hd}).transpose(0, 1);
    k = k.view({t, hkv, hd}).transpose(0, 1);
    v = v.view({t, hkv, hd}).transpose(0, 1);
    if (layer.q_norm.weight.defined()) {
      q = apply_norm(layer.q_norm, q);
      k = apply_norm(layer.k_norm, k);
    }
    if (!spec_.learned_positions) {
      const auto [cos, sin] = rope_angles(*layer.rope, pos0, t);
      q = apply_rope(q, cos, sin);
      k = apply_rope(k, cos, sin);
    }
    q = q.contiguous();
    k = k.contiguous();
    v = v.contiguous();
    if (cache != nullptr) {
      if (cache->k.size() <= index) cache->k.resize(index + 1), cache->v.resize(index + 1);
      if (cache->k[index].defined()) {
        k = at::cat({cache->k[index], k}, 1);
        v = at::cat({cache->v[index], v}, 1);
      }
      cache->k[index] = k;
      cache->v[index] = v;
    }
    const std::int64_t s = k.size(1), group = h / hkv;
    const float scale =
        static_cast<float>(spec_.query_pre_attn_scalar > 0 ? 1.0 / std::sqrt(spec_.query_pre_attn_scalar)
                                                           : 1.0 / std::sqrt(static_cast<double>(hd)));
    std::vector<float> scratch;
    float* probs;
    if (pattern != nullptr) {
      *pattern = fresh_activation({h, t, s});
      probs = pattern->values.data();
    } else {
      scratch.resize(static_cast<std::size_t>(h * t * s));
      probs = scratch.data();
    }
    at::Tensor out = at::empty({t, h * hd}, kF32);
    const float* qd = q.data_ptr<float>();
    const float* kd = k.data_ptr<float>();
    const float* vd = v.data_ptr<float>();
    float* od = out.data_ptr<float>();
    pool_.run(static_cast<std::size_t>(h), [&](std::size_t head, int) {
      const std::int64_t hh = static_cast<std::int64_t>(head), g = hh / group;
      float* p = probs + hh * t * s;
      // Row-major scores [T, S] = scale · q_h k_g^T.
      gemm('T', 'N', s, t, hd, scale, kd + g * s * hd, hd, qd + hh * t * hd, hd, p, s);
      for (std::int64_t r = 0; r < t; ++r) softmax_row(p + r * s, s, pos0 + r, layer.sliding);
      // Row-major out[:, h] [T, hd] = p_h v_g.
      gemm('N', 'N', hd, t, s, 1, vd + g * s * hd, hd, p, s, od + hh * hd, h * hd);
    });
    return apply(layer.o, out);
  }

  // Soft-capping, the causal (and sliding-window) mask and the softmax of one row of
  // scores over keys 0..s-1 for the query at position `query`; masked entries become 0.
  void softmax_row(float* row, std::int64_t s, std::int64_t query, bool sliding) const {
    if (spec_.attn_logit_softcapping > 0) {
      const float cap = static_cast<float>(spec_.attn_logit_softcapping);
      for (std::int64_t j = 0; j < s; ++j) row[j] = std::tanh(row[j] / cap) * cap;
    }
    const std::int64_t end = std::min(s, query + 1);
    const std::int64_t begin = sliding ? std::max<std::int64_t>(0, query - spec_.sliding_window + 1) : 0;
    float top = -std::numeric_limits<float>::infinity();
    for (std::int64_t j = begin; j < end; ++j) top = std::max(top, row[j]);
    float sum = 0;
    for (std::int64_t j = begin; j < end; ++j) sum += row[j] = std::exp(row[j] - top);
    const float inv = 1 / sum;
    std::fill(row, row + begin, 0.0f);
    for (std::int64_t j = begin; j < end; ++j) row[j] *= inv;
    std::fill(row + end, row + s, 0.0f);
  }

  // Logits [rows, V] for hidden states x [rows, D], written straight into `out`'s
  // values by the blocked products (a bf16 head is converted block by block in cache,
  // so a 262k × D head never exists whole in f32).
  void logits(const at::Tensor& x, Activation* out) {
    const std::int64_t rows = x.size(0), v = head_view_.out;
    *out = fresh_activation({rows, v});
    multiply(rows, {{&head_view_, nullptr, x.data_ptr<float>(), out->values.data(), v,
                     spec_.final_logit_softcapping}});
  }

  Result<Trace> run(const std::vector<std::int64_t>& ids, const CaptureRequest& request, KvCache* cache) {
    at::NoGradGuard no_grad;
    const BlasOneThread blas_one_thread;
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
      Activation pattern;
      at::Tensor attn = attention(layer, l, apply_norm(layer.attn_norm, hidden).contiguous(), pos0, cache,
                                  request.attn_pattern ? &pattern : nullptr);
      if (gemma) attn = apply_norm(layer.post_attn_norm, attn);
      const at::Tensor before = hidden;
      hidden = hidden + attn;
      if (request.attn_pattern) trace.attn_pattern.push_back(std::move(pattern));

      // GPT-NeoX's parallel residual reads the MLP input from the layer input, not after attention.
      const at::Tensor x = apply_norm(layer.mlp_norm, spec_.parallel_residual ? before : hidden).contiguous();
      at::Tensor post;
      if (spec_.gated_mlp) {
        post = at::empty({t, layer.up.view.out}, kF32);
        Product p = product(layer.up, x, &post);
        p.gate = &layer.gate.view;
        p.gate_bias = layer.gate.bias.defined() ? layer.gate.bias.data_ptr<float>() : nullptr;
        p.act = &act_fn_;
        multiply(t, {p});
      } else {
        post = activate(apply(layer.up, x));
      }
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
  MatrixView head_view_;
  Norm final_norm_;
  std::vector<Layer> layers_;
  WorkerPool pool_;
  std::vector<Scratch> scratch_;  // per pool thread
  const std::function<at::Tensor(const at::Tensor&)> act_fn_ = [this](const at::Tensor& x) {
    return activate(x);
  };
  KvCache cache_;
  bool converted_checked_ = false;
};

}  // namespace
}  // namespace sonify

namespace sonify {

// Training's matrix products go through ATen and BLAS, with OpenBLAS's own thread pool
// (a forward pass uses the runtime's pool instead and sets OpenBLAS to one thread while
// it runs, BlasOneThread). ATen's OpenMP threads are kept at 1: libgomp is already loaded (FluidSynth uses
// it) with its default spin-waiting, and spinning OpenMP threads compete with OpenBLAS's threads for the same
// cores (measured on 2 cores: 2-3x the CPU time for the same forward pass). Returns the threads the matrix
// products use.
int configure_threads(int wanted) {
  at::set_num_threads(1);
  using SetThreads = void (*)(int);
  for (const char* lib : {"libopenblas.so.0", "libblas.so.3"}) {
    void* handle = dlopen(lib, RTLD_NOW | RTLD_NOLOAD);
    if (handle == nullptr) continue;
    BlasOneThread::resolve(handle);
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
    // ATen's temporaries of a forward pass (a few MB per layer) come and go; glibc's
    // default trims the heap and maps big blocks afresh each time, and every new page
    // then costs a fault (~13-27 µs on the VMs this runs on; 4-8 thousand per 270M-shape
    // forward pass). Keeping freed memory for reuse leaves the peak RSS unchanged.
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
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
