#include "pipeline/prompt_midi.h"

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/sha256.h"
#include "core/text_file.h"
#include "pipeline/prompt_direct.h"
#include "sonify/midi.h"
#include "sonify/pipeline_train.h"

namespace sonify::pipeline {
namespace {

namespace fs = std::filesystem;

// Enough rows (32 × 63) for a PCA of a small music model's width, sampled in seconds.
constexpr int kReferenceSamples = 32;

fs::path model_dir(const std::string& model_path) {
  std::error_code ec;
  return fs::is_directory(model_path, ec) ? fs::path(model_path) : fs::path(model_path).parent_path();
}

bool is_time_shift(const std::string& token) { return token.rfind("TimeShift_", 0) == 0; }

bool is_special_id(const MidiTokenizer& t, int id) {
  return id == t.pad_id() || id == t.bos_id() || id == t.eos_id();
}

}  // namespace

bool is_midi_model(const std::string& model_path) {
  std::error_code ec;
  return fs::is_regular_file(model_dir(model_path) / kMidiTokenizerFile, ec);
}

Result<MidiTokenizer> midi_model_tokenizer(const std::string& model_path) {
  const std::string file = (model_dir(model_path) / kMidiTokenizerFile).string();
  SONIFY_ASSIGN_OR_RETURN(text, read_text(file));
  return MidiTokenizer::parse(text, file);
}

MidiCorpusPlayback midi_corpus_playback(const std::string& model_path) {
  MidiCorpusPlayback p;
  auto text = read_text((model_dir(model_path) / "training.json").string());
  if (!text.ok()) return p;
  const nlohmann::json log = nlohmann::json::parse(*text, nullptr, false);
  if (!log.is_object() || !log.contains("midi") || !log["midi"].is_object()) return p;
  const nlohmann::json& m = log["midi"];
  if (m.contains("bpm") && m["bpm"].is_number() && m["bpm"] >= 20 && m["bpm"] <= 400) p.bpm = m["bpm"];
  if (m.contains("program") && m["program"].is_number_integer() && m["program"] >= 0 && m["program"] <= 127)
    p.program = m["program"];
  if (m.contains("drums") && m["drums"].is_boolean()) p.drums = m["drums"];
  return p;
}

Status check_model_kind(const std::string& model_path, bool midi_prompt) {
  const bool midi_model = is_midi_model(model_path);
  if (midi_model && !midi_prompt)
    return fail(model_path, " is a MIDI event model (", kMidiTokenizerFile,
                "): give its prompt as a MIDI file with sonify prompt --midi-prompt FILE.mid");
  if (!midi_model && midi_prompt)
    return fail("--midi-prompt needs a MIDI event model (a directory with ", kMidiTokenizerFile,
                ", from sonify train --midi); ", model_path, " has none");
  return Status::Ok();
}

Status check_prompt_kind(const PromptRequest& r) {
  const ActivationRequest& q = r.activation;
  const bool midi_prompt = !r.midi_prompt.empty();
  if (midi_prompt && (q.prompt.have_text || q.prompt.have_ids))
    return fail("give a text prompt (or --ids) or --midi-prompt FILE.mid, not both");
  SONIFY_TRY(check_model_kind(q.model_path, midi_prompt));
  if (!midi_prompt) return Status::Ok();
  if (is_direct_style(q.style))
    return fail("--style ", q.style,
                " takes text prompts; --midi-prompt works with --style voices or markov");
  if (!q.direction.empty())
    return fail("--direction: contrast pairs are text, which a MIDI event model cannot read");
  if (!q.corpus.empty())
    return fail("--corpus: a MIDI event model's reference is what it plays itself, not a text corpus");
  return Status::Ok();
}

Result<MidiPromptSource> midi_prompt_read(const std::string& path, const MidiTokenizer& tokenizer,
                                          const PromptOptions& flags, bool drum_kit) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return fail("--midi-prompt ", path, ": no such file");
  SONIFY_ASSIGN_OR_RETURN(midi, midi_read(path));
  SONIFY_ASSIGN_OR_RETURN(score, score_from_midi(midi));
  if (drum_kit)
    for (Track& t : score.tracks) t.drums = false;
  MidiPromptSource source;
  MidiPromptRecord& record = source.record;
  record.path = path;
  source.stem = fs::path(path).stem().string();
  SONIFY_ASSIGN_OR_RETURN(hash, sha256_file(path));
  record.sha256 = std::move(hash);
  source.ids = tokenizer.encode(score, &record.stats);
  record.notes = record.stats.notes;
  if (record.notes == 0)
    return fail("--midi-prompt ", path, ": no notes the model's tokenizer keeps (", record.stats.out_of_range,
                " outside its pitch range, ", record.stats.drum_notes_left, " drum notes left out)");
  // The piece goes on after the prompt: EOS, which ends a training piece, is not part of it.
  if (!source.ids.empty() && source.ids.back() == tokenizer.eos_id()) source.ids.pop_back();
  if (flags.no_bos && !source.ids.empty() && source.ids.front() == tokenizer.bos_id())
    source.ids.erase(source.ids.begin());
  return source;
}

Result<PromptTokens> midi_prompt_tokens(const MidiPromptSource& source, const MidiTokenizer& tokenizer,
                                        const PromptOptions& flags, int vocab_size, int context_length) {
  // Through prompt_tokens, so vocabulary, context and --truncate work as for text.
  PromptOptions as_ids = flags;
  as_ids.have_text = false;
  as_ids.have_ids = true;
  as_ids.ids.clear();
  for (int id : source.ids) as_ids.ids += (as_ids.ids.empty() ? "" : ",") + std::to_string(id);
  SONIFY_ASSIGN_OR_RETURN(tokens, prompt_tokens(as_ids, nullptr, vocab_size, context_length));
  // One word per onset moment: the tokens of a grid step where a note starts, joined by ',',
  // up to the next such step. A step that only releases notes (and its time shifts) stays in
  // the word before it, so the words' onsets are the prompt's.
  bool after_shift = false;
  for (std::size_t i = 0; i < tokens.ids.size(); ++i) {
    const int id = tokens.ids[i];
    const bool special = is_special_id(tokenizer, id);
    const std::string& name = tokenizer.token(id);
    tokens.pieces.push_back(name);
    tokens.special.push_back(special);
    if (special) {
      tokens.offsets.push_back({tokens.text.size(), tokens.text.size()});
      continue;
    }
    const bool shift = is_time_shift(name);
    if (!tokens.text.empty()) {
      bool onset = false;
      for (std::size_t j = i; after_shift && !shift && j < tokens.ids.size(); ++j) {
        const std::string& next = tokenizer.token(tokens.ids[j]);
        if (is_time_shift(next)) break;
        onset = onset || next.rfind("NoteOn_", 0) == 0;
      }
      tokens.text += onset ? " " : ",";
    }
    tokens.offsets.push_back({tokens.text.size(), tokens.text.size() + name.size()});
    tokens.text += name;
    after_shift = shift;
  }
  return tokens;
}

std::vector<double> midi_word_beats(const std::vector<WordSpan>& words, const PromptTokens& tokens) {
  std::vector<double> beats;
  for (const WordSpan& w : words) {
    double b = 0;
    for (std::size_t t : w.tokens) {
      // TimeShift_b.s.r: b beats and s steps of a beat divided in r.
      const std::string& name = tokens.pieces.at(t);
      int whole = 0, steps = 0, per_beat = 0;
      if (is_time_shift(name) && std::sscanf(name.c_str() + 10, "%d.%d.%d", &whole, &steps, &per_beat) == 3 &&
          per_beat > 0)
        b += whole + static_cast<double>(steps) / per_beat;
    }
    beats.push_back(b);
  }
  // The last moment has no shift after it (the prompt stops there): it sounds a beat.
  if (!beats.empty() && beats.back() <= 0) beats.back() = 1;
  return beats;
}

Result<std::vector<ReferenceSequence>> midi_reference_sequences(Runtime& runtime,
                                                                const MidiTokenizer& tokenizer,
                                                                const ReferenceOptions& options,
                                                                std::string* hash) {
  GenerateOptions generate_options;
  generate_options.max_tokens = std::max(1, options.max_tokens - 1);
  generate_options.temperature = 1;
  std::vector<ReferenceSequence> out;
  for (int seed = 0; seed < kReferenceSamples; ++seed) {
    generate_options.seed = static_cast<std::uint64_t>(seed);
    SONIFY_ASSIGN_OR_RETURN(g, generate(runtime, {tokenizer.bos_id()}, generate_options));
    ReferenceSequence seq;
    seq.ids = {tokenizer.bos_id()};
    seq.ids.insert(seq.ids.end(), g.ids.begin(), g.ids.end());
    for (std::int64_t id : seq.ids)
      seq.special.push_back(id < 0 || id >= tokenizer.vocab_size() ||
                            is_special_id(tokenizer, static_cast<int>(id)));
    out.push_back(std::move(seq));
  }
  *hash =
      "model-samples-" + std::to_string(kReferenceSamples) + "x" + std::to_string(options.max_tokens) + "-t1";
  return out;
}

}  // namespace sonify::pipeline
