// house: 128 BPM in 8-bar phrases (SPEC-notebooks §4 and §12, recomposed for issue 13).
// The model decides the form (how long the intro, buildup and outro are, where the
// breakdown falls between the two drops), the swing, the harmonic rhythm, the chord
// colours, the bass syncopation and the lead's rhythm in every phrase; each decision is
// listed with its statistic in the provenance. The progression comes from the q_proj
// spectra and is voice-led below the lead's register; the bass sits on the chord root on
// the off-beats (and on the downbeat of every chord change) with syncopated 16ths and
// rests; the drop's lead takes a new rhythm from a different matrix every phrase;
// breakdown and outro strip the arrangement down.
#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>

#include "genre_util.h"

namespace sonify::genres {
namespace {

constexpr int kChords = 8;
constexpr int kSteps = 16;
// Chord degree by the rank of the spectral decay among the progression's layers.
constexpr int kDegreeByRank[kChords] = {0, 5, 3, 4, 1, 6, 2, 0};

std::size_t at(int i) { return static_cast<std::size_t>(i); }

enum Part { kIntro, kBuildup, kDrop1, kBreakdown, kDrop2, kOutro };

Result<GenreOutput> compose_house(const WeightFeatures& f, const GenreParams& p) {
  const int L = f.n_layers;
  if (L <= 0) return fail("house: the model has no layers");
  SONIFY_ASSIGN_OR_RETURN(key, resolve_key(f, p));
  const bool section_modes = p.text("mode") == "sections";
  const std::size_t nl = at(L);
  const double trained = f.trainedness;

  // ---- Statistics on anchored scales ----
  std::vector<double> ten_abs(nl, 0.5);
  for (int l = 0; l < L; ++l)
    if (!f.tension.empty()) ten_abs[at(l)] = anchor_log01(f.tension[at(l)], 0.25, 4.0);
  const std::vector<double> ten_n =
      blend(ten_abs, f.tension.empty() ? std::vector<double>(nl, 0.5) : f.tension);
  // Largest spectral change between consecutive layers: where the breakdown falls.
  double max_delta = 0;
  int delta_at = L / 2;
  {
    std::vector<double> d(nl, 0.0);
    std::vector<int> n(nl, 0);
    for (const auto& t : f.transitions)
      if (t.to_layer >= 0 && t.to_layer < L) d[at(t.to_layer)] += t.spectral_delta, ++n[at(t.to_layer)];
    for (int l = 1; l < L; ++l) {
      const double v = n[at(l)] ? d[at(l)] / n[at(l)] : 0;
      if (v > max_delta) max_delta = v, delta_at = l;
    }
  }
  // Swing from the spread of the attention-norm gains (equal gains, as a freshly initialised
  // model has them, play straight).
  double gain_std = 0;
  int gains = 0;
  for (int l = 0; l < L; ++l)
    if (const VectorFeatures* g = f.vector(l, "attn_norm")) gain_std += g->moments.std, ++gains;
  gain_std = gains ? gain_std / gains : 0;
  const double swing = anchor_log01(gain_std, 0.005, 0.3);
  // Bass syncopation from the down_proj kurtosis.
  const LayerSeries dk =
      layer_series(f, {"down"}, [](const MatrixFeatures& m) { return m.moments.kurtosis; });
  std::vector<double> dk_abs(nl);
  for (int l = 0; l < L; ++l) dk_abs[at(l)] = kurtosis_anchor(dk.values[at(l)]);
  const std::vector<double> sync_n = blend(dk_abs, dk.values);
  const LayerSeries gstd =
      layer_series(f, {"gate", "up"}, [](const MatrixFeatures& m) { return m.moments.kurtosis; });
  std::vector<double> gk_abs(nl);
  for (int l = 0; l < L; ++l) gk_abs[at(l)] = kurtosis_anchor(gstd.values[at(l)]);
  const std::vector<double> clap_n = blend(gk_abs, gstd.values);

  // ---- Form: 8-bar phrases ----
  struct Sec {
    const char* name;
    Part part;
    int first = 0, end = 0;
    Mode mode;
  };
  std::vector<Sec> secs;
  std::vector<Provenance> form;
  {
    const double size = 0.5 * anchor_log01(L, 2, 48) + 0.5 * trained;
    int total8 = 14 + round_int(4 * size, 0, 64);
    const int intro8 = 1 + (ten_abs[0] > 0.5 ? 1 : 0);
    const int build8 = 1 + (clap_n[at(L / 2)] > 0.5 ? 1 : 0);
    const int outro8 = 1 + (ten_abs[at(L - 1)] > 0.5 ? 1 : 0);
    const int bd8 = 1 + (anchor_log01(max_delta, 0.02, 1.0) > 0.5 ? 1 : 0);
    int rest8 = std::max(2, total8 - intro8 - build8 - outro8 - bd8);
    const double pos = std::clamp(static_cast<double>(delta_at) / L, 0.25, 0.75);
    const int drop1 = std::clamp(round_int(rest8 * pos, 1, std::max(1, rest8 - 1)), 1, rest8 - 1);
    const int counts[6] = {intro8, build8, drop1, bd8, rest8 - drop1, outro8};
    const char* names[6] = {"intro", "buildup", "drop", "breakdown", "drop 2", "outro"};
    const Mode modes[6] = {Mode::lydian, Mode::dorian,   Mode::phrygian,
                           Mode::dorian, Mode::phrygian, Mode::natural_minor};
    int total = 0;
    for (int c : counts) total += 8 * c;
    // --set bars=N scales the phrases to N bars (each section keeps at least one bar).
    const int want = p.integer("bars") > 0 ? p.integer("bars") : total;
    if (want < 6) return fail("house: bars must be at least 6 (got ", want, ")");
    int bar = 0;
    for (int i = 0; i < 6; ++i) {
      int len = i == 5 ? want - bar : std::max(1, round_int(8.0 * counts[i] * want / total, 1, kIntMax));
      len = std::max(1, std::min(len, want - bar - (5 - i)));
      secs.push_back({names[i], static_cast<Part>(i), bar, bar + len, modes[i]});
      bar += len;
    }
    form.push_back({"form: length",
                    {},
                    {stat_text("n_layers", L), stat_text("trainedness", trained),
                     "14 + round(4 (log anchor of layers 2..48 + trainedness)/2) phrases of 8 bars"}});
    form.push_back({"form: intro length",
                    {},
                    {stat_text("tension[0] log anchor 0.25..4", ten_abs[0]), "> 0.5 -> 16 bars, else 8"}});
    form.push_back({"form: buildup length",
                    gstd.tensors,
                    {stat_text("gate/up kurtosis blend at the middle layer", clap_n[at(L / 2)]),
                     "> 0.5 -> 16 bars, else 8"}});
    form.push_back(
        {"form: breakdown",
         {},
         {stat_text("largest mean spectral_delta into a layer", max_delta), stat_text("at layer", delta_at),
          "log anchor 0.02..1 > 0.5 -> 16 bars, else 8; placed at that layer's depth between the drops"}});
    form.push_back({"form: outro length",
                    {},
                    {stat_text("tension[last] log anchor", ten_abs[at(L - 1)]), "> 0.5 -> 16 bars, else 8"}});
  }
  const int bars = secs.back().end;

  GenreOutput out;
  Score& s = out.score;
  s.title = "house";
  s.set_tempo(0, p.number("bpm"));
  s.time_signatures.push_back({0, 4, 4});
  const int bass_i = s.add_track("Bass", 38);
  const int pad_i = s.add_track("Pad", 92);
  const int lead_i = s.add_track("Lead", 81);
  const int drum_i = s.add_drum_track("Drums");
  for (const Sec& sc : secs)
    add_section(out, sc.name, sc.first, sc.end, key.root_pc, section_modes ? sc.mode : key.mode);

  // ---- Harmony: 8 chords from the q (k, v, o) spectra, voice-led ----
  static const char* kRoles[4] = {"q", "k", "v", "o"};
  std::vector<double> stat(kChords, 0.0);
  std::vector<std::string> chord_tensors, chord_src;
  for (int i = 0; i < kChords; ++i) {
    const int l = L >= kChords ? i * L / kChords : i % L;
    const char* role = L >= kChords ? "q" : kRoles[(i / L) % 4];
    if (const MatrixFeatures* m = f.matrix(l, role)) {
      stat[at(i)] = spectral_decay(*m);
      chord_tensors.push_back(m->tensor);
    }
    chord_src.push_back(std::string(role) + "@" + std::to_string(l));
  }
  std::vector<int> order(kChords);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return stat[at(a)] < stat[at(b)]; });
  int degree[kChords];
  for (int r = 0; r < kChords; ++r) degree[order[at(r)]] = kDegreeByRank[r];
  // Harmonic rhythm and colour from trained-ness: a random model holds each chord twice
  // as long in plain triads; a trained one changes faster and adds sevenths.
  const int chord_bars = std::max(1, round_int(p.integer("chord_bars") * (trained < 0.2   ? 2.0
                                                                          : trained > 0.6 ? 0.5
                                                                                          : 1.0),
                                               1, kIntMax));
  const bool sevenths = trained >= 0.35;
  auto chord_index = [&](int b, const Sec& sc) {
    if (sc.part == kOutro && b >= sc.end - std::max(1, chord_bars)) return -1;  // the final tonic
    return (b / chord_bars) % kChords;
  };

  // ---- Rows for rhythm ----
  auto rows_of = [&](int l, const char* role) {
    const MatrixFeatures* m = f.matrix(l, role);
    return m ? robust01(strided(m->row_norms, kSteps)) : std::vector<double>(kSteps, 0.5);
  };
  auto cols_of = [&](int l, const char* role) {
    const MatrixFeatures* m = f.matrix(l, role);
    return m ? robust01(strided(m->col_norms, kSteps)) : std::vector<double>(kSteps, 0.5);
  };

  const std::int64_t step = s.ticks(0.25), dlen = s.ticks(0.1);
  // Swing delays the off 16ths by up to a third of a step.
  auto tick_of = [&](int b, int st) {
    return bar_tick(s, b) + st * step + (st % 2 ? round_int(swing * step / 3.0, 0, kIntMax) : 0);
  };
  Track& pad = s.tracks[at(pad_i)];
  Track& bass = s.tracks[at(bass_i)];
  Track& lead = s.tracks[at(lead_i)];
  Track& dr = s.tracks[at(drum_i)];
  pad.control(0, cc::kReverbSend, 80);
  pad.control(0, cc::kVolume, 92);
  lead.control(0, cc::kVolume, 84);
  lead.control(0, cc::kReverbSend, 50);
  bass.control(0, cc::kVolume, 110);
  const int lead_lo = p.integer("pitch_lo"), lead_hi = p.integer("pitch_hi");
  // Registers: the lead owns the top 18 semitones of its range and the pad voices its
  // chords in the 15 semitones a minor third below that floor, so the saw line is never
  // masked by the pad (sharing one register, ~40 % of the lead's notes sounded at or
  // under the pad's top note on three of the four fixtures).
  const int lead_floor = std::max(lead_lo, lead_hi - 18);
  const int pad_hi = std::max(15, lead_floor - 3), pad_lo = pad_hi - 15;
  std::vector<int> voicing;
  std::vector<std::string> lead_src;
  std::vector<int> last_mask_key;

  for (int b = 0; b < bars; ++b) {
    int si = 0;
    while (si + 1 < static_cast<int>(secs.size()) && b >= secs[at(si + 1)].first) ++si;
    const Sec& sc = secs[at(si)];
    const Mode mode = section_modes ? sc.mode : key.mode;
    const int ci = chord_index(b, sc);
    const int d = ci < 0 ? 0 : degree[ci];
    const int dv = d >= 4 ? d - 7 : d;
    const int in8 = (b - sc.first) % 8, in4 = (b - sc.first) % 4;
    const int phrase = b / 4;
    const int l = phrase % L;
    const std::size_t li = at(l);
    const double tn = ten_n[li];
    const double sec_prog = static_cast<double>(b - sc.first) / std::max(1, sc.end - sc.first);
    const bool drop = sc.part == kDrop1 || sc.part == kDrop2;
    // The lead's phrase: its rhythm comes from a different matrix every phrase, and its
    // last bar breathes from beat 3 when that matrix's last row is high, else from beat 2
    // (the lead ran on evenly through whole drops); the pad answers in the breath.
    const char* role = kRoles[(phrase / L) % 4];
    const auto rr = rows_of(l, role);
    const double thr = 0.62 - 0.25 * tn;
    const int breath_from = rr[15] > thr ? 8 : 4;
    const int root_pc = ((mode_degree_pitch(key.root_midi, mode, dv) % 12) + 12) % 12;

    // Pad: a voice-led chord on each change; held in intro/breakdown/outro, stabs in the drops.
    const bool change = ci < 0 ? (b == sc.end - std::max(1, chord_bars) || b == sc.first)
                               : (b % chord_bars == 0 || b == sc.first);
    std::vector<int> pcs;
    for (int k : {0, 2, 4}) pcs.push_back(((mode_degree_pitch(key.root_midi, mode, dv + k) % 12) + 12) % 12);
    if (sevenths) pcs.push_back(((mode_degree_pitch(key.root_midi, mode, dv + 6) % 12) + 12) % 12);
    if (change || voicing.empty()) voicing = voice_lead(pcs, voicing, pad_lo, pad_hi);
    const int pad_vel = sc.part == kIntro       ? 52 + trunc_int(20 * sec_prog, 0, 20)
                        : sc.part == kBreakdown ? 72
                        : sc.part == kOutro     ? 66 - trunc_int(24 * sec_prog, 0, 24)
                                                : 64;
    if (drop || sc.part == kBuildup) {
      // Stabs on the off-beats and the 16th after them where the phrase layer's o rows
      // are high; the rows are read from a different offset in each bar. In the last bar
      // of four the pad answers the lead in its breath: a stab on every off-beat there
      // and on the 16th after it where the o rows are high.
      const auto o = rows_of(l, "o");
      for (int st = 0; st < kSteps; ++st) {
        const double x = o[at((st + 3 * in4 + phrase) % kSteps)];
        const bool hit = st == 0 || (st % 4 == 2 && x > 0.35) || (st % 4 == 3 && x > 0.7);
        // The buildup's stabs quicken: halves, then quarters, then eighths.
        const int period = sec_prog < 0.25 ? 8 : sec_prog < 0.625 ? 4 : 2;
        const bool answer = in4 == 3 && st >= breath_from && (st % 4 == 2 || (st % 4 == 3 && x > 0.5));
        if (sc.part == kBuildup ? st % period != 0 : in4 == 3 ? !(answer || (st < breath_from && hit)) : !hit)
          continue;
        for (int pch : voicing)
          // A stab never rings over the bar line into the next chord.
          pad.note(tick_of(b, st),
                   std::min<std::int64_t>(sc.part == kBuildup ? period * step * 9 / 10 : step * 3 / 2,
                                          bar_tick(s, b + 1) - tick_of(b, st) - step / 6),
                   pch, pad_vel + (st == 0 ? 6 : 0));
      }
    } else if (change) {
      int end = b + 1;
      while (end < sc.end && end < bars && !(chord_index(end, sc) != ci || end % chord_bars == 0)) ++end;
      if (ci < 0) end = sc.end;
      for (int pch : voicing)
        pad.note(bar_tick(s, b), bar_tick(s, end) - bar_tick(s, b) - s.ticks(0.05), pch, pad_vel);
    }

    // Bass: root on the off-beats and on the downbeat of a chord change, syncopated 16ths
    // on the chord tones, rests elsewhere.
    const bool bass_on = drop || (sc.part == kBuildup && sec_prog >= 0.5) ||
                         (sc.part == kOutro && sec_prog < 0.5) ||
                         (sc.part == kIntro && sc.end - sc.first >= 16 && sec_prog >= 0.5);
    if (bass_on) {
      const auto r = rows_of(l, "down");
      // The chord root within a fourth or fifth of the key's root, an octave under the
      // key's register (dv is -3..3), so the bass follows the harmony by short moves.
      const int root = mode_degree_pitch(key.root_midi - 12, mode, dv);
      const int extra = 1 + round_int(4 * sync_n[li], 0, 4);
      std::array<int, kSteps> note{};
      note.fill(-1);
      // A chord held 4 or 8 bars (trained-ness up to 0.6) moves its bass to the other
      // octave for its second half: a random model's 8-bar chords left one pitch on 62-69 %
      // of the bass notes for 15 s. The other octave is the upper one while it stays under
      // the pad's floor, else the lower one down to E1. Off-beats jump to the other octave
      // where the down rows are high.
      const int other = root + 12 <= pad_lo || root - 12 < 28 ? root + 12 : root - 12;
      const bool second_half = ci >= 0 && chord_bars >= 4 && b % chord_bars >= chord_bars / 2;
      const int home = second_half ? other : root, away = second_half ? root : other;
      for (int st : {2, 6, 10, 14}) note[at(st)] = r[at(st)] > 0.8 ? away : home;
      if (change || (r[0] > 0.7 && in4 == 0)) note[0] = home;
      std::vector<std::pair<double, int>> cand;
      for (int st : {3, 5, 7, 9, 11, 13, 15}) cand.emplace_back(-r[at((st + in4 * 3) % kSteps)], st);
      std::stable_sort(cand.begin(), cand.end());
      const int tones[3] = {7, 12, 10};
      for (int i = 0; i < extra && i < static_cast<int>(cand.size()); ++i) {
        const int st = cand[at(i)].second;
        int pch = home + tones[i % 3];
        while (!Scale(key.root_pc, mode, 0, 127).contains(pch)) --pch;
        note[at(st)] = pch;
      }
      // The last bar of a 4-bar group walks into the next chord.
      if (in4 == 3) {
        note[14] = -1;
        note[15] = Scale(key.root_pc, mode, 0, 127).step(home, r[15] > 0.5 ? 1 : -1);
      }
      if (in4 == 1 && r[at(in8)] < 0.3) note[10] = -1;  // a breath in the second bar
      const int vel = sc.part == kBuildup ? 84 : sc.part == kOutro ? 88 : 100;
      for (int st = 0; st < kSteps; ++st)
        if (note[at(st)] >= 0)
          bass.note(tick_of(b, st), step * 8 / 10, note[at(st)], vel + (st % 4 == 2 ? 8 : 0));
    }

    // Lead: in the drops (and the end of the buildup, the breakdown at half speed) a
    // 4-bar call and answer whose rhythm comes from a different matrix every phrase.
    const bool lead_on = drop || sc.part == kBreakdown || (sc.part == kBuildup && sec_prog >= 0.75);
    if (lead_on) {
      const auto cc = cols_of(l, role);
      if (in4 == 0) lead_src.push_back(std::string(role) + "@" + std::to_string(l));
      std::array<bool, kSteps> mask{};
      for (int st = 0; st < kSteps; ++st) mask[at(st)] = rr[at(st)] > thr;
      if (in4 == 1)
        std::rotate(mask.begin() + 8, mask.begin() + 8 + 1 + trunc_int(cc[0] * 2.99, 0, 2), mask.end());
      if (in4 == 3)
        for (int st = breath_from; st < kSteps; ++st) mask[at(st)] = false;
      if (sc.part == kBreakdown)
        for (int st = 0; st < kSteps; ++st) mask[at(st)] = mask[at(st)] && st % 2 == 0;
      mask[0] = mask[0] || in4 == 0;
      const Scale ls(key.root_pc, mode, lead_floor, lead_hi);
      // Home is the key's root 6 semitones under the middle of the lead's register: the
      // chord tones (a fourth under home to an octave and a fifth over it) then fold
      // into the register from both ends instead of piling onto its top note.
      const int mid = (lead_floor + lead_hi) / 2 - 6;
      const int home = mid + ((key.root_pc - mid) % 12 + 18) % 12 - 6;
      int prev = ls.snap(home + ((root_pc - key.root_pc + 12) % 12));
      const int kTones[4] = {0, 2, 4, 7};
      for (int st = 0; st < kSteps; ++st) {
        if (!mask[at(st)]) continue;
        // The chord tone: the col norms choose, and the note's place in the bar turns the
        // choice, so the line moves through the chord instead of sitting on one tone.
        const int pick = (trunc_int(cc[at(st)] * 3.999, 0, 3) + st / 3 + in4) % 4;
        int target = mode_degree_pitch(home, mode, dv + kTones[pick]);
        while (target > lead_hi && target - 12 >= lead_floor) target -= 12;
        while (target < lead_floor && target + 12 <= lead_hi) target += 12;
        target = ls.snap(target);
        // Mostly stepwise: approach the chord tone from the previous note by at most a fourth.
        int pch = target;
        if (std::abs(target - prev) > 5) pch = ls.step(prev, target > prev ? 2 : -2);
        int nx = st + 1;
        while (nx < kSteps && !mask[at(nx)]) ++nx;
        std::int64_t len = std::min<std::int64_t>(nx - st, 4) * step - step / 6;
        // In the breath's bar a (swung) note ends before the breath.
        if (in4 == 3) len = std::min(len, tick_of(b, breath_from) - tick_of(b, st) - step / 6);
        lead.note(tick_of(b, st), len, pch, (st % 4 == 0 ? 92 : 74) + (in4 == 3 ? -6 : 0));
        prev = pch;
      }
    }

    // Drums.
    const auto g = rows_of(l, f.matrix(l, "gate") ? "gate" : "up");
    const bool kick =
        sc.part != kBreakdown && !(sc.part == kOutro && b >= bars - 2) && !(sc.part == kBuildup && in8 == 7);
    const bool claps =
        drop || sc.part == kOutro || (sc.part == kBuildup && clap_n[li] >= p.number("clap_gate"));
    const bool fill = in8 == 7 && sc.part != kOutro;
    for (int beat = 0; beat < 4; ++beat) {
      const std::int64_t bt = bar_tick(s, b) + s.ticks(beat);
      if (kick && !(fill && beat == 3 && drop)) dr.note(bt, dlen, drum::kKick, 112);
      if (claps && beat % 2 == 1 && !(fill && beat == 3)) dr.note(bt, dlen, drum::kClap, 94);
    }
    if (sc.part == kBreakdown && b == sc.end - 1)  // the riser: a snare roll into the drop
      for (int st = 0; st < kSteps; ++st) dr.note(tick_of(b, st), dlen, drum::kSnare, 50 + 4 * st);
    const bool hats = sc.part != kBreakdown || sec_prog >= 0.5;
    if (hats && !(sc.part == kIntro && sec_prog < 0.25)) {
      for (int st = 0; st < kSteps; ++st) {
        if (st % 4 == 2) {
          dr.note(tick_of(b, st), dlen, drop || sc.part == kOutro ? drum::kOpenHat : drum::kClosedHat,
                  round_int(64 + 34 * tn, 1, 127));
        } else if (st % 4 != 0 && g[at((st + 5 * in4) % kSteps)] > 1.0 - 0.7 * tn) {
          dr.note(tick_of(b, st), dlen, drum::kClosedHat, round_int(40 + 30 * g[at(st)], 1, 127));
        }
      }
    }
    if (fill) {
      const int hits = 3 + round_int(5 * tn, 0, 5);
      for (int i = 0; i < hits; ++i)
        dr.note(tick_of(b, kSteps - hits + i), dlen, i % 3 == 2 ? drum::kHighTom : drum::kSnare,
                64 + 44 * (i + 1) / hits);
    }
    if (b == sc.first && sc.part != kIntro && sc.part != kBreakdown)
      dr.note(bar_tick(s, b), dlen, drum::kCrash, 104);
    if (b == bars - 1) dr.note(bar_tick(s, b), s.ticks(2), drum::kCrash, 90);
  }
  for (auto& t : s.tracks) fix_overlaps(t);

  for (auto& pr : form) out.provenance.push_back(std::move(pr));
  {
    std::string degs;
    for (int i = 0; i < kChords; ++i) degs += (i ? " " : "") + std::to_string(degree[i] + 1);
    std::string src;
    for (const auto& c : chord_src) src += (src.empty() ? "" : ", ") + c;
    out.provenance.push_back(
        {"track Pad: chord progression (degrees " + degs + "), voice-led in " + pitch_name(pad_lo) + "-" +
             pitch_name(pad_hi) + ", under the lead's " + pitch_name(lead_floor) + "-" + pitch_name(lead_hi),
         chord_tensors,
         {"spectral decay mean(log1p σ[0:16])/log1p σ1 of " + src + ", rank -> degree"}});
    out.provenance.push_back(
        {"track Pad: harmonic rhythm and colour",
         {},
         {stat_text("trainedness", trained), stat_text("bars per chord", chord_bars),
          sevenths ? "trainedness >= 0.35: seventh chords" : "trainedness < 0.35: triads"}});
  }
  out.provenance.push_back({"track Pad: stabs in the drops",
                            {},
                            {"o.row_norms of the phrase's layer, robust01 -> off-beat stabs",
                             "every 4th bar: a stab on each off-beat of the lead's breath (answer)"}});
  out.provenance.push_back(
      {"track Bass",
       dk.tensors,
       {"chord root on the off-beats and the downbeat of each chord change; down.row_norms of layer "
        "(bar/4)%L "
        "-> which 16ths and off-beat octave jumps; chords of 4-8 bars (trainedness <= 0.6) move to the "
        "other octave for their second half",
        "down.moments.kurtosis: blend(kurtosis anchor, rank) -> 1..5 syncopated 16ths per bar"}});
  {
    std::string src;
    for (const auto& c : lead_src) src += (src.empty() ? "" : " ") + c;
    out.provenance.push_back(
        {"track Lead: rhythm per phrase",
         {},
         {"row_norms of role@layer per 4-bar phrase (" + src +
              "), robust01 > 0.62 - 0.25 tension -> onsets; col_norms -> chord tone",
          "row 15 of the same matrix > that threshold -> the phrase's last bar rests from "
          "beat 3, else from beat 2"}});
  }
  out.provenance.push_back(
      {"groove: swing",
       {},
       {stat_text("mean attn_norm gain std", gain_std),
        stat_text("swing 0..1 (log anchor 0.005..0.3)", swing), "off 16ths late by swing x step/3"}});
  out.provenance.push_back(
      {"track Drums",
       gstd.tensors,
       {"tension per layer: blend(log anchor, rank) -> hat density and fill length; gate/up rows -> which "
        "16ths; gate/up kurtosis >= clap_gate -> claps in the buildup"}});
  warn_length(out, p);
  return out;
}

}  // namespace

Genre house_genre() {
  Genre g;
  g.name = "house";
  g.summary =
      "128 BPM house: intro / buildup / drop / breakdown / drop 2 / outro, form, swing and rhythm from the "
      "model";
  g.params = common_params(128, "sections", 60, 84);
  for (auto& ps : g.params)
    if (ps.name == "mode") {
      ps.choices.insert(ps.choices.begin() + 1, "sections");
      ps.meaning =
          "scale mode; sections = lydian/dorian/phrygian/dorian/phrygian/aeolian per section, auto = the "
          "tonality's mode";
    } else if (ps.name == "bars") {
      ps.meaning = "length in bars (sections scaled to it); 0 = the form the model decides";
    }
  g.params.push_back({"chord_bars",
                      ParamType::Int,
                      "4",
                      1,
                      64,
                      {},
                      "bars per chord at medium trained-ness (x2 for random, x0.5 for well trained)"});
  g.params.push_back({"clap_gate",
                      ParamType::Number,
                      "0.3",
                      0,
                      1,
                      {},
                      "gate_proj kurtosis level (0..1) from which claps play in the buildup"});
  g.compose = compose_house;
  return g;
}

}  // namespace sonify::genres
