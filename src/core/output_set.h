// A set of output files that belong together (NAME.mid, NAME.wav, NAME.json, ...) and
// appear together or not at all. Every command that writes more than one file commits
// through this: each member is written under a hidden temporary name in the output
// directory, and commit() renames them into place only after all were written.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "sonify/result.h"

namespace sonify {

// Creates `dir` (and its parents) when missing, as every `-o DIR` does. Fails with one
// line when it cannot be created or exists and is not a directory.
Status ensure_output_dir(const std::string& dir);

class OutputSet {
 public:
  // A set named `name` in `dir` (created when missing). `name` must be a plain file name:
  // no '/', not empty, not "." or "..", so a set never lands outside `dir`.
  static Result<OutputSet> open(const std::string& dir, const std::string& name);

  OutputSet(OutputSet&& other) noexcept;
  OutputSet& operator=(OutputSet&&) = delete;
  OutputSet(const OutputSet&) = delete;
  ~OutputSet();  // removes every temporary member unless commit() succeeded

  // DIR/NAME + ext, where the member `ext` (".mid", ".timing.json") ends up.
  std::string final_path(const std::string& ext) const;

  // A temporary path for member `ext`, for writers that take a path (the WAV renderer).
  // Registers the member: commit() renames it into place.
  std::string temp_path(const std::string& ext);

  // Writes member `ext` with `bytes` to its temporary path and registers it.
  Status write(const std::string& ext, std::string_view bytes);

  // Renames every registered member into place in the order registered, then removes
  // DIR/NAME + ext for every ext in `stale` (members a run did not write this time, such as
  // a WAV left by an earlier run before --midi-only). After a failed rename the members
  // already renamed stay, the others are removed.
  Status commit(const std::vector<std::string>& stale = {});

  const std::string& dir() const { return dir_; }
  const std::string& name() const { return name_; }

 private:
  OutputSet(std::string dir, std::string name);
  std::string temp_of(const std::string& ext) const;

  std::string dir_;
  std::string name_;
  std::vector<std::string> exts_;  // registered members, in order
  bool committed_ = false;
};

}  // namespace sonify
