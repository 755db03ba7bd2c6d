// run_prompt: one prompt, one track (include/sonify/pipeline_prompt.h).
#include <cctype>

#include "core/output_set.h"
#include "pipeline/activation_session.h"
#include "pipeline/prompt_direct.h"
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

}  // namespace

Result<PromptRun> run_prompt(const PromptRequest& request) {
  if (pipeline::is_direct_style(request.activation.style)) return pipeline::run_prompt_direct(request);
  SONIFY_ASSIGN_OR_RETURN(settings, track_settings(request));
  SONIFY_TRY(ensure_output_dir(request.out_dir));
  ActivationRequest activation = request.activation;
  pipeline::default_direction(&activation);
  SONIFY_ASSIGN_OR_RETURN(session, pipeline::activation_open(activation));
  SONIFY_ASSIGN_OR_RETURN(track, pipeline::activation_compose(*session, activation.prompt, settings));
  const std::string name = request.name.empty() ? prompt_slug(track.text) : request.name;
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
