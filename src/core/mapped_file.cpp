#include "core/mapped_file.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <utility>

#include "core/partial_files.h"

namespace sonify {
namespace {

// Mapped ranges and their paths in a fixed table, so the SIGBUS handler can name the file
// that shrank under its mapping (another process truncated or rewrote it in place)
// without allocating or locking. Reading past the new end raises SIGBUS, which would
// otherwise end the process with no message.
constexpr int kMaps = 256;
struct MapSlot {
  std::atomic<int> state{0};  // 0 free, 1 being written, 2 ready
  std::uintptr_t begin = 0, end = 0;
  char path[PATH_MAX];
};
MapSlot g_maps[kMaps];

void write_all(const char* s) {
  std::size_t n = std::strlen(s);
  while (n > 0) {
    const ssize_t w = ::write(STDERR_FILENO, s, n);
    if (w <= 0) return;
    s += w, n -= static_cast<std::size_t>(w);
  }
}

// The handler that was there before ours (the default, or a sanitizer's): faults outside our
// mappings go to it, so ASan still reports its own and a host's handler keeps working.
struct sigaction g_previous_sigbus {};

void on_sigbus(int sig, siginfo_t* info, void*) {
  const auto addr = reinterpret_cast<std::uintptr_t>(info->si_addr);
  for (const MapSlot& m : g_maps)
    if (m.state.load() == 2 && addr >= m.begin && addr < m.end) {
      write_all("sonify: error: ");
      write_all(m.path);
      write_all(": the file shrank while it was being read (was it rewritten during the run?)\n");
      partial_files_unlink_registered();
      ::_exit(1);
    }
  ::sigaction(sig, &g_previous_sigbus, nullptr);
  // A fault re-executes the faulting access on return and reaches the previous handler; a
  // signal sent with kill() or raise() would not come back, so send it again.
  if (info->si_code <= 0) ::raise(sig);
}

void map_register(const std::string& path, const unsigned char* data, std::uint64_t size) {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGBUS, &sa, &g_previous_sigbus);
  });
  if (path.size() >= PATH_MAX) return;
  for (MapSlot& m : g_maps) {
    int expected = 0;
    if (!m.state.compare_exchange_strong(expected, 1)) continue;
    m.begin = reinterpret_cast<std::uintptr_t>(data);
    m.end = m.begin + size;
    std::memcpy(m.path, path.c_str(), path.size() + 1);
    m.state.store(2);
    return;
  }
}

void map_unregister(const unsigned char* data) {
  for (MapSlot& m : g_maps)
    if (m.state.load() == 2 && m.begin == reinterpret_cast<std::uintptr_t>(data)) {
      m.state.store(0);
      return;
    }
}

}  // namespace

Result<MappedFile> MappedFile::open(const std::string& path) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer; fstat
  // below then refuses it like any other non-regular file.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return fail(path, ": cannot open: ", std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return fail(path, ": cannot stat: ", std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return fail(path, ": not a regular file");
  }
  MappedFile file;
  file.path_ = path;
  file.size_ = static_cast<std::uint64_t>(st.st_size);
  if (file.size_ > 0) {
    void* p = ::mmap(nullptr, file.size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      int err = errno;
      ::close(fd);
      return fail(path, ": cannot map: ", std::strerror(err));
    }
    file.data_ = static_cast<const unsigned char*>(p);
    map_register(path, file.data_, file.size_);
  }
  ::close(fd);  // the mapping keeps the file alive
  return file;
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : path_(std::move(other.path_)), data_(other.data_), size_(other.size_) {
  other.data_ = nullptr;
  other.size_ = 0;
}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    reset();
    path_ = std::move(other.path_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

MappedFile::~MappedFile() { reset(); }

void MappedFile::reset() {
  if (data_ != nullptr) {
    map_unregister(data_);
    ::munmap(const_cast<unsigned char*>(data_), size_);
  }
  data_ = nullptr;
  size_ = 0;
}

}  // namespace sonify
