#include "viz/terminal_chart.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string_view>

#include "viz/axis.hpp"

namespace dsim::viz {
namespace {

// Sizes asked for are kept within reason: a typo of --width 100000 should
// not allocate a canvas of gigabytes.
constexpr int kMinWidth = 30, kMaxWidth = 1000;
constexpr int kMinRows = 3, kMaxRows = 500;
constexpr int kMaxPerChart = 6;
constexpr double kOverlayRatio = 10;
constexpr std::string_view kAsciiMarks = "*+ox#@%&=~";

std::string utf8(char32_t c) {
  std::string out;
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
  return out;
}

// Columns `text` takes: one per code point (names are drawn as they are;
// wide characters in a group name would only shift a legend).
int columns(std::string_view text) {
  int n = 0;
  for (const char c : text)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  return n;
}

// A name from a result file, safe to print: no control characters (an
// escape sequence in a group name must not reach the terminal).
std::string printable(std::string_view text) {
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    out += u < 0x20 || u == 0x7F ? '?' : c;
  }
  return out;
}

// `text` cut to `width` columns, the cut marked.
std::string fit(const std::string& text, int width, bool unicode) {
  if (columns(text) <= width) return text;
  const std::string mark = unicode ? "…" : "...";
  const int keep = std::max(0, width - columns(mark));
  std::string out;
  int n = 0;
  for (const char c : text) {
    const bool starts = (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    if (starts && n++ == keep) break;
    out += c;
  }
  return out + mark;
}

std::string pad_left(const std::string& text, int width) {
  return std::string(static_cast<std::size_t>(std::max(0, width - columns(text))), ' ') + text;
}

void trim_right(std::string& line) {
  while (!line.empty() && line.back() == ' ') line.pop_back();
}

// The glyphs of one style.
struct Glyphs {
  bool unicode;
  std::string v_axis() const { return unicode ? "│" : "|"; }
  std::string y_tick() const { return unicode ? "┤" : "+"; }
  std::string h_axis() const { return unicode ? "─" : "-"; }
  std::string x_tick() const { return unicode ? "┬" : "+"; }
  std::string corner() const { return unicode ? "└" : "+"; }
  std::string zero_corner() const { return unicode ? "┼" : "+"; }
  std::string full() const { return unicode ? "█" : "#"; }
  // A horizontal bar `eighths`/8 cells long.
  std::string h_bar(long eighths) const {
    std::string out;
    if (!unicode) {
      const long cells = (eighths + 4) / 8;
      return std::string(static_cast<std::size_t>(cells), '#');
    }
    for (long i = 0; i < eighths / 8; ++i) out += full();
    if (eighths % 8) out += utf8(static_cast<char32_t>(0x2590 - eighths % 8));
    return out;
  }
  // A vertical bar's cell `eighths`/8 full (1..8).
  std::string v_part(long eighths) const {
    if (!unicode) return eighths >= 4 ? "#" : ".";  // "." : under half a cell
    return utf8(static_cast<char32_t>(0x2580 + std::clamp(eighths, 1L, 8L)));
  }
};

// A value to a position on [0, span]: round half up, so equal input gives
// equal output on every machine.
long scale(double v, double lo, double hi, double span) {
  if (!(hi > lo)) return 0;
  const double at = std::floor((v - lo) / (hi - lo) * span + 0.5);
  return std::isfinite(at) ? static_cast<long>(std::clamp(at, -1e9, 1e9)) : 0;
}

// Ticks for data over [lo, hi], and the range the axis shows: the data's,
// stretched to the enclosing ticks when that costs at most 15% of it (10050
// does not become 15000, 9992 becomes 10000). Only ticks in the range are kept.
Ticks axis_ticks(double lo, double hi, int max_ticks) {
  Ticks t = nice_ticks(lo, hi, max_ticks);
  if (!(lo < hi)) return t;  // degenerate: nice_ticks made a range around it
  const double slack = 0.15 * (hi - lo);
  const double a = lo - t.lo <= slack ? t.lo : lo, b = t.hi - hi <= slack ? t.hi : hi;
  const double tolerance = 1e-9 * (b - a);
  std::erase_if(t.values, [&](double v) { return v < a - tolerance || v > b + tolerance; });
  t.lo = a;
  t.hi = b;
  return t;
}

// The x axis line and its tick labels: `ticks` at the cells given by
// `column` on an axis of `cells` cells, the first at column `left`, after
// `corner` (which ends at column left - 1). Labels overlap neither each other
// nor the right edge `width`; returns false when they would not fit.
bool x_axis(const Ticks& ticks, int left, int cells, int width, const Glyphs& g,
            const std::string& corner, auto column, std::string& axis, std::string& labels) {
  std::vector<std::string> line(static_cast<std::size_t>(cells), g.h_axis());
  std::string label_line;
  int used = 0;  // columns of label_line so far
  for (const double v : ticks.values) {
    const long c = column(v);
    if (c < 0 || c >= cells) continue;
    line[static_cast<std::size_t>(c)] = g.x_tick();
    const std::string text = tick_label(v, ticks.step);
    const int w = columns(text);
    int start = left + static_cast<int>(c) - (w - 1) / 2;
    start = std::min(start, width - w);
    if (start < (used == 0 ? 0 : used + 1)) return false;
    label_line += std::string(static_cast<std::size_t>(start - used), ' ') + text;
    used = start + w;
  }
  axis = std::string(static_cast<std::size_t>(std::max(0, left - columns(corner))), ' ') + corner;
  for (const auto& cell : line) axis += cell;
  labels = label_line;
  return true;
}

// Tries fewer and fewer x ticks until their labels fit.
void fit_x_axis(double lo, double hi, int left, int cells, int width, const Glyphs& g,
                const std::string& corner, auto column_of, std::string& axis, std::string& labels,
                Ticks& ticks) {
  for (int n = std::max(2, cells / 8 + 1); n >= 2; --n) {
    ticks = axis_ticks(lo, hi, n);
    if (x_axis(ticks, left, cells, width, g, corner, column_of(ticks), axis, labels)) return;
  }
  // Not even two labels fit: the axis without them.
  ticks.values.clear();
  x_axis(ticks, left, cells, width, g, corner, column_of(ticks), axis, labels);
}

std::string centered(const std::string& text, int left, int cells) {
  const int start = std::max(0, left + (cells - columns(text)) / 2);
  return std::string(static_cast<std::size_t>(start), ' ') + text;
}

// Legend entries "KEY name", as many a line as fit in `width`.
std::string legend(const std::vector<std::string>& keys, const std::vector<std::string>& names,
                   int width, bool unicode) {
  std::string out, line;
  int used = 0;
  for (std::size_t i = 0; i < names.size(); ++i) {
    const std::string entry = fit(keys[i] + " " + names[i], width, unicode);
    const int w = columns(entry);
    if (used > 0 && used + 3 + w > width) {
      out += line + "\n";
      line.clear();
      used = 0;
    }
    if (used > 0) {
      line += "   ";
      used += 3;
    }
    line += entry;
    used += w;
  }
  if (!line.empty()) out += line + "\n";
  return out;
}

// Y ticks about three rows apart, at least two when the rows allow.
Ticks y_ticks(double lo, double hi, int rows) {
  Ticks t;
  for (int n = std::max(2, rows / 3 + 1); n <= std::max(2, rows); ++n) {
    t = axis_ticks(lo, hi, n);
    if (t.values.size() >= 2) break;
  }
  return t;
}

// Labels of `ticks`, each followed by a space, and the widest's columns.
std::vector<std::string> y_labels(const Ticks& ticks, int& gutter) {
  std::vector<std::string> labels;
  gutter = 0;
  for (const double v : ticks.values) {
    labels.push_back(tick_label(v, ticks.step) + " ");
    gutter = std::max(gutter, columns(labels.back()));
  }
  return labels;
}

int default_rows(const ChartStyle& style) {
  return style.height > 0 ? std::clamp(style.height, kMinRows, kMaxRows)
                          : std::clamp(style.width / 5, 8, 20);
}

// One cell of a line chart's plot area.
struct Cell {
  std::uint8_t dots = 0;     // braille dots set (bit order of U+2800)
  int series = -1;           // the last series drawn here (its mark, in ASCII)
  std::uint64_t owners = 0;  // every series drawn here (the first 64)
  std::string text;          // a legend number placed here, instead of the dots
};

class Canvas {
 public:
  Canvas(int cols, int rows, bool braille)
      : cols_(cols),
        rows_(rows),
        sx_(braille ? 2 : 1),
        sy_(braille ? 4 : 1),
        cells_(static_cast<std::size_t>(cols * rows)) {}
  int dot_cols() const { return cols_ * sx_; }
  int dot_rows() const { return rows_ * sy_; }
  int sx() const { return sx_; }
  int sy() const { return sy_; }
  Cell& at(int col, int row) { return cells_[static_cast<std::size_t>(row * cols_ + col)]; }

  // Dot (x, y), y counted from the bottom.
  void set(long x, long y, int series) {
    x = std::clamp<long>(x, 0, dot_cols() - 1);
    y = std::clamp<long>(y, 0, dot_rows() - 1);
    Cell& cell = at(static_cast<int>(x / sx_), rows_ - 1 - static_cast<int>(y / sy_));
    if (sx_ == 2) {
      static constexpr std::uint8_t kBits[4][2] = {
          {0x01, 0x08}, {0x02, 0x10}, {0x04, 0x20}, {0x40, 0x80}};
      cell.dots |= kBits[sy_ - 1 - y % sy_][x % sx_];
    } else {
      cell.dots = 1;
    }
    cell.series = series;
    if (series < 64) cell.owners |= std::uint64_t{1} << series;
  }

  // A straight line of dots (Bresenham) from (x0, y0) to (x1, y1).
  void line(long x0, long y0, long x1, long y1, int series) {
    const long dx = std::abs(x1 - x0), dy = -std::abs(y1 - y0);
    const long step_x = x0 < x1 ? 1 : -1, step_y = y0 < y1 ? 1 : -1;
    long error = dx + dy;
    for (;;) {
      set(x0, y0, series);
      if (x0 == x1 && y0 == y1) break;
      const long e2 = 2 * error;
      if (e2 >= dy) {
        error += dy;
        x0 += step_x;
      }
      if (e2 <= dx) {
        error += dx;
        y0 += step_y;
      }
    }
  }

  std::string row_text(int row, const std::vector<std::string>& ascii_marks) {
    std::string out;
    for (int c = 0; c < cols_; ++c) {
      const Cell& cell = at(c, row);
      if (!cell.text.empty())
        out += cell.text;
      else if (cell.dots == 0)
        out += ' ';
      else if (sx_ == 2)
        out += utf8(0x2800 + cell.dots);
      else
        out += ascii_marks[static_cast<std::size_t>(cell.series)];
    }
    return out;
  }

 private:
  int cols_, rows_, sx_, sy_;
  std::vector<Cell> cells_;
};

// Braille: puts each series' legend number in a free cell beside the column
// where it stands farthest from the other series.
void tag_series(Canvas& canvas, int cols, int rows, int count,
                const std::vector<std::string>& keys) {
  // Rows each series occupies in each column: [lowest row index, highest].
  constexpr int kNone = -1;
  std::vector<std::vector<std::pair<int, int>>> span(
      static_cast<std::size_t>(count),
      std::vector<std::pair<int, int>>(static_cast<std::size_t>(cols), {kNone, kNone}));
  for (int c = 0; c < cols; ++c)
    for (int r = 0; r < rows; ++r)
      for (int series = 0; series < count && series < 64; ++series) {
        if ((canvas.at(c, r).owners >> series & 1) == 0) continue;
        auto& s = span[static_cast<std::size_t>(series)][static_cast<std::size_t>(c)];
        if (s.first == kNone) s.first = r;
        s.second = r;
      }
  for (int s = 0; s < count; ++s) {
    std::vector<std::pair<int, int>> candidates;  // (-distance, column)
    for (int c = 0; c < cols; ++c) {
      const auto [top, bottom] = span[static_cast<std::size_t>(s)][static_cast<std::size_t>(c)];
      if (top == kNone) continue;
      int distance = rows;
      for (int t = 0; t < count; ++t) {
        if (t == s) continue;
        const auto [t_top, t_bottom] =
            span[static_cast<std::size_t>(t)][static_cast<std::size_t>(c)];
        if (t_top == kNone) continue;
        const int gap = t_top > bottom ? t_top - bottom : top > t_bottom ? top - t_bottom : 0;
        distance = std::min(distance, gap);
      }
      candidates.emplace_back(-distance, c);
    }
    std::sort(candidates.begin(), candidates.end());
    for (const auto& [neg_distance, c] : candidates) {
      const auto [top, bottom] = span[static_cast<std::size_t>(s)][static_cast<std::size_t>(c)];
      bool placed = false;
      for (const int r : {top - 1, bottom + 1}) {
        if (r < 0 || r >= rows) continue;
        Cell& cell = canvas.at(c, r);
        if (cell.dots != 0 || !cell.text.empty()) continue;
        cell.text = keys[static_cast<std::size_t>(s)];
        placed = true;
        break;
      }
      if (placed) break;
    }
  }
}

std::string count_text(double v) {
  if (std::abs(v) < 1e15 && v == std::floor(v)) return fmt::format("{:.0f}", v);
  return fmt::format("{:.4g}", v);
}

double field(const StatResult& s, std::string_view name) {
  for (const auto& [key, value] : s.fields)
    if (key == name) return value;
  return 0;
}

}  // namespace

std::string line_chart(const std::string& title, std::span<const Line> lines,
                       const std::string& x_label, const std::string& y_label,
                       const ChartStyle& style) {
  const Glyphs g{style.unicode};
  const int width = std::clamp(style.width, kMinWidth, kMaxWidth);
  double x_lo = std::numeric_limits<double>::infinity(), x_hi = -x_lo;
  double y_lo = x_lo, y_hi = -x_lo;
  for (const Line& l : lines)
    for (std::size_t i = 0; i < l.x.size() && i < l.y.size(); ++i) {
      if (!std::isfinite(l.x[i]) || !std::isfinite(l.y[i])) continue;
      x_lo = std::min(x_lo, l.x[i]);
      x_hi = std::max(x_hi, l.x[i]);
      y_lo = std::min(y_lo, l.y[i]);
      y_hi = std::max(y_hi, l.y[i]);
    }
  if (!std::isfinite(x_lo)) x_lo = x_hi = y_lo = y_hi = 0;

  const int rows = default_rows(style);
  const Ticks y = y_ticks(y_lo, y_hi, rows);
  int gutter = 0;
  const std::vector<std::string> labels = y_labels(y, gutter);
  const int cols = width - gutter - 1;
  Canvas canvas(cols, rows, style.unicode);

  Ticks x_ticks;
  std::string axis, x_labels;
  fit_x_axis(
      x_lo, x_hi, gutter + 1, cols, width, g, g.corner(),
      [&canvas](const Ticks& t) {
        return [&canvas, lo = t.lo, hi = t.hi](double v) {
          return scale(v, lo, hi, canvas.dot_cols() - 1) / canvas.sx();
        };
      },
      axis, x_labels, x_ticks);
  const double xa = x_ticks.lo, xb = x_ticks.hi;
  const auto y_dot = [&](double v) { return scale(v, y.lo, y.hi, canvas.dot_rows() - 1); };

  std::vector<std::string> keys, names, marks;
  for (std::size_t s = 0; s < lines.size(); ++s) {
    const Line& l = lines[s];
    const bool braille = style.unicode;
    keys.push_back(braille ? std::string(1, s < 9 ? static_cast<char>('1' + s)
                                                  : static_cast<char>('a' + (s - 9) % 26))
                           : std::string(1, kAsciiMarks[s % kAsciiMarks.size()]));
    marks.push_back(std::string(1, kAsciiMarks[s % kAsciiMarks.size()]));
    names.push_back(printable(l.name));
    bool have_previous = false;
    long px = 0, py = 0;
    for (std::size_t i = 0; i < l.x.size() && i < l.y.size(); ++i) {
      if (!std::isfinite(l.x[i]) || !std::isfinite(l.y[i])) {
        have_previous = false;
        continue;
      }
      const long x = scale(l.x[i], xa, xb, canvas.dot_cols() - 1), yv = y_dot(l.y[i]);
      if (have_previous)
        canvas.line(px, py, x, yv, static_cast<int>(s));
      else
        canvas.set(x, yv, static_cast<int>(s));
      px = x;
      py = yv;
      have_previous = true;
    }
  }
  if (style.unicode && lines.size() > 1)
    tag_series(canvas, cols, rows, static_cast<int>(lines.size()), keys);

  std::string out = fit(printable(title), width, style.unicode) + "\n";
  if (!y_label.empty()) out += fit(printable(y_label), width, style.unicode) + "\n";
  // A tick's label is on the row its value's dots are drawn in.
  std::vector<std::string> row_label(static_cast<std::size_t>(rows));
  for (std::size_t i = 0; i < y.values.size(); ++i)
    row_label[static_cast<std::size_t>(rows - 1 - y_dot(y.values[i]) / canvas.sy())] = labels[i];
  for (int r = 0; r < rows; ++r) {
    const std::string& label = row_label[static_cast<std::size_t>(r)];
    std::string line = pad_left(label, gutter) + (label.empty() ? g.v_axis() : g.y_tick()) +
                       canvas.row_text(r, marks);
    trim_right(line);
    out += line + "\n";
  }
  trim_right(axis);
  out += axis + "\n";
  if (!x_labels.empty()) out += x_labels + "\n";
  if (!x_label.empty()) out += centered(printable(x_label), gutter + 1, cols) + "\n";
  if (lines.size() > 1) out += legend(keys, names, width, style.unicode);
  return out;
}

std::string histogram_chart(const StatResult& h, const ChartStyle& style) {
  const Glyphs g{style.unicode};
  const int width = std::clamp(style.width, kMinWidth, kMaxWidth);
  std::vector<double> counts;
  for (const auto& [key, value] : h.fields)
    if (key.starts_with("bin_")) counts.push_back(value);
  const double underflow = field(h, "underflow"), overflow = field(h, "overflow");
  std::string title = fmt::format("{}.{}: {} values", printable(h.group), printable(h.stat),
                                  count_text(field(h, "count")));
  if (underflow > 0) title += fmt::format(", {} below {}", count_text(underflow), count_text(h.lo));
  if (overflow > 0) title += fmt::format(", {} above {}", count_text(overflow), count_text(h.hi));
  title = fit(title, width, style.unicode);
  if (counts.empty()) return title + "\n(no bins)\n";

  // Neighbouring bins share a bar when there are more bins than columns.
  // The columns left depend on the y labels, which depend on the bars:
  // guess room for labels of 8 characters, and merge more if that was short.
  const int rows = default_rows(style);
  std::size_t group = 1;
  std::vector<double> bars;
  Ticks y;
  std::vector<std::string> labels;
  int gutter = 0, room = width - 10;
  for (;;) {
    const auto columns_left = static_cast<std::size_t>(std::max(1, room));
    group = std::max(group, (counts.size() + columns_left - 1) / columns_left);
    bars.clear();
    double most = 0;
    for (std::size_t i = 0; i < counts.size(); i += group) {
      double sum = 0;
      for (std::size_t j = i; j < std::min(counts.size(), i + group); ++j) sum += counts[j];
      bars.push_back(sum);
      most = std::max(most, sum);
    }
    y = y_ticks(0, most > 0 ? most : 1, rows);
    labels = y_labels(y, gutter);
    room = width - gutter - 2;  // the axis, and the column of the last edge
    if (bars.size() <= static_cast<std::size_t>(std::max(1, room))) break;
  }
  const int bar_width = std::max(1, room / static_cast<int>(bars.size()));
  const int gap = bar_width >= 4 ? 1 : 0;
  const int cols = bar_width * static_cast<int>(bars.size());
  const double top = y.hi;
  // The zero tick labels the x axis; the others the row a bar of their
  // height ends in.
  std::vector<std::string> row_label(static_cast<std::size_t>(rows));
  std::string zero_label;
  for (std::size_t i = 0; i < y.values.size(); ++i) {
    const long eighths = scale(y.values[i], 0, top, 8.0 * rows);
    if (eighths == 0)
      zero_label = labels[i];
    else
      row_label[static_cast<std::size_t>(rows - 1 - (eighths - 1) / 8)] = labels[i];
  }

  std::string out = title + "\ncount\n";
  for (int r = 0; r < rows; ++r) {
    // This row shows the eighths (8*from_bottom, 8*from_bottom + 8] of a bar.
    const int from_bottom = rows - 1 - r;
    const std::string& label = row_label[static_cast<std::size_t>(r)];
    std::string line = pad_left(label, gutter) + (label.empty() ? g.v_axis() : g.y_tick());
    for (const double b : bars) {
      long eighths = scale(b, 0, top, 8.0 * rows);
      if (b > 0 && eighths == 0) eighths = 1;
      const long here = eighths - 8L * from_bottom;
      const std::string cell = here <= 0 ? " " : g.v_part(std::min(here, 8L));
      for (int c = 0; c < bar_width - gap; ++c) line += cell;
      line += std::string(static_cast<std::size_t>(gap), ' ');
    }
    trim_right(line);
    out += line + "\n";
  }
  // The x axis is the zero line; its ticks are bin edges.
  const double bins_per_bar = static_cast<double>(group);
  std::string axis, x_labels;
  Ticks x_ticks;
  const auto column_of = [&](const Ticks&) {
    return [&](double v) -> long {
      if (!(h.hi > h.lo)) return -1;
      if (v < h.lo - 1e-9 * std::abs(h.hi - h.lo) || v > h.hi + 1e-9 * std::abs(h.hi - h.lo))
        return -1;
      const double bin = (v - h.lo) / (h.hi - h.lo) * static_cast<double>(counts.size());
      return static_cast<long>(std::floor(bin / bins_per_bar * bar_width + 0.5));
    };
  };
  fit_x_axis(h.lo, h.hi, gutter + 1, cols + 1, width, g,
             pad_left(zero_label, gutter) + g.zero_corner(), column_of, axis, x_labels, x_ticks);
  trim_right(axis);
  out += axis + "\n";
  if (!x_labels.empty()) out += x_labels + "\n";
  out += centered("value", gutter + 1, cols) + "\n";
  return out;
}

std::string partition_load_chart(std::span<const PartitionFigures> partitions,
                                 const ChartStyle& style) {
  const Glyphs g{style.unicode};
  const int width = std::clamp(style.width, kMinWidth, kMaxWidth);
  bool ranks = false, rolled_back = false;
  for (const auto& p : partitions) {
    ranks |= p.rank != 0;
    rolled_back |= p.rolled_back != 0;
  }
  std::vector<std::string> labels;
  int label_width = 0;
  for (const auto& p : partitions) {
    labels.push_back(ranks ? fmt::format("p{} r{}", p.partition, p.rank)
                           : fmt::format("p{}", p.partition));
    label_width = std::max(label_width, columns(labels.back()));
  }
  struct Measure {
    std::string name;
    std::vector<double> values;
    bool seconds;
  };
  std::vector<Measure> measures(3);
  measures[0] = {"events", {}, false};
  measures[1] = {"busy seconds (handling events)", {}, true};
  measures[2] = {"blocked seconds (waiting for other partitions)", {}, true};
  if (rolled_back) measures.push_back({"events rolled back", {}, false});
  for (const auto& p : partitions) {
    measures[0].values.push_back(static_cast<double>(p.events));
    measures[1].values.push_back(p.busy_seconds);
    measures[2].values.push_back(p.blocked_seconds);
    if (rolled_back) measures[3].values.push_back(static_cast<double>(p.rolled_back));
  }

  std::string out = fit(fmt::format("load per partition ({} partition{})", partitions.size(),
                                    partitions.size() == 1 ? "" : "s"),
                        width, style.unicode) +
                    "\n";
  if (partitions.empty()) return out;
  const int left = label_width + 2;
  for (const Measure& m : measures) {
    std::vector<std::string> texts;
    int text_width = 0;
    double most = 0;
    for (const double v : m.values) {
      texts.push_back(m.seconds ? fmt::format("{:.3g}", v) : count_text(v));
      text_width = std::max(text_width, columns(texts.back()));
      most = std::max(most, v);
    }
    // Bars end before the longest value printed after them.
    const int cols = std::max(10, width - left - 1 - text_width - 1);
    std::string axis, x_labels;
    Ticks ticks;
    fit_x_axis(
        0, most > 0 ? most : 1, left + 1, cols, width, g, g.corner(),
        [&](const Ticks& t) { return [t, cols](double v) { return scale(v, 0, t.hi, cols - 1); }; },
        axis, x_labels, ticks);
    out += fit(m.name, width, style.unicode) + "\n";
    for (std::size_t i = 0; i < m.values.size(); ++i) {
      // A bar reaches the column of its value's tick position.
      const long eighths =
          m.values[i] > 0 ? scale(m.values[i], 0, ticks.hi, 8.0 * (cols - 1)) + 4 : 0;
      std::string line = pad_left(labels[i], label_width + 1) + " " + g.v_axis() +
                         g.h_bar(eighths) + " " + texts[i];
      out += line + "\n";
    }
    trim_right(axis);
    out += axis + "\n" + x_labels + "\n";
  }
  return out;
}

std::string series_charts(std::span<const SeriesResult* const> series, const ChartStyle& style) {
  struct Chart {
    std::vector<const SeriesResult*> members;
    double low = 0, high = 0;  // nonzero peaks of the members
  };
  std::vector<Chart> charts;
  for (const SeriesResult* s : series) {
    double peak = 0;
    for (const double v : s->values)
      if (std::isfinite(v)) peak = std::max(peak, std::abs(v));
    Chart* home = nullptr;
    for (Chart& c : charts) {
      if (c.members.size() >= kMaxPerChart) continue;
      const double low = peak == 0 ? c.low : c.low == 0 ? peak : std::min(c.low, peak);
      const double high = std::max(c.high, peak);
      if (low == 0 || high <= kOverlayRatio * low) {
        home = &c;
        break;
      }
    }
    if (home == nullptr) home = &charts.emplace_back();
    home->members.push_back(s);
    if (peak > 0) {
      home->low = home->low == 0 ? peak : std::min(home->low, peak);
      home->high = std::max(home->high, peak);
    }
  }
  std::string out;
  for (const Chart& c : charts) {
    std::vector<Line> lines;
    bool one_group = true;
    for (const SeriesResult* s : c.members) {
      lines.push_back({s->group + "." + s->stat, s->times, s->values});
      one_group &= s->group == c.members.front()->group;
    }
    std::string title = lines.size() == 1 ? lines.front().name
                        : one_group
                            ? fmt::format("{}: {} series", c.members.front()->group, lines.size())
                            : fmt::format("{} series", lines.size());
    if (!out.empty()) out += "\n";
    out += line_chart(title, lines, "time", "", style);
  }
  return out;
}

}  // namespace dsim::viz
