// run_prompt for the direct styles (thinking, operatic, sines; sonify/synth.h): one forward
// pass, the hidden states synthesised straight to audio. Writes NAME.wav, NAME.json (the
// partial table and provenance) and NAME.timing.json (where each section starts); no MIDI.
#pragma once

#include "sonify/pipeline_prompt.h"

namespace sonify::pipeline {

// True for the style names the direct synthesis handles.
bool is_direct_style(const std::string& style);

Result<PromptRun> run_prompt_direct(const PromptRequest& request);

}  // namespace sonify::pipeline
