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

namespace sonify {

// The live monitor's voice (the notebooks' §20): one FM voice whose pitch follows how
// surprising each generated token was and whose brightness, FM depth, drive and
// dissonance follow a score in [0, 1] smoothed over the tokens. One block of audio per
// token, so the sound can be written while the model is still generating.
struct MonitorOptions {
  int sample_rate_hz = 44100;
  double step_seconds = 0.2;     // audio per token
  double alert_threshold = 0.5;  // score from which the dissonant degrees (1, 6) are allowed
  double glide_seconds = 0.01;   // pitch and FM index move to a new token's values over this
  double tick_seconds = 0.05;    // §20 re-scored every 50 ms: the EMA weight per token is 0.9^(step/tick)
};

// §20's get_quantized_frequency: s = sigmoid(x), target = 48 + 36 s (MIDI), its pitch class
// moved to the nearest allowed class without wrapping (11.8 → 9): {0, 2, 4, 7, 9}, plus
// {1, 6} when score >= threshold (ties → the lower class). Non-finite input gives -1.
int monitor_note(double x, double score, double threshold);

// 440 · 2^((note - 69) / 12) clipped to [60, 2000] Hz; 0 for note -1.
double monitor_hz(int note);

// What one token set the voice to.
struct MonitorStep {
  double raw_score = 0;    // this token's score, 0..1
  double score = 0;        // the EMA of raw scores from 0
  double x = 0;            // pitch input: 4 · surprisal / max_surprisal - 2
  int note = 0;            // MIDI
  bool dissonant = false;  // the dissonant degrees were allowed
  double hz = 0;
  double fm_index = 0;   // 2 + 10 score
  double cutoff_hz = 0;  // 1000 + 8000 score
  double drive = 0;      // 0.9 score
};

// §20's DSP chain, deterministic and without its clicks: FM (carrier f, modulator f/2,
// index I, amplitude 0.2) → RBJ low-pass (Q 1) → soft clip (1 + k) y / (1 + k |y|) with
// k = 2 drive / (1 - drive), × 0.8. Pitch and index glide linearly from the previous token's
// values (§20 jumped); the filter keeps its state across tokens; no reverb (a tail would
// delay each token's block). Output: 16-bit stereo, both channels equal.
class MonitorVoice {
 public:
  explicit MonitorVoice(const MonitorOptions& options);

  double smoothing() const { return smoothing_; }
  std::size_t step_frames() const { return step_frames_; }

  // One token: appends step_frames() stereo frames (interleaved) to *out.
  MonitorStep step(double raw_score, double surprisal, double max_surprisal, std::vector<std::int16_t>* out);

  // The end: the voice fades out over glide_seconds (appended to *out), so a stream that
  // stops early does not end on a click.
  void release(std::vector<std::int16_t>* out);

 private:
  void render(std::size_t frames, bool fade_out, std::vector<std::int16_t>* out);

  MonitorOptions options_;
  double smoothing_ = 0;
  std::size_t step_frames_ = 0;
  std::size_t glide_frames_ = 1;
  double score_ = 0;
  bool started_ = false;
  double hz_from_ = 0, hz_ = 0, index_from_ = 0, index_ = 0;
  double carrier_phase_ = 0, modulator_phase_ = 0;
  double b0_ = 1, b1_ = 0, b2_ = 0, a1_ = 0, a2_ = 0, z1_ = 0, z2_ = 0;
  double k_ = 0;
};

}  // namespace sonify
