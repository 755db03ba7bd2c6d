// Rendering MIDI to a finished WAV: in-process FluidSynth, offline as fast as the CPU
// allows, channel groups in parallel synths mixed into one buffer, then mastering
// (peak ceiling or EBU R128 loudness with a limiter). Same input and options, same bytes.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "sonify/midi.h"
#include "sonify/result.h"
#include "sonify/score.h"

namespace sonify {

// Sample formats of the WAV written.
enum class SampleFormat { s16, s24, f32 };

// "s16", "s24", "f32".
const char* sample_format_name(SampleFormat format);
Result<SampleFormat> sample_format_from_name(const std::string& name);

// Every FluidSynth setting that shapes the sound, set explicitly so FluidSynth 2.3 and
// 2.4+ sound alike. Defaults are FluidSynth 2.3's own, except gain (mastering sets the
// level) and polyphony.
struct SynthOptions {
  std::string soundfont;       // empty: soundfont_find("") ($SONIFY_SOUNDFONT, Debian's)
  int sample_rate_hz = 44100;  // 44100 or 48000 (any 8000..96000 accepted)
  double gain = 0.2;
  int polyphony = 1024;
  bool reverb = true;
  double reverb_room_size = 0.2;
  double reverb_damping = 0.0;
  double reverb_width = 0.5;
  double reverb_level = 0.9;
  bool chorus = true;
  int chorus_voices = 3;
  double chorus_level = 2.0;
  double chorus_speed_hz = 0.3;
  double chorus_depth_ms = 8.0;
  // Maps CC74 to filter cutoff (±4800 cents) and CC71 to filter Q (±20 dB), centred at
  // 64, for every preset: the SF2 default modulators have neither.
  bool filter_ccs = true;
  double tail_max_seconds = 5.0;  // rendered after the last event until voices die out
  // A longer MIDI is refused before any audio is allocated: a 60-byte file with a slow
  // tempo at 1 PPQ can ask for hours (2 h of stereo float at 44.1 kHz is 2.5 GB).
  double max_minutes = 120;
  // Channel groups, each rendered by its own synth and summed. 0 = min(channels with
  // notes, 2). Fixed by the content, not the machine, so every machine writes the same
  // bytes; 1 renders everything in one synth. Each synth adds its own reverb and chorus
  // (about 10% of one synth's CPU time), so more groups only pay on more cores.
  int synths = 0;
  int threads = 0;  // synths rendered at once; 0 = one per CPU. Never changes the audio.
  // Called on the calling thread after each mixed chunk (about 1.5 s of audio) with the
  // seconds of MIDI rendered so far and the MIDI's length, for a progress bar on long
  // renders. Never changes a sample.
  std::function<void(double done_seconds, double total_seconds)> progress;
};

// Stereo float audio, interleaved L R, nominal full scale ±1.
struct Audio {
  int sample_rate_hz = 44100;
  std::vector<float> samples;
  std::size_t frames() const { return samples.size() / 2; }
  double seconds() const { return static_cast<double>(frames()) / sample_rate_hz; }
};

// What a render produced, for the run's JSON.
struct RenderStats {
  std::string soundfont;
  double midi_seconds = 0;                // last MIDI event
  double tail_seconds = 0;                // rendered after it
  int synths = 0;                         // parallel synths used
  int peak_voices = 0;                    // most voices sounding at once, summed over synths
  std::vector<double> synth_cpu_seconds;  // CPU time each synth spent rendering (timing only)
};

// Renders a parsed MIDI file (all tracks, all 16 channels) to float audio without
// mastering. Fails naming the soundfont when it is missing or FluidSynth cannot load it.
Result<Audio> render_audio(const MidiFile& file, const SynthOptions& options, RenderStats* stats = nullptr);

// How to bring the rendered audio to its final level.
struct MasterOptions {
  double peak_ceiling_dbfs = -1.0;  // no sample above this (sample peak)
  bool loudness = false;            // true: aim for loudness_lufs, limited to the ceiling
  double loudness_lufs = -14.0;     // integrated loudness target (EBU R128)
};

// What mastering did and achieved (measured on the final samples).
struct MasterStats {
  double gain_db = 0;
  double peak_dbfs = -1000;       // achieved sample peak; -1000 when silent
  double loudness_lufs = -1000;   // achieved integrated loudness; -1000 when silent/too short
  bool limited = false;           // the limiter reduced some peaks
  double true_peak_dbtp = -1000;  // achieved true peak (master_to_true_peak only)
};

// Scales (and, for a loudness target, limits with a 5 ms look-ahead) `audio` in place.
// Audio whose peak is below -90 dBFS counts as silence and is left as it is.
Result<MasterStats> master_audio(Audio& audio, const MasterOptions& options);

// Album mastering, one piece at a time: scales `audio` by `gain_db` (the album's one
// gain), then limits it (5 ms look-ahead on the 4x oversampled peak) so its true peak is
// at most `ceiling_dbtp`, and measures loudness, sample peak and true peak. Audio below
// -90 dBFS is left as it is.
Result<MasterStats> master_to_true_peak(Audio& audio, double gain_db, double ceiling_dbtp);

// True peak (dBTP): the highest |value| of the audio 4x oversampled as ITU-R BS.1770-4
// Annex 2 describes, measured by libebur128; -1000 when silent.
Result<double> true_peak_dbtp(const Audio& audio);

// Integrated loudness (LUFS, EBU R128 via libebur128) and sample peak (dBFS).
Result<double> loudness_lufs(const Audio& audio);
double peak_dbfs(const Audio& audio);

// Writes a RIFF/WAVE file (PCM 16/24-bit or IEEE float 32) atomically. Integer formats
// round and clip to full scale, so nothing wraps around.
Status wav_write(const std::string& path, const Audio& audio, SampleFormat format);

// Everything `sonify render` does: parse, render, master, write.
struct RenderOptions {
  SynthOptions synth;
  MasterOptions master;
  SampleFormat format = SampleFormat::s16;
};
struct RenderReport {
  RenderStats render;
  MasterStats master;
  double audio_seconds = 0;
  double wall_seconds = 0;
};
Result<RenderReport> render_wav(const MidiFile& file, const RenderOptions& options,
                                const std::string& wav_path);
Result<RenderReport> render_wav(const Score& score, const RenderOptions& options,
                                const std::string& wav_path);

// The report as a JSON object (one line), for run records.
std::string render_report_json(const RenderReport& report, const RenderOptions& options);

}  // namespace sonify
