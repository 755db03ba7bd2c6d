// An album prompt list (plain lines and JSON-object lines) through parse_album_list.
#include <cstdint>
#include <string_view>

#include "pipeline/album_list.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto entries = sonify::pipeline::parse_album_list(text, "prompts.txt");
  if (entries.ok())
    for (const auto& e : *entries)
      if (e.prompt.empty() && e.error.empty()) __builtin_trap();  // a kept line always has a prompt
  return 0;
}
