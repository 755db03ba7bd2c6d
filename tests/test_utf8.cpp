#include <catch2/catch.hpp>

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
