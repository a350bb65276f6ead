#include "viz/report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>

#include "viz/web_assets.hpp"

namespace dsim::viz {
namespace {

using Put = std::back_insert_iterator<std::string>;

std::optional<double> field(const StatResult& s, std::string_view name) {
  for (const auto& [key, value] : s.fields)
    if (key == name) return value;
  return std::nullopt;
}

std::string number(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (v == std::floor(v) && std::abs(v) < 1e15) return fmt::format("{:.0f}", v);
  return fmt::format("{:.6g}", v);
}

std::string cell(std::optional<double> v) { return v ? number(*v) : std::string(); }

std::string json_string(std::string_view text) {
  return nlohmann::json(std::string(text))
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void json_numbers(std::string& out, const std::vector<double>& values) {
  out += '[';
  bool first = true;
  for (const double v : values) {
    if (!first) out += ',';
    first = false;
    if (std::isfinite(v))
      fmt::format_to(std::back_inserter(out), "{}", v);
    else
      out += "null";
  }
  out += ']';
}

// The step of x when x[i] == x[0] + i * step for every i (and x has 3 or more
// finite values).
std::optional<double> even_step(const std::vector<double>& x) {
  if (x.size() < 3 || !std::isfinite(x[0]) || !std::isfinite(x[1])) return std::nullopt;
  const double step = x[1] - x[0];
  for (std::size_t i = 0; i < x.size(); ++i)
    if (x[i] != x[0] + static_cast<double>(i) * step) return std::nullopt;
  return step;
}

// The charts as the page's script reads them (web/src/report.js).
std::string charts_json(const std::vector<ReportRun>& runs, const std::vector<ChartSpec>& charts) {
  std::string out = "{\"runs\":[";
  for (std::size_t r = 0; r < runs.size(); ++r) out += (r ? "," : "") + json_string(runs[r].name);
  out += "],\"charts\":[";
  for (std::size_t c = 0; c < charts.size(); ++c) {
    const ChartSpec& chart = charts[c];
    if (c) out += ',';
    const bool bars = chart.kind == ChartKind::kBars;
    fmt::format_to(std::back_inserter(out), "{{\"title\":{},\"kind\":\"{}\",\"x_label\":{}",
                   json_string(chart.title), bars ? "histogram" : "series",
                   json_string(chart.x_label));
    if (bars && std::isfinite(chart.bar_width))
      fmt::format_to(std::back_inserter(out), ",\"bin_width\":{}", chart.bar_width);
    out += ",\"lines\":[";
    for (std::size_t l = 0; l < chart.lines.size(); ++l) {
      const ChartLine& line = chart.lines[l];
      fmt::format_to(std::back_inserter(out), "{}{{\"run\":{},", l ? "," : "", line.color);
      // Evenly spaced times (a series' sampling) as their start and step:
      // a third of the page less to load. The script computes start + i * step
      // in doubles too, so it gets the same numbers.
      if (const auto step = even_step(line.x)) {
        fmt::format_to(std::back_inserter(out), "\"x_start\":{},\"x_step\":{},\"x_count\":{}",
                       line.x[0], *step, line.x.size());
      } else {
        out += "\"x\":";
        json_numbers(out, line.x);
      }
      out += ",\"y\":";
      json_numbers(out, line.y);
      out += '}';
    }
    out += "]}";
  }
  out += "]}";
  return out;
}

// ---- the tables -------------------------------------------------------------

void run_heading(Put put, const ReportRun& run) {
  fmt::format_to(put, "<h3><code>{}</code></h3>\n", html_escape(run.name));
}

void stats_table(Put put, const ReportRun& run) {
  const auto& stats = run.results.result.stats;
  if (stats.empty()) {
    fmt::format_to(put, "<p class=\"note\">No statistics.</p>\n");
    return;
  }
  fmt::format_to(put,
                 "<table class=\"stats\">\n<tr><th class=\"name\">group</th><th class=\"name\">"
                 "stat</th><th class=\"name\">kind</th><th>count / total</th><th>mean</th>"
                 "<th>stddev</th><th>min</th><th>max</th><th class=\"name\">other</th></tr>\n");
  for (const StatResult& s : stats) {
    std::optional<double> total, mean, stddev, min, max;
    std::string other;
    switch (s.kind) {
      case StatKind::kCounter:
        total = field(s, "total"), mean = field(s, "mean");
        min = field(s, "min"), max = field(s, "max");
        break;
      case StatKind::kTally:
        total = field(s, "count"), mean = field(s, "mean"), stddev = field(s, "stddev");
        min = field(s, "min"), max = field(s, "max");
        break;
      case StatKind::kGauge:
        mean = field(s, "mean"), min = field(s, "min"), max = field(s, "max");
        other = fmt::format("final {}, total_mean {}", cell(field(s, "final")),
                            cell(field(s, "total_mean")));
        break;
      case StatKind::kHistogram:
        total = field(s, "count");
        other =
            fmt::format("{} bins over [{}, {}), underflow {}, overflow {}", s.bins, number(s.lo),
                        number(s.hi), cell(field(s, "underflow")), cell(field(s, "overflow")));
        break;
    }
    fmt::format_to(put,
                   "<tr><td class=\"name\">{}</td><td class=\"name\">{}</td><td class=\"name\">{}"
                   "</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
                   "<td class=\"name\">{}</td></tr>\n",
                   html_escape(s.group), html_escape(s.stat), output::kind_name(s.kind),
                   cell(total), cell(mean), cell(stddev), cell(min), cell(max), html_escape(other));
  }
  fmt::format_to(put, "</table>\n");
}

std::string bar(std::initializer_list<std::pair<const char*, double>> parts) {
  std::string out = "<span class=\"bar\">";
  for (const auto& [cls, share] : parts) {
    const double pct = std::isfinite(share) ? std::clamp(share * 100, 0.0, 100.0) : 0;
    out += fmt::format("<span class=\"{}\" style=\"width:{:.1f}%\"></span>", cls, pct);
  }
  return out + "</span>";
}

void load_table(Put put, const ReportRun& run) {
  const auto& parts = run.results.result.figures.partitions;
  if (parts.empty()) {
    fmt::format_to(put, "<p class=\"note\">No per-partition figures.</p>\n");
    return;
  }
  double max_events = 0, max_time = 0, max_rolled = 0;
  for (const PartitionFigures& p : parts) {
    max_events = std::max(max_events, static_cast<double>(p.events));
    max_time = std::max(max_time, p.busy_seconds + p.blocked_seconds);
    max_rolled = std::max(max_rolled, static_cast<double>(p.rolled_back));
  }
  auto share = [](double v, double max) { return max > 0 ? v / max : 0.0; };
  fmt::format_to(put,
                 "<table class=\"load\">\n<tr><th>partition</th><th>rank</th><th>entities</th>"
                 "<th class=\"name\">events</th><th class=\"name\">busy / blocked (s)</th>"
                 "<th class=\"name\">rolled back</th></tr>\n");
  for (const PartitionFigures& p : parts) {
    fmt::format_to(put,
                   "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"name\">{}{}</td>"
                   "<td class=\"name\">{} / {}{}</td><td class=\"name\">{}{}</td></tr>\n",
                   p.partition, p.rank, p.entities, p.events,
                   bar({{"events", share(static_cast<double>(p.events), max_events)}}),
                   fmt::format("{:.3f}", p.busy_seconds), fmt::format("{:.3f}", p.blocked_seconds),
                   bar({{"busy", share(p.busy_seconds, max_time)},
                        {"blocked", share(p.blocked_seconds, max_time)}}),
                   p.rolled_back,
                   bar({{"rolled", share(static_cast<double>(p.rolled_back), max_rolled)}}));
  }
  fmt::format_to(put, "</table>\n");
}

// Rows of the run figures: a label and its value in each run; a row that is
// empty in every run is left out.
void figures_table(Put put, const std::vector<ReportRun>& runs) {
  using Row = std::pair<std::string, std::vector<std::string>>;
  std::vector<Row> rows;
  auto row = [&](std::string label, auto value, bool only_if_any = false) {
    Row r{std::move(label), {}};
    bool any = !only_if_any;
    for (const ReportRun& run : runs) {
      r.second.push_back(value(run.results, run.results.result.figures));
      if (!r.second.back().empty() && r.second.back() != "0") any = true;
    }
    if (any) rows.push_back(std::move(r));
  };
  using RD = const output::ResultDirectory&;
  using F = const RunFigures&;
  row("end time", [](RD d, F) { return number(d.result.end_time); });
  row("seed", [](RD d, F) { return std::to_string(d.result.seed); });
  row("config file", [](RD d, F) { return d.config_file; });
  row("dsim version", [](RD d, F) { return d.dsim_version; });
  row("events", [](RD, F f) { return std::to_string(f.events_processed); });
  row("events/s", [](RD, F f) { return fmt::format("{:.4g}", f.event_rate); });
  row("wall time (s)", [](RD, F f) { return fmt::format("{:.3f}", f.wall_seconds); });
  row("init (s)", [](RD, F f) { return fmt::format("{:.3f}", f.init_seconds); });
  row("event loop (s)", [](RD, F f) { return fmt::format("{:.3f}", f.run_seconds); });
  row("peak RSS", [](RD, F f) { return output::byte_size(f.peak_rss_bytes); });
  row("sync", [](RD, F f) { return f.sync; });
  row("why this sync", [](RD, F f) { return f.sync_reason; });
  row("partitioner", [](RD, F f) { return f.partitioner; });
  row("threads", [](RD, F f) { return std::to_string(f.threads); });
  row("MPI processes", [](RD, F f) { return std::to_string(f.ranks); });
  row("edge cut", [](RD, F f) { return std::to_string(f.edge_cut); });
  row(
      "windows", [](RD, F f) { return std::to_string(f.windows); }, true);
  // The optimistic engine's figures, only for runs it made.
  auto tw = [](auto value) {
    return [value](RD d, F f) {
      return f.engine == Engine::kOptimistic ? std::string(value(d, f)) : std::string();
    };
  };
  row("events executed", tw([](RD, F f) { return std::to_string(f.events_executed); }), true);
  row("events rolled back", tw([](RD, F f) { return std::to_string(f.events_rolled_back); }), true);
  row("efficiency", tw([](RD, F f) { return number(f.efficiency); }), true);
  row("rollbacks (primary / secondary)", tw([](RD, F f) {
        return fmt::format("{} / {}", f.rollbacks_primary, f.rollbacks_secondary);
      }),
      true);
  row("GVT rounds", tw([](RD, F f) { return std::to_string(f.gvt_rounds); }), true);
  row("peak saved state", tw([](RD, F f) { return output::byte_size(f.peak_saved_bytes); }), true);
  row(
      "state saving", [](RD, F f) { return f.state_saving; }, true);
  row(
      "checkpoints written", [](RD, F f) { return std::to_string(f.checkpoints_written); }, true);
  row(
      "checkpoints failed", [](RD, F f) { return std::to_string(f.checkpoints_failed); }, true);
  row(
      "resumed from", [](RD, F f) { return f.resumed_from; }, true);
  row(
      "restarts", [](RD, F f) { return std::to_string(f.restarts); }, true);

  fmt::format_to(put, "<table class=\"figures\">\n<tr><th class=\"name\"></th>");
  for (const ReportRun& run : runs)
    fmt::format_to(put, "<th><code>{}</code></th>", html_escape(run.name));
  fmt::format_to(put, "</tr>\n");
  for (const auto& [label, values] : rows) {
    fmt::format_to(put, "<tr><td class=\"name\">{}</td>", html_escape(label));
    for (const std::string& v : values) fmt::format_to(put, "<td>{}</td>", html_escape(v));
    fmt::format_to(put, "</tr>\n");
  }
  fmt::format_to(put, "</table>\n");
}

std::string body_html(const std::vector<ReportRun>& runs) {
  std::string out;
  auto put = std::back_inserter(out);
  fmt::format_to(put, "<header>\n<h1>dsim report</h1>\n<p class=\"runs\">");
  for (std::size_t r = 0; r < runs.size(); ++r)
    fmt::format_to(put, "{}<code>{}</code>", r ? ", " : "", html_escape(runs[r].name));
  fmt::format_to(put, "</p>\n</header>\n");

  fmt::format_to(put, "<section>\n<h2>Statistics</h2>\n<div class=\"side\">\n");
  for (const ReportRun& run : runs) {
    fmt::format_to(put, "<div>\n");
    run_heading(put, run);
    stats_table(put, run);
    fmt::format_to(put, "</div>\n");
  }
  fmt::format_to(put, "</div>\n</section>\n");

  fmt::format_to(put,
                 "<section>\n<h2>Series and histograms</h2>\n"
                 "<noscript><p class=\"note\">The charts need JavaScript.</p></noscript>\n"
                 "<div id=\"charts\"></div>\n</section>\n");

  fmt::format_to(put, "<section>\n<h2>Per-partition load</h2>\n<div class=\"side\">\n");
  for (const ReportRun& run : runs) {
    fmt::format_to(put, "<div>\n");
    run_heading(put, run);
    load_table(put, run);
    fmt::format_to(put, "</div>\n");
  }
  fmt::format_to(put, "</div>\n</section>\n");

  fmt::format_to(put, "<section>\n<h2>Run figures</h2>\n");
  figures_table(put, runs);
  fmt::format_to(put, "</section>\n");

  fmt::format_to(put, "<section>\n<h2>Resolved config</h2>\n");
  for (const ReportRun& run : runs) {
    fmt::format_to(
        put, "<details{}><summary><code>{}</code>{}</summary>\n<pre>{}</pre>\n</details>\n",
        runs.size() == 1 ? " open" : "", html_escape(run.name),
        run.results.config_file.empty() ? std::string()
                                        : " (" + html_escape(run.results.config_file) + ")",
        html_escape(run.results.config_json.empty() ? "(not recorded)" : run.results.config_json));
  }
  fmt::format_to(put, "</section>\n");
  return out;
}


}  // namespace

std::string json_for_script(std::string_view json) {
  std::string out;
  out.reserve(json.size() + json.size() / 64);
  for (std::size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (c == '<') {
      out += "\\u003c";
    } else if (c == '>') {
      out += "\\u003e";
    } else if (c == '&') {
      out += "\\u0026";
    } else if (c == '\xE2' && i + 2 < json.size() && json[i + 1] == '\x80' &&
               (json[i + 2] == '\xA8' || json[i + 2] == '\xA9')) {
      out += json[i + 2] == '\xA8' ? "\\u2028" : "\\u2029";
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

std::string chart_file_name(std::string_view title, std::vector<std::string>& taken) {
  std::string base;
  for (const char c : title)
    base +=
        std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' ? c : '_';
  if (base.empty() || base.front() == '.') base.insert(0, "chart");
  std::string name = base + ".svg";
  for (int n = 2; std::find(taken.begin(), taken.end(), name) != taken.end(); ++n)
    name = fmt::format("{}-{}.svg", base, n);
  taken.push_back(name);
  return name;
}

std::vector<ChartSpec> report_charts(const std::vector<ReportRun>& runs) {
  std::vector<ChartSpec> series, histograms;
  std::map<std::pair<std::string, std::string>, std::size_t> series_at, histogram_at;
  auto chart_for = [](std::vector<ChartSpec>& charts, auto& at, const std::string& group,
                      const std::string& stat) -> ChartSpec& {
    const auto [it, added] = at.try_emplace({group, stat}, charts.size());
    if (added) charts.emplace_back().title = group + "." + stat;
    return charts[it->second];
  };
  for (std::size_t r = 0; r < runs.size(); ++r) {
    const RunResult& result = runs[r].results.result;
    for (const SeriesResult& s : result.series) {
      ChartSpec& chart = chart_for(series, series_at, s.group, s.stat);
      chart.x_label = "simulated time";
      chart.lines.push_back({runs[r].name, s.times, s.values, static_cast<int>(r)});
    }
    for (const StatResult& s : result.stats) {
      if (s.kind != StatKind::kHistogram) continue;
      ChartSpec& chart = chart_for(histograms, histogram_at, s.group, s.stat);
      chart.kind = ChartKind::kBars;
      chart.x_label = "value";
      ChartLine line{runs[r].name, {}, {}, static_cast<int>(r)};
      const double width = s.bins ? (s.hi - s.lo) / s.bins : 0;
      if (chart.lines.empty()) chart.bar_width = width;
      for (std::uint32_t i = 0; i < s.bins; ++i) {
        const std::optional<double> count = field(s, fmt::format("bin_{}", i));
        line.x.push_back(s.lo + (i + 0.5) * width);
        line.y.push_back(count.value_or(0));
      }
      chart.lines.push_back(std::move(line));
    }
  }
  for (ChartSpec& h : histograms) series.push_back(std::move(h));
  return series;
}

std::string report_html(const std::vector<ReportRun>& runs, std::string_view version) {
  std::string title = "dsim report:";
  for (std::size_t r = 0; r < runs.size(); ++r) title += (r ? ", " : " ") + runs[r].name;
  const std::string css = std::string(inline_asset("uPlot.min.css", "</style")) + "\n" +
                          std::string(inline_asset("report.css", "</style"));
  const std::string js = std::string(inline_asset("uPlot.iife.min.js", "</script")) + "\n" +
                         std::string(inline_asset("report.js", "</script"));
  const std::string body = body_html(runs);
  const std::string data = json_for_script(charts_json(runs, report_charts(runs)));
  const std::string escaped_title = html_escape(title);
  const std::string escaped_version = html_escape(version);
  return fill_template("report.html", {{"title", escaped_title},
                                         {"version", escaped_version},
                                         {"css", css},
                                         {"body", body},
                                         {"data", data},
                                         {"js", js}});
}

}  // namespace dsim::viz
