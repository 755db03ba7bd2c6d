// The container of llama.cpp's GGUF files (versions 2 and 3), as described in ggml's
// docs/gguf.md: a header, typed metadata key/values, tensor infos, and an aligned data
// section of (possibly block-quantised) tensors. Parsing validates every count, length,
// offset and size against the file before anything is used. In core because two layers
// read it: model (tensors, config) and tokenizer (the tokenizer.ggml.* vocabulary).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "core/mapped_file.h"
#include "sonify/result.h"

namespace sonify::gguf {

// The metadata value types of the format (gguf_type).
enum class ValueType : std::uint32_t {
  U8 = 0,
  I8 = 1,
  U16 = 2,
  I16 = 3,
  U32 = 4,
  I32 = 5,
  F32 = 6,
  Bool = 7,
  String = 8,
  Array = 9,
  U64 = 10,
  I64 = 11,
  F64 = 12,
};

struct Value;
using Array = std::vector<Value>;

// One metadata value. Integers keep their sign in the variant alternative; `type` is the
// type written in the file (arrays keep their element type in `element_type`).
struct Value {
  ValueType type = ValueType::U8;
  ValueType element_type = ValueType::U8;  // arrays only
  std::variant<std::uint64_t, std::int64_t, double, bool, std::string, Array> data;
};

// ggml tensor types sonify reads (ggml_type numbering); others are refused by name.
enum class TensorType : std::uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  BF16 = 30,
};

// "Q4_K", or "type 7" for a number outside the table of ggml_type names.
std::string tensor_type_name(std::uint32_t type);

struct Tensor {
  std::string name;
  std::vector<std::uint64_t> ne;  // ggml order: ne[0] is the fastest-varying dimension
  TensorType type = TensorType::F32;
  std::uint64_t offset = 0;  // absolute, in the file
  std::uint64_t nbytes = 0;
  std::uint64_t numel = 0;
};

struct File {
  std::uint32_t version = 0;
  std::map<std::string, Value> metadata;
  std::vector<Tensor> tensors;  // in file order
  std::uint64_t alignment = 32;
  std::uint64_t data_offset = 0;
};

// True when `path` is a regular file starting with the GGUF magic (false when unreadable).
bool has_magic(const std::string& path);

// Parses and validates the mapped file. Errors name the file and what is wrong.
Result<File> parse(const MappedFile& map);

}  // namespace sonify::gguf
