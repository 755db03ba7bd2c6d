// SHA-256 of a model's weight files, cached by checkpoint identity: the provenance of
// `weights` runs and albums (pipeline-internal).
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>

#include "sonify/model.h"
#include "sonify/result.h"

namespace sonify::pipeline {

// [{path, size_bytes, sha256}] for every weight file, from <cache>/sha256-<identity>.json
// when it holds one entry per file, else hashed and stored there (shards on other machines
// see other paths and mtimes, so the content is what they compare; hashing a 16 GB
// checkpoint takes seconds, a warm run must not). `progress` (may be empty) gets the bytes
// hashed so far and the total after every MiB; it may throw to stop the hashing.
Result<nlohmann::json> weight_file_hashes(
    const Model& model, const std::function<void(std::uint64_t done, std::uint64_t total)>& progress = {});

}  // namespace sonify::pipeline
