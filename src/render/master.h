// Inside sonify_render: mastering in two steps, so render_wav can measure the achieved
// loudness while it writes the file.
#pragma once

#include "sonify/render.h"

namespace sonify {

// master_audio() without the final loudness measurement: loudness_lufs stays -1000.
Result<MasterStats> master_gain(Audio& audio, const MasterOptions& options);

}  // namespace sonify
