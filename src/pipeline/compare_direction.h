// The activation side of `sonify compare` (the notebooks' §18, abliteration signature, with
// both models of one shape): one direction fitted on the base model from a contrast set,
// and a prompt's residual stream in both models projected onto it, state by state.
#pragma once

#include <string>
#include <vector>

#include "sonify/genres.h"
#include "sonify/model.h"
#include "sonify/result.h"
#include "sonify/score.h"

namespace sonify::pipeline {

struct DirectionComparison {
  std::string set_name;
  std::string set_hash;
  std::string label_a, label_b;    // the set's sides (calm/tense, harmless/harmful)
  int state = 0;                   // hidden state of the direction: 0 embedding, l+1 after block l
  std::vector<double> separation;  // per state: (mean_b - mean_a) / pooled std of the projections
  std::vector<double> direction;   // unit vector of the chosen state's difference of means (model A)
  std::vector<double> centre;      // per state: midpoint of the set's two sides, projected (model A)
  std::vector<double> spread;      // per state: half the distance between the sides (model A)
  std::string prompt;
  std::vector<std::string> pieces;
  std::vector<double> projection_a;  // per state: token mean (first token and specials left out)
  std::vector<double> projection_b;
  std::vector<std::vector<double>> tokens_a;  // per state, per token
  std::vector<std::vector<double>> tokens_b;
};

// Fits the direction on model A from the contrast set at `path` (the state with the largest
// separation, or `state` when >= 0) and projects `prompt` (the set's first B prompt when
// empty) through both models.
Result<DirectionComparison> compare_direction(const Model& a, const Model& b, const std::string& model_a_path,
                                              const std::string& path, const std::string& prompt, int state);

// Two voices over the states: per state the prompt's tokens in order, A in the left
// channel and B in the right, pitched by each token's projection relative to the set
// (centre → the root, one spread → three scale steps), in `root_midi` and `mode`.
Score direction_score(const DirectionComparison& d, int root_midi, const std::string& mode);

}  // namespace sonify::pipeline
