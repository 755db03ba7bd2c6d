#include "run.h"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>

#include "core/json_strict.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace sonify::report {

const char* run_kind_name(RunKind kind) {
  switch (kind) {
    case RunKind::Weights:
      return "weights";
    case RunKind::Prompt:
      return "prompt";
    case RunKind::Album:
      return "album";
  }
  return "?";
}

Result<RunKind> run_kind_of(const json& j, const std::string& path) {
  const auto has = [&](const char* key) { return j.is_object() && j.contains(key); };
  if (has("genre") && has("sections") && has("provenance")) return RunKind::Weights;
  if (has("prompt") && has("token_ids")) return RunKind::Prompt;
  if (has("tracks") && has("complete") && j["tracks"].is_array()) return RunKind::Album;
  if (has("matrices") && has("format_version"))
    return fail(path,
                ": a features file (sonify analyze), not a run: pass a run's NAME.json or its directory");
  if (has("words") && has("duration")) return fail(path, ": a timing file: pass the NAME.json beside it");
  return fail(path,
              ": not a sonify run (expected NAME.json from sonify weights or prompt, or an album's "
              "manifest.json)");
}

namespace {

Result<Run> run_from_json_file(const std::string& path) {
  SONIFY_ASSIGN_OR_RETURN(j, json_read_file(path));
  SONIFY_ASSIGN_OR_RETURN(kind, run_kind_of(j, path));
  Run run;
  run.kind = kind;
  const fs::path p(path);
  run.dir = p.has_parent_path() ? p.parent_path().string() : ".";
  run.name = p.stem().string();
  run.json_path = path;
  run.json = std::move(j);
  return run;
}

}  // namespace

Result<Run> run_locate(const std::string& path) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (!fs::exists(status)) return fail(path, ": no such file or directory");
  if (!fs::is_directory(status)) return run_from_json_file(path);

  const fs::path manifest = fs::path(path) / "manifest.json";
  if (fs::is_regular_file(manifest, ec)) return run_from_json_file(manifest.string());
  std::vector<std::string> runs;
  for (const auto& entry : fs::directory_iterator(path, ec)) {
    const std::string file = entry.path().filename().string();
    const bool timing = file.size() > 12 && file.compare(file.size() - 12, 12, ".timing.json") == 0;
    if (!entry.is_regular_file() || entry.path().extension() != ".json" || file.front() == '.' || timing)
      continue;
    auto j = json_read_file(entry.path().string());
    if (j.ok() && run_kind_of(*j, file).ok()) runs.push_back(entry.path().string());
  }
  if (ec) return fail(path, ": cannot list: ", ec.message());
  if (runs.empty())
    return fail(path, ": no run here (no NAME.json from sonify weights or prompt, no album manifest.json)");
  if (runs.size() > 1) {
    std::sort(runs.begin(), runs.end());
    std::string names;
    for (const auto& r : runs) names += (names.empty() ? "" : ", ") + fs::path(r).filename().string();
    return fail(path, ": ", runs.size(), " runs here (", names, "): pass one of them");
  }
  return run_from_json_file(runs[0]);
}

Result<double> wav_seconds(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(path, ": cannot read");
  const auto u32 = [](const unsigned char* b) {
    return static_cast<std::uint32_t>(b[0]) | static_cast<std::uint32_t>(b[1]) << 8 |
           static_cast<std::uint32_t>(b[2]) << 16 | static_cast<std::uint32_t>(b[3]) << 24;
  };
  unsigned char riff[12];
  if (!in.read(reinterpret_cast<char*>(riff), 12) || std::string(riff, riff + 4) != "RIFF" ||
      std::string(riff + 8, riff + 12) != "WAVE")
    return fail(path, ": not a WAV file");
  std::uint32_t byte_rate = 0;
  unsigned char chunk[8];
  while (in.read(reinterpret_cast<char*>(chunk), 8)) {
    const std::string id(chunk, chunk + 4);
    const std::uint32_t size = u32(chunk + 4);
    if (id == "fmt " && size >= 16) {
      unsigned char fmt[16];
      if (!in.read(reinterpret_cast<char*>(fmt), 16)) break;
      byte_rate = u32(fmt + 8);
      in.seekg(size - 16 + (size & 1), std::ios::cur);
    } else if (id == "data") {
      if (byte_rate == 0) break;
      return static_cast<double>(size) / byte_rate;
    } else {
      in.seekg(size + (size & 1), std::ios::cur);
    }
  }
  return fail(path, ": WAV file without a format or data chunk");
}

}  // namespace sonify::report
