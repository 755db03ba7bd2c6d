// run_weights_list and merge_weights_list (include/sonify/pipeline_weights.h).
#include <cctype>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/atomic_file.h"
#include "core/output_set.h"
#include "core/sha256.h"
#include "core/text_file.h"
#include "sonify/hf_cache.h"
#include "sonify/pipeline_weights.h"

namespace sonify {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::vector<std::string> list_entries(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
    std::size_t first = 0;
    while (first < line.size() && std::isspace(static_cast<unsigned char>(line[first]))) ++first;
    line = line.substr(first);
    if (!line.empty() && line[0] != '#') out.push_back(line);
  }
  return out;
}

// "007-TinyStories-656K" for entry 7: the index keeps names unique, the model keeps them readable.
std::string entry_dir(std::size_t index, const std::string& model) {
  std::string base = model;
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  std::error_code ec;
  const bool path_like = fs::exists(model, ec) || model[0] == '/' || model[0] == '.' || model[0] == '~';
  if (path_like) base = fs::path(base).filename().string();  // else ORG/NAME: both parts
  std::string slug;
  for (unsigned char c : base) slug += std::isalnum(c) || c == '.' || c == '_' ? static_cast<char>(c) : '-';
  char prefix[16];
  std::snprintf(prefix, sizeof prefix, "%03zu-", index);
  return prefix + slug;
}

json options_json(const WeightsRequest& r) {
  return {{"sets", r.sets}, {"midi_only", r.midi_only}, {"soundfont", r.soundfont}};
}

std::string shard_name(int shard, int shards) {
  return "weights-shard-" + std::to_string(shard) + "-of-" + std::to_string(shards) + ".json";
}

}  // namespace

Result<WeightsListRun> run_weights_list(const WeightsListRequest& req) {
  if (req.shards < 1 || req.shard < 0 || req.shard >= req.shards)
    return fail("--shard ", req.shard, "/", req.shards, ": expected K/N with 0 <= K < N");
  SONIFY_ASSIGN_OR_RETURN(text, read_text(req.list_path));
  const auto entries = list_entries(text);
  if (entries.empty()) return fail(req.list_path, ": no model in the list");
  SONIFY_TRY(ensure_output_dir(req.base.out_dir));
  WeightsListRun run;
  run.total = entries.size();
  json rows = json::array();
  int mine = 0;
  for (std::size_t i = 0; i < entries.size(); ++i)
    mine += static_cast<int>(i % static_cast<std::size_t>(req.shards)) == req.shard;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (static_cast<int>(i % static_cast<std::size_t>(req.shards)) != req.shard) continue;
    WeightsRequest one = req.base;
    const std::string dir = entry_dir(i, entries[i]);
    one.out_dir = req.base.out_dir + "/" + dir;
    json row = {{"index", i}, {"model", entries[i]}, {"dir", dir}};
    auto path = resolve_model_reference(entries[i]);
    Result<WeightsRun> result =
        path.ok() ? (one.model_path = *path, run_weights(one)) : Result<WeightsRun>(path.error());
    if (result.ok()) {
      ++run.done;
      json files = json::array();
      for (const auto& f : result->files) files.push_back(dir + "/" + fs::path(f).filename().string());
      row.update({{"ok", true},
                  {"files", files},
                  {"key", result->key_root + " " + result->key_mode},
                  {"tempo_bpm", result->tempo_bpm},
                  {"length_seconds", result->length_seconds}});
    } else {
      ++run.failed;
      run.errors.push_back(dir + ": " + result.error().message);
      row.update({{"ok", false}, {"error", result.error().message}});
    }
    rows.push_back(row);
    if (req.on_progress) req.on_progress(static_cast<int>(rows.size()), mine);
  }
  SONIFY_ASSIGN_OR_RETURN(list_hash, sha256_file(req.list_path));
  json manifest = {{"list", req.list_path},
                   {"list_sha256", list_hash},
                   {"genre", req.base.genre},
                   {"options", options_json(req.base)},
                   {"shard", req.shard},
                   {"shards", req.shards},
                   {"entries_total", entries.size()},
                   {"entries", rows}};
  run.manifest = req.base.out_dir + "/" + shard_name(req.shard, req.shards);
  SONIFY_TRY(write_file_atomic(run.manifest, manifest.dump(2) + "\n"));
  return run;
}

Result<std::string> merge_weights_list(const std::string& out_dir, const std::string& genre) {
  std::error_code ec;
  std::map<int, json> shards;
  int count = 0;
  for (const auto& e : fs::directory_iterator(out_dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("weights-shard-", 0) != 0 || e.path().extension() != ".json") continue;
    SONIFY_ASSIGN_OR_RETURN(text, read_text(e.path().string()));
    json j = json::parse(text, nullptr, false);
    if (!j.is_object() || !j.contains("shards") || !j.contains("shard") || !j.contains("entries"))
      return fail(e.path().string(), ": not a weights shard manifest");
    const int n = j["shards"].get<int>(), k = j["shard"].get<int>();
    if (count != 0 && n != count)
      return fail(out_dir, ": shards of ", count, " and of ", n, " runs are mixed");
    count = n;
    shards[k] = std::move(j);
  }
  if (ec) return fail(out_dir, ": ", ec.message());
  if (shards.empty()) return fail(out_dir, ": no weights-shard-K-of-N.json; run the shards first");
  const json& first = shards.begin()->second;
  std::map<std::size_t, json> models;
  for (int k = 0; k < count; ++k) {
    auto it = shards.find(k);
    if (it == shards.end()) return fail(out_dir, ": ", shard_name(k, count), " is missing");
    const json& s = it->second;
    if (s["list_sha256"] != first["list_sha256"] || s["options"] != first["options"] ||
        s["genre"] != first["genre"] || s["entries_total"] != first["entries_total"])
      return fail(out_dir, ": ", shard_name(k, count), " ran another list, genre or options than ",
                  shard_name(shards.begin()->first, count));
    for (const auto& row : s["entries"]) {
      if (!row.value("ok", false))
        return fail(out_dir, ": ", row.value("dir", std::string("?")), " failed in ", shard_name(k, count),
                    ": ", row.value("error", std::string("?")));
      for (const auto& f : row["files"])
        if (!fs::is_regular_file(out_dir + "/" + f.get<std::string>(), ec))
          return fail(out_dir, ": ", f.get<std::string>(), " is missing");
      models[row["index"].get<std::size_t>()] = row;
    }
  }
  if (first["genre"] != genre)
    return fail(out_dir, ": the shards ran genre ", first["genre"].get<std::string>(), ", not ", genre);
  const auto total = first["entries_total"].get<std::size_t>();
  json list = json::array();
  for (std::size_t i = 0; i < total; ++i) {
    auto it = models.find(i);
    if (it == models.end()) return fail(out_dir, ": entry ", i, " of the list is in no shard");
    list.push_back(it->second);
  }
  const json index = {{"list_sha256", first["list_sha256"]},
                      {"genre", first["genre"]},
                      {"options", first["options"]},
                      {"models", list}};
  const std::string path = out_dir + "/index.json";
  SONIFY_TRY(write_file_atomic(path, index.dump(2) + "\n"));
  return path;
}

}  // namespace sonify
