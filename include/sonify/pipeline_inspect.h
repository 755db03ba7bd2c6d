// What is inside a checkpoint, as `sonify inspect` shows it: architecture, size, dtypes,
// files, one row per tensor role and the tensors holding NaN or Inf. The text is rendered from the JSON
// object, so the two views never disagree.
#pragma once

#include <string>

namespace sonify {

class Model;

// One indented JSON object, ending in a newline.
std::string inspect_json(const Model& model);

// Key/value lines, then the role table ("role layers shape dtype stored as").
std::string inspect_text(const Model& model);

}  // namespace sonify
