// `sonify prompt "text"`: one forward pass over a prompt turned into a track: three
// voices following PCA projections of an early, a middle and the last layer, one note
// per word, over a drone in the model's key. Writes NAME.mid, NAME.wav, NAME.json
// (provenance) and NAME.timing.json (word times for players that highlight words).
#include <cstdio>
#include <filesystem>
#include <memory>

#include "activation_run.h"
#include "cli_common.h"
#include "model_run.h"

namespace sonify::cli {
namespace {

struct PromptArgs {
  ActivationOptions activation;
  std::string text;
  std::string out = ".";
  std::string name;
  std::string key;
  std::string mode;
  double tempo = 84;
  bool json = false;
};

int run_prompt(const PromptArgs& a, bool tempo_given) {
  std::error_code ec;
  if (!std::filesystem::is_directory(a.out, ec))
    return report(fail(a.out, ": output directory does not exist"));
  TrackSettings settings;
  if (!a.key.empty()) {
    int root = -1;
    static const char* names[] = {"C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"};
    for (int i = 0; i < 12; ++i)
      if (a.key == names[i]) root = i;
    if (root < 0) return report(fail("--key: '", a.key, "' is not a pitch name (C, C#, D, ... B)"));
    settings.root_midi = 48 + root;
  }
  if (!a.mode.empty()) {
    auto m = mode_from_name(a.mode);
    if (!m.ok()) return report(m.error());
    settings.mode = a.mode;
  }
  if (tempo_given) settings.bpm = a.tempo;
  SONIFY_ASSIGN_OR_REPORT(session, activation_open(a.activation));
  SONIFY_ASSIGN_OR_REPORT(result, activation_compose(*session, a.text, settings));
  const std::string name = a.name.empty() ? prompt_slug(a.text) : a.name;
  if (Status s = activation_write(result, a.out, name, a.activation.midi_only, 0); !s.ok())
    return report(s.error());
  const std::string base = a.out + "/" + name;
  if (a.json) {
    std::printf("%s\n", result.provenance_json.c_str());
  } else {
    std::printf("%s.mid%s (%zu words, %.2f s, key %s %s, %.0f BPM", base.c_str(),
                a.activation.midi_only ? "" : " + .wav", result.track.words.size(),
                result.track.score.length_seconds(), pitch_name(result.root_midi).c_str(),
                result.mode.c_str(), result.bpm);
    if (session->direction) std::printf(", tension %+.3f", result.tension);
    std::printf(")\n");
  }
  return 0;
}

}  // namespace

void register_prompt(CLI::App& app, int* exit_code) {
  auto a = std::make_shared<PromptArgs>();
  CLI::App* cmd =
      app.add_subcommand("prompt", "Turn a prompt's activations into a track (MIDI, WAV, timing)");
  cmd->add_option("text", a->text, "The prompt")->required();
  add_activation_options(cmd, &a->activation);
  cmd->add_option("-o,--out", a->out, "Output directory")->capture_default_str();
  cmd->add_option("--name", a->name, "File name stem (default: the prompt's first words)");
  cmd->add_option("--key", a->key, "Root pitch class, e.g. D or F# (default: detected from the weights)");
  cmd->add_option("--mode", a->mode, "Mode, e.g. dorian (default: detected from the weights)");
  auto* tempo =
      cmd->add_option("--tempo", a->tempo, "Tempo in BPM (default 84)")->check(CLI::Range(20.0, 300.0));
  cmd->add_flag("--json", a->json, "Print the provenance JSON");
  cmd->callback([a, tempo, exit_code] { *exit_code = run_prompt(*a, tempo->count() > 0); });
}

}  // namespace sonify::cli
