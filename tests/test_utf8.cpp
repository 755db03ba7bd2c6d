#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <limits>

#include "sonify/result.h"
#include "sonify/utf8.h"

using sonify::utf8_first_invalid;

TEST_CASE("utf8_first_invalid finds the first ill-formed byte", "[utf8]") {
  struct Row {
    std::string text;
    std::optional<std::size_t> bad;
  };
  const std::vector<Row> rows = {
      {"", std::nullopt},
      {"plain ascii", std::nullopt},
      {"caf\xC3\xA9", std::nullopt},       // é
      {"\xE2\x96\x81word", std::nullopt},  // ▁ (SentencePiece space)
      {"\xF0\x9F\x8E\xB9", std::nullopt},  // 🎹
      {"ab\xC3", 2},                       // truncated sequence
      {"ab\x80", 2},                       // lone continuation byte
      {"\xC0\xAF", 0},                     // overlong '/'
      {"x\xE0\x80\xAF", 1},                // overlong 3-byte
      {"\xED\xA0\x80", 0},                 // UTF-16 surrogate
      {"\xF4\x90\x80\x80", 0},             // above U+10FFFF
      {"ok\xFF", 2},
  };
  for (const auto& row : rows) {
    INFO("text bytes: " << row.text.size());
    CHECK(utf8_first_invalid(row.text) == row.bad);
  }
}

TEST_CASE("error messages print numbers as a reader writes them", "[result]") {
  CHECK(sonify::fail("--seconds must be in (0, 600], not ", 0.0).message ==
        "--seconds must be in (0, 600], not 0");
  CHECK(sonify::fail("x ", 1e-9, " ", 0.25f, " ", 1e300).message == "x 1e-09 0.25 1e+300");
  CHECK(sonify::fail(std::nan(""), " ", -std::numeric_limits<double>::infinity()).message == "nan -inf");
  CHECK(sonify::fail(std::int64_t{1} << 40, " ", -3).message == "1099511627776 -3");
}
