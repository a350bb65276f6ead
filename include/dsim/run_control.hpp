// Run control: what a host (the dsim program, Python, a test) can do with a
// run while it goes on, at its quiet points.
//
// A quiet point is a moment where every worker thread of every process waits
// and the committed state is one consistent cut at `safe_time`: every event
// with a time below it has run and is committed (its statistics applied),
// and no later event is committed. Each engine reaches them on its own beat:
//   sequential    every 65,536 events, at a change of simulated time
//                 (never between two events of the same instant);
//   conservative  at the end of every window;
//   optimistic    after every GVT round (speculative work past GVT exists
//                 but is not committed, so it is not part of the cut).
// The host acts there:
//   - RunControl::at_quiet_point() decides to continue or to stop;
//   - a std::stop_token (RunOptions::stop) asks for a stop from any thread,
//     e.g. a Ctrl-C handler's thread;
//   - progress observers (RunOptions::on_progress) get what was published
//     at the latest quiet point, on a thread of their own.
// A stop takes effect at the next quiet point, on every process at once (the
// request travels with the round's reduction), and run() then throws
// RunStopped: no result is presented as complete.
//
//   std::stop_source stop;
//   dsim::RunOptions options;
//   options.stop = stop.get_token();
//   std::jthread watcher([&] { wait_for_ctrl_c(); stop.request_stop(); });
//   try { auto result = simulation.run(options); }
//   catch (const dsim::RunStopped& s) { /* stopped at s.safe_time() */ }
#pragma once

#include <cstdint>
#include <string>

#include "dsim/types.hpp"

namespace dsim {

struct QuietPoint {
  Time safe_time = 0;  // every event with time < safe_time is committed
  Time end_time = 0;
  std::uint64_t events = 0;  // committed events so far, over every process
  std::uint64_t index = 0;   // quiet points reached so far, this one included
  double wall_seconds = 0;   // since the event loop started
};

// Consulted at every quiet point (see above) on one thread of each process,
// while that process's workers wait: keep it short (a decision, not I/O).
// Under MPI every process has its own RunControl; a stop asked for by any
// process stops them all at the next quiet point.
//
// Thread safety: called by one thread at a time, never concurrently with
// itself; not from the thread that called run() unless the run is sequential.
class RunControl {
 public:
  enum class Decision { kContinue, kStop };
  virtual ~RunControl() = default;
  virtual Decision at_quiet_point(const QuietPoint& point) = 0;
};

// Thrown by Simulation::run() when the run was stopped (RunOptions::stop or
// a RunControl) before its end time. Every process of the run throws it.
class RunStopped : public Error {
 public:
  RunStopped(Time safe_time, const std::string& message)
      : Error(message, Kind::kRuntime), safe_time_(safe_time) {}
  // The quiet point it stopped at: every event below it was committed.
  Time safe_time() const { return safe_time_; }

 private:
  Time safe_time_;
};

}  // namespace dsim
