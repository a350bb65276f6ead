#include "cli/interrupt.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>

namespace dsim::cli {
namespace {

int pipe_fds[2] = {-1, -1};
struct sigaction previous_int {}, previous_usr1 {}, previous_term {};
volatile std::sig_atomic_t interrupted = 0;

extern "C" void on_signal(int signal) {
  // A second Ctrl-C while the run winds down: the default action, now.
  if (signal == SIGINT) {
    if (interrupted) {
      std::signal(SIGINT, SIG_DFL);
      std::raise(SIGINT);
      return;
    }
    interrupted = 1;
  }
  const char byte = static_cast<char>(signal);
  [[maybe_unused]] auto n = write(pipe_fds[1], &byte, 1);
}

void notify(std::FILE* notice, const char* line) {
  if (notice == nullptr) return;
  std::fputs(line, notice);
  std::fflush(notice);
}

}  // namespace

StopOnInterrupt::StopOnInterrupt(std::FILE* notice, std::shared_ptr<CheckpointRequests> requests)
    : requests_(std::move(requests)) {
  if (pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) != 0) return;  // no pipe: signals kill, as before
  interrupted = 0;
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGINT, &action, &previous_int);
  sigaction(SIGUSR1, &action, &previous_usr1);
  sigaction(SIGTERM, &action, &previous_term);
  watcher_ = std::jthread([this, notice](std::stop_token done) {
    pollfd fd{pipe_fds[0], POLLIN, 0};
    while (!done.stop_requested()) {
      if (poll(&fd, 1, 100) <= 0) continue;
      char byte;
      if (read(pipe_fds[0], &byte, 1) != 1) continue;
      const int signal = static_cast<unsigned char>(byte);
      if (signal == SIGUSR1) {
        if (requests_ == nullptr) continue;
        notify(notice, "dsim: SIGUSR1: a checkpoint at the next quiet point\n");
        requests_->checkpoint();
      } else if (signal == SIGTERM && requests_ != nullptr) {
        notify(notice, "dsim: terminated: writing a checkpoint at the next quiet point, then "
                       "stopping\n");
        terminated_.store(true);
        requests_->checkpoint_and_stop();
      } else {
        notify(notice, signal == SIGTERM
                           ? "dsim: terminated: stopping at the next quiet point\n"
                           : "dsim: interrupted: stopping at the next quiet point (Ctrl-C "
                             "again to end at once)\n");
        if (signal == SIGTERM) terminated_.store(true);
        source_.request_stop();
      }
    }
  });
}

StopOnInterrupt::~StopOnInterrupt() {
  if (pipe_fds[0] < 0) return;
  watcher_.request_stop();
  watcher_.join();
  sigaction(SIGINT, &previous_int, nullptr);
  sigaction(SIGUSR1, &previous_usr1, nullptr);
  sigaction(SIGTERM, &previous_term, nullptr);
  close(pipe_fds[0]);
  close(pipe_fds[1]);
  pipe_fds[0] = pipe_fds[1] = -1;
}

}  // namespace dsim::cli
