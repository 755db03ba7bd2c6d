// `sonify album FILE`: one activation track per prompt (MIDI, WAV, JSON, timing), then
// album.mid, album.wav and manifest.json. Forward passes run one after another on the
// process's single runtime; WAV rendering, the slow part, runs on -j threads (each
// render is single-threaded, and the audio never depends on threads, so -j N writes the
// same bytes as -j 1). Finished tracks whose input hash matches the manifest are kept.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "activation_run.h"
#include "cli_common.h"
#include "core/atomic_file.h"
#include "model_run.h"
#include "sonify/midi.h"
#include "sonify/utf8.h"

namespace sonify::cli {
namespace {

struct AlbumArgs {
  ActivationOptions activation;
  std::string file;
  std::string out = "album";
  std::string mode = "album";
  int jobs = 1;
  double gap_seconds = 2.0;
  int stop_after = 0;  // hidden, for tests: stop (as if killed) after N finished tracks
};

struct Entry {
  int line = 0;
  std::string prompt;
  std::string title;
  std::string group;
  std::string error;  // parse error of the line
};

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

Result<std::vector<Entry>> read_entries(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(path, ": cannot read the prompt list");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<Entry> out;
  std::size_t start = 0;
  int line_no = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    Entry e;
    e.line = line_no;
    if (line[first] == '{') {
      const auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.is_object() || !j.contains("prompt") || !j["prompt"].is_string()) {
        e.error = path + ":" + std::to_string(line_no) + ": not a JSON object with a \"prompt\" string";
        e.prompt = line;
      } else {
        e.prompt = j["prompt"].get<std::string>();
        if (j.contains("title") && j["title"].is_string()) e.title = j["title"].get<std::string>();
        if (j.contains("group") && j["group"].is_string()) e.group = j["group"].get<std::string>();
      }
    } else {
      e.prompt = line.substr(first);
    }
    out.push_back(std::move(e));
  }
  if (out.empty()) return fail(path, ": no prompts (blank lines and # comments are skipped)");
  return out;
}

// Valid UTF-8 text for JSON (invalid bytes shown as U+FFFD).
std::string printable(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    bool ok = n > 0 && i + n <= s.size();
    for (std::size_t k = 1; ok && k < n; ++k) ok = (static_cast<unsigned char>(s[i + k]) >> 6) == 2;
    if (ok && n > 1) ok = nlohmann::json::parse("\"" + s.substr(i, n) + "\"", nullptr, false).is_string();
    if (!ok) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out += s.substr(i, n);
      i += n;
    }
  }
  return out;
}

struct Rendered {
  bool ok = false;
  std::string error;
  Score score;  // for album.mid
};

Result<Audio> read_wav_s16(const std::string& path) {
  const std::string b = read_text(path);
  if (b.size() < 12 || b.compare(0, 4, "RIFF") != 0 || b.compare(8, 4, "WAVE") != 0)
    return fail(path, ": not a RIFF/WAVE file");
  auto le = [&](std::size_t at, int n) {
    std::uint32_t v = 0;
    for (int k = 0; k < n; ++k)
      v |= static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + k])) << (8 * k);
    return v;
  };
  Audio audio;
  bool fmt_ok = false;
  for (std::size_t at = 12; at + 8 <= b.size();) {
    const std::string id = b.substr(at, 4);
    const std::uint32_t size = le(at + 4, 4);
    if (at + 8 + size > b.size()) return fail(path, ": truncated chunk");
    if (id == "fmt ") {
      fmt_ok = le(at + 8, 2) == 1 && le(at + 10, 2) == 2 && le(at + 22, 2) == 16;
      audio.sample_rate_hz = static_cast<int>(le(at + 12, 4));
    } else if (id == "data") {
      if (!fmt_ok) return fail(path, ": expected 16-bit stereo PCM");
      audio.samples.resize(size / 2);
      for (std::size_t i = 0; i < audio.samples.size(); ++i)
        audio.samples[i] = static_cast<float>(static_cast<std::int16_t>(le(at + 8 + 2 * i, 2)) / 32767.0);
      return audio;
    }
    at += 8 + size + (size & 1);
  }
  return fail(path, ": no data chunk");
}

void progress(int done, int total) {
  if (!isatty(STDERR_FILENO)) {
    std::fprintf(stderr, "album: %d/%d tracks\n", done, total);
    return;
  }
  const int width = 30;
  const int filled = total > 0 ? done * width / total : width;
  std::fprintf(stderr, "\r[%s%s] %d/%d tracks", std::string(static_cast<std::size_t>(filled), '#').c_str(),
               std::string(static_cast<std::size_t>(width - filled), ' ').c_str(), done, total);
  if (done == total) std::fprintf(stderr, "\n");
}

int run_album(const AlbumArgs& a) {
  if (a.mode != "album" && a.mode != "dialogue" && a.mode != "contrast")
    return report(fail("--mode ", a.mode, ": expected album, dialogue or contrast"));
  const bool contrast = a.mode == "contrast";
  SONIFY_ASSIGN_OR_REPORT(entries, read_entries(a.file));
  std::error_code ec;
  std::filesystem::create_directories(a.out, ec);
  if (!std::filesystem::is_directory(a.out, ec))
    return report(fail(a.out, ": cannot create the output directory"));
  ActivationOptions options = a.activation;
  if (options.direction.empty()) {
    const std::string def = data_dir() + "/../configs/contrast/calm-tense.json";
    if (std::filesystem::exists(def, ec)) options.direction = def;
  }
  SONIFY_ASSIGN_OR_REPORT(session, activation_open(options));

  // The previous manifest, for resuming.
  const std::string manifest_path = a.out + "/manifest.json";
  nlohmann::json previous = nlohmann::json::parse(read_text(manifest_path), nullptr, false);
  auto previous_track = [&](const std::string& name) -> const nlohmann::json* {
    if (previous.is_discarded() || !previous.is_object() || !previous.contains("tracks")) return nullptr;
    for (const auto& t : previous["tracks"])
      if (t.is_object() && t.value("name", "") == name) return &t;
    return nullptr;
  };

  // Groups in order of first appearance set key and tempo (the notebook's categories).
  std::vector<std::string> groups;
  for (const Entry& e : entries)
    if (!e.group.empty() && std::find(groups.begin(), groups.end(), e.group) == groups.end())
      groups.push_back(e.group);
  static const int kRootOffsets[] = {0, 2, 5, 7, 3, 0, 2, 5};
  static const char* kModes[] = {"phrygian", "natural_minor", "dorian",     "phrygian",
                                 "dorian",   "natural_minor", "whole_tone", "phrygian"};

  const int n = static_cast<int>(entries.size());
  const int digits = n >= 100 ? 3 : 2;
  std::vector<TrackSettings> settings(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    const Entry& e = entries[static_cast<std::size_t>(i)];
    if (!e.group.empty()) {
      const int gi = static_cast<int>(std::find(groups.begin(), groups.end(), e.group) - groups.begin());
      settings[static_cast<std::size_t>(i)].root_midi = 48 + (session->root_midi + kRootOffsets[gi % 8]) % 12;
      settings[static_cast<std::size_t>(i)].mode = kModes[gi % 8];
      settings[static_cast<std::size_t>(i)].bpm = std::min(115, std::max(60, 72 + 5 * gi));
    }
  }

  // Dialogue: a first pass measures tension, then the order follows a calm → rise →
  // peak → resolution arc (ascending on even ranks, descending on odd), each prompt once,
  // with tempo and mode following the tension.
  std::vector<int> order(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) order[static_cast<std::size_t>(i)] = i;
  if (a.mode == "dialogue") {
    if (!session->direction)
      return report(fail("--mode dialogue needs a contrast direction (--direction FILE)"));
    std::vector<double> tension(static_cast<std::size_t>(n), 0.0);
    std::vector<int> ok;
    for (int i = 0; i < n; ++i) {
      if (!entries[static_cast<std::size_t>(i)].error.empty()) continue;
      auto r = activation_compose(*session, entries[static_cast<std::size_t>(i)].prompt, {});
      if (!r.ok()) continue;
      tension[static_cast<std::size_t>(i)] = r->tension;
      ok.push_back(i);
    }
    std::stable_sort(ok.begin(), ok.end(), [&](int x, int y) { return tension[x] < tension[y]; });
    std::vector<int> arc;
    for (std::size_t k = 0; k < ok.size(); k += 2) arc.push_back(ok[k]);
    for (std::size_t k = ok.size() - (ok.size() % 2 == 0 ? 1 : 2); k < ok.size(); k -= 2)
      arc.push_back(ok[k]);
    double lo = 0, hi = 0;
    if (!ok.empty()) {
      lo = tension[static_cast<std::size_t>(ok.front())];
      hi = tension[static_cast<std::size_t>(ok.back())];
    }
    for (int i : arc) {
      const double t = hi > lo ? (tension[static_cast<std::size_t>(i)] - lo) / (hi - lo) : 0.0;
      settings[static_cast<std::size_t>(i)].bpm = std::min(120.0, std::max(52.0, std::floor(72 + 40 * t)));
      settings[static_cast<std::size_t>(i)].mode = t > 0.75   ? "phrygian"
                                                   : t > 0.45 ? "dorian"
                                                              : "natural_minor";
    }
    // Failing prompts keep their place at the end so they are reported.
    for (int i = 0; i < n; ++i)
      if (std::find(arc.begin(), arc.end(), i) == arc.end()) arc.push_back(i);
    order = arc;
  }

  // Contrast: consecutive prompts pair up (A, B); the shorter track of a pair is played
  // faster or slower so both last exactly as long (tempo scales every time in a track).
  if (contrast) {
    if (n % 2 == 1 && entries.back().error.empty())
      entries.back().error = a.file + ":" + std::to_string(entries.back().line) +
                             ": contrast mode pairs consecutive prompts (A then B); this A has no B";
    for (int k = 0; k + 1 < n; k += 2) {
      Entry& ea = entries[static_cast<std::size_t>(k)];
      Entry& eb = entries[static_cast<std::size_t>(k + 1)];
      if (!ea.error.empty() || !eb.error.empty()) continue;
      auto ra = activation_compose(*session, ea.prompt, settings[static_cast<std::size_t>(k)]);
      auto rb = activation_compose(*session, eb.prompt, settings[static_cast<std::size_t>(k + 1)]);
      if (!ra.ok() || !rb.ok()) continue;
      const double la = ra->track.score.length_seconds();
      const double lb = rb->track.score.length_seconds();
      const int shorter = la < lb ? k : k + 1;
      const double ratio = la < lb ? la / lb : lb / la;
      TrackSettings& st = settings[static_cast<std::size_t>(shorter)];
      st.bpm = std::max(20.0, (shorter == k ? ra->bpm : rb->bpm) * ratio);
    }
  }

  // The identity of everything a track depends on.
  const std::string session_key = session->model_path + "|" + session->pca.corpus_hash + "|" +
                                  options.direction + options.direction_method + "|" + options.layers + "|" +
                                  options.programs + "|" + std::to_string(options.pca_sentences) + "|" +
                                  std::to_string(options.pca_stride) + "|" +
                                  (options.midi_only ? "midi" : "wav") + "|" + std::to_string(options.seed);

  std::vector<nlohmann::ordered_json> rows(static_cast<std::size_t>(n));
  std::vector<Rendered> rendered(static_cast<std::size_t>(n));
  std::vector<TrackResult> composed(static_cast<std::size_t>(n));
  std::vector<int> to_render;
  std::mutex mu;
  int done = 0;
  int failures = 0;

  auto write_manifest = [&](bool final_write) -> Status {
    nlohmann::ordered_json m;
    m["model"] = session->model_path;
    m["mode"] = a.mode;
    m["gap_seconds"] = a.gap_seconds;
    m["complete"] = final_write;
    nlohmann::ordered_json tracks = nlohmann::ordered_json::array();
    for (int k = 0; k < n; ++k) {
      const auto& r = rows[static_cast<std::size_t>(order[static_cast<std::size_t>(k)])];
      if (!r.is_null()) tracks.push_back(r);
    }
    m["tracks"] = tracks;
    return write_file_atomic(manifest_path, m.dump(1) + "\n");
  };

  // Pass 1 (sequential): forward passes and composition; tracks already done are kept.
  for (int k = 0; k < n; ++k) {
    const int i = order[static_cast<std::size_t>(k)];
    const Entry& e = entries[static_cast<std::size_t>(i)];
    char num[16];
    std::snprintf(num, sizeof num, "%0*d", digits, k + 1);
    std::string name = std::string("track_") + num;
    if (contrast) {
      std::snprintf(num, sizeof num, "%0*d", digits, k / 2 + 1);
      name = std::string("pair_") + num + (k % 2 == 0 ? "_a" : "_b");
    }
    const TrackSettings& st = settings[static_cast<std::size_t>(i)];
    const std::string hash = fnv1a_hex(session_key + "|" + e.prompt + "|" + e.title + "|" + e.group + "|" +
                                       a.mode + "|" + std::to_string(st.root_midi.value_or(-1)) + "|" +
                                       st.mode.value_or("") + "|" + std::to_string(st.bpm.value_or(0)));
    nlohmann::ordered_json row;
    row["track"] = k + 1;
    row["name"] = name;
    row["title"] = printable(e.title.empty() ? e.prompt.substr(0, 60) : e.title);
    row["prompt"] = printable(e.prompt);
    row["group"] = e.group;
    row["line"] = e.line;
    if (contrast) {
      row["pair"] = k / 2 + 1;
      row["side"] = k % 2 == 0 ? "a" : "b";
    }
    row["hash"] = hash;
    const std::string base = a.out + "/" + name;
    if (!e.error.empty()) {
      row["error"] = e.error;
      rows[static_cast<std::size_t>(i)] = row;
      ++failures;
      continue;
    }
    const nlohmann::json* prev = previous_track(name);
    const bool files = std::filesystem::exists(base + ".mid", ec) &&
                       std::filesystem::exists(base + ".json", ec) &&
                       std::filesystem::exists(base + ".timing.json", ec) &&
                       (options.midi_only || std::filesystem::exists(base + ".wav", ec));
    if (prev != nullptr && prev->value("hash", "") == hash && !prev->contains("error") && files) {
      for (const char* key : {"tension", "key", "mode", "tempo", "duration"})
        if (prev->contains(key)) row[key] = (*prev)[key];
      row["resumed"] = true;
      rows[static_cast<std::size_t>(i)] = row;
      auto midi = midi_read(base + ".mid");
      auto score = midi.ok() ? score_from_midi(*midi) : Result<Score>(midi.error());
      if (score.ok()) {
        rendered[static_cast<std::size_t>(i)].ok = true;
        rendered[static_cast<std::size_t>(i)].score = std::move(score).value();
      }
      ++done;
      progress(done, n);
      continue;
    }
    auto r = activation_compose(*session, e.prompt, st);
    if (!r.ok()) {
      row["error"] = printable(r.error().message);
      rows[static_cast<std::size_t>(i)] = row;
      ++failures;
      continue;
    }
    row["tension"] = r->tension;
    row["key"] = pitch_name(r->root_midi);
    row["mode"] = r->mode;
    row["tempo"] = r->bpm;
    row["duration"] = r->track.score.length_seconds();
    rows[static_cast<std::size_t>(i)] = row;
    composed[static_cast<std::size_t>(i)] = std::move(r).value();
    to_render.push_back(i);
  }

  // Pass 2 (parallel): writing and rendering.
  std::atomic<std::size_t> next{0};
  std::atomic<bool> stop{false};
  auto worker = [&] {
    for (;;) {
      if (stop) return;
      const std::size_t idx = next++;
      if (idx >= to_render.size()) return;
      const int i = to_render[idx];
      const std::string name = rows[static_cast<std::size_t>(i)]["name"].get<std::string>();
      Status s = activation_write(composed[static_cast<std::size_t>(i)], a.out, name, options.midi_only, 1);
      std::lock_guard<std::mutex> lock(mu);
      if (!s.ok()) {
        rows[static_cast<std::size_t>(i)]["error"] = printable(s.error().message);
        ++failures;
      } else {
        rendered[static_cast<std::size_t>(i)].ok = true;
        rendered[static_cast<std::size_t>(i)].score = composed[static_cast<std::size_t>(i)].track.score;
        ++done;
        progress(done, n);
        (void)write_manifest(false);
        if (a.stop_after > 0 && done >= a.stop_after) stop = true;
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < std::max(1, a.jobs); ++t) threads.emplace_back(worker);
  for (auto& t : threads) t.join();
  if (stop) {
    (void)write_manifest(false);
    return report(fail("stopped after ", done, " tracks (--stop-after)"));
  }

  if (contrast) {
    // One stereo WAV per pair: A (mixed to mono) on the left, B on the right.
    for (int k = 0; k + 1 < n; k += 2) {
      if (options.midi_only || !rendered[static_cast<std::size_t>(k)].ok ||
          !rendered[static_cast<std::size_t>(k + 1)].ok)
        continue;
      const std::string na = rows[static_cast<std::size_t>(k)]["name"].get<std::string>();
      const std::string nb = rows[static_cast<std::size_t>(k + 1)]["name"].get<std::string>();
      auto wa = read_wav_s16(a.out + "/" + na + ".wav");
      auto wb = read_wav_s16(a.out + "/" + nb + ".wav");
      if (!wa.ok()) return report(wa.error());
      if (!wb.ok()) return report(wb.error());
      Audio stereo;
      stereo.sample_rate_hz = wa->sample_rate_hz;
      const std::size_t frames = std::max(wa->frames(), wb->frames());
      stereo.samples.assign(frames * 2, 0.0f);
      for (std::size_t f = 0; f < wa->frames(); ++f)
        stereo.samples[2 * f] = 0.5f * (wa->samples[2 * f] + wa->samples[2 * f + 1]);
      for (std::size_t f = 0; f < wb->frames(); ++f)
        stereo.samples[2 * f + 1] = 0.5f * (wb->samples[2 * f] + wb->samples[2 * f + 1]);
      const std::string pair_name = na.substr(0, na.size() - 2);
      if (Status st = wav_write(a.out + "/" + pair_name + ".wav", stereo, SampleFormat::s16); !st.ok())
        return report(st.error());
      rows[static_cast<std::size_t>(k)]["stereo"] = pair_name + ".wav";
      rows[static_cast<std::size_t>(k + 1)]["stereo"] = pair_name + ".wav";
    }
    if (Status st = write_manifest(true); !st.ok()) return report(st.error());
    std::printf("%s: %d of %d tracks in pairs\n", a.out.c_str(), done, n);
    if (failures > 0) return report(fail(failures, " of ", n, " prompts failed (see ", manifest_path, ")"));
    return 0;
  }

  // The album: tracks in order with a gap, tempo and key changes at each start.
  Score album;
  album.title = "sonify album";
  Audio audio;
  bool have_audio = false;
  std::int64_t cursor = 0;
  double seconds = 0;
  for (int k = 0; k < n; ++k) {
    const int i = order[static_cast<std::size_t>(k)];
    if (!rendered[static_cast<std::size_t>(i)].ok) continue;
    const Score& s = rendered[static_cast<std::size_t>(i)].score;
    auto& row = rows[static_cast<std::size_t>(i)];
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
    const double length = row.contains("duration") ? row["duration"].get<double>() : s.length_seconds();
    if (!options.midi_only) {
      auto wav = read_wav_s16(a.out + "/" + row["name"].get<std::string>() + ".wav");
      if (wav.ok()) {
        if (!have_audio) audio.sample_rate_hz = wav->sample_rate_hz;
        have_audio = true;
        // Start times in the album follow the WAVs (each includes its reverb tail).
        const std::size_t at = static_cast<std::size_t>(std::llround(seconds * audio.sample_rate_hz)) * 2;
        // A track's reverb tail may reach into the next track's start: mixed, not appended.
        if (audio.samples.size() < at + wav->samples.size())
          audio.samples.resize(at + wav->samples.size(), 0.0f);
        for (std::size_t q = 0; q < wav->samples.size(); ++q) audio.samples[at + q] += wav->samples[q];
      }
    }
    const std::int64_t end = s.end_ticks();
    const std::int64_t gap = static_cast<std::int64_t>(std::llround(a.gap_seconds * bpm / 60.0 * album.ppq));
    seconds += s.seconds_at(end) + a.gap_seconds;
    (void)length;
    cursor += end + gap;
  }
  if (!album.tracks.empty()) {
    if (Status s = midi_write(album, a.out + "/album.mid"); !s.ok()) return report(s.error());
    if (have_audio)
      if (Status s = wav_write(a.out + "/album.wav", audio, SampleFormat::s16); !s.ok())
        return report(s.error());
  }
  if (Status s = write_manifest(true); !s.ok()) return report(s.error());
  std::printf("%s: %d of %d tracks, %.1f s%s\n", a.out.c_str(), done, n,
              seconds > 0 ? seconds - a.gap_seconds : 0.0,
              failures > 0 ? " (failures listed in manifest.json)" : "");
  if (failures > 0) return report(fail(failures, " of ", n, " prompts failed (see ", manifest_path, ")"));
  return 0;
}

}  // namespace

void register_album(CLI::App& app, int* exit_code) {
  auto a = std::make_shared<AlbumArgs>();
  CLI::App* cmd = app.add_subcommand("album", "Turn a list of prompts into an album of activation tracks");
  cmd->add_option("file", a->file,
                  "Prompt list: one per line (# comments) or JSON Lines with prompt/title/group")
      ->required();
  add_activation_options(cmd, &a->activation);
  cmd->add_option("-o,--out", a->out, "Output directory")->capture_default_str();
  cmd->add_option(
         "--mode", a->mode,
         "album (file order), dialogue (ordered by tension into an arc) or contrast (consecutive prompts as "
         "A/B pairs of equal length, plus a stereo WAV per pair)")
      ->capture_default_str();
  cmd->add_option("-j,--jobs", a->jobs, "Tracks rendered in parallel")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  cmd->add_option("--gap", a->gap_seconds, "Seconds between tracks in album.mid/album.wav")
      ->check(CLI::Range(0.0, 60.0))
      ->capture_default_str();
  cmd->add_option("--stop-after", a->stop_after, "(testing) stop after N finished tracks, as if interrupted")
      ->group("");
  cmd->callback([a, exit_code] { *exit_code = run_album(*a); });
}

}  // namespace sonify::cli
