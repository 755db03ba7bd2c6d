// opera: four acts at 66 BPM for the nine-instrument orchestra of SPEC-notebooks §3,
// recomposed for issue 13. I Overture: a voice-led chord progression whose roots read
// the embedding spectrum; II Fughetta: a subject shaped by the q_proj spectrum's gaps,
// imitated by four voices entering transposed, each in the rhythm of its own matrix and
// sequenced through the layers; III Climax: one block per layer whose chords move through
// the layer's matrices, dynamics and tutti from the attention/MLP tension; IV Epilogue:
// the Frobenius decay across tensors, ending in a cadence whose last chord the final norm
// voices. The length follows the
// depth (3.5 minutes for 2 layers, 6 for 12, at most 12); trained-ness sets the harmonic
// rhythm and the chord colour (sevenths). No rests between blocks: held notes run on.
#include <algorithm>
#include <cmath>

#include "genre_util.h"

namespace sonify::genres {
namespace {

enum Inst { kVln1, kVla, kVc, kCb, kHn, kOb, kCl, kHarp, kOrgan };

std::size_t at(int i) { return static_cast<std::size_t>(i); }

Result<GenreOutput> compose_opera(const WeightFeatures& f, const GenreParams& p) {
  const int L = f.n_layers;
  if (L <= 0) return fail("opera: the model has no layers");
  SONIFY_ASSIGN_OR_RETURN(key, resolve_key(f, p));
  const Scale sc(key.root_pc, key.mode, std::max(p.integer("pitch_lo"), 0),
                 std::min(p.integer("pitch_hi"), 127));
  if (sc.size() < 12) return fail("opera: the pitch range holds fewer than 12 scale notes");
  const double trained = f.trainedness;

  // Length: minutes from the depth unless given.
  double minutes = p.number("minutes");
  if (minutes <= 0) {
    minutes = L <= 12 ? 3.5 + 2.5 * std::log(std::max(L, 2) / 2.0) / std::log(6.0)
                      : std::min(12.0, 6.0 + 6.0 * std::log(L / 12.0) / std::log(4.0));
  }
  const double measure_s = 4 * 60.0 / p.number("bpm");
  const int total = std::max(12, round_int(minutes * 60 / measure_s, 12, kIntMax));
  const int A1 = std::max(4, round_int(0.25 * total / 2, 1, kIntMax) * 2);
  const int A2 = std::max(4, round_int(0.30 * total, 1, kIntMax));
  const int B = std::max(1, round_int(0.30 * total / L, 1, kIntMax));
  const int A4 = std::max(4, total - A1 - A2 - B * L);
  // Harmonic rhythm (measures per chord) and colour from trained-ness.
  const int hr = trained > 0.6 ? 1 : 2;
  const bool sevenths = trained >= 0.35;

  GenreOutput out;
  Score& s = out.score;
  s.title = "opera";
  s.set_tempo(0, p.number("bpm"));
  s.time_signatures.push_back({0, 4, 4});
  const char* names[9] = {"Violins I", "Violins II Viola", "Cellos", "Contrabasses", "French Horns",
                          "Oboes",     "Clarinets",        "Harp",   "Organ"};
  const int programs[9] = {40, 41, 42, 43, 60, 68, 71, 46, 19};
  for (int i = 0; i < 9; ++i) s.add_track(names[i], programs[i]);
  auto T = [&](int i) -> Track& { return s.tracks[at(i)]; };
  const std::int64_t M = s.ticks(4), beat = s.ticks(1);
  auto add = [&](int inst, std::int64_t t, std::int64_t dur, int pitch, int vel) {
    T(inst).note(t, dur, sc.snap(pitch), std::clamp(vel, 1, 127));
  };
  // A chord voice that keeps its pitch is held over (a common tone), not struck again.
  auto hold = [&](int inst, std::int64_t t, std::int64_t dur, int pitch, int vel) {
    auto& n = T(inst).notes;
    if (!n.empty() && n.back().pitch == sc.snap(pitch) && n.back().start_ticks + n.back().length_ticks == t)
      n.back().length_ticks += dur;
    else
      add(inst, t, dur, pitch, vel);
  };
  std::vector<double> ten_abs(at(L), 0.5);
  for (int l = 0; l < L; ++l)
    if (!f.tension.empty()) ten_abs[at(l)] = anchor_log01(f.tension[at(l)], 0.25, 4.0);
  const std::vector<double> ten =
      blend(ten_abs, f.tension.empty() ? std::vector<double>(at(L), 0.5) : f.tension);

  // A chord on scale degree `dg` (0 = tonic), voiced near the previous one: strings take
  // the voices (cellos lowest, violins highest, a seventh to the clarinets), the basses
  // the root below.
  std::vector<int> voicing;
  int bass_prev = key.root_midi - 12;
  struct Chord {
    std::vector<int> upper;
    int bass;
  };
  auto chord = [&](int dg) {
    std::vector<int> pcs;
    for (int k : {0, 2, 4})
      pcs.push_back(((mode_degree_pitch(key.root_midi, key.mode, dg + k) % 12) + 12) % 12);
    if (sevenths) pcs.push_back(((mode_degree_pitch(key.root_midi, key.mode, dg + 6) % 12) + 12) % 12);
    std::vector<int> v = voice_lead(pcs, voicing, key.root_midi - 2, key.root_midi + 22, 19);
    if (v.empty()) v = voice_lead(pcs, {}, key.root_midi - 2, key.root_midi + 22, 24);
    voicing = v;
    // The basses take the root, or for chords other than I and V the third when it lies
    // at least two semitones nearer (a first inversion): root-position blocks made the
    // basses leap a fourth or fifth at every change.
    int best = bass_prev;
    for (int pass = 0; pass < 2; ++pass) {
      const int pc = pcs[at(2 * pass)];
      int near = -1;
      for (int b = 28; b <= 52; ++b)
        if (((b % 12) + 12) % 12 == pc && (near < 0 || std::abs(b - bass_prev) < std::abs(near - bass_prev)))
          near = b;
      if (pass == 0)
        best = near;
      else if (dg % 7 != 0 && dg % 7 != 4 && std::abs(near - bass_prev) + 2 <= std::abs(best - bass_prev))
        best = near;
    }
    bass_prev = best;
    return Chord{v, best};
  };
  auto play_chord = [&](const Chord& c, std::int64_t t, std::int64_t dur, int vel, bool strings_only) {
    hold(kVc, t, dur, c.upper.front(), vel * 88 / 100);
    hold(kVla, t, dur, c.upper[1], vel * 85 / 100);
    hold(kVln1, t, dur, c.upper.back(), vel);
    hold(kCb, t, dur, c.bass, vel * 80 / 100);
    // The clarinets answer in two halves: the seventh (or the middle voice) an octave up,
    // then the next chord tone above it.
    if (!strings_only) {
      const int a = c.upper.size() > 3 ? c.upper[2] : c.upper[1] + 12;
      const int b = c.upper.size() > 3 ? c.upper[3] : c.upper[2] + 12;
      // Every other measure the answer comes a beat later, so held chords never repeat
      // a measure verbatim.
      const std::int64_t split = (t / M) % 2 == 1 ? dur * 3 / 4 : dur / 2;
      hold(kCl, t, split, a, vel * 70 / 100);
      hold(kCl, t + split, dur - split, b, vel * 66 / 100);
    }
  };

  // The organ voices its chords on its own, led from its previous chord.
  std::vector<int> organ;
  auto organ_chord = [&](const std::vector<int>& pitches) {
    std::vector<int> pcs;
    for (int x : pitches)
      if (std::find(pcs.begin(), pcs.end(), ((x % 12) + 12) % 12) == pcs.end())
        pcs.push_back(((x % 12) + 12) % 12);
    const std::vector<int> v = voice_lead(pcs, organ, key.root_midi - 14, key.root_midi + 10, 19);
    if (!v.empty()) organ = v;
    return organ;
  };

  // ---- Act I — Overture ----
  int bar = 0;
  add_section(out, "Act I Overture", 0, A1, key.root_pc, key.mode);
  {
    const MatrixFeatures* e = f.matrix(-1, "embed");
    std::vector<double> ls;
    if (e)
      for (std::size_t i = 0; i < std::min<std::size_t>(48, e->spectrum.singular_values.size()); ++i)
        ls.push_back(std::log1p(e->spectrum.singular_values[i]) /
                     std::log1p(e->spectrum.singular_values[0] + 1e-12));
    if (ls.empty()) ls = {1.0, 0.5};
    // Degrees from the spectrum's shape: the gap between σ_j and σ_{j+1}, against the
    // mean gap, picks the next root's distance around the circle of fifths.
    const int kMoves[5] = {3, 4, -3, 1, 5};  // IV, V, vi-ish, ii, vi in scale steps
    int dg = 0;
    const double mean_gap = (ls.front() - ls.back()) / std::max<std::size_t>(1, ls.size() - 1) + 1e-12;
    for (int m = 0; m < A1; m += hr) {
      const double prog = static_cast<double>(m) / A1;
      const std::size_t j =
          std::min(ls.size() - 2, static_cast<std::size_t>(prog * static_cast<double>(ls.size() - 1)));
      const double g = (ls[j] - ls[j + 1]) / mean_gap;
      dg = m == 0         ? 0
           : m + hr >= A1 ? 4
                          : (dg + kMoves[trunc_int(std::clamp(g, 0.0, 2.499) * 2, 0, 4)] + 7) % 7;
      const Chord c = chord(dg);
      const int vel = round_int(60 + 36 * prog, 1, 127);
      const std::int64_t t = (bar + m) * M, dur = std::min(hr, A1 - m) * M;
      play_chord(c, t, dur, vel, false);
      // Harp arpeggio over the chord, oboe melody from the middle of the act.
      if (m % (2 * hr) == 0)
        for (std::size_t i = 0; i < c.upper.size(); ++i)
          add(kHarp, t + static_cast<std::int64_t>(i) * beat / 2, beat,
              c.upper[(i + static_cast<std::size_t>(m / hr)) % c.upper.size()] + 12, vel * 6 / 10);
      if (prog > 0.4) {
        const int top = c.upper.back() + 12;
        add(kOb, t, 2 * beat, sc.step(top, 1), vel * 7 / 10);
        add(kOb, t + 2 * beat, 2 * beat, top, vel * 7 / 10);
      }
    }
    out.provenance.push_back({"section Act I Overture (strings, harp, oboe)",
                              e ? std::vector<std::string>{e->tensor} : std::vector<std::string>{},
                              {"embed.spectrum top 48 σ: gap log1p σ_j - log1p σ_j+1 against the mean gap -> "
                               "next chord degree; voice-led; ends on V",
                               stat_text("trainedness", trained), stat_text("measures per chord", hr),
                               sevenths ? "seventh chords" : "triads"}});
  }
  bar += A1;

  // ---- Act II — Fughetta ----
  add_section(out, "Act II Fughetta", bar, bar + A2, key.root_pc, key.mode);
  {
    struct Voice {
      const char* role;
      int inst;
      int offset;  // scale steps from the subject's first note
      double vel;
    };
    const int start = sc.snap(key.root_midi + 19);
    const Voice voices[4] = {
        {"q", kVln1, 0, 1.0}, {"v", kVla, -4, 0.9}, {"k", kVc, -7, 0.9}, {"o", kCb, -11, 0.85}};
    // The subject: 6 notes, steps from the q spectrum's gaps (irregular gaps leap, the
    // smooth gaps of a random matrix step).
    std::vector<int> steps = {0};
    std::vector<std::string> subject_t;
    {
      const MatrixFeatures* q = f.matrix(0, "q");
      std::vector<double> u;
      if (q) {
        subject_t.push_back(q->tensor);
        for (std::size_t j = 0; j < std::min<std::size_t>(7, q->spectrum.singular_values.size()); ++j)
          u.push_back(std::log1p(q->spectrum.singular_values[j]));
      }
      while (u.size() < 7) u.push_back(u.empty() ? 1.0 : u.back() * 0.9);
      const double mean_gap = (u.front() - u.back()) / 6 + 1e-12;
      for (int j = 1; j < 6; ++j) {
        const double d = (u[at(j - 1)] - u[at(j)]) / mean_gap;
        int st = round_int(3 * (d - 1), -kMaxScaleDegree, kMaxScaleDegree);
        st = std::clamp(st, -2, 2);  // up to a third: ±3 steps made the entries' voice-leading 5 semitones
        if (st == 0) st = j % 2 ? 1 : -1;
        steps.push_back(steps.back() + st);
      }
    }
    std::vector<std::string> tensors;
    for (int vi = 0; vi < 4; ++vi) {
      const Voice& v = voices[vi];
      // Rhythm from this voice's matrix at each layer: its row norms pick eighths,
      // quarters or halves; the sequence moves by the layer's σ1 (blended).
      std::vector<double> sig(at(L), 0.0), sig_abs(at(L), 0.0);
      for (int l = 0; l < L; ++l)
        if (const MatrixFeatures* m = f.matrix(l, v.role)) {
          tensors.push_back(m->tensor);
          sig[at(l)] = m->spectrum.sigma_max;
          sig_abs[at(l)] = 0.5 * entropy_anchor(m->spectrum) + 0.5 * alpha_anchor(m->spectrum.alpha);
        }
      const auto seq = blend(sig_abs, sig);
      const int entry = vi * std::max(1, A2 / 8);
      std::int64_t t = (bar + entry) * M;
      const std::int64_t end = (bar + A2 - 1) * M;
      int k = 0;
      while (t < end) {
        const int l = k % L;
        const MatrixFeatures* m = f.matrix(l, v.role);
        const auto r = m ? robust01(strided(m->row_norms, 6)) : std::vector<double>(6, 0.5);
        const int shift = k == 0 ? 0 : round_int(2 * seq[at(l)] - 1, -1, 1) + (k % 2 ? -1 : 1);
        const double prog = static_cast<double>(t / M - bar) / A2;
        const int vel = round_int((66 + 34 * prog + 10 * ten[at(l)]) * v.vel, 1, 127);
        for (int j = 0; j < 6 && t < end; ++j) {
          const double beats = k == 0 ? 1.0 : r[at(j)] > 0.66 ? 2.0 : r[at(j)] < 0.33 ? 0.5 : 1.0;
          const std::int64_t d = std::min<std::int64_t>(s.ticks(beats), end - t);
          add(v.inst, t, d, sc.step(start, v.offset + steps[at(j)] + shift), vel);
          t += d;
        }
        ++k;
      }
      out.provenance.push_back(
          {std::string("section Act II Fughetta / track ") + names[v.inst],
           tensors,
           {std::string(v.role) + ": enters " + std::to_string(entry) + " measures in, " +
            std::to_string(v.offset) +
            " scale steps from the subject; row_norms of layer k%L -> eighth/quarter/half; sigma_max "
            "blend(entropy anchor, rank) -> sequence step"}});
      tensors.clear();
    }
    out.provenance.push_back(
        {"section Act II Fughetta: subject",
         subject_t,
         {"q (layer 0) σ0..σ6 gaps against the mean gap -> scale steps (clamped to ±2)"}});
    // The last measure: a cadence on the tonic, and horn pedals from the middle on.
    const Chord c = chord(0);
    play_chord(c, (bar + A2 - 1) * M, M, 92, true);
    for (int m = A2 / 2; m < A2; m += 2)
      add(kHn, (bar + m) * M, std::min(2, A2 - m) * M, m % 4 == 0 ? key.root_midi : key.root_midi + 7,
          60 + 20 * m / A2);
  }
  bar += A2;

  // ---- Act III — Climax ----
  add_section(out, "Act III Climax", bar, bar + B * L, key.root_pc, key.mode);
  {
    std::vector<std::string> tq;
    const auto xq = spectrum_across_layers(f, "q", {1}, &tq);
    const LayerSeries gate =
        layer_series(f, {"gate", "up"}, [](const MatrixFeatures& m) { return m.moments.kurtosis; });
    std::vector<double> gk_abs(at(L));
    for (int l = 0; l < L; ++l) gk_abs[at(l)] = kurtosis_anchor(gate.values[at(l)]);
    const auto gate_n = blend(gk_abs, gate.values);
    // A chord every 2·hr measures: segment j of a layer's block reads the layer's j-th
    // matrix (q, k, v, o, then the MLP's), so the harmony moves through the layer's
    // parts instead of holding one chord per layer (two chords in a minute on 2-layer
    // models). Each matrix's stable rank over its smaller dimension (random ~0.25,
    // trained lower) is blended with its rank among the layer's matrices.
    const int seg = 2 * hr;
    const int kDeg[7] = {0, 3, 4, 5, 1, 2, 6};
    std::vector<std::vector<double>> part(at(L));
    std::vector<std::string> tc;
    for (int l = 0; l < L; ++l) {
      std::vector<double> abs_v, raw;
      for (const auto& m : f.matrices)
        if (m.layer == l) {
          const double sr = m.spectrum.stable_rank /
                            static_cast<double>(std::max<std::int64_t>(1, std::min(m.rows, m.cols)));
          raw.push_back(sr);
          abs_v.push_back(anchor01(sr, 0.0, 0.5));
          tc.push_back(m.tensor);
        }
      part[at(l)] = raw.empty() ? std::vector<double>{0.5} : blend(abs_v, raw);
    }
    // A chord heard already in the act moves on (in the table's order) to the next one
    // not heard, until four are heard; a repeat of the previous segment moves on too.
    std::vector<int> heard;
    int prev_dg = -1;
    auto next_degree = [&](int idx) {
      for (int k = 0; k < 7; ++k) {
        const int dg = kDeg[(idx + k) % 7];
        const bool seen = std::find(heard.begin(), heard.end(), dg) != heard.end();
        if (dg != prev_dg && (!seen || heard.size() >= 4)) return dg;
      }
      return kDeg[idx];
    };
    std::vector<std::string> tn;
    int horn = -1;
    for (int l = 0; l < L; ++l) {
      const double tl = ten[at(l)], prog = L > 1 ? static_cast<double>(l) / (L - 1) : 1.0;
      const int vm = round_int(80 + 40 * tl, 1, 127);
      const std::vector<double>& pv = part[at(l)];
      for (int m0 = 0, j = 0; m0 < B; m0 += seg, ++j) {
        const int len = std::min(seg, B - m0);
        const std::int64_t ct = (bar + B * l + m0) * M;
        const bool last = l == L - 1 && m0 + seg >= B;
        const int dg = last ? 4 : next_degree(trunc_int(pv[at(j) % pv.size()] * 6.999, 0, 6));
        if (std::find(heard.begin(), heard.end(), dg) == heard.end()) heard.push_back(dg);
        prev_dg = dg;
        const Chord c = chord(dg);
        for (int m = m0; m < m0 + len; ++m) {
          const std::int64_t t = (bar + B * l + m) * M;
          // Strings: whole notes, then two halves with the violins stepping away on the
          // third beat, so no measure repeats the one before; the basses alternate root
          // and third (root and fifth leapt 7 semitones every measure and held the
          // ensemble's voice-leading at 3.0). Each measure is re-attacked, so blocks join
          // without a hole.
          Chord cm = c;
          if (m % 2 == 1) cm.bass = sc.step(c.bass, 2);
          if (m % 2 == 0) {
            play_chord(cm, t, M, vm, false);
          } else {
            play_chord(cm, t, 2 * beat, vm - 6, false);
            Chord moved = cm;
            moved.upper.back() = sc.step(c.upper.back(), xq[at(l)][0] > 0.5 ? 1 : -1);
            play_chord(moved, t + 2 * beat, 2 * beat, vm - 10, false);
          }
          // Harp: a rocking figure along the chord (a rotated chord leapt back an octave
          // every measure): two chord tones up, one back, one up again, starting a chord
          // tone further along the wave each measure, so between the strings' attacks
          // (beats 1 and 3) it moves by one chord tone (a plain up-and-down wave, three
          // tones further each measure, leapt most of all the ensemble's parts).
          const int wave = 2 * static_cast<int>(c.upper.size()) - 2;
          for (int i = 0; i < 4; ++i) {
            const int w = (m + (i == 0 ? 0 : i == 2 ? 1 : 2)) % wave;
            add(kHarp, t + i * beat, beat, c.upper[at(w < wave / 2 + 1 ? w : wave - w)] + 12, vm / 2);
          }
        }
        if (tl > 0.40) {
          // The horns' register from the gate kurtosis; from chord to chord they move to
          // the nearest chord tone (a chord every two measures made them leap).
          int h = c.upper.front() + (gate_n[at(l)] > 0.5 ? 0 : 12);
          if (horn >= 0)
            for (int x : c.upper)
              for (int y : {x, x + 12})
                if (std::abs(y - horn) < std::abs(h - horn)) h = y;
          horn = h;
          add(kHn, ct, len * M, h, trunc_int(0.85 * vm, 1, 127));
          add(kHn, ct, len * M, sc.step(h, 2), trunc_int(0.85 * vm, 1, 127));
        }
        if (tl > 0.30) {
          add(kOb, ct, 2 * beat, c.upper.back() + 12, vm * 7 / 10);
          add(kOb, ct + 2 * beat, 2 * beat, sc.step(c.upper.back() + 12, -1), vm * 7 / 10);
        }
        if (prog > 0.78 || L == 1)
          for (int pch : organ_chord(c.upper)) add(kOrgan, ct, len * M, pch, trunc_int(vm * 0.7, 1, 127));
      }
      if (const VectorFeatures* g = f.vector(l, "attn_norm")) tn.push_back(g->tensor);
    }
    out.provenance.push_back(
        {"section Act III Climax / chords",
         tc,
         {"a chord every " + std::to_string(seg) +
          " measures; segment j of a layer reads its j-th matrix: stable_rank / min(rows, cols), "
          "blend(anchor 0..0.5, rank among the layer's matrices) -> degree (I IV V vi ii iii vii); a chord "
          "heard already (or the one before) moves on to the next unheard until four are heard; the last "
          "segment V; voice-led"}});
    out.provenance.push_back(
        {"section Act III Climax / violins' step", tq, {"q σ1 across layers > 0.5 -> step up, else down"}});
    out.provenance.push_back({"section Act III Climax / dynamics, horns, woodwinds",
                              gate.tensors,
                              {"tension per layer: blend(log anchor 0.25..4, rank) -> velocity 80..120, "
                               "horns > 0.4, oboes > 0.3; " +
                               gate.role + " kurtosis -> horn register"}});
  }
  bar += B * L;

  // ---- Act IV — Epilogue ----
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
    const int kDeg[4] = {5, 3, 1, 0};  // vi IV ii I: descending by the decay
    for (int i = 0; i < A4; i += hr) {
      const std::size_t idx = fv.empty() ? 0 : at(i) * fv.size() / at(A4);
      const double v = fv.empty() ? 0.5 : fv[idx];
      if (!fro.empty() && (used.empty() || used.back() != fro[idx].second)) used.push_back(fro[idx].second);
      const double prog = static_cast<double>(i) / A4;
      const int left = A4 - i;
      const int dg = left <= hr ? 0 : left <= 2 * hr ? 4 : kDeg[trunc_int(v * 3.999, 0, 3)];
      const Chord c = chord(dg);
      const int vel = round_int(84 - 34 * prog, 1, 127);
      play_chord(c, (bar + i) * M, std::min(hr, left) * M, vel, false);
      if (prog < 0.5 && i % (2 * hr) == 0)
        for (std::size_t j = 0; j < c.upper.size(); ++j)
          add(kHarp, (bar + i) * M + static_cast<std::int64_t>(j) * beat / 2, beat, c.upper[j] + 12, vel / 2);
    }
    // The final norm's gain level voices the closing organ chord.
    const VectorFeatures* fin = f.vector(-1, "final_norm");
    const double g =
        fin ? std::clamp(0.5 + 0.5 * std::tanh(fin->gain_offset + fin->moments.mean - 1.0), 0.0, 1.0) : 0.5;
    // The closing chord is the tonic triad with its root lowest: voiced from the strings'
    // last chord it kept their seventh, which sounded under the root on sonify-tiny.
    const int last = std::min(A4, std::max(1, hr));
    std::vector<int> tonic;
    for (int k : {0, 2, 4}) tonic.push_back(mode_degree_pitch(key.root_midi, key.mode, k));
    std::vector<int> close = organ_chord(tonic);
    const int low = *std::min_element(close.begin(), close.end());
    const int root_low = low + ((key.root_pc - low) % 12 + 12) % 12;
    for (int& pch : close)
      if (pch < root_low) pch += 12;
    for (int pch : close) add(kOrgan, (bar + A4 - last) * M, last * M, pch, trunc_int(50 + 30 * g, 1, 127));
    out.provenance.push_back(
        {"section Act IV Epilogue / strings, harp",
         used,
         {"frobenius (matrices) and l2 (vectors) of every tensor, sorted descending, norm01(log1p) -> chord "
          "degree (vi IV ii I); ends V - I, diminuendo 84 -> 50"}});
    out.provenance.push_back(
        {"section Act IV Epilogue / track Organ",
         fin ? std::vector<std::string>{fin->tensor} : std::vector<std::string>{},
         {"final_norm: offset + mean gain -> velocity of the closing tonic triad (root lowest)"}});
  }
  out.provenance.push_back(
      {"form: length",
       {},
       {stat_text("n_layers", L), stat_text("minutes", minutes),
        "3.5 + 2.5 log(L/2)/log 6 minutes up to 12 layers, then up to 12 minutes; acts 25/30/30/15 %"}});
  for (auto& t : s.tracks) fix_overlaps(t);
  warn_length(out, p);
  return out;
}

}  // namespace

Genre opera_genre() {
  Genre g;
  g.name = "opera";
  g.summary = "66 BPM opera in four acts for nine instruments, 3.5-6 minutes for up to 12 layers";
  g.params = common_params(66, "auto", 28, 100);
  for (auto& ps : g.params)
    if (ps.name == "bars")
      ps.meaning = "not used by the opera: its length is set by minutes";
    else if (ps.name == "pitch_lo" || ps.name == "pitch_hi")
      ps.meaning += " (the whole orchestra's range)";
  g.params.push_back({"minutes",
                      ParamType::Number,
                      "0",
                      0,
                      120,
                      {},
                      "length in minutes; 0 = from the depth (3.5 for 2 layers, 6 for 12, at most 12)"});
  g.compose = compose_opera;
  return g;
}

}  // namespace sonify::genres
