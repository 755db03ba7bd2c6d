// tokenizer.json text through Tokenizer::parse, then encode and decode. The input is split
// at the first NUL byte: the tokenizer JSON before it, the text to encode after it.
#include <cstdint>
#include <string_view>

#include "sonify/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  const std::size_t cut = all.find('\0');
  const std::string_view json = all.substr(0, cut);
  const std::string_view text =
      cut == std::string_view::npos ? std::string_view("Hello world") : all.substr(cut + 1);
  auto tok = sonify::Tokenizer::parse(json, "", "tokenizer.json");
  if (!tok.ok()) return 0;
  sonify::EncodeOptions options;
  options.replace_invalid = true;
  auto enc = tok->encode(std::string(text), options);
  if (enc.ok()) {
    std::vector<int> ids(enc->ids.begin(), enc->ids.end());
    (void)tok->decode(ids, {});
  }
  return 0;
}
