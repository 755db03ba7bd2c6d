// The command-line side of the options every model-running command shares (tokenize,
// trace, generate, prompt, album): TEXT or --ids, --replace-invalid, --truncate, --no-bos
// (resolved in the library: sonify/pipeline_tokens.h), and the options of the activation
// tracks (prompt, album: sonify/pipeline_prompt.h).
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "sonify/pipeline_prompt.h"
#include "sonify/pipeline_tokens.h"

namespace sonify::cli {

// What the user typed; filled by CLI11.
struct PromptInput {
  PromptOptions options;
  const CLI::Option* text_option = nullptr;  // set by add_prompt_options
  const CLI::Option* ids_option = nullptr;
  // The options with have_text / have_ids from what was given on the command line.
  PromptOptions resolved() const;
};

// Adds TEXT (positional), --ids (excludes TEXT) and the prompt flags.
void add_prompt_options(CLI::App* app, PromptInput* input);

// Adds only --replace-invalid, --truncate and --no-bos (album: the prompts come from a file).
void add_prompt_flags(CLI::App* app, PromptOptions* options);

// Adds --model and the options prompt and album share (style, direction, PCA, caches).
void add_activation_options(CLI::App* app, std::string* model, ActivationRequest* request);

// Fills the model path (the bundled default when `model` is empty) and the data directory.
Status resolve_activation(const std::string& model, ActivationRequest* request);

// Prints each note as "sonify: note: ..." on stderr.
void print_notes(const std::vector<std::string>& notes);

}  // namespace sonify::cli
