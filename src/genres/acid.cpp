// acid: one TB-303 pattern per layer (SPEC-notebooks §5), with what the original's README
// promised and its code never did: slides from the inter-layer spectral delta, filter
// cutoff (CC74) from gate_proj std and resonance (CC71) from v_proj kurtosis as automation
// across each layer, and drums whose density follows the attention/MLP tension.
#include <algorithm>
#include <cmath>

#include "genre_util.h"

namespace sonify::genres {
namespace {

constexpr int kSteps = 16;

struct Pattern {
  int pitch[kSteps];
  bool rest[kSteps];
  bool accent[kSteps];
  bool slide[kSteps];
};

int lerp_cc(double lo, double hi, double t) {
  return static_cast<int>(std::lround(lo + (hi - lo) * std::clamp(t, 0.0, 1.0)));
}

Result<GenreOutput> compose_acid(const WeightFeatures& f, const GenreParams& p) {
  const int L = f.n_layers;
  if (L <= 0) return fail("acid: the model has no layers");
  SONIFY_ASSIGN_OR_RETURN(key, resolve_key(f, p));
  const int lo = p.integer("pitch_lo"), hi = p.integer("pitch_hi");
  // The pattern lives in [lo, hi - 12]; the 303 octave jumps reach up to hi.
  const Scale scale(key.root_pc, key.mode, lo, std::max(lo + 12, hi - 12));
  const Scale full(key.root_pc, key.mode, lo, hi);
  if (scale.size() < 3) return fail("acid: the pitch range ", lo, "..", hi, " holds fewer than 3 scale notes");
  const int bars = p.integer("bars") > 0 ? p.integer("bars") : std::max(p.integer("min_bars"), L * p.integer("bars_per_layer"));

  GenreOutput out;
  Score& s = out.score;
  s.title = "acid";
  s.set_tempo(0, p.number("bpm"));
  s.time_signatures.push_back({0, 4, 4});
  const int bass = s.add_track("Acid Bass", p.integer("program"));
  const int drums = s.add_drum_track("Drums");

  // Per-layer statistics.
  std::vector<std::vector<double>> pitch_rows(static_cast<std::size_t>(L)), accent_rows(static_cast<std::size_t>(L));
  std::vector<std::string> down_t, v_t;
  for (int l = 0; l < L; ++l) {
    if (const MatrixFeatures* m = f.matrix(l, "down")) {
      pitch_rows[static_cast<std::size_t>(l)] = robust01(strided(m->row_norms, kSteps));
      down_t.push_back(m->tensor);
    } else {
      pitch_rows[static_cast<std::size_t>(l)].assign(kSteps, 0.0);
    }
    if (const MatrixFeatures* m = f.matrix(l, "v")) {
      accent_rows[static_cast<std::size_t>(l)] = robust01(strided(m->row_norms, kSteps));
      v_t.push_back(m->tensor);
    } else {
      accent_rows[static_cast<std::size_t>(l)].assign(kSteps, 0.0);
    }
  }
  std::vector<double> delta(static_cast<std::size_t>(L), 0.0), delta_n(static_cast<std::size_t>(L), 0.0);
  for (int l = 1; l < L; ++l) {
    double sum = 0;
    int n = 0;
    for (const auto& t : f.transitions)
      if (t.to_layer == l) sum += t.spectral_delta, ++n;
    delta[static_cast<std::size_t>(l)] = n ? sum / n : 0.0;
  }
  delta_n = norm01(delta);
  const LayerSeries cutoff = layer_series(f, {"gate", "up"}, [](const MatrixFeatures& m) { return m.moments.std; });
  const LayerSeries reso = layer_series(f, {"v"}, [](const MatrixFeatures& m) { return m.moments.kurtosis; });
  const std::vector<double> cut_n = norm01(cutoff.values), res_n = norm01(reso.values), ten_n = norm01(f.tension);

  const double rest_t = p.number("rest_threshold"), accent_t = p.number("accent_threshold");
  const int max_slides = p.integer("max_slides");
  std::vector<Pattern> patterns(static_cast<std::size_t>(L));
  for (int l = 0; l < L; ++l) {
    Pattern& pt = patterns[static_cast<std::size_t>(l)];
    const auto& r = pitch_rows[static_cast<std::size_t>(l)];
    const auto& v = accent_rows[static_cast<std::size_t>(l)];
    for (int st = 0; st < kSteps; ++st) {
      int pitch = scale.at_fraction(r[static_cast<std::size_t>(st)]);
      if ((st == 3 || st == 7) && full.contains(pitch + 12)) pitch += 12;  // the 303 octave jump
      pt.pitch[st] = pitch;
      pt.rest[st] = st % 4 != 0 && r[static_cast<std::size_t>(st)] < rest_t;
      pt.accent[st] = v[static_cast<std::size_t>(st)] >= accent_t;
      pt.slide[st] = false;
    }
    // Slides: as many as the layer's spectral change asks for, on the smallest pitch moves.
    const int want = static_cast<int>(std::lround(delta_n[static_cast<std::size_t>(l)] * max_slides));
    std::vector<std::pair<int, int>> cand;  // (|interval|, step)
    for (int st = 0; st + 1 < kSteps; ++st)
      if (!pt.rest[st] && !pt.rest[st + 1] && pt.pitch[st] != pt.pitch[st + 1])
        cand.emplace_back(std::abs(pt.pitch[st + 1] - pt.pitch[st]), st);
    std::stable_sort(cand.begin(), cand.end());
    for (int i = 0; i < want && i < static_cast<int>(cand.size()); ++i) pt.slide[cand[static_cast<std::size_t>(i)].second] = true;
  }

  const std::int64_t step = s.ticks(0.25);
  const double clo = p.number("cutoff_lo"), chi = p.number("cutoff_hi");
  const double rlo = p.number("resonance_lo"), rhi = p.number("resonance_hi");
  Track& tb = s.tracks[static_cast<std::size_t>(bass)];
  tb.control(0, cc::kPortamento, 127);  // glides happen only where notes overlap (legato)
  tb.control(0, cc::kReverbSend, 30);
  tb.control(0, cc::kVolume, 118);
  s.tracks[static_cast<std::size_t>(drums)].control(0, cc::kVolume, 92);
  int prev_layer = -1;
  int layer_first = 0;
  for (int b = 0; b < bars; ++b) {
    const int l = static_cast<int>(static_cast<std::int64_t>(b) * L / bars);
    const std::size_t li = static_cast<std::size_t>(l);
    if (l != prev_layer) {
      layer_first = b;
      int end = b + 1;
      while (end < bars && static_cast<int>(static_cast<std::int64_t>(end) * L / bars) == l) ++end;
      add_section(out, "layer " + std::to_string(l), b, end, key.root_pc, key.mode);
      tb.control(bar_tick(s, b), cc::kPortamentoTime, 10 + static_cast<int>(std::lround(50 * delta_n[li])));
      prev_layer = l;
    }
    int layer_end = b + 1;
    while (layer_end < bars && static_cast<int>(static_cast<std::int64_t>(layer_end) * L / bars) == l) ++layer_end;
    const double prog = L > 1 ? static_cast<double>(l) / (L - 1) : 1.0;
    const Pattern& pt = patterns[li];
    const std::int64_t t0 = bar_tick(s, b);
    for (int st = 0; st < kSteps; ++st) {
      if (pt.rest[st]) continue;
      const int vel = static_cast<int>(std::lround((pt.accent[st] ? 112 : 78) * (0.8 + 0.2 * prog)));
      const std::int64_t len = pt.slide[st] ? step + step / 2 : (pt.accent[st] ? step * 7 / 10 : step / 2);
      tb.note(t0 + st * step, len, pt.pitch[st], vel);
    }
    // Filter automation: the layer's level (gate std -> cutoff, v kurtosis -> resonance),
    // glided from the previous layer's level across the layer and opening within it.
    const std::size_t pl = l > 0 ? li - 1 : li;
    const int layer_bars = layer_end - layer_first;
    for (int e = 0; e < 8; ++e) {
      const double t = (b - layer_first + e / 8.0) / layer_bars;
      const double c = cut_n[pl] + (cut_n[li] - cut_n[pl]) * t;
      const double r = res_n[pl] + (res_n[li] - res_n[pl]) * t;
      tb.control(t0 + e * 2 * step, cc::kCutoff, lerp_cc(clo, chi, 0.15 + 0.65 * c + 0.2 * t));
      if (e % 2 == 0) tb.control(t0 + e * 2 * step, cc::kResonance, lerp_cc(rlo, rhi, r));
    }
    // Drums: four on the floor, density from the layer's tension.
    Track& dr = s.tracks[static_cast<std::size_t>(drums)];
    const double tn = ten_n.empty() ? 0.5 : ten_n[li];
    const std::int64_t dlen = s.ticks(0.1);
    for (int beat = 0; beat < 4; ++beat) {
      const std::int64_t bt = t0 + s.ticks(beat);
      dr.note(bt, dlen, drum::kKick, 112);
      const bool open = tn > 0.6 && beat % 2 == 1;
      dr.note(bt + 2 * step, dlen, open ? drum::kOpenHat : drum::kClosedHat,
              static_cast<int>(std::lround(60 + 40 * tn)));
      if (tn > 0.35) {
        dr.note(bt + step, dlen, drum::kClosedHat, static_cast<int>(std::lround(38 + 30 * tn)));
        dr.note(bt + 3 * step, dlen, drum::kClosedHat, static_cast<int>(std::lround(38 + 30 * tn)));
      }
      if (tn > 0.5 && beat % 2 == 1) dr.note(bt, dlen, drum::kClap, 96);
    }
  }

  out.provenance.push_back({"track Acid Bass: pitches", down_t, {"down.row_norms: 16 strided rows, robust01 (median/MAD, tanh) -> scale position"}});
  out.provenance.push_back({"track Acid Bass: accents", v_t, {"v.row_norms: 16 strided rows, robust01 >= accent_threshold"}});
  {
    std::vector<std::string> all;
    for (const auto& t : f.transitions) all.push_back(t.role + " " + std::to_string(t.from_layer) + "->" + std::to_string(t.to_layer));
    out.provenance.push_back({"track Acid Bass: slides + portamento time (CC65/CC5)", all,
                              {"transitions[].spectral_delta, mean over roles into each layer, norm01 over layers"}});
  }
  out.provenance.push_back({"track Acid Bass: cutoff CC74", cutoff.tensors,
                            {cutoff.role + ".moments.std per layer, norm01" +
                             std::string(cutoff.role == "up" ? " (this family has no gate: up/c_fc instead)" : "")}});
  out.provenance.push_back({"track Acid Bass: resonance CC71", reso.tensors, {"v.moments.kurtosis per layer, norm01"}});
  out.provenance.push_back({"track Drums: density", {}, {"tension (attention/MLP Frobenius ratio) per layer, norm01"}});
  for (const auto& sec : out.sections) out.provenance.push_back({"section " + sec.name, {}, {"bars of one layer"}});
  warn_length(out, p);
  return out;
}

}  // namespace

Genre acid_genre() {
  Genre g;
  g.name = "acid";
  g.summary = "138 BPM TB-303 acid: one pattern per layer, slides, filter and resonance automation, drums by tension";
  g.params = common_params(138, "auto", 36, 67);
  for (auto& ps : g.params)
    if (ps.name == "pitch_hi") ps.meaning = "highest MIDI pitch of the bass: patterns stay an octave below, octave jumps reach it";
  g.params.push_back({"bars_per_layer", ParamType::Int, "4", 1, 64, {}, "bars each layer's pattern plays (when bars=0)"});
  g.params.push_back({"min_bars", ParamType::Int, "32", 1, 4096, {}, "at least this many bars (when bars=0): small models play each pattern longer"});
  g.params.push_back({"program", ParamType::Int, "38", 0, 127, {}, "GM program of the bass (38 Synth Bass 1, 39 Synth Bass 2)"});
  g.params.push_back({"accent_threshold", ParamType::Number, "0.6", 0, 1, {}, "v_proj row-norm level (0..1) above which a step is accented"});
  g.params.push_back({"rest_threshold", ParamType::Number, "0.25", 0, 1, {}, "down_proj row-norm level (0..1) below which an off-beat step rests"});
  g.params.push_back({"max_slides", ParamType::Int, "5", 0, 15, {}, "slides per pattern at the largest inter-layer spectral change"});
  g.params.push_back({"cutoff_lo", ParamType::Int, "28", 0, 127, {}, "CC74 value at the lowest gate_proj std"});
  g.params.push_back({"cutoff_hi", ParamType::Int, "112", 0, 127, {}, "CC74 value at the highest gate_proj std"});
  g.params.push_back({"resonance_lo", ParamType::Int, "64", 0, 127, {}, "CC71 value at the lowest v_proj kurtosis"});
  g.params.push_back({"resonance_hi", ParamType::Int, "118", 0, 127, {}, "CC71 value at the highest v_proj kurtosis"});
  g.compose = compose_acid;
  return g;
}

}  // namespace sonify::genres
