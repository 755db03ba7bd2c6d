#include "pipeline/album_list.h"

#include <nlohmann/json.hpp>

#include "core/text_file.h"

namespace sonify::pipeline {

Result<std::vector<AlbumEntry>> parse_album_list(std::string_view text, const std::string& path) {
  std::vector<AlbumEntry> out;
  std::size_t start = 0;
  int line_no = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string line(text.substr(start, end - start));
    start = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    AlbumEntry e;
    e.line = line_no;
    if (line[first] == '{') {
      const auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.is_object() || !j.contains("prompt") || !j["prompt"].is_string()) {
        e.error = path + ":" + std::to_string(line_no) + ": not a JSON object with a \"prompt\" string";
        e.prompt = line;
      } else if (j["prompt"].get_ref<const std::string&>().empty()) {
        e.error = path + ":" + std::to_string(line_no) + ": the \"prompt\" is empty";
        e.prompt = line;
      } else {
        e.prompt = j["prompt"].get<std::string>();
        if (j.contains("title") && j["title"].is_string()) e.title = j["title"].get<std::string>();
        if (j.contains("group") && j["group"].is_string()) e.group = j["group"].get<std::string>();
      }
    } else {
      e.prompt = line.substr(first);
    }
    out.push_back(std::move(e));
  }
  if (out.empty()) return fail(path, ": no prompts (blank lines and # comments are skipped)");
  return out;
}

Result<std::vector<AlbumEntry>> read_album_list(const std::string& path) {
  auto read = read_text(path);
  if (!read.ok()) return fail(read.error().message, " (the prompt list)");
  return parse_album_list(*read, path);
}

}  // namespace sonify::pipeline
