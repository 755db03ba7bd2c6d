// Finding a General MIDI soundfont to render with.
#pragma once

#include <string>
#include <vector>

#include "sonify/result.h"

namespace sonify {

// The places searched, in order, after an explicit path: $SONIFY_SOUNDFONT, then
// Debian's FluidR3_GM.sf2, default-GM.sf2 and TimGM6mb.sf2 under /usr/share/sounds/sf2.
std::vector<std::string> soundfont_search_path();

// `explicit_path` when non-empty (it must exist), otherwise the first file of
// soundfont_search_path() that exists. The error names the Debian package
// fluid-soundfont-gm.
Result<std::string> soundfont_find(const std::string& explicit_path);

// The FluidSynth library version, e.g. "2.3.1".
std::string fluidsynth_version();

}  // namespace sonify
