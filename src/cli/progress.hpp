// The progress line `dsim run` redraws on a terminal while a run goes on:
//   [##########..........]  50.0%  t=500/1000  1.23M events/s  ETA 0:04
// followed, when there are, by the optimistic engine's efficiency and the
// worker threads' figures, each dropped whole when the line has no room:
//   ...  ETA 0:04  eff 99.1%  4 threads, 3% blocked
//
// Thread safety: update() is called from the engine's coordinating thread
// (RunOptions::on_progress), clear() from the thread that started the run
// after run() has returned; the two never overlap.
#pragma once

#include <cstddef>
#include <cstdio>
#include <string>

#include "dsim/simulation.hpp"

namespace dsim::cli {

// One line, at most `width` characters, no control characters.
std::string render_progress(const Progress& progress, std::size_t width);

// Whether `stream` is a terminal worth drawing on.
bool is_terminal(std::FILE* stream);

class ProgressBar {
 public:
  // Draws on `stream` (normally stderr), fitting the terminal's width.
  explicit ProgressBar(std::FILE* stream);
  ~ProgressBar() { clear(); }
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void update(const Progress& progress);
  // Erases the line, leaving the cursor at its start. Safe to call twice.
  void clear();

 private:
  std::FILE* stream_;
  std::size_t width_;
  std::size_t drawn_ = 0;  // characters on the line now
};

}  // namespace dsim::cli
