// GGUF tensors and models on top of the container reader (core/gguf_file.h):
// dequantisation following ggml's block layouts, and a GGUF file opened as a Model.
#pragma once

#include <cstdint>
#include <string>

#include "core/gguf_file.h"
#include "sonify/model.h"
#include "sonify/result.h"

namespace sonify::gguf {

// Converts `numel` elements of a tensor of `type` at `src` (numel a multiple of the
// type's block size, checked by parse) to float32, exactly as ggml's dequantize_row_*.
void dequantize(TensorType type, const unsigned char* src, std::uint64_t numel, float* dst);

// Opens a GGUF model: the config from its metadata, its tensors under Hugging Face names in
// Hugging Face layout (llama's Q/K row permutation undone), dequantised on first use.
Result<Model> open_model(const std::string& path);

}  // namespace sonify::gguf
