#include "cli/plot.hpp"

#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <string_view>

#include "dsim/message.hpp"
#include "dsim/output.hpp"
#include "viz/terminal_chart.hpp"

namespace dsim::cli {
namespace {

constexpr std::string_view kPartitions = "partitions";
constexpr std::size_t kMaxCloseMatches = 5;
constexpr std::size_t kMaxNamesListed = 8;
constexpr int kRunChartWidth = 100;
constexpr int kRunChartRows = 8;

void print(std::FILE* out, std::string_view text) { std::fwrite(text.data(), 1, text.size(), out); }

// `*` matches any run of characters, everything else itself.
bool glob_match(std::string_view pattern, std::string_view text) {
  std::size_t p = 0, t = 0, star = std::string_view::npos, resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// The names a mistyped `selector` may have meant, closest first: those
// within a few edits of it (or of its group part), or containing it.
std::vector<std::string> close_matches(const std::string& selector,
                                       const std::vector<std::string>& names) {
  std::string plain;
  for (const char c : selector)
    if (c != '*') plain += c;
  plain = lower(plain);
  const std::size_t allowed = std::max<std::size_t>(2, plain.size() / 3);
  std::vector<std::pair<std::size_t, std::string>> scored;
  for (const std::string& name : names) {
    const std::string candidate = lower(name);
    std::size_t d = edit_distance(plain, candidate);
    const std::size_t dot = candidate.find('.');
    if (dot != std::string::npos) {
      d = std::min(d, edit_distance(plain, candidate.substr(0, dot + 1)));
      d = std::min(d, edit_distance(plain, candidate.substr(dot + 1)));
    }
    if (plain.size() >= 2 &&
        (candidate.find(plain) != std::string::npos || plain.find(candidate) != std::string::npos))
      d = std::min<std::size_t>(d, 1);
    if (d <= allowed) scored.emplace_back(d, name);
  }
  std::stable_sort(scored.begin(), scored.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> out;
  for (std::size_t i = 0; i < scored.size() && i < kMaxCloseMatches; ++i)
    out.push_back(scored[i].second);
  return out;
}

std::string joined(const std::vector<std::string>& names, std::size_t most) {
  std::string text;
  for (std::size_t i = 0; i < names.size() && i < most; ++i) text += (i ? ", " : "") + names[i];
  if (names.size() > most) text += fmt::format(" and {} more", names.size() - most);
  return text;
}

std::string full_name(std::string_view group, std::string_view stat) {
  return fmt::format("{}.{}", group, stat);
}

// What one selector picked.
struct Picked {
  std::vector<bool> series, histograms;  // by index into the result's series, stats
  bool partitions = false;
};

}  // namespace

int terminal_width(std::FILE* out) {
  if (const char* env = std::getenv("COLUMNS"); env != nullptr && *env != '\0') {
    int value = 0;
    const std::string_view text(env);
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec == std::errc{} && end == text.data() + text.size() && value > 0) return value;
  }
  winsize size{};
  if (::isatty(::fileno(out)) == 1 && ::ioctl(::fileno(out), TIOCGWINSZ, &size) == 0 &&
      size.ws_col > 0)
    return size.ws_col;
  return 80;
}

bool utf8_locale() {
  for (const char* name : {"LC_ALL", "LC_CTYPE", "LANG"}) {
    const char* value = std::getenv(name);
    if (value == nullptr || *value == '\0') continue;
    const std::string text = lower(value);
    return text.find("utf-8") != std::string::npos || text.find("utf8") != std::string::npos;
  }
  return false;
}

std::string run_charts(const RunResult& result, int width, bool unicode) {
  if (result.series.empty()) return {};
  std::vector<const SeriesResult*> series;
  for (const auto& s : result.series) series.push_back(&s);
  viz::ChartStyle style;
  style.width = std::min(width, kRunChartWidth);
  style.height = kRunChartRows;
  style.unicode = unicode;
  std::string text(1, '\n');
  text += viz::series_charts(series, style);
  text += '\n';
  return text;
}

int plot_command(const PlotOptions& options, std::FILE* out) {
  if (options.width < 0 || options.height < 0)
    throw Error(fmt::format("--{}: expected a positive number of {}",
                            options.width < 0 ? "width" : "height",
                            options.width < 0 ? "columns" : "rows"));
  const output::ResultDirectory results = output::read_results(options.dir);
  const RunResult& r = results.result;
  const std::string dir = clip(options.dir);

  // Every statistic's name (results.csv), then series that have none.
  std::vector<std::string> names;
  for (const auto& s : r.stats) names.push_back(full_name(s.group, s.stat));
  for (const auto& s : r.series)
    if (r.find(s.group, s.stat) == nullptr) names.push_back(full_name(s.group, s.stat));

  Picked picked{std::vector<bool>(r.series.size()), std::vector<bool>(r.stats.size()), false};
  std::vector<std::string> not_drawn;  // matched, but nothing to draw
  if (options.selectors.empty()) {
    std::fill(picked.series.begin(), picked.series.end(), true);
    for (std::size_t i = 0; i < r.stats.size(); ++i)
      picked.histograms[i] = r.stats[i].kind == StatKind::kHistogram;
    picked.partitions = !r.figures.partitions.empty();
  }
  for (const std::string& selector : options.selectors) {
    if (selector == kPartitions) {
      if (r.figures.partitions.empty())
        throw Error(fmt::format("selector '{}': {}/manifest.json has no per-partition figures",
                                clip(selector), dir));
      picked.partitions = true;
      continue;
    }
    bool matched = false, drawable = false;
    std::vector<std::string> undrawable;
    for (std::size_t i = 0; i < r.series.size(); ++i)
      if (glob_match(selector, full_name(r.series[i].group, r.series[i].stat))) {
        picked.series[i] = matched = drawable = true;
      }
    for (std::size_t i = 0; i < r.stats.size(); ++i) {
      const StatResult& s = r.stats[i];
      const std::string name = full_name(s.group, s.stat);
      if (!glob_match(selector, name)) continue;
      matched = true;
      if (s.kind == StatKind::kHistogram) {
        picked.histograms[i] = drawable = true;
        continue;
      }
      const bool sampled = std::any_of(r.series.begin(), r.series.end(), [&](const auto& x) {
        return x.group == s.group && x.stat == s.stat;
      });
      if (!sampled) undrawable.push_back(fmt::format("{} ({})", name, output::kind_name(s.kind)));
    }
    if (!matched) {
      std::vector<std::string> candidates = names;
      if (!r.figures.partitions.empty()) candidates.emplace_back(kPartitions);
      const auto close = close_matches(selector, candidates);
      throw Error(fmt::format(
          "selector '{}' matches no statistic in {}; {}", clip(selector), dir,
          !close.empty()  ? "close matches: " + joined(close, kMaxCloseMatches)
          : names.empty() ? std::string("it holds no statistics")
                          : fmt::format("it holds {} (write group.stat; * matches any characters)",
                                        joined(names, kMaxNamesListed))));
    }
    if (!drawable)
      throw Error(fmt::format(
          "selector '{}' picks only {}: nothing to draw (dsim plot draws series, which the run "
          "samples from counters and gauges when [output] sample_interval is set, histograms, "
          "and 'partitions')",
          clip(selector), joined(undrawable, kMaxNamesListed)));
    for (auto& u : undrawable)
      if (std::find(not_drawn.begin(), not_drawn.end(), u) == not_drawn.end())
        not_drawn.push_back(std::move(u));
  }

  viz::ChartStyle style;
  style.width = options.width > 0 ? options.width : terminal_width(out);
  style.height = options.height;
  style.unicode = !options.ascii && utf8_locale();

  std::string text;
  const auto section = [&text](const std::string& chart) {
    if (!text.empty()) text += "\n";
    text += chart;
  };
  std::vector<const SeriesResult*> series;
  for (std::size_t i = 0; i < r.series.size(); ++i)
    if (picked.series[i]) series.push_back(&r.series[i]);
  if (r.series.empty() && options.selectors.empty())
    text += fmt::format(
        "{} has no series (the run samples them when [output] sample_interval "
        "is set)\n",
        dir);
  if (!series.empty()) section(viz::series_charts(series, style));
  for (std::size_t i = 0; i < r.stats.size(); ++i)
    if (picked.histograms[i]) section(viz::histogram_chart(r.stats[i], style));
  if (picked.partitions) section(viz::partition_load_chart(r.figures.partitions, style));
  if (!not_drawn.empty())
    section(fmt::format("not drawn (no series or histogram): {}\n",
                        joined(not_drawn, kMaxNamesListed)));
  print(out, text);
  std::fflush(out);
  return 0;
}

}  // namespace dsim::cli
