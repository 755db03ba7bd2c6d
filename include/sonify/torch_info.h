// What the libtorch build in use offers. Declared without torch headers; defined in
// the one library that links libtorch (absent when built with SONIFY_WITH_TORCH=OFF).
#pragma once

#include <string>

namespace sonify {

struct TorchInfo {
  std::string version;     // e.g. "1.13.1"
  int intra_op_threads = 0;
  bool mkldnn = false;     // oneDNN kernels compiled in
};

TorchInfo torch_info();

}  // namespace sonify
