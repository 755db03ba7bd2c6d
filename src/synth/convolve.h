// Full linear convolution through FFTW (uniformly partitioned: one transform size for every signal).
#pragma once

#include <vector>

namespace sonify::synth {

// y = x * h, of length x.size() + h.size() - 1 (empty when either is empty). Planned with
// FFTW_ESTIMATE, so the plan and hence every output bit is the same on every run.
std::vector<double> convolve(const std::vector<double>& x, const std::vector<double>& h);

}  // namespace sonify::synth
