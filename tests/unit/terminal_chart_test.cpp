// Terminal charts (src/viz/terminal_chart.hpp): layout within the width,
// axes and labels, braille lines without gaps, pure ASCII, legends, bars in
// proportion, and which series share a chart. tests/scripts/plot.sh compares
// whole charts of real results with golden files.
#include "viz/terminal_chart.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

namespace dsim::viz {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// Columns on the screen: one per code point (every glyph the charts use is
// one column wide).
int columns(const std::string& line) {
  return static_cast<int>(std::count_if(line.begin(), line.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

// The code points of a line.
std::u32string code_points(const std::string& s) {
  std::u32string out;
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const int n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    char32_t cp = n == 1 ? c : c & (0xFF >> (n + 1));
    for (int k = 1; k < n; ++k) cp = cp << 6 | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    out += cp;
    i += static_cast<std::size_t>(n);
  }
  return out;
}

bool is_braille(char32_t c) { return c >= 0x2800 && c <= 0x28FF; }

Line ramp(const std::string& name, double scale, int points = 101) {
  Line l{name, {}, {}};
  for (int i = 0; i < points; ++i) {
    l.x.push_back(i);
    l.y.push_back(scale * i);
  }
  return l;
}

ChartStyle style(int width, bool unicode, int height = 0) {
  ChartStyle s;
  s.width = width;
  s.height = height;
  s.unicode = unicode;
  return s;
}

TEST(TerminalChart, LinesFitTheWidth) {
  const std::vector<Line> lines = {ramp("alpha.one", 1), ramp("alpha.two", 0.5)};
  for (const int width : {30, 45, 60, 100, 160})
    for (const bool unicode : {true, false}) {
      const std::string chart = line_chart("title", lines, "time", "", style(width, unicode));
      for (const auto& line : lines_of(chart))
        EXPECT_LE(columns(line), width) << "width " << width << ": '" << line << "'";
    }
}

TEST(TerminalChart, AsciiModeIsPureAscii) {
  const std::vector<Line> lines = {ramp("a.x", 1), ramp("a.y", -1)};
  std::string all = line_chart("t", lines, "time", "value", style(60, false));
  StatResult h{"g", "h", StatKind::kHistogram, {{"count", 6}, {"bin_0", 1}, {"bin_1", 5}}, 0, 2, 2};
  all += histogram_chart(h, style(60, false));
  const std::vector<PartitionFigures> parts = {{0, 0, 1, 10, 0, 0.5, 0.25, 0}};
  all += partition_load_chart(parts, style(60, false));
  for (const char c : all) EXPECT_LT(static_cast<unsigned char>(c), 0x80) << all;
}

TEST(TerminalChart, AxesHaveTickLabels) {
  const std::vector<Line> lines = {ramp("a.x", 1)};
  const auto rows = lines_of(line_chart("a.x", lines, "time", "", style(60, true, 10)));
  ASSERT_GE(rows.size(), 13u);
  EXPECT_EQ(rows[0], "a.x");
  // Top and bottom rows carry the range's ends; the x axis its ticks.
  EXPECT_EQ(rows[1].rfind("100 ┤", 0), 0u) << rows[1];
  EXPECT_EQ(rows[10].rfind("  0 ┤", 0), 0u) << rows[10];
  EXPECT_EQ(rows[11].rfind("    └┬", 0), 0u) << rows[11];
  EXPECT_NE(rows[12].find("40"), std::string::npos) << rows[12];
  EXPECT_NE(rows[12].find("100"), std::string::npos) << rows[12];
  EXPECT_NE(rows[13].find("time"), std::string::npos);
}

TEST(TerminalChart, BrailleLineHasNoGaps) {
  // A steep zigzag: every column between the first and last point must hold
  // dots, however far apart consecutive points are.
  Line zigzag{"z.z", {}, {}};
  for (int i = 0; i <= 10; ++i) {
    zigzag.x.push_back(i);
    zigzag.y.push_back(i % 2 ? 100 : 0);
  }
  const std::vector<Line> lines = {zigzag};
  const auto rows = lines_of(line_chart("z", lines, "", "", style(60, true, 12)));
  std::vector<std::u32string> plot;
  for (std::size_t r = 1; r <= 12; ++r) plot.push_back(code_points(rows[r]));
  const std::size_t axis = plot[0].find(U'┤');
  ASSERT_NE(axis, std::u32string::npos);
  const std::size_t width = 60 - (axis + 1);
  for (std::size_t c = axis + 1; c < axis + 1 + width; ++c) {
    bool dots = false;
    for (const auto& row : plot) dots |= c < row.size() && is_braille(row[c]);
    EXPECT_TRUE(dots) << "column " << c << " is empty";
  }
  // And each vertical stroke is unbroken: in a column holding dots in rows
  // r1 < r2, every row between holds dots too.
  for (std::size_t c = axis + 1; c < axis + 1 + width; ++c) {
    std::vector<std::size_t> hit;
    for (std::size_t r = 0; r < plot.size(); ++r)
      if (c < plot[r].size() && is_braille(plot[r][c])) hit.push_back(r);
    if (hit.size() > 1) {
      EXPECT_EQ(hit.back() - hit.front() + 1, hit.size()) << "column " << c;
    }
  }
}

TEST(TerminalChart, SeveralLinesGetALegendAndTags) {
  const std::vector<Line> lines = {ramp("grp.up", 1), ramp("grp.down", -1)};
  const std::string braille = line_chart("grp", lines, "time", "", style(60, true));
  EXPECT_NE(braille.find("1 grp.up   2 grp.down"), std::string::npos) << braille;
  // Each line is tagged with its number once inside the plot area.
  const auto rows = lines_of(braille);
  int ones = 0, twos = 0;
  for (std::size_t r = 1; r + 4 < rows.size(); ++r) {
    const auto pos = rows[r].find("┤");
    const std::string plot = rows[r].substr(pos == std::string::npos ? rows[r].find("│") : pos);
    ones += static_cast<int>(std::count(plot.begin(), plot.end(), '1'));
    twos += static_cast<int>(std::count(plot.begin(), plot.end(), '2'));
  }
  EXPECT_EQ(ones, 1) << braille;
  EXPECT_EQ(twos, 1) << braille;
  const std::string ascii = line_chart("grp", lines, "time", "", style(60, false));
  EXPECT_NE(ascii.find("* grp.up   + grp.down"), std::string::npos) << ascii;
  // One line alone: the title names it, no legend.
  const std::vector<Line> one = {ramp("grp.up", 1)};
  EXPECT_EQ(line_chart("grp.up", one, "time", "", style(60, true)).find("1 grp.up"),
            std::string::npos);
}

TEST(TerminalChart, HistogramBarsAreInProportion) {
  StatResult h{"q", "w", StatKind::kHistogram, {}, 0, 3, 3};
  h.fields = {{"count", 12}, {"underflow", 0}, {"overflow", 2},
              {"bin_0", 8},  {"bin_1", 4},     {"bin_2", 0}};
  const auto rows = lines_of(histogram_chart(h, style(40, false, 8)));
  EXPECT_EQ(rows[0], "q.w: 12 values, 2 above 3");
  // Rows 2..9 are the plot; count '#' cells per bar (bars are 10 columns apart).
  int first = 0, second = 0, third = 0;
  const std::size_t axis = rows[2].find_first_of("+|");
  for (std::size_t r = 2; r < 10; ++r) {
    const std::string& row = rows[r];
    const auto at = [&](std::size_t c) { return c < row.size() && row[c] == '#'; };
    const std::size_t bar = (40 - axis - 2) / 3;
    first += at(axis + 1);
    second += at(axis + 1 + bar);
    third += at(axis + 1 + 2 * bar);
  }
  EXPECT_EQ(first, 8);
  EXPECT_EQ(second, 4);
  EXPECT_EQ(third, 0);
  EXPECT_EQ(rows[10].rfind("0 +", rows[10].size()), rows[10].find("0 +"));
}

TEST(TerminalChart, HistogramOfManyBinsFitsTheWidth) {
  StatResult h{"g", "many", StatKind::kHistogram, {{"count", 0}}, -1e6, 1e6, 5000};
  for (int i = 0; i < 5000; ++i)
    h.fields.emplace_back("bin_" + std::to_string(i), 1234567.0 * (i % 7));
  for (const int width : {30, 60, 100})
    for (const bool unicode : {true, false})
      for (const auto& line : lines_of(histogram_chart(h, style(width, unicode))))
        EXPECT_LE(columns(line), width) << "width " << width << ": '" << line << "'";
  // Bins over an empty range, a NaN count (results.json's null): drawn, not UB.
  StatResult odd{"g", "odd", StatKind::kHistogram, {{"bin_0", std::nan("")}, {"bin_1", 3}}, 1,
                 1,   2};
  EXPECT_FALSE(histogram_chart(odd, style(60, true)).empty());
}

TEST(TerminalChart, PartitionLoadHasABarPerPartitionAndMeasure) {
  std::vector<PartitionFigures> parts = {{0, 0, 5, 100, 3, 2.0, 0.5, 0},
                                         {1, 0, 5, 50, 3, 1.0, 1.5, 0}};
  std::string chart = partition_load_chart(parts, style(60, true));
  const auto rows = lines_of(chart);
  EXPECT_EQ(rows[0], "load per partition (2 partitions)");
  for (const char* measure : {"events", "busy seconds", "blocked seconds"})
    EXPECT_NE(chart.find(measure), std::string::npos) << measure;
  EXPECT_EQ(chart.find("rolled back"), std::string::npos);
  // events: p0's bar twice as long as p1's.
  const auto blocks = [](const std::string& row) {
    return std::count(row.begin(), row.end(), '\xe2');  // a block's first byte, in bar rows
  };
  EXPECT_EQ(rows[1], "events");
  EXPECT_EQ(rows[2].rfind(" p0 │", 0), 0u) << rows[2];
  EXPECT_NEAR(static_cast<double>(blocks(rows[2]) - 1), 2.0 * (blocks(rows[3]) - 1), 2.0);
  EXPECT_NE(rows[2].find(" 100"), std::string::npos);
  for (const auto& row : rows) EXPECT_LE(columns(row), 60) << row;
  parts[1].rolled_back = 7;
  chart = partition_load_chart(parts, style(60, true));
  EXPECT_NE(chart.find("events rolled back"), std::string::npos);
}

TEST(TerminalChart, SeriesShareAChartOnlyAtSimilarMagnitudes) {
  const auto series = [](const std::string& stat, double peak) {
    SeriesResult s{"g", stat, {1, 2, 3}, {0, peak / 2, peak}};
    return s;
  };
  const SeriesResult small = series("small", 5), close = series("close", 20),
                     huge = series("huge", 1e6), flat = series("flat", 0);
  const std::vector<const SeriesResult*> similar = {&small, &close, &flat};
  const std::string one = series_charts(similar, style(60, true));
  EXPECT_EQ(lines_of(one)[0], "g: 3 series");
  const std::vector<const SeriesResult*> apart = {&small, &huge};
  const auto rows = lines_of(series_charts(apart, style(60, true)));
  EXPECT_EQ(rows[0], "g.small");
  EXPECT_NE(std::find(rows.begin(), rows.end(), "g.huge"), rows.end());
}

TEST(TerminalChart, NamesCannotSendEscapes) {
  const std::vector<Line> lines = {ramp("evil\x1b[2J.x", 1), ramp("b.y", 2)};
  const std::string chart = line_chart("evil\x1b[2J", lines, "time", "", style(60, true));
  EXPECT_EQ(chart.find('\x1b'), std::string::npos);
  EXPECT_NE(chart.find("evil?[2J"), std::string::npos);
}

TEST(TerminalChart, OddDataDrawsWithoutFailing) {
  const double nan = std::nan("");
  const std::vector<Line> gaps = {{"a.b", {0, 1, 2, 3}, {1, nan, 3, INFINITY}}};
  EXPECT_FALSE(line_chart("gaps", gaps, "time", "", style(60, true)).empty());
  const std::vector<Line> constant = {{"a.c", {0, 1, 2}, {7, 7, 7}}};
  EXPECT_NE(line_chart("c", constant, "time", "", style(60, false)).find("7"), std::string::npos);
  // Absurd sizes are capped rather than allocated.
  const std::string huge = line_chart("h", constant, "time", "", style(1 << 30, true, 1 << 30));
  EXPECT_LE(lines_of(huge).size(), 520u);
  const std::vector<Line> single = {{"a.d", {5}, {1}}};
  EXPECT_FALSE(line_chart("d", single, "time", "", style(10, true)).empty());
  EXPECT_FALSE(line_chart("none", {}, "time", "", style(60, true)).empty());
  StatResult empty{"g", "h", StatKind::kHistogram, {{"count", 0}}, 0, 1, 0};
  EXPECT_NE(histogram_chart(empty, style(60, true)).find("no bins"), std::string::npos);
  EXPECT_EQ(partition_load_chart({}, style(60, true)), "load per partition (0 partitions)\n");
}

TEST(TerminalChart, SameInputSameBytes) {
  const std::vector<Line> lines = {ramp("a.x", 1.7, 333), ramp("a.y", 0.3, 333)};
  EXPECT_EQ(line_chart("t", lines, "time", "", style(83, true)),
            line_chart("t", lines, "time", "", style(83, true)));
}

}  // namespace
}  // namespace dsim::viz
