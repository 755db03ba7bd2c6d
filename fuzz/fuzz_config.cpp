// config.json text through model_spec_parse: every family's field checks and derived sizes.
#include <cstdint>
#include <string_view>

#include "sonify/model.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)sonify::model_spec_parse(std::string_view(reinterpret_cast<const char*>(data), size), "config.json");
  return 0;
}
