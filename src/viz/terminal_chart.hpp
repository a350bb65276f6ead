// Charts for the terminal: line charts of series (several overlaid, with a
// legend), histograms as vertical bars, and per-partition load as horizontal
// bars. `dsim plot` and `dsim run` print them.
//
// Every function is pure: it returns the chart as text (lines ending in '\n')
// and reads nothing but its arguments, so the same data and style give the
// same bytes (the golden tests rely on it). No escape sequences: the text is
// the same on a terminal and in a file.
//
// Two glyph sets:
//   Unicode  lines in braille (each character cell holds 2x4 dots, so a line
//            has twice the columns and four times the rows of the grid),
//            bars in eighth blocks, axes in box-drawing characters;
//   ASCII    one point per cell ('*', '+', 'o', ... one character per
//            series), bars in '#', axes in '|', '-' and '+'.
// In braille several series in one cell cannot be told apart, so when a
// chart overlays several series each is tagged with its legend number once,
// in a free cell next to the point where it stands farthest from the others.
//
// Thread safety: pure functions.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "dsim/results.hpp"

namespace dsim::viz {

struct ChartStyle {
  int width = 80;       // columns of the whole chart, labels included (at least 30 are used)
  int height = 0;       // rows of the plot area; 0: chosen from the width
  bool unicode = true;  // braille and blocks; false: pure ASCII
};

// One line of a line chart: points (x[i], y[i]) joined in order; a NaN or
// infinite y breaks the line.
struct Line {
  std::string name;
  std::vector<double> x, y;
};

// A line chart of `lines` overlaid on shared axes (x labelled `x_label`, y
// `y_label`), under the title `title`, with a legend when there is more
// than one line. REQUIRES: x and y of each line have the same size.
std::string line_chart(const std::string& title, std::span<const Line> lines,
                       const std::string& x_label, const std::string& y_label,
                       const ChartStyle& style);

// A histogram statistic (StatKind::kHistogram) as vertical bars over its bin
// range, counts on the y axis; its underflow and overflow are named in the
// title. More bins than columns: neighbouring bins share a bar.
std::string histogram_chart(const StatResult& histogram, const ChartStyle& style);

// Per-partition load: events, busy seconds and blocked seconds (and events
// rolled back, when any were) per partition, one horizontal bar each.
std::string partition_load_chart(std::span<const PartitionFigures> partitions,
                                 const ChartStyle& style);

// Line charts of `series`, against simulated time. Series share a chart
// when their peaks (largest absolute values) are within a factor of 10 of
// each other, up to 6 a chart, in the order given: a queue length beside a
// count of arrivals in the millions would otherwise be a flat line at zero.
std::string series_charts(std::span<const SeriesResult* const> series, const ChartStyle& style);

}  // namespace dsim::viz
