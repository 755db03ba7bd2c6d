// `sonify render FILE.mid`: any Standard MIDI File to a finished WAV through
// in-process FluidSynth, mastered to a peak ceiling or a loudness target.
#include <cstdio>
#include <filesystem>

#include "cli_common.h"
#include "core/atomic_file.h"
#include "sonify/midi.h"
#include "sonify/render.h"

namespace sonify::cli {
namespace {

struct RenderArgs {
  std::string input;
  std::string output;
  std::string soundfont;
  std::string format = "s16";
  int sample_rate_hz = 44100;
  double loudness_lufs = 0;
  double ceiling_dbfs = -1.0;
  double max_minutes = 120;
  int threads = 0;
  int synths = 0;
  bool no_reverb = false;
  bool no_chorus = false;
  bool json = false;
  std::string progress = "auto";
};

int run_render(const RenderArgs& a, bool loudness) {
  RenderOptions options;
  SONIFY_ASSIGN_OR_REPORT(format, sample_format_from_name(a.format));
  options.format = format;
  options.synth.soundfont = a.soundfont;
  options.synth.sample_rate_hz = a.sample_rate_hz;
  options.synth.max_minutes = a.max_minutes;
  options.synth.threads = a.threads;
  options.synth.synths = a.synths;
  options.synth.reverb = !a.no_reverb;
  options.synth.chorus = !a.no_chorus;
  const StepProgressLine line = step_progress_line(false);
  options.synth.progress = render_progress(a.progress, line);
  options.master.peak_ceiling_dbfs = a.ceiling_dbfs;
  options.master.loudness = loudness;
  options.master.loudness_lufs = a.loudness_lufs;
  const std::string output =
      a.output.empty() ? std::filesystem::path(a.input).replace_extension(".wav").string() : a.output;
  if (Status s = check_not_input(output, {a.input}); !s.ok()) return report(s.error());
  SONIFY_ASSIGN_OR_REPORT(midi, midi_read(a.input));
  std::size_t notes = 0;
  for (const auto& track : midi.tracks)
    for (const auto& e : track) notes += e.kind() == 0x90 && e.data.size() == 2 && e.data[1] != 0;
  if (notes == 0)
    return report(Error{a.input + ": has no notes to render (" + std::to_string(midi.tracks.size()) +
                        " tracks, no note-on event)"});
  auto rendered = render_wav(midi, options, output);
  line.clear();
  if (!rendered.ok()) return report(rendered.error());
  const RenderReport& r = *rendered;
  if (a.json) {
    std::printf("%s\n", render_report_json(r, options).c_str());
  } else {
    std::printf("%s: %.2f s (MIDI %.2f s + tail %.2f s), %d Hz %s, peak %.2f dBFS", output.c_str(),
                r.audio_seconds, r.render.midi_seconds, r.render.tail_seconds, a.sample_rate_hz,
                a.format.c_str(), r.master.peak_dbfs);
    if (r.master.loudness_lufs > -999) std::printf(", %.2f LUFS", r.master.loudness_lufs);
    std::printf(", rendered in %.2f s\n", r.wall_seconds);
  }
  return 0;
}

}  // namespace

void register_render(CLI::App& app, int* exit_code) {
  auto a = std::make_shared<RenderArgs>();
  CLI::App* cmd = app.add_subcommand("render", "Render a Standard MIDI File to a mastered WAV (FluidSynth)");
  cmd->add_option("file", a->input, "MIDI file (SMF type 0 or 1)")->required();
  cmd->add_option("-o,--output", a->output, "WAV file to write (default: FILE with .wav)");
  cmd->add_option("--soundfont", a->soundfont,
                  "SF2 soundfont (default: $SONIFY_SOUNDFONT, then /usr/share/sounds/sf2/FluidR3_GM.sf2)");
  cmd->add_option("--sample-rate", a->sample_rate_hz, "Sample rate in Hz (44100 or 48000)")
      ->check(CLI::Range(8000, 96000));
  cmd->add_option("--format", a->format, "Sample format: s16, s24 or f32")
      ->check(CLI::IsMember({"s16", "s24", "f32"}));
  auto* loud = cmd->add_option("--loudness", a->loudness_lufs,
                               "Integrated loudness target in LUFS (EBU R128), limited to the ceiling");
  cmd->add_option("--ceiling", a->ceiling_dbfs, "Sample-peak ceiling in dBFS (default -1)");
  cmd->add_option("--max-minutes", a->max_minutes, "Refuse a longer MIDI (default 120)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--synths", a->synths,
                  "Channel groups rendered by separate synths and mixed (default: up to 2; 1: one synth)")
      ->check(CLI::Range(0, 16));
  cmd->add_option("--threads", a->threads,
                  "Synths rendered at once (default: one per CPU; never changes the audio)")
      ->check(CLI::Range(0, 64));
  cmd->add_flag("--no-reverb", a->no_reverb, "Turn FluidSynth's reverb off");
  cmd->add_flag("--no-chorus", a->no_chorus, "Turn FluidSynth's chorus off");
  cmd->add_flag("--json", a->json, "Print what was rendered and measured as one JSON object");
  cmd->add_option("--progress", a->progress,
                  "auto (a bar on a terminal), json (one line {done,total,elapsed,eta} per percent on "
                  "stderr) or none")
      ->check(CLI::IsMember({"auto", "json", "none"}));
  cmd->callback([a, loud, exit_code] { *exit_code = run_render(*a, loud->count() > 0); });
}

}  // namespace sonify::cli
