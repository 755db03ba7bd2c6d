#include "png.h"

#include <cairo.h>

#include <algorithm>
#include <cmath>
#include <memory>

#include "sonify/report.h"
#include "sonify/scale.h"

namespace sonify::report {
namespace {

struct SurfaceDeleter {
  void operator()(cairo_surface_t* s) const { cairo_surface_destroy(s); }
};
struct ContextDeleter {
  void operator()(cairo_t* c) const { cairo_destroy(c); }
};
using Surface = std::unique_ptr<cairo_surface_t, SurfaceDeleter>;
using Context = std::unique_ptr<cairo_t, ContextDeleter>;

void set_hex(cairo_t* cr, const std::string& hex, double alpha = 1) {
  const auto h = [&](int i) {
    return std::stoi(hex.substr(static_cast<std::size_t>(i), 2), nullptr, 16) / 255.0;
  };
  cairo_set_source_rgba(cr, h(1), h(3), h(5), alpha);
}

void text(cairo_t* cr, double x, double y, const std::string& s, double size, bool bold = false,
          double anchor = 0) {  // anchor 0 left, 0.5 centre, 1 right
  cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL,
                         bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
  cairo_text_extents_t ext;
  cairo_text_extents(cr, s.c_str(), &ext);
  cairo_move_to(cr, x - anchor * ext.x_advance, y);
  cairo_show_text(cr, s.c_str());
}

double text_width(cairo_t* cr, const std::string& s, double size) {
  cairo_set_font_size(cr, size);
  cairo_text_extents_t ext;
  cairo_text_extents(cr, s.c_str(), &ext);
  return ext.x_advance;
}

Result<std::string> encode(cairo_surface_t* surface) {
  std::string bytes;
  const auto status = cairo_surface_write_to_png_stream(
      surface,
      [](void* closure, const unsigned char* data, unsigned int length) {
        static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
        return CAIRO_STATUS_SUCCESS;
      },
      &bytes);
  if (status != CAIRO_STATUS_SUCCESS)
    return fail("cairo: cannot encode PNG: ", cairo_status_to_string(status));
  return bytes;
}

Result<std::pair<Surface, Context>> canvas(int width, int height) {
  Surface surface(cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height));
  if (cairo_surface_status(surface.get()) != CAIRO_STATUS_SUCCESS)
    return fail("cairo: cannot create a ", width, "x", height, " image");
  Context cr(cairo_create(surface.get()));
  cairo_set_source_rgb(cr.get(), 1, 1, 1);
  cairo_paint(cr.get());
  return std::make_pair(std::move(surface), std::move(cr));
}

const double kStepAlpha[] = {0.45, 0.65, 0.85, 1.0};
int loudness_step(int velocity) { return velocity < 48 ? 0 : velocity < 80 ? 1 : velocity < 104 ? 2 : 3; }

}  // namespace

Result<std::string> roll_png(const Roll& roll, const std::string& title) {
  constexpr double kTitle = 30, kLegend = 26;
  SONIFY_ASSIGN_OR_RETURN(c, canvas(kReportRollPngWidth, kReportRollPngHeight));
  cairo_t* cr = c.second.get();
  const RollLayout l = roll_layout(roll, kReportRollPngWidth, 0);
  // The layout's height depends on the pitch range; the image's does not: scale y only.
  const double sy = (kReportRollPngHeight - kTitle - kLegend) / l.height;
  const auto fy = [&](double y) { return kTitle + y * sy; };
  set_hex(cr, "#1A1A1A");
  text(cr, 10, 20, title, 15, true);

  for (std::size_t i = 0; i < roll.bands.size(); ++i) {
    const RollBand& b = roll.bands[i];
    const double x = l.x(b.start), w = std::max(1.0, (b.end - b.start) * l.px_per_second);
    set_hex(cr, i % 2 == 0 ? "#F2F4F8" : "#E4E8EF");
    cairo_rectangle(cr, x, fy(0), w, fy(l.bottom) - fy(0));
    cairo_fill(cr);
    const std::string label = b.label + (b.detail.empty() ? "" : " · " + b.detail);
    set_hex(cr, "#1A1A1A");
    if (text_width(cr, label, 12) + 8 < w)
      text(cr, x + 4, fy(14), label, 12, true);
    else if (text_width(cr, b.label, 12) + 8 < w)
      text(cr, x + 4, fy(14), b.label, 12, true);
  }
  cairo_set_line_width(cr, 1);
  set_hex(cr, "#C1C7D0");
  const double bar_px =
      roll.bar_starts.size() > 1 ? (roll.bar_starts[1] - roll.bar_starts[0]) * l.px_per_second : l.width;
  int every = 1;
  while (bar_px * every < 6) every *= 2;
  for (std::size_t b = 0; b < roll.bar_starts.size(); b += static_cast<std::size_t>(every)) {
    const double x = std::round(l.x(roll.bar_starts[b])) + 0.5;
    cairo_move_to(cr, x, fy(l.melodic_top - 2));
    cairo_line_to(cr, x, fy(l.bottom));
  }
  cairo_stroke(cr);
  for (int p = l.pitch_lo; p <= l.pitch_hi; ++p) {
    if (p % 12 != 0) continue;
    const double y = fy(l.melodic_top + (l.pitch_hi - p + 1) * l.row_height);
    set_hex(cr, "#D9DDE4");
    cairo_move_to(cr, l.x0, std::round(y) + 0.5);
    cairo_line_to(cr, l.width - 14, std::round(y) + 0.5);
    cairo_stroke(cr);
    set_hex(cr, "#2B2F35");
    text(cr, l.x0 - 6, y, pitch_name(p), 11, false, 1);
  }
  for (std::size_t k = 0; k < l.drum_keys.size(); ++k) {
    const double y = l.drum_top + static_cast<double>(l.drum_keys.size() - 1 - k) * l.drum_row_height;
    set_hex(cr, "#2B2F35");
    text(cr, l.x0 - 6, fy(y + l.drum_row_height) - 1, drum_key_name(l.drum_keys[k]), 9, false, 1);
  }
  for (const RollNote& n : roll.notes) {
    const RollTrack& t = roll.tracks[static_cast<std::size_t>(n.track)];
    const double w = std::max(t.drums ? 2.0 : 1.0, (n.end - n.start) * l.px_per_second);
    const double y = l.note_y(n, t.drums);
    set_hex(cr, t.color, kStepAlpha[loudness_step(n.velocity)]);
    cairo_rectangle(cr, l.x(n.start), fy(y), w, std::max(1.0, l.note_height(t.drums) * sy));
    cairo_fill(cr);
  }
  double x = 10;
  const double ly = kReportRollPngHeight - 8;
  for (const RollTrack& t : roll.tracks) {
    set_hex(cr, t.color);
    cairo_rectangle(cr, x, ly - 11, 12, 12);
    cairo_fill(cr);
    set_hex(cr, "#1A1A1A");
    text(cr, x + 17, ly, t.name, 12);
    x += 17 + text_width(cr, t.name, 12) + 18;
  }
  return encode(c.first.get());
}

int spectra_png_height(std::size_t panels) { return 40 + static_cast<int>((panels + 2) / 3) * 360; }

Result<std::string> spectra_png(const std::vector<Panel>& panels, const std::string& title) {
  const int height = spectra_png_height(panels.size());
  SONIFY_ASSIGN_OR_RETURN(c, canvas(kReportSpectraPngWidth, height));
  cairo_t* cr = c.second.get();
  set_hex(cr, "#1A1A1A");
  text(cr, 10, 24, title, 16, true);
  const double cell_w = kReportSpectraPngWidth / 3.0, cell_h = 360;
  for (std::size_t i = 0; i < panels.size(); ++i) {
    const Panel& p = panels[i];
    const double left = cell_w * static_cast<double>(i % 3) + 62,
                 top = 40 + cell_h * static_cast<double>(i / 3) + 30;
    const double w = cell_w - 62 - 16, h = cell_h - 30 - 44;
    const auto fx = [&](double v) {
      return left +
             w * (p.log_x ? (std::log10(v) - std::log10(p.x_lo)) / (std::log10(p.x_hi) - std::log10(p.x_lo))
                          : (v - p.x_lo) / (p.x_hi - p.x_lo));
    };
    const auto fy = [&](double v) {
      return top + h * (1 - (p.log_y ? (std::log10(v) - std::log10(p.y_lo)) /
                                           (std::log10(p.y_hi) - std::log10(p.y_lo))
                                     : (v - p.y_lo) / (p.y_hi - p.y_lo)));
    };
    set_hex(cr, "#1A1A1A");
    text(cr, left, top - 10, p.title, 14, true);
    cairo_set_line_width(cr, 1);
    for (const auto& [v, label] : axis_ticks(p.x_lo, p.x_hi, p.log_x, p.integer_x)) {
      set_hex(cr, "#E1E5EA");
      cairo_move_to(cr, std::round(fx(v)) + 0.5, top);
      cairo_line_to(cr, std::round(fx(v)) + 0.5, top + h);
      cairo_stroke(cr);
      set_hex(cr, "#2B2F35");
      text(cr, fx(v), top + h + 15, label, 11, false, 0.5);
    }
    for (const auto& [v, label] : axis_ticks(p.y_lo, p.y_hi, p.log_y)) {
      set_hex(cr, "#E1E5EA");
      cairo_move_to(cr, left, std::round(fy(v)) + 0.5);
      cairo_line_to(cr, left + w, std::round(fy(v)) + 0.5);
      cairo_stroke(cr);
      set_hex(cr, "#2B2F35");
      text(cr, left - 5, fy(v) + 4, label, 11, false, 1);
    }
    set_hex(cr, "#9AA3AE");
    cairo_rectangle(cr, left + 0.5, top + 0.5, w, h);
    cairo_stroke(cr);
    set_hex(cr, "#2B2F35");
    text(cr, left + w / 2, top + h + 34, p.x_label, 12, false, 0.5);
    cairo_set_line_width(cr, 1.6);
    for (const Curve& curve : p.curves) {
      if (curve.points.empty()) continue;
      set_hex(cr, curve.color);
      cairo_move_to(cr, fx(curve.points[0].first), fy(curve.points[0].second));
      for (const auto& [px, py] : curve.points) cairo_line_to(cr, fx(px), fy(py));
      cairo_stroke(cr);
    }
    // Legend of the curves, top right inside the frame.
    double ly = top + 16;
    for (const Curve& curve : p.curves) {
      if (ly > top + h - 6) break;
      set_hex(cr, curve.color);
      cairo_rectangle(cr, left + w - 86, ly - 9, 10, 10);
      cairo_fill(cr);
      set_hex(cr, "#1A1A1A");
      text(cr, left + w - 72, ly, curve.label, 11);
      ly += 15;
    }
  }
  return encode(c.first.get());
}

}  // namespace sonify::report
