// The model's key from its attention-norm gains (design in doc/features.md).
#pragma once

#include <vector>

#include "sonify/features.h"

namespace sonify::analysis {

// gains: one effective attention-norm gain vector per layer, all the same length.
Tonality tonality_from_gains(const std::vector<std::vector<double>>& gains);

}  // namespace sonify::analysis
