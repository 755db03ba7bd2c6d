// house: 128 BPM, intro / buildup / drop / outro (SPEC-notebooks §4 and §12), with the
// static parts fixed: a progression from the q_proj spectra that changes chord every
// chord_bars bars, four-on-the-floor kick, open hats on the off-beat, claps gated by
// gate_proj kurtosis, and the section modes of §12 (Lydian, Dorian, Phrygian, Aeolian).
#include <algorithm>
#include <cmath>
#include <numeric>

#include "genre_util.h"

namespace sonify::genres {
namespace {

constexpr int kChords = 8;
// Chord degree by the rank of the spectral decay among the progression's layers.
constexpr int kDegreeByRank[kChords] = {0, 5, 3, 4, 1, 6, 2, 0};

Result<GenreOutput> compose_house(const WeightFeatures& f, const GenreParams& p) {
  const int L = f.n_layers;
  if (L <= 0) return fail("house: the model has no layers");
  SONIFY_ASSIGN_OR_RETURN(key, resolve_key(f, p));
  const int bars = p.integer("bars") > 0 ? p.integer("bars") : 128;
  if (bars < 8) return fail("house: bars must be at least 8 (got ", bars, ")");
  const int chord_bars = p.integer("chord_bars");
  const bool section_modes = p.text("mode") == "sections";

  GenreOutput out;
  Score& s = out.score;
  s.title = "house";
  s.set_tempo(0, p.number("bpm"));
  s.time_signatures.push_back({0, 4, 4});
  const int bass_i = s.add_track("Bass", 38);
  const int pad_i = s.add_track("Pad", 92);
  const int lead_i = s.add_track("Lead", 81);
  const int drum_i = s.add_drum_track("Drums");

  struct Sec {
    const char* name;
    int first, end;
    Mode mode;
    int pad_vel, bass_vel;
  };
  const Sec secs[4] = {
      {"intro", 0, bars / 8, Mode::lydian, 35, 0},
      {"buildup", bars / 8, bars / 4, Mode::dorian, 50, 60},
      {"drop", bars / 4, 3 * bars / 4, Mode::phrygian, 70, 90},
      {"outro", 3 * bars / 4, bars, Mode::natural_minor, 45, 70},
  };
  for (const Sec& sc : secs) add_section(out, sc.name, sc.first, sc.end, key.root_pc, section_modes ? sc.mode : key.mode);

  // The progression: chord i from the spectrum of q (k, v, o when the model has fewer
  // layers than chords) at a layer spread over the depth; its degree from the rank.
  static const char* kRoles[4] = {"q", "k", "v", "o"};
  std::vector<double> stat(kChords, 0.0);
  std::vector<std::string> chord_tensors;
  std::vector<std::string> chord_src;
  for (int i = 0; i < kChords; ++i) {
    const int l = L >= kChords ? i * L / kChords : i % L;
    const char* role = L >= kChords ? "q" : kRoles[(i / L) % 4];
    if (const MatrixFeatures* m = f.matrix(l, role)) {
      stat[static_cast<std::size_t>(i)] = spectral_decay(*m);
      chord_tensors.push_back(m->tensor);
    }
    chord_src.push_back(std::string(role) + "@" + std::to_string(l));
  }
  std::vector<int> order(kChords);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return stat[static_cast<std::size_t>(a)] < stat[static_cast<std::size_t>(b)]; });
  int degree[kChords];
  for (int r = 0; r < kChords; ++r) degree[order[static_cast<std::size_t>(r)]] = kDegreeByRank[r];

  // Bass and drum statistics.
  std::vector<std::vector<double>> rows(static_cast<std::size_t>(L));
  std::vector<std::string> down_t;
  for (int l = 0; l < L; ++l) {
    const MatrixFeatures* m = f.matrix(l, "down");
    rows[static_cast<std::size_t>(l)] = m ? robust01(strided(m->row_norms, 16)) : std::vector<double>(16, 0.5);
    if (m) down_t.push_back(m->tensor);
  }
  const LayerSeries gstd = layer_series(f, {"gate", "up"}, [](const MatrixFeatures& m) { return m.moments.std; });
  const LayerSeries gkurt = layer_series(f, {"gate", "up"}, [](const MatrixFeatures& m) { return m.moments.kurtosis; });
  const std::vector<double> hat_n = norm01(gstd.values), clap_n = norm01(gkurt.values);
  const double clap_gate = p.number("clap_gate");

  const int lead_lo = p.integer("pitch_lo"), lead_hi = p.integer("pitch_hi");
  const std::int64_t step = s.ticks(0.25), dlen = s.ticks(0.1);
  Track& pad = s.tracks[static_cast<std::size_t>(pad_i)];
  pad.control(0, cc::kReverbSend, 80);
  pad.control(0, cc::kVolume, 90);
  s.tracks[static_cast<std::size_t>(lead_i)].control(0, cc::kVolume, 80);
  for (int b = 0; b < bars; ++b) {
    int si = 0;
    while (si < 3 && b >= secs[si + 1].first) ++si;
    const Sec& sc = secs[si];
    const Mode mode = section_modes ? sc.mode : key.mode;
    const int ci = (b / chord_bars) % kChords;
    const int d = degree[ci];
    const int dv = d >= 4 ? d - 7 : d;  // voice the chord near the root: degrees 5-7 below it
    const std::int64_t t0 = bar_tick(s, b);
    const int l = b % L;
    const std::size_t li = static_cast<std::size_t>(l);
    // Pad: the chord (triad + octave) from each chord change or section start.
    if (b % chord_bars == 0 || b == sc.first) {
      int end = std::min({(b / chord_bars + 1) * chord_bars, sc.end, bars});
      const std::int64_t len = bar_tick(s, end) - t0 - s.ticks(0.08);
      for (int k : {0, 2, 4, 7})
        s.tracks[static_cast<std::size_t>(pad_i)].note(t0, len, mode_degree_pitch(key.root_midi + 12, mode, dv + k),
                                                        sc.pad_vel);
    }
    // Bass: down_proj row norms walk up to 4 scale steps above the chord root.
    const bool bass_on = (si == 1 && b >= (sc.first + sc.end) / 2) || si == 2 || (si == 3 && b < bars - 2);
    if (bass_on) {
      const auto& r = rows[li];
      for (int st = 0; st < 16; ++st) {
        if (st % 4 != 0 && r[static_cast<std::size_t>(st)] < 0.12) continue;
        int pitch = mode_degree_pitch(key.root_midi - 12, mode, dv + to_int_clamped(r[static_cast<std::size_t>(st)] * 4.999, 0, 4));
        if (st % 4 == 3) pitch += 12;
        const int vel = sc.bass_vel + (st == 0 || st == 8 ? 20 : 0);
        s.tracks[static_cast<std::size_t>(bass_i)].note(t0 + st * step, step * 85 / 100, pitch, vel);
      }
    }
    // Lead: a chord-tone arpeggio in the drop and the end of the buildup.
    if (si == 2 || (si == 1 && b >= sc.end - (sc.end - sc.first) / 4)) {
      for (int st = 0; st < 16; ++st) {
        static const int kArp[4] = {0, 2, 4, 7};
        int pitch = mode_degree_pitch(key.root_midi + 24, mode, d + kArp[st % 4] + (st / 8 == 1 && st % 4 == 3 ? 2 : 0));
        while (pitch > lead_hi && pitch - 12 >= lead_lo) pitch -= 12;
        while (pitch < lead_lo && pitch + 12 <= lead_hi) pitch += 12;
        s.tracks[static_cast<std::size_t>(lead_i)].note(t0 + st * step, step * 88 / 100, pitch, st % 4 == 0 ? 82 : 64);
      }
    }
    // Drums.
    Track& dr = s.tracks[static_cast<std::size_t>(drum_i)];
    const int hv = static_cast<int>(std::lround(55 + 55 * hat_n[li]));
    if (si == 0) {
      if (b >= sc.end / 2)
        for (int beat = 0; beat < 4; ++beat) dr.note(t0 + s.ticks(beat + 0.5), dlen, drum::kClosedHat, hv - 15);
      continue;
    }
    const bool last_bars = b >= bars - 2;
    const bool claps = si == 2 || clap_n[li] >= clap_gate;
    for (int beat = 0; beat < 4; ++beat) {
      const std::int64_t bt = t0 + s.ticks(beat);
      if (!last_bars) dr.note(bt, dlen, drum::kKick, 110);
      dr.note(bt + 2 * step, dlen, drum::kOpenHat, hv);
      dr.note(bt + step, dlen, drum::kClosedHat, hv - 20);
      dr.note(bt + 3 * step, dlen, drum::kClosedHat, hv - 20);
      if (claps && beat % 2 == 1 && !last_bars) dr.note(bt, dlen, drum::kClap, 96);
    }
    if (b == sc.first) dr.note(t0, dlen, drum::kCrash, 100);
  }

  {
    std::string degs;
    for (int i = 0; i < kChords; ++i) degs += (i ? " " : "") + std::to_string(degree[i] + 1);
    std::string src;
    for (const auto& c : chord_src) src += (src.empty() ? "" : ", ") + c;
    out.provenance.push_back({"track Pad: chord progression (degrees " + degs + ")", chord_tensors,
                              {"spectral decay mean(log1p σ[0:16])/log1p σ1 of " + src + ", rank -> degree"}});
  }
  out.provenance.push_back({"track Bass", down_t, {"down.row_norms: 16 strided rows of layer bar%L, robust01 -> 0..4 steps above the chord root"}});
  out.provenance.push_back({"track Lead", chord_tensors, {"chord tones of the progression"}});
  out.provenance.push_back({"track Drums: hats", gstd.tensors, {gstd.role + ".moments.std of layer bar%L, norm01 -> hat velocity"}});
  out.provenance.push_back({"track Drums: claps", gkurt.tensors, {gkurt.role + ".moments.kurtosis of layer bar%L, norm01 >= clap_gate (always in the drop)"}});
  for (const auto& sec : out.sections) out.provenance.push_back({"section " + sec.name, {}, {"fixed arrangement: bars/8, bars/4, 3*bars/4"}});
  warn_length(out, p);
  return out;
}

}  // namespace

Genre house_genre() {
  Genre g;
  g.name = "house";
  g.summary = "128 BPM house, 128 bars: intro / buildup / drop / outro, progression from q_proj spectra";
  g.params = common_params(128, "sections", 60, 84);
  for (auto& ps : g.params)
    if (ps.name == "mode") {
      ps.choices.insert(ps.choices.begin() + 1, "sections");
      ps.meaning = "scale mode; sections = lydian/dorian/phrygian/aeolian per section, auto = the tonality's mode";
    }
  g.params.push_back({"chord_bars", ParamType::Int, "4", 1, 64, {}, "bars per chord of the progression"});
  g.params.push_back({"clap_gate", ParamType::Number, "0.3", 0, 1, {}, "gate_proj kurtosis level (0..1) from which claps play outside the drop"});
  g.compose = compose_house;
  return g;
}

}  // namespace sonify::genres
