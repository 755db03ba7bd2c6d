// Shared test helpers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sonify::test {

// A fresh temporary directory, removed with everything in it when this object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Points XDG_CACHE_HOME at a temporary directory of this test binary (made once), so the
// analysis and activation caches of a run never depend on the user's.
void use_private_cache();

// The fixtures folder ($SONIFY_FIXTURES or ../shared/fixtures beside the project).
// Calls skip_test() when it is absent.
std::string fixtures_dir();

// Ends the current test as skipped (exit code 77 for ctest), or fails it when CI=true.
[[noreturn]] void skip_test(const std::string& reason);

struct RunResult {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;
  std::string out;
  std::string err;
};

// Runs the sonify binary with `args` (no shell involved); stdin is /dev/null.
RunResult run_sonify(const std::vector<std::string>& args);

// Runs any program with arguments, capturing output.
RunResult run_program(const std::vector<std::string>& argv);

// The 8 little-endian bytes of `v`, as a safetensors header length.
std::string le64(std::uint64_t v);

std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& contents);

// Files in a directory (names only), sorted.
std::vector<std::string> list_dir(const std::string& path);

}  // namespace sonify::test
