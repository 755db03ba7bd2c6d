// The activation-track core without a model: words from offsets, the voices
// composition on hand-made hidden states and PCAs, the timing JSON against the MIDI
// (mido oracle), contrast pair files and the tension formula.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <nlohmann/json.hpp>

#include "sonify/activation.h"
#include "sonify/midi.h"
#include "test_support.h"

using namespace sonify;
using sonify::test::read_file;
using sonify::test::run_program;
using sonify::test::TempDir;
using sonify::test::write_file;

namespace {

// States [3][tokens][4] whose values are given by f(state, token, dim).
template <class F>
HiddenStates make_states(int tokens, F f) {
  HiddenStates h;
  h.states = 3;
  h.tokens = tokens;
  h.width = 4;
  for (int s = 0; s < 3; ++s)
    for (int t = 0; t < tokens; ++t)
      for (int d = 0; d < 4; ++d) h.values.push_back(static_cast<float>(f(s, t, d)));
  return h;
}

// A PCA per state with the unit axes as components and unit variances, mean 0.
ReferencePca identity_pca() {
  ReferencePca r;
  for (int s = 0; s < 3; ++s) {
    Pca p;
    p.n_features = 4;
    p.mean.assign(4, 0.0);
    for (int k = 0; k < 3; ++k) {
      std::vector<double> c(4, 0.0);
      c[static_cast<std::size_t>(k)] = 1.0;
      p.components.push_back(c);
    }
    p.explained_variance = {1, 1, 1};
    p.explained_variance_ratio = {0.4, 0.3, 0.2};
    p.singular_values = {1, 1, 1};
    r.states.push_back(p);
  }
  return r;
}

VoicesOptions three_voices() {
  VoicesOptions o;
  o.root_midi = 48;  // C
  o.mode = Mode::major;
  o.bpm = 120;
  o.voices = {{"flute", 73, 0, 72, 84}, {"clarinet", 71, 1, 60, 72}, {"strings", 48, 2, 48, 60}};
  return o;
}

}  // namespace

TEST_CASE("group_words: tokens to words by byte offsets") {
  // GPT-2 style: the space belongs to the token that follows it.
  const std::string text = "Once upon a time, cats.";
  //  "Once" [0,4) " upon" [4,9) " a" [9,11) " time" [11,16) "," [16,17) " cat" [17,21) "s." [21,23)
  std::vector<ByteRange> offsets = {{0, 4}, {4, 9}, {9, 11}, {11, 16}, {16, 17}, {17, 21}, {21, 23}};
  auto words = group_words(text, offsets, std::vector<bool>(offsets.size(), false));
  REQUIRE(words.size() == 5);
  CHECK(words[0].text == "Once");
  CHECK(words[3].text == "time,");
  CHECK(words[3].tokens == std::vector<std::size_t>{3, 4});
  CHECK(words[4].text == "cats.");
  CHECK(words[4].tokens == std::vector<std::size_t>{5, 6});
  CHECK(words[4].bytes.begin == 18);
  CHECK(words[4].bytes.end == 23);

  // A special BOS with an empty range and a token of spaces only belong to no word.
  const std::string t2 = "Hi  there";
  std::vector<ByteRange> o2 = {{0, 0}, {0, 2}, {2, 3}, {3, 9}};
  auto w2 = group_words(t2, o2, {true, false, false, false});
  REQUIRE(w2.size() == 2);
  CHECK(w2[0].tokens == std::vector<std::size_t>{1});
  CHECK(w2[1].tokens == std::vector<std::size_t>{3});

  // A token spanning two words belongs to both, so neither is left without notes.
  auto w3 = group_words("a b", {{0, 3}}, {false});
  REQUIRE(w3.size() == 2);
  CHECK(w3[0].tokens == std::vector<std::size_t>{0});
  CHECK(w3[1].tokens == std::vector<std::size_t>{0});
}

TEST_CASE("compose_voices: one note per word and voice, pitch from the first component") {
  const std::string text = "The cat sat down.";
  std::vector<ByteRange> offsets = {{0, 3}, {3, 7}, {7, 11}, {11, 16}, {16, 17}};
  const auto words = group_words(text, offsets, std::vector<bool>(5, false));
  REQUIRE(words.size() == 4);
  // Token 0 of every state at 0 on the first component: the middle of the range.
  // Token 1 at +2 sd: the top. Token 2 at -2 sd: the bottom.
  auto h = make_states(5, [](int s, int t, int d) {
    if (d != 0) return 0.0;
    return t == 0 ? 0.0 : t == 1 ? 2.0 : t == 2 ? -2.0 : 0.5 * s;
  });
  const std::vector<std::int64_t> ids = {10, 11, 12, 13, 14};
  auto r = compose_voices(h, ids, words, identity_pca(), three_voices());
  REQUIRE(r.ok());
  const ActivationTrack& track = *r;
  REQUIRE(track.words.size() == 4);
  // Word 0 ends on token 0, the attention sink: the tonic-chord tone nearest the middle
  // of 72..84 (78): C E G → 79.
  CHECK(track.words[0].pitches[0] == 79);
  CHECK(track.words[0].pitches[1] == 67);  // 60..72, middle 66: G
  CHECK(track.words[0].pitches[2] == 55);  // 48..60, middle 54: G
  CHECK(track.words[1].pitches[0] == 84);
  CHECK(track.words[2].pitches[0] == 72);
  // Each word's natural slot: 1 beat; "down." has two tokens (1.5 beats) and closes the
  // sentence with a 1-beat breath: 5.5 beats, nearest in ratio to a 2-bar phrase (8 beats),
  // so every slot is stretched by 8/5.5; at 120 BPM a beat is 0.5 s.
  const double stretch = 8.0 / 5.5;
  CHECK(track.words[0].start_seconds == Approx(0.0));
  CHECK(track.words[1].start_seconds == Approx(0.5 * stretch).margin(0.002));
  CHECK(track.words[3].start_seconds == Approx(1.5 * stretch).margin(0.002));
  CHECK(track.words[3].token_ids == std::vector<std::int64_t>{13, 14});
  // Legato 0.8 of the slot with the third component at 0.
  CHECK(track.words[0].end_seconds == Approx(0.4 * stretch).margin(0.002));
  // One note per word and the cadence on the bar line after the phrase, on a tonic-chord tone.
  REQUIRE(track.tail_start_seconds);
  CHECK(*track.tail_start_seconds == Approx(4.0));
  for (int v = 0; v < 3; ++v) {
    const Track& t = track.score.tracks[static_cast<std::size_t>(v)];
    REQUIRE(t.notes.size() == 5);
    const int pc = t.notes.back().pitch % 12;
    CHECK((pc == 0 || pc == 4 || pc == 7));
  }
  CHECK(track.score.tracks[3].name == "drone");

  // Same input, same bytes; other activations, other music.
  auto again = compose_voices(h, ids, words, identity_pca(), three_voices());
  REQUIRE(again.ok());
  CHECK(midi_encode(*midi_from_score(again->score)) == midi_encode(*midi_from_score(track.score)));
  auto h2 = make_states(5, [](int s, int t, int d) { return d == 0 ? -0.7 * t + 0.1 * s : 0.0; });
  auto other = compose_voices(h2, ids, words, identity_pca(), three_voices());
  REQUIRE(other.ok());
  CHECK(midi_encode(*midi_from_score(other->score)) != midi_encode(*midi_from_score(track.score)));

  // Missing PCA for a voice's state and an empty word list are errors.
  VoicesOptions bad = three_voices();
  bad.voices[0].state = 3;
  CHECK_FALSE(compose_voices(h, ids, words, identity_pca(), bad).ok());
  CHECK_FALSE(compose_voices(h, ids, {}, identity_pca(), three_voices()).ok());
}

TEST_CASE("compose_voices and compose_markov: given word beats are the slots, unstretched") {
  // A MIDI prompt's moments: a 16th, a dotted quarter, a half and a quarter (4.25 beats).
  const std::string text = "a b c d";
  std::vector<ByteRange> offsets = {{0, 1}, {2, 3}, {4, 5}, {6, 7}};
  const auto words = group_words(text, offsets, std::vector<bool>(4, false));
  REQUIRE(words.size() == 4);
  auto h = make_states(4, [](int s, int t, int d) { return std::sin(0.7 * t + 1.3 * d + 0.5 * s); });
  const std::vector<std::int64_t> ids = {1, 2, 3, 4};
  VoicesOptions o = three_voices();  // 120 BPM: a beat is 0.5 s
  o.word_beats = {0.25, 1.5, 2.0, 0.5};
  auto r = compose_voices(h, ids, words, identity_pca(), o);
  REQUIRE(r.ok());
  const std::vector<double> starts = {0.0, 0.125, 0.875, 1.875};
  for (std::size_t i = 0; i < 4; ++i) CHECK(r->words[i].start_seconds == Approx(starts[i]).margin(0.002));
  // 4.25 beats fill two bars: the cadence is on the third bar line, 4 s in.
  REQUIRE(r->tail_start_seconds);
  CHECK(*r->tail_start_seconds == Approx(4.0));

  MarkovInput in;
  in.hidden = h;
  in.lead_state = 1;
  in.attention_entropy = {0.0, 0.5, 1.0, 0.2};
  MarkovOptions mo;
  mo.word_beats = o.word_beats;
  auto m = compose_markov(in, ids, words, mo);
  REQUIRE(m.ok());
  const double beat = 60.0 / mo.bpm;
  double at = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    CHECK(m->words[i].start_seconds == Approx(at * beat).margin(0.002));
    at += mo.word_beats[i];
  }

  // One length per word, each positive.
  o.word_beats = {1.0, 1.0};
  CHECK_FALSE(compose_voices(h, ids, words, identity_pca(), o).ok());
  o.word_beats = {1.0, 0.0, 1.0, 1.0};
  CHECK_FALSE(compose_voices(h, ids, words, identity_pca(), o).ok());
  mo.word_beats = {1.0, 1.0, -1.0, 1.0};
  CHECK_FALSE(compose_markov(in, ids, words, mo).ok());
}

TEST_CASE("timing JSON agrees with the MIDI file as mido reads it") {
  const std::string text = "Soft rain fell, and then the wind came back again!";
  std::vector<ByteRange> offsets;
  for (std::size_t i = 0; i < text.size(); i += 3) offsets.push_back({i, std::min(text.size(), i + 3)});
  const auto words = group_words(text, offsets, std::vector<bool>(offsets.size(), false));
  REQUIRE(words.size() == 10);
  auto h = make_states(static_cast<int>(offsets.size()),
                       [](int s, int t, int d) { return std::sin(0.7 * t + 1.3 * d + 0.5 * s) * 1.5; });
  std::vector<std::int64_t> ids;
  for (std::size_t i = 0; i < offsets.size(); ++i) ids.push_back(static_cast<std::int64_t>(i));
  VoicesOptions o = three_voices();
  o.bpm = 93;
  auto r = compose_voices(h, ids, words, identity_pca(), o);
  REQUIRE(r.ok());
  TempDir dir;
  REQUIRE(midi_write(r->score, dir.file("t.mid")).ok());
  write_file(dir.file("t.timing.json"), timing_to_json(*r));
  auto res =
      run_program({"/usr/bin/python3", std::string(SONIFY_SOURCE_DIR) + "/tests/oracles/activation_timing.py",
                   dir.file("t.mid"), dir.file("t.timing.json")});
  INFO(res.out << res.err);
  CHECK(res.exit_code == 0);
  CHECK(res.out == "ok 10 3\n");
  // The oracle can fail: a shifted word start is caught.
  auto j = nlohmann::json::parse(timing_to_json(*r));
  j["words"][4]["start"] = j["words"][4]["start"].get<double>() + 0.01;
  write_file(dir.file("bad.timing.json"), j.dump());
  auto bad =
      run_program({"/usr/bin/python3", std::string(SONIFY_SOURCE_DIR) + "/tests/oracles/activation_timing.py",
                   dir.file("t.mid"), dir.file("bad.timing.json")});
  CHECK(bad.exit_code == 1);
}

TEST_CASE("contrast pair files: the shipped sets parse, bad files give one-line errors") {
  for (const char* name : {"calm-tense", "refusal"}) {
    auto set = contrast_set_read(std::string(SONIFY_SOURCE_DIR) + "/configs/contrast/" + name + ".json");
    REQUIRE(set.ok());
    CHECK(set->pairs.size() >= 8);
  }
  CHECK_FALSE(contrast_set_parse("{\"name\":\"x\",\"pairs\":[]}", "f").ok());
  CHECK_FALSE(contrast_set_parse("{\"name\":\"x\",\"pairs\":[[\"a\"]]}", "f").ok());
  CHECK_FALSE(contrast_set_parse("{\"pairs\":[[\"a\",\"b\"]]}", "f").ok());
  CHECK_FALSE(contrast_set_parse("[1]", "f").ok());
  CHECK(contrast_set_parse("{\"name\":\"x\",\"pairs\":[[\"a\",\"b\"]]}", "f").ok());
  CHECK_FALSE(contrast_set_read("/nonexistent/pairs.json").ok());
}

TEST_CASE("contrast tension: token-mean minus midpoint along the direction, position 0 left out") {
  ContrastDirection d;
  d.states = {2};
  d.width = 4;
  d.midpoint = {1, 0, 0, 0};
  d.direction = {0, 1, 0, 0};
  d.scale = 2;
  // State 2, dim 1: token t holds 10*t; tokens 1..2 are used: mean 15, /2 = 7.5.
  auto h = make_states(3, [](int s, int t, int d2) { return (s == 2 && d2 == 1) ? 10.0 * t : 0.0; });
  CHECK(contrast_tension(d, h, {false, false, false}) == Approx(7.5));
  // A special token is skipped too.
  CHECK(contrast_tension(d, h, {false, false, true}) == Approx(5.0));
  auto per_token = contrast_token_tension(d, h);
  CHECK(per_token == std::vector<double>{0, 5, 10});
  // Round trip.
  auto back = contrast_direction_from_json(contrast_direction_to_json(d), "d");
  REQUIRE(back.ok());
  CHECK(back->direction == d.direction);
  CHECK(back->midpoint == d.midpoint);
}

TEST_CASE("compose_markov: seeded, one lead note per token, words in order, organ follows tension") {
  const std::string text = "The cat sat down. It was calm, then loud!";
  std::vector<ByteRange> offsets;
  for (std::size_t i = 0; i < text.size(); i += 2) offsets.push_back({i, std::min(text.size(), i + 2)});
  const auto words = group_words(text, offsets, std::vector<bool>(offsets.size(), false));
  const int T = static_cast<int>(offsets.size());
  MarkovInput in;
  in.hidden =
      make_states(T, [](int s, int t, int d) { return std::cos(0.9 * t + 2.1 * d + s) * (1 + 0.1 * t); });
  in.lead_state = 1;
  for (int t = 0; t < T; ++t) {
    in.attention_entropy.push_back(t % 3 / 2.0);
    in.mlp_sparsity.push_back(t % 4 == 0 ? 0.5 : 0.0);
    in.tension.push_back(t < T / 2 ? -1.0 + 0.05 * t : 1.0 + 0.05 * t);
  }
  std::vector<std::int64_t> ids(static_cast<std::size_t>(T), 7);
  MarkovOptions o;
  o.seed = 3;
  auto a = compose_markov(in, ids, words, o);
  REQUIRE(a.ok());
  auto b = compose_markov(in, ids, words, o);
  REQUIRE(b.ok());
  CHECK(midi_encode(*midi_from_score(a->score)) == midi_encode(*midi_from_score(b->score)));
  o.seed = 4;
  auto c = compose_markov(in, ids, words, o);
  REQUIRE(c.ok());
  CHECK(midi_encode(*midi_from_score(c->score)) != midi_encode(*midi_from_score(a->score)));

  std::size_t token_count = 0;
  for (const auto& w : words) token_count += w.tokens.size();
  const Track& lead = a->score.tracks[0];
  CHECK(lead.name == "lead");
  CHECK(lead.notes.size() == token_count + 1);  // and the cadence
  CHECK(a->score.tracks[1].notes.size() > 0);   // celesta on sparse tokens
  REQUIRE(a->words.size() == words.size());
  for (std::size_t i = 1; i < a->words.size(); ++i)
    CHECK(a->words[i].start_seconds > a->words[i - 1].start_seconds);
  // The organ is not stuck on one pitch (the notebook's bug) and follows tension: the
  // calm first sentence soft, the tense second loud.
  const Track& organ = a->score.tracks[2];
  REQUIRE(organ.notes.size() >= 6);
  std::vector<int> organ_pitches;
  for (const Note& n : organ.notes) organ_pitches.push_back(n.pitch);
  std::sort(organ_pitches.begin(), organ_pitches.end());
  CHECK(std::unique(organ_pitches.begin(), organ_pitches.end()) - organ_pitches.begin() >= 3);
  CHECK(organ.notes.front().velocity + 30 < organ.notes[organ.notes.size() - 5].velocity);
  // The lead moves mostly by step (issue 13: median interval <= 4, >= 60 % within a fifth).
  std::vector<int> steps;
  for (std::size_t i = 1; i < lead.notes.size(); ++i)
    steps.push_back(std::abs(lead.notes[i].pitch - lead.notes[i - 1].pitch));
  std::vector<int> sorted_steps = steps;
  std::sort(sorted_steps.begin(), sorted_steps.end());
  CHECK(sorted_steps[sorted_steps.size() / 2] <= 4);
  CHECK(std::count_if(steps.begin(), steps.end(), [](int s) { return s <= 7; }) >= 0.6 * steps.size());
  // Celesta: more than one pitch.
  const Track& celesta = a->score.tracks[1];
  CHECK(std::any_of(celesta.notes.begin(), celesta.notes.end(),
                    [&](const Note& n) { return n.pitch != celesta.notes.front().pitch; }));
  // Three tracks, three channels.
  auto channels = assign_channels(a->score);
  REQUIRE(channels.ok());
  CHECK((*channels)[0] != (*channels)[1]);
  CHECK((*channels)[1] != (*channels)[2]);
}

TEST_CASE("tension sets loudness, drone pulse and mode; motion sets tempo; positions are centred") {
  const std::string text = "The cat sat down.";
  std::vector<ByteRange> offsets = {{0, 3}, {3, 7}, {7, 11}, {11, 16}, {16, 17}};
  const auto words = group_words(text, offsets, std::vector<bool>(5, false));
  auto h = make_states(5, [](int s, int t, int d) { return d == t % 4 ? 0.3 * (s + 1) : 0.0; });
  const std::vector<std::int64_t> ids = {10, 11, 12, 13, 14};
  auto play = [&](double tension) {
    VoicesOptions o = three_voices();
    o.tension = tension;
    auto r = compose_voices(h, ids, words, identity_pca(), o);
    REQUIRE(r.ok());
    return std::move(r).value();
  };
  const ActivationTrack calm = play(-0.6), tense = play(0.6);
  auto mean_velocity = [](const ActivationTrack& t) {
    double sum = 0;
    int n = 0;
    for (const Track& tr : t.score.tracks)
      for (const Note& note : tr.notes) sum += note.velocity, ++n;
    return sum / n;
  };
  CHECK(mean_velocity(calm) + 15 < mean_velocity(tense));
  // Level 0.05 → one drone strike a bar; 0.95 → eight. The words make a 2-bar phrase (4 s at 120 BPM).
  const Track& calm_drone = calm.score.tracks.back();
  const Track& tense_drone = tense.score.tracks.back();
  CHECK(calm_drone.name == "drone");
  CHECK(calm_drone.notes.size() == 2 * 2 + 2);    // bars at 0 and 2 s, root + fifth, + cadence
  CHECK(tense_drone.notes.size() == 2 * 16 + 2);  // 16 eighth-bar pulses before the cadence at 4 s
  // Modes from bright to dark, at the documented levels.
  CHECK(mode_for_tension(-0.6) == Mode::major);
  CHECK(mode_for_tension(-0.1) == Mode::mixolydian);
  CHECK(mode_for_tension(0.2) == Mode::natural_minor);
  CHECK(mode_for_tension(0.6) == Mode::phrygian);
  CHECK(tension_level(0.0) == Approx(0.5));
  CHECK(tempo_for_motion(0.0) == Approx(60));
  CHECK(tempo_for_motion(1.0) == Approx(90));
  CHECK(tempo_for_motion(5.0) == Approx(132));
  // Motion: tokens 1..4 (token 0 skipped) at unit axes d = t % 4 scaled 0.3(s+1):
  // consecutive distances over components 1-3 (d = 0, 1, 2 only).
  std::vector<bool> skip = {true, false, false, false, false};
  const std::vector<VoiceSpec> one = {{"flute", 73, 0, 72, 84}};
  // State 0 (scale 0.3): t=1 (0,.3,0), t=2 (0,0,.3), t=3 (0,0,0), t=4 (.3,0,0):
  // distances .3√2, .3, .3 → mean (0.4243 + 0.6) / 3.
  CHECK(prompt_motion(h, identity_pca(), one, skip) ==
        Approx((0.3 * std::sqrt(2.0) + 0.6) / 3 / 2.2567583341910251));
  // Position centring: the position mean is taken away before the projection.
  ReferencePca pca = identity_pca();
  pca.position_means.assign(3, {});
  pca.position_means[0] = {1, 0, 0, 0, 5, 0, 0, 0};  // positions 0 and 1, width 4
  const float row[4] = {6, 0, 0, 0};
  CHECK(reference_project(pca, 0, 1, row)[0] == Approx(1.0));
  CHECK(reference_project(pca, 0, 9, row)[0] == Approx(1.0));  // beyond: the last position
  CHECK(reference_project(pca, 0, 0, row)[0] == Approx(5.0));
  CHECK(reference_project(pca, 1, 1, row)[0] == Approx(6.0));  // no means for state 1
  // Position scales: position 1 scatters twice as wide on component 1 (pca3 layout [pos][k]).
  pca.position_scales.assign(3, {});
  pca.position_scales[0] = {1, 1, 1, 2, 1, 1};
  CHECK(reference_project(pca, 0, 1, row)[0] == Approx(0.5));
  CHECK(reference_project(pca, 0, 0, row)[0] == Approx(5.0));
  // Instruments: the calm and tense prompts get the palettes of their levels (0.05 and
  // 0.95), the voices in order, then the drone; a caller's own programs stay.
  auto programs = [](const ActivationTrack& t) {
    std::vector<int> p;
    for (const Track& tr : t.score.tracks) p.push_back(tr.program);
    return p;
  };
  const Palette pastoral = palette_for_level(0.05), storm = palette_for_level(0.95);
  CHECK(pastoral.name == "pastoral");
  CHECK(storm.name == "storm");
  CHECK(programs(calm) ==
        std::vector<int>{pastoral.voices[0], pastoral.voices[1], pastoral.voices[2], pastoral.drone});
  CHECK(programs(tense) == std::vector<int>{storm.voices[0], storm.voices[1], storm.voices[2], storm.drone});
  CHECK(programs(calm) != programs(tense));
  VoicesOptions own = three_voices();
  own.tension = 0.6;
  own.palette = false;
  auto kept = compose_voices(h, ids, words, identity_pca(), own);
  REQUIRE(kept.ok());
  CHECK(programs(*kept) == std::vector<int>{73, 71, 48, 43});
}
