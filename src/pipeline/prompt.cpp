// run_prompt: one prompt, one track (include/sonify/pipeline_prompt.h).
#include <cctype>

#include "core/atomic_file.h"
#include "core/output_set.h"
#include "pipeline/activation_session.h"
#include "pipeline/prompt_direct.h"
#include "pipeline/prompt_midi.h"
#include "sonify/pipeline_prompt.h"
#include "sonify/report.h"
#include "sonify/scale.h"

namespace sonify {
namespace {

// The pitch class called `name` ("C", "F#"), spelled as the music core spells pitches.
Result<int> pitch_class_from_name(const std::string& name) {
  for (int pc = 0; pc < 12; ++pc)
    if (pitch_class_name(pc) == name) return pc;
  return fail("--key: '", name, "' is not a pitch name (C, C#, D, ... B)");
}

Result<pipeline::TrackSettings> track_settings(const PromptRequest& r) {
  pipeline::TrackSettings settings;
  if (!r.key.empty()) {
    SONIFY_ASSIGN_OR_RETURN(pc, pitch_class_from_name(r.key));
    settings.root_midi = 48 + pc;
  }
  if (!r.mode.empty()) {
    SONIFY_TRY(mode_from_name(r.mode));
    settings.mode = r.mode;
  }
  if (r.bpm && !(*r.bpm >= 20 && *r.bpm <= 300)) return fail("--tempo ", *r.bpm, ": expected 20..300 BPM");
  settings.bpm = r.bpm;
  return settings;
}

// A MIDI prompt read and tokenized before anything is opened or written, so a bad file
// costs nothing.
Result<std::optional<pipeline::MidiPromptSource>> read_midi_prompt(const PromptRequest& r) {
  if (r.midi_prompt.empty()) return std::optional<pipeline::MidiPromptSource>();
  SONIFY_ASSIGN_OR_RETURN(tokenizer, pipeline::midi_model_tokenizer(r.activation.model_path));
  const bool drum_kit = pipeline::midi_corpus_playback(r.activation.model_path).drums;
  SONIFY_ASSIGN_OR_RETURN(
      source, pipeline::midi_prompt_read(r.midi_prompt, tokenizer, r.activation.prompt, drum_kit));
  return std::optional<pipeline::MidiPromptSource>(std::move(source));
}

Result<pipeline::TrackResult> compose(pipeline::ActivationSession& session,
                                      const ActivationRequest& activation,
                                      const std::optional<pipeline::MidiPromptSource>& midi,
                                      const pipeline::TrackSettings& settings) {
  if (!midi) return pipeline::activation_compose(session, activation.prompt, settings);
  const ModelSpec& spec = session.model->spec();
  SONIFY_ASSIGN_OR_RETURN(tokens, pipeline::midi_prompt_tokens(*midi, *session.midi, activation.prompt,
                                                               spec.vocab_size, spec.context_length));
  return pipeline::activation_compose_tokens(session, std::move(tokens), settings, &midi->record);
}

}  // namespace

Result<PromptRun> run_prompt(const PromptRequest& request) {
  SONIFY_TRY(pipeline::check_prompt_kind(request));
  if (pipeline::is_direct_style(request.activation.style)) return pipeline::run_prompt_direct(request);
  SONIFY_ASSIGN_OR_RETURN(settings, track_settings(request));
  SONIFY_ASSIGN_OR_RETURN(midi, read_midi_prompt(request));
  SONIFY_TRY(ensure_output_dir(request.out_dir));
  ActivationRequest activation = request.activation;
  if (!midi) pipeline::default_direction(&activation);
  SONIFY_ASSIGN_OR_RETURN(session, pipeline::activation_open(activation, midi.has_value()));
  SONIFY_ASSIGN_OR_RETURN(track, compose(*session, activation, midi, settings));
  const std::string name = !request.name.empty() ? request.name : prompt_slug(midi ? midi->stem : track.text);
  // The track must not replace its own MIDI prompt (the default name is the prompt's stem)
  // or a file of the model (--name config in the model's folder).
  std::vector<std::string> inputs = {session->model->path()};
  if (midi) inputs.push_back(request.midi_prompt);
  for (const char* ext : {".mid", ".wav", ".json", ".timing.json"})
    SONIFY_TRY(check_not_input(request.out_dir + "/" + name + ext, inputs));
  SONIFY_TRY(pipeline::activation_write(track, request.out_dir, name, request.activation.midi_only,
                                        request.render_threads));
  PromptRun run;
  run.base = request.out_dir + "/" + name;
  run.words = track.track.words.size();
  run.seconds = track.track.score.length_seconds();
  run.root_midi = track.root_midi;
  run.mode = track.mode;
  run.bpm = track.bpm;
  if (session->direction) run.tension = track.tension;
  run.provenance_json = std::move(track.provenance_json);
  run.notes = std::move(track.notes);
  if (request.report) {
    SONIFY_ASSIGN_OR_RETURN(page, report_write(run.base + ".json", ReportOptions{}));
    run.pages = std::move(page.written);
    run.notes.insert(run.notes.end(), page.notes.begin(), page.notes.end());
  }
  return run;
}

std::string prompt_slug(const std::string& text) {
  std::string out;
  int words = 0;
  bool gap = false;
  for (unsigned char c : text) {
    if (std::isalnum(c)) {
      if (gap && !out.empty()) {
        if (++words >= 6) break;
        out += '-';
      }
      gap = false;
      out += static_cast<char>(std::tolower(c));
    } else {
      gap = true;
    }
  }
  return out.empty() ? "prompt" : out;
}

}  // namespace sonify
