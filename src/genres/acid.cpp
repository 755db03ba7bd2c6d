// acid: a TB-303 track in 4-bar phrases (SPEC-notebooks §5, recomposed for issue 13).
// Each layer gets a section; its motif comes from down_proj's row norms, and every phrase
// of the section mutates it (transposition, rhythmic displacement, ornament, rest) as the
// layer's up/gate row norms say, so the line evolves instead of looping. Rests and ties,
// accents and slides are on every layer, in amounts set by the layer's statistics on
// anchored scales blended with its rank among the layers. The filter (CC74) follows the
// gate/up std, the resonance (CC71) the v_proj kurtosis; trained-ness moves the bass line
// through the scale's degrees from phrase to phrase (a random model stays on the root).
// The length follows the depth: about 1 minute for 2 layers to 4 minutes for 48.
#include <algorithm>
#include <array>
#include <cmath>

#include "genre_util.h"

namespace sonify::genres {
namespace {

constexpr int kSteps = 16;

struct Bar {
  std::array<int, kSteps> pitch{};
  std::array<bool, kSteps> on{};   // a note starts here
  std::array<int, kSteps> hold{};  // extra steps the note is held (ties)
  std::array<bool, kSteps> accent{};
  std::array<bool, kSteps> slide{};  // glide into the next note
  bool operator==(const Bar& o) const {
    return pitch == o.pitch && on == o.on && hold == o.hold && accent == o.accent && slide == o.slide;
  }
};

int lerp_cc(double lo, double hi, double t) {
  return round_int(lo + (hi - lo) * std::clamp(t, 0.0, 1.0), std::min(lo, hi), std::max(lo, hi));
}

std::size_t at(int i) { return static_cast<std::size_t>(i); }

// Recomputes holds: a note is held over the steps up to the next onset that `tie` marks.
void retie(Bar& b, const std::array<bool, kSteps>& tie) {
  for (int s = 0; s < kSteps; ++s) {
    b.hold[at(s)] = 0;
    if (!b.on[at(s)]) continue;
    for (int t = s + 1; t < kSteps && !b.on[at(t)] && tie[at(t)]; ++t) ++b.hold[at(s)];
  }
}

// The four mutations of a bar; `x` in [0, 1] picks how far each goes.
Bar mutate(const Bar& in, int kind, double x, const Scale& scale, const std::array<bool, kSteps>& tie) {
  Bar b = in;
  switch (kind) {
    case 0: {  // transposition of the second half by one or two scale steps, up or down
      // A note that would pass an end of the scale turns back instead: phrases develop
      // from each other, and clamped transpositions piled the line onto the top note.
      const int by = x < 0.5 ? (x < 0.25 ? -2 : -1) : (x < 0.75 ? 1 : 2);
      for (int s = 8; s < kSteps; ++s)
        if (b.on[at(s)]) {
          const int idx = scale.nearest_index(b.pitch[at(s)]);
          const int to = idx + by >= 0 && idx + by < scale.size() ? idx + by : idx - by;
          b.pitch[at(s)] = scale.at(to);
        }
      break;
    }
    case 1: {  // rhythmic displacement: the second half shifts by 1..3 sixteenths
      const int by = 1 + trunc_int(x * 2.999, 0, 2);
      Bar r = b;
      for (int s = 8; s < kSteps; ++s) {
        const int from = 8 + (s - 8 - by + 8) % 8;
        r.pitch[at(s)] = b.pitch[at(from)];
        r.on[at(s)] = b.on[at(from)];
        r.accent[at(s)] = b.accent[at(from)];
        r.slide[at(s)] = b.slide[at(from)];
      }
      b = r;
      break;
    }
    case 2: {  // ornament: the first resting step after `x` gets a neighbour note
      const int from = trunc_int(x * (kSteps - 1), 0, kSteps - 1);
      for (int k = 0; k < kSteps; ++k) {
        const int s = (from + k) % kSteps;
        if (!b.on[at(s)] && s > 0) {
          int prev = s - 1;
          while (prev > 0 && !b.on[at(prev)]) --prev;
          b.on[at(s)] = true;
          b.pitch[at(s)] = scale.step(b.pitch[at(prev)], x < 0.5 ? 1 : -1);
          b.accent[at(s)] = false;
          b.slide[at(s)] = false;
          break;
        }
      }
      break;
    }
    default: {  // rest: the note after `x` (never the downbeat) drops out
      const int from = 1 + trunc_int(x * (kSteps - 2), 0, kSteps - 2);
      for (int k = 0; k < kSteps - 1; ++k) {
        const int s = 1 + (from - 1 + k) % (kSteps - 1);
        if (b.on[at(s)]) {
          b.on[at(s)] = false;
          b.slide[at(s)] = false;
          if (s > 0) b.slide[at(s - 1)] = false;
          break;
        }
      }
      break;
    }
  }
  retie(b, tie);
  // A mutation that changed nothing (e.g. a transposition clamped at the scale's end)
  // would repeat the bar verbatim: move the last note instead.
  if (b == in)
    for (int s = kSteps - 1; s >= 0; --s)
      if (b.on[at(s)]) {
        const int moved = scale.step(b.pitch[at(s)], b.pitch[at(s)] == scale.at(0) ? 1 : -1);
        b.pitch[at(s)] = moved != b.pitch[at(s)] ? moved : scale.step(moved, 2);
        break;
      }
  return b;
}

Result<GenreOutput> compose_acid(const WeightFeatures& f, const GenreParams& p) {
  const int L = f.n_layers;
  if (L <= 0) return fail("acid: the model has no layers");
  SONIFY_ASSIGN_OR_RETURN(key, resolve_key(f, p));
  const int lo = p.integer("pitch_lo"), hi = p.integer("pitch_hi");
  // The pattern lives in [lo, hi - 12]; the 303 octave jumps reach up to hi.
  const Scale scale(key.root_pc, key.mode, lo, std::max(lo + 12, hi - 12));
  const Scale full(key.root_pc, key.mode, lo, hi);
  if (scale.size() < 3)
    return fail("acid: the pitch range ", lo, "..", hi, " holds fewer than 3 scale notes");
  const int phrase_bars = p.integer("phrase_bars");

  // Length: intro and outro of 4 bars around a body that grows with log depth from
  // min_bars (2 layers, about a minute) to 128 bars (48 layers, about 4 minutes).
  int bars = p.integer("bars"), intro = 4, outro = 4, body = 0;
  if (bars > 0) {
    intro = outro = bars >= 16 ? 4 : 0;
    body = bars - intro - outro;
  } else {
    const double depth = std::clamp(std::log(std::max(L, 2) / 2.0) / std::log(24.0), 0.0, 1.0);
    body = std::max(p.integer("min_bars"), 4 * round_int((32 + 96 * depth) / 4, 8, 32));
    bars = intro + body + outro;
  }
  // Phrases of the body, each owned by one layer (layers share out the body in order).
  const int phrases = std::max(1, (body + phrase_bars - 1) / phrase_bars);
  auto layer_of_phrase = [&](int ph) {
    return std::min(L - 1, static_cast<int>((static_cast<std::int64_t>(ph) * 2 + 1) * L / (2 * phrases)));
  };

  GenreOutput out;
  Score& s = out.score;
  s.title = "acid";
  s.set_tempo(0, p.number("bpm"));
  s.time_signatures.push_back({0, 4, 4});
  const int bass = s.add_track("Acid Bass", p.integer("program"));
  const int drums = s.add_drum_track("Drums");

  // Per-layer statistics: rows for the motif, absolute + relative levels for the amounts.
  const std::size_t nl = at(L);
  std::vector<std::vector<double>> pitch_rows(nl), accent_rows(nl), mutate_rows(nl);
  std::vector<std::string> down_t, v_t, up_t;
  for (int l = 0; l < L; ++l) {
    auto rows = [&](const char* role, const char* alt, std::vector<std::string>& names) {
      const MatrixFeatures* m = f.matrix(l, role);
      if (m == nullptr && alt) m = f.matrix(l, alt);
      if (m == nullptr) return std::vector<double>(kSteps, 0.5);
      names.push_back(m->tensor);
      return robust01(strided(m->row_norms, kSteps));
    };
    pitch_rows[at(l)] = rows("down", nullptr, down_t);
    accent_rows[at(l)] = rows("v", nullptr, v_t);
    mutate_rows[at(l)] = rows("gate", "up", up_t);
  }
  std::vector<double> delta(nl, 0.0);
  for (int l = 0; l < L; ++l) {
    double sum = 0;
    int n = 0;
    for (const auto& t : f.transitions)  // the change into and out of the layer
      if (t.to_layer == l || t.from_layer == l) sum += t.spectral_delta, ++n;
    delta[at(l)] = n ? sum / n : 0.0;
  }
  std::vector<double> delta_abs(nl);
  for (int l = 0; l < L; ++l) delta_abs[at(l)] = anchor_log01(delta[at(l)], 0.02, 1.0);
  const std::vector<double> slide_n = blend(delta_abs, delta);
  const LayerSeries cutoff = layer_series(f, {"gate", "up"}, [](const MatrixFeatures& m) {
    return m.moments.std * std::sqrt(static_cast<double>(std::max<std::int64_t>(m.cols, 1)));
  });
  const LayerSeries reso = layer_series(f, {"v"}, [](const MatrixFeatures& m) { return m.moments.kurtosis; });
  const LayerSeries sparse =
      layer_series(f, {"down"}, [](const MatrixFeatures& m) { return m.moments.kurtosis; });
  std::vector<double> cut_abs(nl), res_abs(nl), rest_abs(nl), ten_abs(nl);
  for (int l = 0; l < L; ++l) {
    cut_abs[at(l)] = anchor_log01(cutoff.values[at(l)], 0.1, 3.0);
    res_abs[at(l)] = kurtosis_anchor(reso.values[at(l)]);
    rest_abs[at(l)] = kurtosis_anchor(sparse.values[at(l)]);
    ten_abs[at(l)] = f.tension.empty() ? 0.5 : anchor_log01(f.tension[at(l)], 0.25, 4.0);
  }
  const std::vector<double> cut_n = blend(cut_abs, cutoff.values), res_n = blend(res_abs, reso.values);
  const std::vector<double> rest_n = blend(rest_abs, sparse.values);
  const std::vector<double> ten_n =
      blend(ten_abs, f.tension.empty() ? std::vector<double>(nl, 0.5) : f.tension);
  const double trained = f.trainedness;

  // Each layer's motif: pitches from down rows, the lowest rows rest or tie (20-45 % of
  // the steps by the layer's down kurtosis), accents on the v rows' peaks, slides on the
  // smallest moves (more where the layer's spectrum changes most).
  const double accent_t = p.number("accent_threshold");
  const int max_slides = p.integer("max_slides");
  std::vector<Bar> motif(nl);
  std::vector<std::array<bool, kSteps>> ties(nl);
  for (int l = 0; l < L; ++l) {
    Bar& b = motif[at(l)];
    const auto& r = pitch_rows[at(l)];
    const auto& v = accent_rows[at(l)];
    for (int st = 0; st < kSteps; ++st) {
      int pitch = scale.at_fraction(r[at(st)]);
      if ((st == 3 || st == 7 || st == 14) && r[at(st)] > 0.5 && full.contains(pitch + 12))
        pitch += 12;  // the 303 octave jump
      b.pitch[at(st)] = pitch;
      b.on[at(st)] = true;
    }
    const int quiet = std::min(
        kSteps - 4, round_int(kSteps * (0.20 + p.number("rest_threshold") * rest_n[at(l)]), 0, kSteps));
    std::vector<std::pair<double, int>> order;  // (row level, step), step 0 always plays
    for (int st = 1; st < kSteps; ++st) order.emplace_back(r[at(st)] + (st % 4 == 0 ? 0.3 : 0.0), st);
    std::stable_sort(order.begin(), order.end());
    ties[at(l)].fill(false);
    for (int i = 0; i < quiet && i < static_cast<int>(order.size()); ++i) {
      const int st = order[at(i)].second;
      b.on[at(st)] = false;
      // Ties where the accent rows are high (the note rings on), rests where they are low.
      ties[at(l)][at(st)] = v[at(st)] > 0.5;
    }
    retie(b, ties[at(l)]);
    std::vector<std::pair<double, int>> acc;
    for (int st = 0; st < kSteps; ++st)
      if (b.on[at(st)]) acc.emplace_back(-v[at(st)], st);
    std::stable_sort(acc.begin(), acc.end());
    for (std::size_t i = 0; i < acc.size(); ++i)
      if (i < 2 || (-acc[i].first >= accent_t && i < 6)) b.accent[at(acc[i].second)] = true;
    const int want = 1 + round_int(slide_n[at(l)] * std::max(0, max_slides - 1), 0, kSteps);
    std::vector<std::pair<int, int>> cand;  // (|interval|, step)
    for (int st = 0; st + 1 < kSteps; ++st) {
      if (!b.on[at(st)] || b.hold[at(st)] > 0) continue;
      int nx = st + 1;
      while (nx < kSteps && !b.on[at(nx)]) ++nx;
      if (nx == st + 1 && b.pitch[at(st)] != b.pitch[at(nx)])
        cand.emplace_back(std::abs(b.pitch[at(nx)] - b.pitch[at(st)]), st);
    }
    std::stable_sort(cand.begin(), cand.end());
    for (int i = 0; i < want && i < static_cast<int>(cand.size()); ++i)
      b.slide[at(cand[at(i)].second)] = true;
  }

  // Phrase transpositions (scale steps): a trained model walks i - iv - v - vi,
  // a random one stays near the root. A note the walk would push over the top of the
  // scale folds down an octave instead of stopping there: clamped, sonify-tiny's line
  // returned to the scale's top note on 34-40 % of its notes in every layer.
  const int kWalk[4] = {0, 3, 4, 5};
  int per_octave = 0;
  while (per_octave < scale.size() && scale.at(per_octave) < scale.at(0) + 12) ++per_octave;
  auto transpose = [&](const Bar& b, int steps) {
    Bar t = b;
    for (int st = 0; st < kSteps; ++st)
      if (t.on[at(st)]) {
        int idx = scale.nearest_index(t.pitch[at(st)]) + steps;
        while (idx > scale.size() - 1 && idx - per_octave >= 0) idx -= per_octave;
        t.pitch[at(st)] = scale.at(idx);
      }
    return t;
  };

  // Build every bar of the bass.
  std::vector<Bar> score_bars(at(bars));
  std::vector<int> bar_layer(at(bars), 0);
  std::vector<bool> bar_plays(at(bars), true);
  int prev_layer = -1, phrase_in_layer = 0;
  Bar current;
  for (int ph = 0; ph < phrases; ++ph) {
    const int l = layer_of_phrase(ph);
    const auto& u = mutate_rows[at(l)];
    if (l != prev_layer) {
      current = motif[at(l)];
      phrase_in_layer = 0;
      prev_layer = l;
    } else {
      // The phrase develops from the previous one: its next mutation, driven by the
      // next of the layer's up/gate rows.
      const double x = u[at((phrase_in_layer * 5 + 3) % kSteps)];
      current = mutate(current, trunc_int(x * 3.999, 0, 3), u[at((phrase_in_layer * 7 + 1) % kSteps)], scale,
                       ties[at(l)]);
      ++phrase_in_layer;
    }
    const int walk = round_int(trained * kWalk[ph % 4], -kMaxScaleDegree, kMaxScaleDegree);
    const Bar base = transpose(current, walk);
    for (int k = 0; k < phrase_bars; ++k) {
      const int b = intro + ph * phrase_bars + k;
      if (b >= intro + body) break;
      const double x = u[at((ph * 3 + k * 5) % kSteps)];
      Bar bar = base;
      if (k % 2 == 1)
        bar = mutate(base, (trunc_int(x * 3.999, 0, 3) + k / 2) % 4, u[at((ph + k * 3 + 2) % kSteps)], scale,
                     ties[at(l)]);
      score_bars[at(b)] = bar;
      bar_layer[at(b)] = l;
    }
  }
  // Intro: drums, then the first motif with the filter shut; outro: the last motif
  // thins out bar by bar and ends on the root.
  for (int b = 0; b < intro; ++b) {
    score_bars[at(b)] = motif[0];
    bar_plays[at(b)] = b >= intro / 2;
    bar_layer[at(b)] = 0;
  }
  for (int k = 0; k < outro; ++k) {
    const int b = intro + body + k;
    Bar bar = motif[at(L - 1)];
    const auto& u = mutate_rows[at(L - 1)];
    for (int j = 0; j <= k; ++j) bar = mutate(bar, 3, u[at((j * 5 + 2) % kSteps)], scale, ties[at(L - 1)]);
    if (k == outro - 1) {
      for (int st = 1; st < kSteps; ++st) bar.on[at(st)] = false;
      bar.pitch[0] = scale.snap(key.root_midi >= lo ? key.root_midi : key.root_midi + 12);
      bar.slide.fill(false);
      bar.hold[0] = 7;
    }
    score_bars[at(b)] = bar;
    bar_layer[at(b)] = L - 1;
  }

  // Sections: intro, one per run of phrases of a layer, outro.
  if (intro > 0) add_section(out, "intro", 0, intro, key.root_pc, key.mode);
  for (int b = intro; b < intro + body;) {
    int e = b;
    while (e < intro + body && bar_layer[at(e)] == bar_layer[at(b)]) ++e;
    add_section(out, "layer " + std::to_string(bar_layer[at(b)]), b, e, key.root_pc, key.mode);
    b = e;
  }
  if (outro > 0) add_section(out, "outro", intro + body, bars, key.root_pc, key.mode);

  const std::int64_t step = s.ticks(0.25);
  const double clo = p.number("cutoff_lo"), chi = p.number("cutoff_hi");
  const double rlo = p.number("resonance_lo"), rhi = p.number("resonance_hi");
  Track& tb = s.tracks[at(bass)];
  tb.control(0, cc::kPortamento, 127);  // glides happen only where notes overlap (legato)
  tb.control(0, cc::kReverbSend, 30);
  tb.control(0, cc::kVolume, 118);
  Track& dr = s.tracks[at(drums)];
  dr.control(0, cc::kVolume, 92);
  const std::int64_t dlen = s.ticks(0.1);
  int cur_layer = -1, layer_first = 0;
  for (int b = 0; b < bars; ++b) {
    const int l = bar_layer[at(b)];
    const std::size_t li = at(l);
    if (l != cur_layer || b == intro || b == intro + body) {
      layer_first = b;
      tb.control(bar_tick(s, b), cc::kPortamentoTime, 10 + round_int(50 * slide_n[li], 0, 50));
      cur_layer = l;
    }
    int layer_end = b + 1;
    while (layer_end < bars && bar_layer[at(layer_end)] == l && layer_end != intro + body) ++layer_end;
    const bool in_intro = b < intro, in_outro = b >= intro + body;
    const double prog = L > 1 ? static_cast<double>(l) / (L - 1) : 1.0;
    const std::int64_t t0 = bar_tick(s, b);
    const Bar& bar = score_bars[at(b)];
    if (bar_plays[at(b)]) {
      for (int st = 0; st < kSteps; ++st) {
        if (!bar.on[at(st)]) continue;
        double vel = (bar.accent[at(st)] ? 112 : 76) * (0.85 + 0.15 * prog);
        if (in_outro) vel *= 1.0 - 0.12 * (b - intro - body);
        std::int64_t len =
            bar.slide[at(st)] ? step + step / 2 : (bar.accent[at(st)] ? step * 7 / 10 : step / 2);
        if (bar.hold[at(st)] > 0) len = step * (bar.hold[at(st)] + 1) - step / 8;
        tb.note(t0 + st * step, len, bar.pitch[at(st)], round_int(vel, 1, 127));
      }
    }
    // Filter: the layer's level (gate/up std -> cutoff, v kurtosis -> resonance), glided
    // from the previous layer's and opening over each phrase; shut in the intro, closing
    // in the outro.
    const std::size_t pl = l > 0 ? li - 1 : li;
    const int layer_bars = std::max(1, layer_end - layer_first);
    const int in_phrase = (b - intro) % phrase_bars;
    for (int e = 0; e < 8; ++e) {
      const double t = (b - layer_first + e / 8.0) / layer_bars;
      const double c = cut_n[pl] + (cut_n[li] - cut_n[pl]) * t;
      const double r = res_n[pl] + (res_n[li] - res_n[pl]) * t;
      double open = 0.10 + 0.60 * c + 0.25 * (in_phrase + e / 8.0) / phrase_bars;
      if (in_intro) open = 0.05 + 0.25 * (b + e / 8.0) / std::max(1, intro);
      if (in_outro) open *= 1.0 - 0.8 * (b - intro - body + e / 8.0) / std::max(1, outro);
      tb.control(t0 + e * 2 * step, cc::kCutoff, lerp_cc(clo, chi, open));
      if (e % 2 == 0) tb.control(t0 + e * 2 * step, cc::kResonance, lerp_cc(rlo, rhi, r));
    }
    // Drums: four on the floor; hats on the layer's gate/up rows, as dense as its
    // tension; claps from a tension of 0.35; a fill closes every phrase.
    const double tn = ten_n[li];
    const auto& u = mutate_rows[li];
    const bool last_of_phrase = in_phrase == phrase_bars - 1;
    const bool kick_on = !(in_intro && b == 0 && intro > 1) && !(in_outro && b == bars - 1);
    for (int beat = 0; beat < 4; ++beat) {
      const std::int64_t bt = t0 + s.ticks(beat);
      if (kick_on || beat == 0) dr.note(bt, dlen, drum::kKick, beat == 0 ? 118 : 108);
      if (tn > 0.35 && beat % 2 == 1 && !in_intro && !(last_of_phrase && beat == 3))
        dr.note(bt, dlen, drum::kClap, 96);
    }
    for (int st = 0; st < kSteps; ++st) {
      const std::int64_t t = t0 + st * step;
      if (st % 4 == 2) {
        const bool open = tn > 0.55 && (st == 6 || st == 14) && !in_intro;
        dr.note(t, dlen, open ? drum::kOpenHat : drum::kClosedHat, round_int(62 + 36 * tn, 1, 127));
      } else if (st % 4 != 0 && u[at((st + b) % kSteps)] > 1.0 - 0.8 * tn && !in_intro) {
        dr.note(t, dlen, drum::kClosedHat, round_int(36 + 30 * u[at(st)], 1, 127));
      }
    }
    if (last_of_phrase && !in_outro) {
      const int hits = 2 + round_int(4 * tn, 0, 4);  // snare run into the next phrase
      for (int i = 0; i < hits; ++i)
        dr.note(t0 + (kSteps - hits + i) * step, dlen, drum::kSnare, 70 + 40 * (i + 1) / hits);
    }
    if (b == intro || (b > intro && b < intro + body && bar_layer[at(b - 1)] != l))
      dr.note(t0, dlen, drum::kCrash, 100);
  }
  for (auto& t : s.tracks) fix_overlaps(t);

  const std::string tr = stat_text("trainedness", trained);
  out.provenance.push_back(
      {"track Acid Bass: motif pitches",
       down_t,
       {"down.row_norms: 16 strided rows, robust01 (median/MAD, tanh) -> scale position"}});
  out.provenance.push_back({"track Acid Bass: rests and ties (20-45 % of steps)",
                            down_t,
                            {"down.moments.kurtosis per layer: blend(log anchor /log1p(30), rank) -> rest "
                             "count; 0.20 + rest_threshold x that of the steps; the lowest rows rest, those "
                             "with v rows > 0.5 tie"}});
  out.provenance.push_back(
      {"track Acid Bass: accents",
       v_t,
       {"v.row_norms: 16 strided rows, robust01: the 2 highest and up to 6 >= accent_threshold"}});
  out.provenance.push_back({"track Acid Bass: phrase mutations",
                            up_t,
                            {"gate (GPT-2: up) row_norms, robust01: which mutation (transpose, displace, "
                             "ornament, rest) and how far, per phrase and per even bar"}});
  out.provenance.push_back({"track Acid Bass: phrase transpositions",
                            {},
                            {tr + " -> round(trainedness x [0 3 4 5]) scale steps per phrase"}});
  {
    std::vector<std::string> all;
    for (const auto& t : f.transitions)
      all.push_back(t.role + " " + std::to_string(t.from_layer) + "->" + std::to_string(t.to_layer));
    out.provenance.push_back({"track Acid Bass: slides + portamento time (CC65/CC5)",
                              all,
                              {"transitions[].spectral_delta into and out of each layer: blend(log anchor "
                               "0.02..1, rank) -> 1..max_slides slides"}});
  }
  out.provenance.push_back(
      {"track Acid Bass: cutoff CC74",
       cutoff.tensors,
       {cutoff.role + ".moments.std x sqrt(cols) per layer: blend(log anchor 0.1..3, rank)" +
        std::string(cutoff.role == "up" ? " (this family has no gate: up/c_fc instead)" : "")}});
  out.provenance.push_back({"track Acid Bass: resonance CC71",
                            reso.tensors,
                            {"v.moments.kurtosis per layer: blend(kurtosis anchor, rank)"}});
  out.provenance.push_back({"track Drums: hats, claps, fills",
                            up_t,
                            {"tension per layer: blend(log anchor 0.25..4, rank) -> hat density, claps (> "
                             "0.35), open hats (> 0.55), fill length; gate/up rows -> which 16ths"}});
  out.provenance.push_back({"form: length",
                            {},
                            {stat_text("n_layers", L) +
                             " -> body = max(min_bars, 32 + 96 log(L/2)/log 24) bars + 4 intro + 4 outro"}});
  for (const auto& sec : out.sections)
    out.provenance.push_back(
        {"section " + sec.name,
         {},
         {sec.name.rfind("layer", 0) == 0 ? "phrases of this layer" : "intro/outro around the layers"}});
  warn_length(out, p);
  return out;
}

}  // namespace

Genre acid_genre() {
  Genre g;
  g.name = "acid";
  g.summary =
      "138 BPM TB-303 acid: an evolving phrase per layer, rests/ties, accents, slides, filter and resonance "
      "automation";
  g.params = common_params(138, "auto", 36, 67);
  for (auto& ps : g.params)
    if (ps.name == "pitch_hi")
      ps.meaning = "highest MIDI pitch of the bass: patterns stay an octave below, octave jumps reach it";
  g.params.push_back(
      {"phrase_bars", ParamType::Int, "4", 1, 64, {}, "bars of a phrase (each layer plays whole phrases)"});
  g.params.push_back({"min_bars",
                      ParamType::Int,
                      "32",
                      1,
                      4096,
                      {},
                      "at least this many bars between intro and outro (when bars=0)"});
  g.params.push_back({"program",
                      ParamType::Int,
                      "38",
                      0,
                      127,
                      {},
                      "GM program of the bass (38 Synth Bass 1, 39 Synth Bass 2)"});
  g.params.push_back({"accent_threshold",
                      ParamType::Number,
                      "0.6",
                      0,
                      1,
                      {},
                      "v_proj row-norm level (0..1) above which a step is accented (2 always are)"});
  g.params.push_back(
      {"rest_threshold",
       ParamType::Number,
       "0.25",
       0,
       1,
       {},
       "how far down_proj kurtosis raises the share of rests and ties above 20 % (0.25: up to 45 %)"});
  g.params.push_back({"max_slides",
                      ParamType::Int,
                      "5",
                      0,
                      15,
                      {},
                      "slides per pattern at the largest inter-layer spectral change"});
  g.params.push_back(
      {"cutoff_lo", ParamType::Int, "28", 0, 127, {}, "CC74 value at the lowest gate_proj std"});
  g.params.push_back(
      {"cutoff_hi", ParamType::Int, "112", 0, 127, {}, "CC74 value at the highest gate_proj std"});
  g.params.push_back(
      {"resonance_lo", ParamType::Int, "64", 0, 127, {}, "CC71 value at the lowest v_proj kurtosis"});
  g.params.push_back(
      {"resonance_hi", ParamType::Int, "118", 0, 127, {}, "CC71 value at the highest v_proj kurtosis"});
  g.compose = compose_acid;
  return g;
}

}  // namespace sonify::genres
