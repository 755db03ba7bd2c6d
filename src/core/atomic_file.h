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

// Whether a commit may replace an existing file of another kind (check_same_kind).
// Caches say Any: a damaged cache file is rewritten, not protected.
enum class Replace { SameKind, Any };

class AtomicFile {
 public:
  // Opens a temporary file in the directory of `path`. Fails (naming `path`) when the
  // directory does not exist or is not writable.
  static Result<AtomicFile> create(const std::string& path, Replace replace = Replace::SameKind);

  AtomicFile(AtomicFile&& other) noexcept;
  AtomicFile& operator=(AtomicFile&&) = delete;
  AtomicFile(const AtomicFile&) = delete;
  ~AtomicFile();  // removes the temporary file unless commit() succeeded

  Status write(const void* data, std::size_t size);
  Status write(std::string_view text) { return write(text.data(), text.size()); }

  // Flushes, closes and renames the temporary file to the target path.
  Status commit();

 private:
  AtomicFile(std::string path, std::string temp_path, std::FILE* file, Replace replace);

  std::string path_;
  std::string temp_path_;
  std::FILE* file_ = nullptr;
  Replace replace_ = Replace::SameKind;
  bool committed_ = false;
};

// Fails with one line when `path` exists and is not a regular file (a symlink, a device
// node, a FIFO, ...): renaming a new file over it would destroy what it is.
Status check_replaceable(const std::string& path);

// Fails with one line when `existing` is a non-empty file of another kind than
// `replacement` (a MIDI file, a WAV, a PNG, safetensors, JSON, HTML or other text, judged
// by their first bytes): `-o notes.txt` must not silently turn a document into a WAV.
// Every commit checks this unless set_replace_other_kinds(true) (the --force option).
Status check_same_kind(const std::string& existing, const std::string& replacement);
void set_replace_other_kinds(bool allow);

// Fails with one line when `output` is one of the files of `inputs` (compared by device
// and inode, so links and other spellings of the path are seen through); a directory in
// `inputs` stands for every file directly inside it (a model directory).
Status check_not_input(const std::string& output, const std::vector<std::string>& inputs);

// Writes `contents` to `path` atomically.
Status write_file_atomic(const std::string& path, std::string_view contents,
                         Replace replace = Replace::SameKind);

}  // namespace sonify
