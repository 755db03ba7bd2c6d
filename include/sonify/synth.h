// Audio synthesised straight from hidden states, as the notebooks' §8-§10 did with numpy,
// with their bugs fixed: seeded reverb impulse responses (the same bytes every run), real
// crossfades between layers, one gain for the whole piece so a louder layer stays louder.
// Plain values in and out; FFTW stays in src/synth.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sonify/render.h"
#include "sonify/result.h"

namespace sonify {

enum class DirectStyle {
  Thinking,  // §9: one sine per token, amplitude from the state's norm, phase from a per-layer PCA
  Operatic,  // §10: Dorian-snapped voices with 7 harmonics, vibrato, ADSR, panning and reverb
  Sines,     // §8: one chord per token of the last state, a partial per high-variance dimension
};

// "thinking", "operatic", "sines".
const char* direct_style_name(DirectStyle style);
Result<DirectStyle> direct_style_from_name(const std::string& name);

// Hidden states [states, tokens, width], row-major: state 0 the embedding, state l + 1 the
// output of block l.
struct HiddenStack {
  int states = 0;
  int tokens = 0;
  int width = 0;
  std::vector<float> values;
};

struct DirectOptions {
  DirectStyle style = DirectStyle::Thinking;
  int sample_rate_hz = 44100;
  std::uint64_t seed = 0;  // the reverb impulse responses (operatic)
};

// What is sounding: one row per section (a layer; for sines, a token), one column per
// partial (a token; for sines, a dimension).
struct PartialTable {
  std::vector<std::vector<double>> frequency_hz;
  std::vector<std::vector<double>> amplitude;  // 0..1
  std::vector<std::vector<double>> phase;      // radians
  std::vector<int> dimensions;                 // sines: the hidden dimension of each partial
};

struct DirectResult {
  Audio audio;  // stereo, peak at most 1 (mastering comes after)
  PartialTable partials;
  std::vector<double> section_start_seconds;
  double section_seconds = 0;  // each section's length including its fades
  double fade_seconds = 0;     // the overlap of neighbouring sections
};

// Fails on an empty or inconsistent stack or a non-finite value.
Result<DirectResult> direct_synthesize(const HiddenStack& hidden, const DirectOptions& options);

}  // namespace sonify
