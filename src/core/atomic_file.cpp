#include "core/atomic_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string_view>
#include <utility>

#include "core/partial_files.h"

namespace sonify {

AtomicFile::AtomicFile(std::string path, std::string temp_path, std::FILE* file, Replace replace)
    : path_(std::move(path)), temp_path_(std::move(temp_path)), file_(file), replace_(replace) {}

AtomicFile::AtomicFile(AtomicFile&& other) noexcept
    : path_(std::move(other.path_)),
      temp_path_(std::move(other.temp_path_)),
      file_(std::exchange(other.file_, nullptr)),
      replace_(other.replace_),
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

namespace {

bool g_replace_other_kinds = false;

// What a file holds, from its first bytes; "" for a missing or empty file.
std::string kind_of(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return "";
  unsigned char head[16] = {};
  const std::size_t n = std::fread(head, 1, sizeof head, f);
  std::fclose(f);
  if (n == 0) return "";
  const std::string_view h(reinterpret_cast<const char*>(head), n);
  if (h.substr(0, 4) == "MThd") return "a MIDI file";
  if (h.substr(0, 4) == "RIFF" && h.substr(8, 4) == "WAVE") return "a WAV file";
  if (h.substr(0, 8) == "\x89PNG\r\n\x1a\n") return "a PNG image";
  if (n > 8 && head[8] == '{' && head[6] == 0 && head[7] == 0) return "a safetensors file";
  std::size_t i = h.find_first_not_of(" \t\r\n");
  if (i == std::string_view::npos) return "text";
  if (h[i] == '{' || h[i] == '[') return "JSON";
  if (h[i] == '<') return "HTML";
  for (unsigned char c : h)
    if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') return "binary data";
  return "text";
}

}  // namespace

void set_replace_other_kinds(bool allow) { g_replace_other_kinds = allow; }

Status check_same_kind(const std::string& existing, const std::string& replacement) {
  if (g_replace_other_kinds) return Status::Ok();
  const std::string old_kind = kind_of(existing);
  if (old_kind.empty()) return Status::Ok();
  const std::string new_kind = kind_of(replacement);
  if (new_kind.empty() || new_kind == old_kind) return Status::Ok();
  return fail(existing, ": exists and holds ", old_kind, ", not ", new_kind,
              "; refusing to replace it (--force replaces it)");
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

Result<AtomicFile> AtomicFile::create(const std::string& path, Replace replace) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  std::error_code ec;
  SONIFY_TRY(check_replaceable(path));
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  if (!fs::is_directory(dir, ec))
    return fail(path, ": cannot write: directory ", dir.string(), " does not exist");
  partial_files_sweep(dir.string());
  const std::string temp = (dir / partial_name(target.filename().string(), ".tmp-", "")).string();
  partial_file_add(temp);
  std::FILE* f = std::fopen(temp.c_str(), "wb");
  if (f == nullptr) {
    partial_file_remove(temp);
    return fail(path, ": cannot write: ", std::strerror(errno));
  }
  return AtomicFile(path, temp, f, replace);
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
  if (replace_ == Replace::SameKind) SONIFY_TRY(check_same_kind(path_, temp_path_));
  if (std::rename(temp_path_.c_str(), path_.c_str()) != 0)
    return fail(path_, ": cannot rename into place: ", std::strerror(errno));
  committed_ = true;
  partial_file_remove(temp_path_);
  return Status::Ok();
}

Status write_file_atomic(const std::string& path, std::string_view contents, Replace replace) {
  SONIFY_ASSIGN_OR_RETURN(file, AtomicFile::create(path, replace));
  SONIFY_TRY(file.write(contents));
  return file.commit();
}

}  // namespace sonify
