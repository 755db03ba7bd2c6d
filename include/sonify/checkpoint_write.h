// Writing safetensors checkpoints: the synthetic test models now, trained models and
// activation traces later.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "sonify/dtype.h"
#include "sonify/result.h"

namespace sonify {

struct TensorDecl {
  std::string name;
  DType dtype = DType::F32;
  std::vector<std::int64_t> shape;
};

// Fills the bytes of tensors[index] (little-endian, nbytes long).
using TensorFill = std::function<void(std::size_t index, unsigned char* dst, std::size_t nbytes)>;

// Writes a safetensors file: header sorted by name, padded with spaces to a multiple
// of 8, data in header order. Written atomically (temporary file, then rename); one
// tensor is held in memory at a time.
Status safetensors_write(const std::string& path, const std::vector<TensorDecl>& tensors,
                         const std::map<std::string, std::string>& metadata, const TensorFill& fill);

// The bytes of tensors[index], already in memory (little-endian, nbytes long); they
// must stay valid until the write returns.
using TensorData = std::function<const void*(std::size_t index)>;

// As safetensors_write, but writes each tensor straight from memory the caller owns
// (no per-tensor buffer or copy).
Status safetensors_write_from(const std::string& path, const std::vector<TensorDecl>& tensors,
                              const std::map<std::string, std::string>& metadata, const TensorData& data);

// Writes a seeded random-weight checkpoint in Hugging Face layout: OUT_DIR/config.json
// (a copy of `config_path`) and OUT_DIR/model.safetensors. Linear and embedding weights
// are N(0, 0.02²) scaled per layer, biases N(0, 0.02²), norm gains 1 + N(0, 0.05²)
// (stored as w for Gemma). `dtype` is F32, BF16 or F16. OUT_DIR is created if missing.
Status synthetic_checkpoint_write(const std::string& config_path, const std::string& out_dir, DType dtype,
                                  std::uint64_t seed);

}  // namespace sonify
