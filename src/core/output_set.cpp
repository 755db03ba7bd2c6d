#include "core/output_set.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <utility>

#include "core/atomic_file.h"
#include "core/partial_files.h"

namespace sonify {
namespace fs = std::filesystem;

Status ensure_output_dir(const std::string& dir) {
  std::error_code ec;
  if (fs::is_directory(dir, ec)) return Status::Ok();
  if (fs::exists(dir, ec)) return fail(dir, ": exists and is not a directory");
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir, ec))
    return fail(dir, ": cannot create the output directory", ec ? ": " + ec.message() : std::string());
  return Status::Ok();
}

OutputSet::OutputSet(std::string dir, std::string name) : dir_(std::move(dir)), name_(std::move(name)) {}

OutputSet::OutputSet(OutputSet&& other) noexcept
    : dir_(std::move(other.dir_)),
      name_(std::move(other.name_)),
      exts_(std::move(other.exts_)),
      committed_(std::exchange(other.committed_, true)) {}

Result<OutputSet> OutputSet::open(const std::string& dir, const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos)
    return fail("output name '", name, "' must be a plain file name (no '/', not '.' or '..')");
  SONIFY_TRY(ensure_output_dir(dir));
  partial_files_sweep(dir);
  return OutputSet(dir, name);
}

OutputSet::~OutputSet() {
  if (committed_) return;
  std::error_code ec;
  for (const auto& ext : exts_) {
    fs::remove(temp_of(ext), ec);
    partial_file_remove(temp_of(ext));
  }
}

std::string OutputSet::final_path(const std::string& ext) const {
  return (fs::path(dir_) / (name_ + ext)).string();
}

// Hidden, and unique per process and host, so concurrent runs into one directory (on a
// shared file system too) never collide.
std::string OutputSet::temp_of(const std::string& ext) const {
  return (fs::path(dir_) / partial_name(name_, ".partial-", ext)).string();
}

std::string OutputSet::temp_path(const std::string& ext) {
  if (std::find(exts_.begin(), exts_.end(), ext) == exts_.end()) {
    exts_.push_back(ext);
    partial_file_add(temp_of(ext));
  }
  return temp_of(ext);
}

Status OutputSet::write(const std::string& ext, std::string_view bytes) {
  return write_file_atomic(temp_path(ext), bytes);
}

Status OutputSet::commit(const std::vector<std::string>& stale) {
  // Every check that can fail runs before the first rename, so a set is never half there.
  for (const auto& ext : exts_) {
    if (const auto file = fs::path(final_path(ext)).filename().string(); file.size() > 255)
      return fail(final_path(ext), ": cannot write: the file name is ", file.size(),
                  " bytes, more than the 255 a file system allows (choose a shorter name)");
    SONIFY_TRY(check_replaceable(final_path(ext)));
    SONIFY_TRY(check_same_kind(final_path(ext), temp_of(ext)));
  }
  for (const auto& ext : exts_) {
    std::error_code ec;
    fs::rename(temp_of(ext), final_path(ext), ec);
    if (ec) return fail(final_path(ext), ": cannot write: ", ec.message());
    partial_file_remove(temp_of(ext));
  }
  committed_ = true;
  std::error_code ec;
  for (const auto& ext : stale)
    if (std::find(exts_.begin(), exts_.end(), ext) == exts_.end()) fs::remove(final_path(ext), ec);
  return Status::Ok();
}

}  // namespace sonify
