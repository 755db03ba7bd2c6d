#include "core/text_file.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace sonify {

Result<std::string> read_text(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (!fs::exists(st)) return fail(path, ": no such file");
  if (!fs::is_regular_file(st)) return fail(path, ": not a regular file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(path, ": cannot read: ", std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return fail(path, ": cannot read: read error");
  return ss.str();
}

}  // namespace sonify
