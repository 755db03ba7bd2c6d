#include "compare_direction.h"

#include <algorithm>
#include <cmath>

#include "sonify/activation.h"
#include "sonify/pipeline_tokens.h"
#include "sonify/runtime.h"
#include "sonify/scale.h"

namespace sonify::pipeline {
namespace {

struct PromptStates {
  HiddenStates h;
  std::vector<bool> skip;  // left out of token means, as every other statistic does (default_skip)
  std::vector<std::string> pieces;
};

Result<PromptStates> run(Runtime& runtime, const Tokenizer& tokenizer, const std::string& text) {
  SONIFY_ASSIGN_OR_RETURN(enc, tokenizer.encode(text));
  if (enc.ids.empty()) return fail("'", text, "' gives no tokens");
  const int limit = runtime.spec().context_length;
  if (limit > 0 && static_cast<int>(enc.ids.size()) > limit)
    return fail("'", text, "' has ", enc.ids.size(), " tokens, more than the context of ", limit);
  std::vector<std::int64_t> ids(enc.ids.begin(), enc.ids.end());
  SONIFY_ASSIGN_OR_RETURN(trace, runtime.forward(ids, hidden_states_request()));
  PromptStates p;
  SONIFY_ASSIGN_OR_RETURN(h, hidden_states_from_trace(trace));
  p.h = std::move(h);
  p.skip = default_skip(enc.special, p.h.tokens);
  p.pieces = enc.pieces;
  return p;
}

double dot(const std::vector<double>& x, const float* y) {
  double s = 0;
  for (std::size_t i = 0; i < x.size(); ++i) s += x[i] * y[i];
  return s;
}

double dot(const std::vector<double>& x, const std::vector<double>& y) {
  double s = 0;
  for (std::size_t i = 0; i < x.size(); ++i) s += x[i] * y[i];
  return s;
}

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / static_cast<double>(v.size());
}

double var_of(const std::vector<double>& v) {
  const double m = mean_of(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return v.size() < 2 ? 0 : s / static_cast<double>(v.size() - 1);
}

// Projections of the prompt in one model: per state the token mean and every token.
void project(const PromptStates& p, const std::vector<double>& u, std::vector<double>* mean,
             std::vector<std::vector<double>>* tokens) {
  for (int s = 0; s < p.h.states; ++s) {
    mean->push_back(dot(u, token_mean(p.h, s, p.skip)));
    std::vector<double> row;
    for (int t = 0; t < p.h.tokens; ++t) row.push_back(dot(u, p.h.row(s, t)));
    tokens->push_back(std::move(row));
  }
}

}  // namespace

Result<DirectionComparison> compare_direction(const Model& a, const Model& b, const std::string& model_a_path,
                                              const std::string& path, const std::string& prompt, int state) {
  SONIFY_ASSIGN_OR_RETURN(set, contrast_set_read(path));
  if (set.pairs.empty()) return fail(path, ": the contrast set has no pairs");
  auto tokenizer = tokenizer_if_present(model_a_path);
  if (!tokenizer) return fail(model_a_path, ": --direction needs the model's tokenizer.json");
  SONIFY_ASSIGN_OR_RETURN(runtime_a, runtime_open(a));
  SONIFY_ASSIGN_OR_RETURN(runtime_b, runtime_open(b));

  // Token means of every prompt of the set at every state, in model A.
  std::vector<std::vector<std::vector<double>>> side_a, side_b;  // [pair][state][width]
  for (const auto& [x, y] : set.pairs) {
    for (auto [text, side] : {std::pair{&x, &side_a}, std::pair{&y, &side_b}}) {
      SONIFY_ASSIGN_OR_RETURN(p, run(*runtime_a, *tokenizer, *text));
      std::vector<std::vector<double>> means;
      for (int s = 0; s < p.h.states; ++s) means.push_back(token_mean(p.h, s, p.skip));
      side->push_back(std::move(means));
    }
  }
  const int states = static_cast<int>(side_a[0].size());
  if (state >= states) return fail("--direction-layer ", state, " is past the last state (", states - 1, ")");
  DirectionComparison d;
  d.set_name = set.name;
  d.set_hash = set.hash;
  d.label_a = set.a;
  d.label_b = set.b;
  std::vector<std::vector<double>> units;
  for (int s = 0; s < states; ++s) {
    const std::size_t width = side_a[0][static_cast<std::size_t>(s)].size();
    std::vector<double> diff(width, 0.0);
    for (std::size_t i = 0; i < side_a.size(); ++i)
      for (std::size_t k = 0; k < width; ++k)
        diff[k] += (side_b[i][static_cast<std::size_t>(s)][k] - side_a[i][static_cast<std::size_t>(s)][k]) /
                   static_cast<double>(side_a.size());
    const double norm = std::sqrt(dot(diff, diff));
    for (double& v : diff) v = norm > 0 ? v / norm : 0;
    std::vector<double> pa, pb;
    for (std::size_t i = 0; i < side_a.size(); ++i) {
      pa.push_back(dot(diff, side_a[i][static_cast<std::size_t>(s)]));
      pb.push_back(dot(diff, side_b[i][static_cast<std::size_t>(s)]));
    }
    const double pooled = std::sqrt(0.5 * (var_of(pa) + var_of(pb)));
    d.separation.push_back(pooled > 0 ? (mean_of(pb) - mean_of(pa)) / pooled : 0);
    units.push_back(std::move(diff));
  }
  d.state = state;
  if (state < 0) {  // the embedding (state 0) is left to --direction-layer 0
    d.state = states > 1 ? 1 : 0;
    for (int s = 1; s < states; ++s)
      if (d.separation[static_cast<std::size_t>(s)] > d.separation[static_cast<std::size_t>(d.state)])
        d.state = s;
  }
  d.direction = units[static_cast<std::size_t>(d.state)];
  for (int s = 0; s < states; ++s) {
    std::vector<double> pa, pb;
    for (std::size_t i = 0; i < side_a.size(); ++i) {
      pa.push_back(dot(d.direction, side_a[i][static_cast<std::size_t>(s)]));
      pb.push_back(dot(d.direction, side_b[i][static_cast<std::size_t>(s)]));
    }
    d.centre.push_back(0.5 * (mean_of(pa) + mean_of(pb)));
    d.spread.push_back(0.5 * std::abs(mean_of(pb) - mean_of(pa)));
  }

  d.prompt = prompt.empty() ? set.pairs[0].second : prompt;
  SONIFY_ASSIGN_OR_RETURN(pa, run(*runtime_a, *tokenizer, d.prompt));
  SONIFY_ASSIGN_OR_RETURN(pb, run(*runtime_b, *tokenizer, d.prompt));
  d.pieces = pa.pieces;
  project(pa, d.direction, &d.projection_a, &d.tokens_a);
  project(pb, d.direction, &d.projection_b, &d.tokens_b);
  return d;
}

Score direction_score(const DirectionComparison& d, int root_midi, const std::string& mode_text) {
  Score s;
  s.title = "direction";
  s.set_tempo(0, 96);
  const Mode mode = mode_from_name(mode_text).ok() ? *mode_from_name(mode_text) : Mode::natural_minor;
  const int voice_a = s.add_track("Model A (" + d.label_a + " to " + d.label_b + ")", 73);
  const int voice_b = s.add_track("Model B", 71);
  s.tracks[voice_a].control(0, cc::kPan, 16);
  s.tracks[voice_b].control(0, cc::kPan, 112);
  const std::int64_t step = s.ticks(0.5);
  std::int64_t at = 0;
  for (std::size_t st = 0; st < d.tokens_a.size(); ++st) {
    s.mark(at, st == 0 ? "embedding" : "after block " + std::to_string(st - 1));
    const double spread = d.spread[st] > 0 ? d.spread[st] : 1;
    for (std::size_t t = 0; t < d.tokens_a[st].size(); ++t) {
      for (auto [track, value] :
           {std::pair{voice_a, d.tokens_a[st][t]}, std::pair{voice_b, d.tokens_b[st][t]}}) {
        const int degree = to_int_clamped(std::round(3.0 * (value - d.centre[st]) / spread), -10, 10);
        s.tracks[track].note(at, step, mode_degree_pitch(root_midi + 12, mode, degree), 84);
      }
      at += step;
    }
    at += 2 * step;  // a breath between states
  }
  return s;
}

}  // namespace sonify::pipeline
