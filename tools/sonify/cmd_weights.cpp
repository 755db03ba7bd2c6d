// `sonify weights`: a model's frozen weights through a genre into DIR/NAME.mid,
// DIR/NAME.wav (rendered and mastered) and DIR/NAME.json (identity, options, key,
// sections, provenance). The three appear together or not at all.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "genre_config.h"
#include "core/atomic_file.h"
#include "core/sha256.h"
#include "sonify/analysis.h"
#include "sonify/genres.h"
#include "sonify/midi.h"
#include "sonify/render.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace sonify::cli {
namespace {

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

Result<std::string> read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(path, ": cannot read");
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

// SHA-256 of every weight file, cached by the checkpoint identity (sizes, mtimes, headers).
Result<json> weight_hashes(const Model& model) {
  SONIFY_ASSIGN_OR_RETURN(identity, checkpoint_identity(model));
  std::string cache_path;
  if (auto dir = cache_dir(); dir.ok()) cache_path = *dir + "/sha256-" + identity + ".json";
  if (!cache_path.empty()) {
    if (auto text = read_text(cache_path); text.ok()) {
      json j = json::parse(*text, nullptr, false);
      if (j.is_array()) return j;
    }
  }
  json files = json::array();
  for (const auto& f : model.checkpoint().files()) {
    SONIFY_ASSIGN_OR_RETURN(hash, sha256_file(f.path));
    files.push_back({{"path", f.path}, {"size_bytes", f.size_bytes}, {"sha256", hash}});
  }
  if (!cache_path.empty()) {
    std::error_code ec;
    fs::create_directories(fs::path(cache_path).parent_path(), ec);
    (void)write_file_atomic(cache_path, files.dump());  // a cache: failing to store it is not an error
  }
  return files;
}

json provenance_json(const GenreOutput& out) {
  json p = json::array();
  for (const auto& e : out.provenance) p.push_back({{"part", e.part}, {"tensors", e.tensors}, {"statistics", e.statistics}});
  return p;
}

}  // namespace

std::string genre_config_path(const std::string& genre) {
  if (const char* env = std::getenv("SONIFY_GENRE_CONFIG_DIR"); env != nullptr && *env != '\0')
    return std::string(env) + "/" + genre + ".json";
  return std::string(SONIFY_SOURCE_DIR) + "/configs/genres/" + genre + ".json";
}

Result<GenreParams> genre_params(const Genre& genre, const std::vector<std::string>& sets) {
  const std::string path = genre_config_path(genre.name);
  std::string text;
  std::error_code ec;
  if (fs::exists(path, ec)) {
    SONIFY_ASSIGN_OR_RETURN(t, read_text(path));
    text = std::move(t);
  }
  return resolve_params(genre, text, path, sets);
}

void register_weights(CLI::App& app, int* exit_code) {
  struct Options {
    std::string model;
    std::string genre;
    std::string out_dir = ".";
    bool midi_only = false;
    std::string soundfont;
    std::vector<std::string> sets;
    bool quiet = false;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("weights", "Turn a model's frozen weights into a track (MIDI, WAV and provenance JSON)");
  add_model_option(cmd, &o->model);
  cmd->add_option("-g,--genre", o->genre, "Genre: acid, house, ... (see `sonify genres`)")->required();
  cmd->add_option("-o,--output-dir", o->out_dir, "Directory for NAME.mid, NAME.wav, NAME.json (default: .)");
  cmd->add_flag("--midi-only", o->midi_only, "Write the MIDI and JSON only, no rendering");
  cmd->add_option("--soundfont", o->soundfont, "SF2 soundfont (default: $SONIFY_SOUNDFONT, then Debian's FluidR3_GM)");
  cmd->add_option("--set", o->sets, "Genre parameter key=value (repeatable; see `sonify genres NAME`)");
  cmd->add_flag("-q,--quiet", o->quiet, "Print nothing but errors and warnings");
  cmd->callback([o, exit_code] {
    const auto t_start = std::chrono::steady_clock::now();
    auto genre = find_genre(o->genre);
    if (!genre.ok()) return void(*exit_code = report(genre.error()));
    auto params = genre_params(**genre, o->sets);
    if (!params.ok()) return void(*exit_code = report(params.error()));
    auto path = model_path_or_default(o->model);
    if (!path.ok()) return void(*exit_code = report(path.error()));
    if (!analysis_cpu_supported())
      return void(*exit_code = report(fail("this sonify was built for CPUs with AVX2 and FMA; rebuild with "
                                           "-DSONIFY_ANALYSIS_AVX2=OFF")));
    auto t0 = std::chrono::steady_clock::now();
    auto model = Model::open(*path);
    if (!model.ok()) return void(*exit_code = report(model.error()));
    bool from_cache = false;
    auto features = analyze_weights_cached(*model, AnalyzeOptions{}, &from_cache);
    if (!features.ok()) return void(*exit_code = report(features.error()));
    const double t_analysis = since(t0);
    t0 = std::chrono::steady_clock::now();
    auto hashes = weight_hashes(*model);
    if (!hashes.ok()) return void(*exit_code = report(hashes.error()));
    const double t_hash = since(t0);

    t0 = std::chrono::steady_clock::now();
    auto composed = (*genre)->compose(*features, *params);
    if (!composed.ok()) return void(*exit_code = report(composed.error()));
    GenreOutput& out = *composed;
    auto midi = midi_from_score(out.score);
    if (!midi.ok()) return void(*exit_code = report(midi.error()));
    const std::string midi_bytes = midi_encode(*midi);
    auto channels = assign_channels(out.score);
    if (!channels.ok()) return void(*exit_code = report(channels.error()));
    const double t_compose = since(t0);
    for (const auto& w : out.warnings) std::fprintf(stderr, "sonify: warning: %s\n", w.c_str());

    std::error_code ec;
    fs::create_directories(o->out_dir, ec);
    if (!fs::is_directory(o->out_dir, ec))
      return void(*exit_code = report(fail(o->out_dir, ": cannot create the output directory")));
    const std::string base = (fs::path(o->out_dir) / (*genre)->name).string();
    const std::string tmp = (fs::path(o->out_dir) / ("." + (*genre)->name + ".partial-" + std::to_string(::getpid()))).string();
    struct Cleanup {  // removes the temporary files unless the set was committed
      std::vector<std::string> files;
      bool keep = false;
      ~Cleanup() {
        std::error_code e;
        if (!keep)
          for (const auto& f : files) fs::remove(f, e);
      }
    } cleanup;
    cleanup.files = {tmp + ".mid", tmp + ".wav", tmp + ".json"};

    t0 = std::chrono::steady_clock::now();
    if (Status s = write_file_atomic(tmp + ".mid", midi_bytes); !s.ok()) return void(*exit_code = report(s.error()));
    json render_json = nullptr;
    double t_render = 0;
    if (!o->midi_only) {
      RenderOptions ropts;
      ropts.synth.soundfont = o->soundfont;
      ropts.master.loudness = true;
      ropts.master.loudness_lufs = -14.0;
      auto rep = render_wav(*midi, ropts, tmp + ".wav");
      if (!rep.ok()) return void(*exit_code = report(rep.error()));
      render_json = json::parse(render_report_json(*rep, ropts), nullptr, false);
      t_render = since(t0);
    }

    json j;
    j["genre"] = (*genre)->name;
    j["title"] = out.score.title;
    j["model"] = {{"path", *path},
                  {"family", features->family},
                  {"n_layers", features->n_layers},
                  {"hidden_size", features->hidden_size},
                  {"checkpoint_id", features->checkpoint_id},
                  {"files", *hashes}};
    json opts = json::object();
    for (const auto& [k, v] : params->values()) opts[k] = v;
    j["options"] = {{"params", opts},
                    {"set", o->sets},
                    {"config", genre_config_path((*genre)->name)},
                    {"midi_only", o->midi_only},
                    {"soundfont", o->soundfont}};
    const Tonality& tn = features->tonality;
    j["tonality"] = {{"root", tn.root}, {"root_name", tn.root_name}, {"mode", tn.mode}, {"source", tn.source}};
    static const char* names[12] = {"C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"};
    j["key"] = out.sections.empty() ? json(nullptr)
                                    : json{{"root", out.sections[0].root},
                                           {"root_name", names[out.sections[0].root % 12]},
                                           {"mode", out.sections[0].mode}};
    j["tempo_bpm"] = out.score.tempos.empty() ? 120.0 : out.score.tempos[0].bpm();
    j["ppq"] = out.score.ppq;
    j["beats_per_bar"] = out.beats_per_bar;
    j["length_seconds"] = out.score.length_seconds();
    j["sections"] = json::array();
    for (const auto& s : out.sections)
      j["sections"].push_back({{"name", s.name},
                               {"first_bar", s.first_bar},
                               {"end_bar", s.end_bar},
                               {"root", s.root},
                               {"root_name", names[s.root % 12]},
                               {"mode", s.mode}});
    j["tracks"] = json::array();
    for (std::size_t i = 0; i < out.score.tracks.size(); ++i) {
      const Track& t = out.score.tracks[i];
      j["tracks"].push_back({{"name", t.name},
                             {"program", t.program},
                             {"drums", t.drums},
                             {"channel", (*channels)[i]},
                             {"notes", t.notes.size()},
                             {"controls", t.controls.size()}});
    }
    j["chromatic_tracks"] = out.chromatic_tracks;
    j["provenance"] = provenance_json(out);
    j["warnings"] = out.warnings;
    j["analysis_from_cache"] = from_cache;
    j["render"] = render_json;
    j["timings_seconds"] = {{"analysis", t_analysis},
                            {"hash", t_hash},
                            {"composition", t_compose},
                            {"rendering", t_render},
                            {"total", since(t_start)}};
    if (Status s = write_file_atomic(tmp + ".json", j.dump(2) + "\n"); !s.ok()) return void(*exit_code = report(s.error()));

    // Commit: rename the set into place (WAV first, JSON last), then drop a stale WAV.
    const char* exts[3] = {".wav", ".mid", ".json"};
    for (const char* ext : exts) {
      if (o->midi_only && std::string(ext) == ".wav") continue;
      fs::rename(tmp + ext, base + ext, ec);
      if (ec) return void(*exit_code = report(fail(base, ext, ": cannot write: ", ec.message())));
    }
    cleanup.keep = true;
    if (o->midi_only) fs::remove(base + ".wav", ec);
    if (!o->quiet) {
      std::printf("%s: %s %s, %.0f BPM, %.1f s, %zu sections\n", (*genre)->name.c_str(),
                  j["key"].is_null() ? "?" : j["key"]["root_name"].get<std::string>().c_str(),
                  j["key"].is_null() ? "" : j["key"]["mode"].get<std::string>().c_str(), j["tempo_bpm"].get<double>(),
                  out.score.length_seconds(), out.sections.size());
      std::printf("wrote %s.mid\n", base.c_str());
      if (!o->midi_only) std::printf("wrote %s.wav\n", base.c_str());
      std::printf("wrote %s.json\n", base.c_str());
      std::printf("times: analysis %.3f s%s, composition %.3f s, rendering %.3f s\n", t_analysis,
                  from_cache ? " (cached)" : "", t_compose, t_render);
    }
  });
}

}  // namespace sonify::cli
