#include <dlfcn.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <filesystem>

#include "sonify/torch_info.h"

namespace sonify {

Result<TorchPlugin> torch_plugin_open() {
  std::string dir;
  if (const char* env = std::getenv("SONIFY_PLUGIN_DIR"); env != nullptr && *env != '\0') {
    dir = env;
  } else {
    char exe[PATH_MAX];
    const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return fail("cannot locate the sonify executable to find libsonify_torch.so");
    exe[n] = '\0';
    dir = std::filesystem::path(exe).parent_path().string();
  }
  const std::string path = dir + "/libsonify_torch.so";
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    return fail(path, ": cannot load the libtorch plugin (", why ? why : "unknown error",
                "); was sonify built with SONIFY_WITH_TORCH=ON?");
  }
  TorchPlugin plugin;
  plugin.info = reinterpret_cast<TorchInfo (*)()>(dlsym(handle, "sonify_torch_info"));
  if (plugin.info == nullptr) return fail(path, ": not a sonify plugin (no sonify_torch_info)");
  plugin.train = reinterpret_cast<TrainFunction>(dlsym(handle, "sonify_torch_train"));
  plugin.runtime_open = reinterpret_cast<decltype(plugin.runtime_open)>(dlsym(handle, "sonify_runtime_open"));
  if (plugin.runtime_open == nullptr)
    return fail(path, ": plugin has no model runtime (sonify_runtime_open); rebuild sonify");
  return plugin;
}

}  // namespace sonify
