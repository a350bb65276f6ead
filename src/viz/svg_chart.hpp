// Charts as standalone SVG documents (for papers): line charts of series,
// several overlaid with a legend, and bar charts of histograms, with axes and
// tick labels from viz/axis.hpp. The HTML report draws the same ChartSpec in
// the browser (uPlot); this draws it in C++.
//
//   dsim::viz::ChartSpec c;
//   c.title = "queue.length";
//   c.lines.push_back({"run 1", {0, 1, 2}, {3, 1, 4}});
//   std::string svg = dsim::viz::svg_chart(c);
//
// Text (title, labels, line names) is escaped: any string is safe.
// Non-finite points break a line (or leave out a bar).
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace dsim::viz {

enum class ChartKind { kLines, kBars };

struct ChartLine {
  std::string name;          // the legend's entry
  std::vector<double> x, y;  // same length
  int color = 0;             // index into chart_palette()
};

struct ChartSpec {
  std::string title;
  ChartKind kind = ChartKind::kLines;
  std::string x_label;
  std::vector<ChartLine> lines;
  double bar_width = 0;  // kBars: the width of a bar in x units (the bin width)
};

// The colors lines are drawn in ("#1f77b4", ...); index modulo its size.
const std::vector<std::string_view>& chart_palette();

// A standalone SVG document (with its XML declaration), `width` x `height`
// user units.
std::string svg_chart(const ChartSpec& chart, int width = 720, int height = 400);


}  // namespace dsim::viz
