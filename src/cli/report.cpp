#include "cli/report.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string_view>

#include "dsim/file_system.hpp"
#include "dsim/message.hpp"
#include "dsim/output.hpp"
#include "viz/report.hpp"

namespace dsim::cli {
namespace {

namespace fs = std::filesystem;

Error cannot_write(const fs::path& path, std::string_view why) {
  return Error(fmt::format("cannot write '{}': {}", path.string(), why), Error::Kind::kInput);
}

// Refuses an output file whose directory is missing or not writable, or that
// is a directory or another special file, before anything is read.
void check_output_file(const fs::path& file, std::string_view option) {
  if (file.empty()) throw Error(fmt::format("{}: the file name must not be empty", option));
  std::error_code ec;
  if (fs::is_directory(file, ec)) throw cannot_write(file, "it is a directory");
  // The file is replaced by a rename: never a device (/dev/null), pipe or socket.
  if (fs::exists(fs::symlink_status(file, ec)) && !fs::is_regular_file(file, ec))
    throw cannot_write(file, "it is not a regular file");
  const fs::path dir = file.parent_path().empty() ? fs::path(".") : file.parent_path();
  if (!fs::is_directory(dir, ec))
    throw cannot_write(file, fmt::format("its directory '{}' does not exist", dir.string()));
  if (::access(dir.c_str(), W_OK) != 0)
    throw cannot_write(file, fmt::format("its directory '{}' is not writable ({})", dir.string(),
                                         std::strerror(errno)));
}

// `content` to `file` through a temporary sibling, fsynced, renamed into
// place; the temporary file is removed on failure.
void write_atomically(const fs::path& file, std::string_view content) {
  FileSystem& files = FileSystem::local();
  const fs::path tmp = fs::path(file.string() + ".tmp-" + std::to_string(::getpid()));
  files.remove_all(tmp);
  if (const int err = files.write_file(tmp, content)) {
    files.remove_all(tmp);
    throw cannot_write(file, std::strerror(err));
  }
  if (const int err = files.rename(tmp, file)) {
    files.remove_all(tmp);
    throw cannot_write(file, std::strerror(err));
  }
  const fs::path dir = file.parent_path().empty() ? fs::path(".") : file.parent_path();
  files.sync_directory(dir);
}

// The name a directory goes by in the legend and the tables: the path as
// given, without a trailing slash; a repeated one gets " (2)", " (3)" ...
std::vector<std::string> run_names(const std::vector<std::string>& dirs) {
  std::vector<std::string> names;
  for (std::string name : dirs) {
    while (name.size() > 1 && name.back() == '/') name.pop_back();
    std::string unique = name;
    for (int n = 2; std::find(names.begin(), names.end(), unique) != names.end(); ++n)
      unique = fmt::format("{} ({})", name, n);
    names.push_back(unique);
  }
  return names;
}

}  // namespace

int report_command(const ReportCommandOptions& options, std::FILE* out) {
  const fs::path output = options.output;
  check_output_file(output, "-o");
  const fs::path svg_dir = options.svg_dir;
  if (!options.svg_dir.empty()) {
    std::error_code ec;
    if (fs::exists(svg_dir, ec) && !fs::is_directory(svg_dir, ec))
      throw cannot_write(svg_dir, "it is not a directory (--svg wants one)");
  }

  std::vector<viz::ReportRun> runs;
  const std::vector<std::string> names = run_names(options.dirs);
  for (std::size_t i = 0; i < options.dirs.size(); ++i)
    runs.push_back({names[i], output::read_results(options.dirs[i])});

  const std::string html = viz::report_html(runs, DSIM_VERSION);
  if (!options.svg_dir.empty()) {
    const std::vector<viz::ChartSpec> charts = viz::report_charts(runs);
    if (const int err = FileSystem::local().create_directories(svg_dir))
      throw cannot_write(svg_dir, std::strerror(err));
    std::vector<std::string> taken;
    for (const viz::ChartSpec& chart : charts)
      write_atomically(svg_dir / viz::chart_file_name(chart.title, taken), viz::svg_chart(chart));
    fmt::print(out, "wrote {} SVG chart{} to {}\n", charts.size(), charts.size() == 1 ? "" : "s",
               svg_dir.string());
  }
  write_atomically(output, html);
  fmt::print(out, "wrote {} ({} result director{}, {:.1f} MiB)\n", output.string(), runs.size(),
             runs.size() == 1 ? "y" : "ies", static_cast<double>(html.size()) / (1 << 20));
  return 0;
}

}  // namespace dsim::cli
