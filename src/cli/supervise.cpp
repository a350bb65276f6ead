#include "cli/supervise.hpp"

#include <fmt/format.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <thread>

#include "cli/interrupt.hpp"
#include "dsim/message.hpp"
#include "dsim/types.hpp"

namespace dsim::cli {
namespace {

constexpr int kExitInput = 2;

std::atomic<pid_t> child_pid{0};
std::atomic<int> forwarded{0};  // the last SIGINT or SIGTERM passed on to the child

extern "C" void forward_signal(int signal) {
  const pid_t pid = child_pid.load();
  if (signal == SIGINT || signal == SIGTERM) forwarded.store(signal);
  if (pid > 0) kill(pid, signal);
}

// "killed by signal 9 (Killed)", "exited with status 1".
std::string describe_status(int status) {
  if (WIFSIGNALED(status))
    return fmt::format("killed by signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
  return fmt::format("exited with status {}", WEXITSTATUS(status));
}

// Starts `argv` as a child; returns its pid. Throws dsim::Error when it
// cannot (the program is not found: an input error).
pid_t start(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0)
    throw Error(fmt::format("supervise: cannot start '{}': {}", clip(argv.front()),
                            std::strerror(errno)),
                Error::Kind::kRuntime);
  const pid_t pid = fork();
  if (pid < 0) {
    close(report[0]);
    close(report[1]);
    throw Error(fmt::format("supervise: cannot start '{}': {}", clip(argv.front()),
                            std::strerror(errno)),
                Error::Kind::kRuntime);
  }
  if (pid == 0) {
    close(report[0]);
    // The child gets the default dispositions back.
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    std::signal(SIGUSR1, SIG_DFL);
    execvp(args[0], args.data());
    const int err = errno;
    [[maybe_unused]] auto n = write(report[1], &err, sizeof err);
    _exit(127);
  }
  close(report[1]);
  int err = 0;
  const auto n = read(report[0], &err, sizeof err);
  close(report[0]);
  if (n == static_cast<ssize_t>(sizeof err)) {
    int status = 0;
    waitpid(pid, &status, 0);
    throw Error(fmt::format("supervise: cannot run '{}': {}", clip(argv.front()),
                            std::strerror(err)));
  }
  return pid;
}

}  // namespace

std::size_t restart_point(const std::vector<std::string>& command) {
  for (std::size_t i = 0; i + 1 < command.size(); ++i) {
    if (std::filesystem::path(command[i]).filename() != "dsim") continue;
    if (command[i + 1] == "run" || command[i + 1] == "resume") return i + 2;
  }
  throw Error(
      "supervise: the command must run 'dsim run ...' or 'dsim resume ...' (e.g. dsim "
      "supervise -- mpirun -np 4 dsim run model.toml); found no such words in it");
}

int supervise(const SuperviseOptions& options, std::FILE* err) {
  struct sigaction action {}, old_int {}, old_term {}, old_usr1 {};
  action.sa_handler = forward_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGINT, &action, &old_int);
  sigaction(SIGTERM, &action, &old_term);
  sigaction(SIGUSR1, &action, &old_usr1);
  const auto restore = [&] {
    sigaction(SIGINT, &old_int, nullptr);
    sigaction(SIGTERM, &old_term, nullptr);
    sigaction(SIGUSR1, &old_usr1, nullptr);
  };

  double delay = options.restart_delay;
  for (int restart = 0;; ++restart) {
    std::vector<std::string> argv = options.command;
    if (restart > 0) {
      const auto at = argv.begin() + static_cast<std::ptrdiff_t>(options.insert_at);
      argv.insert(at, {"--resume-latest", "--restart-count", std::to_string(restart)});
    }
    int status = 0;
    try {
      child_pid.store(start(argv));
    } catch (...) {
      restore();
      throw;
    }
    while (waitpid(child_pid.load(), &status, 0) < 0 && errno == EINTR) {
    }
    child_pid.store(0);

    const bool exited = WIFEXITED(status);
    const int code = exited ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (exited && code == 0) break;
    if (exited && code == kExitInput) {
      restore();
      return code;  // the child said why; it would say it again
    }
    const int by_user = forwarded.load();
    if (by_user != 0 || code == kExitInterrupted) {
      restore();
      if (by_user == SIGTERM) return code == kExitCheckpointed ? code : kExitTerminated;
      return kExitInterrupted;
    }
    if (restart >= options.max_restarts) {
      std::fprintf(err, "dsim: supervise: the run %s; no restarts left (%d done)\n",
                   describe_status(status).c_str(), restart);
      std::fflush(err);
      restore();
      return exited ? code : 1;
    }
    std::fprintf(err,
                 "dsim: supervise: the run %s; restart %d of %d from the latest checkpoint in "
                 "%g s\n",
                 describe_status(status).c_str(), restart + 1, options.max_restarts, delay);
    std::fflush(err);
    std::this_thread::sleep_for(std::chrono::duration<double>(delay));
    if (forwarded.load() != 0) {  // stopped while waiting to restart
      restore();
      return forwarded.load() == SIGTERM ? kExitTerminated : kExitInterrupted;
    }
    delay = std::min(60.0, delay * 2);
  }
  restore();
  return 0;
}

}  // namespace dsim::cli
