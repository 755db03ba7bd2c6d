// `sonify weights`: a model's frozen weights through a genre into DIR/NAME.mid,
// DIR/NAME.wav and DIR/NAME.json (run_weights in sonify/pipeline_weights.h).
#include <cstdio>

#include "cli_common.h"
#include "prompt_input.h"
#include "sonify/pipeline_album.h"
#include "sonify/pipeline_weights.h"

namespace sonify::cli {
namespace {

struct Options {
  std::string model;
  WeightsRequest request;
  bool quiet = false;
  std::string list;
  std::string shard;
  std::string progress = "auto";
  bool merge = false;
  std::string svd = "auto";
};

// --model-list FILE [--shard K/N], or --merge: many checkpoints, one genre.
int run_list_command(const Options& o, WeightsRequest request) {
  if (o.merge) {
    SONIFY_ASSIGN_OR_REPORT(index, merge_weights_list(request.out_dir, request.genre));
    if (!o.quiet) std::printf("wrote %s\n", index.c_str());
    return 0;
  }
  WeightsListRequest list{o.list, 0, 1, request, nullptr};
  if (!o.quiet || o.progress == "json") list.on_progress = progress_printer(o.progress, "weights", "models");
  if (!o.shard.empty())
    if (Status s = parse_shard(o.shard, &list.shard, &list.shards); !s.ok()) return report(s.error());
  SONIFY_ASSIGN_OR_REPORT(run, run_weights_list(list));
  for (const auto& e : run.errors) std::fprintf(stderr, "sonify: error: %s\n", e.c_str());
  if (!o.quiet)
    std::printf("%zu of %zu models done, %zu failed; wrote %s\n", run.done, run.total, run.failed,
                run.manifest.c_str());
  return run.failed > 0 ? 1 : 0;
}

int run_weights_command(const Options& o) {
  WeightsRequest request = o.request;
  request.svd = svd_method(o.svd);
  request.genre_config_dir = genre_config_dir();
  if (!o.list.empty() || o.merge) return run_list_command(o, request);
  if (!o.shard.empty() || o.progress != "auto")
    return report(fail(!o.shard.empty() ? "--shard" : "--progress", " needs --model-list FILE"));
  SONIFY_ASSIGN_OR_REPORT(path, model_path_or_default(o.model));
  request.model_path = path;
  const StepProgressLine line = step_progress_line(o.quiet);
  request.progress = line.update;
  auto ran = run_weights(request);
  line.clear();  // before any error or note
  if (!ran.ok()) return report(ran.error());
  const WeightsRun& run = *ran;
  for (const auto& w : run.warnings) std::fprintf(stderr, "sonify: warning: %s\n", w.c_str());
  print_notes(run.notes);
  if (o.quiet) return 0;
  std::printf("%s: %s %s, %.0f BPM, %.1f s, %zu sections\n", run.genre.c_str(), run.key_root.c_str(),
              run.key_mode.c_str(), run.tempo_bpm, run.length_seconds, run.sections);
  for (const auto& f : run.files) std::printf("wrote %s\n", f.c_str());
  std::printf("times: analysis %.3f s%s, hashing %.3f s, composition %.3f s, rendering %.3f s\n",
              run.seconds.analysis, run.analysis_from_cache ? " (cached)" : "", run.seconds.hash,
              run.seconds.composition, run.seconds.rendering);
  return 0;
}

}  // namespace

void register_weights(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<Options>();
  WeightsRequest& r = o->request;
  CLI::App* cmd = app.add_subcommand(
      "weights", "Turn a model's frozen weights into a track (MIDI, WAV and provenance JSON)");
  add_model_option(cmd, &o->model);
  cmd->add_option("-g,--genre", r.genre, "Genre: acid, house, ... (see `sonify genres`)")->required();
  cmd->add_option("-o,--output-dir", r.out_dir,
                  "Directory for NAME.mid, NAME.wav, NAME.json (default: .; created when missing)");
  cmd->add_flag("--midi-only", r.midi_only, "Write the MIDI and JSON only, no rendering");
  cmd->add_option("--soundfont", r.soundfont,
                  "SF2 soundfont (default: $SONIFY_SOUNDFONT, then Debian's FluidR3_GM)");
  cmd->add_option("--set", r.sets, "Genre parameter key=value (repeatable; see `sonify genres NAME`)");
  cmd->add_flag("--report", r.report,
                "Also write DIR/GENRE.html, a page to see and hear the run (sonify report)");
  cmd->add_option("--svd", o->svd, svd_help())->check(CLI::IsMember({"auto", "exact", "gram", "fast"}));
  cmd->add_option("--model-list", o->list,
                  "A file of models, one per line: one set per model in DIR/NNN-NAME/");
  cmd->add_option("--shard", o->shard, "With --model-list: run entries i with i % N == K (K/N, from 0)");
  cmd->add_option("--progress", o->progress, "With --model-list: auto, or json (one line a model on stderr)")
      ->check(CLI::IsMember({"auto", "json"}));
  cmd->add_flag("--merge", o->merge, "Check every shard's manifest in -o DIR and write DIR/index.json");
  cmd->add_flag("-q,--quiet", o->quiet, "Print nothing but errors and warnings");
  cmd->callback([o, exit_code] { *exit_code = run_weights_command(*o); });
}

}  // namespace sonify::cli
