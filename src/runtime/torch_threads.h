// Thread setup shared by the plugin's forward pass and training (no torch types here).
#pragma once

namespace sonify {

// Keeps ATen's OpenMP pool at one thread and gives OpenBLAS `wanted` threads (or ATen,
// when the BLAS is not OpenBLAS). Returns the threads the matrix products use.
int configure_threads(int wanted);

}  // namespace sonify
