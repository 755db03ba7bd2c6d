#include "prompt_input.h"

#include <cstdio>

#include "cli_common.h"

namespace sonify::cli {

PromptOptions PromptInput::resolved() const {
  PromptOptions out = options;
  out.have_text = text_option != nullptr && text_option->count() > 0;
  out.have_ids = ids_option != nullptr && ids_option->count() > 0;
  return out;
}

void add_prompt_options(CLI::App* app, PromptInput* input) {
  CLI::Option* text = app->add_option("text", input->options.text,
                                      "Prompt text (UTF-8); write -- before a text that starts with -");
  CLI::Option* ids =
      app->add_option("--ids", input->options.ids, "Token ids instead of text, comma-separated: 1,2,3");
  text->excludes(ids);
  ids->excludes(text);
  input->text_option = text;
  input->ids_option = ids;
  add_prompt_flags(app, &input->options);
}

void add_prompt_flags(CLI::App* app, PromptOptions* options) {
  app->add_flag("--replace-invalid", options->replace_invalid,
                "Replace invalid UTF-8 bytes with U+FFFD instead of failing");
  app->add_flag("--truncate", options->truncate,
                "Keep the first context-length tokens of an over-long prompt");
  app->add_flag("--no-bos", options->no_bos, "Do not add the tokenizer's BOS/EOS tokens");
}

void add_activation_options(CLI::App* cmd, std::string* model, ActivationRequest* o) {
  add_model_option(cmd, model);
  cmd->add_option(
         "--style", o->style,
         "Composition: voices (PCA voices over a drone), markov (Markov/LSTM lead, celesta, organ); prompt "
         "only: thinking, operatic, sines (audio synthesised from the hidden states, no MIDI)")
      ->check(CLI::IsMember({"voices", "markov", "thinking", "operatic", "sines"}))
      ->capture_default_str();
  cmd->add_option("--direction", o->direction,
                  "Contrast pair file (JSON, A versus B) whose direction measures tension, e.g. "
                  "configs/contrast/calm-tense.json");
  cmd->add_option(
         "--direction-method", o->direction_method,
         "Contrast direction: mean (difference of the pair means) or pc1 (first principal component of "
         "the pair differences)")
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
  cmd->add_option("--threads", o->threads, "Compute threads of the model (0: $SONIFY_THREADS or all cores)")
      ->check(CLI::Range(0, 256));
  cmd->add_option("--seed", o->seed, "Seed (recorded; the voices style has no free choice)");
  cmd->add_flag("--no-cache", o->no_cache, "Fit the PCA and direction again and do not store them");
  cmd->add_flag("--midi-only", o->midi_only, "Write MIDI and JSON, skip the WAV");
}

Status resolve_activation(const std::string& model, ActivationRequest* request) {
  SONIFY_ASSIGN_OR_RETURN(path, model_path_or_default(model));
  request->model_path = path;
  request->data_dir = data_dir();
  return Status::Ok();
}

void print_notes(const std::vector<std::string>& notes) {
  for (const std::string& note : notes) std::fprintf(stderr, "sonify: note: %s\n", note.c_str());
}

}  // namespace sonify::cli
