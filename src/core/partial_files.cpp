#include "core/partial_files.h"

#include <limits.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <vector>

namespace sonify {
namespace {

// A fixed table, so the signal handler reads it without allocating or locking: a slot is
// Free, being Written by one thread, or Ready to be unlinked.
enum SlotState : int { kFree = 0, kWriting = 1, kReady = 2 };
constexpr int kSlots = 512;
struct Slot {
  std::atomic<int> state{kFree};
  char path[PATH_MAX];
};
Slot g_slots[kSlots];

void on_signal(int sig) {
  partial_files_unlink_registered();
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

void install_handlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
      struct sigaction old {};
      if (::sigaction(sig, nullptr, &old) != 0 || old.sa_handler != SIG_DFL) continue;  // ignored or owned
      struct sigaction sa {};
      sa.sa_handler = on_signal;
      sigemptyset(&sa.sa_mask);
      ::sigaction(sig, &sa, nullptr);
    }
  });
}

std::string host_hash() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  std::uint32_t h = 2166136261u;
  for (const char* c = host; *c != '\0'; ++c) h = (h ^ static_cast<unsigned char>(*c)) * 16777619u;
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08x", h);
  return hex;
}

// The PID in a partial file's name, or 0 when the name is not one or carries another
// host's tag.
pid_t owner_pid(const std::string& name) {
  static const std::string kHostTag = "-h" + host_hash();
  if (name.empty() || name[0] != '.') return 0;
  for (const char* marker : {".partial-", ".tmp-"}) {
    const std::size_t at = name.rfind(marker);
    if (at == std::string::npos) continue;
    std::size_t i = at + std::strlen(marker), end = i;
    while (end < name.size() && name[end] >= '0' && name[end] <= '9') ++end;
    if (end == i || end - i > 9) continue;
    const std::size_t digits_end = end;
    if (name.compare(end, 2, "-h") == 0) {
      if (name.compare(end, kHostTag.size(), kHostTag) != 0) return 0;
      end += kHostTag.size();
    }
    if (end != name.size() && name[end] != '.') continue;
    end = digits_end;
    return static_cast<pid_t>(std::stol(name.substr(i, end - i)));
  }
  return 0;
}

}  // namespace

const std::string& partial_tag() {
  static const std::string tag = std::to_string(::getpid()) + "-h" + host_hash();
  return tag;
}

void partial_files_unlink_registered() {
  for (Slot& s : g_slots)
    if (s.state.load() == kReady) ::unlink(s.path);
}

void partial_file_add(const std::string& path) {
  if (path.size() >= PATH_MAX) return;
  install_handlers();
  for (Slot& s : g_slots) {
    int expected = kFree;
    if (!s.state.compare_exchange_strong(expected, kWriting)) continue;
    std::memcpy(s.path, path.c_str(), path.size() + 1);
    s.state.store(kReady);
    return;
  }
}

void partial_file_remove(const std::string& path) {
  for (Slot& s : g_slots)
    if (s.state.load() == kReady && path == s.path) {
      s.state.store(kFree);
      return;
    }
}

namespace {
std::mutex g_names_mutex;
std::map<std::string, std::string>& temp_names() {  // temporary name -> the file's own name
  static std::map<std::string, std::string> names;
  return names;
}
}  // namespace

std::string partial_name(const std::string& name, const char* marker, const std::string& ext) {
  constexpr std::size_t kNameMax = 255;
  const std::string tail = std::string(marker) + partial_tag() + ext;
  std::string base = name;
  if (1 + base.size() + tail.size() > kNameMax) {
    std::uint32_t h = 2166136261u;
    for (unsigned char c : name) h = (h ^ c) * 16777619u;
    char hex[10];
    std::snprintf(hex, sizeof hex, "~%08x", h);
    std::size_t keep = kNameMax - 1 - tail.size() - 9;
    while (keep > 0 && (static_cast<unsigned char>(name[keep]) & 0xC0) == 0x80) --keep;
    base = name.substr(0, keep) + hex;
  }
  std::string temp = "." + base + tail;
  std::lock_guard<std::mutex> lock(g_names_mutex);
  temp_names()[temp] = name + ext;
  return temp;
}

std::string public_paths(std::string message) {
  std::lock_guard<std::mutex> lock(g_names_mutex);
  // A temporary of a temporary (an atomic write into an output set's partial file) is
  // longer than the name it stands for, so longest first undoes both levels.
  std::vector<const std::pair<const std::string, std::string>*> order;
  for (const auto& entry : temp_names()) order.push_back(&entry);
  std::stable_sort(order.begin(), order.end(),
                   [](const auto* a, const auto* b) { return a->first.size() > b->first.size(); });
  for (const auto* entry : order)
    for (std::size_t at = message.find(entry->first); at != std::string::npos;
         at = message.find(entry->first, at + entry->second.size()))
      message.replace(at, entry->first.size(), entry->second);
  return message;
}

void partial_files_sweep(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir.empty() ? "." : dir, ec)) {
    const pid_t pid = owner_pid(e.path().filename().string());
    if (pid <= 0 || pid == ::getpid()) continue;
    if (::kill(pid, 0) == 0 || errno != ESRCH) continue;  // alive (or not ours to probe)
    std::error_code rm;
    if (e.is_regular_file(rm)) fs::remove(e.path(), rm);
  }
}

}  // namespace sonify
