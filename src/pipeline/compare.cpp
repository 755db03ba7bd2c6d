#include "sonify/compare.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <optional>

#include "compare_direction.h"
#include "core/output_set.h"
#include "sonify/analysis.h"
#include "sonify/genres.h"
#include "sonify/midi.h"
#include "sonify/pipeline_compare.h"
#include "sonify/render.h"

namespace sonify {
namespace {

using nlohmann::json;

// Below this relative change a layer counts as unchanged: float32 round-off of a copy
// that went through another dtype and back stays under it.
constexpr double kSilentChange = 1e-6;

// Intervals above the root from consonant to dissonant: the larger a layer's change, the
// further along this ladder the change voice sings.
constexpr int kLadder[] = {0, 7, 12, 4, 9, 2, 11, 1, 6};

// 0 at kSilentChange, 1 at a relative change of 1 (the layer replaced), log-spaced.
double change_level(double relative) {
  if (!(relative > kSilentChange)) return 0;
  return std::clamp(std::log10(relative / kSilentChange) / 6.0, 0.0, 1.0);
}

// Where layer `layer` plays in `out`: its "layer N" section when the genre has one (acid),
// else the layer's share of the whole piece. In bars.
std::pair<double, double> layer_span(const GenreOutput& out, int layer, int n_layers) {
  const std::string name = "layer " + std::to_string(layer);
  for (const auto& s : out.sections)
    if (s.name == name) return {s.first_bar, s.end_bar};
  const double bar = static_cast<double>(out.score.ppq) * out.beats_per_bar;
  const double bars = std::ceil(static_cast<double>(out.score.end_ticks()) / bar);
  return {bars * layer / n_layers, bars * (layer + 1) / n_layers};
}

// The change voice over A's piece: per layer, notes on the root of A's key moved up the
// ladder by the layer's change; one held note per two bars for a low-rank change (an
// edited direction), pulses on every beat for a diffuse one (training, noise).
Score change_score(const GenreOutput& a, const WeightFeatures& fa, const ModelDiff& diff) {
  Score s;
  s.title = "change";
  s.ppq = a.score.ppq;
  s.tempos = a.score.tempos;
  s.time_signatures = a.score.time_signatures;
  const int t = s.add_track("Change (choir)", 52);
  const std::int64_t bar = static_cast<std::int64_t>(s.ppq) * a.beats_per_bar;
  const int n_layers = static_cast<int>(diff.layer_change.size());
  for (int l = 0; l < n_layers; ++l) {
    const double level = change_level(diff.layer_change[l]);
    if (level <= 0) continue;
    double rank = 0;
    for (const auto& c : diff.tensors)
      if (c.layer == l && c.relative == diff.layer_change[l]) rank = c.delta_stable_rank;
    const std::int64_t step = rank < 2 ? 2 * bar : rank < 8 ? bar : bar / a.beats_per_bar;
    const int pitch = fa.tonality.root_midi + 12 + kLadder[static_cast<int>(std::lround(level * 8))];
    const int velocity = 40 + static_cast<int>(std::lround(80 * level));
    const auto [first, end] = layer_span(a, l, n_layers);
    const auto begin_tick = static_cast<std::int64_t>(std::llround(first * bar));
    const auto end_tick = static_cast<std::int64_t>(std::llround(end * bar));
    for (std::int64_t at = begin_tick; at < end_tick; at += step)
      s.tracks[t].note(at, std::min(step, end_tick - at) * 15 / 16, pitch, velocity);
  }
  s.tracks[t].control(0, cc::kReverbSend, 70);
  return s;
}

// A's piece in the left channel, B's in the right and the change voice in the centre, each
// folded to mono: where the two pieces agree the channels hold the same samples.
Audio mix(const Audio& a, const Audio& b, const Audio* change) {
  Audio out;
  out.sample_rate_hz = a.sample_rate_hz;
  std::size_t frames = std::max(a.frames(), b.frames());
  if (change) frames = std::max(frames, change->frames());
  out.samples.assign(frames * 2, 0.0f);
  for (std::size_t i = 0; i < frames; ++i) {
    if (i < a.frames()) out.samples[2 * i] += 0.5f * (a.samples[2 * i] + a.samples[2 * i + 1]);
    if (i < b.frames()) out.samples[2 * i + 1] += 0.5f * (b.samples[2 * i] + b.samples[2 * i + 1]);
    if (change && i < change->frames()) {
      const float centre = 0.5f * (change->samples[2 * i] + change->samples[2 * i + 1]);
      out.samples[2 * i] += centre;
      out.samples[2 * i + 1] += centre;
    }
  }
  return out;
}

json change_json(const TensorChange& c, const WeightFeatures& fa, const WeightFeatures& fb) {
  json j = {{"layer", c.layer},
            {"role", c.role},
            {"part", c.part},
            {"tensor", c.tensor},
            {"shape", c.shape},
            {"dtype_a", c.dtype_a},
            {"dtype_b", c.dtype_b},
            {"relative_change", c.relative},
            {"delta_frobenius", c.delta_norm},
            {"frobenius_a", c.norm_a},
            {"frobenius_b", c.norm_b},
            {"cosine", c.cosine},
            {"changed_entries", c.changed}};
  if (c.shape.size() == 2) {
    j["delta_sigma1"] = c.delta_sigma1;
    j["delta_stable_rank"] = c.delta_stable_rank;
    const MatrixFeatures* ma = fa.matrix(c.layer, c.role);
    const MatrixFeatures* mb = fb.matrix(c.layer, c.role);
    if (ma && mb && ma->tensor == c.tensor) {
      j["alpha_a"] = ma->spectrum.alpha;
      j["alpha_b"] = mb->spectrum.alpha;
      j["kurtosis_a"] = ma->moments.kurtosis;
      j["kurtosis_b"] = mb->moments.kurtosis;
      j["stable_rank_a"] = ma->spectrum.stable_rank;
      j["stable_rank_b"] = mb->spectrum.stable_rank;
    }
  }
  return j;
}

std::string label(const TensorChange& c) {
  return (c.layer < 0 ? std::string() : "layer " + std::to_string(c.layer) + " ") + c.role + " " + c.part;
}

}  // namespace

Result<CompareRun> run_compare(const CompareRequest& req) {
  if (req.direction.empty() && (!req.prompt.empty() || req.direction_layer >= 0))
    return fail(req.prompt.empty() ? "--direction-layer" : "--prompt", " needs --direction SET.json");
  SONIFY_ASSIGN_OR_RETURN(genre, find_genre(req.genre));
  SONIFY_ASSIGN_OR_RETURN(params, genre_params(*genre, req.genre_config_dir, req.sets));
  SONIFY_ASSIGN_OR_RETURN(a, Model::open(req.model_a));
  SONIFY_ASSIGN_OR_RETURN(b, Model::open(req.model_b));
  SONIFY_ASSIGN_OR_RETURN(diff, diff_models(a, b));
  bool cached = false;
  SONIFY_ASSIGN_OR_RETURN(fa, analyze_weights_cached(a, AnalyzeOptions{}, &cached));
  SONIFY_ASSIGN_OR_RETURN(fb, analyze_weights_cached(b, AnalyzeOptions{}, &cached));
  SONIFY_ASSIGN_OR_RETURN(piece_a, genre->compose(fa, params));
  SONIFY_ASSIGN_OR_RETURN(piece_b, genre->compose(fb, params));
  const Score change = change_score(piece_a, fa, diff);
  std::optional<pipeline::DirectionComparison> direction;
  std::optional<MidiFile> midi_direction;
  if (!req.direction.empty()) {
    SONIFY_ASSIGN_OR_RETURN(
        d, pipeline::compare_direction(a, b, req.model_a, req.direction, req.prompt, req.direction_layer));
    SONIFY_ASSIGN_OR_RETURN(
        m, midi_from_score(pipeline::direction_score(d, fa.tonality.root_midi, fa.tonality.mode)));
    direction = std::move(d);
    midi_direction = std::move(m);
  }
  SONIFY_ASSIGN_OR_RETURN(midi_a, midi_from_score(piece_a.score));
  SONIFY_ASSIGN_OR_RETURN(midi_b, midi_from_score(piece_b.score));
  SONIFY_ASSIGN_OR_RETURN(midi_change, midi_from_score(change));

  std::vector<std::size_t> order(diff.tensors.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) {
    return diff.tensors[x].relative > diff.tensors[y].relative;
  });

  SONIFY_ASSIGN_OR_RETURN(set, OutputSet::open(req.out_dir, req.name));
  json render = nullptr;
  if (!req.midi_only) {
    SynthOptions synth;
    synth.soundfont = req.soundfont;
    SONIFY_ASSIGN_OR_RETURN(audio_a, render_audio(midi_a, synth));
    SONIFY_ASSIGN_OR_RETURN(audio_b, render_audio(midi_b, synth));
    Audio audio_change;
    const bool sings = !change.tracks[0].notes.empty();
    if (sings) {
      SONIFY_ASSIGN_OR_RETURN(rendered, render_audio(midi_change, synth));
      audio_change = std::move(rendered);
    }
    Audio mixed = mix(audio_a, audio_b, sings ? &audio_change : nullptr);
    MasterOptions master;
    master.loudness = true;
    SONIFY_ASSIGN_OR_RETURN(stats, master_audio(mixed, master));
    SONIFY_TRY(wav_write(set.temp_path(".wav"), mixed, SampleFormat::s16));
    if (midi_direction) {
      SONIFY_ASSIGN_OR_RETURN(voices, render_audio(*midi_direction, synth));
      SONIFY_ASSIGN_OR_RETURN(voices_master, master_audio(voices, master));
      render["direction_loudness_lufs"] = voices_master.loudness_lufs;
      SONIFY_TRY(wav_write(set.temp_path(".direction.wav"), voices, SampleFormat::s16));
    }
    render = {{"seconds", mixed.seconds()},
              {"loudness_lufs", stats.loudness_lufs},
              {"peak_dbfs", stats.peak_dbfs},
              {"channels", "left: model A's piece, right: model B's piece, both: the change voice"}};
  }
  SONIFY_TRY(set.write(".a.mid", midi_encode(midi_a)));
  SONIFY_TRY(set.write(".b.mid", midi_encode(midi_b)));
  SONIFY_TRY(set.write(".diff.mid", midi_encode(midi_change)));
  if (midi_direction) SONIFY_TRY(set.write(".direction.mid", midi_encode(*midi_direction)));

  json j;
  j["model_a"] = {{"path", req.model_a}, {"family", fa.family}, {"checkpoint_id", fa.checkpoint_id}};
  j["model_b"] = {{"path", req.model_b}, {"family", fb.family}, {"checkpoint_id", fb.checkpoint_id}};
  json values = json::object();
  for (const auto& [k, v] : params.values()) values[k] = v;
  j["genre"] = genre->name;
  j["options"] = {{"params", values}, {"set", req.sets}, {"midi_only", req.midi_only}};
  j["tensors"] = diff.tensors.size();
  j["changed_tensors"] = diff.changed_tensors;
  j["model_change"] = diff.model_change;
  j["layer_change"] = diff.layer_change;
  j["ranking"] = json::array();
  for (std::size_t i : order) j["ranking"].push_back(change_json(diff.tensors[i], fa, fb));
  j["sections"] = json::array();  // of A's piece, where each layer's change can be heard
  const std::int64_t bar = static_cast<std::int64_t>(piece_a.score.ppq) * piece_a.beats_per_bar;
  for (const auto& s : piece_a.sections)
    j["sections"].push_back({{"name", s.name},
                             {"first_bar", s.first_bar},
                             {"end_bar", s.end_bar},
                             {"start_seconds", piece_a.score.seconds_at(s.first_bar * bar)}});
  j["length_seconds"] = std::max(piece_a.score.length_seconds(), piece_b.score.length_seconds());
  j["render"] = render;
  if (direction) {
    const auto& d = *direction;
    j["direction"] = {{"set", d.set_name},
                      {"set_hash", d.set_hash},
                      {"sides", {d.label_a, d.label_b}},
                      {"state", d.state},
                      {"separation", d.separation},
                      {"vector", d.direction},
                      {"centre", d.centre},
                      {"spread", d.spread},
                      {"prompt", d.prompt},
                      {"pieces", d.pieces},
                      {"projection_a", d.projection_a},
                      {"projection_b", d.projection_b}};
  }
  SONIFY_TRY(set.write(".json", j.dump(2) + "\n"));
  // Members an earlier run in DIR may have left and this one did not write.
  std::vector<std::string> stale;
  if (req.midi_only || !midi_direction) stale.push_back(".direction.wav");
  if (req.midi_only) stale.push_back(".wav");
  if (!midi_direction) stale.push_back(".direction.mid");
  SONIFY_TRY(set.commit(stale));

  CompareRun run;
  for (const char* ext : {".a.mid", ".b.mid", ".diff.mid"}) run.files.push_back(set.final_path(ext));
  if (!req.midi_only) run.files.push_back(set.final_path(".wav"));
  if (midi_direction) {
    run.files.push_back(set.final_path(".direction.mid"));
    if (!req.midi_only) run.files.push_back(set.final_path(".direction.wav"));
  }
  run.files.push_back(set.final_path(".json"));
  run.tensors = diff.tensors.size();
  run.changed_tensors = static_cast<std::size_t>(diff.changed_tensors);
  for (std::size_t k = 0; k < std::min<std::size_t>(5, order.size()); ++k) {
    const TensorChange& c = diff.tensors[order[k]];
    if (c.changed == 0) break;
    char value[32];
    std::snprintf(value, sizeof value, "%.4g", c.relative);
    run.top.push_back(label(c) + ": " + value);
  }
  run.length_seconds = j["length_seconds"].get<double>();
  return run;
}

}  // namespace sonify
