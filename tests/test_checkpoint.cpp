// safetensors validation: every malformed header in one table, then the valid paths.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>

#include "sonify/checkpoint.h"
#include "test_support.h"

using namespace sonify;
using sonify::test::le64;
using sonify::test::TempDir;

namespace {

// A safetensors file from a header text and a data section.
std::string st(const std::string& header, const std::string& data) {
  return le64(header.size()) + header + data;
}

std::string floats(std::initializer_list<float> values) {
  std::string s;
  for (float v : values) s.append(reinterpret_cast<const char*>(&v), 4);
  return s;
}

Result<Checkpoint> open_bytes(const TempDir& dir, const std::string& bytes) {
  const std::string path = dir.file("model.safetensors");
  sonify::test::write_file(path, bytes);
  return Checkpoint::open(path);
}

}  // namespace

TEST_CASE("malformed safetensors files are refused with a clear message", "[checkpoint]") {
  const std::string d16(16, '\0');
  const std::string t4 = R"("dtype":"F32","shape":[4])";
  struct Row {
    const char* what;
    std::string bytes;
    const char* message;
  };
  const std::vector<Row> rows = {
      {"empty file", "", "too short for a header"},
      {"five bytes", "abcde", "too short for a header"},
      {"huge header length", le64(1ull << 40) + "{}", "exceeds the 100 MB limit"},
      {"header longer than file", le64(1000) + "{}", "truncated or not safetensors"},
      {"header length near 2^64", le64(std::numeric_limits<std::uint64_t>::max() - 3) + "{}",
       "exceeds the 100 MB limit"},
      {"header not an object", st("[1, 2]  ", ""), "does not start with '{'"},
      {"bad JSON", st("{\"a\": ", ""), "invalid JSON"},
      {"trailing garbage after JSON", st("{} x", ""), "invalid JSON"},
      {"duplicate tensor names",
       st("{\"a\":{" + t4 + ",\"data_offsets\":[0,16]},\"a\":{" + t4 + ",\"data_offsets\":[0,16]}}", d16),
       "duplicate key \"a\""},
      {"invalid UTF-8 in header", st("{\"\xC3\x28\":{}}", ""), "invalid UTF-8 at byte"},
      {"unknown dtype",
       st(R"({"a":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]}})", std::string(4, '\0')),
       "unknown dtype \"F8_E4M3\""},
      {"offset out of range", st("{\"a\":{" + t4 + ",\"data_offsets\":[0,1000]}}", d16),
       "run past the data section"},
      {"overlapping tensors",
       st("{\"a\":{" + t4 + ",\"data_offsets\":[0,16]},\"b\":{" + t4 + ",\"data_offsets\":[8,24]}}",
          std::string(24, '\0')),
       "overlaps the previous tensor"},
      {"gap between tensors",
       st("{\"a\":{" + t4 + ",\"data_offsets\":[0,16]},\"b\":{" + t4 + ",\"data_offsets\":[20,36]}}",
          std::string(36, '\0')),
       "leaves a gap"},
      {"not starting at zero", st("{\"a\":{" + t4 + ",\"data_offsets\":[4,20]}}", std::string(20, '\0')),
       "leaves a gap"},
      {"shape and bytes disagree", st(R"({"a":{"dtype":"F32","shape":[5],"data_offsets":[0,16]}})", d16),
       "need 20 bytes but data_offsets span 16"},
      {"trailing bytes after data", st("{\"a\":{" + t4 + ",\"data_offsets\":[0,16]}}", d16 + "xxxx"),
       "cover only 16"},
      {"negative dimension", st(R"({"a":{"dtype":"F32","shape":[-4],"data_offsets":[0,16]}})", d16),
       "non-integer or negative"},
      {"fractional dimension", st(R"({"a":{"dtype":"F32","shape":[4.0],"data_offsets":[0,16]}})", d16),
       "non-integer or negative"},
      {"shape overflow",
       st(R"({"a":{"dtype":"F32","shape":[4611686018427387904,4611686018427387904],"data_offsets":[0,16]}})",
          d16),
       "overflows"},
      {"byte size overflow",
       st(R"({"a":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,16]}})", d16), "overflows"},
      {"end before begin", st("{\"a\":{" + t4 + ",\"data_offsets\":[16,0]}}", d16), "end before they begin"},
      {"missing data_offsets", st("{\"a\":{" + t4 + "}}", ""), "missing \"data_offsets\""},
      {"three offsets", st("{\"a\":{" + t4 + ",\"data_offsets\":[0,8,16]}}", d16),
       "two non-negative integers"},
      {"entry not an object", st(R"({"a":[1,2]})", ""), "entry is not an object"},
      {"metadata not strings", st(R"({"__metadata__":{"format":1}})", ""), "is not a string"},
  };
  TempDir dir;
  for (const auto& row : rows) {
    INFO(row.what);
    auto result = open_bytes(dir, row.bytes);
    REQUIRE_FALSE(result.ok());
    CHECK_THAT(result.error().message, Catch::Contains(row.message));
    CHECK_THAT(result.error().message, Catch::Contains("model.safetensors"));
    CHECK(result.error().message.find('\n') == std::string::npos);
  }
}

TEST_CASE("a valid file opens with tensors, metadata and zero-copy bytes", "[checkpoint]") {
  TempDir dir;
  // Header length 61 is not a multiple of 8: the data section is unaligned on purpose.
  std::string header =
      R"({"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"z":{"dtype":"F32","shape":[0,3],"data_offsets":[16,16]}})";
  auto ckpt = open_bytes(dir, st(header, floats({1.5f, -2.0f, 3.25f, 0.0f})));
  REQUIRE(ckpt.ok());
  REQUIRE(ckpt->tensors().size() == 2);
  CHECK(ckpt->files()[0].metadata.at("format") == "pt");
  const TensorInfo* w = ckpt->find("w");
  REQUIRE(w != nullptr);
  CHECK(w->shape == std::vector<std::int64_t>{2, 2});
  CHECK(w->offset == 8 + header.size());
  auto values = ckpt->to_f32(*w);
  REQUIRE(values.ok());
  CHECK(*values == std::vector<float>{1.5f, -2.0f, 3.25f, 0.0f});
  const TensorInfo* z = ckpt->find("z");
  REQUIRE(z != nullptr);
  CHECK(z->numel() == 0);
  CHECK(ckpt->find("missing") == nullptr);
  CHECK(ckpt->bytes_on_disk() == 8 + header.size() + 16);
}

TEST_CASE("an empty header object is a valid, empty checkpoint", "[checkpoint]") {
  TempDir dir;
  auto ckpt = open_bytes(dir, st("{}      ", ""));
  REQUIRE(ckpt.ok());
  CHECK(ckpt->tensors().empty());
}

TEST_CASE("half-precision elements convert exactly", "[checkpoint][convert]") {
  struct Row {
    DType dtype;
    std::uint16_t bits;
    float value;
  };
  const std::vector<Row> rows = {
      {DType::BF16, 0x3F80, 1.0f},
      {DType::BF16, 0xC000, -2.0f},
      {DType::BF16, 0x0000, 0.0f},
      {DType::BF16, 0x4049, 3.140625f},
      {DType::F16, 0x3C00, 1.0f},
      {DType::F16, 0xC000, -2.0f},
      {DType::F16, 0x7BFF, 65504.0f},
      {DType::F16, 0xFBFF, -65504.0f},
      {DType::F16, 0x0400, std::ldexp(1.0f, -14)},     // smallest normal
      {DType::F16, 0x0001, std::ldexp(1.0f, -24)},     // smallest subnormal
      {DType::F16, 0x03FF, std::ldexp(1023.0f, -24)},  // largest subnormal
      {DType::F16, 0x3555, 0.333251953125f},
  };
  for (const auto& row : rows) {
    unsigned char bytes[2] = {static_cast<unsigned char>(row.bits & 0xFF),
                              static_cast<unsigned char>(row.bits >> 8)};
    float out = 0;
    convert_to_f32(row.dtype, bytes, 1, &out);
    INFO(dtype_name(row.dtype) << " 0x" << std::hex << row.bits);
    CHECK(out == row.value);
  }
  const unsigned char inf[2] = {0x00, 0x7C};
  float out = 0;
  convert_to_f32(DType::F16, inf, 1, &out);
  CHECK(std::isinf(out));
  const unsigned char nan[2] = {0x01, 0x7E};
  convert_to_f32(DType::F16, nan, 1, &out);
  CHECK(std::isnan(out));
}

TEST_CASE("integer tensors are refused by to_f32", "[checkpoint]") {
  TempDir dir;
  auto ckpt = open_bytes(
      dir, st(R"({"ids":{"dtype":"I64","shape":[2],"data_offsets":[0,16]}})", std::string(16, '\0')));
  REQUIRE(ckpt.ok());
  auto values = ckpt->to_f32(*ckpt->find("ids"));
  REQUIRE_FALSE(values.ok());
  CHECK_THAT(values.error().message, Catch::Contains("not a floating-point type"));
}

TEST_CASE("sharded checkpoints join through model.safetensors.index.json", "[checkpoint][sharded]") {
  TempDir dir;
  const std::string t2 = R"("dtype":"F32","shape":[2])";
  sonify::test::write_file(dir.file("a.safetensors"),
                           st("{\"x\":{" + t2 + ",\"data_offsets\":[0,8]}}", floats({1, 2})));
  sonify::test::write_file(dir.file("b.safetensors"),
                           st("{\"y\":{" + t2 + ",\"data_offsets\":[0,8]}}", floats({3, 4})));

  SECTION("a correct index opens both shards") {
    sonify::test::write_file(dir.file("model.safetensors.index.json"),
                             R"({"metadata":{},"weight_map":{"x":"a.safetensors","y":"b.safetensors"}})");
    auto ckpt = Checkpoint::open(dir.path());
    REQUIRE(ckpt.ok());
    CHECK(ckpt->files().size() == 2);
    CHECK(*ckpt->to_f32(*ckpt->find("y")) == std::vector<float>{3, 4});
  }
  SECTION("an index naming the wrong shard is refused") {
    sonify::test::write_file(dir.file("model.safetensors.index.json"),
                             R"({"weight_map":{"x":"b.safetensors","y":"b.safetensors"}})");
    auto ckpt = Checkpoint::open(dir.path());
    REQUIRE_FALSE(ckpt.ok());
    CHECK_THAT(ckpt.error().message, Catch::Contains("does not hold it"));
  }
  SECTION("shard names may not leave the model directory") {
    sonify::test::write_file(dir.file("model.safetensors.index.json"),
                             R"({"weight_map":{"x":"../a.safetensors"}})");
    auto ckpt = Checkpoint::open(dir.path());
    REQUIRE_FALSE(ckpt.ok());
    CHECK_THAT(ckpt.error().message, Catch::Contains("must name a file in the model directory"));
  }
  SECTION("a tensor stored in two shards is refused") {
    sonify::test::write_file(dir.file("c.safetensors"),
                             st("{\"x\":{" + t2 + ",\"data_offsets\":[0,8]}}", floats({5, 6})));
    sonify::test::write_file(
        dir.file("model.safetensors.index.json"),
        R"({"weight_map":{"x":"a.safetensors","y":"b.safetensors","z":"c.safetensors"}})");
    auto ckpt = Checkpoint::open(dir.path());
    REQUIRE_FALSE(ckpt.ok());
    CHECK_THAT(ckpt.error().message, Catch::Contains("is also in"));
  }
  SECTION("a missing shard is refused") {
    sonify::test::write_file(dir.file("model.safetensors.index.json"),
                             R"({"weight_map":{"x":"gone.safetensors"}})");
    auto ckpt = Checkpoint::open(dir.path());
    REQUIRE_FALSE(ckpt.ok());
    CHECK_THAT(ckpt.error().message, Catch::Contains("gone.safetensors: cannot open"));
  }
}

TEST_CASE("a directory without safetensors is refused", "[checkpoint]") {
  TempDir dir;
  auto ckpt = Checkpoint::open(dir.path());
  REQUIRE_FALSE(ckpt.ok());
  CHECK_THAT(ckpt.error().message, Catch::Contains("no model.safetensors"));
  auto missing = Checkpoint::open(dir.file("nope.safetensors"));
  REQUIRE_FALSE(missing.ok());
  CHECK_THAT(missing.error().message, Catch::Contains("no such file"));
}
