// Small text helpers for writing HTML and SVG by hand: escaping, compact numbers, JSON
// that is safe inside a <script> element, base64.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace sonify::report {

// Escapes & < > " ' for text and attribute values.
std::string esc(std::string_view text);

// `value` with at most `decimals` decimals, trailing zeros dropped ("12.5", "3", "-0.25").
std::string num(double value, int decimals = 1);

// JSON text for a <script type="application/json"> element: "</" and "<!--" cannot end
// or confuse the element.
std::string script_json(const nlohmann::json& value);

// Standard base64 (RFC 4648, with padding).
std::string base64(std::string_view bytes);

// "3:07" for 187.4 seconds.
std::string clock_text(double seconds);

}  // namespace sonify::report
