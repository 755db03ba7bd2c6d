// `sonify sample`: a MIDI event model (sonify train --midi) samples music from BOS into
// DIR/NAME.mid, NAME.wav and NAME.json (run_sample in sonify/pipeline_sample.h).
#include <cstdio>

#include "cli_common.h"
#include "sonify/pipeline_sample.h"

namespace sonify::cli {
namespace {

struct Options {
  std::string model;
  SampleRequest request;
  bool quiet = false;
};

int run_sample_command(const Options& o) {
  SampleRequest request = o.request;
  request.model_path = data_dir() + "/models/midi-bach";
  if (!o.model.empty()) {
    SONIFY_ASSIGN_OR_REPORT(path, model_path_or_default(o.model));
    request.model_path = path;
  }
  SONIFY_ASSIGN_OR_REPORT(run, run_sample(request));
  if (o.quiet) return 0;
  std::printf(
      "sampled %lld tokens, %lld notes, %.1f s of music in %.2f s (%lld repairs, %lld window shifts)\n",
      static_cast<long long>(run.tokens), static_cast<long long>(run.notes), run.length_seconds,
      run.sampling_seconds, static_cast<long long>(run.repairs), static_cast<long long>(run.window_shifts));
  for (const auto& f : run.files) std::printf("wrote %s\n", f.c_str());
  return 0;
}

}  // namespace

void register_sample(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<Options>();
  SampleRequest& r = o->request;
  CLI::App* cmd =
      app.add_subcommand("sample", "Sample music from a MIDI event model (default: the bundled midi-bach)");
  cmd->add_option("-m,--model", o->model,
                  "Model directory with midi_tokenizer.json (from sonify train --midi); default: midi-bach");
  cmd->add_option("--seconds", r.seconds, "Length of the music to sample")->capture_default_str();
  cmd->add_option("--temperature", r.temperature, "Sampling temperature (0: greedy)")->capture_default_str();
  cmd->add_option("--top-k", r.top_k, "Sample among the k most likely tokens (0: all)")
      ->capture_default_str();
  cmd->add_option("--seed", r.seed, "Random seed (same seed, same music)")->capture_default_str();
  cmd->add_option("--count", r.count, "Pieces, with seeds SEED, SEED+1, ...; more than one are NAME-SEED.*")
      ->capture_default_str();
  cmd->add_option("-o,--output-dir", r.out_dir, "Output directory (created when missing)")
      ->capture_default_str();
  cmd->add_option("--name", r.name, "File name stem: NAME.mid, NAME.wav, NAME.json")->capture_default_str();
  cmd->add_flag("--constrain", r.constrain,
                "Never draw a NoteOff of a silent pitch or a second strike on one step (instead of repairs)");
  cmd->add_flag("--midi-only", r.midi_only, "Write the MIDI and JSON only, no rendering");
  cmd->add_option("--soundfont", r.soundfont,
                  "SF2 soundfont (default: $SONIFY_SOUNDFONT, then Debian's FluidR3_GM)");
  cmd->add_option("--threads", r.threads, "Threads (0: $SONIFY_THREADS or all cores)")
      ->check(CLI::Range(0, 256));
  cmd->add_flag("-q,--quiet", o->quiet, "Print nothing but errors");
  cmd->callback([o, exit_code] { *exit_code = run_sample_command(*o); });
}

}  // namespace sonify::cli
