#include "cli/serve.hpp"

#include <fmt/format.h>
#include <signal.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <memory>

#include "dsim/message.hpp"
#include "dsim/output.hpp"

#ifndef DSIM_VERSION
#define DSIM_VERSION "unknown"
#endif

namespace dsim::cli {

viz::DashboardServerOptions dashboard_options(const DashboardFlags& flags,
                                              const std::string& option) {
  viz::DashboardServerOptions o;
  o.address = viz::parse_dashboard_address(flags.address, option);
  o.version = DSIM_VERSION;
  if (!viz::is_loopback(o.address.host) && !flags.remote)
    throw Error(fmt::format("{}: {} is not a loopback address: anyone who can reach it would "
                            "see the run; to serve it there, add --dashboard-remote (every "
                            "request then needs the access token)",
                            option, clip(o.address.host)),
                Error::Kind::kInput);
  if (!flags.token.empty()) {
    if (flags.token.size() < 16 || !std::all_of(flags.token.begin(), flags.token.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
                 c == '~';
        }))
      throw Error(
          "--dashboard-token: use at least 16 characters of letters, digits, '-', '_', "
          "'.' or '~'",
          Error::Kind::kInput);
    o.token = flags.token;
  } else if (flags.remote) {
    o.token = viz::generate_token();
  }
  return o;
}

namespace {

bool looks_like_address(const std::string& text) {
  if (text.empty() || text[0] == '-') return false;
  std::error_code ec;
  if (std::filesystem::exists(text, ec)) return false;  // the config, say
  if (text.find(':') != std::string::npos) return true;
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

std::vector<std::string> expand_dashboard_flag(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--") {  // the rest is not ours (dsim supervise -- ...)
      out.insert(out.end(), args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
      break;
    }
    if (args[i] == "--dashboard" && (i + 1 == args.size() || !looks_like_address(args[i + 1]))) {
      out.push_back(std::string("--dashboard=") + kDashboardDefault);
      continue;
    }
    out.push_back(args[i]);
  }
  return out;
}

int serve_command(const ServeOptions& options, std::FILE* err) {
  std::vector<output::ResultDirectory> results;
  std::vector<std::string> names;
  for (const auto& dir : options.dirs) {
    results.push_back(output::read_results(dir));
    names.push_back(dir);
  }
  const viz::DashboardServerOptions server_options = dashboard_options(options.flags, "--listen");
  std::vector<std::shared_ptr<viz::DashboardState>> states;
  for (std::size_t i = 0; i < results.size(); ++i) {
    const RunFigures& f = results[i].result.figures;
    viz::DashboardRun run;
    run.name = names[i];
    run.sync = f.sync;
    run.threads = f.threads;
    run.ranks = f.ranks;
    run.note = "A finished result (" + results[i].path.string() + "), written by dsim " +
               results[i].dsim_version;
    auto state = std::make_shared<viz::DashboardState>(std::move(run));
    state->show(results[i].result, names, i);
    states.push_back(std::move(state));
  }
  // SIGINT and SIGTERM are taken by sigwait() below: blocked here, before
  // the server's threads start (they inherit the mask).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  viz::DashboardServer server(server_options, states);
  std::fprintf(err, "dsim: serving %zu result%s at %s (Ctrl-C ends)\n", states.size(),
               states.size() == 1 ? "" : "s", server.url().c_str());
  std::fflush(err);
  int signal = 0;
  sigwait(&signals, &signal);
  server.stop();
  return 0;
}

}  // namespace dsim::cli
