// Phrases a listener hears in a prompt track: each sentence (its words up to one ending in
// '.', '!' or '?'; the words after the last such one form the last sentence), closing
// breath included, is stretched or squeezed linearly to 2, 4, 8 or 16 bars of 4/4, the
// nearest in ratio, and starts on a bar line. Both prompt styles lay their words out in
// natural beats and map them through this. A MIDI prompt's words come with their own beats,
// which add_exact keeps.
#pragma once

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace sonify::phrases {

// Whether a word closes a sentence.
inline bool ends_sentence(const std::string& word) {
  const char end = word.empty() ? ' ' : word.back();
  return end == '.' || end == '!' || end == '?';
}

// The bars (2, 4, 8 or 16) a sentence of `beats` natural beats becomes: the nearest in
// ratio, so a sentence is never stretched or squeezed by more than a factor of √2.
inline int bars_for(double beats) {
  int best = 2;
  for (int bars : {4, 8, 16})
    if (std::abs(std::log(4.0 * bars / beats)) < std::abs(std::log(4.0 * best / beats))) best = bars;
  return best;
}

class Map {
 public:
  // Adds the next sentence, `beats` natural beats long (its closing breath included).
  void add(double beats) {
    const int bars = bars_for(beats);
    start_.push_back(total_);
    factor_.push_back(4.0 * bars / beats);
    bars_.push_back(bars);
    total_ += 4.0 * bars;
  }
  // Adds a sentence whose beats are already the music's (a MIDI prompt's moments): kept
  // as they are, in as many bars as they fill.
  void add_exact(double beats) {
    const int bars = std::max(1, static_cast<int>(std::ceil(beats / 4.0 - 1e-9)));
    start_.push_back(total_);
    factor_.push_back(1.0);
    bars_.push_back(bars);
    total_ += 4.0 * bars;
  }
  // Where `offset` natural beats into sentence `s` fall, in beats from the track's start.
  double at(std::size_t s, double offset) const { return start_[s] + factor_[s] * offset; }
  double factor(std::size_t s) const { return factor_[s]; }
  int bars(std::size_t s) const { return bars_[s]; }
  double total() const { return total_; }             // beats: where the cadence starts
  std::size_t size() const { return start_.size(); }  // sentences added

 private:
  std::vector<double> start_, factor_;
  std::vector<int> bars_;
  double total_ = 0;
};

}  // namespace sonify::phrases
