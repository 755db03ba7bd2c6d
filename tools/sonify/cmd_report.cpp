// `sonify report PATH`: the run at PATH as one self-contained HTML page (an album as an
// index page and one page per track), optionally with PNGs of the roll and the spectra.
#include <cstdio>
#include <memory>

#include "cli_common.h"
#include "prompt_input.h"
#include "sonify/report.h"

namespace sonify::cli {

void register_report(CLI::App& app, int* exit_code) {
  struct Options {
    std::string path;
    ReportOptions report;
    bool quiet = false;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "report", "Write a page to see and hear a run: player, piano roll, provenance, model plots");
  cmd->add_option("PATH", o->path,
                  "A run's NAME.json, an album's manifest.json, or the directory holding one")
      ->required();
  cmd->add_option("-o,--output", o->report.output,
                  "The page to write (default: NAME.html beside the run, index.html for an album)");
  cmd->add_flag("--embed", o->report.embed_audio,
                "Put the WAV inside the page (base64) instead of linking it");
  cmd->add_flag("--png", o->report.png, "Also write NAME.roll.png and, for weights runs, NAME.spectra.png");
  cmd->add_flag("-q,--quiet", o->quiet, "Print nothing but errors and notes");
  cmd->callback([o, exit_code] {
    *exit_code = [&] {
      SONIFY_ASSIGN_OR_REPORT(out, report_write(o->path, o->report));
      print_notes(out.notes);
      if (!o->quiet) {
        for (const auto& file : out.written) std::printf("wrote %s\n", file.c_str());
      }
      return 0;
    }();
  });
}

}  // namespace sonify::cli
