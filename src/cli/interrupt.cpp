#include "cli/interrupt.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>

namespace dsim::cli {
namespace {

int pipe_fds[2] = {-1, -1};
struct sigaction previous {};

extern "C" void on_sigint(int) {
  // A second Ctrl-C while the run winds down: the default action, now.
  static volatile std::sig_atomic_t seen = 0;
  if (seen) {
    std::signal(SIGINT, SIG_DFL);
    std::raise(SIGINT);
    return;
  }
  seen = 1;
  const char byte = 1;
  [[maybe_unused]] auto n = write(pipe_fds[1], &byte, 1);
}

}  // namespace

StopOnInterrupt::StopOnInterrupt(std::FILE* notice) {
  if (pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) != 0) return;  // no pipe: Ctrl-C kills, as before
  struct sigaction action {};
  action.sa_handler = on_sigint;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGINT, &action, &previous);
  watcher_ = std::jthread([this, notice](std::stop_token done) {
    pollfd fd{pipe_fds[0], POLLIN, 0};
    while (!done.stop_requested()) {
      if (poll(&fd, 1, 100) <= 0) continue;
      char byte;
      if (read(pipe_fds[0], &byte, 1) != 1) continue;
      if (notice != nullptr) {
        std::fputs("dsim: interrupted: stopping at the next quiet point (Ctrl-C again to end "
                   "at once)\n",
                   notice);
        std::fflush(notice);
      }
      source_.request_stop();
      return;
    }
  });
}

StopOnInterrupt::~StopOnInterrupt() {
  if (pipe_fds[0] < 0) return;
  watcher_.request_stop();
  watcher_.join();
  sigaction(SIGINT, &previous, nullptr);
  close(pipe_fds[0]);
  close(pipe_fds[1]);
  pipe_fds[0] = pipe_fds[1] = -1;
}

}  // namespace dsim::cli
