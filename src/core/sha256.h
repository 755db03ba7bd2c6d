// SHA-256 (FIPS 180-4) of files, for the model identity in run records.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "sonify/result.h"

namespace sonify {

// Lower-case hex SHA-256 of the file's bytes. `progress` (may be empty) gets the bytes
// hashed so far after every 1 MiB read; it may throw to stop (the file is closed).
Result<std::string> sha256_file(const std::string& path,
                                const std::function<void(std::uint64_t bytes)>& progress = {});

// Which compression code to use: the CPU's SHA instructions when it has them (Fastest),
// or the portable code (for tests that compare the two).
enum class Sha256Code { Fastest, Portable };

// Lower-case hex SHA-256 of `data`.
std::string sha256_hex(const std::string& data, Sha256Code code = Sha256Code::Fastest);

// Whether this CPU runs the SHA instructions (x86 SHA-NI).
bool sha256_has_hardware();

}  // namespace sonify
