// Output files that appear whole or not at all: data goes to a temporary file beside
// the target, which is renamed over it on commit() and removed if never committed.
#pragma once

#include <cstddef>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "sonify/result.h"

namespace sonify {

class AtomicFile {
 public:
  // Opens a temporary file in the directory of `path`. Fails (naming `path`) when the
  // directory does not exist or is not writable.
  static Result<AtomicFile> create(const std::string& path);

  AtomicFile(AtomicFile&& other) noexcept;
  AtomicFile& operator=(AtomicFile&&) = delete;
  AtomicFile(const AtomicFile&) = delete;
  ~AtomicFile();  // removes the temporary file unless commit() succeeded

  Status write(const void* data, std::size_t size);
  Status write(std::string_view text) { return write(text.data(), text.size()); }

  // Flushes, closes and renames the temporary file to the target path.
  Status commit();

 private:
  AtomicFile(std::string path, std::string temp_path, std::FILE* file);

  std::string path_;
  std::string temp_path_;
  std::FILE* file_ = nullptr;
  bool committed_ = false;
};

// Fails with one line when `path` exists and is not a regular file (a symlink, a device
// node, a FIFO, ...): renaming a new file over it would destroy what it is.
Status check_replaceable(const std::string& path);

// Fails with one line when `output` is one of the files of `inputs` (compared by device
// and inode, so links and other spellings of the path are seen through); a directory in
// `inputs` stands for every file directly inside it (a model directory).
Status check_not_input(const std::string& output, const std::vector<std::string>& inputs);

// Writes `contents` to `path` atomically.
Status write_file_atomic(const std::string& path, std::string_view contents);

}  // namespace sonify
