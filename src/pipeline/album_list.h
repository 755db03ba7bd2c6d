// Inside sonify_pipeline: the album's prompt list (one prompt per line, or a JSON object
// with "prompt", "title", "group"), parsed apart from the run so the fuzz harness
// (fuzz/fuzz_album_list.cpp) can feed it any bytes without a file or a model.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "sonify/result.h"

namespace sonify::pipeline {

struct AlbumEntry {
  int line = 0;
  std::string prompt;
  std::string title;
  std::string group;
  std::string error;  // parse error of the line: the track fails, the others still run
};

// `path` only names the list in messages. Blank lines and # comments are skipped; a list
// with no prompt is an error.
Result<std::vector<AlbumEntry>> parse_album_list(std::string_view text, const std::string& path);
Result<std::vector<AlbumEntry>> read_album_list(const std::string& path);

}  // namespace sonify::pipeline
