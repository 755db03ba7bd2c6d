#include "sonify/system_probe.h"

#include <dlfcn.h>
#include <unistd.h>

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

}  // namespace sonify
