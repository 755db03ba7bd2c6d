// `sonify genres [NAME]`: the genres with one line each, or every parameter of one genre
// (type, default, range, meaning) from the registry that also validates `sonify weights --set`.
#include <cstdio>
#include <filesystem>

#include "cli_common.h"
#include "sonify/genres.h"

namespace sonify::cli {
namespace {

int run_genres(const std::string& name) {
  if (name.empty()) {
    for (const auto& g : all_genres()) std::printf("%-8s %s\n", g.name.c_str(), g.summary.c_str());
    std::printf(
        "\nsonify genres NAME lists a genre's parameters; sonify weights --genre NAME --set key=value\n");
    return 0;
  }
  SONIFY_ASSIGN_OR_REPORT(genre, find_genre(name));
  SONIFY_ASSIGN_OR_REPORT(params, genre_params(*genre, genre_config_dir(), {}));
  const std::string config = genre_config_path(genre_config_dir(), genre->name);
  std::error_code ec;
  std::printf("%s: %s\n(defaults: the registry%s%s)\n\n", genre->name.c_str(), genre->summary.c_str(),
              std::filesystem::exists(config, ec) ? ", overridden by " : "; a file here overrides them: ",
              config.c_str());
  std::printf("%-18s %-7s %-10s %-24s %s\n", "parameter", "type", "default", "range", "meaning");
  for (const auto& p : genre->params) {
    std::string range = param_range_text(p);
    if (range.size() > 24) range = range.substr(0, 21) + "...";
    std::printf("%-18s %-7s %-10s %-24s %s\n", p.name.c_str(), param_type_name(p.type),
                params.text(p.name).c_str(), range.c_str(), p.meaning.c_str());
    if (p.type == ParamType::Choice && param_range_text(p).size() > 24)
      std::printf("%-18s %-7s %-10s one of: %s\n", "", "", "", param_range_text(p).c_str());
  }
  return 0;
}

}  // namespace

void register_genres(CLI::App& app, int* exit_code) {
  auto name = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("genres", "List the weight genres, or one genre's parameters");
  cmd->add_option("name", *name, "Genre to describe");
  cmd->callback([name, exit_code] { *exit_code = run_genres(*name); });
}

}  // namespace sonify::cli
