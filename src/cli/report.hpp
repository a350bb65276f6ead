// dsim report: the HTML report (and SVG charts) of finished result
// directories (src/viz/report.hpp does the drawing; this reads and writes).
#pragma once

#include <cstdio>
#include <string>
#include <vector>

namespace dsim::cli {

struct ReportCommandOptions {
  std::vector<std::string> dirs;  // result directories, in legend order
  std::string output;             // -o: the HTML file
  std::string svg_dir;            // --svg: also every chart as DIR/NAME.svg (empty: none)
};

// Reads every result directory, then writes the report (and the SVG files),
// each file to a temporary name first and renamed into place, so a failure
// leaves no partial file. Prints one line per thing written to `out`.
// Throws dsim::Error (kind kInput, exit 2) naming the path for a directory
// that is not a dsim result, or an output path that cannot be written.
int report_command(const ReportCommandOptions& options, std::FILE* out);

}  // namespace dsim::cli
