// `sonify compare` as one library call: a base model A and a derivative B of the same
// architecture, compared tensor by tensor (sonify/compare.h) and heard as one track. The
// genre piece of A plays in the left channel and the same genre's piece of B in the right,
// so unchanged layers sound centred and changed ones pull apart; a choir voice sings in
// each layer's span as loud and as dissonant as that layer changed. Committed together:
// DIR/NAME.a.mid, NAME.b.mid, NAME.diff.mid, NAME.wav and NAME.json (the ranking), and
// with a direction NAME.direction.mid and NAME.direction.wav.
#pragma once

#include <string>
#include <vector>

#include "sonify/result.h"

namespace sonify {

struct CompareRequest {
  std::string model_a;            // the base model
  std::string model_b;            // the derivative
  std::string genre = "acid";     // acid plays one section per layer
  std::vector<std::string> sets;  // genre parameter overrides for both pieces
  std::string genre_config_dir;   // where GENRE.json overrides are looked for ("" = none)
  std::string out_dir = ".";
  std::string name = "compare";  // the set's file name stem (a plain name)
  bool midi_only = false;
  std::string soundfont;
  // The activation side: a contrast set (configs/contrast/*.json) whose difference of means
  // in model A gives one direction, and the prompt whose residual stream in both models is
  // projected on it (the set's first B prompt when empty). Adds NAME.direction.mid/.wav.
  std::string direction;
  std::string prompt;
  int direction_layer = -1;  // hidden state of the direction; -1: the best separated block
};

struct CompareRun {
  std::vector<std::string> files;   // committed paths
  std::size_t tensors = 0;          // tensors compared
  std::size_t changed_tensors = 0;  // with any entry changed
  std::vector<std::string> top;     // "layer 1 down weight: 0.0312" for the most changed, at most 5
  double length_seconds = 0;
};

// Fails with one line, writing nothing, when the models do not share an architecture and
// shape (naming the first differing tensor), when a weight is not finite, or on any
// genre, render or output error.
Result<CompareRun> run_compare(const CompareRequest& request);

}  // namespace sonify
