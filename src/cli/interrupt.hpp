// Ctrl-C for `dsim run`: the first SIGINT asks the run to stop at its next
// quiet point (RunOptions::stop), so it ends cleanly with no result written;
// a second one ends the process at once. The library installs no signal
// handler (DESIGN.md inv. 9): the program does, here, for the run's span.
//
// Thread safety: the handler only writes one byte to a pipe; a watcher
// thread reads it and requests the stop.
#pragma once

#include <stop_token>
#include <thread>

namespace dsim::cli {

class StopOnInterrupt {
 public:
  // Installs the SIGINT handler and starts the watcher. `notice` (stderr,
  // say; null: silent) gets one line when the first Ctrl-C arrives.
  explicit StopOnInterrupt(std::FILE* notice);
  // Restores the previous handler.
  ~StopOnInterrupt();
  StopOnInterrupt(const StopOnInterrupt&) = delete;
  StopOnInterrupt& operator=(const StopOnInterrupt&) = delete;

  std::stop_token token() const { return source_.get_token(); }

 private:
  std::stop_source source_;
  std::jthread watcher_;
};

// The exit status of a run stopped by Ctrl-C (128 + SIGINT).
inline constexpr int kExitInterrupted = 130;

}  // namespace dsim::cli
