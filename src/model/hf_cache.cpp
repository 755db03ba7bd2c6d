// The Hugging Face hub cache, read offline (include/sonify/hf_cache.h).
#include "sonify/hf_cache.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>

#include "core/json_strict.h"
#include "sonify/model.h"

namespace sonify {
namespace {

namespace fs = std::filesystem;

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

// huggingface_hub's validate_repo_id: one optional namespace, word characters, '-' and
// '.', no "--" or ".." anywhere, neither at an end of a part.
bool valid_repo_id(const std::string& id) {
  static const std::regex pattern(R"(^([\w\-.]+/)?[\w\-.]+$)");
  if (id.empty() || id.size() > 96 || !std::regex_match(id, pattern)) return false;
  if (id.find("--") != std::string::npos || id.find("..") != std::string::npos) return false;
  std::size_t start = 0;
  while (start <= id.size()) {
    const std::size_t end = std::min(id.find('/', start), id.size());
    const char first = id[start], last = id[end - 1];
    if (first == '-' || first == '.' || last == '-' || last == '.') return false;
    start = end + 1;
  }
  return true;
}

// A branch, tag, PR ref (refs/pr/1) or commit hash: a relative path inside refs/ with
// no "..", so it cannot leave the model's folder.
bool valid_revision(const std::string& rev) {
  static const std::regex pattern(R"(^[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)*$)");
  return !rev.empty() && rev.size() <= 256 && std::regex_match(rev, pattern) &&
         rev.find("..") == std::string::npos;
}

std::string folder_of(const std::string& repo_id) {
  std::string folder = "models--" + repo_id;
  const std::size_t slash = folder.find('/');
  if (slash != std::string::npos) folder.replace(slash, 1, "--");
  return folder;
}

std::string repo_of(const std::string& folder) {
  std::string id = folder.substr(std::string("models--").size());
  const std::size_t sep = id.find("--");
  if (sep != std::string::npos) id.replace(sep, 2, "/");
  return id;
}

std::string read_ref(const fs::path& path) {
  std::ifstream in(path);
  std::string hash;
  in >> hash;
  return hash;
}

std::string download_hint(const std::string& repo, const std::string& revision) {
  return "fetch it with `huggingface-cli download " + repo +
         (revision.empty() ? "" : " --revision " + revision) + "`";
}

// The first file of the snapshot (top level, what a model directory is read from) that is
// a link whose target is gone: huggingface_hub links a file only once its blob is
// complete, so such a link means the blob was deleted.
std::string dangling_link(const fs::path& snapshot) {
  std::error_code ec;
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(snapshot, ec))
    if (entry.is_symlink(ec) && !fs::exists(entry.path(), ec))
      names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names.empty() ? std::string() : names.front();
}

// ref name (relative to refs/, e.g. "main", "pr/1") -> commit hash.
std::map<std::string, std::string> read_refs(const fs::path& model_dir) {
  std::map<std::string, std::string> refs;
  std::error_code ec;
  const fs::path root = model_dir / "refs";
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec))
    if (it->is_regular_file(ec))
      refs[fs::relative(it->path(), root, ec).generic_string()] = read_ref(it->path());
  return refs;
}

}  // namespace

std::string hf_hub_cache_dir() {
  for (const char* var : {"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"})
    if (!env(var).empty()) return env(var);
  if (!env("HF_HOME").empty()) return env("HF_HOME") + "/hub";
  if (!env("XDG_CACHE_HOME").empty()) return env("XDG_CACHE_HOME") + "/huggingface/hub";
  if (!env("HOME").empty()) return env("HOME") + "/.cache/huggingface/hub";
  return {};
}

Result<std::string> resolve_model_reference(const std::string& given) {
  return resolve_model_reference(given, hf_hub_cache_dir());
}

Result<std::string> resolve_model_reference(const std::string& given, const std::string& cache_dir) {
  std::error_code ec;
  if (given.empty() || fs::exists(given, ec)) return given;
  const std::size_t at = given.find('@');
  const std::string repo = given.substr(0, at);
  const std::string revision = at == std::string::npos ? std::string() : given.substr(at + 1);
  if (!valid_repo_id(repo) || (at != std::string::npos && !valid_revision(revision))) return given;
  const std::string local = fs::absolute(given, ec).string();
  if (cache_dir.empty())
    return fail("model '", given, "': no such file or directory (", local,
                "), and no Hugging Face cache to look in (HF_HUB_CACHE, HF_HOME and HOME are unset)");
  const fs::path model_dir = fs::path(cache_dir) / folder_of(repo);
  if (!fs::is_directory(model_dir, ec))
    return fail("model '", given, "' is neither a local path (", local, ") nor in the Hugging Face cache (",
                model_dir.string(), "): ", download_hint(repo, revision));
  const std::string rev = revision.empty() ? "main" : revision;
  std::string commit;
  if (fs::is_regular_file(model_dir / "refs" / rev, ec))
    commit = read_ref(model_dir / "refs" / rev);
  else if (fs::is_directory(model_dir / "snapshots" / rev, ec))
    commit = rev;  // a commit hash names its snapshot directly
  else
    return fail("model '", repo, "': revision '", rev, "' is not in the Hugging Face cache (no ",
                (model_dir / "refs" / rev).string(), " or ", (model_dir / "snapshots" / rev).string(),
                "): ", download_hint(repo, rev));
  const fs::path snapshot = model_dir / "snapshots" / commit;
  if (commit.empty() || commit.find('/') != std::string::npos || commit.find("..") != std::string::npos ||
      !fs::is_directory(snapshot, ec))
    return fail("model '", repo, "': refs/", rev, " names snapshot '", commit, "', which is not in ",
                (model_dir / "snapshots").string(), ": ", download_hint(repo, revision));
  const std::string broken = dangling_link(snapshot);
  if (!broken.empty())
    return fail(
        "model '", repo, "': ", (snapshot / broken).string(),
        " is a link to a missing blob (an incomplete or pruned download): ", download_hint(repo, revision));
  if (!fs::exists(snapshot / "config.json", ec))
    return fail("model '", repo, "': no config.json in ", snapshot.string(), ": ",
                download_hint(repo, revision));
  return snapshot.string();
}

Result<std::vector<CachedModel>> list_hf_cache(const std::string& cache_dir) {
  std::vector<CachedModel> out;
  std::error_code ec;
  if (cache_dir.empty() || !fs::is_directory(cache_dir, ec)) return out;
  for (const auto& model : fs::directory_iterator(cache_dir, ec)) {
    const std::string folder = model.path().filename().string();
    if (folder.rfind("models--", 0) != 0 || !model.is_directory(ec)) continue;
    const auto refs = read_refs(model.path());
    for (const auto& snap : fs::directory_iterator(model.path() / "snapshots", ec)) {
      if (!snap.is_directory(ec)) continue;
      CachedModel m;
      m.repo_id = repo_of(folder);
      m.commit = snap.path().filename().string();
      m.path = snap.path().string();
      for (const auto& [name, hash] : refs)
        if (hash == m.commit) m.revision += (m.revision.empty() ? "" : ",") + name;
      if (m.revision.empty()) m.revision = m.commit;
      bool has_weights = false;
      for (auto it = fs::recursive_directory_iterator(snap.path(), ec);
           !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        std::error_code size_ec;
        const auto size = fs::file_size(it->path(), size_ec);  // follows the link into blobs/
        if (!size_ec) m.bytes += static_cast<std::int64_t>(size);
        if (it->path().extension() == ".safetensors" && !size_ec) has_weights = true;
      }
      const std::string broken = dangling_link(snap.path());
      auto spec = model_spec_read((snap.path() / "config.json").string());
      if (spec.ok()) {
        m.family = std::string(family_name(spec.value().family));
      } else {
        auto config = json_read_file((snap.path() / "config.json").string());
        m.family = config.ok() && config.value().is_object() && config.value().contains("model_type") &&
                           config.value()["model_type"].is_string()
                       ? config.value()["model_type"].get<std::string>()
                       : "?";
      }
      if (!broken.empty())
        m.problem = broken + " is a link to a missing blob";
      else if (!spec.ok())  // the path is the listing's own column; keep the reason
        m.problem = spec.error().message.substr(
            spec.error().message.rfind((snap.path() / "config.json").string() + ": ", 0) == 0
                ? (snap.path() / "config.json").string().size() + 2
                : 0);
      else if (!has_weights)
        m.problem = "no .safetensors weights";
      m.supported = m.problem.empty();
      out.push_back(std::move(m));
    }
  }
  std::sort(out.begin(), out.end(), [](const CachedModel& a, const CachedModel& b) {
    return a.repo_id != b.repo_id ? a.repo_id < b.repo_id : a.revision < b.revision;
  });
  return out;
}

}  // namespace sonify
