// opera: four acts at 66 BPM with the nine-instrument orchestra of SPEC-notebooks §3.
// I Overture from the embedding spectrum; II Fughetta whose soprano/alto/tenor/bass
// enter with the q/v/k/o spectra; III Climax, one block per layer, driven by the
// attention-versus-MLP tension; IV Epilogue from the Frobenius decay across tensors and
// the final norm. Fixed from the original: every voice moves in scale steps of a scale
// built both ways from the root (the bass no longer clamps to the root), and the climax
// reads each σ_j against the other layers instead of norm01(sorted σ)[0] ≡ 1, so its
// upper voices change from layer to layer. `minutes` scales the length.
#include <algorithm>
#include <cmath>

#include "genre_util.h"

namespace sonify::genres {
namespace {

enum Inst { kVln1, kVla, kVc, kCb, kHn, kOb, kCl, kHarp, kOrgan };

// pretty_midi-era velocity ramp between two dynamic markings (ppp 16 .. fff 127).
int velf(double v, int lo, int hi) { return static_cast<int>(lo + std::clamp(v, 0.0, 1.0) * (hi - lo)); }
constexpr int ppp = 16, pp = 33, p_ = 49, mp = 64, mf = 80, ff = 112, fff = 127;

Result<GenreOutput> compose_opera(const WeightFeatures& f, const GenreParams& p) {
  const int L = f.n_layers;
  if (L <= 0) return fail("opera: the model has no layers");
  SONIFY_ASSIGN_OR_RETURN(key, resolve_key(f, p));
  const Scale sc(key.root_pc, key.mode, std::max(p.integer("pitch_lo"), 0), std::min(p.integer("pitch_hi"), 127));
  if (sc.size() < 12) return fail("opera: the pitch range holds fewer than 12 scale notes");

  // Act lengths in measures: the original's, scaled to `minutes` when given.
  const std::size_t n_tensors = f.matrices.size() + f.vectors.size();
  double a1 = 96, a2 = 96, block = 6, a4 = std::min<double>(80, static_cast<double>(n_tensors));
  const double measure_s = 4 * 60.0 / p.number("bpm");
  if (p.number("minutes") > 0) {
    const double k = p.number("minutes") * 60 / ((a1 + a2 + block * L + a4) * measure_s);
    a1 = std::max(2.0, std::round(a1 * k / 2) * 2), a2 = std::max(4.0, std::round(a2 * k));
    block = std::max(1.0, std::round(block * k)), a4 = std::max(2.0, std::round(a4 * k));
  }
  const int A1 = static_cast<int>(a1), A2 = static_cast<int>(a2), B = static_cast<int>(block), A4 = static_cast<int>(a4);

  GenreOutput out;
  Score& s = out.score;
  s.title = "opera";
  s.set_tempo(0, p.number("bpm"));
  s.time_signatures.push_back({0, 4, 4});
  const char* names[9] = {"Violins I", "Violins II Viola", "Cellos", "Contrabasses", "French Horns", "Oboes", "Clarinets", "Harp", "Organ"};
  const int programs[9] = {40, 41, 42, 43, 60, 68, 71, 46, 19};
  for (int i = 0; i < 9; ++i) s.add_track(names[i], programs[i]);
  auto T = [&](int i) -> Track& { return s.tracks[static_cast<std::size_t>(i)]; };
  const std::int64_t M = s.ticks(4), beat = s.ticks(1);
  auto add = [&](int inst, std::int64_t t, std::int64_t dur, int pitch, int vel, double legato) {
    T(inst).note(t, static_cast<std::int64_t>(std::llround(static_cast<double>(dur) * legato)), pitch, vel);
  };
  const std::vector<double> ten = norm01(f.tension);
  auto tension = [&](int l) { return ten.empty() ? 0.5 : ten[static_cast<std::size_t>(l)]; };

  // Act I — Overture: the embedding spectrum, a descending line of string chords.
  int bar = 0;
  add_section(out, "Act I Overture", 0, A1, key.root_pc, key.mode);
  {
    const MatrixFeatures* e = f.matrix(-1, "embed");
    std::vector<double> ls;
    if (e)
      for (std::size_t i = 0; i < std::min<std::size_t>(48, e->spectrum.singular_values.size()); ++i)
        ls.push_back(std::log1p(e->spectrum.singular_values[i]));
    const std::vector<double> sv = ls.empty() ? std::vector<double>{0.5} : norm01(ls);
    // norm01 of a descending spectrum always starts at 1: the embedding's effective rank
    // (relative to its size) sets how high the descent starts.
    const double er = e && std::min(e->rows, e->cols) > 0
                          ? std::clamp(e->spectrum.effective_rank / static_cast<double>(std::min(e->rows, e->cols)), 0.0, 1.0)
                          : 0.5;
    for (int m = 0; m < A1; m += 2) {
      const double prog = static_cast<double>(m) / A1;
      const double v = sv[static_cast<std::size_t>(std::floor(prog * static_cast<double>(sv.size() - 1)))];
      const int rn = sc.at_fraction(0.10 + 0.45 * v * (0.4 + 0.6 * er));
      const int vel = velf(0.6 * prog + 0.1, ppp, mf);
      const std::int64_t t = m * M;
      add(kVln1, t, 2 * M, sc.step(rn, 7), vel, 0.97);
      add(kVla, t, 2 * M, sc.step(rn, 4), vel * 85 / 100, 0.97);
      add(kVc, t, 2 * M, rn, vel * 88 / 100, 0.97);
      add(kCb, t, 2 * M, sc.step(rn, -7), vel * 75 / 100, 0.97);
      if (m % 6 == 0 && prog > 0.25)
        for (int i = 0; i < 4; ++i) add(kHarp, t + i * beat / 2, beat * 4 / 10, sc.step(rn, 2 * i), vel / 2, 0.7);
      if (prog > 0.65) add(kOb, t, 2 * M, sc.step(rn, 11), vel * 6 / 10, 0.93);
    }
    out.provenance.push_back({"section Act I Overture (strings, harp, oboe)", e ? std::vector<std::string>{e->tensor} : std::vector<std::string>{},
                              {"embed.spectrum top 48 σ: norm01(log1p σ) read along the act, scaled by effective_rank / min(rows, cols) -> chord root"}});
  }
  bar += A1;

  // Act II — Fughetta: q, k, v, o themes enter one after another.
  add_section(out, "Act II Fughetta", bar, bar + A2, key.root_pc, key.mode);
  {
    struct Voice { const char* role; int inst; double lo, hi; double vel; double legato; };
    const Voice voices[4] = {{"q", kVln1, 0.55, 0.92, 1.0, 0.92}, {"k", kVc, 0.25, 0.63, 0.88, 0.90},
                             {"v", kVla, 0.40, 0.78, 0.82, 0.91}, {"o", kCb, 0.08, 0.45, 0.78, 0.89}};
    const int entry = std::max(1, std::min(L, A2 / 8));
    const LayerSeries gate = layer_series(f, {"gate", "up"}, [](const MatrixFeatures& m) { return m.moments.std; });
    const LayerSeries up = layer_series(f, {"up"}, [](const MatrixFeatures& m) { return spectral_decay(m); });
    const auto gate_n = norm01(gate.values), up_n = norm01(up.values);
    for (int vi = 0; vi < 4; ++vi) {
      std::vector<std::string> tensors;
      const auto x = spectrum_across_layers(f, voices[vi].role, {0, 1, 3, 7}, &tensors);
      for (int m = vi * entry; m < A2; ++m) {
        const int l = m % L;
        const double prog = static_cast<double>(m) / A2;
        const int vel = static_cast<int>(velf(0.5 * prog + 0.3 * tension(l), p_, ff) * voices[vi].vel);
        for (int i = 0; i < 4; ++i) {
          const double v = x[static_cast<std::size_t>(l)][static_cast<std::size_t>(i)];
          add(voices[vi].inst, (bar + m) * M + i * beat, beat, sc.at_fraction(voices[vi].lo + v * (voices[vi].hi - voices[vi].lo)), vel,
              voices[vi].legato);
        }
      }
      out.provenance.push_back({std::string("section Act II Fughetta / track ") + names[voices[vi].inst], tensors,
                                {std::string(voices[vi].role) + ".spectrum σ0 σ1 σ3 σ7 of layer m%L: log1p, norm01 across layers -> 4-note theme"}});
    }
    for (int m = 0; m < A2; ++m) {
      const int l = m % L;
      const double prog = static_cast<double>(m) / A2;
      const int vel = velf(0.5 * prog + 0.3 * tension(l), p_, ff);
      const std::int64_t ct = (bar + m) * M;
      if (tension(l) > 0.55 && m >= entry) {
        const int h = sc.at_fraction(0.30 + 0.3 * gate_n[static_cast<std::size_t>(l)]);
        add(kHn, ct, M, h, to_int_clamped(0.75 * vel * tension(l), 0, 127), 0.88);
        add(kHn, ct, M, sc.step(h, 2), to_int_clamped(0.75 * vel * tension(l), 0, 127), 0.88);
      }
      if (prog > 0.4) {
        const int w = sc.at_fraction(0.40 + 0.3 * up_n[static_cast<std::size_t>(l)]);
        add(kOb, ct, 2 * beat, sc.step(w, 7), vel * 6 / 10, 0.85);
        add(kCl, ct + 2 * beat, 2 * beat, sc.step(w, 4), vel * 55 / 100, 0.85);
      }
    }
    out.provenance.push_back({"section Act II Fughetta / track French Horns", gate.tensors, {gate.role + ".moments.std per layer; enters when tension > 0.55"}});
    out.provenance.push_back({"section Act II Fughetta / tracks Oboes, Clarinets", up.tensors, {"up spectral decay per layer"}});
  }
  bar += A2;

  // Act III — Climax: one block per layer, tension sets the dynamics and the tutti.
  add_section(out, "Act III Climax", bar, bar + B * L, key.root_pc, key.mode);
  {
    std::vector<std::string> tq, tk, tv;
    const auto xq = spectrum_across_layers(f, "q", {1}, &tq);
    const auto xk = spectrum_across_layers(f, "k", {1}, &tk);
    const auto xv = spectrum_across_layers(f, "v", {1}, &tv);
    std::vector<double> row0;
    std::vector<std::string> td;
    for (int l = 0; l < L; ++l) {
      const MatrixFeatures* d = f.matrix(l, "down");
      row0.push_back(d ? robust01(strided(d->row_norms, 16))[1] : 0.5);
      if (d) td.push_back(d->tensor);
    }
    const LayerSeries gate = layer_series(f, {"gate", "up"}, [](const MatrixFeatures& m) { return m.moments.kurtosis; });
    const auto gate_n = norm01(gate.values);
    std::vector<std::string> tn;
    for (int l = 0; l < L; ++l) {
      const double tl = tension(l), prog = L > 1 ? static_cast<double>(l) / (L - 1) : 1.0;
      const std::int64_t ct = (bar + B * l) * M, dur = B * M;
      const int vm = velf(0.7 * tl + 0.2, mp, fff);
      const std::size_t li = static_cast<std::size_t>(l);
      const int n1 = sc.at_fraction(0.60 + 0.35 * xq[li][0]);
      const int n2 = sc.at_fraction(0.48 + 0.30 * xk[li][0]);
      const int n3 = sc.at_fraction(0.30 + 0.30 * xv[li][0]);
      const int n4 = sc.at_fraction(0.05 + 0.25 * row0[li]);
      add(kVln1, ct, dur, n1, vm, 0.96);
      add(kVla, ct, dur, n2, vm * 88 / 100, 0.96);
      add(kVc, ct, dur, n3, vm * 90 / 100, 0.96);
      add(kCb, ct, dur, n4, vm * 80 / 100, 0.96);
      if (tl > 0.40) {
        const int h = sc.at_fraction(0.35 + 0.25 * gate_n[li]);
        add(kHn, ct, dur, h, static_cast<int>(0.85 * vm * tl), 0.90);
        add(kHn, ct, dur, sc.step(h, 2), static_cast<int>(0.85 * vm * tl), 0.90);
      }
      if (tl > 0.30) {
        add(kOb, ct, 2 * beat, sc.step(n1, 4), vm * 7 / 10, 0.88);
        add(kCl, ct + 2 * beat, 2 * beat, sc.step(n2, 2), vm * 65 / 100, 0.88);
      }
      if (const VectorFeatures* g = f.vector(l, "attn_norm")) {
        tn.push_back(g->tensor);
        std::vector<double> head;
        for (std::size_t i = 0; i < std::min<std::size_t>(4, g->values.size()); ++i) head.push_back(std::fabs(g->values[i]));
        const auto hn = norm01(head);
        for (std::size_t i = 0; i < hn.size(); ++i)
          add(kHarp, ct + static_cast<std::int64_t>(i) * beat / 2, beat * 4 / 10, sc.at_fraction(0.2 + 0.7 * hn[i]), vm / 2, 0.7);
      }
      if (prog > 0.78) {
        const int vel = static_cast<int>(vm * (1 - (prog - 0.78) / 0.22 * 0.6));
        for (int k : {0, 2, 4}) add(kOrgan, ct, dur, mode_degree_pitch(key.root_midi, key.mode, k), vel, 0.98);
      }
    }
    out.provenance.push_back({"section Act III Climax / track Violins I", tq, {"q σ1 per layer, log1p, norm01 across layers"}});
    out.provenance.push_back({"section Act III Climax / track Violins II Viola", tk, {"k σ1 per layer, norm01 across layers"}});
    out.provenance.push_back({"section Act III Climax / track Cellos", tv, {"v σ1 per layer, norm01 across layers"}});
    out.provenance.push_back({"section Act III Climax / track Contrabasses", td, {"down.row_norms: 16 strided rows, robust01, row 1"}});
    out.provenance.push_back({"section Act III Climax / dynamics, horns, woodwinds", gate.tensors,
                              {"tension per layer (attention/MLP Frobenius ratio, norm01) -> velocity and which sections play; " + gate.role + " kurtosis -> horn chord"}});
    out.provenance.push_back({"section Act III Climax / track Harp", tn, {"attn_norm γ[0:4]: |γ| norm01 -> arpeggio"}});
  }
  bar += B * L;

  // Act IV — Epilogue: the Frobenius decay across tensors, then the final norm.
  add_section(out, "Act IV Epilogue", bar, bar + A4, key.root_pc, key.mode);
  {
    std::vector<std::pair<double, std::string>> fro;
    for (const auto& m : f.matrices) fro.emplace_back(m.frobenius, m.tensor);
    for (const auto& v : f.vectors) fro.emplace_back(v.l2, v.tensor);
    std::stable_sort(fro.begin(), fro.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    std::vector<double> lf;
    for (const auto& x : fro) lf.push_back(std::log1p(x.first));
    const auto fv = norm01(lf);
    std::vector<std::string> used;
    const VectorFeatures* fin = f.vector(-1, "final_norm");
    for (int i = 0; i < A4; ++i) {
      const std::size_t idx = fv.empty() ? 0 : static_cast<std::size_t>(i) * fv.size() / static_cast<std::size_t>(A4);
      const double v = fv.empty() ? 0.5 : fv[idx];
      if (!fro.empty() && (used.empty() || used.back() != fro[idx].second)) used.push_back(fro[idx].second);
      const double prog = static_cast<double>(i) / A4;
      const int vd = std::max(1, velf(v * (1 - 0.8 * prog), ppp, mp));
      const int nn = sc.at_fraction(0.15 + 0.5 * v);
      const std::int64_t ct = (bar + i) * M;
      if (prog < 0.85) add(kVln1, ct, M, sc.step(nn, 7), vd, 0.97);
      if (prog < 0.70) add(kVla, ct, M, sc.step(nn, 4), vd * 85 / 100, 0.97);
      if (prog < 0.92) add(kVc, ct, M, nn, vd * 88 / 100, 0.97);
      if (prog < 0.97) add(kCb, ct, M, sc.step(nn, -7), vd * 75 / 100, 0.97);
      if (prog < 0.40 && i % 3 == 0)
        for (int j = 0; j < 4; ++j) add(kHarp, ct + j * beat / 2, beat * 4 / 10, sc.step(nn, 2 * j), vd * 45 / 100, 0.65);
    }
    // The final norm closes the opera: its gain level voices the last organ chord.
    const double g = fin ? std::clamp(0.5 + 0.5 * std::tanh(fin->gain_offset + fin->moments.mean - 1.0), 0.0, 1.0) : 0.5;
    const int last = std::max(1, A4 / 8);
    for (int k : {0, 2, 4})
      add(kOrgan, (bar + A4 - last) * M, last * M, mode_degree_pitch(key.root_midi, key.mode, k), velf(g, pp, mp), 0.99);
    out.provenance.push_back({"section Act IV Epilogue / strings, harp", used,
                              {"frobenius (matrices) and l2 (vectors) of every tensor, sorted descending, norm01(log1p) -> pitch and fading velocity"}});
    out.provenance.push_back({"section Act IV Epilogue / track Organ", fin ? std::vector<std::string>{fin->tensor} : std::vector<std::string>{},
                              {"final_norm: offset + mean gain -> velocity of the closing tonic chord"}});
  }
  for (auto& t : s.tracks) fix_overlaps(t);
  warn_length(out, p);
  return out;
}

}  // namespace

Genre opera_genre() {
  Genre g;
  g.name = "opera";
  g.summary = "66 BPM opera in four acts for nine instruments (the original runs 23 minutes; see minutes)";
  g.params = common_params(66, "auto", 28, 100);
  for (auto& ps : g.params)
    if (ps.name == "bars") ps.meaning = "not used by the opera: its length is set by minutes";
    else if (ps.name == "pitch_lo" || ps.name == "pitch_hi") ps.meaning += " (the whole orchestra's range)";
  g.params.push_back({"minutes", ParamType::Number, "0", 0, 120, {}, "scale the four acts to about this length; 0 = the original's length"});
  g.compose = compose_opera;
  return g;
}

}  // namespace sonify::genres
