// Test helpers for the tests that run the forward pass (they link sonify_runtime and
// define SONIFY_PLUGIN_DIR, where the libtorch plugin was built).
#pragma once

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "sonify/model.h"
#include "sonify/runtime.h"

namespace sonify::test {

// Points the runtime at the plugin of this build before any test opens a model.
inline const bool kPluginDirSet = [] { return ::setenv("SONIFY_PLUGIN_DIR", SONIFY_PLUGIN_DIR, 1) == 0; }();

// The logits at every position of `ids` (positions × vocabulary), or a failed REQUIRE
// naming why the model or the runtime did not open.
inline std::vector<float> forward_logits(const std::string& model_path,
                                         const std::vector<std::int64_t>& ids) {
  auto model = Model::open(model_path);
  INFO((model.ok() ? "" : model.error().message));
  REQUIRE(model.ok());
  auto runtime = runtime_open(*model);
  INFO((runtime.ok() ? "" : runtime.error().message));
  REQUIRE(runtime.ok());
  CaptureRequest request;
  request.logits = LogitPositions::All;
  auto trace = (*runtime)->forward(ids, request);
  INFO((trace.ok() ? "" : trace.error().message));
  REQUIRE(trace.ok());
  return trace->logits.values;
}

}  // namespace sonify::test
