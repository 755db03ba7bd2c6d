// The torch-free half of the runtime: opening the plugin, checking prompt ids and
// interpreting the RoPE configuration. The forward pass itself is runtime_torch.cpp.
#include "sonify/runtime.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <numeric>
#include <optional>
#include <random>

#include "sonify/torch_info.h"

namespace sonify {

CaptureRequest CaptureRequest::all() {
  CaptureRequest r;
  r.embed = r.resid_post = r.attn_pattern = r.mlp_post = true;
  r.logits = LogitPositions::All;
  return r;
}

Result<std::unique_ptr<Runtime>> runtime_open(const Model& model, const RuntimeOptions& options) {
  SONIFY_ASSIGN_OR_RETURN(plugin, torch_plugin_open());
  Result<std::unique_ptr<Runtime>> out = Error{"runtime plugin returned nothing"};
  plugin.runtime_open(&model, &options, &out);
  return out;
}

Status runtime_check_ids(const ModelSpec& spec, const std::vector<std::int64_t>& ids) {
  if (ids.empty()) return fail("the prompt has no token ids");
  for (std::size_t i = 0; i < ids.size(); ++i)
    if (ids[i] < 0 || ids[i] >= spec.vocab_size)
      return fail("token id ", ids[i], " at position ", i, " is outside the vocabulary [0, ", spec.vocab_size,
                  ")");
  if (ids.size() > static_cast<std::size_t>(spec.context_length))
    return fail("the prompt has ", ids.size(), " tokens but the model's context holds ", spec.context_length,
                " (pass --truncate to keep the last ", spec.context_length, ")");
  return Status::Ok();
}

std::int64_t sample_next(const std::vector<float>& logits, const GenerateOptions& options,
                         std::uint64_t* rng_state) {
  const std::int64_t argmax = std::max_element(logits.begin(), logits.end()) - logits.begin();
  if (options.temperature <= 0) return argmax;
  std::vector<std::int64_t> order(logits.size());
  std::iota(order.begin(), order.end(), 0);
  std::size_t keep = order.size();
  if (options.top_k > 0 && static_cast<std::size_t>(options.top_k) < keep)
    keep = static_cast<std::size_t>(options.top_k);
  // Stable order: higher logit first, lower id on ties, so the draw is reproducible.
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(keep), order.end(),
                    [&](std::int64_t a, std::int64_t b) {
                      const float la = logits[static_cast<std::size_t>(a)],
                                  lb = logits[static_cast<std::size_t>(b)];
                      return la != lb ? la > lb : a < b;
                    });
  order.resize(keep);
  const double top = logits[static_cast<std::size_t>(order[0])];
  std::vector<double> weights;
  for (std::int64_t id : order)
    weights.push_back(std::exp((logits[static_cast<std::size_t>(id)] - top) / options.temperature));
  const double total = std::accumulate(weights.begin(), weights.end(), 0.0);
  // One 64-bit draw per token from a generator re-seeded with the running state keeps
  // the result independent of the standard library's distribution implementations.
  std::mt19937_64 rng(*rng_state);
  const std::uint64_t draw = rng();
  *rng_state = rng();
  const double u = static_cast<double>(draw >> 11) * 0x1.0p-53 * total;
  double acc = 0;
  for (std::size_t i = 0; i < order.size(); ++i) {
    acc += weights[i];
    if (u < acc) return order[i];
  }
  return order.back();
}

namespace {

// Sampling from NaN logits picks id 0 every time (every comparison is false), so a damaged
// model would print plausible-looking output; it is refused instead.
Status check_finite_logits(const std::vector<float>& logits, int step) {
  const auto bad = std::count_if(logits.begin(), logits.end(), [](float x) { return !std::isfinite(x); });
  if (bad == 0) return Status::Ok();
  return fail("the model gave ", bad, " non-finite logits (NaN or Inf) of ", logits.size(), " at step ", step,
              "; its weights are damaged (sonify analyze names the tensors)");
}

}  // namespace

Result<Generation> generate(Runtime& runtime, const std::vector<std::int64_t>& prompt,
                            const GenerateOptions& options, const TokenObserver& observer) {
  const ModelSpec& spec = runtime.spec();
  SONIFY_TRY(runtime_check_ids(spec, prompt));
  runtime.reset();
  Generation out;
  std::uint64_t rng_state = options.seed;
  SONIFY_ASSIGN_OR_RETURN(first, runtime.extend(prompt));
  std::vector<float> logits = std::move(first);
  const CaptureRequest& c = observer.capture;
  const bool capture = observer && (c.embed || c.resid_post || c.attn_pattern || c.mlp_post);
  CaptureRequest step_request = c;
  step_request.logits = LogitPositions::Last;  // the next token is chosen from them
  out.stop_reason = "max_tokens";
  for (int step = 0; step < options.max_tokens; ++step) {
    const auto logits_at = std::chrono::steady_clock::now();
    SONIFY_TRY(check_finite_logits(logits, step));
    const std::int64_t next = sample_next(logits, options, &rng_state);
    out.ids.push_back(next);
    const bool full = runtime.cached_tokens() >= spec.context_length;
    std::optional<Trace> appended;
    if (capture && !full) {
      SONIFY_ASSIGN_OR_RETURN(trace, runtime.extend_trace({next}, step_request));
      appended = std::move(trace);
    }
    if (observer) {
      SONIFY_ASSIGN_OR_RETURN(
          go_on, observer.on_token(TokenStep{logits, next, logits_at, appended ? &*appended : nullptr}));
      if (!go_on) {
        out.stop_reason = "interrupted";
        break;
      }
    }
    if (options.stop_at_eos &&
        std::find(spec.eos_token_ids.begin(), spec.eos_token_ids.end(), next) != spec.eos_token_ids.end()) {
      out.stop_reason = "eos";
      break;
    }
    if (step + 1 == options.max_tokens) break;
    if (full) {
      out.stop_reason = "context";
      break;
    }
    if (appended) {
      logits = std::move(appended->logits.values);
      continue;
    }
    SONIFY_ASSIGN_OR_RETURN(more, runtime.extend({next}));
    logits = std::move(more);
  }
  return out;
}

namespace {

double number_field(const nlohmann::json& j, const char* key, double fallback) {
  return j.contains(key) && j[key].is_number() ? j[key].get<double>() : fallback;
}

// Llama 3's frequency-dependent interpolation (transformers' _compute_llama3_parameters).
Status apply_llama3(const nlohmann::json& rs, int context_length, std::vector<double>* inv_freq) {
  const double factor = number_field(rs, "factor", 0);
  const double low = number_field(rs, "low_freq_factor", 1);
  const double high = number_field(rs, "high_freq_factor", 4);
  const double old_context = number_field(rs, "original_max_position_embeddings", context_length);
  if (!(factor > 0) || !(high > low))
    return fail("rope_scaling llama3 needs factor > 0 and high_freq_factor > low_freq_factor");
  const double low_wavelen = old_context / low, high_wavelen = old_context / high;
  for (double& f : *inv_freq) {
    const double wavelen = 2 * M_PI / f;
    if (wavelen > low_wavelen) {
      f /= factor;
    } else if (wavelen >= high_wavelen) {
      const double smooth = (old_context / wavelen - low) / (high - low);
      f = (1 - smooth) * f / factor + smooth * f;
    }
  }
  return Status::Ok();
}

}  // namespace

Result<RopeTable> rope_table(const ModelSpec& spec, bool local) {
  RopeTable table;
  if (spec.learned_positions) return table;
  table.rotary_dim = static_cast<int>(spec.head_dim * spec.partial_rotary_factor);
  table.rotary_dim -= table.rotary_dim % 2;
  const double base = local && spec.rope_local_theta > 0 ? spec.rope_local_theta : spec.rope_theta;
  for (int i = 0; i < table.rotary_dim; i += 2)
    table.inv_freq.push_back(1.0 / std::pow(base, static_cast<double>(i) / table.rotary_dim));
  // Gemma 3 scales only its global layers; the local ones use the plain local base.
  const bool scaled = !spec.rope_scaling_type.empty() && spec.rope_scaling_type != "default" &&
                      !(local && spec.family == Family::Gemma3);
  if (!scaled) return table;
  if (spec.rope_scaling_type == "linear") {
    for (double& f : table.inv_freq) f /= spec.rope_scaling_factor;
  } else if (spec.rope_scaling_type == "llama3") {
    const auto rs = nlohmann::json::parse(spec.rope_scaling_json, nullptr, false);
    SONIFY_TRY(apply_llama3(rs, spec.context_length, &table.inv_freq));
  } else {
    return fail("rope_scaling type '", spec.rope_scaling_type,
                "' is not implemented by the runtime (supported: default, linear, llama3)");
  }
  return table;
}

}  // namespace sonify
