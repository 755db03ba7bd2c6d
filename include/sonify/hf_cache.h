// Models in the Hugging Face hub cache, found offline the way huggingface_hub lays them
// out: CACHE/models--ORG--NAME/refs/REVISION holds a commit hash, snapshots/HASH/ holds
// the files as symbolic links into blobs/. Nothing here downloads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sonify/result.h"

namespace sonify {

// The hub cache directory: $HF_HUB_CACHE, else $HUGGINGFACE_HUB_CACHE, else $HF_HOME/hub,
// else $XDG_CACHE_HOME/huggingface/hub, else $HOME/.cache/huggingface/hub (huggingface_hub's
// order). Empty when none can be formed (no HOME).
std::string hf_hub_cache_dir();

// A `--model` argument as the user typed it: an existing file or directory is returned
// unchanged (a local path wins); otherwise, when it reads as a Hub name (NAME or ORG/NAME,
// optionally @REVISION: a branch, tag or commit hash; default main), the snapshot
// directory in the cache. A name that is not cached, or whose snapshot has a dangling
// link, is an error naming the paths tried and the `huggingface-cli download` command
// that would fetch it. Anything else is returned unchanged for the loader to refuse.
Result<std::string> resolve_model_reference(const std::string& given);

// Same with an explicit cache directory (tests; `hf_hub_cache_dir()` above).
Result<std::string> resolve_model_reference(const std::string& given, const std::string& cache_dir);

// One revision of a cached model.
struct CachedModel {
  std::string repo_id;     // ORG/NAME, or NAME
  std::string revision;    // the ref (main, a tag) or, for a snapshot no ref names, its hash
  std::string commit;      // the snapshot's hash
  std::string path;        // the snapshot directory
  std::string family;      // sonify's family name, or the config's model_type when unsupported
  std::int64_t bytes = 0;  // size of the snapshot's files (link targets)
  bool supported = false;  // config.json parses as a supported family and safetensors exist
  std::string problem;     // why not supported (empty when supported)
};

// Every model revision in `cache_dir` (missing directory: an empty list), sorted by
// repo id then revision.
Result<std::vector<CachedModel>> list_hf_cache(const std::string& cache_dir);

}  // namespace sonify
