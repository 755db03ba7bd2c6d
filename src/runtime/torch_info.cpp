// Built into the plugin libsonify_torch.so, the only library that links libtorch.
#include "sonify/torch_info.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <torch/version.h>

extern "C" __attribute__((visibility("default"))) sonify::TorchInfo sonify_torch_info() {
  sonify::TorchInfo info;
  info.version = TORCH_VERSION;
  info.intra_op_threads = at::get_num_threads();
  info.mkldnn = at::hasMKLDNN();
  return info;
}
