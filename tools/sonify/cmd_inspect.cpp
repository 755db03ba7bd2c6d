// `sonify inspect`: what is inside a checkpoint (sonify/pipeline_inspect.h).
#include <cstdio>

#include "cli_common.h"
#include "sonify/model.h"
#include "sonify/pipeline_inspect.h"

namespace sonify::cli {
namespace {

struct Options {
  std::string model;
  bool json = false;
};

int run_inspect(const Options& o) {
  SONIFY_ASSIGN_OR_REPORT(path, model_path_or_default(o.model));
  SONIFY_ASSIGN_OR_REPORT(model, Model::open(path));
  const std::string text = o.json ? inspect_json(model) : inspect_text(model);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}

}  // namespace

void register_inspect(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("inspect", "Show a model's architecture, size and tensor roles");
  add_model_option(cmd, &o->model);
  cmd->add_flag("--json", o->json, "Print one JSON object instead of text");
  cmd->callback([o, exit_code] { *exit_code = run_inspect(*o); });
}

}  // namespace sonify::cli
