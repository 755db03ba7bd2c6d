#include "pipeline/activation_session.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/output_set.h"
#include "core/text_file.h"
#include "pipeline/prompt_midi.h"
#include "sonify/analysis.h"
#include "sonify/midi.h"
#include "sonify/pipeline_train.h"
#include "sonify/render.h"

namespace sonify::pipeline {
namespace {

Result<std::vector<int>> parse_int_list(const std::string& text, const char* what) {
  std::vector<int> out;
  std::string item;
  for (char c : text + ",") {
    if (c != ',') {
      item += c;
      continue;
    }
    char* end = nullptr;
    const long v = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || end == nullptr || *end != '\0') return fail(what, ": '", item, "' is not a number");
    out.push_back(static_cast<int>(v));
    item.clear();
  }
  return out;
}

std::string model_stem(const std::string& path) {
  std::filesystem::path p(path);
  if (p.filename().empty()) p = p.parent_path();
  std::string s = p.filename().string();
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '_';
  return s;
}

// A cache file's text, or "" when it is missing or unreadable (then the value is fitted again).
std::string read_cache(const std::string& path) {
  auto text = read_text(path);
  return text.ok() ? *text : std::string();
}

Status apply_voice_options(const ActivationRequest& r, int n_layers, std::vector<VoiceSpec>* voices) {
  if (!r.layers.empty()) {
    SONIFY_ASSIGN_OR_RETURN(layers, parse_int_list(r.layers, "--layers"));
    if (layers.size() != voices->size())
      return fail("--layers: give ", voices->size(), " hidden-state indices");
    for (std::size_t i = 0; i < layers.size(); ++i) {
      if (layers[i] < 0 || layers[i] > n_layers)
        return fail("--layers: hidden state ", layers[i], " does not exist (the model has 0..", n_layers,
                    ")");
      (*voices)[i].state = layers[i];
    }
  }
  if (!r.programs.empty()) {
    SONIFY_ASSIGN_OR_RETURN(programs, parse_int_list(r.programs, "--programs"));
    if (programs.size() != voices->size()) return fail("--programs: give ", voices->size(), " GM programs");
    for (std::size_t i = 0; i < programs.size(); ++i) {
      if (programs[i] < 0 || programs[i] > 127) return fail("--programs: ", programs[i], " is not in 0..127");
      (*voices)[i].program = programs[i];
    }
  }
  return Status::Ok();
}

// Reference PCA, cached per model identity, corpus hash, subset and states.
Status open_pca(ActivationSession* s, const std::string& cache_base) {
  const ActivationRequest& r = s->request;
  ReferenceOptions ref;
  ref.max_sentences = r.pca_sentences;
  ref.stride = r.pca_stride;
  std::vector<int> states;
  for (const VoiceSpec& v : s->voices) states.push_back(v.state);
  std::sort(states.begin(), states.end());
  states.erase(std::unique(states.begin(), states.end()), states.end());
  // A MIDI model has no text corpus: its reference is what it plays from BOS.
  std::string corpus_hash;
  std::vector<std::string> corpus;
  std::vector<ReferenceSequence> sequences;
  if (s->midi) {
    SONIFY_ASSIGN_OR_RETURN(seqs, midi_reference_sequences(*s->runtime, *s->midi, ref, &corpus_hash));
    sequences = std::move(seqs);
  } else {
    const std::string corpus_path = r.corpus.empty() ? r.data_dir + "/corpus/sentences.txt" : r.corpus;
    SONIFY_ASSIGN_OR_RETURN(text, read_corpus(corpus_path, &corpus_hash));
    corpus = std::move(text);
  }
  if (!cache_base.empty()) {
    std::string st;
    for (int x : states) st += (st.empty() ? "" : "_") + std::to_string(x);
    s->pca_cache = cache_base + "-pca2-" + corpus_hash + "-n" + std::to_string(ref.max_sentences) + "-s" +
                   std::to_string(ref.stride) + "-k" + std::to_string(ref.components) + "-t" +
                   std::to_string(ref.max_tokens) + "-states" + st + ".json";
    const std::string text = read_cache(s->pca_cache);
    if (!text.empty()) {
      auto cached = reference_pca_from_json(text, s->pca_cache);
      if (cached.ok() && cached->corpus_hash == corpus_hash) {
        s->pca = std::move(cached).value();
        return Status::Ok();
      }
    }
  }
  auto pca = s->midi ? reference_pca_fit_ids(*s->runtime, sequences, corpus_hash, ref, states)
                     : reference_pca_fit(*s->runtime, *s->tokenizer, corpus, corpus_hash, ref, states);
  if (!pca.ok()) return pca.error();
  s->pca = std::move(pca).value();
  if (!s->pca_cache.empty())
    SONIFY_TRY(write_file_atomic(s->pca_cache, reference_pca_to_json(s->pca), Replace::Any));
  return Status::Ok();
}

// The contrast direction, cached per model, method and pair-file hash.
Status open_direction(ActivationSession* s, const std::string& cache_base) {
  const ActivationRequest& r = s->request;
  SONIFY_ASSIGN_OR_RETURN(set, contrast_set_read(r.direction));
  const std::string path =
      cache_base.empty() ? "" : cache_base + "-direction-" + r.direction_method + "-" + set.hash + ".json";
  if (!path.empty()) {
    const std::string text = read_cache(path);
    if (!text.empty()) {
      auto cached = contrast_direction_from_json(text, path);
      if (cached.ok() && cached->set_hash == set.hash && cached->method == r.direction_method) {
        s->direction = std::move(cached).value();
        return Status::Ok();
      }
    }
  }
  SONIFY_ASSIGN_OR_RETURN(d, contrast_direction_fit(*s->runtime, *s->tokenizer, set, r.direction_method));
  if (!path.empty()) SONIFY_TRY(write_file_atomic(path, contrast_direction_to_json(d)));
  s->direction = std::move(d);
  return Status::Ok();
}

nlohmann::ordered_json provenance(const ActivationSession& s, const PromptTokens& tokens,
                                  const std::vector<std::int64_t>& ids, const TrackResult& r,
                                  bool key_from_settings, const MidiPromptRecord* midi) {
  const ActivationRequest& q = s.request;
  nlohmann::ordered_json j;
  j["prompt"] = tokens.text;
  if (midi != nullptr)
    j["midi_prompt"] = {{"file", midi->path},
                        {"sha256", midi->sha256},
                        {"tokenizer", kMidiTokenizerFile},
                        {"notes", midi->notes},
                        {"tokens", ids.size()},
                        {"notes_out_of_range", midi->stats.out_of_range},
                        {"drum_notes_left", midi->stats.drum_notes_left},
                        {"notes_cut", midi->stats.truncated}};
  j["model"] = q.model_path;
  j["style"] = q.style;
  j["seed"] = q.seed;
  // A forward pass's last bits depend on how many threads split its products, so a run is
  // reproduced with the same count (SONIFY_THREADS or --threads).
  j["threads"] = s.runtime->threads();
  j["token_ids"] = ids;
  j["pieces"] = tokens.pieces;
  if (tokens.truncated_from > 0) j["truncated_from"] = tokens.truncated_from;
  j["words"] = r.track.words.size();
  if (q.style == "markov") {
    // The markov composer's own record of what each part follows.
    const TrackSource& lead = r.track.sources.at(0);
    nlohmann::ordered_json programs;
    for (const TrackSource& src : r.track.sources) programs[src.part] = src.program;
    j["markov"] = {{"lead_hidden_state", lead.hidden_state}, {"attention_layer", lead.layer}};
    for (const TrackSource& src : r.track.sources)
      if (src.part == "celesta") j["markov"]["mlp_layer"] = src.layer;
    j["markov"]["programs"] = programs;
  } else {
    nlohmann::ordered_json voices = nlohmann::ordered_json::array();
    for (const VoiceSpec& v : s.voices) {
      const Pca& p = s.pca.states[static_cast<std::size_t>(v.state)];
      voices.push_back({{"name", v.name},
                        {"program", r.track.sources.at(voices.size()).program},
                        {"hidden_state", v.state},
                        {"layer", v.state == 0 ? "embeddings" : "block " + std::to_string(v.state - 1)},
                        {"range", {v.lo, v.hi}},
                        {"components", {"pitch", "velocity", "articulation"}},
                        {"explained_variance_ratio", p.explained_variance_ratio}});
    }
    j["voices"] = voices;
  }
  nlohmann::ordered_json parts = nlohmann::ordered_json::array();
  for (const TrackSource& src : r.track.sources) {
    nlohmann::ordered_json part = {{"part", src.part}, {"program", src.program}};
    if (src.hidden_state >= 0) part["hidden_state"] = src.hidden_state;
    if (src.layer >= 0) part["layer"] = src.layer;
    part["statistic"] = src.statistic;
    parts.push_back(part);
  }
  j["parts"] = parts;
  j["pca"] = {{"corpus_hash", s.pca.corpus_hash},
              {"sentences", s.pca.sentences},
              {"stride", s.pca.options.stride},
              {"max_sentences", s.pca.options.max_sentences},
              {"samples", s.pca.samples},
              {"components", s.pca.options.components},
              {"cache", s.pca_cache}};
  j["key"] = {{"root_midi", r.root_midi},
              {"root", pitch_name(r.root_midi)},
              {"mode", r.mode},
              {"source", key_from_settings ? "group" : s.key_source}};
  j["key"]["mode_source"] = r.mode_source;
  j["tempo_bpm"] = r.bpm;
  // What follows the prompt's activations, each with its statistic.
  nlohmann::ordered_json follows = {
      {"tempo",
       {{"statistic",
         "motion: mean step between consecutive tokens' standardised PCA "
         "coordinates / 2.257 (unrelated tokens = 1); tempo 60 + 60 (motion - 0.5), 60..132"},
        {"value", r.motion},
        {"source", r.tempo_source}}}};
  if (s.direction) {
    follows["mode"] = {{"statistic",
                        "contrast tension level clamp(0.5 + 0.75 t): < 0.25 major, < 0.5 "
                        "mixolydian, < 0.75 natural_minor, else phrygian"},
                       {"value", tension_level(r.tension)},
                       {"source", r.mode_source}};
    follows["density"] = {
        {"statistic", q.style == "markov" ? "contrast tension level: organ chord pulses per word slot"
                                          : "contrast tension level: drone pulses per bar (1, 2, 4, 8)"},
        {"value", tension_level(r.tension)}};
    follows["loudness"] = {{"statistic", "contrast tension level: base velocity of every part"},
                           {"value", tension_level(r.tension)}};
  }
  j["follows"] = follows;
  if (s.direction) {
    j["direction"] = {{"file", q.direction},
                      {"name", s.direction->name},
                      {"method", s.direction->method},
                      {"hidden_states", s.direction->states},
                      {"explained", s.direction->explained},
                      {"tension", r.tension}};
  } else {
    j["direction"] = nullptr;
  }
  j["duration_seconds"] = r.track.score.length_seconds();
  return j;
}

}  // namespace

void default_direction(ActivationRequest* request) {
  if (!request->direction.empty()) return;
  const std::string bundled = request->data_dir + "/../configs/contrast/calm-tense.json";
  std::error_code ec;
  if (std::filesystem::exists(bundled, ec)) request->direction = bundled;
}

Result<std::unique_ptr<ActivationSession>> activation_open(const ActivationRequest& request,
                                                           bool midi_prompt) {
  if (request.style != "voices" && request.style != "markov")
    return fail("--style ", request.style, ": expected voices or markov");
  if (request.direction_method != "mean" && request.direction_method != "pc1")
    return fail("--direction-method ", request.direction_method, ": expected mean or pc1");
  auto s = std::make_unique<ActivationSession>();
  s->request = request;
  SONIFY_ASSIGN_OR_RETURN(model, Model::open(request.model_path));
  s->model = std::make_unique<Model>(std::move(model));
  SONIFY_TRY(check_model_kind(request.model_path, midi_prompt));
  if (midi_prompt) {
    SONIFY_ASSIGN_OR_RETURN(midi, midi_model_tokenizer(request.model_path));
    s->midi = std::move(midi);
  } else {
    SONIFY_ASSIGN_OR_RETURN(tokenizer, Tokenizer::from_model_path(request.model_path));
    s->tokenizer = std::move(tokenizer);
  }
  s->voices = default_voices(s->model->spec().n_layers);
  SONIFY_TRY(apply_voice_options(request, s->model->spec().n_layers, &s->voices));

  // The key comes from the weights (cached analysis).
  AnalyzeOptions analyze;
  analyze.threads = request.threads;
  bool from_cache = false;
  auto features = request.no_cache ? analyze_weights(*s->model, analyze)
                                   : analyze_weights_cached(*s->model, analyze, &from_cache);
  if (!features.ok()) return features.error();
  s->root_midi = features->tonality.root_midi;
  s->mode = features->tonality.mode;
  s->key_source = "weights (" + features->tonality.source + ")";

  RuntimeOptions runtime_options;
  runtime_options.threads = request.threads;
  SONIFY_ASSIGN_OR_RETURN(runtime, runtime_open(*s->model, runtime_options));
  s->runtime = std::move(runtime);

  std::string cache_base;
  if (!request.no_cache) {
    SONIFY_ASSIGN_OR_RETURN(dir, cache_dir());
    SONIFY_ASSIGN_OR_RETURN(id, checkpoint_identity(*s->model));
    cache_base = dir + "/activation/" + model_stem(request.model_path) + "-" + id;
    std::error_code ec;
    std::filesystem::create_directories(dir + "/activation", ec);
  }
  SONIFY_TRY(open_pca(s.get(), cache_base));
  if (!request.direction.empty()) SONIFY_TRY(open_direction(s.get(), cache_base));
  return s;
}

PromptOptions prompt_of_text(const ActivationRequest& request, const std::string& text) {
  PromptOptions p = request.prompt;
  p.text = text;
  p.ids.clear();
  p.have_text = true;
  p.have_ids = false;
  return p;
}

Result<TrackResult> activation_compose(ActivationSession& s, const PromptOptions& prompt,
                                       const TrackSettings& settings) {
  const ModelSpec& spec = s.model->spec();
  SONIFY_ASSIGN_OR_RETURN(tokens, prompt_tokens(prompt, &*s.tokenizer, spec.vocab_size, spec.context_length));
  if (!tokens.from_text) prompt_text_from_ids(*s.tokenizer, &tokens);
  return activation_compose_tokens(s, std::move(tokens), settings, nullptr);
}

Result<TrackResult> activation_compose_tokens(ActivationSession& s, PromptTokens tokens,
                                              const TrackSettings& settings, const MidiPromptRecord* midi) {
  const ModelSpec& spec = s.model->spec();
  std::vector<std::int64_t> ids(tokens.ids.begin(), tokens.ids.end());
  SONIFY_TRY(runtime_check_ids(spec, ids));
  const std::vector<WordSpan> words = group_words(tokens.text, tokens.offsets, tokens.special);
  if (words.empty()) return fail("the prompt has no words (only spaces or special tokens)");
  const bool markov = s.request.style == "markov";
  SONIFY_ASSIGN_OR_RETURN(trace,
                          s.runtime->forward(ids, markov ? markov_request() : hidden_states_request()));
  SONIFY_ASSIGN_OR_RETURN(h, hidden_states_from_trace(trace));

  TrackResult r;
  r.text = tokens.text;
  r.notes = tokens.notes;
  r.root_midi = settings.root_midi.value_or(s.root_midi);
  // The prompt chooses mode and tempo unless the caller did: the mode from its tension
  // (calm bright, tense dark), the tempo from how far its states move between tokens.
  r.motion = prompt_motion(h, s.pca, s.voices, default_skip(tokens.special, h.tokens));
  if (s.direction) r.tension = contrast_tension(*s.direction, h, tokens.special);
  r.mode = settings.mode.value_or(s.direction ? std::string(mode_name(mode_for_tension(r.tension))) : s.mode);
  r.mode_source = settings.mode ? "given" : s.direction ? "contrast tension" : s.key_source;
  r.bpm = settings.bpm.value_or(tempo_for_motion(r.motion));
  r.tempo_source = settings.bpm ? "given" : "motion";
  SONIFY_ASSIGN_OR_RETURN(mode, mode_from_name(r.mode));
  const std::string title = tokens.text.substr(0, 120);
  if (markov) {
    SONIFY_ASSIGN_OR_RETURN(input, markov_input_from_trace(trace, s.direction ? &*s.direction : nullptr));
    // The pull comes from the reference PCA of the lead state, or of the fitted state
    // nearest to it (the PCA is fitted for the voices' states).
    int pull_state = -1;
    for (const VoiceSpec& v : s.voices)
      if (pull_state < 0 || std::abs(v.state - input.lead_state) < std::abs(pull_state - input.lead_state))
        pull_state = v.state;
    for (int t = 0; pull_state >= 0 && t < h.tokens; ++t)
      input.pull.push_back(reference_project(s.pca, pull_state, t, h.row(pull_state, t))[0]);
    MarkovOptions mo;
    mo.root_midi = r.root_midi;
    mo.mode = mode;
    mo.bpm = r.bpm;
    mo.seed = s.request.seed;
    mo.title = title;
    if (s.direction) mo.tension = r.tension;
    if (midi != nullptr) mo.word_beats = midi_word_beats(words, tokens);
    SONIFY_ASSIGN_OR_RETURN(track, compose_markov(input, ids, words, mo));
    r.track = std::move(track);
  } else {
    VoicesOptions vo;
    vo.root_midi = r.root_midi;
    vo.mode = mode;
    vo.bpm = r.bpm;
    vo.voices = s.voices;
    vo.title = title;
    if (s.direction) vo.tension = r.tension;
    vo.palette = s.request.programs.empty();
    if (midi != nullptr) vo.word_beats = midi_word_beats(words, tokens);
    SONIFY_ASSIGN_OR_RETURN(track, compose_voices(h, ids, words, s.pca, vo));
    r.track = std::move(track);
  }
  // A word's tension is its last token's, as its notes come from the last token.
  if (s.direction && r.track.words.size() == words.size()) {
    const std::vector<double> per_token = contrast_token_tension(*s.direction, h);
    for (std::size_t i = 0; i < words.size(); ++i)
      r.track.words[i].tension = per_token.at(words[i].tokens.back());
  }
  r.timing_json = timing_to_json(r.track);
  // Invalid bytes of a --replace-invalid prompt become U+FFFD: JSON must be UTF-8.
  r.provenance_json = provenance(s, tokens, ids, r, settings.root_midi.has_value(), midi)
                          .dump(1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  return r;
}

Status activation_write(const TrackResult& result, const std::string& dir, const std::string& name,
                        bool midi_only, int render_threads) {
  SONIFY_ASSIGN_OR_RETURN(set, OutputSet::open(dir, name));
  SONIFY_TRY(midi_write(result.track.score, set.temp_path(".mid")));
  if (!midi_only) {
    RenderOptions render;
    render.synth.threads = render_threads;
    auto wav = render_wav(result.track.score, render, set.temp_path(".wav"));
    if (!wav.ok()) return wav.error();
  }
  SONIFY_TRY(set.write(".timing.json", result.timing_json + "\n"));
  SONIFY_TRY(set.write(".json", result.provenance_json + "\n"));
  // A WAV left by an earlier run would not match a --midi-only track.
  return set.commit(midi_only ? std::vector<std::string>{".wav"} : std::vector<std::string>{});
}

}  // namespace sonify::pipeline
