// Full linear convolution through FFTW (uniformly partitioned: one transform size for every signal).
#pragma once

#include <vector>

namespace sonify::synth {

// y[i] += (x * h)[i] for i < x.size() + h.size() − 1 (nothing when either is empty); y holds
// that many values. Added in place so that a mix of many signals needs no buffer per signal.
// Planned with FFTW_ESTIMATE, so the plan and hence every output bit is the same on every run.
void convolve_add(const std::vector<double>& x, const std::vector<double>& h, double* y);

// x ← x * h (empty when either is empty), in x's own buffer: a long signal needs no copy.
void convolve_in_place(std::vector<double>& x, const std::vector<double>& h);

}  // namespace sonify::synth
