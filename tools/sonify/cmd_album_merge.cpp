// `sonify album merge DIR`: the shard manifests written by `album --shard K/N -o DIR`
// become manifest.json, album.mid and album.wav, the bytes one `-j 1` run would write;
// a missing, unfinished or inconsistent shard is refused in one line naming it.
// The work is merge_album (sonify/pipeline_album.h).
#include <cmath>
#include <cstdio>
#include <memory>

#include "cli_common.h"
#include "prompt_input.h"
#include "sonify/pipeline_album.h"

namespace sonify::cli {

CLI::App* register_album_merge(CLI::App* album, int* exit_code) {
  auto r = std::make_shared<AlbumMergeRequest>();
  CLI::App* cmd = album->add_subcommand("merge", "Merge the shards in DIR into manifest.json and the album");
  cmd->add_option("dir", r->dir, "The -o directory every shard wrote into")->required();
  cmd->add_flag("--report", r->report, "Also write DIR/index.html and a page per track (sonify report)");
  cmd->callback([r, exit_code] {
    r->version = SONIFY_VERSION;
    auto run = merge_album(*r);
    if (!run.ok()) {
      *exit_code = report(run.error());
      return;
    }
    print_notes(run->notes);
    std::printf("%s: merged %d of %d tracks (%d failed), %ld s\n", r->dir.c_str(), run->done, run->tracks,
                run->failures, std::lround(run->seconds));
    for (const auto& page : run->pages) std::printf("wrote %s\n", page.c_str());
    *exit_code = run->failures > 0 ? report(fail(run->failures, " of ", run->tracks, " prompts failed (see ",
                                                 run->manifest_path, ")"))
                                   : 0;
  });
  return cmd;
}

}  // namespace sonify::cli
