// The piano roll and the spectra as PNG images, drawn with cairo from the same layout and
// plot data as the page's SVG (cairo's headers stay in png.cpp).
#pragma once

#include <string>
#include <vector>

#include "plots.h"
#include "roll.h"
#include "sonify/result.h"

namespace sonify::report {

// PNG bytes of the roll, kReportRollPngWidth x kReportRollPngHeight pixels.
Result<std::string> roll_png(const Roll& roll, const std::string& title);

// PNG bytes of the spectra panels in a grid of 3 columns, kReportSpectraPngWidth wide
// and spectra_png_height(panels.size()) high.
Result<std::string> spectra_png(const std::vector<Panel>& panels, const std::string& title);

int spectra_png_height(std::size_t panels);

}  // namespace sonify::report
