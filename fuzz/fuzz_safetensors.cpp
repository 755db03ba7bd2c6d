// A safetensors file (header, offsets, data) through Checkpoint::open_file, and the
// tensors' float conversion. The bytes live in a memfd so the real mmap path runs.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "sonify/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const int fd = ::memfd_create("fuzz.safetensors", 0);
  if (fd < 0) return 0;
  if (::write(fd, data, size) == static_cast<ssize_t>(size)) {
    auto ckpt = sonify::Checkpoint::open_file("/proc/self/fd/" + std::to_string(fd));
    if (ckpt.ok())
      for (const auto& t : ckpt->tensors())
        if (sonify::dtype_is_float(t.dtype) && t.nbytes <= (1u << 20)) (void)ckpt->to_f32(t);
  }
  ::close(fd);
  return 0;
}
