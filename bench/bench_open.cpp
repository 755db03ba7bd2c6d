// Opens and indexes a model (mmap, header validation, config, role mapping) without
// reading a tensor, and prints the wall time and the resident memory it cost.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include "sonify/model.h"

namespace {

// A field of /proc/self/status in kB ("VmRSS", "VmHWM").
long status_kb(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: bench_open MODEL_DIR\n");
    return 2;
  }
  const long rss_before = status_kb("VmRSS");
  const auto t0 = std::chrono::steady_clock::now();
  auto model = sonify::Model::open(argv[1]);
  const auto t1 = std::chrono::steady_clock::now();
  if (!model.ok()) {
    std::fprintf(stderr, "bench_open: %s\n", model.error().message.c_str());
    return 1;
  }
  const long rss_after = status_kb("VmRSS");
  std::printf(
      "{\"seconds\": %.6f, \"rss_before_kb\": %ld, \"rss_after_kb\": %ld, \"peak_kb\": %ld, "
      "\"tensors\": %zu, \"parameters\": %lld, \"bytes_on_disk\": %llu}\n",
      std::chrono::duration<double>(t1 - t0).count(), rss_before, rss_after, status_kb("VmHWM"),
      model->tensors().size(), static_cast<long long>(model->parameter_count()),
      static_cast<unsigned long long>(model->checkpoint().bytes_on_disk()));
  return 0;
}
