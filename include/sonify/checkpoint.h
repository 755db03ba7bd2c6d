// Read-only access to the tensors of a safetensors checkpoint (one file or a sharded
// set with model.safetensors.index.json), memory-mapped and validated up front.
//
// Opening reads and validates only the headers: no tensor byte is touched until a
// caller asks for one. Every offset, size and dtype is checked exactly as the reference
// Rust reader checks it, so a view handed out later can never point outside its file.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sonify/dtype.h"
#include "sonify/result.h"

namespace sonify {

// Where one tensor lives. `offset` is relative to the start of its file.
struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<std::int64_t> shape;
  std::uint64_t offset = 0;  // byte offset in the file (header included)
  std::uint64_t nbytes = 0;
  int file_index = 0;  // index into Checkpoint::files()
  // The file's own encoding when the bytes handed out are converted from it (a GGUF
  // "Q4_K" tensor is read as F32); empty when they are the file's bytes.
  std::string stored_as;

  std::int64_t numel() const;
};

// A zero-copy view of a tensor's bytes. Valid while the Checkpoint that made it lives.
struct TensorBytes {
  const TensorInfo* info = nullptr;
  const unsigned char* data = nullptr;  // little-endian elements, info->nbytes long
};

// One safetensors file of the checkpoint.
struct CheckpointFile {
  std::string path;
  std::uint64_t size_bytes = 0;
  std::uint64_t header_bytes = 0;               // the JSON header length
  std::map<std::string, std::string> metadata;  // "__metadata__", kept as written
};

// A validated, memory-mapped checkpoint. Move-only; the mappings close with it.
class Checkpoint {
 public:
  // Opens `path`: a .safetensors file, or a directory holding model.safetensors or
  // model.safetensors.index.json (shards are resolved relative to it). Every header is
  // validated; the first problem found is returned as an Error naming the file.
  static Result<Checkpoint> open(const std::string& path);

  // Validates and opens one .safetensors file.
  static Result<Checkpoint> open_file(const std::string& path);

  Checkpoint(Checkpoint&&) noexcept;
  Checkpoint& operator=(Checkpoint&&) noexcept;
  ~Checkpoint();

  // All tensors, sorted by name.
  const std::vector<TensorInfo>& tensors() const;

  // The tensor called `name`, or nullptr.
  const TensorInfo* find(std::string_view name) const;

  const std::vector<CheckpointFile>& files() const;

  // Sum of the sizes of all files.
  std::uint64_t bytes_on_disk() const;

  // The bytes of `info`, which must come from this checkpoint.
  TensorBytes bytes(const TensorInfo& info) const;

  // The tensor converted to float32 in a new buffer (F32, F16, BF16, F64 only).
  // Only this tensor is read; nothing else of the model is touched.
  Result<std::vector<float>> to_f32(const TensorInfo& info) const;

 private:
  struct Impl;
  friend struct CheckpointAccess;
  explicit Checkpoint(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Converts `count` little-endian elements of `dtype` at `src` to float32 in `dst`.
// dtype must be a float type (see dtype_is_float).
void convert_to_f32(DType dtype, const unsigned char* src, std::size_t count, float* dst);

}  // namespace sonify
