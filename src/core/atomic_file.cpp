#include "core/atomic_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

namespace sonify {

AtomicFile::AtomicFile(std::string path, std::string temp_path, std::FILE* file)
    : path_(std::move(path)), temp_path_(std::move(temp_path)), file_(file) {}

AtomicFile::AtomicFile(AtomicFile&& other) noexcept
    : path_(std::move(other.path_)),
      temp_path_(std::move(other.temp_path_)),
      file_(std::exchange(other.file_, nullptr)),
      committed_(std::exchange(other.committed_, true)) {}

Result<AtomicFile> AtomicFile::create(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  std::error_code ec;
  if (fs::is_directory(target, ec)) return fail(path, ": is a directory, cannot write a file there");
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  if (!fs::is_directory(dir, ec)) return fail(path, ": cannot write: directory ", dir.string(), " does not exist");
  const std::string temp = (dir / ("." + target.filename().string() + ".tmp-" + std::to_string(::getpid()))).string();
  std::FILE* f = std::fopen(temp.c_str(), "wb");
  if (f == nullptr) return fail(path, ": cannot write: ", std::strerror(errno));
  return AtomicFile(path, temp, f);
}

AtomicFile::~AtomicFile() {
  if (file_ != nullptr) std::fclose(file_);
  if (!committed_) std::remove(temp_path_.c_str());
}

Status AtomicFile::write(const void* data, std::size_t size) {
  if (size > 0 && std::fwrite(data, 1, size, file_) != size)
    return fail(path_, ": write failed: ", std::strerror(errno));
  return Status::Ok();
}

Status AtomicFile::commit() {
  std::FILE* f = std::exchange(file_, nullptr);
  const bool flushed = std::fflush(f) == 0;
  const int flush_errno = errno;
  const bool closed = std::fclose(f) == 0;
  if (!flushed || !closed)
    return fail(path_, ": write failed: ", std::strerror(flushed ? errno : flush_errno));
  if (std::rename(temp_path_.c_str(), path_.c_str()) != 0)
    return fail(path_, ": cannot rename into place: ", std::strerror(errno));
  committed_ = true;
  return Status::Ok();
}

Status write_file_atomic(const std::string& path, std::string_view contents) {
  SONIFY_ASSIGN_OR_RETURN(file, AtomicFile::create(path));
  SONIFY_TRY(file.write(contents));
  return file.commit();
}

}  // namespace sonify
