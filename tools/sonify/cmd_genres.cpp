// `sonify genres [NAME]`: the genres with one line each, or every parameter of one genre
// (type, default from configs/genres/NAME.json, range, meaning) from the registry that
// also validates `sonify weights --set`.
#include <cstdio>

#include "cli_common.h"
#include "genre_config.h"
#include "sonify/genres.h"

namespace sonify::cli {

void register_genres(CLI::App& app, int* exit_code) {
  auto name = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("genres", "List the weight genres, or one genre's parameters");
  cmd->add_option("name", *name, "Genre to describe");
  cmd->callback([name, exit_code] {
    if (name->empty()) {
      for (const auto& g : all_genres()) std::printf("%-8s %s\n", g.name.c_str(), g.summary.c_str());
      std::printf("\nsonify genres NAME lists a genre's parameters; sonify weights --genre NAME --set key=value\n");
      return;
    }
    auto genre = find_genre(*name);
    if (!genre.ok()) return void(*exit_code = report(genre.error()));
    auto params = genre_params(**genre, {});
    if (!params.ok()) return void(*exit_code = report(params.error()));
    std::printf("%s: %s\n(defaults: %s)\n\n", (*genre)->name.c_str(), (*genre)->summary.c_str(),
                genre_config_path((*genre)->name).c_str());
    std::printf("%-18s %-7s %-10s %-24s %s\n", "parameter", "type", "default", "range", "meaning");
    for (const auto& p : (*genre)->params) {
      std::string range = param_range_text(p);
      if (range.size() > 24) range = range.substr(0, 21) + "...";
      std::printf("%-18s %-7s %-10s %-24s %s\n", p.name.c_str(), param_type_name(p.type), params->text(p.name).c_str(),
                  range.c_str(), p.meaning.c_str());
      if (p.type == ParamType::Choice && param_range_text(p).size() > 24)
        std::printf("%-18s %-7s %-10s one of: %s\n", "", "", "", param_range_text(p).c_str());
    }
  });
}

}  // namespace sonify::cli
