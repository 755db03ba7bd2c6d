// What run_train needs from a corpus, text or MIDI: the token streams of both splits,
// the tokenizer files the model directory gets, and what training.json says about them.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "sonify/pipeline_train.h"
#include "sonify/result.h"

namespace sonify {

struct TrainCorpus {
  std::vector<std::int32_t> train_ids;
  std::vector<std::int32_t> val_ids;
  int vocab = 0;
  int bos_id = 0;
  int eos_id = 0;
  std::size_t docs_train = 0;
  std::size_t docs_val = 0;
  std::vector<std::pair<std::string, std::string>> files;  // (file name, contents) for the model dir
  nlohmann::ordered_json tokenizer_log;                    // training.json "tokenizer"
  nlohmann::ordered_json midi_log;                         // training.json "midi" (MIDI runs only)
  int midi_files = 0;
  int midi_skipped = 0;
};

// Every k-th document (by index) goes to validation, so both splits cover the whole corpus.
bool train_doc_to_validation(std::size_t index, double fraction);

// MIDI files and folders → MIDILike tokens, one document per file (BOS ... EOS).
Result<TrainCorpus> midi_train_corpus(const TrainRunRequest& request);

// MODEL_CARD.md of a MIDI model: corpus, shape, validation loss against the baselines.
std::string midi_model_card(const TrainRunRequest& request, const TrainConfig& config,
                            const TrainCorpus& corpus, std::int64_t parameters, int steps_done,
                            double val_loss, double unigram, double bigram);

}  // namespace sonify
