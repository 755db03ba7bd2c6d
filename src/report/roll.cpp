#include "roll.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "markup.h"
#include "sonify/scale.h"

namespace sonify::report {
namespace {

// Okabe-Ito's colour-blind-safe hues, darkened where needed so every one has at least 3:1
// contrast on white (WCAG's minimum for graphics).
const char* const kPalette[] = {"#0072B2", "#C24E00", "#007A5A", "#B0457F", "#6A3D9A",
                                "#8A6D00", "#1F5F8B", "#A6192E", "#3B6E22", "#5E4B8B"};
const char* const kDrumColor = "#4D4D4D";

constexpr double kLeft = 58;  // pitch labels
constexpr double kRight = 14;
constexpr double kBandStrip = 20;  // band labels
constexpr double kBarStrip = 14;   // bar numbers
constexpr double kAxis = 18;       // time labels below the rows

std::int64_t ticks_per_bar(const TimeSignature& ts, int ppq) {
  return std::max<std::int64_t>(1, static_cast<std::int64_t>(ts.numerator) * ppq * 4 / ts.denominator);
}

// Bar start ticks up to (and including the bar that contains) `end_tick`.
std::vector<std::int64_t> bar_ticks(const Score& score, std::int64_t end_tick) {
  std::vector<TimeSignature> sigs = score.time_signatures;
  std::stable_sort(sigs.begin(), sigs.end(), [](const auto& a, const auto& b) { return a.tick < b.tick; });
  std::vector<std::int64_t> bars;
  std::int64_t tick = 0;
  std::size_t next = 0;
  TimeSignature current;
  while (tick <= end_tick) {
    while (next < sigs.size() && sigs[next].tick <= tick) current = sigs[next++];
    bars.push_back(tick);
    std::int64_t step = ticks_per_bar(current, score.ppq);
    // A time signature in the middle of a bar starts a new bar there, as notation does.
    if (next < sigs.size() && sigs[next].tick < tick + step) step = sigs[next].tick - tick;
    tick += step;
  }
  return bars;
}

std::string path_rect(double x, double y, double w, double h) {
  return "M" + num(x) + " " + num(y) + "h" + num(w) + "v" + num(h) + "h" + num(-w) + "z";
}

int loudness_step(int velocity) { return velocity < 48 ? 0 : velocity < 80 ? 1 : velocity < 104 ? 2 : 3; }
const double kStepOpacity[] = {0.45, 0.65, 0.85, 1.0};

}  // namespace

std::string drum_key_name(int key) {
  static const std::map<int, const char*> names = {
      {35, "kick 2"},   {36, "kick"},      {37, "rim"},       {38, "snare"},        {39, "clap"},
      {40, "snare 2"},  {41, "low tom 2"}, {42, "hat"},       {43, "low tom"},      {44, "pedal hat"},
      {45, "mid tom"},  {46, "open hat"},  {47, "mid tom 2"}, {48, "high tom 2"},   {49, "crash"},
      {50, "high tom"}, {51, "ride"},      {52, "china"},     {53, "ride bell"},    {54, "tambourine"},
      {55, "splash"},   {56, "cowbell"},   {57, "crash 2"},   {59, "ride 2"},       {69, "cabasa"},
      {70, "maracas"},  {75, "claves"},    {80, "triangle"},  {81, "open triangle"}};
  auto it = names.find(key);
  return it != names.end() ? it->second : "key " + std::to_string(key);
}

Result<Roll> roll_from_midi(const MidiFile& midi) {
  SONIFY_ASSIGN_OR_RETURN(score, score_from_midi(midi));
  const MidiTempoMap tempo(midi);
  Roll roll;
  int melodic = 0;
  for (const Track& t : score.tracks) {
    if (t.notes.empty()) continue;
    RollTrack rt;
    rt.name = t.name;
    rt.program = t.program;
    rt.drums = t.drums;
    rt.color = t.drums ? kDrumColor : kPalette[melodic++ % (sizeof kPalette / sizeof kPalette[0])];
    rt.notes = static_cast<int>(t.notes.size());
    const int index = static_cast<int>(roll.tracks.size());
    roll.tracks.push_back(rt);
    for (const Note& n : t.notes)
      roll.notes.push_back({index, tempo.seconds_at(n.start_ticks),
                            tempo.seconds_at(n.start_ticks + n.length_ticks), n.pitch, n.velocity});
  }
  std::stable_sort(roll.notes.begin(), roll.notes.end(),
                   [](const RollNote& a, const RollNote& b) { return a.start < b.start; });
  roll.duration = midi_length_seconds(midi);
  std::int64_t end_tick = 0;
  for (const auto& track : midi.tracks)
    if (!track.empty()) end_tick = std::max(end_tick, track.back().tick);
  for (std::int64_t tick : bar_ticks(score, end_tick)) {
    const double s = tempo.seconds_at(tick);
    if (s < roll.duration - 1e-9) roll.bar_starts.push_back(s);
  }
  return roll;
}

double RollLayout::note_y(const RollNote& note, bool drums) const {
  if (drums) {
    const auto it = std::lower_bound(drum_keys.begin(), drum_keys.end(), note.pitch);
    const auto row = static_cast<double>(drum_keys.end() - it - 1);  // lowest key at the bottom
    return drum_top + row * drum_row_height;
  }
  return melodic_top + (pitch_hi - note.pitch) * row_height;
}

double RollLayout::note_height(bool drums) const {
  return std::max(1.0, (drums ? drum_row_height : row_height) - (drums ? 2.0 : 1.0));
}

RollLayout roll_layout(const Roll& roll, double width, double px_per_second) {
  RollLayout l;
  const double duration = std::max(roll.duration, 0.5);
  if (px_per_second > 0) {
    l.px_per_second = px_per_second;
    l.width = std::ceil(kLeft + duration * px_per_second + kRight);
  } else {
    l.width = width;
    l.px_per_second = (width - kLeft - kRight) / duration;
  }
  l.x0 = kLeft;
  int lo = 127, hi = 0;
  std::set<int> drum_keys;
  for (const RollNote& n : roll.notes) {
    if (roll.tracks[n.track].drums) {
      drum_keys.insert(n.pitch);
    } else {
      lo = std::min(lo, n.pitch);
      hi = std::max(hi, n.pitch);
    }
  }
  l.band_top = 0;
  l.melodic_top = kBandStrip + kBarStrip + 2;
  if (lo <= hi) {
    // At least an octave, so a melody of three notes does not fill the roll with huge rows.
    const int pad = std::max(1, (12 - (hi - lo)) / 2);
    l.pitch_lo = std::max(0, lo - pad);
    l.pitch_hi = std::min(127, hi + pad);
    const int rows = l.pitch_hi - l.pitch_lo + 1;
    l.row_height = std::clamp(320.0 / rows, 3.0, 12.0);
    l.drum_top = l.melodic_top + rows * l.row_height + 8;
  } else {
    l.pitch_lo = 60;
    l.pitch_hi = 59;  // no melodic rows
    l.row_height = 0;
    l.drum_top = l.melodic_top;
  }
  l.drum_keys.assign(drum_keys.begin(), drum_keys.end());
  l.drum_row_height = l.drum_keys.size() > 8 ? 9 : 12;
  l.bottom = l.drum_top + static_cast<double>(l.drum_keys.size()) * l.drum_row_height;
  if (l.drum_keys.empty()) l.bottom = l.drum_top - (lo <= hi ? 8 : 0);
  l.height = std::ceil(l.bottom + kAxis);
  return l;
}

std::string roll_svg(const Roll& roll, const RollLayout& l, const std::string& title) {
  std::string s;
  s.reserve(roll.notes.size() * 40 + 4096);
  std::string desc = std::to_string(roll.tracks.size()) + " tracks, " + std::to_string(roll.notes.size()) +
                     " notes, " + clock_text(roll.duration) + ".";
  if (!roll.bands.empty() && roll.bands.size() <= 40) {
    desc += " Sections:";
    for (const auto& b : roll.bands) desc += " " + b.label + " (" + clock_text(b.start) + ")";
    desc += ".";
  }
  s += "<svg id=\"roll\" class=\"roll\" viewBox=\"0 0 " + num(l.width) + " " + num(l.height) + "\" width=\"" +
       num(l.width) + "\" height=\"" + num(l.height) +
       "\" role=\"img\" aria-labelledby=\"roll-title roll-desc\" data-x0=\"" + num(l.x0, 3) +
       "\" data-pps=\"" + num(l.px_per_second, 6) + "\" data-duration=\"" + num(roll.duration, 6) + "\">";
  s += "<title id=\"roll-title\">" + esc(title) + "</title><desc id=\"roll-desc\">" + esc(desc) + "</desc>";

  // Bands: alternating shades, a label when it fits.
  s += "<g class=\"bands\">";
  for (std::size_t i = 0; i < roll.bands.size(); ++i) {
    const RollBand& b = roll.bands[i];
    const double x = l.x(b.start), w = std::max(1.0, (b.end - b.start) * l.px_per_second);
    s += "<g class=\"band\" data-i=\"" + std::to_string(i) + "\"><rect class=\"band" + std::to_string(i % 2) +
         "\" x=\"" + num(x) + "\" y=\"0\" width=\"" + num(w) + "\" height=\"" + num(l.bottom) + "\"><title>" +
         esc(b.label + (b.detail.empty() ? "" : " · " + b.detail)) + "</title></rect>";
    const std::string label = b.label + (b.detail.empty() ? "" : " · " + b.detail);
    if (w > 7.0 * static_cast<double>(b.label.size()) + 8)
      s += "<text class=\"band-label\" x=\"" + num(x + 4) + "\" y=\"14\">" +
           esc(w > 7.0 * static_cast<double>(label.size()) + 8 ? label : b.label) + "</text>";
    s += "</g>";
  }
  s += "</g>";

  // Bar lines; numbers as often as they fit.
  if (!roll.bar_starts.empty()) {
    const double bar_px =
        roll.bar_starts.size() > 1 ? (roll.bar_starts[1] - roll.bar_starts[0]) * l.px_per_second : l.width;
    int every = 1;
    while (bar_px * every < 26) every *= 2;
    std::string lines, numbers;
    for (std::size_t b = 0; b < roll.bar_starts.size(); ++b) {
      const double x = l.x(roll.bar_starts[b]);
      if (bar_px >= 3 || b % static_cast<std::size_t>(every) == 0)
        lines += "M" + num(x) + " " + num(l.melodic_top - 2) + "V" + num(l.bottom);
      if (b % static_cast<std::size_t>(every) == 0)
        numbers += "<text x=\"" + num(x + 2) + "\" y=\"" + num(kBandStrip + 11) + "\">" +
                   std::to_string(b + 1) + "</text>";
    }
    s += "<path class=\"bar-lines\" d=\"" + lines + "\"/><g class=\"bar-numbers\" aria-hidden=\"true\">" +
         numbers + "</g>";
  }

  // A line under every C of the melodic range.
  std::string c_lines;
  for (int p = l.pitch_lo; p <= l.pitch_hi; ++p)
    if (p % 12 == 0)
      c_lines += "M" + num(l.x0) + " " + num(l.melodic_top + (l.pitch_hi - p + 1) * l.row_height) + "H" +
                 num(l.width - kRight);
  if (!c_lines.empty()) s += "<path class=\"c-line\" d=\"" + c_lines + "\"/>";

  // Time axis: a label every 5, 10, 30 or 60 seconds, as fits.
  s += "<g class=\"time-axis\" aria-hidden=\"true\">";
  double step = 1;
  for (double candidate : {1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0}) {
    step = candidate;
    if (candidate * l.px_per_second >= 48) break;
  }
  // No label that would be cut at the right edge.
  for (double t = 0; t <= roll.duration + 1e-9 && l.x(t) + 28 <= l.width; t += step)
    s += "<text x=\"" + num(l.x(t)) + "\" y=\"" + num(l.bottom + 13) + "\">" + clock_text(t) + "</text>";
  s += "</g>";

  // Notes: one path per track and loudness step.
  s += "<g class=\"notes\">";
  for (std::size_t t = 0; t < roll.tracks.size(); ++t) {
    std::string d[4];
    const bool drums = roll.tracks[t].drums;
    for (const RollNote& n : roll.notes) {
      if (n.track != static_cast<int>(t)) continue;
      const double w = std::max(drums ? 2.0 : 1.0, (n.end - n.start) * l.px_per_second - (drums ? 0.0 : 0.5));
      d[loudness_step(n.velocity)] += path_rect(l.x(n.start), l.note_y(n, drums), w, l.note_height(drums));
    }
    for (int v = 0; v < 4; ++v)
      if (!d[v].empty())
        s += "<path class=\"track t" + std::to_string(t) + "\" data-track=\"" + std::to_string(t) +
             "\" fill=\"" + roll.tracks[t].color + "\" fill-opacity=\"" + num(kStepOpacity[v], 2) +
             "\" d=\"" + d[v] + "\"/>";
  }
  s += "</g>";
  // Row labels (every C, every drum key) over the notes on a white strip, which the page's
  // script keeps at the left edge while the roll scrolls.
  s += "<g id=\"keys\" class=\"keys\"><rect class=\"keys-bg\" x=\"0\" y=\"" + num(l.melodic_top - 2) +
       "\" width=\"" + num(l.x0 - 1) + "\" height=\"" + num(l.bottom - l.melodic_top + 2) + "\"/>";
  for (int p = l.pitch_lo; p <= l.pitch_hi; ++p)
    if (p % 12 == 0)
      s += "<text x=\"" + num(l.x0 - 6) + "\" y=\"" +
           num(l.melodic_top + (l.pitch_hi - p + 1) * l.row_height) + "\">" + esc(pitch_name(p)) + "</text>";
  for (std::size_t k = 0; k < l.drum_keys.size(); ++k) {
    const double y = l.drum_top + static_cast<double>(l.drum_keys.size() - 1 - k) * l.drum_row_height;
    s += "<text class=\"drum-key\" x=\"" + num(l.x0 - 6) + "\" y=\"" + num(y + l.drum_row_height - 2) +
         "\">" + esc(drum_key_name(l.drum_keys[k])) + "</text>";
  }
  s += "</g>";
  s += "<rect id=\"selection\" class=\"selection\" x=\"0\" y=\"0\" width=\"0\" height=\"0\"/>";
  s += "<line id=\"playhead\" class=\"playhead\" x1=\"" + num(l.x0) + "\" x2=\"" + num(l.x0) +
       "\" y1=\"0\" y2=\"" + num(l.bottom) + "\"/>";
  s += "</svg>";
  return s;
}

}  // namespace sonify::report
