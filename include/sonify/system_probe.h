// What the machine gives sonify: which BLAS the dynamic linker resolves, how many
// threads it uses. Reported by `sonify doctor`, written into benchmark output.
#pragma once

#include <string>

#include "sonify/result.h"

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

// Threads a command uses when its --threads (or render's) is 0, the default:
// $SONIFY_THREADS when set, else the CPUs this process may run on (its affinity mask, so
// taskset, cgroup cpusets and batch schedulers' allocations are respected). Several
// processes sharing a machine (a test suite running two at once, album shards on one
// node) set SONIFY_THREADS=1 so their thread pools do not oversubscribe the cores.
int default_threads();

// SONIFY_THREADS checked once at start-up: one line when it is set and is not a whole
// number from 1 to 256.
Status check_threads_env();

}  // namespace sonify
