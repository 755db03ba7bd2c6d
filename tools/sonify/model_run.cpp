#include "model_run.h"

#include <cstdio>

#include "sonify/runtime.h"

namespace sonify::cli {

Result<std::vector<std::int64_t>> parse_token_ids(const std::string& text) {
  std::vector<std::int64_t> ids;
  std::size_t i = 0;
  while (i <= text.size()) {
    const std::size_t comma = std::min(text.find(',', i), text.size());
    std::string item = text.substr(i, comma - i);
    const auto first = item.find_first_not_of(' '), last = item.find_last_not_of(' ');
    item = first == std::string::npos ? "" : item.substr(first, last - first + 1);
    if (item.empty() || item.size() > 12 || item.find_first_not_of("0123456789") != std::string::npos)
      return fail("--ids: '", item, "' at position ", ids.size(),
                  " is not a token id (expected non-negative integers separated by commas, e.g. 1,2,3)");
    ids.push_back(std::stoll(item));
    i = comma + 1;
  }
  return ids;
}

Status prompt_fit(const ModelSpec& spec, bool truncate, std::vector<std::int64_t>* ids) {
  if (truncate && ids->size() > static_cast<std::size_t>(spec.context_length)) {
    std::fprintf(stderr, "sonify: note: prompt truncated from %zu to its last %d tokens\n", ids->size(),
                 spec.context_length);
    ids->erase(ids->begin(), ids->end() - spec.context_length);
  }
  return runtime_check_ids(spec, *ids);
}

}  // namespace sonify::cli
