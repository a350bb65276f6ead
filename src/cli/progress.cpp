#include "cli/progress.hpp"

#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace dsim::cli {
namespace {

std::string rate(double per_second) {
  if (per_second >= 1e9) return fmt::format("{:.3g}G", per_second / 1e9);
  if (per_second >= 1e6) return fmt::format("{:.3g}M", per_second / 1e6);
  if (per_second >= 1e3) return fmt::format("{:.3g}k", per_second / 1e3);
  return fmt::format("{:.0f}", per_second);
}

std::string duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--";
  const auto s = static_cast<long long>(std::llround(std::min(seconds, 359999.0)));
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

std::string sim_time(double t) { return fmt::format("{:.6g}", t); }

}  // namespace

std::string render_progress(const Progress& p, std::size_t width) {
  const bool known_end = std::isfinite(p.end_time) && p.end_time > 0;
  const double fraction = known_end ? std::clamp(p.now / p.end_time, 0.0, 1.0) : 0.0;
  const double events_per_second = p.wall_seconds > 0 ? p.events / p.wall_seconds : 0.0;
  // Simulated time advances roughly evenly in wall time for most models.
  const double eta = fraction > 0 ? p.wall_seconds * (1.0 - fraction) / fraction : NAN;

  const std::string tail =
      fmt::format(" {:5.1f}%  t={}/{}  {} events/s  ETA {}", 100.0 * fraction, sim_time(p.now),
                  sim_time(p.end_time), rate(events_per_second), duration(eta));
  // Figures after the ETA, each shown whole or not at all, most useful first.
  // Optimistic runs: committed / executed, once speculation has cost anything.
  std::vector<std::string> extras;
  const bool show_efficiency = p.rolled_back > 0 || p.efficiency < 1;
  if (show_efficiency)
    extras.push_back(std::isfinite(p.efficiency)
                         ? fmt::format("  eff {:.1f}%", 100.0 * std::clamp(p.efficiency, 0.0, 1.0))
                         : std::string("  eff --"));
  if (p.threads > 1)
    extras.push_back(
        fmt::format("  {} threads, {:.0f}% blocked", p.threads, 100.0 * p.blocked_share));
  if (p.gvt_rounds > 0)
    extras.push_back(fmt::format("  {} rolled back in {} rollbacks, {} GVT rounds, {}B saved",
                                 rate(static_cast<double>(p.rolled_back)),
                                 rate(static_cast<double>(p.rollbacks)), p.gvt_rounds,
                                 rate(static_cast<double>(p.saved_bytes))));

  std::string line;
  // The bar takes what the numbers leave, 10 to 30 cells; its size depends
  // only on the width and on which figures there are, so it does not jitter
  // as the numbers change length (it shrinks once, when the first rollback
  // brings in the efficiency).
  const std::size_t tail_room = 52 + (p.threads > 1 ? 24 : 0) + (show_efficiency ? 11 : 0);
  if (width >= tail_room + 12) {
    const std::size_t cells = std::min<std::size_t>(30, width - tail_room - 2);
    const auto filled = static_cast<std::size_t>(fraction * static_cast<double>(cells));
    line += '[';
    line.append(filled, '#');
    line.append(cells - filled, '.');
    line += ']';
  }
  line += tail;
  for (const std::string& extra : extras)
    if (line.size() + extra.size() <= width) line += extra;
  if (line.size() > width) line.resize(width);
  return line;
}

bool is_terminal(std::FILE* stream) { return ::isatty(::fileno(stream)) == 1; }

ProgressBar::ProgressBar(std::FILE* stream) : stream_(stream), width_(80) {
  winsize ws{};
  if (::ioctl(::fileno(stream), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) width_ = ws.ws_col;
  // Writing the last column makes some terminals wrap.
  width_ = width_ > 1 ? width_ - 1 : 1;
}

void ProgressBar::update(const Progress& progress) {
  const std::string line = render_progress(progress, width_);
  const std::size_t pad = drawn_ > line.size() ? drawn_ - line.size() : 0;
  std::fprintf(stream_, "\r%s%*s", line.c_str(), static_cast<int>(pad), "");
  std::fflush(stream_);
  drawn_ = line.size();
}

void ProgressBar::clear() {
  if (drawn_ == 0) return;
  std::fprintf(stream_, "\r%*s\r", static_cast<int>(drawn_), "");
  std::fflush(stream_);
  drawn_ = 0;
}

}  // namespace dsim::cli
