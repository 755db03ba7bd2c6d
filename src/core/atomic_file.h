// Output files that appear whole or not at all: data goes to a temporary file beside
// the target, which is renamed over it on commit() and removed if never committed.
#pragma once

#include <cstddef>
#include <cstdio>
#include <string>
#include <string_view>

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

// Writes `contents` to `path` atomically.
Status write_file_atomic(const std::string& path, std::string_view contents);

}  // namespace sonify
