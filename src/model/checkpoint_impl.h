// The inside of a Checkpoint, shared by the safetensors reader (checkpoint.cpp) and the
// GGUF reader (gguf_model.cpp). A tensor is either a view into a mapped file or, when the
// file holds it in a form no caller reads (block-quantised, or rows in llama.cpp's order),
// float32 values produced on first use into `scratch`.
#pragma once

#include <sys/mman.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "core/mapped_file.h"
#include "sonify/checkpoint.h"

namespace sonify {

// A tensor whose float32 values are computed from the file when first asked for.
struct DerivedTensor {
  std::function<void(float*)> fill;  // writes the tensor's numel() values
  std::size_t scratch_offset = 0;    // where in Impl::scratch
  std::atomic<bool> done{false};
};

struct Checkpoint::Impl {
  std::vector<MappedFile> maps;
  std::vector<CheckpointFile> files;
  std::vector<TensorInfo> tensors;  // sorted by name
  // Parallel to `tensors` (null where the bytes are read from a file), or empty.
  std::vector<std::unique_ptr<DerivedTensor>> derived;
  // One shared memfd mapping for every derived tensor, reserved (not committed) when the
  // checkpoint opens. Shared file pages, not anonymous memory: callers drop read pages with
  // madvise(MADV_DONTNEED), which would zero anonymous memory but here only unmaps them.
  unsigned char* scratch = nullptr;
  std::size_t scratch_bytes = 0;
  std::mutex fill_mutex;

  Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl() {
    if (scratch != nullptr) ::munmap(scratch, scratch_bytes);
  }

  Status add(MappedFile map);  // a safetensors file
  Status finish();

  // Reserves `bytes` of scratch; `what` names the source in errors.
  Status reserve_scratch(std::size_t bytes, const std::string& what);

  const unsigned char* derived_bytes(std::size_t index);
};

// Lets the GGUF reader build a Checkpoint from an Impl it filled.
struct CheckpointAccess {
  using Impl = Checkpoint::Impl;
  static Checkpoint make(std::unique_ptr<Checkpoint::Impl> impl) { return Checkpoint(std::move(impl)); }
};

}  // namespace sonify
