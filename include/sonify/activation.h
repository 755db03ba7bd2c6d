// Activation tracks: a prompt's hidden states (from the runtime) turned into music.
// Words are found from the tokenizer's byte offsets; a PCA fitted once per model on a
// subset of the reference corpus maps each layer's activation space; a contrast
// direction (paired prompts, A versus B) measures tension. Plain values only: no
// torch, no Eigen. Implemented in src/activation (library sonify_activation).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sonify/activation_stats.h"
#include "sonify/result.h"
#include "sonify/runtime.h"
#include "sonify/scale.h"
#include "sonify/score.h"
#include "sonify/tokenizer.h"

namespace sonify {

// One word of the prompt: a maximal run of non-space bytes and the tokens touching it.
struct WordSpan {
  std::string text;
  ByteRange bytes;
  std::vector<std::size_t> tokens;  // indices into the prompt's tokens, ascending, never empty
};

// Groups tokens into words. A token belongs to every word its byte range overlaps;
// special tokens and tokens covering only spaces belong to none. Every word of `text`
// gets at least one token when the offsets cover the text (as tokenizers' do).
std::vector<WordSpan> group_words(std::string_view text, const std::vector<ByteRange>& offsets,
                                  const std::vector<bool>& special);

// Hidden states of one prompt: index 0 is the embedding output, index l the output of
// block l (1..n_layers), each [tokens, width], row-major.
struct HiddenStates {
  int states = 0;  // n_layers + 1
  int tokens = 0;
  int width = 0;
  std::vector<float> values;  // [states, tokens, width]
  const float* row(int state, int token) const {
    return values.data() + (static_cast<std::size_t>(state) * tokens + token) * width;
  }
};

// The capture a forward pass needs for hidden_states_from_trace (embed + resid_post).
CaptureRequest hidden_states_request();

// Collects the embedding and every block output of `trace`. Fails when they were not captured.
Result<HiddenStates> hidden_states_from_trace(const Trace& trace);

// Which corpus sentences the reference PCA runs through the model: every `stride`-th
// sentence (starting at the first) until `max_sentences` are taken.
struct ReferenceOptions {
  int max_sentences = 512;
  int stride = 15;  // 8,000 corpus sentences / 512 ≈ 15.6
  int components = 4;
  int max_tokens = 64;  // each sentence is cut after this many tokens
};

// Tokens a statistic leaves out: special tokens and position 0 (the attention sink), unless
// the prompt is one token.
std::vector<bool> default_skip(const std::vector<bool>& special, int tokens);

// Token-mean of state `state`'s rows over the tokens not in `skip` (over every token when
// `skip` leaves none).
std::vector<double> token_mean(const HiddenStates& h, int state, const std::vector<bool>& skip);

// A PCA per hidden state (index as HiddenStates), fitted on the tokens of the reference
// sentences (special tokens and position 0, the attention sink, left out) after each
// row's position mean is taken away: a small model's states carry their position so
// strongly that PC1 is mostly "how far into the sentence", and every melody would fall.
struct ReferencePca {
  std::string corpus_hash;  // FNV-1a 64 of the corpus file, hex
  ReferenceOptions options;
  int sentences = 0;  // sentences used
  int samples = 0;    // token rows per state
  std::vector<Pca> states;
  // Per state: the mean row at each position 0..max_tokens-1, [positions * width]
  // (empty: no position centring for that state).
  std::vector<std::vector<double>> position_means;
  // Per state: at each position, the standard deviation of the centred rows on components
  // 1-3 in units of the pooled one, [positions * 3] (empty: 1 everywhere). The first
  // content tokens scatter far wider than later ones.
  std::vector<std::vector<double>> position_scales;
};

// The projections of `state`'s row at token position `position` on components 1-3, in
// reference standard deviations of that position (position_scales), after the position
// mean (the last one for positions beyond it) and the PCA mean are taken away.
std::vector<double> reference_project(const ReferencePca& pca, int state, int position, const float* row);

std::string reference_pca_to_json(const ReferencePca& pca);
Result<ReferencePca> reference_pca_from_json(std::string_view text, const std::string& what);

// Hex FNV-1a 64 of some bytes (corpus and pair-file identities).
std::string fnv1a_hex(std::string_view bytes);

// Non-empty lines of a corpus file (one sentence a line).
Result<std::vector<std::string>> read_corpus(const std::string& path, std::string* hash);

// Runs the selected sentences through `runtime` and fits the PCAs of `states` (all
// hidden states when empty; the others stay empty, n_features 0).
Result<ReferencePca> reference_pca_fit(Runtime& runtime, const Tokenizer& tokenizer,
                                       const std::vector<std::string>& corpus, const std::string& corpus_hash,
                                       const ReferenceOptions& options, const std::vector<int>& states);

// A reference sequence given as token ids, for a model without a text tokenizer (a MIDI
// event model), with its special-token marks (left out of the fit like a sentence's).
struct ReferenceSequence {
  std::vector<std::int64_t> ids;
  std::vector<bool> special;
};

// reference_pca_fit on token-id sequences: every sequence is used (stride and
// max_sentences do not apply), each cut after options.max_tokens and the model's context.
Result<ReferencePca> reference_pca_fit_ids(Runtime& runtime, const std::vector<ReferenceSequence>& sequences,
                                           const std::string& corpus_hash, const ReferenceOptions& options,
                                           const std::vector<int>& states);

// A set of paired prompts: configs/contrast/*.json {"name","description","a","b","pairs"}.
struct ContrastSet {
  std::string name;
  std::string description;
  std::string a;  // label of side A (calm, harmless)
  std::string b;  // label of side B (tense, harmful): projects positive
  std::vector<std::pair<std::string, std::string>> pairs;
  std::string hash;  // FNV-1a 64 of the file bytes
};
Result<ContrastSet> contrast_set_parse(std::string_view text, const std::string& what);
Result<ContrastSet> contrast_set_read(const std::string& path);

// The contrast direction over the last half of the blocks (their token-mean hidden
// states concatenated): method "pc1" is the first (uncentred) principal component of the
// pair differences B - A, "mean" their mean (difference of means), normalised. Prompts
// project onto it relative to the midpoint of all paired prompts.
struct ContrastDirection {
  std::string name;
  std::string set_hash;
  std::string method = "pc1";  // "pc1" or "mean"
  std::vector<int> states;     // hidden-state indices used (last half of the blocks)
  int width = 0;
  std::vector<double> midpoint;   // states.size() * width
  std::vector<double> direction;  // unit vector, same length; B - A projects positive
  double explained = 0;           // share of the differences' energy on the direction
  double scale = 1;               // mean |B - A| projection, so tensions are about ±0.5
};

std::string contrast_direction_to_json(const ContrastDirection& d);
Result<ContrastDirection> contrast_direction_from_json(std::string_view text, const std::string& what);

// Fits the direction (method "pc1" or "mean") by running every prompt of `set` through the model.
Result<ContrastDirection> contrast_direction_fit(Runtime& runtime, const Tokenizer& tokenizer,
                                                 const ContrastSet& set, const std::string& method);

// Tension of one prompt: (token-mean hidden states - midpoint) · direction / scale.
// Tokens marked in `skip` (special tokens, the attention sink) are left out.
double contrast_tension(const ContrastDirection& d, const HiddenStates& h, const std::vector<bool>& skip);

// Tension of each token (same formula on single tokens).
std::vector<double> contrast_token_tension(const ContrastDirection& d, const HiddenStates& h);

// A melodic voice following one hidden state.
struct VoiceSpec {
  std::string name;
  int program = 0;  // GM, 0-based
  int state = 0;    // hidden-state index
  int lo = 60;      // pitch range
  int hi = 84;
};

// The three default voices for a model of `n_layers` blocks: flute (early), clarinet
// (middle), strings (last).
std::vector<VoiceSpec> default_voices(int n_layers);

// How tense a prompt sounds, 0..1, on an absolute scale: clamp(0.5 + 0.75·tension), so
// the calm and tense sides of the pair file (about -0.5 and +0.5) land near 0.1 and 0.9.
double tension_level(double tension);

// The mode a tension asks for, brightest for the calmest: level < 0.25 major, < 0.5
// mixolydian, < 0.75 natural minor, else phrygian.
Mode mode_for_tension(double tension);

// A coherent set of GM programs (0-based) for one mood, brightest for the calmest prompts.
struct Palette {
  std::string name;
  std::vector<int> voices;  // voices style: high, middle and low voice
  int drone = 43;
  int lead = 81;  // markov style
  int sparkle = 8;
  int chords = 19;
};

// The palette a tension level (tension_level) asks for, in the same quarters as the mode:
// < 0.25 "pastoral" (flute, clarinet, strings over a warm pad; flute, music box, reed
// organ), < 0.5 "woodwinds" (oboe, clarinet, bassoon over contrabass; clarinet, celesta,
// drawbar organ), < 0.75 "strings" (violin, viola, cello over contrabass; square lead,
// celesta, church organ), else "storm" (tremolo strings, horn, trombone over timpani; saw
// lead, tubular bells, church organ).
Palette palette_for_level(double level);

// How far the prompt's representation travels from token to token: the mean distance
// between consecutive tokens' standardised PCA coordinates (components 1-3) over the
// voices' states, divided by its value for independent reference tokens (2·Γ(2)/Γ(3/2)
// = 2.257), so 1 is "as far as two unrelated tokens". Tokens in `skip` (special tokens,
// the attention sink) are left out. 0 with fewer than two tokens.
double prompt_motion(const HiddenStates& h, const ReferencePca& pca, const std::vector<VoiceSpec>& voices,
                     const std::vector<bool>& skip);

// The tempo a motion asks for: 60 + 60·(motion - 0.5) BPM clamped to 60..132.
double tempo_for_motion(double motion);

// Everything the voices style needs besides the activations.
struct VoicesOptions {
  int root_midi = 48;  // key of the drone and the scale
  Mode mode = Mode::natural_minor;
  double bpm = 84;
  std::vector<VoiceSpec> voices;
  int drone_program = 43;  // contrabass
  std::string title;
  // The prompt's contrast tension (no direction: nullopt): sets the loudness of every
  // part and how often the drone pulses (1, 2, 4 or 8 times a bar).
  std::optional<double> tension;
  // With a tension, the voices' and the drone's programs come from palette_for_level
  // instead of `voices` and `drone_program` (false: the caller chose the programs).
  bool palette = true;
  // Empty: a word's slot follows its token count and the sentences become 2-16 bar
  // phrases. Else one entry per word, in beats (> 0): the slots are these, unstretched (a
  // MIDI prompt's moments keep the prompt's rhythm).
  std::vector<double> word_beats;
};

// Where one word sounds.
struct WordTiming {
  std::string text;
  ByteRange bytes;
  std::vector<std::int64_t> token_ids;
  double start_seconds = 0;
  double end_seconds = 0;    // the end of its longest note
  std::vector<int> pitches;  // one per voice
  // Voices style, one per voice: the word's last token on PCs 1-3 of the voice's hidden
  // state, in reference standard deviations (pitch, velocity, articulation come from them).
  std::vector<std::vector<double>> components;
  std::optional<double> tension;  // with a contrast direction: the tension of the word's last token
};

// What one part of a track follows, as its composer chose it (for the provenance JSON).
struct TrackSource {
  std::string part;       // the score track's name: "flute", "lead", "drone", ...
  int program = 0;        // GM, 0-based
  int hidden_state = -1;  // hidden-state index it follows, -1 for none
  int layer = -1;         // block whose attention or MLP it reads, -1 for none
  std::string statistic;  // what of it: "PCA components 1-3 -> pitch, velocity, articulation", ...
};

// A composed activation track.
struct ActivationTrack {
  Score score;
  std::vector<WordTiming> words;
  std::vector<TrackSource> sources;  // one per score track, in track order
  // Where the closing cadence (after the last word) starts: every voice plays one more
  // note there. nullopt when the style writes none.
  std::optional<double> tail_start_seconds;
};

// The tone of the tonic triad (scale degrees 1, 3, 5) of `scale` nearest to `target`.
int tonic_chord_tone(const Scale& scale, int target);

// The voices style: one note per word and voice; pitch from the word's last token
// projected on the state's first component (in reference standard deviations,
// quantised to the scale), velocity from the second, articulation from the third; word
// slots grow with the word's token count and pause after sentence punctuation.
Result<ActivationTrack> compose_voices(const HiddenStates& h, const std::vector<std::int64_t>& token_ids,
                                       const std::vector<WordSpan>& words, const ReferencePca& pca,
                                       const VoicesOptions& options);

// What the markov style reads from one forward pass (all per token).
struct MarkovInput {
  HiddenStates hidden;
  int lead_state = 1;                     // the state the Markov chain and LSTM follow (NL/2)
  int attention_layer = 0;                // the block attention_entropy comes from (NL/2 - 1)
  int mlp_layer = 0;                      // the block mlp_sparsity comes from (NL/3)
  std::vector<double> attention_entropy;  // per token, mean over heads, / ln(keys): 0..1
  std::vector<double> mlp_sparsity;       // per token: share of |a| < 0.1·std(layer)
  std::vector<double> tension;            // contrast_token_tension, or empty without a direction
  // Per token: PC1 of the lead state (position-centred, in reference standard
  // deviations, reference_project), which pulls the melody towards its degree; empty: none.
  std::vector<double> pull;
};

// The capture the markov style needs (hidden states, attention, MLP).
CaptureRequest markov_request();

// Builds the markov input from a trace captured with markov_request().
Result<MarkovInput> markov_input_from_trace(const Trace& trace, const ContrastDirection* direction);

struct MarkovOptions {
  int root_midi = 48;
  Mode mode = Mode::natural_minor;
  double bpm = 84;
  std::uint64_t seed = 0;
  std::string title;
  // The prompt's tension: loudness, organ pulse, leap width and the palette
  // (palette_for_level; level 0.5 without one).
  std::optional<double> tension;
  // As VoicesOptions::word_beats: given, each word lasts this many beats, shared among its
  // tokens in proportion to their natural lengths.
  std::vector<double> word_beats;
};

// The markov style (SPEC-notebooks §15–16 with its bugs fixed): a lead whose scale degree
// walks a Markov chain built from block norms of the lead state, steered by an untrained
// micro-LSTM whose gate weights come from the state's SVD; one lead note per token, its
// length from attention entropy (focused attention, longer notes); celesta ornaments on
// tokens with sparse MLP activations; an organ per word whose pitch and loudness follow
// the contrast tension. Words keep their order and all get notes; seeded, deterministic.
Result<ActivationTrack> compose_markov(const MarkovInput& input, const std::vector<std::int64_t>& token_ids,
                                       const std::vector<WordSpan>& words, const MarkovOptions& options);

// The timing JSON: {"words":[{"index","text","bytes":[b,e],"token_ids","start","end","pitches"}],
// "tail":{"start"} (when there is a cadence),"duration"}.
std::string timing_to_json(const ActivationTrack& track);

}  // namespace sonify
