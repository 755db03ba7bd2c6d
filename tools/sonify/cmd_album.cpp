// `sonify album FILE`: one activation track per prompt (MIDI, WAV, JSON, timing), then
// album.mid, album.wav and manifest.json; -j N renders N tracks at once and writes the
// same bytes as -j 1; finished tracks whose input hash matches the manifest are kept.
// The work is run_album (sonify/pipeline_album.h).
#include <unistd.h>

#include <cstdio>
#include <memory>

#include "cli_common.h"
#include "prompt_input.h"
#include "sonify/pipeline_album.h"

namespace sonify::cli {
namespace {

struct AlbumArgs {
  std::string model;
  AlbumRequest request;
};

void progress(int done, int total) {
  if (!isatty(STDERR_FILENO)) {
    std::fprintf(stderr, "album: %d/%d tracks\n", done, total);
    return;
  }
  const int width = 30;
  const int filled = total > 0 ? done * width / total : width;
  std::fprintf(stderr, "\r[%s%s] %d/%d tracks", std::string(static_cast<std::size_t>(filled), '#').c_str(),
               std::string(static_cast<std::size_t>(width - filled), ' ').c_str(), done, total);
  if (done == total) std::fprintf(stderr, "\n");
}

int run_album_command(AlbumArgs& a) {
  if (Status s = resolve_activation(a.model, &a.request.activation); !s.ok()) return report(s.error());
  a.request.on_progress = progress;
  SONIFY_ASSIGN_OR_REPORT(run, run_album(a.request));
  print_notes(run.notes);
  if (a.request.mode == "contrast")
    std::printf("%s: %d of %d tracks in pairs\n", a.request.out_dir.c_str(), run.done, run.tracks);
  else
    std::printf("%s: %d of %d tracks, %.1f s%s\n", a.request.out_dir.c_str(), run.done, run.tracks,
                run.seconds, run.failures > 0 ? " (failures listed in manifest.json)" : "");
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
                  "Prompt list: one per line (# comments) or JSON Lines with prompt/title/group")
      ->required();
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
  cmd->add_flag("--report", r.report, "Also write OUT/index.html and a page per track (sonify report)");
  cmd->add_option("--stop-after", r.stop_after, "(testing) stop after N finished tracks, as if interrupted")
      ->group("");
  cmd->callback([a, exit_code] { *exit_code = run_album_command(*a); });
}

}  // namespace sonify::cli
