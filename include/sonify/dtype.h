// Element types of checkpoint tensors, named as safetensors names them.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace sonify {

enum class DType { F32, F16, BF16, F64, I64, I32, I16, I8, U8, Bool };

// Size of one element in bytes.
std::size_t dtype_size(DType dtype);

// The safetensors spelling: "F32", "BF16", "BOOL", ...
std::string_view dtype_name(DType dtype);

// Parses a safetensors dtype string; nullopt for anything not listed in DType.
std::optional<DType> dtype_from_name(std::string_view name);

// True for F32, F16, BF16 and F64, the types that convert to float.
bool dtype_is_float(DType dtype);

}  // namespace sonify
