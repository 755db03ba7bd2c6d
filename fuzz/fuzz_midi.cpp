// A Standard MIDI File through midi_parse, the tempo map and score_from_midi.
#include <cstdint>
#include <string_view>

#include "sonify/midi.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto midi = sonify::midi_parse(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.mid");
  if (!midi.ok()) return 0;
  (void)sonify::midi_length_seconds(*midi);
  (void)sonify::score_from_midi(*midi);
  return 0;
}
