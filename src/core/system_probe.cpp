#include "sonify/system_probe.h"

#include <dlfcn.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>

namespace sonify {

BlasInfo blas_probe() {
  BlasInfo info;
  // Already loaded when libtorch or LAPACK is linked in; dlopen then returns that copy.
  void* handle = dlopen("libblas.so.3", RTLD_LAZY | RTLD_NOLOAD);
  if (handle == nullptr) handle = dlopen("libblas.so.3", RTLD_LAZY | RTLD_LOCAL);
  if (handle == nullptr) return info;
  info.found = true;
  if (void* sym = dlsym(handle, "dgemm_")) {
    Dl_info where{};
    if (dladdr(sym, &where) != 0 && where.dli_fname != nullptr) {
      char resolved[PATH_MAX];
      info.library = realpath(where.dli_fname, resolved) ? resolved : where.dli_fname;
    }
  }
  using ConfigFn = char* (*)();
  using ThreadsFn = int (*)();
  auto config = reinterpret_cast<ConfigFn>(dlsym(handle, "openblas_get_config"));
  auto threads = reinterpret_cast<ThreadsFn>(dlsym(handle, "openblas_get_num_threads"));
  const std::string& lib = info.library;
  if (config != nullptr) {
    info.kind = "OpenBLAS";
    info.config = config();
    if (threads != nullptr) info.threads = threads();
  } else if (lib.find("/blas/") != std::string::npos) {
    info.kind = "reference";
  } else if (lib.find("blis") != std::string::npos) {
    info.kind = "BLIS";
  } else if (lib.find("mkl") != std::string::npos) {
    info.kind = "MKL";
  } else if (lib.find("atlas") != std::string::npos) {
    info.kind = "ATLAS";
  } else {
    info.kind = "unknown";
  }
  return info;  // the handle stays open: the library is in use by the process anyway
}

int cpu_count() {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<int>(n) : 1;
}

namespace {

constexpr int kMaxThreads = 256;

// SONIFY_THREADS: 0 when unset, -1 when set to anything but 1..256.
int threads_env() {
  const char* text = std::getenv("SONIFY_THREADS");
  if (text == nullptr) return 0;
  int value = 0;
  for (const char* c = text; *c != '\0'; ++c) {
    if (*c < '0' || *c > '9' || value > kMaxThreads) return -1;
    value = value * 10 + (*c - '0');
  }
  return value >= 1 && value <= kMaxThreads ? value : -1;
}

}  // namespace

int default_threads() {
  if (const int env = threads_env(); env > 0) return env;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return std::min(n, kMaxThreads);
  }
  return std::min(cpu_count(), kMaxThreads);
}

Status check_threads_env() {
  if (threads_env() >= 0) return {};
  return fail("SONIFY_THREADS must be a whole number from 1 to ", kMaxThreads, ", not '",
              std::getenv("SONIFY_THREADS"), "'");
}

}  // namespace sonify
