// The HTML report of one or more result directories: one self-contained page
// (web/src/report.html with its style, script and uPlot inlined; nothing is
// fetched) holding the statistics, a chart of every series and histogram
// (several directories overlaid, a legend naming each), per-partition load,
// the run figures and the resolved config; and the same charts as SVG files.
//
//   std::vector<dsim::viz::ReportRun> runs;
//   runs.push_back({"mm1", dsim::output::read_results("results/mm1")});
//   std::string html = dsim::viz::report_html(runs);
//
// Text from the results (group and stat names, config text, run names) is
// escaped where it lands: HTML text in the tables, JSON inside <script> for
// the charts (which the page's script puts into the page as text). Nothing
// on the page executes it.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "dsim/output.hpp"
#include "viz/page.hpp"
#include "viz/svg_chart.hpp"

namespace dsim::viz {

struct ReportRun {
  std::string name;  // the legend's and the tables' name for it (e.g. the path given)
  output::ResultDirectory results;
};

// The report page. `version` is the dsim version that writes it.
std::string report_html(const std::vector<ReportRun>& runs, std::string_view version);

// A chart of every series and histogram, in report order: series first (in
// the first run's order, then those only later runs have), then histograms.
// Charts of several runs have a line each run that has the statistic.
std::vector<ChartSpec> report_charts(const std::vector<ReportRun>& runs);

// A file name for a chart ("queue.length.svg"): its title with every
// character outside [A-Za-z0-9._-] replaced by '_'; `taken` names already
// used, so a clash gets "-2", "-3" ... (and the result is added to `taken`).
std::string chart_file_name(std::string_view title, std::vector<std::string>& taken);


// JSON text made safe to put inside <script>...</script>: '<', '>', '&' and
// U+2028/U+2029 become \uXXXX escapes (they occur only inside strings of
// valid JSON, so the value is unchanged), so no "</script>" or "<!--" can end
// or change the element.
std::string json_for_script(std::string_view json);

}  // namespace dsim::viz
