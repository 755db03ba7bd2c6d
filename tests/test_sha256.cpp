// SHA-256 (core/sha256): the FIPS 180-4 example vectors, the CPU's SHA instructions
// against the portable code on every length around the block size, and a file's hash
// with its progress callback against Python's hashlib.
#include <catch2/catch.hpp>
#include <cstdint>
#include <fstream>
#include <random>
#include <string>

#include "core/sha256.h"
#include "test_support.h"

using sonify::sha256_hex;
using sonify::Sha256Code;
using sonify::test::run_program;
using sonify::test::TempDir;

TEST_CASE("sha256: the FIPS 180-4 example vectors, with both codes", "[sha256]") {
  for (Sha256Code code : {Sha256Code::Fastest, Sha256Code::Portable}) {
    CHECK(sha256_hex("", code) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(sha256_hex("abc", code) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", code) ==
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    CHECK(sha256_hex(std::string(1000000, 'a'), code) ==
          "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  }
}

TEST_CASE("sha256: the SHA instructions equal the portable code on every length", "[sha256]") {
  if (!sonify::sha256_has_hardware()) {
    WARN("this CPU has no SHA instructions; only the portable code runs");
    return;
  }
  std::mt19937 rng(7);
  std::string data(70000, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  for (std::size_t n = 0; n <= 200; ++n) {
    INFO("length " << n);
    REQUIRE(sha256_hex(data.substr(0, n)) == sha256_hex(data.substr(0, n), Sha256Code::Portable));
  }
  CHECK(sha256_hex(data) == sha256_hex(data, Sha256Code::Portable));
}

TEST_CASE("sha256: a file's hash equals hashlib's, with progress up to its size", "[sha256]") {
  TempDir dir;
  const std::string path = dir.file("data.bin");
  std::string data(3 * (1 << 20) + 12345, '\0');
  std::mt19937 rng(11);
  for (char& c : data) c = static_cast<char>(rng());
  std::ofstream(path, std::ios::binary).write(data.data(), static_cast<std::streamsize>(data.size()));
  std::vector<std::uint64_t> seen;
  auto hash = sonify::sha256_file(path, [&](std::uint64_t bytes) { seen.push_back(bytes); });
  REQUIRE(hash.ok());
  const auto py = run_program(
      {"/usr/bin/python3", "-c",
       "import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],'rb').read()).hexdigest())", path});
  REQUIRE(py.exit_code == 0);
  CHECK(*hash + "\n" == py.out);
  REQUIRE(seen.size() == 4);  // 1 MiB reads
  CHECK(seen.front() == (1u << 20));
  CHECK(seen.back() == data.size());
  CHECK_FALSE(sonify::sha256_file(dir.file("missing.bin")).ok());
}
