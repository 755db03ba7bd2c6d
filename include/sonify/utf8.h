// UTF-8 validation shared by every reader of text (headers, configs, prompts).
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace sonify {

// The byte offset of the first byte that does not start or continue a well-formed
// UTF-8 sequence (overlong forms, surrogates and code points above U+10FFFF are
// ill-formed), or nullopt when all of `text` is valid.
std::optional<std::size_t> utf8_first_invalid(std::string_view text);

}  // namespace sonify
