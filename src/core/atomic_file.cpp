#include "core/atomic_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "core/partial_files.h"

namespace sonify {

AtomicFile::AtomicFile(std::string path, std::string temp_path, std::FILE* file)
    : path_(std::move(path)), temp_path_(std::move(temp_path)), file_(file) {}

AtomicFile::AtomicFile(AtomicFile&& other) noexcept
    : path_(std::move(other.path_)),
      temp_path_(std::move(other.temp_path_)),
      file_(std::exchange(other.file_, nullptr)),
      committed_(std::exchange(other.committed_, true)) {}

Status check_replaceable(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0 || S_ISREG(st.st_mode)) return Status::Ok();
  if (S_ISDIR(st.st_mode)) return fail(path, ": is a directory, cannot write a file there");
  const char* kind = S_ISLNK(st.st_mode)                          ? "a symbolic link"
                     : S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device"
                     : S_ISFIFO(st.st_mode)                       ? "a FIFO"
                                                                  : "not a regular file";
  return fail(path, ": exists and is ", kind, "; refusing to replace it with a regular file");
}

Status check_not_input(const std::string& output, const std::vector<std::string>& inputs) {
  namespace fs = std::filesystem;
  struct stat out {};
  if (::stat(output.c_str(), &out) != 0) return Status::Ok();
  auto same = [&](const fs::path& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 && st.st_dev == out.st_dev && st.st_ino == out.st_ino;
  };
  for (const auto& input : inputs) {
    if (same(input))
      return fail(output, ": is the input ", input, "; refusing to overwrite it (choose another -o)");
    std::error_code ec;
    if (!fs::is_directory(input, ec)) continue;
    for (const auto& e : fs::directory_iterator(input, ec))
      if (same(e.path()))
        return fail(output, ": is ", e.path().string(), ", a file of the input ", input,
                    "; refusing to overwrite it (choose another -o)");
  }
  return Status::Ok();
}

Result<AtomicFile> AtomicFile::create(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  std::error_code ec;
  SONIFY_TRY(check_replaceable(path));
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  if (!fs::is_directory(dir, ec))
    return fail(path, ": cannot write: directory ", dir.string(), " does not exist");
  partial_files_sweep(dir.string());
  const std::string temp = (dir / ("." + target.filename().string() + ".tmp-" + partial_tag())).string();
  partial_file_add(temp);
  std::FILE* f = std::fopen(temp.c_str(), "wb");
  if (f == nullptr) {
    partial_file_remove(temp);
    return fail(path, ": cannot write: ", std::strerror(errno));
  }
  return AtomicFile(path, temp, f);
}

AtomicFile::~AtomicFile() {
  if (file_ != nullptr) std::fclose(file_);
  if (!committed_) {
    std::remove(temp_path_.c_str());
    partial_file_remove(temp_path_);
  }
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
  partial_file_remove(temp_path_);
  return Status::Ok();
}

Status write_file_atomic(const std::string& path, std::string_view contents) {
  SONIFY_ASSIGN_OR_RETURN(file, AtomicFile::create(path));
  SONIFY_TRY(file.write(contents));
  return file.commit();
}

}  // namespace sonify
