// Where a genre's defaults live and how --set is resolved against them (shared by
// `sonify weights` and `sonify genres`).
#pragma once

#include <string>
#include <vector>

#include "sonify/genres.h"

namespace sonify::cli {

// configs/genres/NAME.json in the source tree, or $SONIFY_GENRE_CONFIG_DIR/NAME.json.
std::string genre_config_path(const std::string& genre);

// The registry's defaults, then the config file's (when it exists), then `sets`.
Result<GenreParams> genre_params(const Genre& genre, const std::vector<std::string>& sets);

}  // namespace sonify::cli
