// The supervisor: runs a simulation in a child process and, when the child
// dies (a signal, an out-of-memory kill, an exit that is not an input
// error), runs it again from the latest valid checkpoint, after a back-off,
// up to a number of restarts. `dsim run ... --supervise` supervises itself;
// `dsim supervise -- mpirun -np 4 dsim run ...` supervises any command that
// runs `dsim run` or `dsim resume`.
//
// A restart runs the same command with `--resume-latest --restart-count N`
// after its `run` (a `dsim run` then continues from the latest valid
// checkpoint in its checkpoint directory, or starts over when there is none;
// `dsim resume` takes the latest valid one anyway), so the final results are
// those of an uninterrupted run, and manifest.json counts the restarts.
// Each restart is one line on stderr.
//
// Never restarted: success (0), an input error (2: it would fail again), a
// run the user stopped (Ctrl-C: 130), and a child stopped by a SIGTERM the
// supervisor forwarded (75 or 143: the supervisor then exits the same way).
// SIGINT, SIGTERM and SIGUSR1 sent to the supervisor go to the child.
//
// Thread safety: one supervisor per process (it installs signal handlers).
#pragma once

#include <cstdio>
#include <string>
#include <vector>

namespace dsim::cli {

struct SuperviseOptions {
  std::vector<std::string> command;  // argv of the child; command[0] found on PATH
  // Where in `command` a restart inserts its flags (after the `run` or
  // `resume` word of the dsim invocation).
  std::size_t insert_at = 0;
  int max_restarts = 3;
  double restart_delay = 1;  // seconds before the first restart; doubles, at most 60
};

// Finds the `dsim run` or `dsim resume` in a command (an argument whose file
// name is `dsim`, followed by `run` or `resume`) and returns the index just
// after that word. Throws dsim::Error (kInput) when there is none.
std::size_t restart_point(const std::vector<std::string>& command);

// Runs the command until it succeeds or must not be restarted; returns the
// exit status to end with.
int supervise(const SuperviseOptions& options, std::FILE* err);

}  // namespace dsim::cli
