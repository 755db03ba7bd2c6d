// Hidden partial files (the temporaries of AtomicFile and OutputSet) are removed when the
// process is ended by SIGINT, SIGTERM or SIGHUP, and the ones a SIGKILLed run left are
// removed by the next run that writes into the same directory.
#pragma once

#include <string>

namespace sonify {

// Registers `path` for removal should the process die of SIGINT, SIGTERM or SIGHUP (the
// handlers are installed on first use, only where the signal's action is the default;
// after removing the files they re-raise the signal with the default action). Paths
// beyond the registry's capacity (512) are not registered, only left for the sweep.
void partial_file_add(const std::string& path);

// Forgets `path` (committed or removed by its owner).
void partial_file_remove(const std::string& path);

// Unlinks every registered partial file. Async-signal-safe, for handlers of fatal signals
// that end the process themselves (SIGBUS on a shrunk mapping).
void partial_files_unlink_registered();

// The tag in this process's partial file names: "PID-hHOST" (HOST: 8 hex digits hashed
// from the host name), so two machines writing into one shared directory (album shards on
// NFS) never pick the same temporary name, and a sweep never takes another machine's live
// temporary for a dead process's leftover.
const std::string& partial_tag();

// The hidden file name "." NAME MARKER TAG EXT of a temporary for the file NAME (MARKER
// ".partial-" or ".tmp-", TAG partial_tag()). A NAME too long to fit the file system's
// 255-byte limit with the decoration is cut at a UTF-8 character boundary and given 8 hex
// digits of its hash, so any name that is valid itself has a valid temporary. The name is
// remembered for public_paths().
std::string partial_name(const std::string& name, const char* marker, const std::string& ext);

// `message` with every temporary name this process made replaced by the name of the file
// it stands for, so an error names the file the user asked for, never ".x.partial-…".
std::string public_paths(std::string message);

// Removes the partial files in `dir` (names "." NAME ".partial-TAG..." or "." NAME
// ".tmp-TAG", TAG as partial_tag() or a bare PID) whose process no longer exists on this
// machine; files tagged with another host are left alone. Errors are ignored: this is
// housekeeping.
void partial_files_sweep(const std::string& dir);

}  // namespace sonify
