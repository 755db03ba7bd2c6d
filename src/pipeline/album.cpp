// run_album: a list of prompts → tracks, album.mid/album.wav or pair WAVs, and a
// manifest that lets an interrupted run resume (include/sonify/pipeline_album.h).
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "core/atomic_file.h"
#include "core/output_set.h"
#include "core/text_file.h"
#include "pipeline/activation_session.h"
#include "sonify/midi.h"
#include "sonify/pipeline_album.h"
#include "sonify/render.h"
#include "sonify/report.h"

namespace sonify {
namespace {

using pipeline::TrackResult;
using pipeline::TrackSettings;

struct Entry {
  int line = 0;
  std::string prompt;
  std::string title;
  std::string group;
  std::string error;  // parse error of the line
};

Result<std::vector<Entry>> read_entries(const std::string& path) {
  auto read = read_text(path);
  if (!read.ok()) return fail(read.error().message, " (the prompt list)");
  const std::string& text = *read;
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

Result<Audio> read_wav_s16(const std::string& path) {
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

// Groups in order of first appearance set the key (the notebook's root offsets) and a
// mood: with a contrast direction the groups are ranked by their prompts' mean tension,
// calmest major, then mixolydian, natural minor, and the tensest phrygian (so a group of
// storms sounds darker than a group of lullabies because the model says so); without
// one, the notebook's mode table. Tempo stays each prompt's own.
std::vector<TrackSettings> group_settings(pipeline::ActivationSession& session,
                                          const std::vector<Entry>& entries, int session_root) {
  static const int kRootOffsets[] = {0, 2, 5, 7, 3, 0, 2, 5};
  static const char* kModes[] = {"phrygian", "natural_minor", "dorian",     "phrygian",
                                 "dorian",   "natural_minor", "whole_tone", "phrygian"};
  static const char* kMoods[] = {"major", "mixolydian", "natural_minor", "phrygian"};
  std::vector<std::string> groups;
  std::vector<int> group_of(entries.size(), -1);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const std::string& g = entries[i].group;
    if (g.empty()) continue;
    if (std::find(groups.begin(), groups.end(), g) == groups.end()) groups.push_back(g);
    group_of[i] = static_cast<int>(std::find(groups.begin(), groups.end(), g) - groups.begin());
  }
  std::vector<std::string> mood(groups.size());
  for (std::size_t g = 0; g < groups.size(); ++g) mood[g] = kModes[g % 8];
  if (session.direction && groups.size() > 1) {
    std::vector<double> sum(groups.size(), 0.0);
    std::vector<int> count(groups.size(), 0);
    for (std::size_t i = 0; i < entries.size(); ++i) {
      if (group_of[i] < 0 || !entries[i].error.empty()) continue;
      auto r = pipeline::activation_compose(session,
                                            pipeline::prompt_of_text(session.request, entries[i].prompt), {});
      if (!r.ok()) continue;
      sum[static_cast<std::size_t>(group_of[i])] += r->tension;
      ++count[static_cast<std::size_t>(group_of[i])];
    }
    std::vector<std::size_t> rank(groups.size());
    for (std::size_t g = 0; g < groups.size(); ++g) rank[g] = g;
    auto mean = [&](std::size_t g) { return count[g] > 0 ? sum[g] / count[g] : 0.0; };
    std::stable_sort(rank.begin(), rank.end(),
                     [&](std::size_t a, std::size_t b) { return mean(a) < mean(b); });
    for (std::size_t k = 0; k < rank.size(); ++k)
      mood[rank[k]] = kMoods[static_cast<int>(std::lround(3.0 * k / (rank.size() - 1)))];
  }
  std::vector<TrackSettings> settings(entries.size());
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const int gi = group_of[i];
    if (gi < 0) continue;
    settings[i].root_midi = 48 + (session_root + kRootOffsets[gi % 8]) % 12;
    settings[i].mode = mood[static_cast<std::size_t>(gi)];
  }
  return settings;
}

// Dialogue: a first pass measures tension, then the order follows a calm → rise → peak →
// resolution arc (ascending on even ranks, descending on odd), each prompt once, with
// tempo and mode following the tension. Failing prompts keep their place at the end.
std::vector<int> dialogue_order(pipeline::ActivationSession& session, const std::vector<Entry>& entries,
                                std::vector<TrackSettings>* settings) {
  const int n = static_cast<int>(entries.size());
  std::vector<double> tension(entries.size(), 0.0);
  std::vector<int> ok;
  for (int i = 0; i < n; ++i) {
    const Entry& e = entries[static_cast<std::size_t>(i)];
    if (!e.error.empty()) continue;
    auto r = pipeline::activation_compose(session, pipeline::prompt_of_text(session.request, e.prompt), {});
    if (!r.ok()) continue;
    tension[static_cast<std::size_t>(i)] = r->tension;
    ok.push_back(i);
  }
  std::stable_sort(ok.begin(), ok.end(), [&](int x, int y) { return tension[x] < tension[y]; });
  std::vector<int> arc;
  for (std::size_t k = 0; k < ok.size(); k += 2) arc.push_back(ok[k]);
  for (std::size_t k = ok.size() - (ok.size() % 2 == 0 ? 1 : 2); k < ok.size(); k -= 2) arc.push_back(ok[k]);
  const double lo = ok.empty() ? 0 : tension[static_cast<std::size_t>(ok.front())];
  const double hi = ok.empty() ? 0 : tension[static_cast<std::size_t>(ok.back())];
  for (int i : arc) {
    const double t = hi > lo ? (tension[static_cast<std::size_t>(i)] - lo) / (hi - lo) : 0.0;
    TrackSettings& st = (*settings)[static_cast<std::size_t>(i)];
    st.bpm = std::min(120.0, std::max(52.0, std::floor(72 + 40 * t)));
    st.mode = t > 0.75 ? "phrygian" : t > 0.45 ? "dorian" : "natural_minor";
  }
  for (int i = 0; i < n; ++i)
    if (std::find(arc.begin(), arc.end(), i) == arc.end()) arc.push_back(i);
  return arc;
}

// Contrast: consecutive prompts pair up (A, B); the shorter track of a pair is played
// faster or slower so both last exactly as long (tempo scales every time in a track).
void contrast_tempos(pipeline::ActivationSession& session, const std::string& file,
                     std::vector<Entry>* entries, std::vector<TrackSettings>* settings) {
  const int n = static_cast<int>(entries->size());
  if (n % 2 == 1 && entries->back().error.empty())
    entries->back().error = file + ":" + std::to_string(entries->back().line) +
                            ": contrast mode pairs consecutive prompts (A then B); this A has no B";
  for (int k = 0; k + 1 < n; k += 2) {
    const Entry& ea = (*entries)[static_cast<std::size_t>(k)];
    const Entry& eb = (*entries)[static_cast<std::size_t>(k + 1)];
    if (!ea.error.empty() || !eb.error.empty()) continue;
    auto ra = pipeline::activation_compose(session, pipeline::prompt_of_text(session.request, ea.prompt),
                                           (*settings)[static_cast<std::size_t>(k)]);
    auto rb = pipeline::activation_compose(session, pipeline::prompt_of_text(session.request, eb.prompt),
                                           (*settings)[static_cast<std::size_t>(k + 1)]);
    if (!ra.ok() || !rb.ok()) continue;
    const double la = ra->track.score.length_seconds();
    const double lb = rb->track.score.length_seconds();
    const int shorter = la < lb ? k : k + 1;
    const double ratio = la < lb ? la / lb : lb / la;
    (*settings)[static_cast<std::size_t>(shorter)].bpm =
        std::max(20.0, (shorter == k ? ra->bpm : rb->bpm) * ratio);
  }
}

// The state of one album run, shared by its passes.
class AlbumRunner {
 public:
  AlbumRunner(const AlbumRequest& request, ActivationRequest activation)
      : a_(request), options_(std::move(activation)) {}

  Result<AlbumRun> run() {
    SONIFY_ASSIGN_OR_RETURN(entries, read_entries(a_.file));
    entries_ = std::move(entries);
    SONIFY_TRY(ensure_output_dir(a_.out_dir));
    SONIFY_ASSIGN_OR_RETURN(session, pipeline::activation_open(options_));
    session_ = std::move(session);
    manifest_path_ = a_.out_dir + "/manifest.json";
    auto previous = read_text(manifest_path_);
    previous_ = nlohmann::json::parse(previous.ok() ? *previous : std::string(), nullptr, false);
    n_ = static_cast<int>(entries_.size());
    settings_ = group_settings(*session_, entries_, session_->root_midi);
    order_.resize(entries_.size());
    for (int i = 0; i < n_; ++i) order_[static_cast<std::size_t>(i)] = i;
    if (a_.mode == "dialogue") {
      if (!session_->direction) return fail("--mode dialogue needs a contrast direction (--direction FILE)");
      order_ = dialogue_order(*session_, entries_, &settings_);
    }
    if (contrast()) contrast_tempos(*session_, a_.file, &entries_, &settings_);
    rows_.resize(entries_.size());
    rendered_.resize(entries_.size());
    composed_.resize(entries_.size());
    pending_hash_.resize(entries_.size());
    compose_all();
    render_all();
    AlbumRun run;
    run.manifest_path = manifest_path_;
    run.tracks = n_;
    if (stop_) {
      (void)write_manifest(false);
      return fail("stopped after ", done_, " tracks (--stop-after)");
    }
    if (contrast()) {
      SONIFY_TRY(write_pairs());
    } else {
      SONIFY_ASSIGN_OR_RETURN(seconds, write_album());
      run.seconds = seconds;
    }
    SONIFY_TRY(write_manifest(true));
    run.done = done_;
    run.failures = failures_;
    return run;
  }

 private:
  struct Rendered {
    bool ok = false;
    Score score;  // for album.mid
  };

  bool contrast() const { return a_.mode == "contrast"; }
  std::size_t at(int i) const { return static_cast<std::size_t>(i); }

  std::string track_name(int k) const {
    const int digits = n_ >= 100 ? 3 : 2;
    char num[16];
    if (contrast()) {
      std::snprintf(num, sizeof num, "%0*d", digits, k / 2 + 1);
      return std::string("pair_") + num + (k % 2 == 0 ? "_a" : "_b");
    }
    std::snprintf(num, sizeof num, "%0*d", digits, k + 1);
    return std::string("track_") + num;
  }

  // The identity of everything a track depends on.
  std::string track_hash(const Entry& e, const TrackSettings& st) const {
    const ActivationRequest& o = options_;
    const std::string session_key = o.model_path + "|" + session_->pca.corpus_hash + "|" + o.direction +
                                    o.direction_method + "|" + o.layers + "|" + o.programs + "|" +
                                    std::to_string(o.pca_sentences) + "|" + std::to_string(o.pca_stride) +
                                    "|" + (o.midi_only ? "midi" : "wav") + "|" + std::to_string(o.seed);
    return fnv1a_hex(session_key + "|" + e.prompt + "|" + e.title + "|" + e.group + "|" + a_.mode + "|" +
                     std::to_string(st.root_midi.value_or(-1)) + "|" + st.mode.value_or("") + "|" +
                     std::to_string(st.bpm.value_or(0)));
  }

  const nlohmann::json* previous_track(const std::string& name) const {
    if (previous_.is_discarded() || !previous_.is_object() || !previous_.contains("tracks")) return nullptr;
    for (const auto& t : previous_["tracks"])
      if (t.is_object() && t.value("name", "") == name) return &t;
    return nullptr;
  }

  bool files_exist(const std::string& base) const {
    std::error_code ec;
    for (const char* ext : {".mid", ".json", ".timing.json"})
      if (!std::filesystem::exists(base + ext, ec)) return false;
    return options_.midi_only || std::filesystem::exists(base + ".wav", ec);
  }

  void finished() {
    ++done_;
    if (a_.on_progress) a_.on_progress(done_, n_);
  }

  Status write_manifest(bool final_write) const {
    nlohmann::ordered_json m;
    m["model"] = options_.model_path;
    m["mode"] = a_.mode;
    m["gap_seconds"] = a_.gap_seconds;
    m["complete"] = final_write;
    nlohmann::ordered_json tracks = nlohmann::ordered_json::array();
    for (int k = 0; k < n_; ++k) {
      const auto& r = rows_[at(order_[at(k)])];
      if (!r.is_null()) tracks.push_back(r);
    }
    m["tracks"] = tracks;
    return write_file_atomic(manifest_path_,
                             m.dump(1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n");
  }

  // Pass 1 (sequential): forward passes and composition; tracks already done are kept.
  void compose_all() {
    for (int k = 0; k < n_; ++k) {
      const int i = order_[at(k)];
      const Entry& e = entries_[at(i)];
      const std::string name = track_name(k);
      const TrackSettings& st = settings_[at(i)];
      const std::string hash = track_hash(e, st);
      nlohmann::ordered_json row;
      row["track"] = k + 1;
      row["name"] = name;
      row["title"] = printable(e.title.empty() ? e.prompt.substr(0, 60) : e.title);
      row["prompt"] = printable(e.prompt);
      row["group"] = e.group;
      row["line"] = e.line;
      if (contrast()) {
        row["pair"] = k / 2 + 1;
        row["side"] = k % 2 == 0 ? "a" : "b";
      }
      row["hash"] = hash;
      const std::string base = a_.out_dir + "/" + name;
      if (!e.error.empty()) {
        row["error"] = e.error;
        rows_[at(i)] = row;
        ++failures_;
        continue;
      }
      const nlohmann::json* prev = previous_track(name);
      // A kept track must be readable too: a corrupt .mid is rendered again rather than
      // silently left out of album.mid.
      std::optional<Score> kept;
      if (prev != nullptr && prev->value("hash", "") == hash && !prev->contains("error") &&
          files_exist(base)) {
        auto midi = midi_read(base + ".mid");
        auto score = midi.ok() ? score_from_midi(*midi) : Result<Score>(midi.error());
        if (score.ok()) kept = std::move(score).value();
      }
      if (kept) {
        for (const char* key : {"tension", "key", "mode", "tempo", "duration"})
          if (prev->contains(key)) row[key] = (*prev)[key];
        row["resumed"] = true;
        rows_[at(i)] = row;
        rendered_[at(i)].ok = true;
        rendered_[at(i)].score = std::move(*kept);
        finished();
        continue;
      }
      // The manifest may be written (after another track) before this one's files are
      // committed; a run killed then must not take the old files for this prompt's music,
      // so the hash is recorded only once the files are in place.
      row["hash"] = "";
      pending_hash_[at(i)] = hash;
      auto r = pipeline::activation_compose(*session_, pipeline::prompt_of_text(options_, e.prompt), st);
      if (!r.ok()) {
        row["error"] = printable(r.error().message);
        rows_[at(i)] = row;
        ++failures_;
        continue;
      }
      row["tension"] = r->tension;
      row["key"] = pitch_name(r->root_midi);
      row["mode"] = r->mode;
      row["tempo"] = r->bpm;
      row["duration"] = r->track.score.length_seconds();
      if (!r->notes.empty()) row["notes"] = r->notes;
      rows_[at(i)] = row;
      composed_[at(i)] = std::move(r).value();
      to_render_.push_back(i);
    }
  }

  // Pass 2 (parallel): writing and rendering, one synth thread per render.
  void render_all() {
    std::atomic<std::size_t> next{0};
    std::mutex mu;
    auto worker = [&] {
      for (;;) {
        if (stop_) return;
        const std::size_t idx = next++;
        if (idx >= to_render_.size()) return;
        const int i = to_render_[idx];
        const std::string name = rows_[at(i)]["name"].get<std::string>();
        Status s = pipeline::activation_write(composed_[at(i)], a_.out_dir, name, options_.midi_only, 1);
        std::lock_guard<std::mutex> lock(mu);
        if (!s.ok()) {
          rows_[at(i)]["error"] = printable(s.error().message);
          ++failures_;
          continue;
        }
        rows_[at(i)]["hash"] = pending_hash_[at(i)];
        rendered_[at(i)].ok = true;
        rendered_[at(i)].score = composed_[at(i)].track.score;
        finished();
        (void)write_manifest(false);
        if (a_.stop_after > 0 && done_ >= a_.stop_after) stop_ = true;
      }
    };
    std::vector<std::thread> threads;
    for (int t = 0; t < std::max(1, a_.jobs); ++t) threads.emplace_back(worker);
    for (auto& t : threads) t.join();
  }

  // One stereo WAV per pair: A (mixed to mono) on the left, B on the right.
  Status write_pairs() {
    for (int k = 0; k + 1 < n_; k += 2) {
      if (options_.midi_only || !rendered_[at(k)].ok || !rendered_[at(k + 1)].ok) continue;
      const std::string na = rows_[at(k)]["name"].get<std::string>();
      const std::string nb = rows_[at(k + 1)]["name"].get<std::string>();
      SONIFY_ASSIGN_OR_RETURN(wa, read_wav_s16(a_.out_dir + "/" + na + ".wav"));
      SONIFY_ASSIGN_OR_RETURN(wb, read_wav_s16(a_.out_dir + "/" + nb + ".wav"));
      Audio stereo;
      stereo.sample_rate_hz = wa.sample_rate_hz;
      stereo.samples.assign(std::max(wa.frames(), wb.frames()) * 2, 0.0f);
      for (std::size_t f = 0; f < wa.frames(); ++f)
        stereo.samples[2 * f] = 0.5f * (wa.samples[2 * f] + wa.samples[2 * f + 1]);
      for (std::size_t f = 0; f < wb.frames(); ++f)
        stereo.samples[2 * f + 1] = 0.5f * (wb.samples[2 * f] + wb.samples[2 * f + 1]);
      const std::string pair_name = na.substr(0, na.size() - 2);
      SONIFY_TRY(wav_write(a_.out_dir + "/" + pair_name + ".wav", stereo, SampleFormat::s16));
      rows_[at(k)]["stereo"] = pair_name + ".wav";
      rows_[at(k + 1)]["stereo"] = pair_name + ".wav";
    }
    return Status::Ok();
  }

  // The album: tracks in order with a gap, tempo and key changes at each start. Returns
  // its length in seconds without the trailing gap.
  Result<double> write_album() {
    Score album;
    album.title = "sonify album";
    Audio audio;
    bool have_audio = false;
    std::int64_t cursor = 0;
    double seconds = 0;
    for (int k = 0; k < n_; ++k) {
      const int i = order_[at(k)];
      if (!rendered_[at(i)].ok) continue;
      const Score& s = rendered_[at(i)].score;
      auto& row = rows_[at(i)];
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
        for (const ControlChange& c : s.tracks[t].controls)
          dst.control(cursor + c.tick, c.controller, c.value);
      }
      row["start"] = seconds;
      if (!options_.midi_only) {
        auto wav = read_wav_s16(a_.out_dir + "/" + row["name"].get<std::string>() + ".wav");
        if (wav.ok()) {
          if (!have_audio) audio.sample_rate_hz = wav->sample_rate_hz;
          have_audio = true;
          // Start times in the album follow the WAVs (each includes its reverb tail), and
          // a tail may reach into the next track's start: mixed, not appended.
          const std::size_t start =
              static_cast<std::size_t>(std::llround(seconds * audio.sample_rate_hz)) * 2;
          if (audio.samples.size() < start + wav->samples.size())
            audio.samples.resize(start + wav->samples.size(), 0.0f);
          for (std::size_t q = 0; q < wav->samples.size(); ++q) audio.samples[start + q] += wav->samples[q];
        }
      }
      const std::int64_t end = s.end_ticks();
      const std::int64_t gap =
          static_cast<std::int64_t>(std::llround(a_.gap_seconds * bpm / 60.0 * album.ppq));
      seconds += s.seconds_at(end) + a_.gap_seconds;
      cursor += end + gap;
    }
    if (!album.tracks.empty()) {
      SONIFY_ASSIGN_OR_RETURN(set, OutputSet::open(a_.out_dir, "album"));
      SONIFY_TRY(midi_write(album, set.temp_path(".mid")));
      if (have_audio) SONIFY_TRY(wav_write(set.temp_path(".wav"), audio, SampleFormat::s16));
      SONIFY_TRY(set.commit());
    }
    return seconds > 0 ? seconds - a_.gap_seconds : 0.0;
  }

  const AlbumRequest& a_;
  ActivationRequest options_;
  std::unique_ptr<pipeline::ActivationSession> session_;
  std::vector<Entry> entries_;
  std::string manifest_path_;
  nlohmann::json previous_;
  int n_ = 0;
  std::vector<TrackSettings> settings_;
  std::vector<int> order_;
  std::vector<nlohmann::ordered_json> rows_;
  std::vector<Rendered> rendered_;
  std::vector<TrackResult> composed_;
  std::vector<std::string> pending_hash_;  // a composed track's hash, recorded once its files are committed
  std::vector<int> to_render_;
  int done_ = 0;
  int failures_ = 0;
  std::atomic<bool> stop_{false};
};

}  // namespace

Result<AlbumRun> run_album(const AlbumRequest& request) {
  if (request.mode != "album" && request.mode != "dialogue" && request.mode != "contrast")
    return fail("--mode ", request.mode, ": expected album, dialogue or contrast");
  ActivationRequest activation = request.activation;
  pipeline::default_direction(&activation);
  AlbumRunner runner(request, std::move(activation));
  SONIFY_ASSIGN_OR_RETURN(run, runner.run());
  if (request.report) {
    SONIFY_ASSIGN_OR_RETURN(pages, report_write(run.manifest_path, ReportOptions{}));
    run.pages = std::move(pages.written);
    run.notes = std::move(pages.notes);
  }
  return run;
}

}  // namespace sonify
