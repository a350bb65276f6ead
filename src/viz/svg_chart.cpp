#include "viz/svg_chart.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>

#include "viz/axis.hpp"
#include "viz/page.hpp"

namespace dsim::viz {
namespace {

constexpr int kLeft = 72, kRight = 20, kTop = 40, kBottom = 52;

struct Range {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  void add(double v) {
    if (!std::isfinite(v)) return;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
};

}  // namespace

const std::vector<std::string_view>& chart_palette() {
  static const std::vector<std::string_view> palette = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                                                        "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                                                        "#bcbd22", "#17becf"};
  return palette;
}

std::string svg_chart(const ChartSpec& chart, int width, int height) {
  const bool bars = chart.kind == ChartKind::kBars;
  Range xr, yr;
  for (const ChartLine& line : chart.lines) {
    const std::size_t n = std::min(line.x.size(), line.y.size());
    for (std::size_t i = 0; i < n; ++i) {
      if (!std::isfinite(line.x[i]) || !std::isfinite(line.y[i])) continue;
      xr.add(line.x[i]);
      yr.add(line.y[i]);
    }
  }
  if (bars) {
    xr.lo -= chart.bar_width / 2;
    xr.hi += chart.bar_width / 2;
    yr.add(0);  // bars stand on zero
  }
  if (!(xr.lo <= xr.hi)) xr = {0, 1};
  if (!(yr.lo <= yr.hi)) yr = {0, 1};
  const int plot_w = std::max(width - kLeft - kRight, 40);
  const int plot_h = std::max(height - kTop - kBottom, 40);
  const Ticks xt = nice_ticks(xr.lo, xr.hi, std::max(2, plot_w / 90));
  const Ticks yt = nice_ticks(yr.lo, yr.hi, std::max(2, plot_h / 50));
  // Bars span exactly their bins' range; lines the ticks' whole steps.
  const double x0 = bars ? xr.lo : xt.lo, x1 = bars ? xr.hi : xt.hi;
  const double y0 = yt.lo, y1 = yt.hi;
  auto px = [&](double x) { return kLeft + (x - x0) / (x1 - x0 == 0 ? 1 : x1 - x0) * plot_w; };
  auto py = [&](double y) {
    return kTop + plot_h - (y - y0) / (y1 - y0 == 0 ? 1 : y1 - y0) * plot_h;
  };

  std::string out;
  auto put = std::back_inserter(out);
  fmt::format_to(put,
                 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                 "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
                 "viewBox=\"0 0 {0} {1}\" font-family=\"Helvetica, Arial, sans-serif\" "
                 "font-size=\"12\">\n"
                 "<title>{2}</title>\n"
                 "<rect width=\"{0}\" height=\"{1}\" fill=\"#ffffff\"/>\n"
                 "<text x=\"{3}\" y=\"22\" font-size=\"15\" font-weight=\"bold\">{2}</text>\n",
                 width, height, xml_escape(chart.title), kLeft);

  // Grid and tick labels.
  out += "<g stroke=\"#e3e6eb\" stroke-width=\"1\">\n";
  for (const double v : xt.values)
    if (v >= x0 - 1e-12 * std::abs(x1 - x0) && v <= x1 + 1e-12 * std::abs(x1 - x0))
      fmt::format_to(put, "<line x1=\"{0:.2f}\" y1=\"{1}\" x2=\"{0:.2f}\" y2=\"{2}\"/>\n", px(v),
                     kTop, kTop + plot_h);
  for (const double v : yt.values)
    fmt::format_to(put, "<line x1=\"{1}\" y1=\"{0:.2f}\" x2=\"{2}\" y2=\"{0:.2f}\"/>\n", py(v),
                   kLeft, kLeft + plot_w);
  out += "</g>\n<g fill=\"#333333\">\n";
  for (const double v : xt.values)
    if (v >= x0 - 1e-12 * std::abs(x1 - x0) && v <= x1 + 1e-12 * std::abs(x1 - x0))
      fmt::format_to(put, "<text x=\"{:.2f}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", px(v),
                     kTop + plot_h + 16, xml_escape(tick_label(v, xt.step)));
  for (const double v : yt.values)
    fmt::format_to(put, "<text x=\"{}\" y=\"{:.2f}\" text-anchor=\"end\">{}</text>\n", kLeft - 6,
                   py(v) + 4, xml_escape(tick_label(v, yt.step)));
  if (!chart.x_label.empty())
    fmt::format_to(put, "<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
                   kLeft + plot_w / 2.0, height - 10, xml_escape(chart.x_label));
  out += "</g>\n";

  // The data, clipped to the plot area.
  fmt::format_to(put,
                 "<clipPath id=\"plot\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/>"
                 "</clipPath>\n<g clip-path=\"url(#plot)\">\n",
                 kLeft, kTop, plot_w, plot_h);
  const auto& palette = chart_palette();
  const double group = chart.lines.empty() ? 1 : static_cast<double>(chart.lines.size());
  for (std::size_t li = 0; li < chart.lines.size(); ++li) {
    const ChartLine& line = chart.lines[li];
    const std::string_view color =
        palette[static_cast<std::size_t>(std::max(line.color, 0)) % palette.size()];
    const std::size_t n = std::min(line.x.size(), line.y.size());
    if (bars) {
      // Several histograms: the bars of a bin side by side.
      const double w = chart.bar_width * 0.9 / group;
      fmt::format_to(put, "<g fill=\"{}\" fill-opacity=\"0.8\">\n", color);
      for (std::size_t i = 0; i < n; ++i) {
        if (!std::isfinite(line.x[i]) || !std::isfinite(line.y[i])) continue;
        const double left = line.x[i] - chart.bar_width * 0.45 + w * static_cast<double>(li);
        const double top = py(std::max(line.y[i], 0.0)), base = py(std::min(line.y[i], 0.0));
        fmt::format_to(put,
                       "<rect x=\"{:.2f}\" y=\"{:.2f}\" width=\"{:.2f}\" height=\"{:.2f}\"/>\n",
                       px(left), top, std::max(px(left + w) - px(left), 0.5), base - top);
      }
      out += "</g>\n";
      continue;
    }
    fmt::format_to(put,
                   "<path fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\" "
                   "stroke-linejoin=\"round\" d=\"",
                   color);
    bool pen_down = false;
    for (std::size_t i = 0; i < n; ++i) {
      if (!std::isfinite(line.x[i]) || !std::isfinite(line.y[i])) {
        pen_down = false;
        continue;
      }
      fmt::format_to(put, "{}{:.2f} {:.2f}", pen_down ? " L" : (i ? " M" : "M"), px(line.x[i]),
                     py(line.y[i]));
      pen_down = true;
    }
    out += "\"/>\n";
  }
  out += "</g>\n";

  // Axes.
  fmt::format_to(put,
                 "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" "
                 "stroke=\"#666666\"/>\n",
                 kLeft, kTop, plot_w, plot_h);

  // Legend: top right, one entry per line, when there is more than one.
  if (chart.lines.size() > 1) {
    out += "<g>\n";
    for (std::size_t li = 0; li < chart.lines.size(); ++li) {
      const ChartLine& line = chart.lines[li];
      const double y = kTop + 14 + 16.0 * static_cast<double>(li);
      const std::string_view color =
          palette[static_cast<std::size_t>(std::max(line.color, 0)) % palette.size()];
      fmt::format_to(put,
                     "<rect x=\"{}\" y=\"{:.1f}\" width=\"14\" height=\"4\" fill=\"{}\"/>"
                     "<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n",
                     kLeft + plot_w - 18, y - 4, color, kLeft + plot_w - 24, y,
                     xml_escape(line.name));
    }
    out += "</g>\n";
  }
  out += "</svg>\n";
  return out;
}

}  // namespace dsim::viz
