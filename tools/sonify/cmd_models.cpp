// `sonify models`: the models in the Hugging Face hub cache, with family, size and whether
// sonify can read them; any of them can be passed as `--model ORG/NAME[@REVISION]`.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "sonify/hf_cache.h"

namespace sonify::cli {
namespace {

std::string human_size(std::int64_t bytes) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1000 && u < 4) {
    v /= 1000;
    ++u;
  }
  char text[32];
  std::snprintf(text, sizeof text, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return text;
}

int run_models(bool as_json) {
  const std::string cache = hf_hub_cache_dir();
  SONIFY_ASSIGN_OR_REPORT(models, list_hf_cache(cache));
  if (as_json) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const auto& m : models)
      list.push_back({{"repo_id", m.repo_id},
                      {"revision", m.revision},
                      {"commit", m.commit},
                      {"path", m.path},
                      {"family", m.family},
                      {"bytes", m.bytes},
                      {"supported", m.supported},
                      {"problem", m.problem}});
    std::printf("%s\n", nlohmann::ordered_json{{"cache", cache}, {"models", list}}.dump(2).c_str());
    return 0;
  }
  std::printf("Hugging Face cache: %s\n",
              cache.empty() ? "(none: HF_HUB_CACHE, HF_HOME and HOME unset)" : cache.c_str());
  if (models.empty()) {
    std::printf("no models cached; fetch one with `huggingface-cli download ORG/NAME`\n");
    return 0;
  }
  std::printf("%-40s %-12s %-10s %9s  %s\n", "model", "revision", "family", "size", "supported");
  for (const auto& m : models) {
    std::string rev = m.revision.size() > 12 ? m.revision.substr(0, 12) : m.revision;
    std::printf("%-40s %-12s %-10s %9s  %s\n", m.repo_id.c_str(), rev.c_str(), m.family.c_str(),
                human_size(m.bytes).c_str(), m.supported ? "yes" : ("no: " + m.problem).c_str());
  }
  std::printf("\nuse one with --model ORG/NAME (or ORG/NAME@REVISION)\n");
  return 0;
}

}  // namespace

void register_models(CLI::App& app, int* exit_code) {
  auto as_json = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("models", "List the models in the Hugging Face cache (offline)");
  cmd->add_flag("--json", *as_json, "Machine-readable output");
  cmd->callback([as_json, exit_code] { *exit_code = run_models(*as_json); });
}

}  // namespace sonify::cli
