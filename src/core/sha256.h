// SHA-256 (FIPS 180-4) of files, for the model identity in run records.
#pragma once

#include <string>

#include "sonify/result.h"

namespace sonify {

// Lower-case hex SHA-256 of the file's bytes.
Result<std::string> sha256_file(const std::string& path);

// Lower-case hex SHA-256 of `data`.
std::string sha256_hex(const std::string& data);

}  // namespace sonify
