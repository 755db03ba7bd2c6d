#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/atomic_file.h"
#include "core/json_strict.h"
#include "core/splitmix64.h"
#include "sonify/checkpoint_write.h"
#include "sonify/model.h"

namespace sonify {
namespace {

std::uint64_t hash_name(const std::string& s) {
  std::uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

std::uint16_t f32_to_bf16(float f) {
  std::uint32_t bits;
  std::memcpy(&bits, &f, 4);
  bits += 0x7FFFu + ((bits >> 16) & 1u);  // round to nearest even (inputs are finite)
  return static_cast<std::uint16_t>(bits >> 16);
}

std::uint16_t f32_to_f16(float f) {
  std::uint32_t bits;
  std::memcpy(&bits, &f, 4);
  const std::uint16_t sign = static_cast<std::uint16_t>((bits >> 16) & 0x8000u);
  const int exponent = static_cast<int>((bits >> 23) & 0xFF) - 127 + 15;
  std::uint32_t mantissa = bits & 0x7FFFFFu;
  if (exponent >= 31) return sign | 0x7C00u;  // overflow → inf
  if (exponent <= 0) {                        // subnormal or zero
    if (exponent < -10) return sign;
    mantissa |= 0x800000u;
    const int shift = 14 - exponent;
    std::uint32_t half = mantissa >> shift;
    const std::uint32_t rest = mantissa & ((1u << shift) - 1);
    const std::uint32_t halfway = 1u << (shift - 1);
    if (rest > halfway || (rest == halfway && (half & 1u))) ++half;
    return sign | static_cast<std::uint16_t>(half);
  }
  std::uint32_t half = (static_cast<std::uint32_t>(exponent) << 10) | (mantissa >> 13);
  const std::uint32_t rest = mantissa & 0x1FFFu;
  if (rest > 0x1000u || (rest == 0x1000u && (half & 1u))) ++half;  // may carry into exponent: fine
  return sign | static_cast<std::uint16_t>(half);
}

void store(DType dtype, float value, unsigned char* dst) {
  if (dtype == DType::F32) {
    std::memcpy(dst, &value, 4);
  } else {
    const std::uint16_t h = dtype == DType::BF16 ? f32_to_bf16(value) : f32_to_f16(value);
    std::memcpy(dst, &h, 2);
  }
}

}  // namespace

namespace {

// Writes the header, then each tensor's bytes through `write_tensor(index, file, nbytes)`,
// in header (name) order.
template <class WriteTensor>
Status safetensors_write_with(const std::string& path, const std::vector<TensorDecl>& tensors,
                              const std::map<std::string, std::string>& metadata, WriteTensor write_tensor) {
  std::vector<std::size_t> order(tensors.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return tensors[a].name < tensors[b].name; });

  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::uint64_t offset = 0;
  std::vector<std::uint64_t> sizes(tensors.size());
  for (std::size_t i : order) {
    const auto& t = tensors[i];
    std::uint64_t n = dtype_size(t.dtype);
    for (auto d : t.shape) n *= static_cast<std::uint64_t>(d);
    sizes[i] = n;
    header[t.name] = {
        {"dtype", dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {offset, offset + n}}};
    offset += n;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  unsigned char len_bytes[8];
  for (int b = 0; b < 8; ++b)
    len_bytes[b] = static_cast<unsigned char>(static_cast<std::uint64_t>(text.size()) >> (8 * b));

  SONIFY_ASSIGN_OR_RETURN(file, AtomicFile::create(path));
  SONIFY_TRY(file.write(len_bytes, 8));
  SONIFY_TRY(file.write(text));
  for (std::size_t i : order) SONIFY_TRY(write_tensor(i, file, sizes[i]));
  return file.commit();
}

}  // namespace

Status safetensors_write(const std::string& path, const std::vector<TensorDecl>& tensors,
                         const std::map<std::string, std::string>& metadata, const TensorFill& fill) {
  std::vector<unsigned char> buffer;
  return safetensors_write_with(path, tensors, metadata,
                                [&](std::size_t i, AtomicFile& file, std::uint64_t n) {
                                  buffer.assign(n, 0);
                                  fill(i, buffer.data(), buffer.size());
                                  return file.write(buffer.data(), buffer.size());
                                });
}

Status safetensors_write_from(const std::string& path, const std::vector<TensorDecl>& tensors,
                              const std::map<std::string, std::string>& metadata, const TensorData& data) {
  return safetensors_write_with(
      path, tensors, metadata,
      [&](std::size_t i, AtomicFile& file, std::uint64_t n) { return file.write(data(i), n); });
}

Status synthetic_checkpoint_write(const std::string& config_path, const std::string& out_dir, DType dtype,
                                  std::uint64_t seed) {
  if (dtype != DType::F32 && dtype != DType::BF16 && dtype != DType::F16)
    return fail("synthetic checkpoints are F32, BF16 or F16, not ", dtype_name(dtype));
  SONIFY_ASSIGN_OR_RETURN(spec, model_spec_read(config_path));
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (!fs::is_directory(out_dir, ec)) return fail(out_dir, ": cannot create directory");

  const std::vector<LayoutEntry> layout = model_layout(spec);
  std::vector<TensorDecl> decls;
  for (const auto& e : layout) decls.push_back({e.name, dtype, e.shape});
  const std::size_t elem = dtype_size(dtype);
  auto fill = [&](std::size_t index, unsigned char* dst, std::size_t nbytes) {
    const LayoutEntry& e = layout[index];
    SplitMix64 rng{seed ^ hash_name(e.name)};
    const bool norm = role_is_norm(e.role) && e.part == Part::Weight;
    // Deeper layers a little larger, so per-layer statistics differ as in trained models.
    const double scale = e.layer < 0 ? 1.0 : 1.0 + 0.5 * e.layer / std::max(1, spec.n_layers - 1);
    const double stddev = norm ? 0.05 : 0.02 * (e.part == Part::Weight ? scale : 1.0);
    const double mean = norm ? 1.0 - spec.norm_weight_offset : 0.0;
    const std::size_t count = nbytes / elem;
    for (std::size_t k = 0; k < count; k += 2) {
      // Box-Muller: two normals per pair of uniforms.
      const double r = std::sqrt(-2.0 * std::log(rng.uniform()));
      const double a = 2.0 * M_PI * rng.uniform();
      store(dtype, static_cast<float>(mean + stddev * r * std::cos(a)), dst + k * elem);
      if (k + 1 < count)
        store(dtype, static_cast<float>(mean + stddev * r * std::sin(a)), dst + (k + 1) * elem);
    }
  };
  SONIFY_TRY(safetensors_write((fs::path(out_dir) / "model.safetensors").string(), decls,
                               {{"format", "pt"}, {"sonify_synthetic_seed", std::to_string(seed)}}, fill));
  std::ifstream in(config_path, std::ios::binary);
  std::ostringstream config;
  config << in.rdbuf();
  return write_file_atomic((fs::path(out_dir) / "config.json").string(), config.str());
}

}  // namespace sonify
