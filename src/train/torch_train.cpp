// Training small decoder-only transformers (GPT-2 or Llama family) with libtorch
// autograd. Built into the plugin libsonify_torch.so only. Parameters are kept in the
// layout the Hugging Face checkpoint stores (GPT-2's Conv1D weights are [in, out],
// Llama's Linear weights [out, in]), so exporting is a copy, not a reshuffle.
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/splitmix64.h"
#include "runtime/torch_threads.h"
#include "sonify/system_probe.h"
#include "sonify/train.h"

namespace sonify {
namespace {

struct Param {
  std::string name;  // Hugging Face name
  torch::Tensor tensor;
  bool decay = false;  // weight decay applies (matrices and embeddings)
};

class Net {
 public:
  explicit Net(const TrainConfig& c) : c_(c) {}
  virtual ~Net() = default;
  // Logits [B, T, V] for ids [B, T].
  virtual torch::Tensor forward(const torch::Tensor& ids) = 0;
  std::vector<Param>& params() { return params_; }

 protected:
  torch::Tensor add(const std::string& name, std::vector<std::int64_t> shape, double std, bool decay,
                    double fill = 0.0) {
    torch::Tensor t = std > 0 ? torch::randn(shape) * std : torch::full(shape, fill);
    t.set_requires_grad(true);
    params_.push_back({name, t, decay});
    return t;
  }
  torch::Tensor causal_attention(torch::Tensor q, torch::Tensor k, torch::Tensor v) {
    // q, k, v: [B, H, T, hd]
    const auto T = q.size(2);
    auto scores = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(q.size(3)));
    auto mask = torch::ones({T, T}, torch::kBool).triu(1);
    scores = scores.masked_fill(mask, -std::numeric_limits<float>::infinity());
    return torch::matmul(torch::softmax(scores, -1), v);
  }

  TrainConfig c_;
  std::vector<Param> params_;
};

class Gpt2 final : public Net {
 public:
  explicit Gpt2(const TrainConfig& c) : Net(c) {
    const std::int64_t D = c.dim, V = c.vocab, C = c.context;
    const double s = 0.02, s_out = 0.02 / std::sqrt(2.0 * c.layers);
    wte_ = add("transformer.wte.weight", {V, D}, s, true);
    wpe_ = add("transformer.wpe.weight", {C, D}, 0.01, true);
    for (int l = 0; l < c.layers; ++l) {
      const std::string p = "transformer.h." + std::to_string(l) + ".";
      Layer L;
      L.ln1_w = add(p + "ln_1.weight", {D}, 0, false, 1.0);
      L.ln1_b = add(p + "ln_1.bias", {D}, 0, false);
      L.qkv_w = add(p + "attn.c_attn.weight", {D, 3 * D}, s, true);
      L.qkv_b = add(p + "attn.c_attn.bias", {3 * D}, 0, false);
      L.o_w = add(p + "attn.c_proj.weight", {D, D}, s_out, true);
      L.o_b = add(p + "attn.c_proj.bias", {D}, 0, false);
      L.ln2_w = add(p + "ln_2.weight", {D}, 0, false, 1.0);
      L.ln2_b = add(p + "ln_2.bias", {D}, 0, false);
      L.fc_w = add(p + "mlp.c_fc.weight", {D, 4 * D}, s, true);
      L.fc_b = add(p + "mlp.c_fc.bias", {4 * D}, 0, false);
      L.proj_w = add(p + "mlp.c_proj.weight", {4 * D, D}, s_out, true);
      L.proj_b = add(p + "mlp.c_proj.bias", {D}, 0, false);
      layers_.push_back(L);
    }
    lnf_w_ = add("transformer.ln_f.weight", {D}, 0, false, 1.0);
    lnf_b_ = add("transformer.ln_f.bias", {D}, 0, false);
  }

  torch::Tensor forward(const torch::Tensor& ids) override {
    const auto B = ids.size(0), T = ids.size(1);
    const std::int64_t D = c_.dim, H = c_.heads, hd = D / H;
    auto x = torch::embedding(wte_, ids) + wpe_.slice(0, 0, T).unsqueeze(0);
    for (auto& L : layers_) {
      auto h = torch::layer_norm(x, {D}, L.ln1_w, L.ln1_b, c_.norm_eps);
      auto qkv = torch::addmm(L.qkv_b, h.reshape({B * T, D}), L.qkv_w).reshape({B, T, 3, H, hd});
      auto q = qkv.select(2, 0).transpose(1, 2);
      auto k = qkv.select(2, 1).transpose(1, 2);
      auto v = qkv.select(2, 2).transpose(1, 2);
      auto y = causal_attention(q, k, v).transpose(1, 2).reshape({B * T, D});
      x = x + torch::addmm(L.o_b, y, L.o_w).reshape({B, T, D});
      h = torch::layer_norm(x, {D}, L.ln2_w, L.ln2_b, c_.norm_eps).reshape({B * T, D});
      auto a = torch::gelu(torch::addmm(L.fc_b, h, L.fc_w), "tanh");
      x = x + torch::addmm(L.proj_b, a, L.proj_w).reshape({B, T, D});
    }
    x = torch::layer_norm(x, {D}, lnf_w_, lnf_b_, c_.norm_eps);
    return torch::matmul(x, wte_.t());  // tied lm_head
  }

 private:
  struct Layer {
    torch::Tensor ln1_w, ln1_b, qkv_w, qkv_b, o_w, o_b, ln2_w, ln2_b, fc_w, fc_b, proj_w, proj_b;
  };
  torch::Tensor wte_, wpe_, lnf_w_, lnf_b_;
  std::vector<Layer> layers_;
};

// Llama's MLP width: 8/3 of the model width, rounded up to a multiple of 16.
std::int64_t llama_intermediate(std::int64_t dim) { return ((8 * dim / 3) + 15) / 16 * 16; }

class Llama final : public Net {
 public:
  explicit Llama(const TrainConfig& c) : Net(c) {
    const std::int64_t D = c.dim, V = c.vocab, I = llama_intermediate(D);
    const double s = 0.02, s_out = 0.02 / std::sqrt(2.0 * c.layers);
    embed_ = add("model.embed_tokens.weight", {V, D}, s, true);
    for (int l = 0; l < c.layers; ++l) {
      const std::string p = "model.layers." + std::to_string(l) + ".";
      Layer L;
      L.in_norm = add(p + "input_layernorm.weight", {D}, 0, false, 1.0);
      L.q = add(p + "self_attn.q_proj.weight", {D, D}, s, true);
      L.k = add(p + "self_attn.k_proj.weight", {D, D}, s, true);
      L.v = add(p + "self_attn.v_proj.weight", {D, D}, s, true);
      L.o = add(p + "self_attn.o_proj.weight", {D, D}, s_out, true);
      L.post_norm = add(p + "post_attention_layernorm.weight", {D}, 0, false, 1.0);
      L.gate = add(p + "mlp.gate_proj.weight", {I, D}, s, true);
      L.up = add(p + "mlp.up_proj.weight", {I, D}, s, true);
      L.down = add(p + "mlp.down_proj.weight", {D, I}, s_out, true);
      layers_.push_back(L);
    }
    norm_ = add("model.norm.weight", {D}, 0, false, 1.0);
    // RoPE tables in HF's rotate_half convention: frequencies repeated over both halves.
    const std::int64_t hd = D / c.heads;
    auto inv = torch::pow(c.rope_theta, -torch::arange(0, hd, 2, torch::kFloat64) / static_cast<double>(hd));
    auto pos = torch::arange(0, c.context, torch::kFloat64);
    auto freqs = torch::outer(pos, inv);
    auto emb = torch::cat({freqs, freqs}, -1);
    cos_ = emb.cos().to(torch::kFloat32);
    sin_ = emb.sin().to(torch::kFloat32);
  }

  torch::Tensor forward(const torch::Tensor& ids) override {
    const auto B = ids.size(0), T = ids.size(1);
    const std::int64_t D = c_.dim, H = c_.heads, hd = D / H;
    auto cos = cos_.slice(0, 0, T), sin = sin_.slice(0, 0, T);
    auto rope = [&](const torch::Tensor& t) {  // t: [B, H, T, hd]
      auto x1 = t.slice(-1, 0, hd / 2), x2 = t.slice(-1, hd / 2, hd);
      return t * cos + torch::cat({-x2, x1}, -1) * sin;
    };
    auto x = torch::embedding(embed_, ids);
    for (auto& L : layers_) {
      auto h = rms(x, L.in_norm);
      auto q = rope(torch::matmul(h, L.q.t()).reshape({B, T, H, hd}).transpose(1, 2));
      auto k = rope(torch::matmul(h, L.k.t()).reshape({B, T, H, hd}).transpose(1, 2));
      auto v = torch::matmul(h, L.v.t()).reshape({B, T, H, hd}).transpose(1, 2);
      auto y = causal_attention(q, k, v).transpose(1, 2).reshape({B, T, D});
      x = x + torch::matmul(y, L.o.t());
      h = rms(x, L.post_norm);
      x = x +
          torch::matmul(torch::silu(torch::matmul(h, L.gate.t())) * torch::matmul(h, L.up.t()), L.down.t());
    }
    return torch::matmul(rms(x, norm_), embed_.t());  // tied lm_head
  }

 private:
  torch::Tensor rms(const torch::Tensor& x, const torch::Tensor& w) {
    return x * torch::rsqrt(x.pow(2).mean(-1, true) + c_.norm_eps) * w;
  }
  struct Layer {
    torch::Tensor in_norm, q, k, v, o, post_norm, gate, up, down;
  };
  torch::Tensor embed_, norm_, cos_, sin_;
  std::vector<Layer> layers_;
};

// Windows of context + 1 tokens: inputs are the first `context`, targets the last.
torch::Tensor windows(const std::vector<std::int32_t>& ids, const std::vector<std::int64_t>& starts,
                      int context) {
  auto out = torch::empty({static_cast<std::int64_t>(starts.size()), context + 1}, torch::kInt64);
  auto* p = out.data_ptr<std::int64_t>();
  for (std::size_t b = 0; b < starts.size(); ++b)
    for (int t = 0; t <= context; ++t) p[b * (context + 1) + t] = ids[starts[b] + t];
  return out;
}

torch::Tensor loss_of(Net& net, const torch::Tensor& batch) {
  const auto T = batch.size(1) - 1;
  auto logits = net.forward(batch.slice(1, 0, T));
  return torch::nn::functional::cross_entropy(logits.reshape({-1, logits.size(-1)}),
                                              batch.slice(1, 1, T + 1).reshape({-1}));
}

double evaluate(Net& net, const std::vector<std::int32_t>& ids, const TrainConfig& c) {
  torch::NoGradGuard no_grad;
  const std::int64_t span = static_cast<std::int64_t>(ids.size()) - (c.context + 1);
  const int n = c.eval_batches * c.batch;
  std::vector<std::int64_t> starts;
  // Evenly spaced windows over the whole validation stream: the same every evaluation.
  for (int i = 0; i < n; ++i) starts.push_back(n == 1 ? 0 : span * i / (n - 1));
  double total = 0;
  for (int b = 0; b < c.eval_batches; ++b) {
    std::vector<std::int64_t> part(starts.begin() + b * c.batch, starts.begin() + (b + 1) * c.batch);
    total += loss_of(net, windows(ids, part, c.context)).item<double>();
  }
  return total / c.eval_batches;
}

Status validate(const TrainRequest& r) {
  const TrainConfig& c = r.config;
  if (c.arch != "gpt2" && c.arch != "llama") return fail("unknown --arch '", c.arch, "' (gpt2 or llama)");
  if (c.layers < 1 || c.dim < 8 || c.heads < 1 || c.dim % c.heads != 0)
    return fail("--dim (", c.dim, ") must be a positive multiple of --heads (", c.heads, ")");
  if (c.arch == "llama" && (c.dim / c.heads) % 2 != 0)
    return fail("llama needs an even head size (--dim / --heads)");
  if (c.context < 2 || c.steps < 1 || c.batch < 1 || c.vocab < 2 || !(c.lr > 0))
    return fail("context, steps, batch and lr must be positive");
  if (r.train_ids.size() < static_cast<std::size_t>(c.context) + 1)
    return fail("training text has ", r.train_ids.size(), " tokens, fewer than one context window (",
                c.context + 1, ")");
  if (r.val_ids.size() < static_cast<std::size_t>(c.context) + 1)
    return fail("validation text has ", r.val_ids.size(), " tokens, fewer than one context window (",
                c.context + 1, ")");
  for (const auto* s : {&r.train_ids, &r.val_ids, &r.check_ids})
    for (std::int32_t id : *s)
      if (id < 0 || id >= c.vocab) return fail("token id ", id, " outside the vocabulary (", c.vocab, ")");
  if (r.check_ids.size() > static_cast<std::size_t>(c.context))
    return fail("check sequence longer than the context");
  return {};
}

Result<TrainResult> train(const TrainRequest& request) {
  SONIFY_TRY(validate(request));
  TrainConfig c = request.config;
  if (c.warmup <= 0) c.warmup = std::max(1, c.steps / 20);
  if (c.eval_every <= 0) c.eval_every = std::max(1, c.steps / 20);
  const int threads = c.threads > 0 ? c.threads : default_threads();
  configure_threads(threads);
  torch::manual_seed(c.seed);

  std::unique_ptr<Net> net;
  if (c.arch == "gpt2")
    net = std::make_unique<Gpt2>(c);
  else
    net = std::make_unique<Llama>(c);

  std::vector<torch::Tensor> decay, no_decay, all;
  std::int64_t parameters = 0;
  for (auto& p : net->params()) {
    (p.decay ? decay : no_decay).push_back(p.tensor);
    all.push_back(p.tensor);
    parameters += p.tensor.numel();
  }
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(
      decay, std::make_unique<torch::optim::AdamWOptions>(
                 torch::optim::AdamWOptions(c.lr).betas({0.9, 0.95}).eps(1e-8).weight_decay(c.weight_decay)));
  groups.emplace_back(no_decay,
                      std::make_unique<torch::optim::AdamWOptions>(
                          torch::optim::AdamWOptions(c.lr).betas({0.9, 0.95}).eps(1e-8).weight_decay(0.0)));
  torch::optim::AdamW opt(groups);

  SplitMix64 rng{c.seed ^ 0x5EEDBA7C4ull};
  const std::uint64_t span = request.train_ids.size() - (c.context + 1) + 1;
  TrainResult result;
  result.parameters = parameters;
  result.threads = threads;
  const auto t0 = std::chrono::steady_clock::now();
  auto seconds = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  double since_eval = 0;
  int since_eval_n = 0;
  std::int64_t tokens = 0;
  for (int step = 1; step <= c.steps; ++step) {
    if (request.stop != nullptr && request.stop->load()) {
      result.interrupted = true;
      break;
    }
    // Linear warm-up, then cosine decay to min_lr_ratio * lr.
    double lr = c.lr;
    if (step <= c.warmup) {
      lr = c.lr * step / c.warmup;
    } else {
      const double progress = static_cast<double>(step - c.warmup) / std::max(1, c.steps - c.warmup);
      lr = c.lr * (c.min_lr_ratio + (1 - c.min_lr_ratio) * 0.5 * (1 + std::cos(M_PI * progress)));
    }
    for (auto& g : opt.param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);

    std::vector<std::int64_t> starts(c.batch);
    for (auto& s : starts) s = static_cast<std::int64_t>(rng.next() % span);
    opt.zero_grad();
    auto loss = loss_of(*net, windows(request.train_ids, starts, c.context));
    loss.backward();
    torch::nn::utils::clip_grad_norm_(all, c.grad_clip);
    opt.step();
    const double l = loss.item<double>();
    if (!std::isfinite(l)) return fail("training diverged at step ", step, " (loss ", l, "); lower --lr");
    since_eval += l;
    ++since_eval_n;
    tokens += static_cast<std::int64_t>(c.batch) * c.context;
    result.steps_done = step;
    const double tps = tokens / std::max(1e-9, seconds());
    if (step % c.eval_every == 0 || step == c.steps) {
      TrainEval e{step, since_eval / since_eval_n, evaluate(*net, request.val_ids, c), lr, seconds()};
      result.history.push_back(e);
      since_eval = 0;
      since_eval_n = 0;
      if (request.progress) request.progress(step, l, tps, &result.history.back());
    } else if (request.progress) {
      request.progress(step, l, tps, nullptr);
    }
  }
  // An interrupted run still reports where it ended.
  if (result.interrupted && result.steps_done > 0 &&
      (result.history.empty() || result.history.back().step != result.steps_done)) {
    TrainEval e{result.steps_done, since_eval_n ? since_eval / since_eval_n : 0.0,
                evaluate(*net, request.val_ids, c), 0.0, seconds()};
    result.history.push_back(e);
  }
  result.seconds = seconds();
  result.tokens_per_second = tokens / std::max(1e-9, result.seconds);

  torch::NoGradGuard no_grad;
  if (!request.check_ids.empty()) {
    std::vector<std::int64_t> ids(request.check_ids.begin(), request.check_ids.end());
    auto in = torch::from_blob(ids.data(), {1, static_cast<std::int64_t>(ids.size())}, torch::kInt64).clone();
    auto logits = net->forward(in).contiguous();
    result.check_logits.assign(logits.data_ptr<float>(), logits.data_ptr<float>() + logits.numel());
  }
  for (auto& p : net->params()) {
    auto t = p.tensor.detach().contiguous();
    NamedTensor out{p.name, t.sizes().vec(), {}};
    out.data.assign(t.data_ptr<float>(), t.data_ptr<float>() + t.numel());
    result.tensors.push_back(std::move(out));
  }
  return result;
}

}  // namespace
}  // namespace sonify

extern "C" __attribute__((visibility("default"))) sonify::Result<sonify::TrainResult> sonify_torch_train(
    const sonify::TrainRequest& request) {
  try {
    return sonify::train(request);
  } catch (const std::exception& e) {
    std::string what = e.what();
    if (auto nl = what.find('\n'); nl != std::string::npos) what.resize(nl);
    return sonify::fail("training failed: ", what);
  }
}
