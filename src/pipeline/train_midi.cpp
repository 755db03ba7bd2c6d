// The MIDI side of `sonify train --midi`: files → MIDILike event tokens, and the model card.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>

#include "pipeline/train_corpus.h"
#include "sonify/midi.h"
#include "sonify/midi_tokens.h"

namespace sonify {
namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

struct CorpusFile {
  std::string path;
  bool named = false;  // given on the command line, not found in a folder
};

Result<std::vector<CorpusFile>> list_midi_inputs(const std::vector<std::string>& inputs) {
  std::vector<CorpusFile> files;
  for (const std::string& input : inputs) {
    std::error_code ec;
    if (fs::is_directory(input, ec)) {
      std::vector<std::string> found;
      for (fs::recursive_directory_iterator it(input, ec), end; !ec && it != end; it.increment(ec))
        if (it->is_regular_file(ec)) found.push_back(it->path().string());
      if (ec) return fail(input, ": cannot list the folder (", ec.message(), ")");
      std::sort(found.begin(), found.end());  // the split and the stream must not depend on the file system
      for (std::string& f : found) files.push_back({std::move(f), false});
    } else if (fs::is_regular_file(input, ec)) {
      files.push_back({input, true});
    } else {
      return fail(input, ": MIDI file or folder not found");
    }
  }
  return files;
}

double first_bpm(const Score& score) { return score.tempos.empty() ? 120.0 : score.tempos.front().bpm(); }

}  // namespace

void midi_train_defaults(TrainConfig* c, const std::function<bool(const char*)>& given) {
  const std::pair<const char*, int*> shape[] = {{"--layers", &c->layers},
                                                {"--dim", &c->dim},
                                                {"--heads", &c->heads},
                                                {"--context", &c->context},
                                                {"--steps", &c->steps}};
  const int seed[] = {3, 128, 4, 256, 1200};
  for (std::size_t i = 0; i < std::size(shape); ++i)
    if (!given(shape[i].first)) *shape[i].second = seed[i];
}

Result<TrainCorpus> midi_train_corpus(const TrainRunRequest& o) {
  SONIFY_ASSIGN_OR_RETURN(inputs, list_midi_inputs(o.midi));
  SONIFY_ASSIGN_OR_RETURN(tokenizer, MidiTokenizer::create(MidiTokenizerConfig{}));
  TrainCorpus corpus;
  std::vector<std::string> skipped;
  std::vector<double> bpms;
  std::map<int, std::int64_t> notes_by_program;
  MidiTokenStats total;
  std::vector<Score> scores;
  std::int64_t pitched_notes = 0, drum_notes = 0;
  for (const CorpusFile& f : inputs) {
    auto midi = midi_read(f.path);
    if (!midi.ok()) {
      if (f.named) return fail(f.path, ": not a MIDI file (", midi.error().message, ")");
      skipped.push_back(f.path);
      continue;
    }
    SONIFY_ASSIGN_OR_RETURN(score, score_from_midi(*midi));
    for (const Track& t : score.tracks) (t.drums ? drum_notes : pitched_notes) += t.notes.size();
    scores.push_back(std::move(score));
  }
  // A corpus of drums alone (channel 10) trains a drum model: its kit's keys are the notes,
  // which the tokenizer (no Program tokens) would otherwise leave out, and sample plays
  // them on channel 10 again.
  const bool drum_kit = pitched_notes == 0 && drum_notes > 0;
  std::size_t doc = 0;
  for (Score& score : scores) {
    if (drum_kit)
      for (Track& t : score.tracks) t.drums = false;
    MidiTokenStats stats;
    const std::vector<int> ids = tokenizer.encode(score, &stats);
    const bool to_val = train_doc_to_validation(doc++, o.val_fraction);
    (to_val ? corpus.val_ids : corpus.train_ids)
        .insert((to_val ? corpus.val_ids : corpus.train_ids).end(), ids.begin(), ids.end());
    ++(to_val ? corpus.docs_val : corpus.docs_train);
    bpms.push_back(first_bpm(score));
    for (const Track& t : score.tracks)
      if (!t.drums && !drum_kit) notes_by_program[t.program] += static_cast<std::int64_t>(t.notes.size());
    total.notes += stats.notes;
    total.out_of_range += stats.out_of_range;
    total.drum_notes_left += stats.drum_notes_left;
    total.truncated += stats.truncated;
  }
  corpus.midi_files = static_cast<int>(doc);
  corpus.midi_skipped = static_cast<int>(skipped.size());
  if (doc == 0) {
    std::string what = skipped.empty() ? ""
                                       : " (" + std::to_string(skipped.size()) + " files skipped, e.g. " +
                                             skipped.front() + ")";
    return fail("no MIDI files found in the --midi inputs", what);
  }
  if (corpus.docs_val == 0)
    return fail("the MIDI corpus has too few files for a validation split (", doc,
                "; raise --val-fraction or add files)");
  const auto window = static_cast<std::size_t>(o.config.context) + 1;
  if (corpus.train_ids.size() < window || corpus.val_ids.size() < window)
    return fail("the MIDI corpus is too small: ", corpus.train_ids.size(), " training and ",
                corpus.val_ids.size(), " validation event tokens, each split needs one context window of ",
                window, " (add files or lower --context)");

  corpus.vocab = tokenizer.vocab_size();
  corpus.bos_id = tokenizer.bos_id();
  corpus.eos_id = tokenizer.eos_id();
  corpus.files.emplace_back(kMidiTokenizerFile, tokenizer.to_json());
  corpus.tokenizer_log = {{"type", "MIDILike"}, {"vocab_size", corpus.vocab}, {"file", kMidiTokenizerFile}};
  std::sort(bpms.begin(), bpms.end());
  int program = 0;
  std::int64_t most = -1;
  for (const auto& [p, n] : notes_by_program)
    if (n > most) most = n, program = p;
  // sonify sample plays the model at the corpus's tempo and instrument (or drum kit).
  corpus.midi_log = {{"files", doc},
                     {"skipped", skipped.size()},
                     {"skipped_files", skipped},
                     {"notes", total.notes},
                     {"notes_out_of_range", total.out_of_range},
                     {"drum_notes_left", total.drum_notes_left},
                     {"notes_truncated", total.truncated},
                     {"bpm", bpms[bpms.size() / 2]},
                     {"program", program},
                     {"drums", drum_kit}};
  return corpus;
}

std::string midi_model_card(const TrainRunRequest& o, const TrainConfig& c, const TrainCorpus& corpus,
                            std::int64_t parameters, int steps_done, double val_loss, double unigram,
                            double bigram) {
  const std::string name = fs::path(o.out).filename().string();
  char losses[512];
  std::snprintf(losses, sizeof losses,
                "| | validation loss (nats/token) |\n|---|---|\n| this model | %.4f |\n"
                "| bigram baseline | %.4f |\n| unigram baseline | %.4f |\n",
                val_loss, bigram, unigram);
  std::ostringstream s;
  s << "# " << name << "\n\n"
    << "A music language model trained by `sonify train --midi` (issue 15): a " << c.arch << " decoder of "
    << c.layers << (c.layers == 1 ? " layer" : " layers") << ", width " << c.dim << ", " << c.heads
    << " heads, context " << c.context << " (" << parameters << " parameters), trained " << steps_done
    << " steps (batch " << c.batch << ", peak lr " << c.lr << ", seed " << c.seed
    << ") on MIDILike event tokens (NoteOn / NoteOff / TimeShift on a "
    << "16th-note grid, " << corpus.vocab << " tokens; doc/midi-tokens.md).\n\n"
    << "Corpus: " << corpus.midi_files << " MIDI files (" << corpus.docs_train << " training, "
    << corpus.docs_val << " validation, every file whole in one split), " << corpus.train_ids.size()
    << " training and " << corpus.val_ids.size() << " validation tokens";
  if (corpus.midi_skipped > 0) s << "; " << corpus.midi_skipped << " files in the folders were not MIDI";
  s << ".\n\n"
    << losses << "\n"
    << "The bigram baseline is the training tokens' bigram distribution smoothed toward their unigram\n"
    << "distribution, with the smoothing strength that suits the validation tokens best.\n\n"
    << "Hear it: `sonify sample --model " << o.out << " -o out`. How it was made: training.json.\n";
  return s.str();
}

}  // namespace sonify
