#include "activation_run.h"

#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "core/atomic_file.h"
#include "sonify/analysis.h"
#include "sonify/midi.h"

namespace sonify::cli {
namespace {

Result<std::vector<int>> parse_int_list(const std::string& text, const char* what) {
  std::vector<int> out;
  std::string item;
  std::string list = text + ",";
  for (char c : list) {
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

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string model_stem(const std::string& path) {
  std::filesystem::path p(path);
  if (p.filename().empty()) p = p.parent_path();
  std::string s = p.filename().string();
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '_';
  return s;
}

}  // namespace

void add_activation_options(CLI::App* cmd, ActivationOptions* o) {
  add_model_option(cmd, &o->model);
  cmd->add_option(
         "--style", o->style,
         "Composition: voices (PCA voices over a drone) or markov (Markov/LSTM lead, celesta, organ)")
      ->check(CLI::IsMember({"voices", "markov"}))
      ->capture_default_str();
  cmd->add_option("--direction", o->direction,
                  "Contrast pair file (JSON, A versus B) whose direction measures tension, e.g. "
                  "configs/contrast/calm-tense.json");
  cmd->add_option(
         "--direction-method", o->direction_method,
         "Contrast direction: mean (difference of the pair means) or pc1 (first principal component of the "
         "pair differences)")
      ->check(CLI::IsMember({"mean", "pc1"}))
      ->capture_default_str();
  cmd->add_option("--corpus", o->corpus, "Reference corpus for the PCA (default: data/corpus/sentences.txt)");
  cmd->add_option(
      "--layers", o->layers,
      "Hidden states the three voices follow, e.g. 1,6,12 (0 = embeddings; default: early, middle, last)");
  cmd->add_option("--programs", o->programs, "GM programs (0-based) of the voices (default 73,71,48)");
  cmd->add_option("--pca-sentences", o->pca_sentences, "Reference sentences for the PCA")
      ->check(CLI::Range(2, 100000))
      ->capture_default_str();
  cmd->add_option("--pca-stride", o->pca_stride, "Take every N-th corpus sentence")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cmd->add_option("--threads", o->threads, "Compute threads of the model (0: all cores)")
      ->check(CLI::Range(0, 256));
  cmd->add_option("--seed", o->seed, "Seed (recorded; the voices style has no free choice)");
  cmd->add_flag("--no-cache", o->no_cache, "Fit the PCA and direction again and do not store them");
  cmd->add_flag("--midi-only", o->midi_only, "Write MIDI and JSON, skip the WAV");
  cmd->add_flag("--replace-invalid", o->replace_invalid, "Replace invalid UTF-8 bytes instead of failing");
}

Result<std::unique_ptr<ActivationSession>> activation_open(const ActivationOptions& options) {
  auto s = std::make_unique<ActivationSession>();
  s->options = options;
  SONIFY_ASSIGN_OR_RETURN(path, model_path_or_default(options.model));
  s->model_path = path;
  SONIFY_ASSIGN_OR_RETURN(model, Model::open(path));
  s->model = std::make_unique<Model>(std::move(model));
  auto tokenizer = Tokenizer::from_model_path(path);
  if (!tokenizer.ok()) return tokenizer.error();
  s->tokenizer = std::move(tokenizer).value();
  const ModelSpec& spec = s->model->spec();

  // Voices.
  s->voices = default_voices(spec.n_layers);
  if (!options.layers.empty()) {
    SONIFY_ASSIGN_OR_RETURN(layers, parse_int_list(options.layers, "--layers"));
    if (layers.size() != s->voices.size())
      return fail("--layers: give ", s->voices.size(), " hidden-state indices");
    for (std::size_t i = 0; i < layers.size(); ++i) {
      if (layers[i] < 0 || layers[i] > spec.n_layers)
        return fail("--layers: hidden state ", layers[i], " does not exist (the model has 0..", spec.n_layers,
                    ")");
      s->voices[i].state = layers[i];
    }
  }
  if (!options.programs.empty()) {
    SONIFY_ASSIGN_OR_RETURN(programs, parse_int_list(options.programs, "--programs"));
    if (programs.size() != s->voices.size())
      return fail("--programs: give ", s->voices.size(), " GM programs");
    for (std::size_t i = 0; i < programs.size(); ++i) {
      if (programs[i] < 0 || programs[i] > 127) return fail("--programs: ", programs[i], " is not in 0..127");
      s->voices[i].program = programs[i];
    }
  }

  // Key from the weights (cached analysis).
  {
    AnalyzeOptions analyze;
    analyze.threads = options.threads;
    bool from_cache = false;
    auto features = options.no_cache ? analyze_weights(*s->model, analyze)
                                     : analyze_weights_cached(*s->model, analyze, &from_cache);
    if (!features.ok()) return features.error();
    s->root_midi = features->tonality.root_midi;
    s->mode = features->tonality.mode;
    s->key_source = "weights (" + features->tonality.source + ")";
  }

  RuntimeOptions runtime_options;
  runtime_options.threads = options.threads;
  SONIFY_ASSIGN_OR_RETURN(runtime, runtime_open(*s->model, runtime_options));
  s->runtime = std::move(runtime);

  // Reference PCA, cached per model identity, corpus hash, subset and states.
  const std::string corpus_path =
      options.corpus.empty() ? data_dir() + "/corpus/sentences.txt" : options.corpus;
  std::string corpus_hash;
  SONIFY_ASSIGN_OR_RETURN(corpus, read_corpus(corpus_path, &corpus_hash));
  ReferenceOptions ref;
  ref.max_sentences = options.pca_sentences;
  ref.stride = options.pca_stride;
  std::vector<int> states;
  for (const VoiceSpec& v : s->voices) states.push_back(v.state);
  std::sort(states.begin(), states.end());
  states.erase(std::unique(states.begin(), states.end()), states.end());
  std::string cache_base;
  if (!options.no_cache) {
    SONIFY_ASSIGN_OR_RETURN(dir, cache_dir());
    SONIFY_ASSIGN_OR_RETURN(id, checkpoint_identity(*s->model));
    cache_base = dir + "/activation/" + model_stem(path) + "-" + id;
    std::error_code ec;
    std::filesystem::create_directories(dir + "/activation", ec);
    std::string st;
    for (int x : states) st += (st.empty() ? "" : "_") + std::to_string(x);
    s->pca_cache = cache_base + "-pca-" + corpus_hash + "-n" + std::to_string(ref.max_sentences) + "-s" +
                   std::to_string(ref.stride) + "-k" + std::to_string(ref.components) + "-t" +
                   std::to_string(ref.max_tokens) + "-states" + st + ".json";
    const std::string text = read_text(s->pca_cache);
    if (!text.empty()) {
      auto cached = reference_pca_from_json(text, s->pca_cache);
      if (cached.ok() && cached->corpus_hash == corpus_hash) {
        s->pca = std::move(cached).value();
        s->pca_from_cache = true;
      }
    }
  }
  if (!s->pca_from_cache) {
    SONIFY_ASSIGN_OR_RETURN(pca,
                            reference_pca_fit(*s->runtime, *s->tokenizer, corpus, corpus_hash, ref, states));
    s->pca = std::move(pca);
    if (!s->pca_cache.empty()) SONIFY_TRY(write_file_atomic(s->pca_cache, reference_pca_to_json(s->pca)));
  }

  if (!options.direction.empty()) {
    SONIFY_ASSIGN_OR_RETURN(set, contrast_set_read(options.direction));
    s->direction_path =
        cache_base.empty() ? ""
                           : cache_base + "-direction-" + options.direction_method + "-" + set.hash + ".json";
    if (!s->direction_path.empty()) {
      const std::string text = read_text(s->direction_path);
      if (!text.empty()) {
        auto cached = contrast_direction_from_json(text, s->direction_path);
        if (cached.ok() && cached->set_hash == set.hash && cached->method == options.direction_method) {
          s->direction = std::move(cached).value();
          s->direction_from_cache = true;
        }
      }
    }
    if (!s->direction) {
      SONIFY_ASSIGN_OR_RETURN(
          d, contrast_direction_fit(*s->runtime, *s->tokenizer, set, options.direction_method));
      if (!s->direction_path.empty())
        SONIFY_TRY(write_file_atomic(s->direction_path, contrast_direction_to_json(d)));
      s->direction = std::move(d);
    }
  }
  return s;
}

Result<TrackResult> activation_compose(ActivationSession& s, const std::string& text,
                                       const TrackSettings& settings) {
  EncodeOptions encode;
  encode.replace_invalid = s.options.replace_invalid;
  SONIFY_ASSIGN_OR_RETURN(enc, s.tokenizer->encode(text, encode));
  if (enc.ids.empty()) return fail("the prompt is empty");
  std::vector<std::int64_t> ids(enc.ids.begin(), enc.ids.end());
  SONIFY_TRY(runtime_check_ids(s.model->spec(), ids));
  const std::vector<WordSpan> words = group_words(text, enc.offsets, enc.special);
  if (words.empty()) return fail("the prompt has no words (only spaces or special tokens)");
  const bool markov = s.options.style == "markov";
  SONIFY_ASSIGN_OR_RETURN(trace,
                          s.runtime->forward(ids, markov ? markov_request() : hidden_states_request()));
  SONIFY_ASSIGN_OR_RETURN(h, hidden_states_from_trace(trace));

  TrackResult r;
  r.root_midi = settings.root_midi.value_or(s.root_midi);
  r.mode = settings.mode.value_or(s.mode);
  r.bpm = settings.bpm.value_or(84.0);
  if (s.direction) r.tension = contrast_tension(*s.direction, h, enc.special);
  SONIFY_ASSIGN_OR_RETURN(mode, mode_from_name(r.mode));
  VoicesOptions vo;
  vo.root_midi = r.root_midi;
  vo.mode = mode;
  vo.bpm = r.bpm;
  vo.voices = s.voices;
  vo.title = text.substr(0, 120);
  if (markov) {
    SONIFY_ASSIGN_OR_RETURN(input, markov_input_from_trace(trace, s.direction ? &*s.direction : nullptr));
    MarkovOptions mo;
    mo.root_midi = r.root_midi;
    mo.mode = mode;
    mo.bpm = r.bpm;
    mo.seed = s.options.seed;
    mo.title = vo.title;
    SONIFY_ASSIGN_OR_RETURN(track, compose_markov(input, ids, words, mo));
    r.track = std::move(track);
  } else {
    SONIFY_ASSIGN_OR_RETURN(track, compose_voices(h, ids, words, s.pca, vo));
    r.track = std::move(track);
  }
  r.timing_json = timing_to_json(r.track);

  nlohmann::ordered_json j;
  j["prompt"] = text;
  j["model"] = s.model_path;
  j["style"] = s.options.style;
  j["seed"] = s.options.seed;
  j["token_ids"] = ids;
  j["pieces"] = enc.pieces;
  j["words"] = r.track.words.size();
  nlohmann::ordered_json voices = nlohmann::ordered_json::array();
  for (const VoiceSpec& v : s.voices) {
    const Pca& p = s.pca.states[static_cast<std::size_t>(v.state)];
    voices.push_back({{"name", v.name},
                      {"program", v.program},
                      {"hidden_state", v.state},
                      {"layer", v.state == 0 ? "embeddings" : "block " + std::to_string(v.state - 1)},
                      {"range", {v.lo, v.hi}},
                      {"components", {"pitch", "velocity", "articulation"}},
                      {"explained_variance_ratio", p.explained_variance_ratio}});
  }
  if (markov) {
    const int nl = s.model->spec().n_layers;
    j["markov"] = {{"lead_hidden_state", std::max(1, nl / 2)},
                   {"attention_layer", std::max(0, nl / 2 - (nl > 1 ? 1 : 0))},
                   {"mlp_layer", std::max(0, nl / 3)},
                   {"programs", {{"lead", 81}, {"celesta", 8}, {"organ", 19}}}};
  } else {
    j["voices"] = voices;
  }
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
              {"source", settings.root_midi ? "group" : s.key_source}};
  j["tempo_bpm"] = r.bpm;
  if (s.direction) {
    j["direction"] = {{"file", s.options.direction},         {"name", s.direction->name},
                      {"method", s.direction->method},       {"hidden_states", s.direction->states},
                      {"explained", s.direction->explained}, {"tension", r.tension}};
  } else {
    j["direction"] = nullptr;
  }
  j["duration_seconds"] = r.track.score.length_seconds();
  r.provenance_json = j.dump(1);
  return r;
}

Status activation_write(const TrackResult& result, const std::string& dir, const std::string& name,
                        bool midi_only, int render_threads) {
  const std::string base = dir + "/" + name;
  SONIFY_TRY(midi_write(result.track.score, base + ".mid"));
  if (!midi_only) {
    RenderOptions render;
    render.synth.threads = render_threads;
    auto r = render_wav(result.track.score, render, base + ".wav");
    if (!r.ok()) return r.error();
  }
  SONIFY_TRY(write_file_atomic(base + ".timing.json", result.timing_json + "\n"));
  SONIFY_TRY(write_file_atomic(base + ".json", result.provenance_json + "\n"));
  return {};
}

std::string prompt_slug(const std::string& text) {
  std::string out;
  int words = 0;
  bool gap = false;
  for (unsigned char c : text) {
    if (std::isalnum(c)) {
      if (gap && !out.empty()) {
        if (++words >= 6) break;
        out += '-';
      }
      gap = false;
      out += static_cast<char>(std::tolower(c));
    } else {
      gap = true;
    }
  }
  return out.empty() ? "prompt" : out;
}

}  // namespace sonify::cli
