// `sonify compare A B`: a base model and a derivative compared tensor by tensor and heard
// as one track (run_compare in sonify/pipeline_compare.h).
#include <cstdio>

#include "cli_common.h"
#include "sonify/pipeline_compare.h"

namespace sonify::cli {
namespace {

struct Options {
  CompareRequest request;
  bool quiet = false;
};

int run_compare_command(const Options& o) {
  CompareRequest request = o.request;
  request.genre_config_dir = genre_config_dir();
  SONIFY_ASSIGN_OR_REPORT(a, model_path_or_default(request.model_a));  // Hugging Face cache names too
  SONIFY_ASSIGN_OR_REPORT(b, model_path_or_default(request.model_b));
  request.model_a = a;
  request.model_b = b;
  SONIFY_ASSIGN_OR_REPORT(run, run_compare(request));
  if (o.quiet) return 0;
  std::printf("%zu of %zu tensors changed\n", run.changed_tensors, run.tensors);
  for (const auto& t : run.top) std::printf("  %s\n", t.c_str());
  for (const auto& f : run.files) std::printf("wrote %s\n", f.c_str());
  return 0;
}

}  // namespace

void register_compare(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<Options>();
  CompareRequest& r = o->request;
  CLI::App* cmd = app.add_subcommand(
      "compare", "Compare a base model and a derivative of the same shape, and hear where they differ");
  cmd->add_option("model_a", r.model_a, "The base model (directory or .safetensors)")->required();
  cmd->add_option("model_b", r.model_b, "The derivative: fine-tuned, abliterated, pruned, ...")->required();
  cmd->add_option("-g,--genre", r.genre, "Genre of both pieces (default: acid, one section per layer)");
  cmd->add_option("-o,--output-dir", r.out_dir, "Directory for the set (default: .; created when missing)");
  cmd->add_option("--name", r.name, "File name stem of the set (default: compare)");
  cmd->add_flag("--midi-only", r.midi_only, "Write the MIDI and JSON only, no rendering");
  cmd->add_option("--soundfont", r.soundfont, "SF2 soundfont (default: $SONIFY_SOUNDFONT, then Debian's)");
  cmd->add_option("--set", r.sets, "Genre parameter key=value for both pieces (repeatable)");
  cmd->add_option("--direction", r.direction,
                  "Contrast set (configs/contrast/*.json): project a prompt in both models on its direction");
  cmd->add_option("--prompt", r.prompt, "Prompt for --direction (default: the set's first B prompt)");
  cmd->add_option("--direction-layer", r.direction_layer,
                  "Hidden state of the direction: 0 embedding, N after block N-1 (default: best separated)");
  cmd->add_flag("-q,--quiet", o->quiet, "Print nothing but errors");
  cmd->callback([o, exit_code] { *exit_code = run_compare_command(*o); });
}

}  // namespace sonify::cli
