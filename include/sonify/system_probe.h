// What the machine gives sonify: which BLAS the dynamic linker resolves, how many
// threads it uses. Reported by `sonify doctor`, written into benchmark output.
#pragma once

#include <string>

namespace sonify {

struct BlasInfo {
  bool found = false;
  std::string library;  // resolved path of the libblas.so.3 in use
  std::string kind;     // "OpenBLAS", "reference", "BLIS", "MKL", "ATLAS" or "unknown"
  std::string config;   // OpenBLAS build configuration string, when OpenBLAS
  int threads = 0;      // OpenBLAS threads, 0 when unknown
  bool is_reference() const { return kind == "reference"; }
};

// Resolves libblas.so.3 the way libtorch and LAPACK will (Debian's alternatives).
BlasInfo blas_probe();

// Number of online CPUs.
int cpu_count();

}  // namespace sonify
