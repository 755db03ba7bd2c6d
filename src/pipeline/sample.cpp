// `sonify sample` (sonify/pipeline_sample.h): autoregressive sampling of a MIDI event model.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/output_set.h"
#include "core/text_file.h"
#include "pipeline/prompt_midi.h"
#include "sonify/midi.h"
#include "sonify/midi_tokens.h"
#include "sonify/model.h"
#include "sonify/pipeline_sample.h"
#include "sonify/pipeline_train.h"
#include "sonify/render.h"
#include "sonify/runtime.h"

namespace sonify {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// The model's tokenizer file, beside a .safetensors file or in the directory.
Result<MidiTokenizer> model_midi_tokenizer(const std::string& model_path, fs::path* dir) {
  std::error_code ec;
  *dir = fs::is_directory(model_path, ec) ? fs::path(model_path) : fs::path(model_path).parent_path();
  const fs::path file = *dir / kMidiTokenizerFile;
  if (!fs::is_regular_file(file, ec))
    return fail(model_path, ": no ", kMidiTokenizerFile,
                ", so it is not a MIDI event model (train one with sonify train --midi)");
  SONIFY_ASSIGN_OR_RETURN(text, read_text(file.string()));
  return MidiTokenizer::parse(text, file.string());
}

// Grid steps each token moves time on (TimeShift_b.s.r: b beats and s steps), 0 for the rest.
std::vector<int> shift_steps(const MidiTokenizer& t) {
  std::vector<int> steps(static_cast<std::size_t>(t.vocab_size()), 0);
  for (int id = 0; id < t.vocab_size(); ++id) {
    int beats = 0, step = 0, per_beat = 0;
    if (std::sscanf(t.token(id).c_str(), "TimeShift_%d.%d.%d", &beats, &step, &per_beat) == 3)
      steps[static_cast<std::size_t>(id)] = beats * per_beat + step;
  }
  return steps;
}

// A pitch struck twice on one step would decode into two overlapping notes of one pitch
// (a NoteOn with no NoteOff between them in the MIDI file): the second strike is dropped.
// Returns how many were.
std::int64_t drop_same_step_restrikes(const MidiTokenizer& tok, const std::vector<int>& steps_of,
                                      std::vector<int>* ids) {
  std::vector<int> kept;
  std::vector<int> struck;  // pitches struck since the last time shift
  std::int64_t dropped = 0;
  for (int id : *ids) {
    if (steps_of[static_cast<std::size_t>(id)] > 0) struck.clear();
    int pitch = -1;
    if (std::sscanf(tok.token(id).c_str(), "NoteOn_%d", &pitch) == 1) {
      if (std::find(struck.begin(), struck.end(), pitch) != struck.end()) {
        ++dropped;
        continue;
      }
      struck.push_back(pitch);
    }
    kept.push_back(id);
  }
  ids->swap(kept);
  return dropped;
}

struct Sampled {
  std::vector<int> ids;  // BOS first
  std::int64_t window_shifts = 0;
  std::string stop_reason = "length";
};

// The pitch of each token matching `format` ("NoteOn_%d", "NoteOff_%d"), -1 for the rest.
std::vector<int> note_pitches(const MidiTokenizer& t, const char* format) {
  std::vector<int> pitches(static_cast<std::size_t>(t.vocab_size()), -1);
  for (int id = 0; id < t.vocab_size(); ++id) {
    int p = -1;
    if (std::sscanf(t.token(id).c_str(), format, &p) == 1) pitches[static_cast<std::size_t>(id)] = p;
  }
  return pitches;
}

// Samples from BOS until the time shifts reach `target_steps`. PAD, BOS and EOS are never
// drawn: the piece ends at the requested length, not where a training piece ended. When the
// context is full, the cache restarts from the last half of the sequence. `constrain`
// draws only tokens that mean something where they stand: a NoteOff of a sounding pitch, a
// NoteOn of a pitch not struck on this step already.
Result<Sampled> sample_tokens(Runtime& runtime, const MidiTokenizer& tok, std::int64_t target_steps,
                              const GenerateOptions& options, bool constrain) {
  const std::vector<int> steps_of = shift_steps(tok);
  const std::vector<int> on_pitch = note_pitches(tok, "NoteOn_%d"),
                         off_pitch = note_pitches(tok, "NoteOff_%d");
  std::vector<bool> sounding(128, false), struck(128, false);
  constexpr float kNever = -std::numeric_limits<float>::infinity();
  const std::int64_t context = runtime.spec().context_length;
  const std::int64_t max_tokens = target_steps * 64 + 1024;  // a model that never moves time still stops
  Sampled s;
  s.ids = {tok.bos_id()};
  std::vector<std::int64_t> window = {tok.bos_id()};
  runtime.reset();
  std::uint64_t rng = options.seed;
  std::int64_t now = 0;
  for (;;) {
    SONIFY_ASSIGN_OR_RETURN(logits, runtime.extend(window));
    for (float v : logits)
      if (!std::isfinite(v)) return fail("the model gave non-finite logits after ", s.ids.size(), " tokens");
    for (int special : {tok.pad_id(), tok.bos_id(), tok.eos_id()})
      logits[static_cast<std::size_t>(special)] = kNever;
    logits.resize(static_cast<std::size_t>(tok.vocab_size()));  // a padded embedding has no tokens
    for (std::size_t id = 0; constrain && id < logits.size(); ++id)
      if ((off_pitch[id] >= 0 && !sounding[off_pitch[id]]) || (on_pitch[id] >= 0 && struck[on_pitch[id]]))
        logits[id] = kNever;
    const auto next = static_cast<int>(sample_next(logits, options, &rng));
    s.ids.push_back(next);
    const auto n = static_cast<std::size_t>(next);
    if (on_pitch[n] >= 0) sounding[on_pitch[n]] = struck[on_pitch[n]] = true;
    if (off_pitch[n] >= 0) sounding[off_pitch[n]] = false;
    if (steps_of[n] > 0) struck.assign(128, false);
    now += steps_of[n];
    if (now >= target_steps) break;
    if (static_cast<std::int64_t>(s.ids.size()) > max_tokens) {
      s.stop_reason = "max_tokens";
      break;
    }
    window = {next};
    if (runtime.cached_tokens() >= context) {
      runtime.reset();
      window.assign(s.ids.end() - context / 2, s.ids.end());
      ++s.window_shifts;
    }
  }
  return s;
}

// One piece with `seed` into `set` (not committed); adds its figures to `run`.
Status sample_piece(Runtime& runtime, const MidiTokenizer& tokenizer, const Model& model,
                    const SampleRequest& req, std::uint64_t seed,
                    const pipeline::MidiCorpusPlayback& playback, OutputSet& set, SampleRun& run) {
  const auto t_start = Clock::now();
  const double bpm = playback.bpm;
  const int program = playback.program;
  const bool drums = playback.drums;
  GenerateOptions options;
  options.temperature = req.temperature;
  options.top_k = req.top_k;
  options.seed = seed;
  const auto target_steps = static_cast<std::int64_t>(
      std::ceil(req.seconds * bpm / 60.0 * tokenizer.config().steps_per_beat - 1e-9));
  auto t0 = Clock::now();
  SONIFY_ASSIGN_OR_RETURN(sampled, sample_tokens(runtime, tokenizer, target_steps, options, req.constrain));
  const double sampling_seconds = since(t0);

  std::vector<int> ids = sampled.ids;
  const std::int64_t restrikes = drop_same_step_restrikes(tokenizer, shift_steps(tokenizer), &ids);
  MidiTokenStats stats;
  SONIFY_ASSIGN_OR_RETURN(score, tokenizer.decode(ids, bpm, &stats));
  score.title = "sonify sample";
  for (Track& t : score.tracks) {
    t.program = program;
    t.drums = drums;
    t.name = drums ? "Drums" : "Program " + std::to_string(program);
  }
  SONIFY_ASSIGN_OR_RETURN(midi, midi_from_score(score));

  const std::string wav_temp = req.midi_only ? std::string() : set.temp_path(".wav");
  SONIFY_TRY(set.write(".mid", midi_encode(midi)));
  json render = nullptr;
  if (!req.midi_only) {
    RenderOptions ro;
    ro.synth.soundfont = req.soundfont;
    ro.master.loudness = true;
    ro.master.loudness_lufs = -14.0;
    SONIFY_ASSIGN_OR_RETURN(report, render_wav(midi, ro, wav_temp));
    render = json::parse(render_report_json(report, ro), nullptr, false);
  }
  const std::int64_t tokens = static_cast<std::int64_t>(sampled.ids.size()) - 1;
  json j = {{"command", "sample"},
            {"model", req.model_path},
            {"tokenizer", kMidiTokenizerFile},
            {"seed", seed},
            {"settings",
             {{"seconds", req.seconds},
              {"temperature", req.temperature},
              {"top_k", req.top_k},
              {"constrained", req.constrain}}},
            {"tempo_bpm", bpm},
            {"program", program},
            {"drums", drums},
            {"tokens", tokens},
            {"stop_reason", sampled.stop_reason},
            {"context", model.spec().context_length},
            {"window_shifts", sampled.window_shifts},
            {"notes", stats.notes},
            {"repairs",
             {{"orphan_note_offs", stats.orphan_note_offs},
              {"stuck_notes", stats.stuck_notes},
              {"same_step_restrikes", restrikes},
              {"ignored", stats.ignored}}},
            {"length_seconds", score.length_seconds()},
            {"render", render},
            {"timings_seconds", {{"sampling", sampling_seconds}, {"total", since(t_start)}}}};
  SONIFY_TRY(set.write(".json", j.dump(2) + "\n"));
  run.tokens += tokens;
  run.notes += stats.notes;
  run.window_shifts += sampled.window_shifts;
  run.repairs += stats.orphan_note_offs + stats.stuck_notes + stats.ignored + restrikes;
  run.length_seconds += score.length_seconds();
  run.sampling_seconds += sampling_seconds;
  return {};
}

}  // namespace

Result<SampleRun> run_sample(const SampleRequest& req) {
  if (!(req.seconds > 0 && req.seconds <= 600))
    return fail("--seconds must be in (0, 600], not ", req.seconds);
  if (!(req.temperature >= 0 && req.temperature <= 100))
    return fail("--temperature must be in [0, 100], not ", req.temperature);
  if (req.top_k < 0) return fail("--top-k must be >= 0, not ", req.top_k);
  if (req.count < 1 || req.count > 10000) return fail("--count must be in [1, 10000], not ", req.count);
  fs::path dir;
  SONIFY_ASSIGN_OR_RETURN(tokenizer, model_midi_tokenizer(req.model_path, &dir));
  SONIFY_ASSIGN_OR_RETURN(model, Model::open(req.model_path));
  if (model.spec().vocab_size < tokenizer.vocab_size())
    return fail(req.model_path, ": the model has ", model.spec().vocab_size,
                " token embeddings, fewer than the ", tokenizer.vocab_size(), " tokens of ",
                kMidiTokenizerFile);
  const pipeline::MidiCorpusPlayback playback = pipeline::midi_corpus_playback(req.model_path);
  std::vector<OutputSet> sets;
  for (int k = 0; k < req.count; ++k) {
    const std::string name = req.count == 1 ? req.name : req.name + "-" + std::to_string(req.seed + k);
    SONIFY_ASSIGN_OR_RETURN(set, OutputSet::open(req.out_dir, name));
    sets.push_back(std::move(set));
  }

  RuntimeOptions runtime_options;
  runtime_options.threads = req.threads;
  SONIFY_ASSIGN_OR_RETURN(runtime, runtime_open(model, runtime_options));
  SampleRun run;
  for (int k = 0; k < req.count; ++k)
    SONIFY_TRY(sample_piece(*runtime, tokenizer, model, req, req.seed + static_cast<std::uint64_t>(k),
                            playback, sets[static_cast<std::size_t>(k)], run));
  for (OutputSet& set : sets) {
    SONIFY_TRY(set.commit({".wav"}));
    run.files.push_back(set.final_path(".mid"));
    if (!req.midi_only) run.files.push_back(set.final_path(".wav"));
    run.files.push_back(set.final_path(".json"));
  }
  return run;
}

}  // namespace sonify
