#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>

#include "core/atomic_file.h"
#include "core/output_set.h"
#include "core/text_file.h"
#include "pipeline/weight_hashes.h"
#include "sonify/analysis.h"
#include "sonify/genres.h"
#include "sonify/midi.h"
#include "sonify/pipeline_weights.h"
#include "sonify/render.h"
#include "sonify/report.h"
#include "sonify/scale.h"

namespace sonify {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// The weight files' hashes (pipeline::weight_file_hashes) with "hashing" progress in MB.
Result<json> weight_hashes(const Model& model, const std::function<void(const StepProgress&)>& progress) {
  const auto megabytes = [](std::uint64_t bytes) { return static_cast<std::size_t>(bytes / 1000000); };
  return pipeline::weight_file_hashes(model, [&](std::uint64_t done, std::uint64_t total) {
    progress({"hashing", "MB", megabytes(done), megabytes(total),
              total > 0 ? static_cast<double>(done) / static_cast<double>(total) : 1.0});
  });
}

json section_key_json(const Section& s) {
  return {{"root", s.root}, {"root_name", pitch_class_name(s.root)}, {"mode", s.mode}};
}

// The run record: which model (and its file hashes), which options, and for every track
// and section the tensors and statistics it came from.
json record_json(const WeightsRequest& req, const WeightFeatures& features, const json& hashes,
                 const GenreParams& params, const GenreOutput& out, const std::vector<int>& channels,
                 const json& render) {
  json j;
  j["genre"] = req.genre;
  j["title"] = out.score.title;
  j["model"] = {{"path", req.model_path},
                {"family", features.family},
                {"n_layers", features.n_layers},
                {"hidden_size", features.hidden_size},
                {"checkpoint_id", features.checkpoint_id},
                {"files", hashes}};
  json values = json::object();
  for (const auto& [k, v] : params.values()) values[k] = v;
  json config = nullptr;
  std::error_code ec;
  if (!req.genre_config_dir.empty() && fs::exists(genre_config_path(req.genre_config_dir, req.genre), ec))
    config = genre_config_path(req.genre_config_dir, req.genre);
  j["options"] = {{"params", values},
                  {"set", req.sets},
                  {"config", config},
                  {"midi_only", req.midi_only},
                  {"soundfont", req.soundfont}};
  if (req.svd != SvdMethod::Auto) j["options"]["svd"] = svd_method_name(req.svd);
  const Tonality& tn = features.tonality;
  j["tonality"] = {{"root", tn.root}, {"root_name", tn.root_name}, {"mode", tn.mode}, {"source", tn.source}};
  j["key"] = out.sections.empty() ? json(nullptr) : section_key_json(out.sections[0]);
  j["tempo_bpm"] = out.score.tempos.empty() ? 120.0 : out.score.tempos[0].bpm();
  j["ppq"] = out.score.ppq;
  j["beats_per_bar"] = out.beats_per_bar;
  j["length_seconds"] = out.score.length_seconds();
  j["sections"] = json::array();
  for (const auto& s : out.sections) {
    json section = {{"name", s.name}, {"first_bar", s.first_bar}, {"end_bar", s.end_bar}};
    section.update(section_key_json(s));
    j["sections"].push_back(section);
  }
  j["tracks"] = json::array();
  for (std::size_t i = 0; i < out.score.tracks.size(); ++i) {
    const Track& t = out.score.tracks[i];
    j["tracks"].push_back({{"name", t.name},
                           {"program", t.program},
                           {"drums", t.drums},
                           {"channel", channels[i]},
                           {"notes", t.notes.size()},
                           {"controls", t.controls.size()}});
  }
  j["chromatic_tracks"] = out.chromatic_tracks;
  j["provenance"] = json::array();
  for (const auto& e : out.provenance)
    j["provenance"].push_back({{"part", e.part}, {"tensors", e.tensors}, {"statistics", e.statistics}});
  j["warnings"] = out.warnings;
  j["render"] = render;
  return j;
}

}  // namespace

Result<WeightsRun> run_weights(const WeightsRequest& req) {
  const auto t_start = Clock::now();
  SONIFY_ASSIGN_OR_RETURN(genre, find_genre(req.genre));
  SONIFY_ASSIGN_OR_RETURN(params, genre_params(*genre, req.genre_config_dir, req.sets));
  if (!analysis_cpu_supported())
    return fail("this sonify was built for CPUs with AVX2 and FMA; rebuild with -DSONIFY_ANALYSIS_AVX2=OFF");

  WeightsRun run;
  run.genre = genre->name;
  auto t0 = Clock::now();
  SONIFY_ASSIGN_OR_RETURN(model, Model::open(req.model_path));
  AnalyzeOptions analyze;
  analyze.svd = req.svd;
  if (req.progress)
    analyze.progress = [&](std::size_t done, std::size_t total, double work) {
      req.progress({"analysing", "tensors", done, total, work});
    };
  // The files are hashed beside the analysis: one core reading, where the analysis leaves
  // some of a core free on its way (a cold 1B-shaped run: 1.9 s of hashing, ~1 s saved).
  // Its progress shows once the analysis is done, from where it has got to by then (its
  // end, when it finished first); seconds.hash is the wait after the analysis. A failed
  // analysis stops it within a MiB, so its error is not held back by gigabytes of hashing.
  struct HashingStopped {};
  std::mutex hash_mutex;
  bool analysed = false;
  std::atomic<bool> stop_hashing{false};
  std::optional<StepProgress> hash_state;
  const std::function<void(const StepProgress&)> hash_progress = [&](const StepProgress& p) {
    if (stop_hashing.load()) throw HashingStopped{};
    std::lock_guard<std::mutex> lock(hash_mutex);
    hash_state = p;
    if (analysed && req.progress) req.progress(p);
  };
  auto hashing = std::async(std::launch::async, [&]() -> Result<json> {
    try {
      return weight_hashes(model, hash_progress);
    } catch (const HashingStopped&) {
      return fail("hashing stopped: the analysis failed");
    }
  });
  Result<WeightFeatures> analysed_features = fail("not analysed");
  try {
    analysed_features = analyze_weights_cached(model, analyze, &run.analysis_from_cache);
  } catch (...) {
    stop_hashing = true;  // else `hashing`'s destructor would wait for every file
    throw;
  }
  if (!analysed_features.ok()) stop_hashing = true;
  {
    std::lock_guard<std::mutex> lock(hash_mutex);
    analysed = true;
    if (hash_state && analysed_features.ok() && req.progress) req.progress(*hash_state);
  }
  run.seconds.analysis = since(t0);
  t0 = Clock::now();
  auto hashed = hashing.get();
  run.seconds.hash = since(t0);
  SONIFY_ASSIGN_OR_RETURN(features, std::move(analysed_features));
  SONIFY_ASSIGN_OR_RETURN(hashes, std::move(hashed));

  t0 = Clock::now();
  SONIFY_ASSIGN_OR_RETURN(out, genre->compose(features, params));
  SONIFY_ASSIGN_OR_RETURN(midi, midi_from_score(out.score));
  SONIFY_ASSIGN_OR_RETURN(channels, assign_channels(out.score));
  run.seconds.composition = since(t0);

  // The WAV is registered first so the set commits WAV, MIDI, then the JSON that describes them.
  SONIFY_ASSIGN_OR_RETURN(set, OutputSet::open(req.out_dir, genre->name));
  const std::string wav_temp = req.midi_only ? std::string() : set.temp_path(".wav");
  SONIFY_TRY(set.write(".mid", midi_encode(midi)));
  json render = nullptr;
  if (!req.midi_only) {
    t0 = Clock::now();
    RenderOptions options;
    options.synth.soundfont = req.soundfont;
    options.master.loudness = true;
    options.master.loudness_lufs = -14.0;
    if (req.progress)
      options.synth.progress = [&](double done, double total) {
        req.progress({"rendering", "s of audio", static_cast<std::size_t>(done),
                      static_cast<std::size_t>(total), total > 0 ? done / total : 1.0});
      };
    SONIFY_ASSIGN_OR_RETURN(report, render_wav(midi, options, wav_temp));
    render = json::parse(render_report_json(report, options), nullptr, false);
    run.seconds.rendering = since(t0);
  }

  json j = record_json(req, features, hashes, params, out, channels, render);
  j["analysis_from_cache"] = run.analysis_from_cache;
  run.seconds.total = since(t_start);
  j["timings_seconds"] = {{"analysis", run.seconds.analysis},
                          {"hash", run.seconds.hash},
                          {"composition", run.seconds.composition},
                          {"rendering", run.seconds.rendering},
                          {"total", run.seconds.total}};
  SONIFY_TRY(set.write(".json", j.dump(2) + "\n"));
  SONIFY_TRY(set.commit({".wav"}));

  if (!out.sections.empty()) {
    run.key_root = pitch_class_name(out.sections[0].root);
    run.key_mode = out.sections[0].mode;
  } else {
    run.key_root = "?";
  }
  run.tempo_bpm = j["tempo_bpm"].get<double>();
  run.length_seconds = out.score.length_seconds();
  run.sections = out.sections.size();
  run.files.push_back(set.final_path(".mid"));
  if (!req.midi_only) run.files.push_back(set.final_path(".wav"));
  run.files.push_back(set.final_path(".json"));
  run.warnings = out.warnings;
  if (req.report) {
    SONIFY_ASSIGN_OR_RETURN(page, report_write(set.final_path(".json"), ReportOptions{}));
    run.files.insert(run.files.end(), page.written.begin(), page.written.end());
    run.notes = std::move(page.notes);
  }
  return run;
}

}  // namespace sonify
