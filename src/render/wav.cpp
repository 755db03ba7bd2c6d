// RIFF/WAVE writer: PCM 16/24-bit (rounded, clipped at full scale) or IEEE float 32
// (with the fact chunk non-PCM formats require), written atomically.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "core/atomic_file.h"
#include "render/master.h"

namespace sonify {
namespace {

void put_le(std::string& out, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
}

// Rounded to nearest, ties to even (std::nearbyint in the default rounding mode) by adding and
// taking away 1.5·2^52, which leaves no fraction bits: the same integers without a libm call per
// sample. Clamping first is the same as clamping after (the bounds are integers) and keeps the
// sum exact.
std::int32_t quantise(float x, double full_scale) {
  if (!std::isfinite(x)) return 0;
  constexpr double kRound = 6755399441055744.0;
  const double v = std::clamp(static_cast<double>(x) * full_scale, -full_scale - 1, full_scale);
  return static_cast<std::int32_t>((v + kRound) - kRound);
}

}  // namespace

const char* sample_format_name(SampleFormat format) {
  switch (format) {
    case SampleFormat::s16:
      return "s16";
    case SampleFormat::s24:
      return "s24";
    case SampleFormat::f32:
      return "f32";
  }
  return "?";
}

Result<SampleFormat> sample_format_from_name(const std::string& name) {
  for (SampleFormat f : {SampleFormat::s16, SampleFormat::s24, SampleFormat::f32})
    if (name == sample_format_name(f)) return f;
  return fail("unknown sample format '", name, "' (s16, s24 or f32)");
}

Status wav_write(const std::string& path, const Audio& audio, SampleFormat format) {
  const int bytes = format == SampleFormat::s16 ? 2 : format == SampleFormat::s24 ? 3 : 4;
  const bool is_float = format == SampleFormat::f32;
  const std::uint64_t data_size = static_cast<std::uint64_t>(audio.samples.size()) * bytes;
  const std::uint64_t fmt_size = is_float ? 18 : 16;
  const std::uint64_t riff_size = 4 + (8 + fmt_size) + (is_float ? 12 : 0) + 8 + data_size + (data_size & 1);
  if (riff_size > 0xFFFFFFFFull) return fail(path, ": audio too long for a WAV file (over 4 GB)");
  std::string head = "RIFF";
  put_le(head, riff_size, 4);
  head += "WAVEfmt ";
  put_le(head, fmt_size, 4);
  put_le(head, is_float ? 3 : 1, 2);
  put_le(head, 2, 2);
  put_le(head, static_cast<std::uint64_t>(audio.sample_rate_hz), 4);
  put_le(head, static_cast<std::uint64_t>(audio.sample_rate_hz) * 2 * bytes, 4);
  put_le(head, 2 * bytes, 2);
  put_le(head, 8 * bytes, 2);
  if (is_float) {
    put_le(head, 0, 2);
    head += "fact";
    put_le(head, 4, 4);
    put_le(head, audio.frames(), 4);
  }
  head += "data";
  put_le(head, data_size, 4);

  SONIFY_ASSIGN_OR_RETURN(file, AtomicFile::create(path));
  SONIFY_TRY(file.write(head));
  const std::size_t per_chunk = 1 << 16;
  std::vector<unsigned char> chunk(per_chunk * static_cast<std::size_t>(bytes));
  const double full_scale = format == SampleFormat::s16 ? 32767.0 : 8388607.0;
  for (std::size_t at = 0; at < audio.samples.size(); at += per_chunk) {
    const std::size_t count = std::min(audio.samples.size() - at, per_chunk);
    const float* x = audio.samples.data() + at;
    unsigned char* out = chunk.data();
    for (std::size_t i = 0; i < count; ++i, out += bytes) {
      std::uint32_t v = 0;
      if (is_float) {
        static_assert(sizeof v == sizeof x[i]);
        std::memcpy(&v, x + i, sizeof v);
      } else {
        v = static_cast<std::uint32_t>(quantise(x[i], full_scale));
      }
      for (int b = 0; b < bytes; ++b) out[b] = static_cast<unsigned char>(v >> (8 * b));
    }
    SONIFY_TRY(file.write(chunk.data(), count * static_cast<std::size_t>(bytes)));
  }
  if (data_size & 1) SONIFY_TRY(file.write("\0", 1));
  return file.commit();
}

Result<RenderReport> render_wav(const MidiFile& file, const RenderOptions& options,
                                const std::string& wav_path) {
  const auto start = std::chrono::steady_clock::now();
  RenderReport report;
  // Check the output location before the (long) render.
  { SONIFY_ASSIGN_OR_RETURN(probe, AtomicFile::create(wav_path)); }
  SONIFY_ASSIGN_OR_RETURN(audio, render_audio(file, options.synth, &report.render));
  SONIFY_ASSIGN_OR_RETURN(master, master_gain(audio, options.master));
  report.master = master;
  report.audio_seconds = audio.seconds();
  // The achieved loudness is measured on a second thread while the file is written.
  Result<double> loudness = 0.0;
  std::thread measure([&] { loudness = loudness_lufs(audio); });
  Status written = wav_write(wav_path, audio, options.format);
  measure.join();
  SONIFY_TRY(written);
  if (!loudness.ok()) {
    std::remove(wav_path.c_str());  // no file that looks whole without its report
    return loudness.error();
  }
  report.master.loudness_lufs = *loudness;
  report.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

Result<RenderReport> render_wav(const Score& score, const RenderOptions& options,
                                const std::string& wav_path) {
  SONIFY_ASSIGN_OR_RETURN(file, midi_from_score(score));
  return render_wav(file, options, wav_path);
}

std::string render_report_json(const RenderReport& report, const RenderOptions& options) {
  auto level = [](double v) {
    return v > -999 ? nlohmann::json(std::round(v * 100) / 100) : nlohmann::json(nullptr);
  };
  nlohmann::ordered_json j;
  j["soundfont"] = report.render.soundfont;
  j["sample_rate_hz"] = options.synth.sample_rate_hz;
  j["format"] = sample_format_name(options.format);
  j["midi_seconds"] = report.render.midi_seconds;
  j["tail_seconds"] = report.render.tail_seconds;
  j["audio_seconds"] = report.audio_seconds;
  j["synths"] = report.render.synths;
  j["peak_voices"] = report.render.peak_voices;
  nlohmann::ordered_json cpu = nlohmann::ordered_json::array();
  for (double c : report.render.synth_cpu_seconds) cpu.push_back(std::round(c * 1000) / 1000);
  j["synth_cpu_seconds"] = cpu;
  j["target"] = options.master.loudness
                    ? nlohmann::ordered_json{{"loudness_lufs", options.master.loudness_lufs},
                                             {"peak_ceiling_dbfs", options.master.peak_ceiling_dbfs}}
                    : nlohmann::ordered_json{{"peak_ceiling_dbfs", options.master.peak_ceiling_dbfs}};
  j["gain_db"] = std::round(report.master.gain_db * 100) / 100;
  j["limited"] = report.master.limited;
  j["peak_dbfs"] = level(report.master.peak_dbfs);
  j["loudness_lufs"] = level(report.master.loudness_lufs);
  j["wall_seconds"] = report.wall_seconds;
  return j.dump();
}

}  // namespace sonify
