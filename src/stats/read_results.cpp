// read_results (dsim/output.hpp): a result directory read back.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>

#include "dsim/output.hpp"
#include "stats/output_json.hpp"

namespace dsim::output {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

Error bad(const fs::path& file, const std::string& why) {
  return Error(fmt::format("result file '{}': {}", file.string(), why), Error::Kind::kInput);
}

std::string slurp(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw bad(file, "cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// One CSV record's cells (results.csv and series.csv quote a cell that holds
// a comma, a quote or a line break; a quote inside is doubled).
std::vector<std::string> csv_record(std::string_view text, std::size_t& at, const fs::path& file,
                                    std::size_t line) {
  std::vector<std::string> cells(1);
  bool quoted = false;
  while (at < text.size()) {
    const char c = text[at++];
    if (quoted) {
      if (c == '"') {
        if (at < text.size() && text[at] == '"') {
          cells.back() += '"';
          ++at;
        } else {
          quoted = false;
        }
      } else {
        cells.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      cells.emplace_back();
    } else if (c == '\n') {
      return cells;
    } else if (c != '\r') {
      cells.back() += c;
    }
  }
  if (quoted) throw bad(file, fmt::format("line {}: a quoted cell does not end", line));
  return cells;
}

// Every record after the header, which must be `header`.
std::vector<std::vector<std::string>> read_csv(const fs::path& file, std::string_view header,
                                               std::size_t columns) {
  const std::string text = slurp(file);
  std::size_t at = 0, line = 1;
  const auto first = csv_record(text, at, file, line);
  std::string joined;
  for (std::size_t i = 0; i < first.size(); ++i) joined += (i ? "," : "") + first[i];
  if (joined != header)
    throw bad(file, fmt::format("its header is '{}', not '{}'", joined, header));
  std::vector<std::vector<std::string>> rows;
  while (at < text.size()) {
    ++line;
    auto cells = csv_record(text, at, file, line);
    if (cells.size() == 1 && cells[0].empty()) continue;
    if (cells.size() != columns)
      throw bad(file, fmt::format("line {}: {} cells, not {}", line, cells.size(), columns));
    rows.push_back(std::move(cells));
  }
  return rows;
}

double number(const std::string& text, const fs::path& file, std::string_view what) {
  if (text == "nan") return std::numeric_limits<double>::quiet_NaN();
  if (text == "inf") return std::numeric_limits<double>::infinity();
  if (text == "-inf") return -std::numeric_limits<double>::infinity();
  char* end = nullptr;
  errno = 0;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size())
    throw bad(file, fmt::format("{}: '{}' is not a number", what, text));
  return value;
}

StatKind kind_of(const std::string& name, const fs::path& file, std::string_view what) {
  for (const StatKind k : {StatKind::kCounter, StatKind::kTally, StatKind::kGauge,
                           StatKind::kHistogram})
    if (kind_name(k) == name) return k;
  throw bad(file, fmt::format("{}: unknown kind '{}'", what, name));
}

// A histogram's lo/hi rows are its bin edges, not fields; its bins are the
// bin_<i> fields.
void add_field(StatResult& s, const std::string& field, double value) {
  if (s.kind == StatKind::kHistogram && field == "lo") {
    s.lo = value;
  } else if (s.kind == StatKind::kHistogram && field == "hi") {
    s.hi = value;
  } else {
    if (s.kind == StatKind::kHistogram && field.starts_with("bin_")) ++s.bins;
    s.fields.emplace_back(field, value);
  }
}

void read_stats_csv(const fs::path& file, RunResult& out) {
  for (auto& row : read_csv(file, "group,stat,kind,field,value", 5)) {
    const std::string what = row[0] + "." + row[1];
    if (out.stats.empty() || out.stats.back().group != row[0] || out.stats.back().stat != row[1]) {
      StatResult& s = out.stats.emplace_back();
      s.group = row[0];
      s.stat = row[1];
      s.kind = kind_of(row[2], file, what);
    }
    add_field(out.stats.back(), row[3], number(row[4], file, what + "." + row[3]));
  }
}

void read_stats_json(const fs::path& file, RunResult& out) {
  const Json doc = Json::parse(slurp(file), nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || !doc.contains("stats") || !doc["stats"].is_array())
    throw bad(file, "not a dsim results.json (no \"stats\" array)");
  try {
    for (const Json& j : doc["stats"]) {
      StatResult& s = out.stats.emplace_back();
      s.group = j.at("group").get<std::string>();
      s.stat = j.at("stat").get<std::string>();
      s.kind = kind_of(j.at("kind").get<std::string>(), file, s.group + "." + s.stat);
      for (const auto& [field, value] : j.at("fields").items())
        add_field(s, field,
                  value.is_null() ? std::numeric_limits<double>::quiet_NaN() : value.get<double>());
    }
  } catch (const nlohmann::json::exception& e) {
    throw bad(file, fmt::format("a statistic is malformed: {}", e.what()));
  }
}

void read_series(const fs::path& file, RunResult& out) {
  for (auto& row : read_csv(file, "group,stat,time,value", 4)) {
    const std::string what = row[0] + "." + row[1];
    if (out.series.empty() || out.series.back().group != row[0] ||
        out.series.back().stat != row[1]) {
      SeriesResult& s = out.series.emplace_back();
      s.group = row[0];
      s.stat = row[1];
    }
    out.series.back().times.push_back(number(row[2], file, what + " time"));
    out.series.back().values.push_back(number(row[3], file, what + " value"));
  }
}

}  // namespace

ResultDirectory read_results(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw Error(fmt::format("'{}' is not a result directory: {}", dir.string(),
                            fs::exists(dir, ec) ? "not a directory" : "no such directory"),
                Error::Kind::kInput);
  const fs::path manifest_file = dir / "manifest.json";
  if (!fs::exists(manifest_file, ec))
    throw Error(fmt::format("'{}' is not a dsim result directory: it has no manifest.json",
                            dir.string()),
                Error::Kind::kInput);
  ResultDirectory out;
  out.path = dir;
  const Json manifest = Json::parse(slurp(manifest_file), nullptr, /*allow_exceptions=*/false);
  if (!manifest.is_object() || !manifest.contains("run") || !manifest["run"].is_object())
    throw bad(manifest_file, "not a dsim manifest (no \"run\" object)");
  try {
    out.dsim_version = manifest.value("dsim_version", std::string());
    out.config_file = manifest.value("config_file", std::string());
    if (manifest.contains("config")) out.config_json = manifest["config"].dump(2);
    out.result.seed = manifest.value("seed", std::uint64_t{0});
    out.result.end_time = manifest.contains("end_time") && manifest["end_time"].is_number()
                              ? manifest["end_time"].get<double>()
                              : std::numeric_limits<double>::quiet_NaN();
    out.result.figures = figures_from_json(manifest["run"]);
  } catch (const nlohmann::json::exception& e) {
    throw bad(manifest_file, fmt::format("a value has the wrong type: {}", e.what()));
  }
  if (fs::exists(dir / "results.csv", ec))
    read_stats_csv(dir / "results.csv", out.result);
  else if (fs::exists(dir / "results.json", ec))
    read_stats_json(dir / "results.json", out.result);
  if (fs::exists(dir / "series.csv", ec)) read_series(dir / "series.csv", out.result);
  return out;
}

}  // namespace dsim::output
