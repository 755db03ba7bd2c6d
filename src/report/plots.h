// The model panel's plots as data (so the SVG in the page and the PNG draw the same
// thing) and as SVG: singular-value spectra per role and layer on log-log axes, heatmaps
// of a statistic over layers x roles, the tension curve, the tonality chroma, and an
// album's tension arc.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "sonify/features.h"

namespace sonify::report {

struct Curve {
  std::string label;  // "layer 3"
  std::string color;
  std::vector<std::pair<double, double>> points;  // data coordinates
  bool markers = false;
};

struct Panel {
  std::string title;
  std::string x_label;
  std::string y_label;
  bool log_x = false;
  bool log_y = false;
  bool integer_x = false;                         // ticks on whole numbers only (layers, track numbers)
  double x_lo = 0, x_hi = 1, y_lo = 0, y_hi = 1;  // data range shown
  std::vector<Curve> curves;
};

// One panel per matrix role (q, k, v, o, gate, up, down, then model-level matrices), σ_i
// against i on log-log axes, one curve per layer, at most `max_points` points per curve
// (log-spaced indices, the first and last always kept).
std::vector<Panel> spectra_panels(const WeightFeatures& features, int max_points = 96);

// Colour of layer `layer` of `n_layers` (categorical up to 10 layers, a ramp beyond).
std::string layer_color(int layer, int n_layers);

// The tension per layer as a panel (linear axes, markers).
Panel tension_panel(const std::vector<double>& tension);

// Ticks for an axis: positions in data units and their labels.
std::vector<std::pair<double, std::string>> axis_ticks(double lo, double hi, bool log_scale,
                                                       bool integer = false);

// A panel as an <svg> of `width` x `height` user units; `id` names its title for ARIA.
std::string panel_svg(const Panel& panel, double width, double height, const std::string& id);

// A statistic over layers x roles.
struct Heatmap {
  std::string title;                        // "excess kurtosis"
  std::string note;                         // how colours map ("colour: asinh scale")
  std::vector<std::string> roles;           // rows
  int n_layers = 0;                         // columns
  std::vector<std::vector<double>> values;  // [role][layer]; NaN where the model has none
  bool asinh_colour = false;
};

// The three heatmaps of the model panel: excess kurtosis, power-law α, stable rank.
std::vector<Heatmap> model_heatmaps(const WeightFeatures& features);

std::string heatmap_svg(const Heatmap& heatmap, const std::string& id);

// Twelve bars of the chroma with the root and the mode's degrees marked.
std::string chroma_svg(const Tonality& tonality, const std::string& id);

// One album track on the tension arc.
struct ArcPoint {
  std::string label;  // "1 The lost key"
  std::string href;   // the track's page
  double x = 0;       // seconds into the album, or the track number
  double tension = 0;
};

// Tension against album time (or track number), each point a link to its track page.
std::string arc_svg(const std::vector<ArcPoint>& points, const std::string& x_label, const std::string& id);

}  // namespace sonify::report
