// The prompt track as one library call: a prompt runs through the model once and its
// hidden states become a track (voices or markov style), written as OUT/NAME.mid,
// .wav, .json (provenance) and .timing.json (word times), all or none. The reference
// PCA and the contrast direction are fitted once per model and cached under
// $XDG_CACHE_HOME/sonify/activation. Implemented in src/pipeline (sonify_pipeline).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "sonify/pipeline_tokens.h"
#include "sonify/result.h"

namespace sonify {

// What prompt and album share: the model, how tracks are composed, the caches.
struct ActivationRequest {
  std::string model_path;                 // a model directory or .safetensors file (with a tokenizer.json)
  std::string data_dir;                   // bundled data: corpus/sentences.txt, ../configs/contrast/
  std::string style = "voices";           // voices or markov; prompt also: thinking, operatic, sines
  std::string direction;                  // contrast pair file, "" for none
  std::string direction_method = "mean";  // mean or pc1
  std::string corpus;                     // "" : DATA_DIR/corpus/sentences.txt
  std::string layers;                     // "a,b,c" hidden-state indices, "" : default_voices
  std::string programs;                   // "a,b,c" GM programs, "" : flute, clarinet, strings
  int pca_sentences = 512;
  int pca_stride = 15;
  int threads = 0;  // compute threads of the model (0: all cores)
  bool no_cache = false;
  bool midi_only = false;
  unsigned long long seed = 0;
  // replace_invalid, truncate and no_bos apply to every prompt; text/ids are the
  // prompt's own (prompt) or come from the list (album).
  PromptOptions prompt;
};

// One track from one prompt.
struct PromptRequest {
  // activation.prompt holds the text or the ids; activation.direction "" :
  // DATA_DIR/../configs/contrast/calm-tense.json when present (as for albums)
  ActivationRequest activation;
  std::string out_dir = ".";  // created when missing
  std::string name;           // file stem, "" : prompt_slug() of the text (of the MIDI file's name)
  // A MIDI file as the prompt of a MIDI event model (midi_tokenizer.json), instead of text or
  // ids: its event tokens, BOS first, make the track; a word is one grid step's events.
  std::string midi_prompt;
  std::string key;            // root pitch class ("D", "F#"), "" : detected from the weights
  std::string mode;           // mode name, "" : mode_for_tension (the weights' mode without a direction)
  std::optional<double> bpm;  // nullopt: tempo_for_motion of the prompt
  int render_threads = 0;     // synth threads (0: one per CPU; the audio does not depend on it)
  bool report = false;        // then also OUT/NAME.html, the track's page (sonify/report.h)
};

// What run_prompt wrote and chose.
struct PromptRun {
  std::string base;  // OUT/NAME: the files are base + .mid, .json, .timing.json (and .wav)
  std::size_t words = 0;
  double seconds = 0;
  int root_midi = 0;
  std::string mode;
  double bpm = 0;
  std::optional<double> tension;   // with a contrast direction
  std::string provenance_json;     // what OUT/NAME.json holds
  std::vector<std::string> notes;  // one-line notes for the user (prompt truncated, ...)
  std::vector<std::string> pages;  // with report: the page written
  bool direct = false;             // a direct style (thinking, operatic, sines): .wav, no .mid
};

// Opens the model, fits or reads the caches, composes and writes the track. Fails with
// one line and writes nothing on a bad option, prompt or model (a text prompt for a MIDI
// event model, a MIDI prompt for a text model, both kinds at once, a MIDI file that does
// not read or has no notes).
Result<PromptRun> run_prompt(const PromptRequest& request);

// A file name from the first words of a prompt ("once-upon-a-time").
std::string prompt_slug(const std::string& text);

}  // namespace sonify
