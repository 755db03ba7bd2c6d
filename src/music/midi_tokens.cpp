// MIDILike event tokens (include/sonify/midi_tokens.h).
#include "sonify/midi_tokens.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

namespace sonify {
namespace {

using nlohmann::json;

constexpr int kDefaultVelocity = 90;

std::string shift_name(int steps, int per_beat) {
  return "TimeShift_" + std::to_string(steps / per_beat) + "." + std::to_string(steps % per_beat) + "." +
         std::to_string(per_beat);
}

// MidiTok's velocity bins: linspace(0, 127, n + 1)[1:], rounded.
std::vector<int> velocity_bins(int n) {
  std::vector<int> v;
  for (int i = 1; i <= n; ++i) v.push_back(static_cast<int>(std::lround(127.0 * i / n)));
  return v;
}

struct Event {
  std::int64_t step;
  int kind;  // 0 NoteOff, 1 NoteOn
  int pitch;
  int program;
  int velocity;
};

}  // namespace

Result<MidiTokenizer> MidiTokenizer::create(const MidiTokenizerConfig& c) {
  if (c.steps_per_beat < 1 || c.steps_per_beat > 64) return fail("MIDI tokens: steps_per_beat must be 1..64");
  if (c.max_shift_steps < 1 || c.max_shift_steps > 1024)
    return fail("MIDI tokens: max_shift_steps must be 1..1024");
  if (c.pitch_low < 0 || c.pitch_high > 127 || c.pitch_low > c.pitch_high)
    return fail("MIDI tokens: the pitch range must lie in 0..127");
  if (c.velocities < 0 || c.velocities > 127) return fail("MIDI tokens: velocities must be 0..127");
  MidiTokenizer t;
  t.config_ = c;
  t.vocab_ = {"PAD_None", "BOS_None", "EOS_None"};
  for (int p = c.pitch_low; p <= c.pitch_high; ++p) t.vocab_.push_back("NoteOn_" + std::to_string(p));
  for (int p = c.pitch_low; p <= c.pitch_high; ++p) t.vocab_.push_back("NoteOff_" + std::to_string(p));
  for (int d = 1; d <= c.max_shift_steps; ++d) t.vocab_.push_back(shift_name(d, c.steps_per_beat));
  for (int v : velocity_bins(c.velocities)) t.vocab_.push_back("Velocity_" + std::to_string(v));
  if (c.programs)
    for (int p = -1; p <= 127; ++p) t.vocab_.push_back("Program_" + std::to_string(p));
  return t;
}

int MidiTokenizer::id(std::string_view token) const {
  for (std::size_t i = 0; i < vocab_.size(); ++i)
    if (vocab_[i] == token) return static_cast<int>(i);
  return -1;
}

std::vector<int> MidiTokenizer::encode(const Score& score, MidiTokenStats* stats) const {
  MidiTokenStats local;
  MidiTokenStats& st = stats ? *stats : local;
  st = {};
  const double ticks_per_step = static_cast<double>(score.ppq) / config_.steps_per_beat;
  struct Placed {
    std::int64_t on, off;
    int pitch, program, velocity;
  };
  std::vector<Placed> notes;
  for (const Track& track : score.tracks)
    for (const Note& n : track.notes) {
      if (track.drums && !config_.programs) {
        ++st.drum_notes_left;
        continue;
      }
      if (n.pitch < config_.pitch_low || n.pitch > config_.pitch_high) {
        ++st.out_of_range;
        continue;
      }
      const auto on =
          static_cast<std::int64_t>(std::llround(static_cast<double>(n.start_ticks) / ticks_per_step));
      auto off = static_cast<std::int64_t>(
          std::llround(static_cast<double>(n.start_ticks + n.length_ticks) / ticks_per_step));
      notes.push_back({on, std::max(off, on + 1), n.pitch, track.drums ? -1 : track.program, n.velocity});
    }
  std::stable_sort(notes.begin(), notes.end(), [](const Placed& a, const Placed& b) {
    return a.on != b.on ? a.on < b.on : a.pitch < b.pitch;
  });
  // One sounding note per pitch: a new strike ends the one before (NoteOff_p names no program).
  std::map<int, std::size_t> sounding;
  std::vector<bool> keep(notes.size(), true);
  for (std::size_t i = 0; i < notes.size(); ++i) {
    auto it = sounding.find(notes[i].pitch);
    if (it != sounding.end() && notes[it->second].off > notes[i].on) {
      ++st.truncated;
      if (notes[it->second].on == notes[i].on)
        keep[it->second] = false;  // two strikes on one step: the later one wins
      else
        notes[it->second].off = notes[i].on;
    }
    sounding[notes[i].pitch] = i;
  }
  std::vector<Event> events;
  const auto bins = velocity_bins(config_.velocities);
  for (std::size_t i = 0; i < notes.size(); ++i) {
    if (!keep[i]) continue;
    int velocity = kDefaultVelocity;
    if (!bins.empty())
      velocity = *std::min_element(bins.begin(), bins.end(), [&](int a, int b) {
        return std::abs(a - notes[i].velocity) < std::abs(b - notes[i].velocity);
      });
    events.push_back({notes[i].on, 1, notes[i].pitch, notes[i].program, velocity});
    events.push_back({notes[i].off, 0, notes[i].pitch, notes[i].program, velocity});
    ++st.notes;
  }
  std::stable_sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
    if (a.step != b.step) return a.step < b.step;
    if (a.kind != b.kind) return a.kind < b.kind;
    return a.pitch < b.pitch;
  });
  const int on0 = 3, off0 = on0 + (config_.pitch_high - config_.pitch_low + 1);
  const int shift0 = off0 + (config_.pitch_high - config_.pitch_low + 1);
  const int vel0 = shift0 + config_.max_shift_steps;
  const int prog0 = vel0 + config_.velocities;
  std::vector<int> ids = {bos_id()};
  std::int64_t now = 0;
  for (const Event& e : events) {
    for (std::int64_t gap = e.step - now; gap > 0;) {
      const int d = static_cast<int>(std::min<std::int64_t>(gap, config_.max_shift_steps));
      ids.push_back(shift0 + d - 1);
      gap -= d;
    }
    now = e.step;
    if (e.kind == 1) {
      if (config_.programs) ids.push_back(prog0 + e.program + 1);
      if (!bins.empty())
        ids.push_back(vel0 +
                      static_cast<int>(std::find(bins.begin(), bins.end(), e.velocity) - bins.begin()));
      ids.push_back(on0 + e.pitch - config_.pitch_low);
    } else {
      ids.push_back(off0 + e.pitch - config_.pitch_low);
    }
  }
  ids.push_back(eos_id());
  return ids;
}

Result<Score> MidiTokenizer::decode(const std::vector<int>& ids, double bpm, MidiTokenStats* stats) const {
  MidiTokenStats local;
  MidiTokenStats& st = stats ? *stats : local;
  st = {};
  if (!(bpm >= 1 && bpm <= 1000)) return fail("MIDI tokens: tempo ", bpm, " BPM is outside 1..1000");
  const int span = config_.pitch_high - config_.pitch_low + 1;
  const int on0 = 3, off0 = on0 + span, shift0 = off0 + span, vel0 = shift0 + config_.max_shift_steps;
  const int prog0 = vel0 + config_.velocities;
  const auto bins = velocity_bins(config_.velocities);
  struct Open {
    std::int64_t on;
    int velocity, program;
  };
  std::map<int, Open> open;
  struct Done {
    std::int64_t on, off;
    int pitch, velocity, program;
  };
  std::vector<Done> done;
  std::int64_t now = 0;
  int velocity = kDefaultVelocity, program = 0;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const int t = ids[i];
    if (t < 0 || t >= vocab_size())
      return fail("MIDI tokens: id ", t, " at position ", i, " is outside the vocabulary of ", vocab_size());
    if (t == eos_id()) break;
    if (t < on0) {
      if (!(t == bos_id() && i == 0)) ++st.ignored;
    } else if (t < off0) {
      const int pitch = config_.pitch_low + (t - on0);
      if (auto it = open.find(pitch); it != open.end() && it->second.on == now) {
        // Struck twice on one step: one note, not two overlapping copies of it.
        ++st.ignored;
        continue;
      } else if (it != open.end()) {  // struck again while sounding
        done.push_back({it->second.on, std::max(now, it->second.on + 1), pitch, it->second.velocity,
                        it->second.program});
        open.erase(it);
      }
      open[pitch] = {now, velocity, program};
    } else if (t < shift0) {
      const int pitch = config_.pitch_low + (t - off0);
      auto it = open.find(pitch);
      if (it == open.end()) {
        ++st.orphan_note_offs;
        continue;
      }
      done.push_back(
          {it->second.on, std::max(now, it->second.on + 1), pitch, it->second.velocity, it->second.program});
      open.erase(it);
    } else if (t < vel0) {
      now += t - shift0 + 1;
    } else if (t < prog0) {
      velocity = bins[static_cast<std::size_t>(t - vel0)];
    } else {
      program = t - prog0 - 1;
    }
  }
  for (const auto& [pitch, o] : open) {
    ++st.stuck_notes;
    done.push_back({o.on, std::max(now, o.on + 1), pitch, o.velocity, o.program});
  }
  std::stable_sort(done.begin(), done.end(), [](const Done& a, const Done& b) {
    return a.on != b.on ? a.on < b.on : a.pitch < b.pitch;
  });
  Score score;
  score.title = "MIDILike tokens";
  score.set_tempo(0, bpm);
  const std::int64_t tps = score.ppq / config_.steps_per_beat;
  std::map<int, int> track_of;  // program -> track index, in order of first use
  for (const Done& d : done) {
    auto it = track_of.find(d.program);
    if (it == track_of.end()) {
      const int index = d.program < 0 ? score.add_drum_track("Drums")
                                      : score.add_track("Program " + std::to_string(d.program), d.program);
      it = track_of.emplace(d.program, index).first;
    }
    score.tracks[static_cast<std::size_t>(it->second)].note(d.on * tps, (d.off - d.on) * tps, d.pitch,
                                                            d.velocity);
    ++st.notes;
  }
  return score;
}

std::string MidiTokenizer::to_json() const {
  json vocab = json::object();
  for (std::size_t i = 0; i < vocab_.size(); ++i) vocab[vocab_[i]] = i;
  const int beats = (config_.max_shift_steps + config_.steps_per_beat - 1) / config_.steps_per_beat;
  json j;
  j["tokenization"] = "MIDILike";
  j["config"] = {{"pitch_range", {config_.pitch_low, config_.pitch_high + 1}},
                 {"beat_res", {{"0_" + std::to_string(beats), config_.steps_per_beat}}},
                 {"max_shift_steps", config_.max_shift_steps},
                 {"num_velocities", config_.velocities},
                 {"use_velocities", config_.velocities > 0},
                 {"use_programs", config_.programs},
                 {"special_tokens", {"PAD", "BOS", "EOS"}}};
  j["vocab"] = vocab;
  j["writer"] = "sonify";
  return j.dump(2) + "\n";
}

Result<MidiTokenizer> MidiTokenizer::parse(std::string_view text, const std::string& what) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail(what, ": not a JSON object");
  if (!j.contains("tokenization") || !j["tokenization"].is_string())
    return fail(what, ": no \"tokenization\" field; not a MIDI token file");
  const std::string scheme = j["tokenization"];
  if (scheme != "MIDILike")
    return fail(what, ": tokenization '", scheme,
                "' is not MIDILike (sonify reads MIDILike token files only)");
  if (!j.contains("config") || !j["config"].is_object()) return fail(what, ": no \"config\" object");
  const json& c = j["config"];
  MidiTokenizerConfig config;
  try {
    config.pitch_low = c.at("pitch_range").at(0).get<int>();
    config.pitch_high = c.at("pitch_range").at(1).get<int>() - 1;
    const auto& res = c.at("beat_res");
    if (!res.is_object() || res.size() != 1)
      return fail(what, ": beat_res must hold one range (sonify's grid is uniform)");
    config.steps_per_beat = res.begin().value().get<int>();
    config.max_shift_steps = c.at("max_shift_steps").get<int>();
    config.velocities = c.at("num_velocities").get<int>();
    config.programs = c.at("use_programs").get<bool>();
  } catch (const json::exception& e) {
    return fail(what, ": config: ", e.what());
  }
  SONIFY_ASSIGN_OR_RETURN(t, create(config));
  if (!j.contains("vocab") || !j["vocab"].is_object() || j["vocab"].size() != t.vocab_.size())
    return fail(what, ": the vocabulary does not match its config (", t.vocab_.size(), " tokens expected)");
  for (std::size_t i = 0; i < t.vocab_.size(); ++i) {
    const auto it = j["vocab"].find(t.vocab_[i]);
    if (it == j["vocab"].end() || !it->is_number_integer() ||
        it->get<std::int64_t>() != static_cast<std::int64_t>(i))
      return fail(what, ": token '", t.vocab_[i], "' should have id ", i);
  }
  return t;
}

}  // namespace sonify
