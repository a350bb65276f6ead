// Factor values as TOML literals (what --set takes) and as labels (what the
// result files write).
#pragma once

#include <fmt/format.h>

#include <cmath>
#include <string>
#include <string_view>

namespace dsim::experiment_detail {

// The shortest text that reads back as the same double ("0.1", "1e+20").
inline std::string float_label(double v) { return fmt::format("{}", v); }

// A TOML float literal: the shortest round-trip text, with ".0" added when it
// would otherwise read as an integer.
inline std::string float_literal(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  std::string s = float_label(v);
  if (s.find_first_of(".eE") == std::string::npos) s += ".0";
  return s;
}

// A TOML basic string literal.
inline std::string string_literal(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      out += fmt::format("\\u{:04X}", u);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// The label of a literal: a string's text without quotes and escapes, any
// other literal as written.
inline std::string label_of(std::string_view literal) {
  if (literal.size() < 2 || literal.front() != '"') return std::string(literal);
  std::string out;
  for (std::size_t i = 1; i + 1 < literal.size(); ++i) {
    if (literal[i] != '\\' || i + 2 >= literal.size()) {
      out += literal[i];
      continue;
    }
    const char e = literal[++i];
    if (e == 'u' && i + 4 < literal.size()) {
      out += static_cast<char>(std::stoi(std::string(literal.substr(i + 1, 4)), nullptr, 16));
      i += 4;
    } else {
      out += e;
    }
  }
  return out;
}

}  // namespace dsim::experiment_detail
