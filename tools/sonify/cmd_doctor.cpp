// `sonify doctor`: what this machine gives sonify (BLAS, threads, torch, soundfont),
// with a warning for each thing that will make it slow or fail.
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "sonify/soundfont.h"
#include "sonify/system_probe.h"
#include "sonify/torch_info.h"

namespace sonify::cli {

namespace {

int run_doctor(bool as_json) {
  nlohmann::ordered_json j;
  std::vector<std::string> warnings;
  j["sonify"] = SONIFY_VERSION;
  j["cpus"] = cpu_count();
  j["default_threads"] = default_threads();
  const BlasInfo blas = blas_probe();
  j["blas"] = {{"kind", blas.found ? blas.kind : "none"},
               {"library", blas.library},
               {"threads", blas.threads},
               {"config", blas.config}};
  if (!blas.found)
    warnings.push_back("no libblas.so.3 found: install libopenblas0-pthread");
  else if (blas.is_reference())
    warnings.push_back("the reference BLAS is active (10-30x slower): apt-get install libopenblas0-pthread");
  auto plugin = torch_plugin_open();
  TorchInfo torch;
  if (plugin.ok()) {
    torch = plugin->info();
    j["torch"] = {{"version", torch.version}, {"threads", torch.intra_op_threads}, {"mkldnn", torch.mkldnn}};
  } else {
    j["torch"] = nullptr;
    warnings.push_back(plugin.error().message);
  }
  auto soundfont = soundfont_find("");
  j["soundfont"] = soundfont.ok() ? soundfont.value() : std::string();
  if (!soundfont.ok()) warnings.push_back(soundfont.error().message);
  j["fluidsynth"] = fluidsynth_version();
  j["warnings"] = warnings;
  if (as_json) {
    std::printf("%s\n", j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace).c_str());
  } else {
    std::printf("sonify      %s\n", SONIFY_VERSION);
    std::printf("cpus        %d (commands use %d thread%s by default%s)\n", cpu_count(), default_threads(),
                default_threads() == 1 ? "" : "s",
                std::getenv("SONIFY_THREADS") != nullptr ? ", from SONIFY_THREADS" : "");
    if (blas.found) {
      std::printf("blas        %s (%s)", blas.kind.c_str(), blas.library.c_str());
      if (blas.threads > 0) std::printf(", %d threads", blas.threads);
      std::printf("\n");
    } else {
      std::printf("blas        none found\n");
    }
    if (plugin.ok())
      std::printf("libtorch    %s, %d threads, oneDNN %s\n", torch.version.c_str(), torch.intra_op_threads,
                  torch.mkldnn ? "yes" : "no");
    else
      std::printf("libtorch    not available\n");
    std::printf("fluidsynth  %s\n", fluidsynth_version().c_str());
    std::printf("soundfont   %s\n", soundfont.ok() ? soundfont.value().c_str() : "none");
    for (const auto& w : warnings) std::fprintf(stderr, "sonify: warning: %s\n", w.c_str());
  }
  return 0;
}

}  // namespace

void register_doctor(CLI::App& app, int* exit_code) {
  auto json = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("doctor", "Report BLAS, threads, libtorch and soundfont in use");
  cmd->add_flag("--json", *json, "Print one JSON object");
  cmd->callback([json, exit_code] { *exit_code = run_doctor(*json); });
}

}  // namespace sonify::cli
