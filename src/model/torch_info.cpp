#include "sonify/torch_info.h"

#include <ATen/Parallel.h>
#include <ATen/Context.h>
#include <torch/version.h>

namespace sonify {

TorchInfo torch_info() {
  TorchInfo info;
  info.version = TORCH_VERSION;
  info.intra_op_threads = at::get_num_threads();
  info.mkldnn = at::hasMKLDNN();
  return info;
}

}  // namespace sonify
