#include "pipeline/weight_hashes.h"

#include <filesystem>

#include "core/atomic_file.h"
#include "core/sha256.h"
#include "core/text_file.h"
#include "sonify/analysis.h"

namespace sonify::pipeline {

namespace {

// Whether a cached list names every file of the checkpoint with a hash.
bool complete(const nlohmann::json& files, std::size_t count) {
  if (!files.is_array() || files.size() != count) return false;
  for (const auto& f : files)
    if (!f.is_object() || !f.contains("sha256") || !f["sha256"].is_string()) return false;
  return true;
}

}  // namespace

Result<nlohmann::json> weight_file_hashes(const Model& model,
                                          const std::function<void(std::uint64_t, std::uint64_t)>& progress) {
  SONIFY_ASSIGN_OR_RETURN(identity, checkpoint_identity(model));
  const auto& shards = model.checkpoint().files();
  std::string cache_path;
  if (auto dir = cache_dir(); dir.ok()) cache_path = *dir + "/sha256-" + identity + ".json";
  if (!cache_path.empty()) {
    if (auto text = read_text(cache_path); text.ok()) {
      nlohmann::json cached = nlohmann::json::parse(*text, nullptr, false);
      if (complete(cached, shards.size())) return cached;
    }
  }
  nlohmann::json files = nlohmann::json::array();
  std::uint64_t total = 0, before = 0;
  for (const auto& f : shards) total += f.size_bytes;
  for (const auto& f : shards) {
    std::function<void(std::uint64_t)> advance;
    if (progress) advance = [&](std::uint64_t bytes) { progress(before + bytes, total); };
    SONIFY_ASSIGN_OR_RETURN(hash, sha256_file(f.path, advance));
    before += f.size_bytes;
    files.push_back({{"path", f.path}, {"size_bytes", f.size_bytes}, {"sha256", hash}});
  }
  if (!cache_path.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(cache_path).parent_path(), ec);
    (void)write_file_atomic(cache_path, files.dump(),
                            Replace::Any);  // a cache: failing to store it is no error
  }
  return files;
}

}  // namespace sonify::pipeline
