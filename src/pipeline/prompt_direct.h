// run_prompt for the direct styles (thinking, operatic, sines; sonify/synth.h): one forward
// pass, the hidden states synthesised straight to audio. Writes NAME.wav, NAME.json (the
// partial table and provenance) and NAME.timing.json (where each section starts); no MIDI.
// The album's direct styles use the same three steps per prompt, so its tracks are the
// files `prompt --style` writes.
#pragma once

#include <string>
#include <vector>

#include "sonify/pipeline_prompt.h"
#include "sonify/runtime.h"
#include "sonify/synth.h"

namespace sonify::pipeline {

// True for the style names the direct synthesis handles.
bool is_direct_style(const std::string& style);

// The options of the composed styles set in `q` (a direct style would ignore them).
std::vector<std::string> direct_unused_options(const ActivationRequest& q);

// One line refusing `unused` for `style`; Ok when it is empty.
Status refuse_direct_options(const std::string& style, const std::vector<std::string>& unused);

// A prompt's hidden states (sequential: the runtime is not thread-safe).
struct DirectInput {
  PromptTokens tokens;
  HiddenStack stack;
};
Result<DirectInput> direct_forward(Runtime& runtime, const Model& model, const std::string& model_path,
                                   const PromptOptions& prompt);

// Synthesised and mastered (-14 LUFS) audio with its provenance and timing JSON.
struct DirectTrack {
  Audio audio;
  std::string json;
  std::string timing_json;
  double seconds = 0;
};
Result<DirectTrack> direct_render(const DirectInput& input, const ActivationRequest& q, const Model& model);

// DIR/NAME.wav, .timing.json and .json, all or none (a stale NAME.mid is removed).
Status direct_commit(const DirectTrack& track, const std::string& dir, const std::string& name);

Result<PromptRun> run_prompt_direct(const PromptRequest& request);

}  // namespace sonify::pipeline
