// `sonify prompt --midi-prompt FILE.mid` for MIDI event models (a model directory with
// midi_tokenizer.json, from `sonify train --midi`): the MIDI becomes the model's event tokens
// (BOS first, as training and sampling have it), and those tokens make the track as a text
// prompt's do. A word of such a prompt is one onset moment of the piece, and lasts as long
// as that moment does in the MIDI. The reference PCA of a MIDI model is fitted on what
// the model itself plays from BOS, as it has no text corpus.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pipeline/activation_session.h"
#include "sonify/activation.h"
#include "sonify/midi_tokens.h"
#include "sonify/pipeline_prompt.h"
#include "sonify/runtime.h"

namespace sonify::pipeline {

// True when the model (a directory, or a file in one) has midi_tokenizer.json.
bool is_midi_model(const std::string& model_path);

// The model's midi_tokenizer.json.
Result<MidiTokenizer> midi_model_tokenizer(const std::string& model_path);

// How the model's corpus was played (training.json's "midi" block): its median tempo, its
// most used program, and whether it was a drum kit; 120 BPM and a piano where it says
// nothing.
struct MidiCorpusPlayback {
  double bpm = 120;
  int program = 0;
  bool drums = false;
};
MidiCorpusPlayback midi_corpus_playback(const std::string& model_path);

// Refuses, in one line, a MIDI event model without `midi_prompt` and a text model with it.
Status check_model_kind(const std::string& model_path, bool midi_prompt);

// Refuses, in one line, a prompt of the wrong kind for the model (text or --ids for a MIDI
// model, --midi-prompt for a text model, both at once) and the options a MIDI prompt
// cannot use (a direct style, --direction, --corpus).
Status check_prompt_kind(const PromptRequest& request);

// A MIDI prompt file: what the provenance records, and its tokens.
struct MidiPromptSource {
  MidiPromptRecord record;
  std::vector<int> ids;  // BOS (unless no_bos) and the events; no EOS
  std::string stem;      // the file name without its extension
};

// Reads and tokenizes the MIDI file; for a drum model (`drum_kit`), its drums are the notes,
// as in training. A missing or unreadable file, one that is not MIDI and one without notes
// the tokenizer keeps are one-line errors.
Result<MidiPromptSource> midi_prompt_read(const std::string& path, const MidiTokenizer& tokenizer,
                                          const PromptOptions& flags, bool drum_kit);

// The source's ids as a prompt: checked against the model's vocabulary and context like a
// text prompt's (over-long: an error, or the first context tokens with --truncate), the
// token names as pieces and a text of them with one word per onset moment (a grid step
// where a note starts, through the steps that only release notes, up to the next onset).
Result<PromptTokens> midi_prompt_tokens(const MidiPromptSource& source, const MidiTokenizer& tokenizer,
                                        const PromptOptions& flags, int vocab_size, int context_length);

// How long each word of a MIDI prompt lasts in beats: the sum of its time shifts, so the
// track keeps the prompt's rhythm. The last word, which no shift ends, gets one beat; a word
// before the first onset (a rest at the start) keeps its shifts.
std::vector<double> midi_word_beats(const std::vector<WordSpan>& words, const PromptTokens& tokens);

// What the reference PCA of a MIDI model runs through it: kReferenceSamples sequences the
// model samples from BOS (seeds 0.., temperature 1, the whole vocabulary), each
// options.max_tokens long. `hash` names them for the PCA cache.
Result<std::vector<ReferenceSequence>> midi_reference_sequences(Runtime& runtime,
                                                                const MidiTokenizer& tokenizer,
                                                                const ReferenceOptions& options,
                                                                std::string* hash);

}  // namespace sonify::pipeline
