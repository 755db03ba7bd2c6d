// Reading a whole small file (configs, JSON, prompt lists) into memory, with one-line
// errors that name the file.
#pragma once

#include <string>

#include "sonify/result.h"

namespace sonify {

// The bytes of the regular file at `path`. Fails with "PATH: no such file" when it does
// not exist, "PATH: not a regular file" for a directory, FIFO or device (checked before
// opening, so a FIFO is never waited on), and "PATH: cannot read: REASON" otherwise.
Result<std::string> read_text(const std::string& path);

}  // namespace sonify
