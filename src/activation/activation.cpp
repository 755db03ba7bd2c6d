// Activation tracks: words from offsets, hidden states from a trace, the reference PCA,
// the contrast direction and the voices composition (include/sonify/activation.h).
#include "sonify/activation.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iterator>
#include <nlohmann/json.hpp>

#include "core/json_strict.h"
#include "phrases.h"

namespace sonify {
namespace {

bool is_space(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

double clamp01(double x) { return std::min(1.0, std::max(0.0, x)); }

// Components whose spread is measured per position (the three reference_project returns).
constexpr std::size_t kScaledComponents = 3;

}  // namespace

// Token-mean of the rows of `state` over tokens not in `skip` (all tokens when every one is skipped).
std::vector<double> token_mean(const HiddenStates& h, int state, const std::vector<bool>& skip) {
  std::vector<double> mean(static_cast<std::size_t>(h.width), 0.0);
  int used = 0;
  for (int pass = 0; pass < 2 && used == 0; ++pass)
    for (int t = 0; t < h.tokens; ++t) {
      if (pass == 0 && t < static_cast<int>(skip.size()) && skip[static_cast<std::size_t>(t)]) continue;
      const float* r = h.row(state, t);
      for (int d = 0; d < h.width; ++d) mean[static_cast<std::size_t>(d)] += r[d];
      ++used;
    }
  for (double& v : mean) v /= std::max(1, used);
  return mean;
}

// Tokens a statistic leaves out: special tokens and position 0 (the attention sink),
// unless that would leave nothing.
std::vector<bool> default_skip(const std::vector<bool>& special, int tokens) {
  std::vector<bool> skip(static_cast<std::size_t>(tokens), false);
  for (int t = 0; t < tokens; ++t)
    skip[static_cast<std::size_t>(t)] =
        (t < static_cast<int>(special.size()) && special[static_cast<std::size_t>(t)]);
  if (tokens > 1) skip[0] = true;
  return skip;
}

namespace {

Result<HiddenStates> run_hidden(Runtime& runtime, const Tokenizer& tokenizer, const std::string& text,
                                int max_tokens, std::vector<bool>* special) {
  SONIFY_ASSIGN_OR_RETURN(enc, tokenizer.encode(text));
  std::size_t limit = static_cast<std::size_t>(std::max(1, max_tokens));
  if (runtime.spec().context_length > 0)
    limit = std::min(limit, static_cast<std::size_t>(runtime.spec().context_length));
  if (enc.ids.size() > limit) {
    enc.ids.resize(limit);
    enc.special.resize(limit);
  }
  if (enc.ids.empty()) return fail("'", text, "' gives no tokens");
  std::vector<std::int64_t> ids(enc.ids.begin(), enc.ids.end());
  SONIFY_ASSIGN_OR_RETURN(trace, runtime.forward(ids, hidden_states_request()));
  *special = enc.special;
  return hidden_states_from_trace(trace);
}

}  // namespace

std::vector<double> reference_project(const ReferencePca& pca, int state, int position, const float* r) {
  const Pca& p = pca.states[static_cast<std::size_t>(state)];
  const std::vector<double>* centre = nullptr;
  if (state < static_cast<int>(pca.position_means.size()) &&
      !pca.position_means[static_cast<std::size_t>(state)].empty())
    centre = &pca.position_means[static_cast<std::size_t>(state)];
  std::size_t at = 0;
  if (centre != nullptr) {
    const std::size_t positions = centre->size() / p.n_features;
    at = std::min<std::size_t>(static_cast<std::size_t>(std::max(0, position)), positions - 1) * p.n_features;
  }
  const std::vector<double>* scales = nullptr;
  std::size_t scale_at = 0;
  if (state < static_cast<int>(pca.position_scales.size()) &&
      !pca.position_scales[static_cast<std::size_t>(state)].empty()) {
    scales = &pca.position_scales[static_cast<std::size_t>(state)];
    const std::size_t positions = scales->size() / kScaledComponents;
    scale_at = std::min<std::size_t>(static_cast<std::size_t>(std::max(0, position)), positions - 1) *
               kScaledComponents;
  }
  std::vector<double> z(3, 0.0);
  for (std::size_t k = 0; k < std::min<std::size_t>(3, p.components.size()); ++k) {
    double dot = 0;
    for (std::size_t i = 0; i < p.n_features; ++i)
      dot += (r[i] - (centre != nullptr ? (*centre)[at + i] : 0.0) - p.mean[i]) * p.components[k][i];
    const double spread = scales != nullptr ? (*scales)[scale_at + k] : 1.0;
    z[k] = dot / std::sqrt(std::max(p.explained_variance[k], 1e-30)) / std::max(spread, 1e-6);
  }
  return z;
}

int tonic_chord_tone(const Scale& scale, int target) {
  int best = scale.snap(target);
  int distance = 1 << 20;
  for (int p : scale.pitches()) {
    const int degree = scale.degree_of(p);
    if ((degree == 0 || degree == 2 || degree == 4) && std::abs(p - target) < distance) {
      distance = std::abs(p - target);
      best = p;
    }
  }
  return best;
}

std::vector<WordSpan> group_words(std::string_view text, const std::vector<ByteRange>& offsets,
                                  const std::vector<bool>& special) {
  std::vector<WordSpan> words;
  for (std::size_t i = 0; i < text.size();) {
    if (is_space(static_cast<unsigned char>(text[i]))) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < text.size() && !is_space(static_cast<unsigned char>(text[j]))) ++j;
    WordSpan w;
    w.text = std::string(text.substr(i, j - i));
    w.bytes = {i, j};
    for (std::size_t t = 0; t < offsets.size(); ++t) {
      if (t < special.size() && special[t]) continue;
      if (offsets[t].begin < j && offsets[t].end > i) w.tokens.push_back(t);
    }
    if (!w.tokens.empty()) words.push_back(std::move(w));
    i = j;
  }
  return words;
}

CaptureRequest hidden_states_request() {
  CaptureRequest r;
  r.embed = true;
  r.resid_post = true;
  r.logits = LogitPositions::None;
  return r;
}

Result<HiddenStates> hidden_states_from_trace(const Trace& trace) {
  if (trace.embed.empty() || trace.resid_post.empty())
    return fail("the trace holds no hidden states (capture embed and resid_post)");
  HiddenStates h;
  h.states = static_cast<int>(trace.resid_post.size()) + 1;
  h.tokens = static_cast<int>(trace.embed.shape.at(0));
  h.width = static_cast<int>(trace.embed.shape.at(1));
  h.values.reserve(static_cast<std::size_t>(h.states) * h.tokens * h.width);
  h.values.insert(h.values.end(), trace.embed.values.begin(), trace.embed.values.end());
  for (const Activation& a : trace.resid_post) {
    if (a.shape.size() != 2 || a.shape[0] != h.tokens || a.shape[1] != h.width)
      return fail("hidden states of inconsistent shape in the trace");
    h.values.insert(h.values.end(), a.values.begin(), a.values.end());
  }
  return h;
}

std::string fnv1a_hex(std::string_view bytes) {
  std::uint64_t hash = 1469598103934665603ULL;
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(hash));
  return buf;
}

Result<std::vector<std::string>> read_corpus(const std::string& path, std::string* hash) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(path, ": cannot read the reference corpus");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (hash != nullptr) *hash = fnv1a_hex(text);
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) lines.push_back(std::move(line));
    start = end + 1;
  }
  if (lines.empty()) return fail(path, ": the reference corpus is empty");
  return lines;
}

std::string reference_pca_to_json(const ReferencePca& pca) {
  nlohmann::ordered_json j;
  j["corpus_hash"] = pca.corpus_hash;
  j["max_sentences"] = pca.options.max_sentences;
  j["stride"] = pca.options.stride;
  j["components"] = pca.options.components;
  j["max_tokens"] = pca.options.max_tokens;
  j["sentences"] = pca.sentences;
  j["samples"] = pca.samples;
  nlohmann::ordered_json states = nlohmann::ordered_json::array();
  for (const Pca& p : pca.states)
    states.push_back(p.n_features == 0 ? nlohmann::ordered_json(nullptr)
                                       : nlohmann::ordered_json::parse(pca_to_json(p)));
  j["states"] = states;
  j["position_means"] = pca.position_means;
  j["position_scales"] = pca.position_scales;
  return j.dump();
}

Result<ReferencePca> reference_pca_from_json(std::string_view text, const std::string& what) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail(what, ": not a reference PCA JSON object");
  try {
    ReferencePca pca;
    pca.corpus_hash = j.at("corpus_hash").get<std::string>();
    pca.options.max_sentences = j.at("max_sentences").get<int>();
    pca.options.stride = j.at("stride").get<int>();
    pca.options.components = j.at("components").get<int>();
    pca.options.max_tokens = j.at("max_tokens").get<int>();
    pca.sentences = j.at("sentences").get<int>();
    pca.samples = j.at("samples").get<int>();
    for (const auto& s : j.at("states")) {
      if (s.is_null()) {
        pca.states.emplace_back();
        continue;
      }
      SONIFY_ASSIGN_OR_RETURN(p, pca_from_json(s.dump(), what));
      pca.states.push_back(std::move(p));
    }
    pca.position_means = j.at("position_means").get<std::vector<std::vector<double>>>();
    // A cache written before the position scales existed fails here and is fitted again.
    pca.position_scales = j.at("position_scales").get<std::vector<std::vector<double>>>();
    for (const auto& scales : pca.position_scales)
      if (scales.size() % kScaledComponents != 0) return fail(what, ": position scales of the wrong length");
    return pca;
  } catch (const nlohmann::json::exception& e) {
    return fail(what, ": bad reference PCA JSON (", e.what(), ")");
  }
}

namespace {

// The fit behind both reference_pca_fit variants: `hidden(k)` runs the k-th of `n_sequences`
// reference sequences and sets its special-token marks.
Result<ReferencePca> fit_reference(
    Runtime& runtime, std::size_t n_sequences,
    const std::function<Result<HiddenStates>(std::size_t, std::vector<bool>*)>& hidden,
    const std::string& corpus_hash, const ReferenceOptions& options, const std::vector<int>& wanted_states) {
  const int states = runtime.spec().n_layers + 1;
  std::vector<bool> fit(static_cast<std::size_t>(states), wanted_states.empty());
  for (int s : wanted_states) {
    if (s < 0 || s >= states)
      return fail("hidden state ", s, " does not exist (the model has 0..", states - 1, ")");
    fit[static_cast<std::size_t>(s)] = true;
  }
  std::vector<std::vector<double>> data(static_cast<std::size_t>(states));
  std::vector<int> positions;  // of each sample row
  ReferencePca out;
  out.corpus_hash = corpus_hash;
  out.options = options;
  int width = 0;
  for (std::size_t k = 0; k < n_sequences; ++k) {
    std::vector<bool> special;
    SONIFY_ASSIGN_OR_RETURN(h, hidden(k, &special));
    width = h.width;
    ++out.sentences;
    for (int t = 1; t < h.tokens; ++t) {
      if (t < static_cast<int>(special.size()) && special[static_cast<std::size_t>(t)]) continue;
      ++out.samples;
      positions.push_back(t);
      for (int s = 0; s < states; ++s) {
        if (!fit[static_cast<std::size_t>(s)]) continue;
        const float* r = h.row(s, t);
        data[static_cast<std::size_t>(s)].insert(data[static_cast<std::size_t>(s)].end(), r, r + h.width);
      }
    }
  }
  if (out.samples < 2) return fail("reference PCA: the corpus subset gave fewer than 2 token rows");
  out.states.resize(static_cast<std::size_t>(states));
  out.position_means.resize(static_cast<std::size_t>(states));
  out.position_scales.resize(static_cast<std::size_t>(states));
  const std::size_t n_pos = static_cast<std::size_t>(std::max(1, options.max_tokens));
  const std::size_t w = static_cast<std::size_t>(width);
  for (int s = 0; s < states; ++s) {
    if (!fit[static_cast<std::size_t>(s)]) continue;
    // Position means (a position seen in no sentence takes the one before it).
    std::vector<double>& pm = out.position_means[static_cast<std::size_t>(s)];
    pm.assign(n_pos * w, 0.0);
    std::vector<int> count(n_pos, 0);
    std::vector<double>& rows = data[static_cast<std::size_t>(s)];
    for (std::size_t r = 0; r < positions.size(); ++r) {
      const std::size_t at = static_cast<std::size_t>(positions[r]);
      ++count[at];
      for (std::size_t i = 0; i < w; ++i) pm[at * w + i] += rows[r * w + i];
    }
    for (std::size_t q = 0; q < n_pos; ++q)
      for (std::size_t i = 0; i < w; ++i) {
        if (count[q] > 0)
          pm[q * w + i] /= count[q];
        else if (q > 0)
          pm[q * w + i] = pm[(q - 1) * w + i];
      }
    // Position 0 never enters (the sink is left out): it takes position 1's mean.
    if (n_pos > 1 && count[0] == 0)
      for (std::size_t i = 0; i < w; ++i) pm[i] = pm[w + i];
    for (std::size_t r = 0; r < positions.size(); ++r)
      for (std::size_t i = 0; i < w; ++i)
        rows[r * w + i] -= pm[static_cast<std::size_t>(positions[r]) * w + i];
    SONIFY_ASSIGN_OR_RETURN(
        p, pca_fit(data[static_cast<std::size_t>(s)], static_cast<std::size_t>(out.samples),
                   static_cast<std::size_t>(width), static_cast<std::size_t>(options.components)));
    // The spread of each position on components 1-3, relative to all positions: the first
    // content tokens have seen almost no context, so their states scatter far wider than
    // later ones, and in pooled standard deviations every prompt's first word would sit at
    // the edge of a voice's range. Shrunk towards 1 with kShrink pseudo-samples, as late
    // positions are seen in few sentences.
    constexpr double kShrink = 8;
    std::vector<double>& ps = out.position_scales[static_cast<std::size_t>(s)];
    ps.assign(n_pos * kScaledComponents, 1.0);
    std::vector<double> sq(n_pos * kScaledComponents, 0.0);
    for (std::size_t r = 0; r < positions.size(); ++r)
      for (std::size_t k = 0; k < std::min(kScaledComponents, p.components.size()); ++k) {
        double dot = 0;
        for (std::size_t i = 0; i < w; ++i) dot += (rows[r * w + i] - p.mean[i]) * p.components[k][i];
        sq[static_cast<std::size_t>(positions[r]) * kScaledComponents + k] +=
            dot * dot / std::max(p.explained_variance[k], 1e-30);
      }
    for (std::size_t q = 0; q < n_pos; ++q)
      for (std::size_t k = 0; k < kScaledComponents; ++k)
        ps[q * kScaledComponents + k] =
            count[q] > 0 ? std::sqrt((sq[q * kScaledComponents + k] + kShrink) / (count[q] + kShrink))
            : q > 0      ? ps[(q - 1) * kScaledComponents + k]
                         : 1.0;
    if (n_pos > 1 && count[0] == 0)
      for (std::size_t k = 0; k < kScaledComponents; ++k) ps[k] = ps[kScaledComponents + k];
    out.states[static_cast<std::size_t>(s)] = std::move(p);
    data[static_cast<std::size_t>(s)].clear();
    data[static_cast<std::size_t>(s)].shrink_to_fit();
  }
  return out;
}

}  // namespace

Result<ReferencePca> reference_pca_fit(Runtime& runtime, const Tokenizer& tokenizer,
                                       const std::vector<std::string>& corpus, const std::string& corpus_hash,
                                       const ReferenceOptions& options, const std::vector<int>& states) {
  if (options.max_sentences < 1 || options.stride < 1 || options.components < 1)
    return fail("reference PCA: sentences, stride and components must be at least 1");
  const auto stride = static_cast<std::size_t>(options.stride);
  const std::size_t count =
      std::min(static_cast<std::size_t>(options.max_sentences), (corpus.size() + stride - 1) / stride);
  return fit_reference(
      runtime, count,
      [&](std::size_t k, std::vector<bool>* special) {
        return run_hidden(runtime, tokenizer, corpus[k * stride], options.max_tokens, special);
      },
      corpus_hash, options, states);
}

Result<ReferencePca> reference_pca_fit_ids(Runtime& runtime, const std::vector<ReferenceSequence>& sequences,
                                           const std::string& corpus_hash, const ReferenceOptions& options,
                                           const std::vector<int>& states) {
  if (options.components < 1 || options.max_tokens < 1)
    return fail("reference PCA: components and tokens must be at least 1");
  std::size_t limit = static_cast<std::size_t>(options.max_tokens);
  if (runtime.spec().context_length > 0)
    limit = std::min(limit, static_cast<std::size_t>(runtime.spec().context_length));
  return fit_reference(
      runtime, sequences.size(),
      [&](std::size_t k, std::vector<bool>* special) -> Result<HiddenStates> {
        const ReferenceSequence& seq = sequences[k];
        if (seq.ids.empty()) return fail("reference PCA: sequence ", k + 1, " has no tokens");
        const std::size_t n = std::min(limit, seq.ids.size());
        *special = seq.special;
        special->resize(n, false);
        SONIFY_ASSIGN_OR_RETURN(
            trace, runtime.forward(std::vector<std::int64_t>(seq.ids.begin(), seq.ids.begin() + n),
                                   hidden_states_request()));
        return hidden_states_from_trace(trace);
      },
      corpus_hash, options, states);
}

Result<ContrastSet> contrast_set_parse(std::string_view text, const std::string& what) {
  SONIFY_ASSIGN_OR_RETURN(j, json_parse_strict(text, what));
  if (!j.is_object()) return fail(what, ": expected a JSON object with \"name\" and \"pairs\"");
  ContrastSet set;
  set.hash = fnv1a_hex(text);
  auto str = [&](const char* key, std::string* out, bool required) -> Status {
    auto it = j.find(key);
    if (it == j.end()) return required ? Status(fail(what, ": missing \"", key, "\"")) : Status();
    if (!it->is_string()) return fail(what, ": \"", key, "\" must be a string");
    *out = it->get<std::string>();
    return {};
  };
  SONIFY_TRY(str("name", &set.name, true));
  SONIFY_TRY(str("description", &set.description, false));
  set.a = "a";
  set.b = "b";
  SONIFY_TRY(str("a", &set.a, false));
  SONIFY_TRY(str("b", &set.b, false));
  auto pairs = j.find("pairs");
  if (pairs == j.end() || !pairs->is_array() || pairs->empty())
    return fail(what, ": \"pairs\" must be a non-empty array of [A, B] prompt pairs");
  for (std::size_t i = 0; i < pairs->size(); ++i) {
    const auto& p = (*pairs)[i];
    if (!p.is_array() || p.size() != 2 || !p[0].is_string() || !p[1].is_string() ||
        p[0].get<std::string>().empty() || p[1].get<std::string>().empty())
      return fail(what, ": pair ", i + 1, " must be two non-empty strings [A, B]");
    set.pairs.emplace_back(p[0].get<std::string>(), p[1].get<std::string>());
  }
  return set;
}

Result<ContrastSet> contrast_set_read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(path, ": cannot read the contrast pair file");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return contrast_set_parse(text, path);
}

std::string contrast_direction_to_json(const ContrastDirection& d) {
  nlohmann::ordered_json j;
  j["name"] = d.name;
  j["set_hash"] = d.set_hash;
  j["method"] = d.method;
  j["states"] = d.states;
  j["width"] = d.width;
  j["explained"] = d.explained;
  j["scale"] = d.scale;
  j["midpoint"] = d.midpoint;
  j["direction"] = d.direction;
  return j.dump();
}

Result<ContrastDirection> contrast_direction_from_json(std::string_view text, const std::string& what) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail(what, ": not a contrast direction JSON object");
  try {
    ContrastDirection d;
    d.name = j.at("name").get<std::string>();
    d.set_hash = j.at("set_hash").get<std::string>();
    d.method = j.at("method").get<std::string>();
    d.states = j.at("states").get<std::vector<int>>();
    d.width = j.at("width").get<int>();
    d.explained = j.at("explained").get<double>();
    d.scale = j.at("scale").get<double>();
    d.midpoint = j.at("midpoint").get<std::vector<double>>();
    d.direction = j.at("direction").get<std::vector<double>>();
    if (d.direction.size() != d.states.size() * static_cast<std::size_t>(d.width) ||
        d.midpoint.size() != d.direction.size())
      return fail(what, ": direction has the wrong length");
    return d;
  } catch (const nlohmann::json::exception& e) {
    return fail(what, ": bad contrast direction JSON (", e.what(), ")");
  }
}

Result<ContrastDirection> contrast_direction_fit(Runtime& runtime, const Tokenizer& tokenizer,
                                                 const ContrastSet& set, const std::string& method) {
  const int n_layers = runtime.spec().n_layers;
  ContrastDirection d;
  d.name = set.name;
  d.set_hash = set.hash;
  for (int block = n_layers / 2; block < n_layers; ++block) d.states.push_back(block + 1);
  const int context = runtime.spec().context_length > 0 ? runtime.spec().context_length : 1 << 20;
  auto pooled = [&](const std::string& text) -> Result<std::vector<double>> {
    std::vector<bool> special;
    SONIFY_ASSIGN_OR_RETURN(h, run_hidden(runtime, tokenizer, text, context, &special));
    d.width = h.width;
    const std::vector<bool> skip = default_skip(special, h.tokens);
    std::vector<double> v;
    for (int s : d.states) {
      const std::vector<double> m = token_mean(h, s, skip);
      v.insert(v.end(), m.begin(), m.end());
    }
    return v;
  };
  std::vector<double> diffs;
  std::size_t n = 0;
  for (const auto& [a, b] : set.pairs) {
    SONIFY_ASSIGN_OR_RETURN(va, pooled(a));
    SONIFY_ASSIGN_OR_RETURN(vb, pooled(b));
    n = va.size();
    if (d.midpoint.empty()) d.midpoint.assign(n, 0.0);
    for (std::size_t i = 0; i < n; ++i) {
      d.midpoint[i] += (va[i] + vb[i]) / (2.0 * static_cast<double>(set.pairs.size()));
      diffs.push_back(vb[i] - va[i]);
    }
  }
  const std::size_t p = set.pairs.size();
  // The uncentred first principal direction of the differences: the centred PCA of
  // the differences together with their negations (mean zero, same second moments).
  std::vector<double> sym(diffs);
  for (double v : diffs) sym.push_back(-v);
  SONIFY_ASSIGN_OR_RETURN(pca, pca_fit(sym, 2 * p, n, 1));
  if (pca.components.empty()) return fail("contrast direction: the pair differences are all zero");
  d.direction = pca.components[0];
  d.method = method;
  if (method == "mean") {
    // The difference of the means (the mean pair difference), normalised.
    std::vector<double> m(n, 0.0);
    double norm = 0;
    for (std::size_t r = 0; r < p; ++r)
      for (std::size_t i = 0; i < n; ++i) m[i] += diffs[r * n + i];
    for (double v : m) norm += v * v;
    if (norm <= 0) return fail("contrast direction: the pair differences are all zero");
    for (double& v : m) v /= std::sqrt(norm);
    d.direction = m;
  } else if (method != "pc1") {
    return fail("contrast direction: unknown method '", method, "' (pc1 or mean)");
  }
  double sum = 0, energy = 0, along = 0, abs_sum = 0;
  for (std::size_t r = 0; r < p; ++r) {
    double dot = 0, sq = 0;
    for (std::size_t i = 0; i < n; ++i) {
      dot += diffs[r * n + i] * d.direction[i];
      sq += diffs[r * n + i] * diffs[r * n + i];
    }
    sum += dot;
    energy += sq;
    along += dot * dot;
    abs_sum += std::abs(dot);
  }
  if (sum < 0)
    for (double& v : d.direction) v = -v;
  d.explained = energy > 0 ? along / energy : 0;
  d.scale = abs_sum > 0 ? abs_sum / static_cast<double>(p) : 1.0;
  return d;
}

double contrast_tension(const ContrastDirection& d, const HiddenStates& h, const std::vector<bool>& special) {
  const std::vector<bool> skip = default_skip(special, h.tokens);
  double dot = 0;
  for (std::size_t k = 0; k < d.states.size(); ++k) {
    if (d.states[k] >= h.states || d.width != h.width) return 0;
    const std::vector<double> m = token_mean(h, d.states[k], skip);
    for (int i = 0; i < h.width; ++i) {
      const std::size_t at = k * static_cast<std::size_t>(d.width) + static_cast<std::size_t>(i);
      dot += (m[static_cast<std::size_t>(i)] - d.midpoint[at]) * d.direction[at];
    }
  }
  return dot / d.scale;
}

std::vector<double> contrast_token_tension(const ContrastDirection& d, const HiddenStates& h) {
  std::vector<double> out(static_cast<std::size_t>(h.tokens), 0.0);
  if (d.width != h.width) return out;
  for (int t = 0; t < h.tokens; ++t) {
    double dot = 0;
    for (std::size_t k = 0; k < d.states.size(); ++k) {
      if (d.states[k] >= h.states) continue;
      const float* r = h.row(d.states[k], t);
      for (int i = 0; i < h.width; ++i) {
        const std::size_t at = k * static_cast<std::size_t>(d.width) + static_cast<std::size_t>(i);
        dot += (r[i] - d.midpoint[at]) * d.direction[at];
      }
    }
    out[static_cast<std::size_t>(t)] = dot / d.scale;
  }
  return out;
}

std::vector<VoiceSpec> default_voices(int n_layers) {
  const int last = std::max(1, n_layers);
  const int early = std::max(1, (n_layers + 2) / 4);
  const int middle = std::max(1, (n_layers + 1) / 2);
  return {{"flute", 73, early, 72, 93}, {"clarinet", 71, middle, 58, 79}, {"strings", 48, last, 45, 67}};
}

double tension_level(double tension) { return clamp01(0.5 + 0.75 * tension); }

Palette palette_for_level(double level) {
  // Each keeps the voices' registers (high 72-93, middle 58-79, low 45-67, drone 36-43)
  // inside the instruments' ranges; the storm's drone is timpani, which the tense
  // levels pulse 4 or 8 times a bar.
  if (level < 0.25) return {"pastoral", {73, 71, 48}, 89, 73, 10, 20};
  if (level < 0.5) return {"woodwinds", {68, 71, 70}, 43, 71, 8, 16};
  if (level < 0.75) return {"strings", {40, 41, 42}, 43, 80, 8, 19};
  return {"storm", {44, 60, 57}, 47, 81, 14, 19};
}

Mode mode_for_tension(double tension) {
  const double level = tension_level(tension);
  return level < 0.25   ? Mode::major
         : level < 0.5  ? Mode::mixolydian
         : level < 0.75 ? Mode::natural_minor
                        : Mode::phrygian;
}

double prompt_motion(const HiddenStates& h, const ReferencePca& pca, const std::vector<VoiceSpec>& voices,
                     const std::vector<bool>& skip) {
  double sum = 0;
  int steps = 0;
  for (const VoiceSpec& v : voices) {
    if (v.state < 0 || v.state >= h.states || v.state >= static_cast<int>(pca.states.size())) continue;
    const Pca& p = pca.states[static_cast<std::size_t>(v.state)];
    if (p.n_features != static_cast<std::size_t>(h.width)) continue;
    std::vector<double> prev;
    for (int t = 0; t < h.tokens; ++t) {
      if (t < static_cast<int>(skip.size()) && skip[static_cast<std::size_t>(t)]) continue;
      std::vector<double> z = reference_project(pca, v.state, t, h.row(v.state, t));
      if (!prev.empty()) {
        double d = 0;
        for (std::size_t k = 0; k < z.size(); ++k) d += (z[k] - prev[k]) * (z[k] - prev[k]);
        sum += std::sqrt(d);
        ++steps;
      }
      prev = std::move(z);
    }
  }
  // E|x - y| for independent standard normal x, y in 3 dimensions: sqrt(2)·E[chi_3].
  constexpr double kUnrelated = 2.2567583341910251;
  return steps > 0 ? sum / steps / kUnrelated : 0.0;
}

double tempo_for_motion(double motion) { return std::clamp(60 + 60 * (motion - 0.5), 60.0, 132.0); }

Result<ActivationTrack> compose_voices(const HiddenStates& h, const std::vector<std::int64_t>& token_ids,
                                       const std::vector<WordSpan>& words, const ReferencePca& pca,
                                       const VoicesOptions& options) {
  if (words.empty()) return fail("the prompt has no words to play");
  if (options.voices.empty()) return fail("no voices to play");
  if (!(options.bpm >= 20 && options.bpm <= 300))
    return fail("tempo ", options.bpm, " BPM is outside 20..300");
  for (const VoiceSpec& v : options.voices) {
    if (v.state < 0 || v.state >= h.states)
      return fail("voice ", v.name, ": hidden state ", v.state, " does not exist");
    if (v.state >= static_cast<int>(pca.states.size()) ||
        pca.states[static_cast<std::size_t>(v.state)].n_features != static_cast<std::size_t>(h.width))
      return fail("voice ", v.name, ": no reference PCA for hidden state ", v.state);
    if (Scale(options.root_midi, options.mode, v.lo, v.hi).empty())
      return fail("voice ", v.name, ": no scale pitch in ", v.lo, "..", v.hi);
  }
  ActivationTrack out;
  Score& score = out.score;
  score.title = options.title;
  score.set_tempo(0, options.bpm);
  score.time_signatures.push_back({0, 4, 4});
  score.key_signatures.push_back(key_signature_for_mode(options.root_midi % 12, options.mode));
  // Tension sets the loudness of every part and the drone's pulse; without a direction
  // the track sits at the middle level with a held drone.
  const double level = options.tension ? tension_level(*options.tension) : 0.5;
  const double loud = options.tension ? 56 + 32 * level : 72;
  const std::string loud_source =
      options.tension ? "; contrast tension (level " + std::to_string(level).substr(0, 4) + "): loudness"
                      : "";
  // The instruments follow the tension's mood unless the caller chose them.
  const bool use_palette = options.palette && options.tension && options.voices.size() == 3;
  const Palette palette = palette_for_level(level);
  const std::string palette_source =
      use_palette ? "; contrast tension: the '" + palette.name + "' palette" : "";
  std::vector<int> voice_tracks;
  for (std::size_t i = 0; i < options.voices.size(); ++i) {
    const VoiceSpec& v = options.voices[i];
    const int program = use_palette ? palette.voices[i] : v.program;
    const int track = score.add_track(v.name, program);
    score.tracks[static_cast<std::size_t>(track)].control(0, cc::kReverbSend, 60);
    voice_tracks.push_back(track);
    out.sources.push_back({v.name, program, v.state, -1,
                           "PCA components 1-3 of the word's last token: pitch, velocity, articulation; "
                           "position 0 (attention sink): a tonic-chord tone" +
                               loud_source + palette_source});
  }
  std::vector<int> last_pitch(options.voices.size(), 0), last_velocity(options.voices.size(), 0);
  // Natural layout: a word's slot grows with its token count; commas pause half a beat,
  // a sentence closes with a breath of a beat. Sentences then become 2-16 bar phrases.
  // Given word beats are laid out as they are, in one unstretched phrase.
  const bool given = !options.word_beats.empty();
  if (given && options.word_beats.size() != words.size())
    return fail(options.word_beats.size(), " word lengths for ", words.size(), " words");
  for (double b : options.word_beats)
    if (!(b > 0 && b <= 1024)) return fail("a word length of ", b, " beats is outside (0, 1024]");
  std::vector<double> word_beats, word_offset;
  std::vector<std::size_t> sentence_of;
  phrases::Map phrase;
  double offset = 0;
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string& text = words[i].text;
    const char end = text.empty() ? ' ' : text.back();
    word_beats.push_back(given ? options.word_beats[i]
                               : std::min(2.5, 1.0 + 0.5 * static_cast<double>(words[i].tokens.size() - 1)));
    word_offset.push_back(offset);
    sentence_of.push_back(phrase.size());
    offset += word_beats.back() + (!given && (end == ',' || end == ';' || end == ':') ? 0.5 : 0.0);
    if (given) {
      if (i + 1 == words.size()) phrase.add_exact(offset);
    } else if (phrases::ends_sentence(text) || i + 1 == words.size()) {
      phrase.add(offset + 1.0);
      offset = 0;
    }
  }
  std::int64_t cursor = 0;
  for (std::size_t i = 0; i < words.size(); ++i) {
    const WordSpan& w = words[i];
    const std::size_t last = w.tokens.back();
    cursor = score.ticks(phrase.at(sentence_of[i], word_offset[i]));
    const std::int64_t slot = score.ticks(word_beats[i] * phrase.factor(sentence_of[i]));
    WordTiming timing;
    timing.text = w.text;
    timing.bytes = w.bytes;
    for (std::size_t t : w.tokens) timing.token_ids.push_back(token_ids.at(t));
    std::int64_t longest = 0;
    for (std::size_t v = 0; v < options.voices.size(); ++v) {
      const VoiceSpec& spec = options.voices[v];
      const Scale scale(options.root_midi, options.mode, spec.lo, spec.hi);
      int pitch = 0;
      std::vector<double> z(3, 0.0);
      if (last == 0) {
        // Position 0 is the attention sink: its state is a constant of the model, not the
        // word, and far outside the reference distribution. It opens on the home chord.
        pitch = tonic_chord_tone(scale, (spec.lo + spec.hi) / 2);
      } else {
        z = reference_project(pca, spec.state, static_cast<int>(last),
                              h.row(spec.state, static_cast<int>(last)));
        pitch = scale.at(static_cast<int>(std::lround(clamp01(0.5 + z[0] / 4.0) * (scale.size() - 1))));
      }
      const int velocity = static_cast<int>(std::lround(std::clamp(loud + 14 * z[1], 30.0, 118.0)));
      const double legato = std::min(0.98, std::max(0.5, 0.8 + 0.1 * z[2]));
      const std::int64_t length =
          std::max<std::int64_t>(1, static_cast<std::int64_t>(std::lround(slot * legato)));
      score.tracks[static_cast<std::size_t>(voice_tracks[v])].note(cursor, length, pitch, velocity);
      timing.pitches.push_back(pitch);
      timing.components.push_back(z);
      last_pitch[v] = pitch;
      last_velocity[v] = velocity;
      longest = std::max(longest, length);
    }
    score.mark(cursor, w.text);
    timing.start_seconds = score.seconds_at(cursor);
    timing.end_seconds = score.seconds_at(cursor + longest);
    out.words.push_back(std::move(timing));
  }
  // The cadence, on the bar line after the last phrase: every voice moves to the nearest
  // tone of the tonic chord and fades.
  const std::int64_t cadence = score.ticks(phrase.total());
  const std::int64_t tail = score.ticks(3);
  for (std::size_t v = 0; v < options.voices.size(); ++v) {
    const VoiceSpec& spec = options.voices[v];
    const Scale scale(options.root_midi, options.mode, spec.lo, spec.hi);
    score.tracks[static_cast<std::size_t>(voice_tracks[v])].note(
        cadence, tail, tonic_chord_tone(scale, last_pitch[v]), std::max(30, last_velocity[v] * 2 / 3));
  }
  out.tail_start_seconds = score.seconds_at(cadence);
  // The drone: root and fifth below the voices, pulsing 1, 2, 4 or 8 times a bar as the
  // tension rises, then held under the cadence.
  const int drone_program = use_palette ? palette.drone : options.drone_program;
  const int drone = score.add_track("drone", drone_program);
  const int pulses =
      options.tension ? std::array<int, 4>{1, 2, 4, 8}[std::min(3, static_cast<int>(4 * level))] : 1;
  out.sources.push_back({"drone", drone_program, -1, -1,
                         options.tension ? "the key's root and fifth; contrast tension: pulses per bar (" +
                                               std::to_string(pulses) + ") and loudness" + palette_source
                                         : "the key's root and fifth, held a bar"});
  const int root = options.root_midi % 12 + 36;
  const int drone_velocity = static_cast<int>(std::lround(40 + 28 * level));
  const std::int64_t bar = score.ticks(4);
  const std::int64_t pulse = bar / pulses;
  Track& dt = score.tracks[static_cast<std::size_t>(drone)];
  for (std::int64_t t = 0; t < cadence; t += pulse) {
    const std::int64_t len = std::min(pulses == 1 ? pulse : pulse * 7 / 8, cadence - t);
    const int accent = pulses > 1 && t % bar == 0 ? 10 : 0;
    dt.note(t, len, root, std::min(127, drone_velocity + accent));
    dt.note(t, len, root + 7, std::min(127, drone_velocity - 12 + accent));
  }
  dt.note(cadence, tail, root, drone_velocity * 2 / 3);
  dt.note(cadence, tail, root + 7, drone_velocity / 2);
  SONIFY_TRY(score_validate(score));
  return out;
}

std::string timing_to_json(const ActivationTrack& track) {
  nlohmann::ordered_json j;
  nlohmann::ordered_json words = nlohmann::ordered_json::array();
  for (std::size_t i = 0; i < track.words.size(); ++i) {
    const WordTiming& w = track.words[i];
    words.push_back({{"index", i},
                     {"text", w.text},
                     {"bytes", {w.bytes.begin, w.bytes.end}},
                     {"token_ids", w.token_ids},
                     {"start", w.start_seconds},
                     {"end", w.end_seconds},
                     {"pitches", w.pitches}});
    if (!w.components.empty()) words.back()["pca"] = w.components;
    if (w.tension) words.back()["tension"] = *w.tension;
  }
  j["words"] = words;
  if (track.tail_start_seconds) j["tail"] = {{"start", *track.tail_start_seconds}};
  j["duration"] = track.score.length_seconds();
  // A prompt read with --replace-invalid keeps its invalid bytes (offsets point into
  // them); JSON must be UTF-8, so they are written as U+FFFD here.
  return j.dump(1, ' ', false, decltype(j)::error_handler_t::replace);
}

}  // namespace sonify
