// The HTML report's escaping (text from configs never becomes markup or
// script), its charts (overlay of several runs, histograms), SVG charts and
// chart file names. The page in a real browser: tests/scripts/report.sh.
#include "viz/report.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "viz/svg_chart.hpp"
#include "viz/web_assets.hpp"

namespace dsim::viz {
namespace {

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// A run with one series and one histogram in `group`.
ReportRun run(const std::string& name, const std::string& group, double scale = 1) {
  ReportRun r;
  r.name = name;
  r.results.config_json = "{\"note\": \"</script><script>alert(1)</script>\"}";
  r.results.config_file = "models/" + group + ".toml";
  SeriesResult s;
  s.group = group;
  s.stat = "level";
  s.times = {1, 2, 3, 4};
  s.values = {1 * scale, 3 * scale, 2 * scale, 5 * scale};
  r.results.result.series.push_back(s);
  StatResult h;
  h.group = group;
  h.stat = "wait";
  h.kind = StatKind::kHistogram;
  h.lo = 0;
  h.hi = 4;
  h.bins = 2;
  h.fields = {{"count", 7}, {"underflow", 0}, {"overflow", 1}, {"bin_0", 4}, {"bin_1", 2}};
  r.results.result.stats.push_back(h);
  StatResult c;
  c.group = group;
  c.stat = "served";
  c.kind = StatKind::kCounter;
  c.fields = {{"total", 12}, {"mean", 12}, {"min", 12}, {"max", 12}};
  r.results.result.stats.push_back(c);
  r.results.result.figures.partitions.push_back({0, 0, 1, 100, 0, 0.5, 0.1, 0});
  return r;
}

// The JSON inside <script id="dsim-data">.
nlohmann::json page_data(const std::string& html) {
  const std::string open = "<script id=\"dsim-data\" type=\"application/json\">";
  const std::size_t from = html.find(open);
  EXPECT_NE(from, std::string::npos);
  const std::size_t to = html.find("</script>", from);
  return nlohmann::json::parse(html.substr(from + open.size(), to - from - open.size()));
}

TEST(ReportTest, HtmlEscapeEscapesMarkupCharacters) {
  EXPECT_EQ(html_escape("<b a=\"x\" b='y'>&amp;</b>"),
            "&lt;b a=&quot;x&quot; b=&#39;y&#39;&gt;&amp;amp;&lt;/b&gt;");
  EXPECT_EQ(html_escape("plain text"), "plain text");
}

TEST(ReportTest, JsonForScriptEscapesWhatCouldEndTheScript) {
  const nlohmann::json value = {{"name", "</script><!-- & \xE2\x80\xA8 \xE2\x80\xA9 >"}};
  const std::string safe = json_for_script(value.dump(-1, ' ', false));
  EXPECT_EQ(safe.find('<'), std::string::npos);
  EXPECT_EQ(safe.find('>'), std::string::npos);
  EXPECT_EQ(safe.find('&'), std::string::npos);
  EXPECT_EQ(safe.find("\xE2\x80\xA8"), std::string::npos);
  EXPECT_EQ(safe.find("\xE2\x80\xA9"), std::string::npos);
  EXPECT_NE(safe.find("\\u003c/script\\u003e"), std::string::npos);
  EXPECT_NE(safe.find("\\u2028"), std::string::npos);
  EXPECT_NE(safe.find("\\u2029"), std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(safe), value);  // the same value
}

TEST(ReportTest, TextFromResultsNeverBecomesMarkupOrScript) {
  const std::string evil = "<script>alert(1)</script><img src=x onerror=alert(2)>";
  const std::string html = report_html({run(evil, evil)}, "test");
  // Only the page's own two scripts (the data and the code).
  EXPECT_EQ(count(html, "</script>"), 2u);
  EXPECT_EQ(count(html, "<script"), 2u);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  // The chart data still holds the name as it is.
  const nlohmann::json data = page_data(html);
  EXPECT_EQ(data["runs"][0], evil);
  EXPECT_EQ(data["charts"][0]["title"], evil + ".level");
}

TEST(ReportTest, PageInlinesEverythingAndFetchesNothing) {
  const std::string html = report_html({run("a", "queue")}, "test");
  EXPECT_NE(html.find("Content-Security-Policy"), std::string::npos);
  EXPECT_NE(html.find(std::string(web_asset("uPlot.iife.min.js")).substr(0, 200)),
            std::string::npos);
  EXPECT_EQ(html.find("{{"), std::string::npos);  // every marker filled
  for (const char* remote : {"src=\"http", "href=\"http", "@import", "url(http"})
    EXPECT_EQ(html.find(remote), std::string::npos) << remote;
}

TEST(ReportTest, SeveralRunsOverlayTheirSeries) {
  const std::vector<ReportRun> runs = {run("first", "queue"), run("second", "queue", 2)};
  const std::vector<ChartSpec> charts = report_charts(runs);
  ASSERT_EQ(charts.size(), 2u);  // queue.level, queue.wait
  EXPECT_EQ(charts[0].title, "queue.level");
  EXPECT_EQ(charts[0].kind, ChartKind::kLines);
  ASSERT_EQ(charts[0].lines.size(), 2u);
  EXPECT_EQ(charts[0].lines[1].name, "second");
  EXPECT_EQ(charts[0].lines[1].y, (std::vector<double>{2, 6, 4, 10}));
  EXPECT_EQ(charts[1].title, "queue.wait");
  EXPECT_EQ(charts[1].kind, ChartKind::kBars);
  EXPECT_EQ(charts[1].bar_width, 2);
  EXPECT_EQ(charts[1].lines[0].x, (std::vector<double>{1, 3}));  // bin centres
  EXPECT_EQ(charts[1].lines[0].y, (std::vector<double>{4, 2}));

  const nlohmann::json data = page_data(report_html(runs, "test"));
  EXPECT_EQ(data["runs"], (nlohmann::json{"first", "second"}));
  EXPECT_EQ(data["charts"].size(), 2u);
  // Evenly spaced times travel as start and step.
  EXPECT_EQ(data["charts"][0]["lines"][0]["x_start"], 1);
  EXPECT_EQ(data["charts"][0]["lines"][0]["x_step"], 1);
  EXPECT_EQ(data["charts"][0]["lines"][0]["x_count"], 4);
}

TEST(ReportTest, UnevenTimesAndNonFiniteValuesInTheData) {
  ReportRun r = run("a", "queue");
  r.results.result.series[0].times = {1, 2, 4, 8};
  r.results.result.series[0].values = {1, std::nan(""), 3, 4};
  const nlohmann::json data = page_data(report_html({r}, "test"));
  const nlohmann::json& line = data["charts"][0]["lines"][0];
  EXPECT_EQ(line["x"], (nlohmann::json{1, 2, 4, 8}));
  EXPECT_TRUE(line["y"][1].is_null());
}

TEST(ReportTest, SvgChartEscapesTextAndDrawsEveryLine) {
  ChartSpec c;
  c.title = "a<b & \"c\"";
  c.lines.push_back({"run <1>", {0, 1, 2}, {1, 2, 3}, 0});
  c.lines.push_back({"run 2", {0, 1, 2}, {3, std::nan(""), 1}, 1});
  const std::string svg = svg_chart(c);
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
  EXPECT_NE(svg.find("a&lt;b &amp; &quot;c&quot;"), std::string::npos);
  EXPECT_NE(svg.find("run &lt;1&gt;"), std::string::npos);
  EXPECT_EQ(count(svg, "<path "), 2u);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);

  ChartSpec bars;
  bars.kind = ChartKind::kBars;
  bars.bar_width = 1;
  bars.lines.push_back({"h", {0.5, 1.5}, {3, 4}, 0});
  EXPECT_EQ(count(svg_chart(bars), "<rect x="), 4u);  // two bars, the clip area, the frame
}

TEST(ReportTest, ChartFileNamesAreSafeAndUnique) {
  std::vector<std::string> taken;
  EXPECT_EQ(chart_file_name("queue.length", taken), "queue.length.svg");
  EXPECT_EQ(chart_file_name("queue.length", taken), "queue.length-2.svg");
  EXPECT_EQ(chart_file_name("../<x>/y", taken), "chart..__x__y.svg");
  EXPECT_EQ(chart_file_name("", taken), "chart.svg");
}

TEST(ReportTest, EveryScriptAndStyleTheReportInlinesCanBeInlined) {
  for (const std::string_view name :
       {"report.js", "report.css", "uPlot.iife.min.js", "uPlot.min.css"}) {
    const std::string text(web_asset(name));
    const std::string closing = name.ends_with(".js") ? "</script" : "</style";
    EXPECT_EQ(text.find(closing), std::string::npos) << name;
  }
  EXPECT_THROW(web_asset("no-such-file.js"), std::out_of_range);
}

}  // namespace
}  // namespace dsim::viz
