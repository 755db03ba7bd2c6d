// Strict JSON parsing for files a user hands us: UTF-8 checked, duplicate keys
// refused (nlohmann would silently keep the last), errors as one-line messages.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "sonify/result.h"

namespace sonify {

// Parses `text` as one JSON value (surrounding whitespace allowed). `what` names the
// source in error messages, e.g. the file path.
Result<nlohmann::json> json_parse_strict(std::string_view text, const std::string& what);

// Reads and parses a whole file with json_parse_strict.
Result<nlohmann::json> json_read_file(const std::string& path);

}  // namespace sonify
