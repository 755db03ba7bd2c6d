// A features JSON (the cache's format) through features_from_json and back.
#include <cstdint>
#include <string_view>

#include "sonify/features.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto f = sonify::features_from_json(std::string_view(reinterpret_cast<const char*>(data), size),
                                      "features.json");
  if (f.ok()) (void)sonify::features_to_json(*f);
  return 0;
}
