// Helpers every subcommand shares: error reporting and the default model.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "sonify/analysis.h"
#include "sonify/pipeline_weights.h"
#include "sonify/result.h"

namespace sonify::cli {

// Prints "sonify: error: MESSAGE" on one line of stderr and returns exit code 1.
int report(const Error& error);

// Where bundled data lives: $SONIFY_DATA_DIR, else the source tree's data/.
std::string data_dir();

// Where genre override files (NAME.json) are looked for: $SONIFY_GENRE_CONFIG_DIR, else
// the source tree's configs/genres/.
std::string genre_config_dir();

// `given` resolved by resolve_model_reference (a local path, or ORG/NAME[@REV] in the
// Hugging Face cache) if non-empty; otherwise the bundled default model, or an error
// saying how to pass one.
Result<std::string> model_path_or_default(const std::string& given);

// The --svd option of analyze and weights: help text (with auto's threshold) and its value.
std::string svd_help();
SvdMethod svd_method(const std::string& name);

// Adds the --model option every model command takes.
void add_model_option(CLI::App* app, std::string* model);

// Subcommand registration; each returns nothing and sets its own callback, which stores
// the exit code in *exit_code.
// Makes every float option of `app` and its subcommands refuse NaN and Inf (CLI::Range lets NaN through).
void require_finite_floats(CLI::App* app);

void register_doctor(CLI::App& app, int* exit_code);
void register_inspect(CLI::App& app, int* exit_code);
void register_render(CLI::App& app, int* exit_code);
void register_synth_checkpoint(CLI::App& app, int* exit_code);
void register_train(CLI::App& app, int* exit_code);
void register_trace(CLI::App& app, int* exit_code);
void register_generate(CLI::App& app, int* exit_code);
void register_tokenize(CLI::App& app, int* exit_code);
void register_analyze(CLI::App& app, int* exit_code);
void register_weights(CLI::App& app, int* exit_code);
void register_genres(CLI::App& app, int* exit_code);
void register_prompt(CLI::App& app, int* exit_code);
void register_album(CLI::App& app, int* exit_code);
// Progress of a batch command on stderr, one call per finished step: "auto" draws a bar
// on a terminal and prints "WHAT: done/total UNIT" lines otherwise; "json" prints one line
// {"done","total","elapsed","eta"} (seconds; the ETA assumes the remaining steps take as
// long as the finished ones did on average) for orchestrators.
// A progress line for the steps of a pipeline ("hashing 1200/2500 MB, 2 s left"), a new one
// for each step, on stderr when it is a terminal and not `quiet`; empty otherwise. Call
// the returned clear() before printing anything else.
struct StepProgressLine {
  std::function<void(const StepProgress&)> update;
  std::function<void()> clear;
};
StepProgressLine step_progress_line(bool quiet);

// The render's progress callback for --progress MODE (auto, json or none): the step line on
// a terminal, a JSON line per percent, or none.
std::function<void(double done, double total)> render_progress(const std::string& mode,
                                                               const StepProgressLine& line);

std::function<void(int done, int total)> progress_printer(const std::string& mode, const std::string& what,
                                                          const std::string& unit);
// `album merge DIR` under `album`; returns it so album's own callback can stand aside.
CLI::App* register_album_merge(CLI::App* album, int* exit_code);
void register_report(CLI::App& app, int* exit_code);
void register_compare(CLI::App& app, int* exit_code);
void register_models(CLI::App& app, int* exit_code);
void register_sample(CLI::App& app, int* exit_code);

}  // namespace sonify::cli

// The one error style of the command line: a command's run function returns its exit
// code; this declares `var` from a Result, or reports its error (one line) and returns 1.
#define SONIFY_ASSIGN_OR_REPORT(var, expr)                                      \
  auto var##_result_ = (expr);                                                  \
  if (!var##_result_.ok()) return ::sonify::cli::report(var##_result_.error()); \
  auto var = std::move(var##_result_).value()
