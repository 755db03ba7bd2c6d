// suite: the five-movement "DNA" suite of SPEC-notebooks §11 as MIDI. I Prologue: the
// embedding spectrum as a Lydian organ cluster whose voices enter one by one (the
// original computed that entry delay and never applied it); II Anatomy: the q/k/v/o
// spectra of each layer as Dorian strings; III Memory: the MLP spectra as Phrygian brass;
// IV Balance: every norm γ as an Aeolian flute note; V Epilogue: the Frobenius norms in
// layer order as bells fading to silence. Spectra are compared across layers (each
// σ_j normalised over the layers), so the parts move where the original's sorted,
// self-normalised spectra gave the same shape for every layer.
#include <algorithm>
#include <cmath>

#include "genre_util.h"

namespace sonify::genres {
namespace {

Result<GenreOutput> compose_suite(const WeightFeatures& f, const GenreParams& p) {
  const int L = f.n_layers;
  if (L <= 0) return fail("suite: the model has no layers");
  SONIFY_ASSIGN_OR_RETURN(key, resolve_key(f, p));
  const int lo = p.integer("pitch_lo"), hi = p.integer("pitch_hi");
  const int bars_per_layer = p.integer("bars_per_layer");
  const bool fixed_modes = p.text("mode") == "movements";
  auto mode_of = [&](Mode m) { return fixed_modes ? m : key.mode; };

  GenreOutput out;
  Score& s = out.score;
  s.title = "suite";
  s.set_tempo(0, p.number("bpm"));
  s.time_signatures.push_back({0, 4, 4});
  const int organ = s.add_track("Organ", 19);
  const char* attn_roles[4] = {"q", "k", "v", "o"};
  const char* string_names[4] = {"Violins", "Violas", "Cellos", "Contrabasses"};
  int strings[4];
  for (int i = 0; i < 4; ++i) strings[i] = s.add_track(string_names[i], 40 + i);
  const char* mlp_roles[3] = {"gate", "up", "down"};
  const char* brass_names[3] = {"Trumpets", "Horns", "Tuba"};
  const int brass_programs[3] = {56, 60, 58};
  int brass[3];
  for (int i = 0; i < 3; ++i) brass[i] = s.add_track(brass_names[i], brass_programs[i]);
  const int flute = s.add_track("Flute", 73);
  const int bells = s.add_track("Bells", 14);
  const int timpani = s.add_drum_track("Percussion");
  auto T = [&](int i) -> Track& { return s.tracks[static_cast<std::size_t>(i)]; };

  // I. Prologue: up to 48 embedding singular values, entering over the first half.
  int bar = 0;
  const int prologue_bars = 8;
  {
    const Mode m = mode_of(Mode::lydian);
    add_section(out, "I Prologue", bar, bar + prologue_bars, key.root_pc, m);
    const Scale sc(key.root_pc, m, std::max(lo, 36), std::min(hi, 96));
    const MatrixFeatures* e = f.matrix(-1, "embed");
    std::vector<double> sv;
    if (e) sv.assign(e->spectrum.singular_values.begin(),
                     e->spectrum.singular_values.begin() + std::min<std::ptrdiff_t>(48, e->spectrum.singular_values.size()));
    std::vector<double> ls(sv.size());
    for (std::size_t i = 0; i < sv.size(); ++i) ls[i] = std::log1p(sv[i]);
    const std::vector<double> v = norm01(ls);
    const std::int64_t end = bar_tick(s, prologue_bars) - s.ticks(0.25);
    for (std::size_t i = 0; i < v.size(); ++i) {
      const std::int64_t start = s.ticks(16.0 * static_cast<double>(i) / static_cast<double>(v.size()));
      const double amp = ls[0] > 0 ? ls[i] / ls[0] : 0;
      T(organ).note(start, end - start, sc.at_fraction(v[i]), static_cast<int>(std::lround(30 + 50 * amp)));
    }
    T(organ).control(0, cc::kReverbSend, 100);
    out.provenance.push_back({"section I Prologue / track Organ", e ? std::vector<std::string>{e->tensor} : std::vector<std::string>{},
                              {"embed.spectrum: top 48 σ, norm01(log1p σ) -> Lydian pitch, log1p σ / log1p σ1 -> velocity, voice i enters at i/48 of 4 bars"}});
    bar += prologue_bars;
  }
  // II. Anatomy: per layer, each attention matrix plays 4 notes from σ_0, σ_1, σ_3, σ_7.
  {
    const Mode m = mode_of(Mode::dorian);
    const int n = L * bars_per_layer;
    add_section(out, "II Anatomy", bar, bar + n, key.root_pc, m);
    const double ranges[4][2] = {{0.55, 0.95}, {0.40, 0.78}, {0.22, 0.60}, {0.05, 0.42}};
    const Scale sc(key.root_pc, m, std::max(lo - 12, 24), hi);
    for (int r = 0; r < 4; ++r) {
      std::vector<std::string> tensors;
      const auto x = spectrum_across_layers(f, attn_roles[r], {0, 1, 3, 7}, &tensors);
      for (int l = 0; l < L; ++l)
        for (int rep = 0; rep < bars_per_layer; ++rep)
          for (int i = 0; i < 4; ++i) {
            const double v = x[static_cast<std::size_t>(l)][static_cast<std::size_t>(i)];
            const int pitch = sc.at_fraction(ranges[r][0] + v * (ranges[r][1] - ranges[r][0]));
            const double ten = f.tension.empty() ? 0.5 : norm01(f.tension)[static_cast<std::size_t>(l)];
            T(strings[r]).note(bar_tick(s, bar + l * bars_per_layer + rep, i), s.ticks(0.95), pitch,
                               static_cast<int>(std::lround(56 + 40 * ten - 6 * r)));
          }
      out.provenance.push_back({std::string("section II Anatomy / track ") + string_names[r], tensors,
                                {std::string(attn_roles[r]) + ".spectrum σ0 σ1 σ3 σ7: log1p, norm01 across layers -> 4 Dorian notes per layer; tension -> velocity"}});
    }
    bar += n;
  }
  // III. Memory: the MLP matrices the same way, Phrygian brass.
  {
    const Mode m = mode_of(Mode::phrygian);
    const int n = L * bars_per_layer;
    add_section(out, "III Memory", bar, bar + n, key.root_pc, m);
    const double ranges[3][2] = {{0.50, 0.90}, {0.30, 0.70}, {0.02, 0.40}};
    const Scale sc(key.root_pc, m, std::max(lo - 12, 24), hi);
    for (int r = 0; r < 3; ++r) {
      std::vector<std::string> tensors;
      const auto x = spectrum_across_layers(f, mlp_roles[r], {0, 2, 5}, &tensors);
      if (tensors.empty()) continue;  // GPT-2 has no gate
      for (int l = 0; l < L; ++l)
        for (int rep = 0; rep < bars_per_layer; ++rep) {
          const std::int64_t t0 = bar_tick(s, bar + l * bars_per_layer + rep);
          for (int i = 0; i < 3; ++i) {
            const double v = x[static_cast<std::size_t>(l)][static_cast<std::size_t>(i)];
            const int pitch = sc.at_fraction(ranges[r][0] + v * (ranges[r][1] - ranges[r][0]));
            const double beats = i == 2 ? 2.0 : 1.0;
            T(brass[r]).note(t0 + s.ticks(i == 0 ? 0.0 : i == 1 ? 1.0 : 2.0), s.ticks(beats * 0.95), pitch, 70 + 10 * (i == 0));
          }
        }
      out.provenance.push_back({std::string("section III Memory / track ") + brass_names[r], tensors,
                                {std::string(mlp_roles[r]) + ".spectrum σ0 σ2 σ5: log1p, norm01 across layers -> Phrygian notes"}});
    }
    for (int l = 0; l < L * bars_per_layer; ++l)
      T(timpani).note(bar_tick(s, bar + l), s.ticks(0.1), drum::kLowTom, 70);
    bar += n;
  }
  // IV. Balance: every norm vector, one beat each, in model order.
  {
    const Mode m = mode_of(Mode::natural_minor);
    std::vector<const VectorFeatures*> norms;
    for (const auto& v : f.vectors)
      if (v.part == "weight" && v.role.find("norm") != std::string::npos) norms.push_back(&v);
    const int n = std::max(1, static_cast<int>((norms.size() + 3) / 4));
    add_section(out, "IV Balance", bar, bar + n, key.root_pc, m);
    const Scale sc(key.root_pc, m, std::max(lo, 48), std::min(hi + 12, 100));
    std::vector<double> mean, stdv;
    std::vector<std::string> tensors;
    for (const auto* v : norms) {
      mean.push_back(v->gain_offset + v->moments.mean);
      stdv.push_back(v->moments.std);
      tensors.push_back(v->tensor);
    }
    const auto mn = norm01(mean), sn = norm01(stdv);
    for (std::size_t i = 0; i < norms.size(); ++i)
      T(flute).note(bar_tick(s, bar, static_cast<double>(i)), s.ticks(0.9), sc.at_fraction(0.1 + 0.8 * mn[i]),
                    static_cast<int>(std::lround(50 + 50 * sn[i])));
    out.provenance.push_back({"section IV Balance / track Flute", tensors,
                              {"norm γ: offset + mean -> pitch (norm01 over vectors), std -> velocity, one beat each in model order"}});
    bar += n;
  }
  // V. Epilogue: Frobenius norms of the matrices in layer order, fading to silence.
  {
    const Mode m = mode_of(Mode::mixolydian);
    const int n = p.integer("epilogue_bars");
    add_section(out, "V Epilogue", bar, bar + n, key.root_pc, m);
    const Scale sc(key.root_pc, m, std::max(lo, 48), std::min(hi + 12, 108));
    std::vector<const MatrixFeatures*> mats;
    for (const auto& mf : f.matrices) mats.push_back(&mf);
    std::stable_sort(mats.begin(), mats.end(), [](const MatrixFeatures* a, const MatrixFeatures* b) { return a->layer < b->layer; });
    std::vector<double> fro;
    std::vector<std::string> tensors;
    for (const auto* mf : mats) fro.push_back(std::log1p(mf->frobenius)), tensors.push_back(mf->tensor);
    const auto fn = norm01(fro);
    const double beats = 4.0 * n;
    const std::int64_t end = bar_tick(s, bar + n);
    for (std::size_t i = 0; i < mats.size(); ++i) {
      const double at = beats * static_cast<double>(i) / static_cast<double>(mats.size());
      const double fade = 1.0 - at / beats;
      const std::int64_t start = bar_tick(s, bar, at);
      T(bells).note(start, std::min<std::int64_t>(s.ticks(3), end - start), sc.at_fraction(fn[i]),
                    static_cast<int>(std::lround(1 + 90 * fade * (0.4 + 0.6 * fn[i]))));
    }
    for (int k = 0; k <= 16; ++k)
      T(bells).control(bar_tick(s, bar, beats * k / 16.0), cc::kExpression, static_cast<int>(std::lround(127 * (1 - k / 16.0))));
    out.provenance.push_back({"section V Epilogue / track Bells", tensors,
                              {"frobenius of every matrix in layer order: norm01(log1p) -> Mixolydian pitch; velocity and CC11 fade to 0"}});
    bar += n;
  }
  for (auto& t : s.tracks) fix_overlaps(t);
  warn_length(out, p);
  return out;
}

}  // namespace

Genre suite_genre() {
  Genre g;
  g.name = "suite";
  g.summary = "the five-movement DNA suite: embedding organ, attention strings, MLP brass, norm flute, fading bells";
  g.params = common_params(72, "movements", 48, 88);
  for (auto& ps : g.params)
    if (ps.name == "mode") {
      ps.choices.insert(ps.choices.begin() + 1, "movements");
      ps.meaning = "scale mode; movements = lydian/dorian/phrygian/aeolian/mixolydian, auto = the tonality's mode";
    }
    else if (ps.name == "bars") ps.meaning = "not used by the suite: its length follows the model (see bars_per_layer)";
  g.params.push_back({"bars_per_layer", ParamType::Int, "1", 1, 16, {}, "bars per layer in movements II and III"});
  g.params.push_back({"epilogue_bars", ParamType::Int, "4", 1, 64, {}, "length of movement V"});
  g.compose = compose_suite;
  return g;
}

}  // namespace sonify::genres
