// Axis ticks shared by every chart dsim draws (terminal, SVG): "nice" values
// (1, 2 or 5 times a power of ten apart) covering a range, and their labels.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <vector>

namespace dsim::viz {

struct Ticks {
  double lo = 0, hi = 1;      // the axis range: the data's, widened to whole steps
  double step = 1;
  std::vector<double> values;  // lo, lo + step, ..., hi
};

// At most about `max_ticks` (>= 2) ticks over [lo, hi]. An empty or
// degenerate range (lo == hi, or not finite) gets a range around its value.
Ticks nice_ticks(double lo, double hi, int max_ticks);

// A tick's label: as few digits as `step` needs ("0.25", "1500", "2e+06";
// never "-0").
std::string tick_label(double value, double step);

}  // namespace dsim::viz
