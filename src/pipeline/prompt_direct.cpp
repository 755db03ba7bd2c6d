#include "prompt_direct.h"

#include <nlohmann/json.hpp>

#include "core/output_set.h"
#include "sonify/activation.h"
#include "sonify/model.h"
#include "sonify/render.h"

namespace sonify::pipeline {

using nlohmann::json;

bool is_direct_style(const std::string& style) { return direct_style_from_name(style).ok(); }

std::vector<std::string> direct_unused_options(const ActivationRequest& q) {
  std::vector<std::string> unused;
  if (!q.direction.empty()) unused.push_back("--direction");
  if (q.direction_method != "mean") unused.push_back("--direction-method");
  if (!q.corpus.empty()) unused.push_back("--corpus");
  if (!q.layers.empty()) unused.push_back("--layers");
  if (!q.programs.empty()) unused.push_back("--programs");
  if (q.pca_sentences != ActivationRequest{}.pca_sentences) unused.push_back("--pca-sentences");
  if (q.pca_stride != ActivationRequest{}.pca_stride) unused.push_back("--pca-stride");
  return unused;
}

// Options of the composed styles mean nothing here; taking them silently would let a user
// believe they shaped the sound.
Status refuse_direct_options(const std::string& style, const std::vector<std::string>& unused) {
  if (unused.empty()) return Status::Ok();
  std::string list = unused[0];
  for (std::size_t i = 1; i < unused.size(); ++i) list += ", " + unused[i];
  return fail(list, ": the ", style, " style synthesises audio straight from the hidden states and takes ",
              unused.size() == 1 ? "no such option" : "none of these options",
              " (they shape the composed styles, voices and markov)");
}

Result<DirectInput> direct_forward(Runtime& runtime, const Model& model, const std::string& model_path,
                                   const PromptOptions& prompt_options) {
  SONIFY_ASSIGN_OR_RETURN(prompt, model_prompt(prompt_options, model_path, model));
  SONIFY_ASSIGN_OR_RETURN(trace, runtime.forward(prompt.ids, hidden_states_request()));
  SONIFY_ASSIGN_OR_RETURN(hidden, hidden_states_from_trace(trace));
  return DirectInput{std::move(prompt.tokens),
                     HiddenStack{hidden.states, hidden.tokens, hidden.width, std::move(hidden.values)}};
}

Result<DirectTrack> direct_render(const DirectInput& input, const ActivationRequest& q, const Model& model) {
  SONIFY_ASSIGN_OR_RETURN(style, direct_style_from_name(q.style));
  DirectOptions options;
  options.style = style;
  options.seed = q.seed;
  SONIFY_ASSIGN_OR_RETURN(synth, direct_synthesize(input.stack, options));
  MasterOptions master;
  master.loudness = true;
  SONIFY_ASSIGN_OR_RETURN(mastered, master_audio(synth.audio, master));

  json timing = json::array();
  for (std::size_t s = 0; s < synth.section_start_seconds.size(); ++s) {
    const std::string what = style == DirectStyle::Sines ? "token " + std::to_string(s)
                             : s == 0                    ? std::string("embedding")
                                                         : "after block " + std::to_string(s - 1);
    timing.push_back({{"section", what},
                      {"start", synth.section_start_seconds[s]},
                      {"end", synth.section_start_seconds[s] + synth.section_seconds}});
  }
  json j;
  j["style"] = q.style;
  j["model"] = {{"path", q.model_path}, {"family", family_name(model.spec().family)}};
  j["prompt"] = {{"text", input.tokens.text}, {"ids", input.tokens.ids}, {"pieces", input.tokens.pieces}};
  j["seed"] = q.seed;
  j["states"] = input.stack.states;
  j["section_seconds"] = synth.section_seconds;
  j["fade_seconds"] = synth.fade_seconds;
  j["partials"] = {{"frequency_hz", synth.partials.frequency_hz},
                   {"amplitude", synth.partials.amplitude},
                   {"phase", synth.partials.phase}};
  if (!synth.partials.dimensions.empty()) j["partials"]["dimensions"] = synth.partials.dimensions;
  j["render"] = {{"seconds", synth.audio.seconds()},
                 {"loudness_lufs", mastered.loudness_lufs},
                 {"peak_dbfs", mastered.peak_dbfs},
                 {"gain_db", mastered.gain_db},
                 {"limited", mastered.limited}};
  DirectTrack t;
  t.seconds = synth.audio.seconds();
  t.audio = std::move(synth.audio);
  t.json = j.dump(2);
  t.timing_json = json{{"sections", timing}}.dump(2);
  return t;
}

Status direct_commit(const DirectTrack& track, const std::string& dir, const std::string& name) {
  SONIFY_ASSIGN_OR_RETURN(set, OutputSet::open(dir, name));
  SONIFY_TRY(wav_write(set.temp_path(".wav"), track.audio, SampleFormat::s16));
  SONIFY_TRY(set.write(".timing.json", track.timing_json + "\n"));
  SONIFY_TRY(set.write(".json", track.json + "\n"));
  return set.commit({".mid"});
}

Result<PromptRun> run_prompt_direct(const PromptRequest& request) {
  const ActivationRequest& q = request.activation;
  SONIFY_TRY(direct_style_from_name(q.style));
  if (q.midi_only) return fail("--midi-only: the ", q.style, " style synthesises audio and writes no MIDI");
  std::vector<std::string> unused = direct_unused_options(q);
  if (!request.key.empty()) unused.push_back("--key");
  if (!request.mode.empty()) unused.push_back("--mode");
  if (request.bpm) unused.push_back("--tempo");
  if (request.report) unused.push_back("--report");
  SONIFY_TRY(refuse_direct_options(q.style, unused));
  SONIFY_TRY(ensure_output_dir(request.out_dir));
  SONIFY_ASSIGN_OR_RETURN(model, Model::open(q.model_path));
  RuntimeOptions runtime_options;
  runtime_options.threads = q.threads;
  SONIFY_ASSIGN_OR_RETURN(runtime, runtime_open(model, runtime_options));
  SONIFY_ASSIGN_OR_RETURN(input, direct_forward(*runtime, model, q.model_path, q.prompt));
  SONIFY_ASSIGN_OR_RETURN(track, direct_render(input, q, model));
  const std::string text = input.tokens.text;
  const std::string name = request.name.empty() ? prompt_slug(text.empty() ? "prompt" : text) : request.name;
  SONIFY_TRY(direct_commit(track, request.out_dir, name));

  PromptRun run;
  run.base = request.out_dir + "/" + name;
  run.words = input.tokens.ids.size();
  run.seconds = track.seconds;
  run.provenance_json = track.json;
  run.notes = input.tokens.notes;
  run.direct = true;
  return run;
}

}  // namespace sonify::pipeline
