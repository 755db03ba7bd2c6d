// `sonify prompt "text"`: one forward pass over a prompt turned into a track: three
// voices following PCA projections of an early, a middle and the last layer, one note
// per word, over a drone in the model's key (or the markov style). Writes NAME.mid,
// NAME.wav, NAME.json (provenance) and NAME.timing.json (word times for players that
// highlight words). The work is run_prompt (sonify/pipeline_prompt.h).
#include <cstdio>
#include <memory>

#include "cli_common.h"
#include "prompt_input.h"
#include "sonify/pipeline_prompt.h"
#include "sonify/scale.h"

namespace sonify::cli {
namespace {

struct PromptArgs {
  std::string model;
  PromptInput prompt;
  PromptRequest request;
  double tempo = 0;
  bool json = false;
};

int run_prompt_command(PromptArgs& a, bool tempo_given) {
  if (Status s = resolve_activation(a.model, &a.request.activation); !s.ok()) return report(s.error());
  a.request.activation.prompt = a.prompt.resolved();
  if (tempo_given) a.request.bpm = a.tempo;
  SONIFY_ASSIGN_OR_REPORT(run, run_prompt(a.request));
  print_notes(run.notes);
  if (a.json) {
    std::printf("%s\n", run.provenance_json.c_str());
    return 0;
  }
  if (run.direct) {
    std::printf("%s.wav (%s, %zu tokens, %.2f s)\n", run.base.c_str(), a.request.activation.style.c_str(),
                run.words, run.seconds);
    return 0;
  }
  std::printf("%s.mid%s (%zu words, %.2f s, key %s %s, %.0f BPM", run.base.c_str(),
              a.request.activation.midi_only ? "" : " + .wav", run.words, run.seconds,
              pitch_name(run.root_midi).c_str(), run.mode.c_str(), run.bpm);
  if (run.tension) std::printf(", tension %+.3f", *run.tension);
  std::printf(")\n");
  for (const auto& page : run.pages) std::printf("wrote %s\n", page.c_str());
  return 0;
}

}  // namespace

void register_prompt(CLI::App& app, int* exit_code) {
  auto a = std::make_shared<PromptArgs>();
  CLI::App* cmd =
      app.add_subcommand("prompt", "Turn a prompt's activations into a track (MIDI, WAV, timing)");
  add_prompt_options(cmd, &a->prompt);
  add_activation_options(cmd, &a->model, &a->request.activation);
  cmd->add_option("-o,--out", a->request.out_dir, "Output directory (created when missing)")
      ->capture_default_str();
  cmd->add_option("--name", a->request.name, "File name stem (default: the prompt's first words)");
  cmd->add_option("--midi-prompt", a->request.midi_prompt,
                  "A MIDI file as the prompt of a MIDI event model (one trained by train --midi)");
  cmd->add_option("--key", a->request.key,
                  "Root pitch class, e.g. D or F# (default: detected from the weights)");
  cmd->add_option("--mode", a->request.mode,
                  "Mode, e.g. dorian (default: from the prompt's contrast tension; the weights' mode without "
                  "a direction)");
  auto* tempo =
      cmd->add_option("--tempo", a->tempo,
                      "Tempo in BPM (default: from how far the prompt's states move between tokens, 60..132)")
          ->check(CLI::Range(20.0, 300.0));
  cmd->add_flag("--json", a->json, "Print the provenance JSON");
  cmd->add_flag("--report", a->request.report, "Also write OUT/NAME.html, a page to see and hear the track");
  cmd->callback([a, tempo, exit_code] { *exit_code = run_prompt_command(*a, tempo->count() > 0); });
}

}  // namespace sonify::cli
