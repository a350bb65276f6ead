// The dashboard on the command line: `dsim run --dashboard [ADDR:PORT]`
// (its flags, checked here) and `dsim serve RESULTS_DIR...` (finished
// results on the same page, until Ctrl-C). The server and the page are
// src/viz/dashboard.*.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "viz/dashboard.hpp"

namespace dsim::cli {

// The address when --dashboard is given without one.
inline constexpr const char* kDashboardDefault = "127.0.0.1:8050";

struct DashboardFlags {
  std::string address;  // empty: no dashboard
  bool remote = false;  // --dashboard-remote: a non-loopback address is allowed
  std::string token;    // --dashboard-token (empty: generated when remote)
};

// The server's options for `flags`, `option` naming the address's flag.
// Throws dsim::Error (input) naming the address when it is not loopback and
// `remote` is not set, or when the address or token is malformed. A remote
// dashboard without a token gets one from the kernel's CSPRNG.
viz::DashboardServerOptions dashboard_options(const DashboardFlags& flags,
                                              const std::string& option);

// Gives a bare `--dashboard` (last, or followed by another option or by
// something that is no ADDR:PORT, such as the config) its default address:
// `--dashboard=127.0.0.1:8050`, so the option always takes one value.
std::vector<std::string> expand_dashboard_flag(const std::vector<std::string>& args);

struct ServeOptions {
  std::vector<std::string> dirs;
  DashboardFlags flags;  // flags.address: --listen
};

// dsim serve: reads every directory (dsim::output::read_results), serves
// them until SIGINT or SIGTERM, prints the URL on `err`. Returns 0.
int serve_command(const ServeOptions& options, std::FILE* err);

}  // namespace dsim::cli
