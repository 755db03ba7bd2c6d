#include "sonify/soundfont.h"

#include <fluidsynth.h>

#include <cstdlib>
#include <filesystem>

namespace sonify {

std::vector<std::string> soundfont_search_path() {
  std::vector<std::string> paths;
  if (const char* env = std::getenv("SONIFY_SOUNDFONT"); env != nullptr && *env != '\0')
    paths.emplace_back(env);
  for (const char* name : {"FluidR3_GM.sf2", "default-GM.sf2", "TimGM6mb.sf2"})
    paths.push_back(std::string("/usr/share/sounds/sf2/") + name);
  return paths;
}

Result<std::string> soundfont_find(const std::string& explicit_path) {
  std::error_code ec;
  if (!explicit_path.empty()) {
    if (!std::filesystem::is_regular_file(explicit_path, ec))
      return fail(explicit_path, ": soundfont not found");
    return explicit_path;
  }
  const char* env = std::getenv("SONIFY_SOUNDFONT");
  if (env != nullptr && *env != '\0' && !std::filesystem::is_regular_file(env, ec))
    return fail(env, ": soundfont named by $SONIFY_SOUNDFONT not found");
  for (const auto& path : soundfont_search_path())
    if (std::filesystem::is_regular_file(path, ec)) return path;
  return fail(
      "no soundfont found: pass --soundfont FILE, set $SONIFY_SOUNDFONT, or install "
      "Debian's fluid-soundfont-gm (apt-get install fluid-soundfont-gm)");
}

std::string fluidsynth_version() {
  int major = 0, minor = 0, micro = 0;
  fluid_version(&major, &minor, &micro);
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(micro);
}

}  // namespace sonify
