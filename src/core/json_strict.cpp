#include "core/json_strict.h"

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <vector>

#include "sonify/utf8.h"

namespace sonify {
namespace {

struct DuplicateKey {
  std::string key;
};

}  // namespace

Result<nlohmann::json> json_parse_strict(std::string_view text, const std::string& what) {
  if (auto bad = utf8_first_invalid(text)) return fail(what, ": invalid UTF-8 at byte ", *bad);
  std::vector<std::set<std::string>> open_objects;
  auto callback = [&](int /*depth*/, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    using E = nlohmann::json::parse_event_t;
    if (event == E::object_start) {
      open_objects.emplace_back();
    } else if (event == E::object_end) {
      open_objects.pop_back();
    } else if (event == E::key) {
      const auto& key = parsed.get_ref<const std::string&>();
      if (!open_objects.back().insert(key).second) throw DuplicateKey{key};
    }
    return true;
  };
  try {
    return nlohmann::json::parse(text.begin(), text.end(), callback);
  } catch (const DuplicateKey& d) {
    return fail(what, ": invalid JSON: duplicate key \"", d.key, "\"");
  } catch (const nlohmann::json::exception& e) {
    std::string msg = e.what();
    // nlohmann prefixes "[json.exception.parse_error.101] "; keep the readable part.
    if (auto p = msg.find("] "); p != std::string::npos) msg = msg.substr(p + 2);
    return fail(what, ": invalid JSON: ", msg);
  }
}

Result<nlohmann::json> json_read_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return fail(path, ": no such file");
  if (!std::filesystem::is_regular_file(path, ec)) return fail(path, ": not a regular file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(path, ": cannot open");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return fail(path, ": read error");
  return json_parse_strict(buffer.str(), path);
}

}  // namespace sonify
