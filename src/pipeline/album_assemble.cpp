// The album assembled from track files: one code path for single runs and merges.
#include "pipeline/album_assemble.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "core/output_set.h"
#include "core/text_file.h"
#include "sonify/midi.h"
#include "sonify/render.h"

namespace sonify::pipeline {
namespace {

// A stereo WAV written by wav_write: 16-bit PCM or 32-bit float.
Result<Audio> read_wav(const std::string& path) {
  SONIFY_ASSIGN_OR_RETURN(b, read_text(path));
  if (b.size() < 12 || b.compare(0, 4, "RIFF") != 0 || b.compare(8, 4, "WAVE") != 0)
    return fail(path, ": not a RIFF/WAVE file");
  auto le = [&](std::size_t at, int n) {
    std::uint32_t v = 0;
    for (int k = 0; k < n; ++k)
      v |= static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + k])) << (8 * k);
    return v;
  };
  Audio audio;
  bool fmt_ok = false, is_float = false;
  for (std::size_t at = 12; at + 8 <= b.size();) {
    const std::string id = b.substr(at, 4);
    const std::uint32_t size = le(at + 4, 4);
    if (at + 8 + size > b.size()) return fail(path, ": truncated chunk");
    if (id == "fmt ") {
      is_float = le(at + 8, 2) == 3 && le(at + 22, 2) == 32;
      fmt_ok = le(at + 10, 2) == 2 && ((le(at + 8, 2) == 1 && le(at + 22, 2) == 16) || is_float);
      audio.sample_rate_hz = static_cast<int>(le(at + 12, 4));
    } else if (id == "data") {
      if (!fmt_ok) return fail(path, ": expected 16-bit PCM or 32-bit float stereo");
      if (is_float) {
        audio.samples.resize(size / 4);
        for (std::size_t i = 0; i < audio.samples.size(); ++i) {
          const std::uint32_t bits = le(at + 8 + 4 * i, 4);
          std::memcpy(&audio.samples[i], &bits, 4);
        }
        return audio;
      }
      audio.samples.resize(size / 2);
      for (std::size_t i = 0; i < audio.samples.size(); ++i)
        audio.samples[i] = static_cast<float>(static_cast<std::int16_t>(le(at + 8 + 2 * i, 2)) / 32767.0);
      return audio;
    }
    at += 8 + size + (size & 1);
  }
  return fail(path, ": no data chunk");
}

bool rendered(const nlohmann::ordered_json& row) { return !row.contains("error"); }

std::string track_base(const AlbumLayout& layout, const nlohmann::ordered_json& row) {
  return layout.dir + "/" + row["name"].get<std::string>();
}

// One stereo WAV per pair: A (mixed to mono) on the left, B on the right.
Status write_pairs(const AlbumLayout& layout, std::vector<nlohmann::ordered_json>* rows) {
  for (std::size_t k = 0; k + 1 < rows->size(); k += 2) {
    auto& ra = (*rows)[k];
    auto& rb = (*rows)[k + 1];
    if (layout.midi_only || !rendered(ra) || !rendered(rb)) continue;
    SONIFY_ASSIGN_OR_RETURN(wa, read_wav(track_base(layout, ra) + ".wav"));
    SONIFY_ASSIGN_OR_RETURN(wb, read_wav(track_base(layout, rb) + ".wav"));
    Audio stereo;
    stereo.sample_rate_hz = wa.sample_rate_hz;
    stereo.samples.assign(std::max(wa.frames(), wb.frames()) * 2, 0.0f);
    for (std::size_t f = 0; f < wa.frames(); ++f)
      stereo.samples[2 * f] = 0.5f * (wa.samples[2 * f] + wa.samples[2 * f + 1]);
    for (std::size_t f = 0; f < wb.frames(); ++f)
      stereo.samples[2 * f + 1] = 0.5f * (wb.samples[2 * f] + wb.samples[2 * f + 1]);
    const std::string na = ra["name"].get<std::string>();
    const std::string pair_name = na.substr(0, na.size() - 2);
    SONIFY_TRY(wav_write(layout.dir + "/" + pair_name + ".wav", stereo, SampleFormat::s16));
    ra["stereo"] = pair_name + ".wav";
    rb["stereo"] = pair_name + ".wav";
  }
  return Status::Ok();
}

// Tracks laid out at their start times; a tail may reach into the next track's start:
// mixed, not appended.
Audio mix(const std::vector<Audio>& tracks, const std::vector<double>& starts) {
  Audio audio;
  if (!tracks.empty()) audio.sample_rate_hz = tracks.front().sample_rate_hz;
  for (std::size_t k = 0; k < tracks.size(); ++k) {
    const std::size_t start = static_cast<std::size_t>(std::llround(starts[k] * audio.sample_rate_hz)) * 2;
    const auto& samples = tracks[k].samples;
    if (audio.samples.size() < start + samples.size()) audio.samples.resize(start + samples.size(), 0.0f);
    for (std::size_t q = 0; q < samples.size(); ++q) audio.samples[start + q] += samples[q];
  }
  return audio;
}

nlohmann::ordered_json master_json(const MasterStats& s) {
  auto round2 = [](double v) {
    return v > -999 ? nlohmann::ordered_json(std::round(v * 100) / 100) : nullptr;
  };
  return {{"gain_db", round2(s.gain_db)},
          {"loudness_lufs", round2(s.loudness_lufs)},
          {"true_peak_dbtp", round2(s.true_peak_dbtp)},
          {"limited", s.limited}};
}

// One album gain, found so the mastered album (every track limited to the true-peak
// ceiling, then the album itself) measures the target loudness: the limiter takes off a
// little, so the gain is corrected a few times. Writes each track's NAME.wav and returns
// the album audio, mastered.
Result<Audio> master_album(const AlbumLayout& layout, const std::vector<std::string>& names,
                           const std::vector<double>& starts, std::vector<nlohmann::ordered_json*>& rows,
                           nlohmann::ordered_json* report) {
  std::vector<Audio> raw;
  for (const std::string& name : names) {
    SONIFY_ASSIGN_OR_RETURN(audio, read_wav(layout.dir + "/" + name + ".raw.wav"));
    raw.push_back(std::move(audio));
  }
  SONIFY_ASSIGN_OR_RETURN(raw_loudness, loudness_lufs(mix(raw, starts)));
  double gain_db = raw_loudness > -999 ? kAlbumLoudnessLufs - raw_loudness : 0.0;
  std::vector<Audio> mastered;
  std::vector<MasterStats> stats;
  Audio album;
  MasterStats album_stats;
  for (int pass = 0; pass < 4; ++pass) {
    mastered = raw;
    stats.clear();
    for (Audio& a : mastered) {
      SONIFY_ASSIGN_OR_RETURN(s, master_to_true_peak(a, gain_db, kTruePeakCeilingDbtp));
      stats.push_back(s);
    }
    album = mix(mastered, starts);
    SONIFY_ASSIGN_OR_RETURN(s, master_to_true_peak(album, 0.0, kTruePeakCeilingDbtp));
    album_stats = s;
    const double miss = kAlbumLoudnessLufs - album_stats.loudness_lufs;
    if (album_stats.loudness_lufs < -999 || std::fabs(miss) < 0.05) break;
    gain_db += miss;
  }
  for (std::size_t k = 0; k < names.size(); ++k) {
    SONIFY_TRY(wav_write(layout.dir + "/" + names[k] + ".wav", mastered[k], SampleFormat::s16));
    (*rows[k])["master"] = master_json(stats[k]);
  }
  *report = master_json(album_stats);
  (*report)["gain_db"] = std::round(gain_db * 100) / 100;
  (*report)["mode"] = "album";
  (*report)["target_lufs"] = kAlbumLoudnessLufs;
  (*report)["ceiling_dbtp"] = kTruePeakCeilingDbtp;
  return album;
}

// The album: tracks in order with a gap, tempo and key changes at each start.
Result<AlbumAssembly> write_album(const AlbumLayout& layout, std::vector<nlohmann::ordered_json>* rows) {
  Score album;
  album.title = "sonify album";
  std::int64_t cursor = 0;
  double seconds = 0;
  std::vector<std::string> names;
  std::vector<double> starts;
  std::vector<nlohmann::ordered_json*> placed;
  for (auto& row : *rows) {
    if (!rendered(row)) continue;
    const std::string base = track_base(layout, row);
    SONIFY_ASSIGN_OR_RETURN(midi, midi_read(base + ".mid"));
    SONIFY_ASSIGN_OR_RETURN(s, score_from_midi(midi));
    const double bpm = s.tempos.empty() ? 120.0 : s.tempos.front().bpm();
    album.set_tempo(cursor, bpm);
    for (const KeySignature& key : s.key_signatures)
      album.key_signatures.push_back({cursor + key.tick, key.sharps, key.minor});
    album.mark(cursor, row["name"].get<std::string>());
    for (std::size_t t = 0; t < s.tracks.size(); ++t) {
      if (album.tracks.size() <= t) album.add_track(s.tracks[t].name, s.tracks[t].program);
      Track& dst = album.tracks[t];
      for (const Note& note : s.tracks[t].notes)
        dst.note(cursor + note.start_ticks, note.length_ticks, note.pitch, note.velocity);
      for (const ControlChange& c : s.tracks[t].controls) dst.control(cursor + c.tick, c.controller, c.value);
    }
    row["start"] = seconds;
    names.push_back(row["name"].get<std::string>());
    starts.push_back(seconds);
    placed.push_back(&row);
    const std::int64_t end = s.end_ticks();
    const std::int64_t gap =
        static_cast<std::int64_t>(std::llround(layout.gap_seconds * bpm / 60.0 * album.ppq));
    seconds += s.seconds_at(end) + layout.gap_seconds;
    cursor += end + gap;
  }
  AlbumAssembly out;
  out.seconds = seconds > 0 ? seconds - layout.gap_seconds : 0.0;
  if (album.tracks.empty()) return out;
  SONIFY_ASSIGN_OR_RETURN(set, OutputSet::open(layout.dir, "album"));
  SONIFY_TRY(midi_write(album, set.temp_path(".mid")));
  if (!layout.midi_only) {
    Audio audio;
    if (layout.master == "album") {
      SONIFY_ASSIGN_OR_RETURN(mastered, master_album(layout, names, starts, placed, &out.master));
      audio = std::move(mastered);
    } else {
      std::vector<Audio> tracks;
      for (const std::string& name : names) {
        SONIFY_ASSIGN_OR_RETURN(wav, read_wav(layout.dir + "/" + name + ".wav"));
        tracks.push_back(std::move(wav));
      }
      audio = mix(tracks, starts);
    }
    SONIFY_TRY(wav_write(set.temp_path(".wav"), audio, SampleFormat::s16));
  }
  SONIFY_TRY(set.commit());
  return out;
}

}  // namespace

Result<AlbumAssembly> album_assemble(const AlbumLayout& layout, std::vector<nlohmann::ordered_json>* rows) {
  if (layout.mode == "contrast") {
    SONIFY_TRY(write_pairs(layout, rows));
    return AlbumAssembly{};
  }
  return write_album(layout, rows);
}

std::string album_manifest_text(const std::string& model, const AlbumLayout& layout,
                                const nlohmann::ordered_json& master, bool complete,
                                const std::vector<nlohmann::ordered_json>& rows) {
  nlohmann::ordered_json m;
  m["model"] = model;
  m["mode"] = layout.mode;
  m["gap_seconds"] = layout.gap_seconds;
  if (!master.is_null()) m["master"] = master;
  m["complete"] = complete;
  nlohmann::ordered_json tracks = nlohmann::ordered_json::array();
  for (const auto& r : rows)
    if (!r.is_null()) tracks.push_back(r);
  m["tracks"] = tracks;
  return m.dump(1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

std::vector<std::string> album_track_exts(const AlbumLayout& layout) {
  if (layout.midi_only) return {".mid", ".json", ".timing.json"};
  if (layout.master == "album") return {".mid", ".raw.wav", ".json", ".timing.json"};
  return {".mid", ".wav", ".json", ".timing.json"};
}

std::string album_shard_path(const std::string& dir, int shard, int shards) {
  return dir + "/shard-" + std::to_string(shard) + "-of-" + std::to_string(shards) + ".json";
}

}  // namespace sonify::pipeline
