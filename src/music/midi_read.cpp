// SMF type 0/1 reader. Every read goes through Cursor, which checks bounds first, so
// a malformed file ends in an error naming the offset, never in a read past the end.
#include <algorithm>
#include <cstdio>
#include <deque>
#include <fstream>
#include <map>
#include <sstream>

#include "sonify/midi.h"

namespace sonify {
namespace {

std::string hex(unsigned v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02X", v & 0xFFu);
  return buf;
}

class Cursor {
 public:
  Cursor(std::string_view bytes, std::size_t base) : bytes_(bytes), base_(base) {}
  std::size_t offset() const { return base_ + pos_; }
  std::size_t left() const { return bytes_.size() - pos_; }
  bool done() const { return pos_ >= bytes_.size(); }
  bool byte(std::uint8_t* out) {
    if (done()) return false;
    *out = static_cast<std::uint8_t>(bytes_[pos_++]);
    return true;
  }
  bool peek(std::uint8_t* out) const {
    if (done()) return false;
    *out = static_cast<std::uint8_t>(bytes_[pos_]);
    return true;
  }
  bool take(std::size_t n, std::string_view* out) {
    if (n > left()) return false;
    *out = bytes_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  // A variable-length quantity: at most 4 bytes (28 bits) as the SMF spec allows.
  // Returns 0 on success, 1 when truncated, 2 when longer than 4 bytes.
  int vlq(std::uint32_t* out) {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      std::uint8_t b = 0;
      if (!byte(&b)) return 1;
      v = (v << 7) | (b & 0x7Fu);
      if ((b & 0x80) == 0) {
        *out = v;
        return 0;
      }
    }
    return 2;
  }

 private:
  std::string_view bytes_;
  std::size_t base_;
  std::size_t pos_ = 0;
};

std::uint32_t be(std::string_view s) {
  std::uint32_t v = 0;
  for (char c : s) v = (v << 8) | static_cast<std::uint8_t>(c);
  return v;
}

Result<std::vector<MidiEvent>> parse_track(std::string_view body, std::size_t base,
                                           const std::string& where) {
  Cursor c(body, base);
  std::vector<MidiEvent> events;
  std::int64_t tick = 0;
  std::uint8_t running = 0;
  auto truncated = [&](const char* what) {
    return fail(where, ": truncated ", what, " at offset ", c.offset());
  };
  while (!c.done()) {
    std::uint32_t delta = 0;
    if (int r = c.vlq(&delta); r != 0)
      return r == 1 ? truncated("delta time")
                    : fail(where, ": delta time longer than 4 bytes at offset ", c.offset());
    tick += delta;
    const std::size_t at = c.offset();
    std::uint8_t status = 0;
    if (!c.peek(&status)) return truncated("event");
    if (status & 0x80) {
      std::uint8_t skip = 0;
      (void)c.byte(&skip);
    } else {
      if (running == 0)
        return fail(where, ": data byte ", hex(status),
                    " without a status byte (running status with no "
                    "previous channel event) at offset ",
                    at);
      status = running;
    }
    MidiEvent e;
    e.tick = tick;
    e.status = status;
    if (status == 0xFF) {
      running = 0;
      std::uint32_t len = 0;
      std::string_view data;
      if (!c.byte(&e.meta)) return truncated("meta event");
      if (int r = c.vlq(&len); r != 0)
        return r == 1 ? truncated("meta event length")
                      : fail(where, ": meta length longer than 4 bytes at offset ", at);
      if (!c.take(len, &data))
        return fail(where, ": meta event at offset ", at, " has length ", len, " but only ", c.left(),
                    " bytes remain");
      e.data = std::string(data);
      if (e.meta == meta::kTempo && e.data.size() != 3)
        return fail(where, ": tempo event at offset ", at, " has ", e.data.size(), " data bytes, not 3");
      // Zero microseconds per quarter note would put every later event at the same instant.
      if (e.meta == meta::kTempo && e.data == std::string(3, '\0'))
        return fail(where, ": tempo event at offset ", at, " sets 0 microseconds per quarter note");
      events.push_back(std::move(e));
      if (events.back().meta == meta::kEndOfTrack) return events;  // bytes after it are ignored
    } else if (status == 0xF0 || status == 0xF7) {
      running = 0;
      std::uint32_t len = 0;
      std::string_view data;
      if (int r = c.vlq(&len); r != 0)
        return r == 1 ? truncated("SysEx length")
                      : fail(where, ": SysEx length longer than 4 bytes at offset ", at);
      if (!c.take(len, &data))
        return fail(where, ": SysEx at offset ", at, " has length ", len, " but only ", c.left(),
                    " bytes remain");
      e.data = std::string(data);
      events.push_back(std::move(e));
    } else if (status >= 0xF0) {
      return fail(where, ": status byte ", hex(status), " is not allowed in a MIDI file (offset ", at, ")");
    } else {
      running = status;
      const int kind = status & 0xF0;
      const int n = (kind == 0xC0 || kind == 0xD0) ? 1 : 2;
      for (int i = 0; i < n; ++i) {
        std::uint8_t d = 0;
        if (!c.byte(&d)) return truncated("channel event");
        if (d & 0x80)
          return fail(where, ": channel event ", hex(status), " at offset ", at, " has data byte ", hex(d),
                      " (>= 0x80): truncated event or misused running status");
        e.data += static_cast<char>(d);
      }
      events.push_back(std::move(e));
    }
  }
  // No end-of-track: tolerated (common in the wild), added at the last tick.
  events.push_back(MidiEvent{tick, 0xFF, meta::kEndOfTrack, ""});
  return events;
}

}  // namespace

Result<MidiFile> midi_parse(std::string_view bytes, const std::string& name) {
  Cursor c(bytes, 0);
  std::string_view id, len_bytes, header;
  if (!c.take(4, &id) || id != "MThd") return fail(name, ": not a MIDI file (no MThd header)");
  if (!c.take(4, &len_bytes)) return fail(name, ": truncated MThd header");
  const std::uint32_t header_len = be(len_bytes);
  if (header_len < 6) return fail(name, ": MThd length ", header_len, " is less than 6");
  if (!c.take(header_len, &header))
    return fail(name, ": MThd length ", header_len, " exceeds the file (", c.left(), " bytes remain)");
  MidiFile file;
  file.format = static_cast<int>(be(header.substr(0, 2)));
  const std::uint32_t ntracks = be(header.substr(2, 2));
  const std::uint32_t division = be(header.substr(4, 2));
  if (file.format == 2) return fail(name, ": SMF format 2 (independent sequences) is not supported");
  if (file.format > 2) return fail(name, ": unknown SMF format ", file.format);
  if (division & 0x8000)
    return fail(name, ": SMPTE time division is not supported (only ticks per quarter note)");
  if (division == 0) return fail(name, ": time division is 0 ticks per quarter note");
  if (file.format == 0 && ntracks != 1)
    return fail(name, ": SMF format 0 with ", ntracks, " tracks (must be 1)");
  file.ppq = static_cast<int>(division);
  while (file.tracks.size() < ntracks) {
    const std::size_t at = c.offset();
    if (!c.take(4, &id))
      return fail(name, ": header says ", ntracks, " tracks but the file ends after ", file.tracks.size());
    if (!c.take(4, &len_bytes)) return fail(name, ": truncated chunk header at offset ", at);
    const std::uint32_t len = be(len_bytes);
    std::string_view body;
    if (!c.take(len, &body))
      return fail(name, ": chunk '", std::string(id), "' at offset ", at, " has length ", len, " but only ",
                  c.left(), " bytes remain");
    if (id != "MTrk") continue;  // unknown chunks are skipped, as the SMF spec asks
    SONIFY_ASSIGN_OR_RETURN(
        events, parse_track(body, at + 8, name + ": track " + std::to_string(file.tracks.size() + 1)));
    file.tracks.push_back(std::move(events));
  }
  return file;
}

Result<MidiFile> midi_read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(path, ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return fail(path, ": read error");
  return midi_parse(ss.str(), path);
}

MidiTempoMap::MidiTempoMap(const MidiFile& file) {
  std::vector<std::pair<std::int64_t, std::uint32_t>> tempos;
  for (const auto& track : file.tracks)
    for (const auto& e : track)
      if (e.status == 0xFF && e.meta == meta::kTempo && e.data.size() == 3)
        tempos.emplace_back(e.tick, be(e.data));
  std::stable_sort(tempos.begin(), tempos.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  const double ppq = file.ppq;
  segments_.push_back({0, 0.0, 0.5 / ppq});
  for (const auto& [tick, us] : tempos) {
    const Segment& last = segments_.back();
    const double seconds = last.seconds + static_cast<double>(tick - last.tick) * last.seconds_per_tick;
    const double spt = std::max<std::uint32_t>(us, 1) / (1e6 * ppq);
    if (tick == last.tick)
      segments_.back().seconds_per_tick = spt;
    else
      segments_.push_back({tick, seconds, spt});
  }
}

double MidiTempoMap::seconds_at(std::int64_t tick) const {
  auto it = std::upper_bound(segments_.begin(), segments_.end(), tick,
                             [](std::int64_t t, const Segment& s) { return t < s.tick; });
  const Segment& s = *(it - 1);
  return s.seconds + static_cast<double>(tick - s.tick) * s.seconds_per_tick;
}

double midi_length_seconds(const MidiFile& file) {
  std::int64_t end = 0;
  for (const auto& track : file.tracks)
    for (const auto& e : track) end = std::max(end, e.tick);
  return MidiTempoMap(file).seconds_at(end);
}

Result<Score> score_from_midi(const MidiFile& file) {
  Score score;
  score.ppq = file.ppq;
  for (std::size_t ti = 0; ti < file.tracks.size(); ++ti) {
    const auto& events = file.tracks[ti];
    std::string name;
    std::map<int, Track> by_channel;
    std::map<int, bool> has_program;
    std::map<std::pair<int, int>, std::deque<std::pair<std::int64_t, int>>>
        open;  // (ch, pitch) -> (start, vel)
    std::int64_t end = 0;
    for (const auto& e : events) {
      end = std::max(end, e.tick);
      if (e.status == 0xFF) {
        const auto& d = e.data;
        if (e.meta == meta::kTrackName && name.empty()) name = d;
        if (e.meta == meta::kTempo) score.tempos.push_back({e.tick, static_cast<int>(be(d))});
        if (e.meta == meta::kTimeSignature && d.size() >= 2 && static_cast<std::uint8_t>(d[1]) < 8)
          score.time_signatures.push_back(
              {e.tick, static_cast<std::uint8_t>(d[0]), 1 << static_cast<std::uint8_t>(d[1])});
        if (e.meta == meta::kKeySignature && d.size() >= 2)
          score.key_signatures.push_back({e.tick, static_cast<signed char>(d[0]), d[1] != 0});
        if (e.meta == meta::kMarker) score.markers.push_back({e.tick, d});
        continue;
      }
      if (!e.is_channel()) continue;
      const int ch = e.channel();
      Track& t = by_channel[ch];
      t.channel = ch;
      t.drums = ch == kDrumChannel;
      const int d1 = static_cast<std::uint8_t>(e.data[0]);
      const int d2 = e.data.size() > 1 ? static_cast<std::uint8_t>(e.data[1]) : 0;
      switch (e.kind()) {
        case 0x90:
          if (d2 > 0) {
            open[{ch, d1}].push_back({e.tick, d2});
            break;
          }
          [[fallthrough]];
        case 0x80: {
          auto& q = open[{ch, d1}];
          if (q.empty()) break;  // a note-off with no note on: ignored
          const auto [start, vel] = q.front();
          q.pop_front();
          t.notes.push_back({start, std::max<std::int64_t>(e.tick - start, 1), d1, vel});
          break;
        }
        case 0xB0:
          t.controls.push_back({e.tick, d1, d2});
          break;
        case 0xC0:
          if (!has_program[ch]) t.program = d1;
          has_program[ch] = true;
          break;
        case 0xE0:
          t.bends.push_back({e.tick, (d1 | (d2 << 7)) - 8192});
          break;
        default:
          break;
      }
    }
    for (auto& [key, q] : open)
      for (const auto& [start, vel] : q)
        by_channel[key.first].notes.push_back(
            {start, std::max<std::int64_t>(end - start, 1), key.second, vel});
    if (by_channel.empty() && ti == 0 && file.format == 1) score.title = name;
    for (auto& [ch, t] : by_channel) {
      if (t.notes.empty() && t.controls.empty() && t.bends.empty()) continue;
      t.name = by_channel.size() == 1 ? name : name + " ch" + std::to_string(ch + 1);
      std::stable_sort(t.notes.begin(), t.notes.end(),
                       [](const Note& a, const Note& b) { return a.start_ticks < b.start_ticks; });
      score.tracks.push_back(std::move(t));
    }
  }
  std::stable_sort(score.tempos.begin(), score.tempos.end(),
                   [](const auto& a, const auto& b) { return a.tick < b.tick; });
  return score;
}

}  // namespace sonify
