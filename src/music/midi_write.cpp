// Score -> SMF type 1. Events are ordered by tick, then by kind (program change,
// controllers, bends, note-offs, note-ons), then by the order the score lists them, so
// the bytes depend only on the score.
#include <algorithm>
#include <tuple>

#include "core/atomic_file.h"
#include "sonify/midi.h"

namespace sonify {
namespace {

MidiEvent meta_event(std::int64_t tick, std::uint8_t type, std::string data) {
  return MidiEvent{tick, 0xFF, type, std::move(data)};
}

MidiEvent channel_event(std::int64_t tick, int status, int d1, int d2 = -1) {
  std::string data(1, static_cast<char>(d1));
  if (d2 >= 0) data += static_cast<char>(d2);
  return MidiEvent{tick, static_cast<std::uint8_t>(status), 0, std::move(data)};
}

// Events tagged with a sort class; sorted stably by (tick, class).
struct Tagged {
  int cls;
  MidiEvent event;
};

std::vector<MidiEvent> sorted_track(std::vector<Tagged> events) {
  std::stable_sort(events.begin(), events.end(), [](const Tagged& a, const Tagged& b) {
    return std::tie(a.event.tick, a.cls) < std::tie(b.event.tick, b.cls);
  });
  std::vector<MidiEvent> out;
  out.reserve(events.size() + 1);
  for (auto& e : events) out.push_back(std::move(e.event));
  const std::int64_t end = out.empty() ? 0 : out.back().tick;
  out.push_back(meta_event(end, meta::kEndOfTrack, ""));
  return out;
}

void put_vlq(std::string& out, std::uint64_t v) {
  char buf[10];
  int n = 0;
  buf[n++] = static_cast<char>(v & 0x7F);
  while ((v >>= 7) != 0) buf[n++] = static_cast<char>(0x80 | (v & 0x7F));
  while (n > 0) out += buf[--n];
}

void put_be(std::string& out, std::uint32_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
}

}  // namespace

bool MidiEvent::operator==(const MidiEvent& o) const {
  return std::tie(tick, status, meta, data) == std::tie(o.tick, o.status, o.meta, o.data);
}

Result<MidiFile> midi_from_score(const Score& score) {
  SONIFY_TRY(score_validate(score));
  SONIFY_ASSIGN_OR_RETURN(channels, assign_channels(score));
  MidiFile file;
  file.format = 1;
  file.ppq = score.ppq;

  std::vector<Tagged> conductor;
  if (!score.title.empty()) conductor.push_back({0, meta_event(0, meta::kTrackName, score.title)});
  for (const auto& ts : score.time_signatures) {
    int log2 = 0;
    while ((1 << log2) < ts.denominator) ++log2;
    std::string d{static_cast<char>(ts.numerator), static_cast<char>(log2), 24, 8};
    conductor.push_back({1, meta_event(ts.tick, meta::kTimeSignature, d)});
  }
  for (const auto& ks : score.key_signatures) {
    std::string d{static_cast<char>(static_cast<signed char>(ks.sharps)),
                  static_cast<char>(ks.minor ? 1 : 0)};
    conductor.push_back({2, meta_event(ks.tick, meta::kKeySignature, d)});
  }
  for (const auto& t : score.tempos) {
    std::string d;
    put_be(d, static_cast<std::uint32_t>(t.us_per_quarter), 3);
    conductor.push_back({3, meta_event(t.tick, meta::kTempo, d)});
  }
  for (const auto& m : score.markers) conductor.push_back({4, meta_event(m.tick, meta::kMarker, m.text)});
  file.tracks.push_back(sorted_track(std::move(conductor)));

  for (std::size_t i = 0; i < score.tracks.size(); ++i) {
    const Track& track = score.tracks[i];
    const int ch = channels[i];
    std::vector<Tagged> events;
    events.push_back({0, meta_event(0, meta::kTrackName, track.name)});
    events.push_back({1, channel_event(0, 0xC0 | ch, track.program)});
    for (const auto& c : track.controls)
      events.push_back({2, channel_event(c.tick, 0xB0 | ch, c.controller, c.value)});
    for (const auto& b : track.bends) {
      const int v = b.value + 8192;
      events.push_back({3, channel_event(b.tick, 0xE0 | ch, v & 0x7F, (v >> 7) & 0x7F)});
    }
    for (const auto& n : track.notes) {
      events.push_back({4, channel_event(n.start_ticks + n.length_ticks, 0x80 | ch, n.pitch, 0)});
      events.push_back({5, channel_event(n.start_ticks, 0x90 | ch, n.pitch, n.velocity)});
    }
    file.tracks.push_back(sorted_track(std::move(events)));
  }
  return file;
}

std::string midi_encode(const MidiFile& file) {
  std::string out = "MThd";
  put_be(out, 6, 4);
  put_be(out, static_cast<std::uint32_t>(file.format), 2);
  put_be(out, static_cast<std::uint32_t>(file.tracks.size()), 2);
  put_be(out, static_cast<std::uint32_t>(file.ppq), 2);
  for (const auto& track : file.tracks) {
    std::string body;
    std::int64_t at = 0;
    bool ended = false;
    for (const auto& e : track) {
      if (ended) break;
      put_vlq(body, static_cast<std::uint64_t>(std::max<std::int64_t>(e.tick - at, 0)));
      at = std::max(at, e.tick);
      body += static_cast<char>(e.status);
      if (e.status == 0xFF) {
        body += static_cast<char>(e.meta);
        put_vlq(body, e.data.size());
        ended = e.meta == meta::kEndOfTrack;
      } else if (e.status == 0xF0 || e.status == 0xF7) {
        put_vlq(body, e.data.size());
      }
      body += e.data;
    }
    if (!ended) body += std::string("\x00\xFF\x2F\x00", 4);
    out += "MTrk";
    put_be(out, static_cast<std::uint32_t>(body.size()), 4);
    out += body;
  }
  return out;
}

Status midi_write(const Score& score, const std::string& path) {
  SONIFY_ASSIGN_OR_RETURN(file, midi_from_score(score));
  return write_file_atomic(path, midi_encode(file));
}

}  // namespace sonify
