// safetensors reading. The format: an 8-byte little-endian header length N, N bytes of
// UTF-8 JSON mapping tensor names to {dtype, shape, data_offsets}, then the data
// section. Validation follows the reference Rust reader (huggingface/safetensors,
// `Metadata::validate`): offsets sorted, contiguous from 0, each span exactly
// numel × dtype size, and the last one ending exactly at the end of the file.
#include "sonify/checkpoint.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <set>
#include <utility>

#include "core/json_strict.h"
#include "core/mapped_file.h"
#include "model/checkpoint_impl.h"

namespace fs = std::filesystem;

namespace sonify {

namespace {

constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;  // as the reference reader

std::uint64_t read_u64_le(const unsigned char* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// Reads a non-negative JSON integer; false if `j` is anything else.
bool json_to_u64(const nlohmann::json& j, std::uint64_t* out) {
  if (j.is_number_unsigned()) {
    *out = j.get<std::uint64_t>();
    return true;
  }
  if (j.is_number_integer() && j.get<std::int64_t>() >= 0) {
    *out = static_cast<std::uint64_t>(j.get<std::int64_t>());
    return true;
  }
  return false;
}

struct ParsedFile {
  CheckpointFile file;
  std::vector<TensorInfo> tensors;
};

Result<TensorInfo> parse_entry(const std::string& path, const std::string& name, const nlohmann::json& entry,
                               std::uint64_t data_start, std::uint64_t data_size) {
  const std::string where = path + ": tensor '" + name + "'";
  if (!entry.is_object()) return fail(where, ": entry is not an object");
  for (const char* key : {"dtype", "shape", "data_offsets"})
    if (!entry.contains(key)) return fail(where, ": missing \"", key, "\"");

  TensorInfo info;
  info.name = name;
  const auto& dtype = entry["dtype"];
  if (!dtype.is_string()) return fail(where, ": dtype is not a string");
  auto parsed_dtype = dtype_from_name(dtype.get_ref<const std::string&>());
  if (!parsed_dtype)
    return fail(where, ": unknown dtype \"", dtype.get_ref<const std::string&>(),
                "\" (known: F32 F16 BF16 F64 I64 I32 I16 I8 U8 BOOL)");
  info.dtype = *parsed_dtype;

  const auto& shape = entry["shape"];
  if (!shape.is_array()) return fail(where, ": shape is not an array");
  std::uint64_t numel = 1;
  for (const auto& d : shape) {
    std::uint64_t dim = 0;
    if (!json_to_u64(d, &dim)) return fail(where, ": shape holds a non-integer or negative");
    if (dim > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) ||
        (dim != 0 && numel > std::numeric_limits<std::uint64_t>::max() / dim))
      return fail(where, ": shape overflows");
    numel *= dim;
    info.shape.push_back(static_cast<std::int64_t>(dim));
  }
  const std::uint64_t elem = dtype_size(info.dtype);
  if (numel > std::numeric_limits<std::uint64_t>::max() / elem) return fail(where, ": byte size overflows");
  const std::uint64_t expected_bytes = numel * elem;

  const auto& offsets = entry["data_offsets"];
  std::uint64_t begin = 0, end = 0;
  if (!offsets.is_array() || offsets.size() != 2 || !json_to_u64(offsets[0], &begin) ||
      !json_to_u64(offsets[1], &end))
    return fail(where, ": data_offsets must be two non-negative integers");
  if (end < begin) return fail(where, ": data_offsets end before they begin");
  if (end > data_size)
    return fail(where, ": data_offsets [", begin, ", ", end, ") run past the data section (", data_size,
                " bytes)");
  if (end - begin != expected_bytes)
    return fail(where, ": shape and dtype need ", expected_bytes, " bytes but data_offsets span ",
                end - begin);
  info.offset = data_start + begin;
  info.nbytes = end - begin;
  return info;
}

Result<ParsedFile> parse_file(const MappedFile& map) {
  const std::string& path = map.path();
  const std::uint64_t size = map.size();
  if (size < 8) return fail(path, ": not a safetensors file: ", size, " bytes, too short for a header");
  const std::uint64_t header_len = read_u64_le(map.data());
  if (header_len > kMaxHeaderBytes)
    return fail(path, ": not a safetensors file: header length ", header_len, " exceeds the 100 MB limit");
  if (header_len > size - 8)
    return fail(path, ": truncated or not safetensors: header length ", header_len, " but the file has only ",
                size - 8, " bytes after it");
  std::string_view header(reinterpret_cast<const char*>(map.data() + 8), header_len);
  if (header.empty() || header.front() != '{')
    return fail(path, ": not a safetensors file: header does not start with '{'");
  // JSON allows no raw NUL anywhere, but the parser stops at one, so NUL padding after the
  // object would pass (the reference reader refuses it; writers pad with spaces).
  if (const auto nul = header.find('\0'); nul != std::string_view::npos)
    return fail(path, ": not a safetensors file: NUL byte at ", 8 + nul, " in the header");
  SONIFY_ASSIGN_OR_RETURN(json, json_parse_strict(header, path + " (header)"));
  if (!json.is_object()) return fail(path, ": header is not a JSON object");

  ParsedFile parsed;
  parsed.file.path = path;
  parsed.file.size_bytes = size;
  parsed.file.header_bytes = header_len;
  const std::uint64_t data_start = 8 + header_len;
  const std::uint64_t data_size = size - data_start;

  for (const auto& [key, value] : json.items()) {
    if (key == "__metadata__") {
      if (!value.is_object()) return fail(path, ": __metadata__ is not an object");
      for (const auto& [mk, mv] : value.items()) {
        if (!mv.is_string()) return fail(path, ": __metadata__ value '", mk, "' is not a string");
        parsed.file.metadata[mk] = mv.get<std::string>();
      }
      continue;
    }
    SONIFY_ASSIGN_OR_RETURN(info, parse_entry(path, key, value, data_start, data_size));
    parsed.tensors.push_back(std::move(info));
  }

  // Contiguity: sorted by offsets, each tensor starts where the previous one ended.
  std::vector<const TensorInfo*> by_offset;
  by_offset.reserve(parsed.tensors.size());
  for (const auto& t : parsed.tensors) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(), [](const TensorInfo* a, const TensorInfo* b) {
    return std::make_pair(a->offset, a->nbytes) < std::make_pair(b->offset, b->nbytes);
  });
  std::uint64_t expected = data_start;
  for (const TensorInfo* t : by_offset) {
    if (t->offset != expected) {
      const char* what = t->offset < expected ? "overlaps the previous tensor" : "leaves a gap before it";
      return fail(path, ": tensor '", t->name, "' at data offset ", t->offset - data_start, " ", what,
                  " (expected offset ", expected - data_start, ")");
    }
    expected += t->nbytes;
  }
  if (expected != size)
    return fail(path, ": data section is ", data_size, " bytes but the tensors cover only ",
                expected - data_start, " (trailing bytes or truncated header)");
  return parsed;
}

}  // namespace

std::int64_t TensorInfo::numel() const {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

Status Checkpoint::Impl::add(MappedFile map) {
  SONIFY_ASSIGN_OR_RETURN(parsed, parse_file(map));
  const int index = static_cast<int>(maps.size());
  for (auto& t : parsed.tensors) {
    t.file_index = index;
    tensors.push_back(std::move(t));
  }
  files.push_back(std::move(parsed.file));
  maps.push_back(std::move(map));
  return Status::Ok();
}

Status Checkpoint::Impl::finish() {
  std::sort(tensors.begin(), tensors.end(),
            [](const TensorInfo& a, const TensorInfo& b) { return a.name < b.name; });
  for (std::size_t i = 1; i < tensors.size(); ++i)
    if (tensors[i].name == tensors[i - 1].name)
      return fail(files[tensors[i].file_index].path, ": tensor '", tensors[i].name, "' is also in ",
                  files[tensors[i - 1].file_index].path);
  return Status::Ok();
}

Status Checkpoint::Impl::reserve_scratch(std::size_t bytes, const std::string& what) {
  if (bytes == 0) return Status::Ok();
  const int fd = ::memfd_create("sonify-dequantised", MFD_CLOEXEC);
  if (fd < 0) return fail(what, ": cannot create memory for dequantised tensors: ", std::strerror(errno));
  void* p = MAP_FAILED;
  if (::ftruncate(fd, static_cast<off_t>(bytes)) == 0)
    p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  const int err = errno;
  ::close(fd);  // the mapping keeps the memory
  if (p == MAP_FAILED)
    return fail(what, ": cannot reserve ", bytes, " bytes for dequantised tensors: ", std::strerror(err));
  scratch = static_cast<unsigned char*>(p);
  scratch_bytes = bytes;
  return Status::Ok();
}

const unsigned char* Checkpoint::Impl::derived_bytes(std::size_t index) {
  DerivedTensor& d = *derived[index];
  unsigned char* out = scratch + d.scratch_offset;
  if (!d.done.load(std::memory_order_acquire)) {
    std::lock_guard<std::mutex> lock(fill_mutex);
    if (!d.done.load(std::memory_order_relaxed)) {
      d.fill(reinterpret_cast<float*>(out));
      d.done.store(true, std::memory_order_release);
    }
  }
  return out;
}

Checkpoint::Checkpoint(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Checkpoint::Checkpoint(Checkpoint&&) noexcept = default;
Checkpoint& Checkpoint::operator=(Checkpoint&&) noexcept = default;
Checkpoint::~Checkpoint() = default;

Result<Checkpoint> Checkpoint::open_file(const std::string& path) {
  SONIFY_ASSIGN_OR_RETURN(map, MappedFile::open(path));
  auto impl = std::make_unique<Impl>();
  SONIFY_TRY(impl->add(std::move(map)));
  SONIFY_TRY(impl->finish());
  return Checkpoint(std::move(impl));
}

namespace {

// Shard file names from an index must be plain names inside the model directory.
bool is_plain_file_name(const std::string& name) {
  return !name.empty() && name.find('/') == std::string::npos && name != "." && name != "..";
}

// A file of a model directory may be a symlink (HF caches and hand-made shard sets use
// them), but it must resolve inside the directory, or into the `blobs` folder of a
// Hugging Face cache when the directory is one of its snapshots (M/snapshots/REV ->
// M/blobs). Anything else would let an index or a link read an unrelated file.
Status check_resolves_inside(const fs::path& dir, const fs::path& file) {
  std::error_code ec;
  const fs::path real_dir = fs::canonical(dir, ec);
  if (ec) return Status::Ok();  // the open that follows reports the problem
  const fs::path real = fs::canonical(file, ec);
  if (ec) return Status::Ok();
  auto under = [](const fs::path& p, const fs::path& root) {
    const auto rel = p.lexically_relative(root);
    return !rel.empty() && *rel.begin() != "..";
  };
  if (under(real, real_dir)) return Status::Ok();
  const fs::path snapshots = real_dir.parent_path();
  if (snapshots.filename() == "snapshots" && under(real, snapshots.parent_path() / "blobs"))
    return Status::Ok();
  return fail(file.string(), ": resolves to ", real.string(),
              ", outside the model directory (only links into it or into an HF cache's blobs are followed)");
}

}  // namespace

Result<Checkpoint> Checkpoint::open(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return fail(path, ": no such file or directory");
  if (!fs::is_directory(path, ec)) return open_file(path);

  const fs::path dir(path);
  const fs::path index_path = dir / "model.safetensors.index.json";
  if (fs::exists(index_path, ec)) {
    SONIFY_ASSIGN_OR_RETURN(index, json_read_file(index_path.string()));
    if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object())
      return fail(index_path.string(), ": no \"weight_map\" object");
    std::map<std::string, std::vector<std::string>> names_by_shard;
    for (const auto& [name, shard] : index["weight_map"].items()) {
      if (!shard.is_string() || !is_plain_file_name(shard.get<std::string>()))
        return fail(index_path.string(), ": weight_map entry '", name,
                    "' must name a file in the model directory");
      names_by_shard[shard.get<std::string>()].push_back(name);
    }
    if (names_by_shard.empty()) return fail(index_path.string(), ": weight_map is empty");
    auto impl = std::make_unique<Impl>();
    for (const auto& [shard, names] : names_by_shard) {
      SONIFY_TRY(check_resolves_inside(dir, dir / shard));
      SONIFY_ASSIGN_OR_RETURN(map, MappedFile::open((dir / shard).string()));
      SONIFY_TRY(impl->add(std::move(map)));
    }
    SONIFY_TRY(impl->finish());
    Checkpoint checkpoint(std::move(impl));
    for (const auto& [shard, names] : names_by_shard)
      for (const auto& name : names) {
        const TensorInfo* t = checkpoint.find(name);
        if (t == nullptr || fs::path(checkpoint.files()[t->file_index].path).filename() != shard)
          return fail(index_path.string(), ": weight_map puts '", name, "' in ", shard,
                      " but that file does not hold it");
      }
    return checkpoint;
  }
  const fs::path single = dir / "model.safetensors";
  if (fs::exists(single, ec)) {
    SONIFY_TRY(check_resolves_inside(dir, single));
    return open_file(single.string());
  }

  std::vector<fs::path> candidates;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (entry.path().extension() == ".safetensors") candidates.push_back(entry.path());
  if (candidates.size() == 1) {
    SONIFY_TRY(check_resolves_inside(dir, candidates.front()));
    return open_file(candidates.front().string());
  }
  if (candidates.empty())
    return fail(path, ": no model.safetensors or model.safetensors.index.json in this directory");
  return fail(path, ": several .safetensors files but no model.safetensors.index.json to join them");
}

const std::vector<TensorInfo>& Checkpoint::tensors() const { return impl_->tensors; }
const std::vector<CheckpointFile>& Checkpoint::files() const { return impl_->files; }

const TensorInfo* Checkpoint::find(std::string_view name) const {
  const auto& ts = impl_->tensors;
  auto it = std::lower_bound(ts.begin(), ts.end(), name,
                             [](const TensorInfo& t, std::string_view n) { return t.name < n; });
  return (it != ts.end() && it->name == name) ? &*it : nullptr;
}

std::uint64_t Checkpoint::bytes_on_disk() const {
  std::uint64_t total = 0;
  for (const auto& f : impl_->files) total += f.size_bytes;
  return total;
}

TensorBytes Checkpoint::bytes(const TensorInfo& info) const {
  const auto index = static_cast<std::size_t>(&info - impl_->tensors.data());
  if (!impl_->derived.empty() && impl_->derived[index])
    return TensorBytes{&info, impl_->derived_bytes(index)};
  return TensorBytes{&info, impl_->maps[info.file_index].data() + info.offset};
}

Result<std::vector<float>> Checkpoint::to_f32(const TensorInfo& info) const {
  if (!dtype_is_float(info.dtype))
    return fail(impl_->files[info.file_index].path, ": tensor '", info.name, "' is ", dtype_name(info.dtype),
                ", not a floating-point type");
  std::vector<float> out(static_cast<std::size_t>(info.numel()));
  convert_to_f32(info.dtype, bytes(info).data, out.size(), out.data());
  return out;
}

}  // namespace sonify
