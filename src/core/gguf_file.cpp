// GGUF parsing. Layout (ggml docs/gguf.md, versions 2 and 3, little-endian):
//   u32 magic "GGUF", u32 version, u64 tensor_count, u64 metadata_kv_count,
//   kv_count × (string key, u32 value type, value),
//   tensor_count × (string name, u32 n_dims, u64 ne[n_dims], u32 ggml_type, u64 offset),
//   padding to general.alignment (default 32), then the tensor data, each tensor at its
//   offset from there. A string is a u64 length and that many bytes; an array is a u32
//   element type, a u64 count and the elements.
// Every count is checked against the bytes left before anything is allocated for it, and
// tensors must follow each other as llama.cpp's reader requires (each at the previous end
// rounded up to the alignment), so a view can never reach outside the file.
#include "core/gguf_file.h"

#include <array>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <utility>

namespace sonify::gguf {
namespace {

constexpr std::uint32_t kMagic = 0x46554747;  // "GGUF" read as a little-endian u32
constexpr std::uint32_t kMaxDims = 4;         // GGML_MAX_DIMS
constexpr std::size_t kMaxName = 63;          // GGML_MAX_NAME less the NUL
constexpr int kMaxArrayDepth = 4;

struct TypeRow {
  TensorType type;
  std::string_view name;
  std::uint64_t block;        // elements per block
  std::uint64_t block_bytes;  // bytes per block
};

constexpr std::array<TypeRow, 11> kTypes = {{
    {TensorType::F32, "F32", 1, 4},
    {TensorType::F16, "F16", 1, 2},
    {TensorType::Q4_0, "Q4_0", 32, 18},
    {TensorType::Q4_1, "Q4_1", 32, 20},
    {TensorType::Q5_0, "Q5_0", 32, 22},
    {TensorType::Q5_1, "Q5_1", 32, 24},
    {TensorType::Q8_0, "Q8_0", 32, 34},
    {TensorType::Q4_K, "Q4_K", 256, 144},
    {TensorType::Q5_K, "Q5_K", 256, 176},
    {TensorType::Q6_K, "Q6_K", 256, 210},
    {TensorType::BF16, "BF16", 1, 2},
}};

// ggml_type names for the types sonify does not read, so a refusal can name them.
constexpr std::array<std::string_view, 42> kGgmlNames = {
    "F32",   "F16",        "Q4_0",       "Q4_1",       "Q4_2",     "Q4_3",     "Q5_0",
    "Q5_1",  "Q8_0",       "Q8_1",       "Q2_K",       "Q3_K",     "Q4_K",     "Q5_K",
    "Q6_K",  "Q8_K",       "IQ2_XXS",    "IQ2_XS",     "IQ3_XXS",  "IQ1_S",    "IQ4_NL",
    "IQ3_S", "IQ2_S",      "IQ4_XS",     "I8",         "I16",      "I32",      "I64",
    "F64",   "IQ1_M",      "BF16",       "Q4_0_4_4",   "Q4_0_4_8", "Q4_0_8_8", "TQ1_0",
    "TQ2_0", "IQ4_NL_4_4", "IQ4_NL_4_8", "IQ4_NL_8_8", "MXFP4",    "?",        "?"};

const TypeRow* type_row(std::uint32_t type) {
  for (const auto& r : kTypes)
    if (static_cast<std::uint32_t>(r.type) == type) return &r;
  return nullptr;
}

// A bounds-checked reader over the mapped bytes.
class Cursor {
 public:
  Cursor(const unsigned char* data, std::uint64_t size, std::string path)
      : data_(data), size_(size), path_(std::move(path)) {}

  std::uint64_t pos() const { return pos_; }
  std::uint64_t left() const { return size_ - pos_; }

  Status need(std::uint64_t n, const std::string& what) const {
    if (n > left())
      return fail(path_, ": truncated GGUF: ", what, " at byte ", pos_, " needs ", n, " bytes, ", left(),
                  " left");
    return Status::Ok();
  }

  template <class T>
  Result<T> read(const std::string& what) {
    SONIFY_TRY(need(sizeof(T), what));
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));  // the host is little-endian, as the format
    pos_ += sizeof(T);
    return v;
  }

  Result<std::string> string(const std::string& what) {
    SONIFY_ASSIGN_OR_RETURN(len, read<std::uint64_t>(what + " length"));
    if (len > left())
      return fail(path_, ": ", what, " at byte ", pos_ - 8, " claims ", len, " bytes but only ", left(),
                  " are left");
    std::string s(reinterpret_cast<const char*>(data_ + pos_), static_cast<std::size_t>(len));
    pos_ += len;
    return s;
  }

 private:
  const unsigned char* data_;
  std::uint64_t size_;
  std::uint64_t pos_ = 0;
  std::string path_;
};

// The smallest encoding of one value of `type`, to bound counts before allocating.
std::uint64_t min_value_bytes(ValueType type) {
  switch (type) {
    case ValueType::U8:
    case ValueType::I8:
    case ValueType::Bool:
      return 1;
    case ValueType::U16:
    case ValueType::I16:
      return 2;
    case ValueType::U32:
    case ValueType::I32:
    case ValueType::F32:
      return 4;
    case ValueType::String:
    case ValueType::U64:
    case ValueType::I64:
    case ValueType::F64:
      return 8;
    case ValueType::Array:
      return 12;
  }
  return 1;
}

bool valid_value_type(std::uint32_t t) { return t <= static_cast<std::uint32_t>(ValueType::F64); }

Result<Value> read_value(Cursor& c, ValueType type, const std::string& where, const std::string& path,
                         int depth) {
  Value v;
  v.type = type;
  switch (type) {
    case ValueType::U8: {
      SONIFY_ASSIGN_OR_RETURN(x, c.read<std::uint8_t>(where));
      v.data = std::uint64_t{x};
      break;
    }
    case ValueType::I8: {
      SONIFY_ASSIGN_OR_RETURN(x, c.read<std::int8_t>(where));
      v.data = std::int64_t{x};
      break;
    }
    case ValueType::U16: {
      SONIFY_ASSIGN_OR_RETURN(x, c.read<std::uint16_t>(where));
      v.data = std::uint64_t{x};
      break;
    }
    case ValueType::I16: {
      SONIFY_ASSIGN_OR_RETURN(x, c.read<std::int16_t>(where));
      v.data = std::int64_t{x};
      break;
    }
    case ValueType::U32: {
      SONIFY_ASSIGN_OR_RETURN(x, c.read<std::uint32_t>(where));
      v.data = std::uint64_t{x};
      break;
    }
    case ValueType::I32: {
      SONIFY_ASSIGN_OR_RETURN(x, c.read<std::int32_t>(where));
      v.data = std::int64_t{x};
      break;
    }
    case ValueType::U64: {
      SONIFY_ASSIGN_OR_RETURN(x, c.read<std::uint64_t>(where));
      v.data = x;
      break;
    }
    case ValueType::I64: {
      SONIFY_ASSIGN_OR_RETURN(x, c.read<std::int64_t>(where));
      v.data = x;
      break;
    }
    case ValueType::F32: {
      SONIFY_ASSIGN_OR_RETURN(x, c.read<float>(where));
      v.data = double{x};
      break;
    }
    case ValueType::F64: {
      SONIFY_ASSIGN_OR_RETURN(x, c.read<double>(where));
      v.data = x;
      break;
    }
    case ValueType::Bool: {
      SONIFY_ASSIGN_OR_RETURN(x, c.read<std::uint8_t>(where));
      if (x > 1) return fail(path, ": ", where, " is a bool holding ", int{x}, " (not 0 or 1)");
      v.data = x == 1;
      break;
    }
    case ValueType::String: {
      SONIFY_ASSIGN_OR_RETURN(s, c.string(where));
      v.data = std::move(s);
      break;
    }
    case ValueType::Array: {
      SONIFY_ASSIGN_OR_RETURN(et, c.read<std::uint32_t>(where + " element type"));
      if (!valid_value_type(et)) return fail(path, ": ", where, " has unknown element type ", et);
      if (et == static_cast<std::uint32_t>(ValueType::Array) && depth + 1 >= kMaxArrayDepth)
        return fail(path, ": ", where, " nests arrays deeper than ", kMaxArrayDepth);
      v.element_type = static_cast<ValueType>(et);
      SONIFY_ASSIGN_OR_RETURN(count, c.read<std::uint64_t>(where + " count"));
      if (count > c.left() / min_value_bytes(v.element_type))
        return fail(path, ": ", where, " claims ", count, " elements but only ", c.left(), " bytes are left");
      Array items;
      items.reserve(static_cast<std::size_t>(count));
      for (std::uint64_t i = 0; i < count; ++i) {
        SONIFY_ASSIGN_OR_RETURN(item, read_value(c, v.element_type, where, path, depth + 1));
        items.push_back(std::move(item));
      }
      v.data = std::move(items);
      break;
    }
  }
  return v;
}

}  // namespace

std::string tensor_type_name(std::uint32_t type) {
  if (type < kGgmlNames.size() && kGgmlNames[type] != "?") return std::string(kGgmlNames[type]);
  return "type " + std::to_string(type);
}

bool has_magic(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return false;  // never wait on a FIFO
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  return in.read(magic, 4) && std::memcmp(magic, "GGUF", 4) == 0;
}

Result<File> parse(const MappedFile& map) {
  const std::string& path = map.path();
  Cursor c(map.data(), map.size(), path);
  if (map.size() < 24)
    return fail(path, ": not a GGUF file: ", map.size(), " bytes, too short for the 24-byte header");
  SONIFY_ASSIGN_OR_RETURN(magic, c.read<std::uint32_t>("magic"));
  if (magic != kMagic) return fail(path, ": not a GGUF file: the first four bytes are not \"GGUF\"");
  File file;
  SONIFY_ASSIGN_OR_RETURN(version, c.read<std::uint32_t>("version"));
  if (version == 1)
    return fail(path, ": GGUF version 1 (32-bit counts, before August 2023) is not supported");
  if (version != 2 && version != 3)
    return fail(path, ": GGUF version ", version, " is not supported (2 and 3 are; a big-endian file?)");
  file.version = version;
  SONIFY_ASSIGN_OR_RETURN(n_tensors, c.read<std::uint64_t>("tensor count"));
  SONIFY_ASSIGN_OR_RETURN(n_kv, c.read<std::uint64_t>("metadata count"));
  // Smallest entries: a key (8) + type (4) + 1 byte; a tensor info (name 8, n_dims 4,
  // type 4, offset 8), 24.
  if (n_kv > c.left() / 13)
    return fail(path, ": metadata count ", n_kv, " cannot fit in the ", c.left(), " bytes left");

  for (std::uint64_t i = 0; i < n_kv; ++i) {
    SONIFY_ASSIGN_OR_RETURN(key, c.string("metadata key " + std::to_string(i)));
    if (key.empty()) return fail(path, ": metadata key ", i, " is empty");
    const std::string where = "metadata '" + key + "'";
    SONIFY_ASSIGN_OR_RETURN(type, c.read<std::uint32_t>(where + " type"));
    if (!valid_value_type(type)) return fail(path, ": ", where, " has unknown value type ", type);
    SONIFY_ASSIGN_OR_RETURN(value, read_value(c, static_cast<ValueType>(type), where, path, 0));
    if (!file.metadata.emplace(key, std::move(value)).second)
      return fail(path, ": metadata key '", key, "' appears twice");
  }

  if (auto it = file.metadata.find("general.alignment"); it != file.metadata.end()) {
    if (it->second.type != ValueType::U32) return fail(path, ": general.alignment must be a u32");
    const std::uint64_t a = std::get<std::uint64_t>(it->second.data);
    if (a == 0 || (a & (a - 1)) != 0) return fail(path, ": general.alignment ", a, " is not a power of two");
    file.alignment = a;
  }

  if (n_tensors > c.left() / 24)
    return fail(path, ": tensor count ", n_tensors, " cannot fit in the ", c.left(), " bytes left");
  std::set<std::string> names;
  for (std::uint64_t i = 0; i < n_tensors; ++i) {
    Tensor t;
    SONIFY_ASSIGN_OR_RETURN(name, c.string("tensor name " + std::to_string(i)));
    if (name.empty() || name.size() > kMaxName)
      return fail(path, ": tensor ", i, " has a name of ", name.size(), " bytes (1 to ", kMaxName,
                  " allowed)");
    const std::string where = "tensor '" + name + "'";
    if (!names.insert(name).second) return fail(path, ": ", where, " appears twice");
    t.name = std::move(name);
    SONIFY_ASSIGN_OR_RETURN(n_dims, c.read<std::uint32_t>(where + " dimension count"));
    if (n_dims == 0 || n_dims > kMaxDims)
      return fail(path, ": ", where, " has ", n_dims, " dimensions (1 to ", kMaxDims, " allowed)");
    std::uint64_t numel = 1;
    for (std::uint32_t d = 0; d < n_dims; ++d) {
      SONIFY_ASSIGN_OR_RETURN(ne, c.read<std::uint64_t>(where + " dimension"));
      if (ne == 0 || ne > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) ||
          numel > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) / ne)
        return fail(path, ": ", where, " has dimension ", ne, ", zero or overflowing the element count");
      numel *= ne;
      t.ne.push_back(ne);
    }
    SONIFY_ASSIGN_OR_RETURN(type, c.read<std::uint32_t>(where + " type"));
    const TypeRow* row = type_row(type);
    if (row == nullptr)
      return fail(path, ": ", where, " has ggml type ", tensor_type_name(type),
                  ", which sonify does not read (F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q4_K Q5_K Q6_K)");
    t.type = row->type;
    if (t.ne[0] % row->block != 0)
      return fail(path, ": ", where, " has a row of ", t.ne[0], " elements, not a multiple of the ",
                  row->name, " block of ", row->block);
    if (numel / row->block > std::numeric_limits<std::uint64_t>::max() / row->block_bytes)
      return fail(path, ": ", where, " byte size overflows");
    t.numel = numel;
    t.nbytes = numel / row->block * row->block_bytes;
    SONIFY_ASSIGN_OR_RETURN(offset, c.read<std::uint64_t>(where + " offset"));
    t.offset = offset;  // relative for now
    file.tensors.push_back(std::move(t));
  }

  const std::uint64_t a = file.alignment;
  const std::uint64_t end_of_infos = c.pos();
  file.data_offset = (end_of_infos + a - 1) / a * a;  // end_of_infos < file size, no overflow
  if (file.data_offset > map.size() && !file.tensors.empty())
    return fail(path, ": truncated GGUF: the data section would start at byte ", file.data_offset, " of a ",
                map.size(), "-byte file");
  const std::uint64_t data_size = file.data_offset <= map.size() ? map.size() - file.data_offset : 0;
  std::uint64_t expected = 0;
  for (Tensor& t : file.tensors) {
    const std::string where = "tensor '" + t.name + "'";
    if (t.offset % a != 0)
      return fail(path, ": ", where, " has data offset ", t.offset, ", not a multiple of the alignment ", a);
    if (t.offset != expected)
      return fail(path, ": ", where, " has data offset ", t.offset, " but the previous tensors end at ",
                  expected, " (tensors must follow each other in order)");
    if (t.nbytes > data_size || t.offset > data_size - t.nbytes)
      return fail(path, ": truncated GGUF: ", where, " needs bytes [", t.offset, ", ", t.offset + t.nbytes,
                  ") of a ", data_size, "-byte data section");
    expected = t.offset + t.nbytes;
    expected = expected + (a - expected % a) % a;  // ≤ data_size + a, no overflow
    t.offset += file.data_offset;
  }
  return file;
}

}  // namespace sonify::gguf
