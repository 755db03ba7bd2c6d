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
#include "core/fresh_memory.h"
#include "core/output_set.h"
#include "core/sha256.h"
#include "core/text_file.h"
#include "pipeline/activation_session.h"
#include "pipeline/album_assemble.h"
#include "pipeline/album_list.h"
#include "pipeline/prompt_direct.h"
#include "pipeline/weight_hashes.h"
#include "sonify/analysis.h"
#include "sonify/midi.h"
#include "sonify/pipeline_album.h"
#include "sonify/render.h"
#include "sonify/report.h"

namespace sonify {
namespace {

using pipeline::TrackResult;
using pipeline::TrackSettings;

using Entry = pipeline::AlbumEntry;

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

// Contrast: consecutive prompts pair up (A, B); an odd last prompt has no partner.
void mark_unpaired(const std::string& file, std::vector<Entry>* entries) {
  if (entries->size() % 2 == 1 && entries->back().error.empty())
    entries->back().error = file + ":" + std::to_string(entries->back().line) +
                            ": contrast mode pairs consecutive prompts (A then B); this A has no B";
}

// Contrast: the shorter track of a pair is played faster or slower so both last exactly
// as long (tempo scales every time in a track).
void contrast_tempos(pipeline::ActivationSession& session, std::vector<Entry>* entries,
                     std::vector<TrackSettings>* settings) {
  const int n = static_cast<int>(entries->size());
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

// SHA-256 of the model's weight files (cached, as `sonify weights` caches them): the one
// file's hash, or the hash of the files' hashes in order.
Result<std::string> model_sha256(const Model& model) {
  SONIFY_ASSIGN_OR_RETURN(files, pipeline::weight_file_hashes(model));
  std::string all;
  for (const auto& f : files) all += f["sha256"].get<std::string>();
  return files.size() == 1 ? all : sha256_hex(all);
}

// The state of one album run, shared by its passes.
class AlbumRunner {
 public:
  AlbumRunner(const AlbumRequest& request, ActivationRequest activation)
      : a_(request), options_(std::move(activation)) {}

  Result<AlbumRun> run() {
    SONIFY_ASSIGN_OR_RETURN(entries, pipeline::read_album_list(a_.file));
    entries_ = std::move(entries);
    SONIFY_ASSIGN_OR_RETURN(list_text, read_text(a_.file));
    list_sha256_ = sha256_hex(list_text);
    SONIFY_TRY(ensure_output_dir(a_.out_dir));
    SONIFY_ASSIGN_OR_RETURN(session, pipeline::activation_open(options_));
    session_ = std::move(session);
    SONIFY_ASSIGN_OR_RETURN(model_hash, model_sha256(*session_->model));
    model_sha256_ = std::move(model_hash);
    manifest_path_ = sharded() ? pipeline::album_shard_path(a_.out_dir, a_.shard, a_.shards)
                               : a_.out_dir + "/manifest.json";
    auto previous = read_text(manifest_path_);
    previous_ = nlohmann::ordered_json::parse(previous.ok() ? *previous : std::string(), nullptr, false);
    n_ = static_cast<int>(entries_.size());
    if (contrast()) mark_unpaired(a_.file, &entries_);
    SONIFY_TRY(plan());
    AlbumRun run;
    run.tracks = n_;
    if (a_.prepare) {
      run.manifest_path = plan_path();
      return run;
    }
    for (int i = 0; i < n_; ++i) shard_total_ += mine(i) ? 1 : 0;
    rows_.resize(entries_.size());
    composed_.resize(entries_.size());
    pending_hash_.resize(entries_.size());
    compose_all();
    render_all();
    run.manifest_path = manifest_path_;
    run.tracks = shard_total_;
    if (stop_) {
      (void)write_manifest(false);
      return fail("stopped after ", done_, " tracks (--stop-after)");
    }
    if (!sharded()) {
      std::vector<nlohmann::ordered_json> ordered = ordered_rows();
      SONIFY_ASSIGN_OR_RETURN(assembly, pipeline::album_assemble(layout(), &ordered));
      for (int k = 0; k < n_; ++k) rows_[at(order_[at(k)])] = ordered[at(k)];
      run.seconds = assembly.seconds;
      master_report_ = assembly.master;
    }
    SONIFY_TRY(write_manifest(true));
    run.done = done_;
    run.failures = failures_;
    run.kept = kept_;
    run.redone = redone_;
    return run;
  }

 private:
  bool contrast() const { return a_.mode == "contrast"; }
  bool sharded() const { return a_.shards > 1; }
  bool mine(int entry) const { return entry % a_.shards == a_.shard; }
  std::size_t at(int i) const { return static_cast<std::size_t>(i); }
  std::string plan_path() const { return a_.out_dir + "/album-plan.json"; }

  pipeline::AlbumLayout layout() const {
    return {a_.out_dir, a_.mode, a_.gap_seconds, options_.midi_only, contrast() ? "per-track" : a_.master};
  }

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

  // Everything but the prompt that a track depends on; shards must agree on it.
  std::string session_key() const {
    const ActivationRequest& o = options_;
    return o.model_path + "|" + session_->pca.corpus_hash + "|" + o.direction + o.direction_method + "|" +
           o.layers + "|" + o.programs + "|" + std::to_string(o.pca_sentences) + "|" +
           std::to_string(o.pca_stride) + "|" + (o.midi_only ? "midi" : "wav") + "|" +
           std::to_string(o.seed) + "|" + layout().master;
  }

  // The identity of everything a track depends on.
  std::string track_hash(const Entry& e, const TrackSettings& st) const {
    return fnv1a_hex(session_key() + "|" + e.prompt + "|" + e.title + "|" + e.group + "|" + a_.mode + "|" +
                     std::to_string(st.root_midi.value_or(-1)) + "|" + st.mode.value_or("") + "|" +
                     std::to_string(st.bpm.value_or(0)));
  }

  // The album plan: each prompt's key, mode and tempo and the track order. Groups,
  // dialogue and contrast need forward passes over the whole list, so `prepare` stores
  // the plan once and every shard reads it instead of recomputing it (and a shard on a
  // machine whose float rounding differs still agrees with the others).
  Status plan() {
    if (load_plan()) return Status::Ok();
    settings_ = group_settings(*session_, entries_, session_->root_midi);
    order_.resize(entries_.size());
    for (int i = 0; i < n_; ++i) order_[at(i)] = i;
    if (a_.mode == "dialogue") {
      if (!session_->direction) return fail("--mode dialogue needs a contrast direction (--direction FILE)");
      order_ = dialogue_order(*session_, entries_, &settings_);
    }
    if (contrast()) contrast_tempos(*session_, &entries_, &settings_);
    if (!a_.prepare) return Status::Ok();
    nlohmann::ordered_json p;
    p["list_sha256"] = list_sha256_;
    p["options"] = session_key();
    p["mode"] = a_.mode;
    p["order"] = order_;
    nlohmann::ordered_json settings = nlohmann::ordered_json::array();
    for (const TrackSettings& st : settings_)
      settings.push_back({st.root_midi ? nlohmann::ordered_json(*st.root_midi) : nullptr,
                          st.mode ? nlohmann::ordered_json(*st.mode) : nullptr,
                          st.bpm ? nlohmann::ordered_json(*st.bpm) : nullptr});
    p["settings"] = settings;
    return write_file_atomic(plan_path(), p.dump(1) + "\n");
  }

  bool load_plan() {
    if (a_.prepare) return false;
    auto text = read_text(plan_path());
    if (!text.ok()) return false;
    const auto p = nlohmann::json::parse(*text, nullptr, false);
    if (!p.is_object() || p.value("list_sha256", "") != list_sha256_ ||
        p.value("options", "") != session_key() || p.value("mode", "") != a_.mode || !p.contains("order") ||
        !p.contains("settings") || p["order"].size() != entries_.size() ||
        p["settings"].size() != entries_.size())
      return false;
    try {
      order_ = p["order"].get<std::vector<int>>();
      settings_.assign(entries_.size(), {});
      for (std::size_t i = 0; i < entries_.size(); ++i) {
        const auto& st = p["settings"][i];
        if (!st[0].is_null()) settings_[i].root_midi = st[0].get<int>();
        if (!st[1].is_null()) settings_[i].mode = st[1].get<std::string>();
        if (!st[2].is_null()) settings_[i].bpm = st[2].get<double>();
      }
    } catch (const nlohmann::json::exception&) {
      return false;
    }
    std::vector<int> sorted = order_;
    std::sort(sorted.begin(), sorted.end());
    for (int i = 0; i < n_; ++i)
      if (sorted[at(i)] != i) return false;
    return true;
  }

  const nlohmann::ordered_json* previous_track(const std::string& name) const {
    if (previous_.is_discarded() || !previous_.is_object() || !previous_.contains("tracks")) return nullptr;
    for (const auto& t : previous_["tracks"])
      if (t.is_object() && t.value("name", "") == name) return &t;
    return nullptr;
  }

  bool files_exist(const std::string& base) const {
    std::error_code ec;
    for (const std::string& ext : pipeline::album_track_exts(layout()))
      if (!std::filesystem::exists(base + ext, ec)) return false;
    return true;
  }

  // The SHA-256 of a finished track's files, recorded so a resume or a merge notices a
  // file that changed or was cut short after its track was done.
  Result<nlohmann::ordered_json> file_hashes(const std::string& base) const {
    nlohmann::ordered_json h;
    for (const std::string& ext : pipeline::album_track_exts(layout())) {
      SONIFY_ASSIGN_OR_RETURN(sum, sha256_file(base + ext));
      h[ext.substr(1)] = sum;
    }
    return h;
  }

  void finished() {
    ++done_;
    if (a_.on_progress) a_.on_progress(done_, shard_total_);
  }

  std::vector<nlohmann::ordered_json> ordered_rows() const {
    std::vector<nlohmann::ordered_json> out;
    for (int k = 0; k < n_; ++k) out.push_back(rows_[at(order_[at(k)])]);
    return out;
  }

  Status write_manifest(bool final_write) const {
    if (!sharded())
      return write_file_atomic(manifest_path_,
                               pipeline::album_manifest_text(options_.model_path, layout(), master_report_,
                                                             final_write, ordered_rows()));
    nlohmann::ordered_json m;
    m["sonify"] = a_.version;
    m["shard"] = a_.shard;
    m["shards"] = a_.shards;
    m["list"] = a_.file;
    m["list_sha256"] = list_sha256_;
    m["model"] = options_.model_path;
    m["model_sha256"] = model_sha256_;
    m["options"] = session_key();
    m["mode"] = a_.mode;
    m["gap_seconds"] = a_.gap_seconds;
    m["midi_only"] = options_.midi_only;
    m["master"] = layout().master;
    m["tracks_total"] = n_;
    m["complete"] = final_write;
    nlohmann::ordered_json tracks = nlohmann::ordered_json::array();
    for (const auto& r : ordered_rows())
      if (!r.is_null()) tracks.push_back(r);
    m["tracks"] = tracks;
    return write_file_atomic(manifest_path_,
                             m.dump(1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n");
  }

  // A finished track of an earlier run is kept when its inputs are the same and its
  // files are all there and unchanged (or, from a manifest without hashes, its MIDI
  // reads back): a corrupt file is rendered again rather than left out of the album.
  bool keep(const nlohmann::ordered_json* prev, const std::string& hash, const std::string& base) const {
    if (prev == nullptr || prev->value("hash", "") != hash || prev->contains("error") || !files_exist(base))
      return false;
    if (prev->contains("sha256")) {
      auto now = file_hashes(base);
      return now.ok() && *now == (*prev)["sha256"];
    }
    auto midi = midi_read(base + ".mid");
    return midi.ok() && score_from_midi(*midi).ok();
  }

  // Pass 1 (sequential): forward passes and composition; tracks already done are kept.
  void compose_all() {
    for (int k = 0; k < n_; ++k) {
      const int i = order_[at(k)];
      if (!mine(i)) continue;
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
      const nlohmann::ordered_json* prev = previous_track(name);
      if (keep(prev, hash, base)) {
        for (const char* key : {"tension", "key", "mode", "tempo", "duration", "notes", "sha256"})
          if (prev->contains(key)) row[key] = (*prev)[key];
        row["resumed"] = true;
        rows_[at(i)] = row;
        ++kept_;
        finished();
        continue;
      }
      // Redone: an earlier run finished this track (its hash is recorded only then), or
      // left its files, but they no longer fit; a track the earlier run never reached is new.
      if ((prev != nullptr && !prev->value("hash", "").empty()) || files_exist(base)) ++redone_;
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

  // With album mastering a track keeps the synth's own level (NAME.raw.wav, float) until
  // the album's gain is known; per-track, activation_write masters it alone.
  Status write_track(const TrackResult& r, const std::string& name) const {
    if (options_.midi_only || layout().master != "album")
      return pipeline::activation_write(r, a_.out_dir, name, options_.midi_only, 1);
    SONIFY_ASSIGN_OR_RETURN(set, OutputSet::open(a_.out_dir, name));
    SONIFY_TRY(midi_write(r.track.score, set.temp_path(".mid")));
    SONIFY_ASSIGN_OR_RETURN(file, midi_from_score(r.track.score));
    SynthOptions synth;
    synth.threads = 1;
    SONIFY_ASSIGN_OR_RETURN(audio, render_audio(file, synth));
    SONIFY_TRY(wav_write(set.temp_path(".raw.wav"), audio, SampleFormat::f32));
    SONIFY_TRY(set.write(".timing.json", r.timing_json + "\n"));
    SONIFY_TRY(set.write(".json", r.provenance_json + "\n"));
    return set.commit({".wav"});  // written by the assembly, from this raw render
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
        Status s = write_track(composed_[at(i)], name);
        auto hashes =
            s.ok() ? file_hashes(a_.out_dir + "/" + name) : Result<nlohmann::ordered_json>(s.error());
        std::lock_guard<std::mutex> lock(mu);
        if (!hashes.ok()) {
          rows_[at(i)]["error"] = printable(hashes.error().message);
          ++failures_;
          continue;
        }
        rows_[at(i)]["hash"] = pending_hash_[at(i)];
        rows_[at(i)]["sha256"] = *hashes;
        composed_[at(i)] = {};
        finished();
        (void)write_manifest(false);
        if (a_.stop_after > 0 && done_ >= a_.stop_after) stop_ = true;
      }
    };
    std::vector<std::thread> threads;
    for (int t = 0; t < std::max(1, a_.jobs); ++t) threads.emplace_back(worker);
    for (auto& t : threads) t.join();
  }

  const AlbumRequest& a_;
  ActivationRequest options_;
  std::unique_ptr<pipeline::ActivationSession> session_;
  std::vector<Entry> entries_;
  std::string list_sha256_;
  std::string model_sha256_;
  std::string manifest_path_;
  nlohmann::ordered_json master_report_;  // what album mastering did, for the manifest
  nlohmann::ordered_json previous_;
  int n_ = 0;
  int shard_total_ = 0;
  std::vector<TrackSettings> settings_;
  std::vector<int> order_;
  std::vector<nlohmann::ordered_json> rows_;
  std::vector<TrackResult> composed_;
  std::vector<std::string> pending_hash_;  // a composed track's hash, recorded once its files are committed
  std::vector<int> to_render_;
  int done_ = 0;
  int failures_ = 0;
  int kept_ = 0;
  int redone_ = 0;
  std::atomic<bool> stop_{false};
};

}  // namespace

Status parse_shard(const std::string& text, int* shard, int* shards) {
  const std::size_t slash = text.find('/');
  auto number = [](const std::string& s, long* v) {
    if (s.empty() || s.size() > 6 || s.find_first_not_of("0123456789") != std::string::npos) return false;
    *v = std::stol(s);
    return true;
  };
  long k = 0, n = 0;
  if (slash == std::string::npos || !number(text.substr(0, slash), &k) ||
      !number(text.substr(slash + 1), &n) || n < 1 || n > 100000 || k >= n)
    return fail("--shard ", text, ": expected K/N with 0 <= K < N <= 100000 (e.g. 0/4 ... 3/4)");
  *shard = static_cast<int>(k);
  *shards = static_cast<int>(n);
  return Status::Ok();
}

namespace {

// The direct styles (thinking, operatic, sines): each track is what `prompt --style` writes
// for its prompt (synthesised, mastered alone to -14 LUFS), album.wav the tracks in list
// order with the gap between them. Forward passes run one after another; synthesis and
// writing on `jobs` threads, each track alone, so any jobs value writes the same bytes.
Result<AlbumRun> run_album_direct(const AlbumRequest& request) {
  const ActivationRequest& q = request.activation;
  const std::string& style = q.style;
  if (request.mode != "album")
    return fail("--mode ", request.mode, ": the ", style,
                " style makes albums in list order only (--mode album)");
  if (request.shards > 1 || request.prepare)
    return fail("--shard and album prepare are for the composed styles; the ", style, " style needs neither");
  if (q.midi_only) return fail("--midi-only: the ", style, " style synthesises audio and writes no MIDI");
  std::vector<std::string> unused = pipeline::direct_unused_options(q);
  if (request.master != "album") unused.push_back("--master");
  if (request.report) unused.push_back("--report");
  SONIFY_TRY(pipeline::refuse_direct_options(style, unused));
  SONIFY_ASSIGN_OR_RETURN(entries, pipeline::read_album_list(request.file));
  SONIFY_TRY(ensure_output_dir(request.out_dir));
  SONIFY_ASSIGN_OR_RETURN(model, Model::open(q.model_path));
  RuntimeOptions runtime_options;
  runtime_options.threads = q.threads;
  SONIFY_ASSIGN_OR_RETURN(runtime, runtime_open(model, runtime_options));

  const std::size_t n = entries.size();
  std::vector<nlohmann::ordered_json> rows(n);
  std::vector<std::optional<pipeline::DirectInput>> inputs(n);
  for (std::size_t i = 0; i < n; ++i) {
    const Entry& e = entries[i];
    char num[32];
    std::snprintf(num, sizeof num, "%0*zu", n >= 100 ? 3 : 2, i + 1);
    rows[i] = {{"track", i + 1},
               {"name", std::string("track_") + num},
               {"title", printable(e.title.empty() ? e.prompt.substr(0, 60) : e.title)},
               {"prompt", printable(e.prompt)},
               {"line", e.line}};
    if (!e.error.empty()) {
      rows[i]["error"] = e.error;
      continue;
    }
    auto input =
        pipeline::direct_forward(*runtime, model, q.model_path, pipeline::prompt_of_text(q, e.prompt));
    if (input.ok())
      inputs[i] = std::move(input).value();
    else
      rows[i]["error"] = printable(input.error().message);
  }
  std::vector<Audio> audio(n);
  std::atomic<std::size_t> next{0};
  std::atomic<int> done{0};
  std::mutex mu;
  auto worker = [&] {
    for (std::size_t i; (i = next++) < n;) {
      if (!inputs[i]) continue;
      auto track = pipeline::direct_render(*inputs[i], q, model);
      const std::string name = rows[i]["name"].get<std::string>();
      Status s = track.ok() ? pipeline::direct_commit(*track, request.out_dir, name) : Status(track.error());
      auto sum = s.ok() ? sha256_file(request.out_dir + "/" + name + ".wav") : Result<std::string>(s.error());
      std::lock_guard<std::mutex> lock(mu);
      if (!sum.ok()) {
        rows[i]["error"] = printable(sum.error().message);
        continue;
      }
      rows[i]["duration"] = track->seconds;
      rows[i]["sha256"] = {{"wav", *sum}};
      audio[i] = std::move(track->audio);
      if (request.on_progress) request.on_progress(++done, static_cast<int>(n));
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < std::max(1, request.jobs); ++t) threads.emplace_back(worker);
  for (auto& t : threads) t.join();

  // The tracks are mastered alone, as prompt --style masters them; they do not overlap,
  // so album.wav is them end to end with the gap.
  AlbumRun run;
  run.tracks = static_cast<int>(n);
  Audio album;
  album.sample_rate_hz = 44100;
  const auto gap = static_cast<std::size_t>(std::lround(request.gap_seconds * album.sample_rate_hz)) * 2;
  std::size_t total =
      0;  // one allocation: growing it track by track copied and faulted in ~2.5 times its size
  for (std::size_t i = 0; i < n; ++i)
    if (!rows[i].contains("error")) total += (total > 0 ? gap : 0) + audio[i].samples.size();
  reserve_prefaulted(album.samples, total);
  for (std::size_t i = 0; i < n; ++i) {
    if (rows[i].contains("error")) {
      ++run.failures;
      continue;
    }
    if (!album.samples.empty()) album.samples.resize(album.samples.size() + gap, 0.0f);
    rows[i]["start"] = album.seconds();
    album.samples.insert(album.samples.end(), audio[i].samples.begin(), audio[i].samples.end());
    ++run.done;
  }
  run.seconds = album.seconds();
  if (run.done > 0) {
    SONIFY_ASSIGN_OR_RETURN(set, OutputSet::open(request.out_dir, "album"));
    SONIFY_TRY(wav_write(set.temp_path(".wav"), album, SampleFormat::s16));
    SONIFY_TRY(set.commit({".mid"}));
  }
  nlohmann::ordered_json m;
  m["model"] = q.model_path;
  m["mode"] = "album";
  m["style"] = style;
  m["seed"] = q.seed;
  m["gap_seconds"] = request.gap_seconds;
  m["master"] = {{"mode", "per-track, as prompt --style"}, {"target_lufs", -14.0}};
  m["complete"] = true;
  m["tracks"] = rows;
  run.manifest_path = request.out_dir + "/manifest.json";
  SONIFY_TRY(write_file_atomic(
      run.manifest_path, m.dump(1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n"));
  return run;
}

}  // namespace

Result<AlbumRun> run_album(const AlbumRequest& request) {
  if (pipeline::is_direct_style(request.activation.style)) return run_album_direct(request);
  if (request.mode != "album" && request.mode != "dialogue" && request.mode != "contrast")
    return fail("--mode ", request.mode, ": expected album, dialogue or contrast");
  if (request.shards < 1 || request.shard < 0 || request.shard >= request.shards)
    return fail("--shard ", request.shard, "/", request.shards, ": expected 0 <= K < N");
  if (request.master != "album" && request.master != "per-track")
    return fail("--master ", request.master, ": expected album or per-track");
  if (request.shards > 1 && request.report) return fail("--report with --shard: run it on the merged album");
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
