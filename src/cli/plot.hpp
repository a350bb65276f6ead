// dsim plot: charts of a result directory in the terminal; and the small
// charts `dsim run` prints under its summary.
//
//   dsim plot results/epidemic                 every series, histogram, partition load
//   dsim plot results/epidemic 'people.*'      the series of group people, overlaid
//   dsim plot results/mm1 queue.length partitions --ascii --width 60
//
// A selector is `group.stat` with `*` matching any run of characters, or
// `partitions` for the partition-load chart. Charts come in the order of the
// result files (series, then histograms, then the partition load), whatever
// the order of the selectors; which series share a chart:
// viz::series_charts().
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "dsim/results.hpp"

namespace dsim::cli {

struct PlotOptions {
  std::string dir;
  std::vector<std::string> selectors;  // none: everything
  int width = 0;                       // 0: terminal_width()
  int height = 0;                      // plot rows; 0: from the width
  bool ascii = false;                  // also when the locale is not UTF-8
};

// Prints the charts to `out`. Throws dsim::Error (kind kInput) naming the
// directory for a bad result directory, and naming the selector (with close
// matches) for a selector that matches nothing, or only statistics with
// nothing to draw (tallies, counters the run did not sample).
int plot_command(const PlotOptions& options, std::FILE* out);

// Columns to draw in: $COLUMNS when it is a positive number, else the width
// of the terminal `out` is, else 80.
int terminal_width(std::FILE* out);

// Whether the locale's characters are UTF-8: the first of LC_ALL, LC_CTYPE
// and LANG that is set and not empty names UTF-8 (none set: the C locale).
bool utf8_locale();

// The series of `result` as small charts (at most 100 columns, 8 rows each)
// for `dsim run`'s summary; empty when it has no series.
std::string run_charts(const RunResult& result, int width, bool unicode);

}  // namespace dsim::cli
