#include "sonify/score.h"

#include <algorithm>
#include <cmath>
#include <tuple>

namespace sonify {

bool Note::operator==(const Note& o) const {
  return std::tie(start_ticks, length_ticks, pitch, velocity) ==
         std::tie(o.start_ticks, o.length_ticks, o.pitch, o.velocity);
}
bool ControlChange::operator==(const ControlChange& o) const {
  return std::tie(tick, controller, value) == std::tie(o.tick, o.controller, o.value);
}
bool PitchBend::operator==(const PitchBend& o) const { return tick == o.tick && value == o.value; }
bool TempoChange::operator==(const TempoChange& o) const {
  return tick == o.tick && us_per_quarter == o.us_per_quarter;
}
bool TimeSignature::operator==(const TimeSignature& o) const {
  return std::tie(tick, numerator, denominator) == std::tie(o.tick, o.numerator, o.denominator);
}
bool KeySignature::operator==(const KeySignature& o) const {
  return std::tie(tick, sharps, minor) == std::tie(o.tick, o.sharps, o.minor);
}
bool Marker::operator==(const Marker& o) const { return tick == o.tick && text == o.text; }
bool Track::operator==(const Track& o) const {
  return std::tie(name, program, drums, channel, notes, controls, bends) ==
         std::tie(o.name, o.program, o.drums, o.channel, o.notes, o.controls, o.bends);
}
bool Score::operator==(const Score& o) const {
  return std::tie(title, ppq, tempos, time_signatures, key_signatures, markers, tracks) ==
         std::tie(o.title, o.ppq, o.tempos, o.time_signatures, o.key_signatures, o.markers, o.tracks);
}

void Track::note(std::int64_t start_ticks, std::int64_t length_ticks, int pitch, int velocity) {
  notes.push_back({std::max<std::int64_t>(start_ticks, 0), std::max<std::int64_t>(length_ticks, 1),
                   std::clamp(pitch, 0, 127), std::clamp(velocity, 1, 127)});
}

void Track::control(std::int64_t tick, int controller, int value) {
  controls.push_back(
      {std::max<std::int64_t>(tick, 0), std::clamp(controller, 0, 127), std::clamp(value, 0, 127)});
}

void Track::bend(std::int64_t tick, int value) {
  bends.push_back({std::max<std::int64_t>(tick, 0), std::clamp(value, -8192, 8191)});
}

void Track::bend_range(std::int64_t tick, int semitones) {
  for (const auto& [controller, value] :
       {std::pair{101, 0}, {100, 0}, {6, std::clamp(semitones, 0, 24)}, {38, 0}, {101, 127}, {100, 127}})
    control(tick, controller, value);
}

std::int64_t Score::ticks(double beats) const { return std::llround(beats * ppq); }

void Score::set_tempo(std::int64_t tick, double bpm) {
  const int us = static_cast<int>(std::clamp(std::lround(60e6 / bpm), 1L, 16777215L));
  for (auto& t : tempos)
    if (t.tick == tick) {
      t.us_per_quarter = us;
      return;
    }
  tempos.push_back({tick, us});
  std::stable_sort(tempos.begin(), tempos.end(),
                   [](const auto& a, const auto& b) { return a.tick < b.tick; });
}

int Score::add_track(std::string name, int program) {
  Track t;
  t.name = std::move(name);
  t.program = program;
  tracks.push_back(std::move(t));
  return static_cast<int>(tracks.size()) - 1;
}

int Score::add_drum_track(std::string name, int kit) {
  const int index = add_track(std::move(name), kit);
  tracks[static_cast<std::size_t>(index)].drums = true;
  return index;
}

void Score::mark(std::int64_t tick, std::string text) { markers.push_back({tick, std::move(text)}); }

std::int64_t Score::end_ticks() const {
  std::int64_t end = 0;
  for (const auto& t : tempos) end = std::max(end, t.tick);
  for (const auto& t : time_signatures) end = std::max(end, t.tick);
  for (const auto& k : key_signatures) end = std::max(end, k.tick);
  for (const auto& m : markers) end = std::max(end, m.tick);
  for (const auto& track : tracks) {
    for (const auto& n : track.notes) end = std::max(end, n.start_ticks + n.length_ticks);
    for (const auto& c : track.controls) end = std::max(end, c.tick);
    for (const auto& b : track.bends) end = std::max(end, b.tick);
  }
  return end;
}

double Score::seconds_at(std::int64_t tick) const {
  std::vector<TempoChange> map = tempos;
  std::stable_sort(map.begin(), map.end(), [](const auto& a, const auto& b) { return a.tick < b.tick; });
  double seconds = 0;
  std::int64_t at = 0;
  int us = 500000;
  for (const auto& t : map) {
    if (t.tick >= tick) break;
    seconds += static_cast<double>(t.tick - at) * us / (1e6 * ppq);
    at = t.tick;
    us = t.us_per_quarter;
  }
  return seconds + static_cast<double>(tick - at) * us / (1e6 * ppq);
}

double Score::length_seconds() const { return seconds_at(end_ticks()); }

KeySignature key_signature_for(int root_pitch, bool minor, std::int64_t tick) {
  // Sharps of each major key by pitch class (flats for Db Eb F Ab Bb; Gb as 6 flats).
  static const int major_sharps[12] = {0, -5, 2, -3, 4, -1, 6, 1, -4, 3, -2, 5};
  int pc = ((root_pitch % 12) + 12) % 12;
  if (minor) pc = (pc + 3) % 12;  // relative major
  int sharps = major_sharps[pc];
  if (minor && sharps == 6) sharps = -6;  // Eb minor is written with 6 flats
  return {tick, sharps, minor};
}

KeySignature key_signature_for_mode(int root_pc, Mode mode, std::int64_t tick) {
  switch (mode) {
    case Mode::major:
      return key_signature_for(root_pc, false, tick);
    case Mode::dorian:
      return key_signature_for((root_pc + 10) % 12, false, tick);
    case Mode::phrygian:
      return key_signature_for((root_pc + 8) % 12, false, tick);
    case Mode::lydian:
      return key_signature_for((root_pc + 7) % 12, false, tick);
    case Mode::mixolydian:
      return key_signature_for((root_pc + 5) % 12, false, tick);
    case Mode::locrian:
      return key_signature_for((root_pc + 1) % 12, false, tick);
    case Mode::natural_minor:
    case Mode::harmonic_minor:
    case Mode::melodic_minor:
    case Mode::minor_pentatonic:
      return key_signature_for(root_pc, true, tick);
    default:
      return key_signature_for(root_pc, false, tick);
  }
}

Status score_validate(const Score& score) {
  if (score.ppq < 1 || score.ppq > 32767) return fail("score: ppq ", score.ppq, " is outside 1..32767");
  for (const auto& t : score.tempos)
    if (t.tick < 0 || t.us_per_quarter < 1 || t.us_per_quarter > 16777215)
      return fail("score: tempo at tick ", t.tick, " is invalid (", t.us_per_quarter, " us per quarter)");
  for (const auto& t : score.time_signatures) {
    const int d = t.denominator;
    if (t.tick < 0 || t.numerator < 1 || t.numerator > 255 || d < 1 || d > 128 || (d & (d - 1)) != 0)
      return fail("score: time signature ", t.numerator, "/", d, " at tick ", t.tick, " is invalid");
  }
  for (const auto& k : score.key_signatures)
    if (k.tick < 0 || k.sharps < -7 || k.sharps > 7)
      return fail("score: key signature with ", k.sharps, " sharps at tick ", k.tick, " is invalid");
  for (const auto& m : score.markers)
    if (m.tick < 0) return fail("score: marker '", m.text, "' has a negative tick");
  for (const auto& track : score.tracks) {
    const std::string where = "score: track '" + track.name + "': ";
    if (track.program < 0 || track.program > 127)
      return fail(where, "program ", track.program, " is outside 0..127");
    if (track.channel < -1 || track.channel > 15)
      return fail(where, "channel ", track.channel, " is outside 0..15");
    for (const auto& n : track.notes) {
      if (n.start_ticks < 0 || n.length_ticks <= 0)
        return fail(where, "note at tick ", n.start_ticks, " has length ", n.length_ticks,
                    " (must start >= 0, last > 0)");
      if (n.pitch < 0 || n.pitch > 127 || n.velocity < 1 || n.velocity > 127)
        return fail(where, "note at tick ", n.start_ticks, " has pitch ", n.pitch, " velocity ", n.velocity,
                    " (pitch 0..127, velocity 1..127)");
    }
    for (const auto& c : track.controls)
      if (c.tick < 0 || c.controller < 0 || c.controller > 127 || c.value < 0 || c.value > 127)
        return fail(where, "controller ", c.controller, " = ", c.value, " at tick ", c.tick, " is invalid");
    for (const auto& b : track.bends)
      if (b.tick < 0 || b.value < -8192 || b.value > 8191)
        return fail(where, "pitch bend ", b.value, " at tick ", b.tick, " is outside -8192..8191");
  }
  return Status::Ok();
}

Result<std::vector<int>> assign_channels(const Score& score) {
  std::vector<int> channels(score.tracks.size(), -1);
  std::vector<int> program_of(16, -1);
  std::vector<std::string> owner(16);
  auto claim = [&](std::size_t i, int ch) -> Status {
    const Track& t = score.tracks[i];
    if (program_of[static_cast<std::size_t>(ch)] >= 0 &&
        program_of[static_cast<std::size_t>(ch)] != t.program)
      return fail("score: tracks '", owner[static_cast<std::size_t>(ch)], "' and '", t.name,
                  "' share channel ", ch + 1, " with different programs");
    program_of[static_cast<std::size_t>(ch)] = t.program;
    owner[static_cast<std::size_t>(ch)] = t.name;
    channels[i] = ch;
    return Status::Ok();
  };
  // Drum tracks and explicit channels first, then the rest in track order.
  for (std::size_t i = 0; i < score.tracks.size(); ++i) {
    const Track& t = score.tracks[i];
    if (t.drums) {
      if (t.channel >= 0 && t.channel != kDrumChannel)
        return fail("score: drum track '", t.name, "' must be on channel 10, not ", t.channel + 1);
      SONIFY_TRY(claim(i, kDrumChannel));
    } else if (t.channel >= 0) {
      if (t.channel == kDrumChannel)
        return fail("score: melodic track '", t.name, "' cannot use channel 10 (General MIDI drums)");
      SONIFY_TRY(claim(i, t.channel));
    }
  }
  int next = 0;
  int melodic = 0;
  for (const auto& t : score.tracks) melodic += t.drums ? 0 : 1;
  for (std::size_t i = 0; i < score.tracks.size(); ++i) {
    if (channels[i] >= 0) continue;
    while (next < 16 && (next == kDrumChannel || program_of[static_cast<std::size_t>(next)] >= 0)) ++next;
    if (next >= 16)
      return fail("score: ", melodic,
                  " melodic tracks need more than the 15 melodic MIDI channels; "
                  "merge tracks or give tracks with the same program the same channel");
    SONIFY_TRY(claim(i, next));
  }
  return channels;
}

}  // namespace sonify
