// merge_album: the shard manifests of one sharded album → manifest.json and the album,
// the bytes one machine would have written (include/sonify/pipeline_album.h).
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>

#include "core/atomic_file.h"
#include "core/sha256.h"
#include "core/text_file.h"
#include "pipeline/album_assemble.h"
#include "sonify/pipeline_album.h"
#include "sonify/report.h"

namespace sonify {
namespace {

using nlohmann::ordered_json;

std::string shard_label(int k, int n) { return "shard " + std::to_string(k) + "/" + std::to_string(n); }

// The N of the shard manifests in `dir`; more than one N means stale manifests of an
// earlier split are lying beside the current ones.
Result<int> shard_count(const std::string& dir) {
  static const std::regex name(R"(shard-(\d{1,6})-of-(\d{1,6})\.json)");
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return fail(dir, ": not a directory");
  std::map<int, int> counts;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    std::smatch m;
    const std::string f = e.path().filename().string();
    if (std::regex_match(f, m, name)) ++counts[std::stoi(m[2].str())];
  }
  if (counts.empty())
    return fail(dir, ": no shard manifests (shard-K-of-N.json): run `sonify album LIST --shard K/N -o ", dir,
                "` for every K first");
  if (counts.size() > 1)
    return fail(dir, ": shard manifests of ", counts.begin()->first, " and ", counts.rbegin()->first,
                " shards; remove the stale ones");
  return counts.begin()->first;
}

Result<ordered_json> read_shard(const std::string& dir, int k, int n) {
  const std::string path = pipeline::album_shard_path(dir, k, n);
  auto text = read_text(path);
  if (!text.ok())
    return fail(shard_label(k, n), " is missing: no ", path, " (run `sonify album LIST --shard ", k, "/", n,
                " -o ", dir, "`)");
  auto m = ordered_json::parse(*text, nullptr, false);
  if (m.is_discarded() || !m.is_object() || !m.contains("tracks") || !m["tracks"].is_array() ||
      !m.contains("complete") || !m.contains("tracks_total") || !m["tracks_total"].is_number_integer())
    return fail(shard_label(k, n), ": ", path, " is not a shard manifest");
  if (m["complete"] != true)
    return fail(shard_label(k, n), " is unfinished (", m["tracks"].size(),
                " tracks listed): run it again, it resumes");
  return m;
}

// The fields every shard must agree on, as a shard's manifest names them.
const char* const kSameFields[] = {"sonify",      "list_sha256", "model_sha256", "options",     "mode",
                                   "gap_seconds", "midi_only",   "master",       "tracks_total"};

Status check_files(const pipeline::AlbumLayout& layout, const std::string& label, const ordered_json& row) {
  const std::string name = row.value("name", "");
  if (name.empty() || name.find('/') != std::string::npos || !row.contains("sha256"))
    return fail(label, ": track ", row.value("track", 0), " has no name or file hashes");
  for (const std::string& ext : pipeline::album_track_exts(layout)) {
    const std::string path = layout.dir + "/" + name + ext;
    auto sum = sha256_file(path);
    if (!sum.ok()) return fail(label, ": ", name, ext, " is missing or unreadable (run the shard again)");
    if (row["sha256"].value(ext.substr(1), "") != *sum)
      return fail(label, ": ", name, ext, " differs from what the shard recorded (run the shard again)");
  }
  return Status::Ok();
}

}  // namespace

Result<AlbumRun> merge_album(const AlbumMergeRequest& request) {
  const std::string& dir = request.dir;
  SONIFY_ASSIGN_OR_RETURN(n, shard_count(dir));
  std::vector<ordered_json> shards;
  for (int k = 0; k < n; ++k) {
    SONIFY_ASSIGN_OR_RETURN(m, read_shard(dir, k, n));
    shards.push_back(std::move(m));
  }
  const ordered_json& first = shards.front();
  if (!request.version.empty() && first.value("sonify", "") != request.version)
    return fail(shard_label(0, n), " was written by sonify ", first.value("sonify", "?"), ", this is sonify ",
                request.version, ": merge with the same build");
  for (int k = 1; k < n; ++k)
    for (const char* field : kSameFields)
      if (shards[static_cast<std::size_t>(k)].value(field, ordered_json()) !=
          first.value(field, ordered_json()))
        return fail(shard_label(k, n), " differs from ", shard_label(0, n), " in ", field, " (",
                    shards[static_cast<std::size_t>(k)].value(field, ordered_json()).dump(), " vs ",
                    first.value(field, ordered_json()).dump(),
                    "): run it again with the same list and options");
  const int total = first["tracks_total"].get<int>();
  const pipeline::AlbumLayout layout{dir, first.value("mode", "album"), first.value("gap_seconds", 2.0),
                                     first.value("midi_only", false), first.value("master", "per-track")};
  std::vector<ordered_json> rows(static_cast<std::size_t>(total));
  AlbumRun run;
  for (int k = 0; k < n; ++k) {
    const std::string label = shard_label(k, n);
    for (ordered_json row : shards[static_cast<std::size_t>(k)]["tracks"]) {
      const int track = row.value("track", 0);
      if (track < 1 || track > total || !rows[static_cast<std::size_t>(track - 1)].is_null())
        return fail(label, ": track ", track, " is outside 1..", total, " or listed twice");
      if (row.contains("error")) {
        ++run.failures;
      } else {
        SONIFY_TRY(check_files(layout, label, row));
        ++run.done;
      }
      row.erase("resumed");  // how a shard got there, not what the album is
      rows[static_cast<std::size_t>(track - 1)] = std::move(row);
    }
  }
  for (int t = 0; t < total; ++t)
    if (rows[static_cast<std::size_t>(t)].is_null())
      return fail("track ", t + 1, " of ", total, " is in no shard manifest (were they edited?)");
  SONIFY_ASSIGN_OR_RETURN(assembly, pipeline::album_assemble(layout, &rows));
  run.manifest_path = dir + "/manifest.json";
  SONIFY_TRY(write_file_atomic(
      run.manifest_path,
      pipeline::album_manifest_text(first.value("model", ""), layout, assembly.master, true, rows)));
  run.tracks = total;
  run.seconds = assembly.seconds;
  if (request.report) {
    SONIFY_ASSIGN_OR_RETURN(pages, report_write(run.manifest_path, ReportOptions{}));
    run.pages = std::move(pages.written);
    run.notes = std::move(pages.notes);
  }
  return run;
}

}  // namespace sonify
