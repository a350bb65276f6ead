// Signals for `dsim run` and `dsim resume`, for the run's span. The library
// installs no signal handler (DESIGN.md inv. 9): the program does, here.
//  - SIGINT (Ctrl-C): the first asks the run to stop at its next quiet point
//    (RunOptions::stop), so it ends cleanly with no result written; a second
//    ends the process at once.
//  - SIGUSR1: a checkpoint at the next quiet point; the run goes on.
//  - SIGTERM: a checkpoint at the next quiet point, then a stop
//    (CheckpointRequests::checkpoint_and_stop); the program exits with
//    kExitCheckpointed. The batch-system pattern: `--signal=B:USR1@60`.
//    Without checkpoints (no directory), SIGTERM stops like Ctrl-C.
//
// Thread safety: the handler only writes one byte to a pipe; a watcher
// thread reads it and makes the request.
#pragma once

#include <cstdio>
#include <memory>
#include <stop_token>
#include <thread>

#include "dsim/simulation.hpp"

namespace dsim::cli {

class StopOnInterrupt {
 public:
  // Installs the handlers and starts the watcher. `notice` (stderr, say;
  // null: silent) gets one line when a signal arrives. `requests`: where
  // SIGUSR1 and SIGTERM go (null: SIGUSR1 is ignored, SIGTERM stops).
  StopOnInterrupt(std::FILE* notice, std::shared_ptr<CheckpointRequests> requests = nullptr);
  // Restores the previous handlers.
  ~StopOnInterrupt();
  StopOnInterrupt(const StopOnInterrupt&) = delete;
  StopOnInterrupt& operator=(const StopOnInterrupt&) = delete;

  std::stop_token token() const { return source_.get_token(); }
  // Whether SIGTERM arrived (and was turned into checkpoint_and_stop()).
  bool terminated() const { return terminated_.load(); }

 private:
  std::stop_source source_;
  std::shared_ptr<CheckpointRequests> requests_;
  std::atomic<bool> terminated_{false};
  std::jthread watcher_;
};

// The exit status of a run stopped by Ctrl-C (128 + SIGINT).
inline constexpr int kExitInterrupted = 130;
// The exit status of a run stopped by SIGTERM after it wrote a checkpoint to
// resume from (EX_TEMPFAIL: "try again later"); without checkpoints, 143
// (128 + SIGTERM).
inline constexpr int kExitCheckpointed = 75;
inline constexpr int kExitTerminated = 143;

}  // namespace dsim::cli
