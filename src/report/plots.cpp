#include "plots.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "markup.h"
#include "sonify/scale.h"

namespace sonify::report {
namespace {

const char* const kCategorical[] = {"#0072B2", "#C24E00", "#007A5A", "#B0457F", "#6A3D9A",
                                    "#8A6D00", "#1F5F8B", "#A6192E", "#3B6E22", "#5E4B8B"};
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct Rgb {
  double r, g, b;
};

Rgb hex_rgb(const char* hex) {
  const auto h = [&](int i) { return static_cast<double>(std::stoi(std::string(hex + i, 2), nullptr, 16)); };
  return {h(1), h(3), h(5)};
}

std::string rgb_hex(Rgb c) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "#%02X%02X%02X", static_cast<int>(std::lround(c.r)),
                static_cast<int>(std::lround(c.g)), static_cast<int>(std::lround(c.b)));
  return buf;
}

// Piecewise-linear colour ramp through `stops` at f in [0, 1].
std::string ramp(const std::vector<const char*>& stops, double f) {
  f = std::clamp(f, 0.0, 1.0) * static_cast<double>(stops.size() - 1);
  const auto i = std::min(static_cast<std::size_t>(f), stops.size() - 2);
  const double u = f - static_cast<double>(i);
  const Rgb a = hex_rgb(stops[i]), b = hex_rgb(stops[i + 1]);
  return rgb_hex({a.r + (b.r - a.r) * u, a.g + (b.g - a.g) * u, a.b + (b.b - a.b) * u});
}

// Matrix roles in the order a reader expects them: attention, MLP, then model-level ones.
int role_order(const std::string& role) {
  static const std::map<std::string, int> order = {{"q", 0},         {"k", 1},      {"v", 2},    {"o", 3},
                                                   {"gate", 4},      {"up", 5},     {"down", 6}, {"embed", 7},
                                                   {"pos_embed", 8}, {"lm_head", 9}};
  auto it = order.find(role);
  return it == order.end() ? 10 : it->second;
}

struct Axes {
  const Panel& p;
  double left, top, width, height;
  double fx(double x) const {
    const double u = p.log_x
                         ? (std::log10(x) - std::log10(p.x_lo)) / (std::log10(p.x_hi) - std::log10(p.x_lo))
                         : (x - p.x_lo) / (p.x_hi - p.x_lo);
    return left + u * width;
  }
  double fy(double y) const {
    const double u = p.log_y
                         ? (std::log10(y) - std::log10(p.y_lo)) / (std::log10(p.y_hi) - std::log10(p.y_lo))
                         : (y - p.y_lo) / (p.y_hi - p.y_lo);
    return top + (1 - u) * height;
  }
};

std::string tick_label(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace

std::string layer_color(int layer, int n_layers) {
  if (n_layers <= 10) return kCategorical[layer % 10];
  return ramp({"#C24E00", "#6A3D9A", "#0072B2"}, static_cast<double>(layer) / (n_layers - 1));
}

std::vector<Panel> spectra_panels(const WeightFeatures& f, int max_points) {
  std::map<std::pair<int, std::string>, Panel> panels;
  for (const MatrixFeatures& m : f.matrices) {
    const auto& sv = m.spectrum.singular_values;
    if (sv.empty() || sv[0] <= 0) continue;
    Panel& p = panels[{role_order(m.role), m.role}];
    if (p.title.empty()) {
      p.title = m.role;
      p.x_label = "index i";
      p.y_label = "σᵢ";
      p.log_x = p.log_y = true;
      p.x_lo = 1;
      p.x_hi = 1;
      p.y_lo = std::numeric_limits<double>::infinity();
      p.y_hi = 0;
    }
    Curve c;
    c.label = m.layer < 0 ? m.role : "layer " + std::to_string(m.layer);
    c.color = m.layer < 0 ? "#0072B2" : layer_color(m.layer, f.n_layers);
    // Values at or below the accuracy floor carry no relative accuracy (doc/features.md).
    const double floor = std::max(m.spectrum.accuracy_floor, sv[0] * 1e-9);
    std::size_t n = 0;
    while (n < sv.size() && sv[n] > floor) ++n;
    const double last = static_cast<double>(std::max<std::size_t>(n, 1));
    std::size_t previous = static_cast<std::size_t>(-1);
    for (int k = 0; k < max_points; ++k) {
      const double u = max_points > 1 ? static_cast<double>(k) / (max_points - 1) : 0;
      const auto i = static_cast<std::size_t>(std::lround(std::pow(last, u))) - 1;
      if (i == previous || i >= n) continue;
      previous = i;
      c.points.emplace_back(static_cast<double>(i + 1), sv[i]);
      p.y_lo = std::min(p.y_lo, sv[i]);
      p.y_hi = std::max(p.y_hi, sv[i]);
    }
    p.x_hi = std::max(p.x_hi, last);
    p.curves.push_back(std::move(c));
  }
  std::vector<Panel> out;
  for (auto& [key, p] : panels) {
    p.x_hi = std::max(p.x_hi, 2.0);
    if (!(p.y_lo < p.y_hi)) p.y_lo = p.y_hi / 10;
    p.y_lo /= 1.15;
    p.y_hi *= 1.15;
    out.push_back(std::move(p));
  }
  return out;
}

Panel tension_panel(const std::vector<double>& tension) {
  Panel p;
  p.title = "tension per layer";
  p.x_label = "layer";
  p.y_label = "attention / MLP";
  p.integer_x = true;
  Curve c;
  c.label = "tension";
  c.color = "#A6192E";
  c.markers = true;
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (std::size_t l = 0; l < tension.size(); ++l) {
    c.points.emplace_back(static_cast<double>(l), tension[l]);
    lo = std::min(lo, tension[l]);
    hi = std::max(hi, tension[l]);
  }
  if (tension.empty()) lo = 0, hi = 1;
  const double pad = hi > lo ? (hi - lo) * 0.12 : std::max(0.05, std::abs(hi) * 0.1);
  p.y_lo = lo - pad;
  p.y_hi = hi + pad;
  p.x_lo = -0.3;
  p.x_hi = std::max(1.0, static_cast<double>(tension.size()) - 0.7);
  p.curves.push_back(std::move(c));
  return p;
}

std::vector<std::pair<double, std::string>> axis_ticks(double lo, double hi, bool log_scale, bool integer) {
  std::vector<std::pair<double, std::string>> ticks;
  if (!(hi > lo)) return ticks;
  if (log_scale) {
    for (const double m : {1.0, 2.0, 5.0}) {
      for (int e = static_cast<int>(std::floor(std::log10(lo)));
           e <= static_cast<int>(std::ceil(std::log10(hi))); ++e) {
        const double v = m * std::pow(10.0, e);
        if (v >= lo && v <= hi) ticks.emplace_back(v, tick_label(v));
      }
      // Powers of ten alone are enough once there are three of them.
      if (ticks.size() >= 3) break;
    }
    std::sort(ticks.begin(), ticks.end());
    return ticks;
  }
  const double raw = (hi - lo) / 5;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (const double m : {1.0, 2.0, 5.0, 10.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  if (integer) step = std::max(1.0, std::round(step));
  for (double v = std::ceil(lo / step) * step; v <= hi + step * 1e-9; v += step)
    ticks.emplace_back(v, tick_label(std::abs(v) < step * 1e-9 ? 0 : v));
  return ticks;
}

std::string panel_svg(const Panel& p, double width, double height, const std::string& id) {
  const Axes ax{p, 52, 26, width - 52 - 10, height - 26 - 36};
  std::string desc;
  for (const Curve& c : p.curves) {
    if (c.points.empty()) continue;
    desc += c.label + ": " + num(c.points.front().second, 4) + " at " + num(c.points.front().first, 2) +
            " to " + num(c.points.back().second, 4) + " at " + num(c.points.back().first, 2) + ". ";
  }
  std::string s = "<svg class=\"plot\" viewBox=\"0 0 " + num(width) + " " + num(height) +
                  "\" role=\"img\" aria-labelledby=\"" + id + "-t " + id + "-d\"><title id=\"" + id +
                  "-t\">" + esc(p.title) + "</title><desc id=\"" + id + "-d\">" + esc(desc) + "</desc>";
  s += "<text class=\"plot-title\" x=\"" + num(ax.left) + "\" y=\"16\">" + esc(p.title) + "</text>";
  s += "<rect class=\"frame\" x=\"" + num(ax.left) + "\" y=\"" + num(ax.top) + "\" width=\"" + num(ax.width) +
       "\" height=\"" + num(ax.height) + "\"/>";
  std::string grid;
  for (const auto& [v, label] : axis_ticks(p.x_lo, p.x_hi, p.log_x, p.integer_x)) {
    const double x = ax.fx(v);
    grid += "M" + num(x) + " " + num(ax.top) + "V" + num(ax.top + ax.height);
    s += "<text class=\"tick\" x=\"" + num(x) + "\" y=\"" + num(ax.top + ax.height + 13) +
         "\" text-anchor=\"middle\">" + esc(label) + "</text>";
  }
  for (const auto& [v, label] : axis_ticks(p.y_lo, p.y_hi, p.log_y)) {
    const double y = ax.fy(v);
    grid += "M" + num(ax.left) + " " + num(y) + "H" + num(ax.left + ax.width);
    s += "<text class=\"tick\" x=\"" + num(ax.left - 4) + "\" y=\"" + num(y + 4) + "\" text-anchor=\"end\">" +
         esc(label) + "</text>";
  }
  s += "<path class=\"grid\" d=\"" + grid + "\"/>";
  s += "<text class=\"axis-label\" x=\"" + num(ax.left + ax.width / 2) + "\" y=\"" + num(height - 4) +
       "\" text-anchor=\"middle\">" + esc(p.x_label) + "</text>";
  for (const Curve& c : p.curves) {
    std::string d;
    for (const auto& [x, y] : c.points) d += (d.empty() ? "M" : "L") + num(ax.fx(x)) + " " + num(ax.fy(y));
    s += "<path class=\"curve\" stroke=\"" + c.color + "\" d=\"" + d + "\"><title>" + esc(c.label) +
         "</title></path>";
    if (c.markers)
      for (const auto& [x, y] : c.points)
        s += "<circle cx=\"" + num(ax.fx(x)) + "\" cy=\"" + num(ax.fy(y)) + "\" r=\"3.5\" fill=\"" + c.color +
             "\"><title>" + esc(p.x_label + " " + num(x, 2) + ": " + num(y, 4)) + "</title></circle>";
  }
  s += "</svg>";
  return s;
}

std::vector<Heatmap> model_heatmaps(const WeightFeatures& f) {
  std::vector<std::string> roles;
  for (const MatrixFeatures& m : f.matrices)
    if (m.layer >= 0 && std::find(roles.begin(), roles.end(), m.role) == roles.end()) roles.push_back(m.role);
  std::stable_sort(roles.begin(), roles.end(),
                   [](const std::string& a, const std::string& b) { return role_order(a) < role_order(b); });
  const auto build = [&](const char* title, const char* note, bool asinh,
                         double (*get)(const MatrixFeatures&)) {
    Heatmap h;
    h.title = title;
    h.note = note;
    h.roles = roles;
    h.n_layers = f.n_layers;
    h.asinh_colour = asinh;
    h.values.assign(roles.size(),
                    std::vector<double>(static_cast<std::size_t>(std::max(0, f.n_layers)), kNaN));
    for (std::size_t r = 0; r < roles.size(); ++r)
      for (int l = 0; l < f.n_layers; ++l)
        if (const MatrixFeatures* m = f.matrix(l, roles[r]); m != nullptr)
          h.values[r][static_cast<std::size_t>(l)] = get(*m);
    return h;
  };
  return {build("excess kurtosis", "colour on an asinh scale (heavy tails stand out without hiding the rest)",
                true, [](const MatrixFeatures& m) { return m.moments.kurtosis; }),
          build("power-law α (eigenvalue tail)", "0 means no fit (fewer than 5 positive eigenvalues)", false,
                [](const MatrixFeatures& m) { return m.spectrum.alpha; }),
          build("stable rank ‖W‖F² / σ₁²", "", false,
                [](const MatrixFeatures& m) { return m.spectrum.stable_rank; })};
}

std::string heatmap_svg(const Heatmap& h, const std::string& id) {
  const double left = 50, top = 26;
  const double cell_w = std::clamp(420.0 / std::max(1, h.n_layers), 8.0, 56.0), cell_h = 22;
  // Wide enough for the title even with few layers.
  const double width = std::max(340.0, left + cell_w * h.n_layers + 8);
  const double height = top + cell_h * static_cast<double>(h.roles.size()) + 22;
  const auto scale = [&](double v) { return h.asinh_colour ? std::asinh(v) : v; };
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const auto& row : h.values)
    for (double v : row)
      if (!std::isnan(v)) lo = std::min(lo, scale(v)), hi = std::max(hi, scale(v));
  std::string s = "<svg class=\"plot heatmap\" viewBox=\"0 0 " + num(width) + " " + num(height) +
                  "\" role=\"img\" aria-labelledby=\"" + id + "-t\"><title id=\"" + id + "-t\">" +
                  esc(h.title + " over layers (columns) and roles (rows); values in the table below") +
                  "</title>";
  s += "<text class=\"plot-title\" x=\"" + num(left) + "\" y=\"16\">" + esc(h.title) + "</text>";
  for (std::size_t r = 0; r < h.roles.size(); ++r) {
    const double y = top + cell_h * static_cast<double>(r);
    s += "<text class=\"tick\" x=\"" + num(left - 5) + "\" y=\"" + num(y + 15) + "\" text-anchor=\"end\">" +
         esc(h.roles[r]) + "</text>";
    for (int l = 0; l < h.n_layers; ++l) {
      const double v = h.values[r][static_cast<std::size_t>(l)];
      const double x = left + cell_w * l;
      if (std::isnan(v)) {
        s += "<rect class=\"cell-none\" x=\"" + num(x) + "\" y=\"" + num(y) + "\" width=\"" +
             num(cell_w - 1) + "\" height=\"" + num(cell_h - 1) + "\"/>";
        continue;
      }
      const double u = hi > lo ? (scale(v) - lo) / (hi - lo) : 0.5;
      s += "<rect x=\"" + num(x) + "\" y=\"" + num(y) + "\" width=\"" + num(cell_w - 1) + "\" height=\"" +
           num(cell_h - 1) + "\" fill=\"" + ramp({"#EEF3FA", "#9CBEDD", "#3F7FB8", "#08306B"}, u) +
           "\"><title>" + esc(h.roles[r] + ", layer " + std::to_string(l) + ": " + num(v, 4)) +
           "</title></rect>";
      if (cell_w >= 34)
        s += "<text x=\"" + num(x + cell_w / 2) + "\" y=\"" + num(y + 15) +
             "\" text-anchor=\"middle\" class=\"cell-text" + (u > 0.5 ? " light" : "") + "\">" +
             esc(num(v, std::abs(v) >= 100  ? 0
                        : std::abs(v) >= 10 ? 1
                                            : 2)) +
             "</text>";
    }
  }
  const int every = std::max(1, static_cast<int>(std::ceil(18 / cell_w)));
  for (int l = 0; l < h.n_layers; l += every)
    s += "<text class=\"tick\" x=\"" + num(left + cell_w * l + cell_w / 2) + "\" y=\"" +
         num(top + cell_h * static_cast<double>(h.roles.size()) + 14) + "\" text-anchor=\"middle\">" +
         std::to_string(l) + "</text>";
  s += "</svg>";
  return s;
}

std::string chroma_svg(const Tonality& t, const std::string& id) {
  const double left = 10, top = 28, bar_w = 30, plot_h = 110, width = left + 12 * bar_w + 10, height = 196;
  std::vector<bool> in_scale(12, false);
  std::vector<int> degree(12, -1);
  if (auto mode = mode_from_name(t.mode); mode.ok()) {
    const auto& iv = mode_intervals(*mode);
    for (std::size_t d = 0; d < iv.size(); ++d) {
      in_scale[static_cast<std::size_t>((t.root + iv[d]) % 12)] = true;
      degree[static_cast<std::size_t>((t.root + iv[d]) % 12)] = static_cast<int>(d) + 1;
    }
  }
  double hi = 0;
  for (double c : t.chroma) hi = std::max(hi, c);
  std::string desc = "Chroma per pitch class:";
  for (std::size_t pc = 0; pc < t.chroma.size() && pc < 12; ++pc)
    desc += " " + pitch_class_name(static_cast<int>(pc)) + " " + num(t.chroma[pc], 3);
  std::string s = "<svg class=\"plot\" viewBox=\"0 0 " + num(width) + " " + num(height) +
                  "\" role=\"img\" aria-labelledby=\"" + id + "-t " + id + "-d\"><title id=\"" + id +
                  "-t\">" + esc("Tonality chroma; key " + t.root_name + " " + t.mode) +
                  "</title><desc id=\"" + id + "-d\">" + esc(desc) + "</desc>";
  s += "<text class=\"plot-title\" x=\"" + num(left) + "\" y=\"16\">" +
       esc("chroma → " + t.root_name + " " + t.mode + " (r = " + num(t.key_correlation, 2) + ", " + t.source +
           ")") +
       "</text>";
  s += "<path class=\"grid\" d=\"M" + num(left) + " " + num(top + plot_h) + "H" + num(width - 10) + "\"/>";
  for (int pc = 0; pc < 12; ++pc) {
    const double c = pc < static_cast<int>(t.chroma.size()) ? t.chroma[static_cast<std::size_t>(pc)] : 0;
    const double h = hi > 0 ? c / hi * plot_h : 0;
    const double x = left + bar_w * pc;
    const char* fill = pc == t.root                             ? "#C24E00"
                       : in_scale[static_cast<std::size_t>(pc)] ? "#0072B2"
                                                                : "#77818C";
    const std::string name = pitch_class_name(pc);
    s += "<rect x=\"" + num(x + 4) + "\" y=\"" + num(top + plot_h - h) + "\" width=\"" + num(bar_w - 8) +
         "\" height=\"" + num(std::max(h, 0.5)) + "\" fill=\"" + fill + "\"><title>" +
         esc(name + ": " + num(c, 4)) + "</title></rect>";
    s += "<text class=\"tick" + std::string(pc == t.root ? " strong" : "") + "\" x=\"" + num(x + bar_w / 2) +
         "\" y=\"" + num(top + plot_h + 14) + "\" text-anchor=\"middle\">" + esc(name) + "</text>";
    if (degree[static_cast<std::size_t>(pc)] > 0)
      s += "<text class=\"tick\" x=\"" + num(x + bar_w / 2) + "\" y=\"" + num(top + plot_h + 28) +
           "\" text-anchor=\"middle\">" + std::to_string(degree[static_cast<std::size_t>(pc)]) + "</text>";
  }
  s += "<text class=\"tick\" x=\"" + num(left) + "\" y=\"" + num(height - 6) +
       "\">orange: root · blue: in the mode (degree below) · grey: outside</text>";
  s += "</svg>";
  return s;
}

std::string arc_svg(const std::vector<ArcPoint>& points, const std::string& x_label, const std::string& id) {
  Panel p;
  p.title = "tension arc";
  p.x_label = x_label;
  double lo = std::numeric_limits<double>::infinity(), hi = -lo, xlo = lo, xhi = -lo;
  Curve c;
  c.label = "tension";
  c.color = "#A6192E";
  for (const ArcPoint& a : points) {
    c.points.emplace_back(a.x, a.tension);
    lo = std::min(lo, a.tension);
    hi = std::max(hi, a.tension);
    xlo = std::min(xlo, a.x);
    xhi = std::max(xhi, a.x);
  }
  if (points.empty()) lo = xlo = 0, hi = xhi = 1;
  const double pad = hi > lo ? (hi - lo) * 0.12 : 0.1;
  const double xpad = xhi > xlo ? (xhi - xlo) * 0.04 : 1;
  p.y_lo = lo - pad;
  p.y_hi = hi + pad;
  p.x_lo = xlo - xpad;
  p.x_hi = xhi + xpad;
  p.integer_x = x_label == "track";
  p.curves.push_back(c);
  std::string s = panel_svg(p, 760, 240, id);
  // The points are links to the tracks' pages: replace the closing tag by them.
  const Axes ax{p, 52, 26, 760 - 52 - 10, 240 - 26 - 36};
  std::string links;
  for (const ArcPoint& a : points) {
    const std::string circle = "<circle cx=\"" + num(ax.fx(a.x)) + "\" cy=\"" + num(ax.fy(a.tension)) +
                               "\" r=\"5\" fill=\"#A6192E\"><title>" +
                               esc(a.label + ": tension " + num(a.tension, 3)) + "</title></circle>";
    links += a.href.empty() ? circle : "<a href=\"" + esc(a.href) + "\">" + circle + "</a>";
  }
  s.insert(s.size() - 6, links);
  return s;
}

}  // namespace sonify::report
