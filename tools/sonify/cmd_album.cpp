// `sonify album FILE`: one activation track per prompt (MIDI, WAV, JSON, timing), then
// album.mid, album.wav and manifest.json; -j N renders N tracks at once and writes the
// same bytes as -j 1; finished tracks whose input hash matches the manifest are kept.
// `--shard K/N` renders one part for `album merge` (cmd_album_merge.cpp); `album prepare
// FILE` fits the caches and the plan once. The work is run_album (sonify/pipeline_album.h).
#include <cmath>
#include <cstdio>
#include <memory>

#include "cli_common.h"
#include "prompt_input.h"
#include "sonify/pipeline_album.h"

namespace sonify::cli {
namespace {

struct AlbumArgs {
  std::string model;
  std::string shard;
  std::string progress = "auto";
  AlbumRequest request;
};

int run_album_command(AlbumArgs& a) {
  AlbumRequest& r = a.request;
  if (r.file.empty()) return report(fail("album: give the prompt list (sonify album FILE)"));
  if (!a.shard.empty())
    if (Status s = parse_shard(a.shard, &r.shard, &r.shards); !s.ok()) return report(s.error());
  if (Status s = resolve_activation(a.model, &r.activation); !s.ok()) return report(s.error());
  r.on_progress = progress_printer(a.progress, "album", "tracks");
  r.version = SONIFY_VERSION;
  SONIFY_ASSIGN_OR_REPORT(run, run_album(r));
  print_notes(run.notes);
  const std::string where = r.shards > 1 ? r.out_dir + " shard " + a.shard : r.out_dir;
  if (r.prepare)
    std::printf("%s: caches and plan for %d prompts ready\n", run.manifest_path.c_str(), run.tracks);
  else
    std::printf("%s: %d of %d tracks (%d kept, %d redone, %d failed)%s\n", where.c_str(), run.done,
                run.tracks, run.kept, run.redone, run.failures,
                r.shards > 1           ? "; `sonify album merge` once every shard is done"
                : r.mode == "contrast" ? " in pairs"
                                       : (", " + std::to_string(std::lround(run.seconds)) + " s").c_str());
  for (const auto& page : run.pages) std::printf("wrote %s\n", page.c_str());
  if (run.failures > 0)
    return report(fail(run.failures, " of ", run.tracks, " prompts failed (see ", run.manifest_path, ")"));
  return 0;
}

}  // namespace

void register_album(CLI::App& app, int* exit_code) {
  auto a = std::make_shared<AlbumArgs>();
  AlbumRequest& r = a->request;
  CLI::App* cmd = app.add_subcommand("album", "Turn a list of prompts into an album of activation tracks");
  cmd->add_option("file", r.file,
                  "Prompt list: one per line (# comments) or JSON Lines with prompt/title/group");
  add_activation_options(cmd, &a->model, &r.activation);
  add_prompt_flags(cmd, &r.activation.prompt);
  cmd->add_option("-o,--out", r.out_dir, "Output directory (created when missing)")->capture_default_str();
  cmd->add_option(
         "--mode", r.mode,
         "album (file order), dialogue (ordered by tension into an arc) or contrast (consecutive prompts "
         "as A/B pairs of equal length, plus a stereo WAV per pair)")
      ->capture_default_str();
  cmd->add_option("-j,--jobs", r.jobs, "Tracks rendered in parallel")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  cmd->add_option("--gap", r.gap_seconds, "Seconds between tracks in album.mid/album.wav")
      ->check(CLI::Range(0.0, 60.0))
      ->capture_default_str();
  cmd->add_option("--master", r.master,
                  "album: one gain for the whole album (-14 LUFS, tracks keep their relative loudness), "
                  "true peak <= -1 dBTP; per-track: each track normalised alone")
      ->capture_default_str();
  cmd->add_option("--progress", a->progress,
                  "auto (a bar on a terminal, lines otherwise) or json (one line a track)")
      ->check(CLI::IsMember({"auto", "json"}))
      ->capture_default_str();
  cmd->add_option("--shard", a->shard,
                  "Render part K of N (0 <= K < N) into -o for `album merge` (doc/batch.md)");
  cmd->add_flag("--report", r.report, "Also write OUT/index.html and a page per track (sonify report)");
  cmd->add_option("--stop-after", r.stop_after, "(testing) stop after N finished tracks, as if interrupted")
      ->group("");
  CLI::App* prepare =
      cmd->add_subcommand("prepare", "Fit the PCA/direction caches and the album plan once, for the shards");
  prepare->add_option("file", r.file, "Prompt list")->required();
  prepare->fallthrough();
  prepare->callback([a] { a->request.prepare = true; });
  CLI::App* merge = register_album_merge(cmd, exit_code);
  cmd->callback([a, exit_code, merge] {
    if (!merge->parsed()) *exit_code = run_album_command(*a);
  });
}

}  // namespace sonify::cli
