#include "viz/axis.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace dsim::viz {

Ticks nice_ticks(double lo, double hi, int max_ticks) {
  max_ticks = std::max(max_ticks, 2);
  if (!std::isfinite(lo) || !std::isfinite(hi)) lo = hi = 0;
  if (lo > hi) std::swap(lo, hi);
  if (lo == hi) {
    const double pad = lo == 0 ? 1 : std::abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const double raw = (hi - lo) / (max_ticks - 1);
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  double step = power;
  for (const double m : {1.0, 2.0, 5.0, 10.0})
    if (m * power >= raw) {
      step = m * power;
      break;
    }
  Ticks t;
  t.step = step;
  t.lo = std::floor(lo / step) * step;
  t.hi = std::ceil(hi / step) * step;
  const auto n = static_cast<long>(std::llround((t.hi - t.lo) / step));
  for (long i = 0; i <= n; ++i) {
    double v = t.lo + static_cast<double>(i) * step;
    if (std::abs(v) < step * 1e-9) v = 0;
    t.values.push_back(v);
  }
  return t;
}

std::string tick_label(double value, double step) {
  if (std::abs(value) < std::abs(step) * 1e-9) value = 0;
  const double magnitude = std::max(std::abs(value), std::abs(step));
  if (magnitude >= 1e6 || (magnitude < 1e-4 && magnitude > 0)) return fmt::format("{:.3g}", value);
  const int decimals = std::max(0, -static_cast<int>(std::floor(std::log10(std::abs(step)) + 1e-9)));
  return fmt::format("{:.{}f}", value, decimals);
}

}  // namespace dsim::viz
