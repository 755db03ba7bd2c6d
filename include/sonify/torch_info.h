// What the libtorch build in use offers. libtorch costs ~0.45 s and tens of MB to load,
// so everything that needs it lives in the plugin libsonify_torch.so, which the CLI
// opens only for the commands that run a model (see torch_plugin_open).
#pragma once

#include <memory>
#include <string>

#include "sonify/result.h"
#include "sonify/train.h"

namespace sonify {

class Model;
class Runtime;
struct RuntimeOptions;

struct TorchInfo {
  std::string version;  // e.g. "1.13.0"
  int intra_op_threads = 0;
  bool mkldnn = false;  // oneDNN kernels compiled in
};

// The plugin's entry points, looked up by name after dlopen.
struct TorchPlugin {
  TorchInfo (*info)() = nullptr;
  TrainFunction train = nullptr;
  // See sonify_runtime_open in sonify/runtime.h.
  void (*runtime_open)(const Model*, const RuntimeOptions*, Result<std::unique_ptr<Runtime>>*) = nullptr;
};

// Opens libsonify_torch.so from beside the running executable (or $SONIFY_PLUGIN_DIR).
// The plugin stays loaded for the life of the process.
Result<TorchPlugin> torch_plugin_open();

}  // namespace sonify

// Exported by the plugin with C linkage so dlsym finds it by this name.
extern "C" sonify::TorchInfo sonify_torch_info();
