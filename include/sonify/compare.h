// Two checkpoints of one architecture compared weight by weight: what changed between a
// base model and a derivative (fine-tuned, abliterated, pruned, quantised and
// dequantised). Implemented in src/analysis (Eigen for the spectra); no Eigen here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sonify/model.h"
#include "sonify/result.h"

namespace sonify {

// How one logical tensor changed from model A to model B (ΔW = W_B - W_A, in float64).
struct TensorChange {
  int layer = -1;      // -1 for model-level tensors
  std::string role;    // role_name()
  std::string part;    // "weight" or "bias"
  std::string tensor;  // stored name in A
  std::vector<std::int64_t> shape;
  // The type each model stores the tensor in ("F16", "Q4_K", ...): a quantised copy's
  // change follows its type, so the ranking can be read against it.
  std::string dtype_a, dtype_b;
  double norm_a = 0;         // ||W_A||_F
  double norm_b = 0;         // ||W_B||_F
  double delta_norm = 0;     // ||ΔW||_F
  double relative = 0;       // ||ΔW||_F / ||W_A||_F (0 when both are 0; ||ΔW||_F when only A is)
  double cosine = 1;         // <W_A, W_B> / (||W_A|| ||W_B||); 1 when both are 0
  std::int64_t changed = 0;  // entries with W_B != W_A
  // Matrices only (0 for vectors): the largest singular value of ΔW and its stable rank
  // ||ΔW||_F² / σ1² (1 for a rank-one edit such as an orthogonalised direction).
  double delta_sigma1 = 0;
  double delta_stable_rank = 0;
};

// Every tensor of A in Model::tensors() order (a tied lm_head is left out), plus, per
// layer, the largest relative change of its tensors.
struct ModelDiff {
  std::vector<TensorChange> tensors;
  std::vector<double> layer_change;  // n_layers entries
  double model_change = 0;           // largest relative change of any tensor
  std::int64_t changed_tensors = 0;  // tensors with any entry changed
};

// Checks that A and B share family, layer count and every tensor's role and shape; the
// error names the first tensor (or setting) that differs, in one line.
Status models_comparable(const Model& a, const Model& b);

// Compares every tensor (after models_comparable). A tensor holding NaN or Inf in either
// model is an error naming it. `threads` 0 uses every core; the result does not depend
// on it.
Result<ModelDiff> diff_models(const Model& a, const Model& b, int threads = 0);

}  // namespace sonify
