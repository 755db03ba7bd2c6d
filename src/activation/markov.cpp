// The markov style: SPEC-notebooks §15–16 (Markov chain from block norms, micro-LSTM
// from the SVD, entropy → length, sparsity → celesta, tension → organ), with the
// notebook's bugs fixed: notes follow words and tokens in time (no per-layer phrase
// stretched over the prompt), named tracks get distinct channels, the organ's pitch
// follows tension instead of sitting on MIDI 24, h0 is padded for short inputs.
#include <algorithm>
#include <cmath>
#include <random>

#include "phrases.h"
#include "sonify/activation.h"

namespace sonify {
namespace {

constexpr int kHidden = 16;

std::vector<double> norm01(const std::vector<double>& v) {
  if (v.empty()) return v;
  const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  std::vector<double> out(v.size(), 0.0);
  if (*hi - *lo <= 1e-12) return out;
  for (std::size_t i = 0; i < v.size(); ++i) out[i] = (v[i] - *lo) / (*hi - *lo);
  return out;
}

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-std::clamp(x, -10.0, 10.0))); }

struct Lstm {
  double w[4][kHidden][kHidden] = {};  // i, f, o, c
  double b[4] = {};
};

// Rank-1 W = a bᵀ from a vector tiled to 32 entries, scaled to spectral norm 0.45.
void gate_weights(const std::vector<double>& v, double (*w)[kHidden]) {
  std::vector<double> t;
  while (t.size() < 2 * kHidden) {
    if (v.empty()) {
      t.push_back(0);
      continue;
    }
    for (double x : v) t.push_back(x);
  }
  double na = 0, nb = 0;
  for (int i = 0; i < kHidden; ++i) {
    na += t[static_cast<std::size_t>(i)] * t[static_cast<std::size_t>(i)];
    nb += t[static_cast<std::size_t>(kHidden + i)] * t[static_cast<std::size_t>(kHidden + i)];
  }
  const double scale = 0.45 / (std::sqrt(na) * std::sqrt(nb) + 1e-9);
  for (int i = 0; i < kHidden; ++i)
    for (int j = 0; j < kHidden; ++j)
      w[i][j] = t[static_cast<std::size_t>(i)] * t[static_cast<std::size_t>(kHidden + j)] * scale;
}

}  // namespace

CaptureRequest markov_request() {
  CaptureRequest r = hidden_states_request();
  r.attn_pattern = true;
  r.mlp_post = true;
  return r;
}

Result<MarkovInput> markov_input_from_trace(const Trace& trace, const ContrastDirection* direction) {
  MarkovInput in;
  SONIFY_ASSIGN_OR_RETURN(h, hidden_states_from_trace(trace));
  in.hidden = std::move(h);
  const int nl = in.hidden.states - 1;
  const int tokens = in.hidden.tokens;
  in.lead_state = std::max(1, nl / 2);
  in.attention_layer = std::max(0, nl / 2 - (nl > 1 ? 1 : 0));
  in.mlp_layer = std::max(0, nl / 3);
  if (trace.attn_pattern.size() != static_cast<std::size_t>(nl) ||
      trace.mlp_post.size() != static_cast<std::size_t>(nl))
    return fail("the trace holds no attention or MLP activations (capture attn and mlp)");
  const Activation& attn = trace.attn_pattern[static_cast<std::size_t>(in.attention_layer)];
  const auto heads = static_cast<std::size_t>(attn.shape.at(0));
  const auto t = static_cast<std::size_t>(tokens);
  for (std::size_t q = 0; q < t; ++q) {
    double e = 0;
    for (std::size_t hd = 0; hd < heads; ++hd)
      for (std::size_t k = 0; k <= q; ++k) {
        const double p = std::clamp(static_cast<double>(attn.values[(hd * t + q) * t + k]), 1e-12, 1.0);
        e -= p * std::log(p);
      }
    e /= static_cast<double>(heads);
    in.attention_entropy.push_back(q == 0 ? 0.0
                                          : std::clamp(e / std::log(static_cast<double>(q + 1)), 0.0, 1.0));
  }
  const Activation& mlp = trace.mlp_post[static_cast<std::size_t>(in.mlp_layer)];
  const auto width = static_cast<std::size_t>(mlp.shape.at(1));
  // The threshold leaves out position 0 (the attention sink) when there is more.
  const std::size_t from = t > 1 ? width : 0;
  const std::size_t count = std::max<std::size_t>(1, mlp.values.size() - from);
  double mean = 0, sq = 0;
  for (std::size_t i = from; i < mlp.values.size(); ++i) mean += mlp.values[i];
  mean /= static_cast<double>(count);
  for (std::size_t i = from; i < mlp.values.size(); ++i)
    sq += (mlp.values[i] - mean) * (mlp.values[i] - mean);
  const double threshold = 0.1 * std::sqrt(sq / static_cast<double>(count));
  for (std::size_t q = 0; q < t; ++q) {
    std::size_t small = 0;
    for (std::size_t d = 0; d < width; ++d) small += std::abs(mlp.values[q * width + d]) < threshold;
    in.mlp_sparsity.push_back(static_cast<double>(small) /
                              static_cast<double>(std::max<std::size_t>(1, width)));
  }
  if (direction != nullptr) in.tension = contrast_token_tension(*direction, in.hidden);
  return in;
}

Result<ActivationTrack> compose_markov(const MarkovInput& in, const std::vector<std::int64_t>& token_ids,
                                       const std::vector<WordSpan>& words, const MarkovOptions& options) {
  if (words.empty()) return fail("the prompt has no words to play");
  const HiddenStates& hs = in.hidden;
  const int T = hs.tokens;
  const int D = hs.width;
  if (in.lead_state < 0 || in.lead_state >= hs.states) return fail("markov: no hidden state ", in.lead_state);
  const Scale scale(options.root_midi, options.mode, 48, 84);
  const int SL = scale.size();
  if (SL < 2) return fail("markov: the scale has fewer than 2 pitches");
  std::mt19937_64 rng(options.seed);
  auto uniform = [&] { return static_cast<double>(rng() >> 11) * 0x1.0p-53; };
  auto gaussian = [&] {
    const double u1 = std::max(uniform(), 1e-300), u2 = uniform();
    return std::sqrt(-2 * std::log(u1)) * std::cos(2 * M_PI * u2);
  };

  // Position 0 is the attention sink: a huge, prompt-independent state that would
  // dominate every norm and singular vector. The statistics start at the first real token.
  const int first = T > 1 ? 1 : 0;
  const double level = options.tension ? tension_level(*options.tension) : 0.5;

  // Markov matrix from block norms of the lead state.
  const int bs = std::max(1, D / SL);
  std::vector<double> bnorm(static_cast<std::size_t>(SL), 0.0);
  for (int i = 0; i < SL; ++i) {
    double s = 0;
    for (int t = first; t < T; ++t)
      for (int d = i * bs; d < std::min(D, (i + 1) * bs); ++d) s += std::pow(hs.row(in.lead_state, t)[d], 2);
    bnorm[static_cast<std::size_t>(i)] = std::sqrt(s);
  }
  const std::vector<double> v = norm01(bnorm);
  std::vector<std::vector<double>> M(static_cast<std::size_t>(SL),
                                     std::vector<double>(static_cast<std::size_t>(SL)));
  const double vmax = *std::max_element(v.begin(), v.end());
  for (int i = 0; i < SL; ++i) {
    double sum = 0;
    for (int j = 0; j < SL; ++j) {
      const double m =
          std::exp(3.0 * v[static_cast<std::size_t>(i)] * (v[static_cast<std::size_t>(j)] - vmax));
      M[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)] = m;
      sum += m;
    }
    for (double& m : M[static_cast<std::size_t>(i)]) m /= sum + 1e-12;
  }

  // LSTM gate weights from the right singular vectors of the lead state (uncentred SVD
  // through the PCA of the rows and their negations).
  std::vector<double> rows;
  for (int t = first; t < T; ++t)
    for (int d = 0; d < D; ++d) rows.push_back(hs.row(in.lead_state, t)[d]);
  for (int t = first; t < T; ++t)
    for (int d = 0; d < D; ++d) rows.push_back(-hs.row(in.lead_state, t)[d]);
  SONIFY_ASSIGN_OR_RETURN(
      svd, pca_fit(rows, static_cast<std::size_t>(2 * (T - first)), static_cast<std::size_t>(D),
                   static_cast<std::size_t>(std::min(4, T - first))));
  Lstm lstm;
  for (int g = 0; g < 4; ++g)
    gate_weights(g < static_cast<int>(svd.components.size()) ? svd.components[static_cast<std::size_t>(g)]
                                                             : std::vector<double>{},
                 lstm.w[g]);
  auto ratio = [&](std::size_t k, double fallback) {
    return k < svd.explained_variance_ratio.size() ? svd.explained_variance_ratio[k] : fallback;
  };
  lstm.b[0] = 0.3 * ratio(0, 0.0);
  lstm.b[1] = 1.0 + ratio(1, 0.1);
  lstm.b[2] = 0.3 * ratio(2, 0.1);
  lstm.b[3] = 0;

  std::vector<double> token_norm;
  for (int t = first; t < T; ++t) {
    double s = 0;
    for (int d = 0; d < D; ++d) s += std::pow(hs.row(in.lead_state, t)[d], 2);
    token_norm.push_back(std::sqrt(s));
  }
  const std::vector<double> tn = norm01(token_norm);
  double h[kHidden] = {}, c[kHidden] = {};
  for (int i = 0; i < kHidden && i < static_cast<int>(tn.size()); ++i)
    h[i] = 0.25 * tn[static_cast<std::size_t>(i)];
  std::vector<std::vector<double>> proj(kHidden, std::vector<double>(static_cast<std::size_t>(SL)));
  for (int j = 0; j < SL; ++j) {
    double n = 0;
    for (int i = 0; i < kHidden; ++i)
      n += std::pow(proj[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)] = gaussian(), 2);
    for (int i = 0; i < kHidden; ++i)
      proj[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)] /= std::sqrt(n) + 1e-12;
  }
  // Token tension on the absolute scale (tension_level), not rescaled within the prompt.
  std::vector<double> rdp(static_cast<std::size_t>(T), 0.5);
  for (int t = 0; t < T && t < static_cast<int>(in.tension.size()); ++t)
    rdp[static_cast<std::size_t>(t)] = tension_level(in.tension[static_cast<std::size_t>(t)]);
  const double temperature = std::clamp(0.6 + 1.5 * level, 0.4, 2.5);
  // Melodies move mostly by step: the chain's probabilities are weighted by
  // exp(-|degree step| / width), the width (in scale degrees) growing with tension.
  const double width = 0.9 + 1.2 * level;
  // The outer two degrees at each end of the range are damped: a chain whose strongest
  // block is the top degree would otherwise park the lead on the range's ceiling.
  std::vector<double> edge(static_cast<std::size_t>(SL), 1.0);
  for (int j = 0; j < SL; ++j)
    edge[static_cast<std::size_t>(j)] = std::min(1.0, (std::min(j, SL - 1 - j) + 1) / 3.0);

  // One degree per token, each drawn from the one before with the token's own pull; the
  // first word's first token opens the melody on the start.
  const int opening = static_cast<int>(std::min<std::size_t>(words.front().tokens.front(), T - 1));
  const auto strongest = static_cast<std::size_t>(std::max_element(v.begin(), v.end()) - v.begin());
  double lean = 0;
  for (int j = 0; j < SL; ++j) lean += j * M[strongest][static_cast<std::size_t>(j)];
  auto walk = [&](int cur, std::mt19937_64 r, double* hs_h, double* hs_c) {
    auto draw = [&] { return static_cast<double>(r() >> 11) * 0x1.0p-53; };
    std::vector<int> degree(static_cast<std::size_t>(T));
    for (int t = 0; t < T; ++t) {
      const int target =
          static_cast<std::size_t>(t) < in.pull.size() && t >= first
              ? static_cast<int>(std::lround(
                    std::clamp(0.5 + in.pull[static_cast<std::size_t>(t)] / 4.0, 0.0, 1.0) * (SL - 1)))
              : -1;
      double x[kHidden] = {};
      const std::vector<double> row = norm01(M[static_cast<std::size_t>(cur)]);
      for (int i = 0; i < kHidden && i < SL; ++i) x[i] = row[static_cast<std::size_t>(i)];
      x[0] = rdp[static_cast<std::size_t>(t)];
      double xh[kHidden], gates[4][kHidden];
      for (int i = 0; i < kHidden; ++i) xh[i] = x[i] + hs_h[i];
      for (int g = 0; g < 4; ++g)
        for (int i = 0; i < kHidden; ++i) {
          double s = lstm.b[g];
          for (int j = 0; j < kHidden; ++j) s += lstm.w[g][i][j] * xh[j];
          gates[g][i] = g == 3 ? std::tanh(s) : sigmoid(s);
        }
      double hn = 0;
      for (int i = 0; i < kHidden; ++i) {
        hs_c[i] = gates[1][i] * hs_c[i] + gates[0][i] * gates[3][i];
        hs_h[i] = gates[2][i] * std::tanh(std::clamp(hs_c[i], -5.0, 5.0));
        hn += hs_h[i] * hs_h[i];
      }
      // The melody opens on the start (and the sink before it, a special token, is not
      // played); every later token's note is drawn with its own pull.
      if (t <= opening) {
        degree[static_cast<std::size_t>(t)] = cur;
        continue;
      }
      const double temp = std::clamp(temperature / (0.4 + 0.7 * std::sqrt(hn)), 0.05, 5.0);
      std::vector<double> lb(static_cast<std::size_t>(SL), 0.0);
      for (int j = 0; j < SL; ++j)
        for (int i = 0; i < kHidden; ++i)
          lb[static_cast<std::size_t>(j)] +=
              proj[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)] * hs_h[i];
      lb = norm01(lb);
      double lbs = 0;
      for (double z : lb) lbs += z;
      std::vector<double> p(static_cast<std::size_t>(SL));
      double top = -1e300;
      for (int j = 0; j < SL; ++j) {
        const double q = 0.7 * M[static_cast<std::size_t>(cur)][static_cast<std::size_t>(j)] +
                         0.3 * lb[static_cast<std::size_t>(j)] / (lbs + 1e-9);
        p[static_cast<std::size_t>(j)] = std::log(q + 1e-12) / temp;
        top = std::max(top, p[static_cast<std::size_t>(j)]);
      }
      double z = 0;
      for (int j = 0; j < SL; ++j) {
        double& q = p[static_cast<std::size_t>(j)];
        z += (q = std::exp(q - top) * (j == cur ? 0.3 : std::exp(-std::abs(j - cur) / width)) *
                  (target < 0 ? 1.0 : std::exp(-std::abs(j - target) / (0.25 * SL))) *
                  edge[static_cast<std::size_t>(j)]);
      }
      double u = draw() * z;
      int next = SL - 1;
      for (int j = 0; j < SL; ++j) {
        u -= p[static_cast<std::size_t>(j)];
        if (u < 0) {
          next = j;
          break;
        }
      }
      degree[static_cast<std::size_t>(t)] = cur = next;
    }
    return degree;
  };
  // The start is a fixed point: the tonic-chord tone nearest the median of the walk that
  // starts on it (where the melody settles depends a little on where it starts, and a
  // start outside its register is heard as a leap into it). The walk from the chain's
  // lean is the first trial; a few refinements settle it.
  auto walk_from = [&](int start) {
    double hh[kHidden], cc[kHidden];
    std::copy(h, h + kHidden, hh);
    std::copy(c, c + kHidden, cc);
    return walk(start, rng, hh, cc);
  };
  int cur = scale.nearest_index(scale.at(static_cast<int>(std::lround(lean))));
  std::vector<int> degree = walk_from(cur);
  for (int pass = 0; pass < 4; ++pass) {
    std::vector<int> played(degree.begin() + first, degree.end());
    std::nth_element(played.begin(), played.begin() + static_cast<std::ptrdiff_t>(played.size() / 2),
                     played.end());
    const int settled = scale.nearest_index(tonic_chord_tone(scale, scale.at(played[played.size() / 2])));
    if (settled == cur) break;
    cur = settled;
    degree = walk_from(cur);
  }

  ActivationTrack out;
  Score& score = out.score;
  score.title = options.title;
  score.set_tempo(0, options.bpm);
  score.time_signatures.push_back({0, 4, 4});
  score.key_signatures.push_back(key_signature_for_mode(options.root_midi % 12, options.mode));
  // The instruments follow the tension's mood (the middle one without a direction).
  const Palette palette = palette_for_level(level);
  const std::string palette_source =
      "; tension level " + std::to_string(level).substr(0, 4) + ": the '" + palette.name + "' palette";
  const int lead = score.add_track("lead", palette.lead);
  const int celesta = score.add_track("celesta", palette.sparkle);
  const int organ = score.add_track("organ", palette.chords);
  // The organ pulses with the prompt's tension: held, every beat, or every half beat.
  const int organ_pulse_beats2 = level < 0.5 ? 0 : level < 0.75 ? 2 : 1;  // in half beats, 0: held
  out.sources = {
      {"lead", palette.lead, in.lead_state, in.attention_layer,
       std::string(in.pull.empty() ? "" : "PC1 of the token (position-centred) pulls the degree; ") +
           "block norms -> Markov chain, SVD -> LSTM, steps weighted exp(-|step|/" +
           std::to_string(width).substr(0, 4) + " degrees): pitch; attention entropy: length" +
           (in.tension.empty() ? "" : "; token tension: velocity") + palette_source},
      {"celesta", palette.sparkle, -1, in.mlp_layer,
       "MLP sparsity > 0.12: a celesta note a third above the lead, one or two octaves up; louder when "
       "sparser" +
           palette_source},
      {"organ", palette.chords, -1, -1,
       std::string("the lead's pitches per word -> the triad (I, V, IV, vi) holding most of them, "
                   "voice-led a whole tone or more under the word's lowest lead note") +
           (options.tension ? "; contrast tension: loudness and pulse (" +
                                  std::string(organ_pulse_beats2 == 0   ? "held"
                                              : organ_pulse_beats2 == 2 ? "every beat"
                                                                        : "every half beat") +
                                  ")"
                            : "") +
           palette_source}};
  const Scale high(options.root_midi, options.mode, 72, 108);
  // The organ voices its triads in 45-69, lower (down to 33) when the lead goes low:
  // always a whole tone or more under the word's lowest lead note, so the two never cross.
  const Scale low(options.root_midi, options.mode, 33, 69);
  auto chord_pcs = [&](int root_degree) {
    std::vector<int> pcs;
    for (int k = 0; k < 3; ++k)
      pcs.push_back(((mode_degree_pitch(options.root_midi, options.mode, root_degree + 2 * k) % 12) + 12) %
                    12);
    return pcs;
  };
  std::vector<int> voicing = {low.snap(50), low.snap(55), low.snap(60)};
  auto voice_chord = [&](int root_degree, int lead_lowest) {
    const std::vector<int> pcs = chord_pcs(root_degree);
    const int ceiling = lead_lowest - 2, floor = std::min(45, ceiling - 12);
    for (int k = 0; k < 3; ++k) {
      int best = voicing[static_cast<std::size_t>(k)], dist = 1 << 20;
      for (int p : low.pitches())
        if (p % 12 == pcs[static_cast<std::size_t>(k)] && p >= floor && p <= ceiling &&
            std::abs(p - voicing[static_cast<std::size_t>(k)]) < dist) {
          dist = std::abs(p - voicing[static_cast<std::size_t>(k)]);
          best = p;
        }
      voicing[static_cast<std::size_t>(k)] = best;
    }
  };
  int chord = 0;
  int last_pitch = scale.at(cur), last_velocity = 70;
  // Natural layout: one lead note per token, longer where attention is focused; a
  // sentence closes with a breath of a beat. Sentences then become 2-16 bar phrases.
  auto natural_beats = [&](std::size_t t) {
    const double ent = t < in.attention_entropy.size() ? in.attention_entropy[t] : 0.5;
    return 0.25 + 0.75 * (1.0 - ent);  // focused attention: longer
  };
  // Given word beats (a MIDI prompt's moments) are shared among the word's tokens in
  // proportion to their natural lengths and laid out unstretched.
  const bool given = !options.word_beats.empty();
  if (given && options.word_beats.size() != words.size())
    return fail(options.word_beats.size(), " word lengths for ", words.size(), " words");
  std::vector<double> word_offset, word_scale;
  std::vector<std::size_t> sentence_of;
  phrases::Map phrase;
  double offset = 0;
  for (std::size_t i = 0; i < words.size(); ++i) {
    word_offset.push_back(offset);
    sentence_of.push_back(phrase.size());
    double natural = 0;
    for (std::size_t t : words[i].tokens) natural += natural_beats(t);
    if (given && !(options.word_beats[i] > 0 && options.word_beats[i] <= 1024))
      return fail("a word length of ", options.word_beats[i], " beats is outside (0, 1024]");
    word_scale.push_back(given ? options.word_beats[i] / natural : 1.0);
    offset += natural * word_scale.back();
    if (given) {
      if (i + 1 == words.size()) phrase.add_exact(offset);
    } else if (phrases::ends_sentence(words[i].text) || i + 1 == words.size()) {
      phrase.add(offset + 1.0);
      offset = 0;
    }
  }
  for (std::size_t i = 0; i < words.size(); ++i) {
    const WordSpan& w = words[i];
    const std::size_t sentence = sentence_of[i];
    WordTiming timing;
    timing.text = w.text;
    timing.bytes = w.bytes;
    const std::int64_t start = score.ticks(phrase.at(sentence, word_offset[i]));
    std::int64_t end = start;
    double word_tension = 0;
    std::vector<int> pitches;
    double at = word_offset[i];
    for (std::size_t t : w.tokens) {
      timing.token_ids.push_back(token_ids.at(t));
      const std::int64_t cursor = score.ticks(phrase.at(sentence, at));
      at += natural_beats(t) * word_scale[i];
      const std::int64_t len = score.ticks(phrase.at(sentence, at)) - cursor;
      const int pitch = scale.at(degree[t]);
      const int vel = static_cast<int>(
          std::lround(in.tension.empty() ? 72.0 : std::clamp(40 + 60 * rdp[t], 25.0, 110.0)));
      score.tracks[static_cast<std::size_t>(lead)].note(cursor, std::max<std::int64_t>(1, len * 92 / 100),
                                                        pitch, vel);
      timing.pitches.push_back(pitch);
      pitches.push_back(pitch);
      last_pitch = pitch;
      last_velocity = vel;
      const double sp = t < in.mlp_sparsity.size() ? in.mlp_sparsity[t] : 0;
      if (sp > 0.12)
        score.tracks[static_cast<std::size_t>(celesta)].note(
            cursor, score.ticks(0.5), high.step(high.snap(pitch + 12 * std::max(1, (83 - pitch) / 12)), 2),
            static_cast<int>(std::lround(std::clamp(20 + 80 * sp, 25.0, 80.0))));
      end = std::max(end, cursor + std::max<std::int64_t>(1, len * 92 / 100));
      word_tension += rdp[t] / static_cast<double>(w.tokens.size());
    }
    // The organ holds until the next word, or through the breath to the next phrase.
    const bool closes = i + 1 == words.size() || sentence_of[i + 1] != sentence;
    const std::int64_t until = closes ? score.ticks(phrase.at(sentence, 0) + 4.0 * phrase.bars(sentence))
                                      : score.ticks(phrase.at(sentence, word_offset[i + 1]));
    // The triad holding most of the word's lead pitches; ties keep the chord.
    int best = -1;
    for (int candidate : {chord, 0, 4, 3, 5}) {
      const std::vector<int> pcs = chord_pcs(candidate);
      int hits = 0;
      for (int p : pitches) hits += std::count(pcs.begin(), pcs.end(), p % 12) > 0;
      if (best < 0 || hits > best) {
        best = hits;
        chord = candidate;
      }
    }
    voice_chord(chord, pitches.empty() ? last_pitch : *std::min_element(pitches.begin(), pitches.end()));
    const int organ_velocity = static_cast<int>(
        std::lround(in.tension.empty() ? 56.0 : std::clamp(30 + 50 * word_tension, 25.0, 100.0)));
    const std::int64_t span = until - start;
    const std::int64_t step = organ_pulse_beats2 == 0 ? span : score.ticks(0.5 * organ_pulse_beats2);
    for (std::int64_t t0 = start; t0 < start + span; t0 += step) {
      const std::int64_t len = std::min(step, start + span - t0);
      for (int p : voicing)
        score.tracks[static_cast<std::size_t>(organ)].note(
            t0, std::max<std::int64_t>(1, organ_pulse_beats2 ? len * 7 / 8 : len), p, organ_velocity);
    }
    score.mark(start, w.text);
    timing.start_seconds = score.seconds_at(start);
    timing.end_seconds = score.seconds_at(end);
    out.words.push_back(std::move(timing));
  }
  const std::int64_t cursor = score.ticks(phrase.total());
  // The cadence: the lead to the nearest tonic-chord tone, the organ to the tonic triad.
  const std::int64_t tail = score.ticks(3);
  const int final_pitch = tonic_chord_tone(scale, last_pitch);
  score.tracks[static_cast<std::size_t>(lead)].note(cursor, tail, final_pitch,
                                                    std::max(30, last_velocity * 2 / 3));
  voice_chord(0, final_pitch);
  for (int p : voicing) score.tracks[static_cast<std::size_t>(organ)].note(cursor, tail, p, 40);
  const int bass = *std::min_element(voicing.begin(), voicing.end());
  score.tracks[static_cast<std::size_t>(organ)].note(
      cursor, tail,
      bass - ((bass - options.root_midi) % 12 + 12) % 12 - (bass % 12 == options.root_midi % 12 ? 12 : 0),
      40);
  out.tail_start_seconds = score.seconds_at(cursor);
  if (score.tracks[static_cast<std::size_t>(celesta)].notes.empty()) {
    score.tracks.erase(score.tracks.begin() + celesta);
    out.sources.erase(out.sources.begin() + 1);
  }
  SONIFY_TRY(score_validate(score));
  return out;
}

}  // namespace sonify
