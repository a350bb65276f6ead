// The live dashboard (`dsim run --dashboard`, `dsim serve`): what a run
// shows while it goes on, kept as one JSON document, and the HTTP server
// that hands it to browsers.
//
//   auto state = std::make_shared<DashboardState>(DashboardRun{"phold.toml", ...});
//   DashboardServer server({{"127.0.0.1", 8050}, ""}, {state});
//   run_options.on_progress = [&](const Progress& p) { state->update(p); };
//   ... run ...
//   state->finish(result);  // the final figures: pages keep them
//   server.stop();
//
// Routes: GET / (the page: web/src/dashboard.*, uPlot inlined; nothing is
// fetched from elsewhere), GET /api/status (the JSON document), GET
// /api/events (server-sent events: one `data:` line with the document each
// time it changes, the last one with "final": true). With several runs
// (dsim serve DIR...), ?run=N picks one; the document lists them all.
//
// Thread safety: DashboardState may be updated by one thread (the progress
// feed's) while any number of threads read it; readers never hold its lock
// while they write to a socket, and an update never waits for a reader.
// DashboardServer's methods are called by the thread that made it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dsim/results.hpp"
#include "dsim/simulation.hpp"

namespace dsim::viz {

// What does not change while a run goes on.
struct DashboardRun {
  std::string name;  // the config file, or the result directory
  std::string sync;  // the engine's name
  std::uint32_t threads = 1;
  std::uint32_t ranks = 1;
  // A line the page shows under the title (e.g. how an MPI job is pooled).
  std::string note;
};

// One point of the run's figures against wall time (the page's history charts).
struct DashboardSample {
  double wall = 0;
  double now = 0;
  double events = 0;
  double rate = 0;  // events per second since the previous sample
  double rollbacks = 0;
  double efficiency = 1;
  double rss = 0;
};

// The document, as /api/status serves it (built by DashboardState; a free
// function for the tests). `state`: "running", "finished", "stopped",
// "failed". Non-finite numbers are written as null.
std::string dashboard_json(const DashboardRun& run, const Progress& progress,
                           const std::deque<DashboardSample>& history, std::string_view state,
                           std::string_view message, std::uint64_t version,
                           const std::vector<std::string>& runs = {}, std::size_t run_index = 0);

// The final Progress of a finished result (dsim serve, and a run's end):
// events, times, per-partition figures (every process's), efficiency,
// rollbacks, peak memory, checkpoints and the full series.
Progress progress_of(const RunResult& result);

class DashboardState {
 public:
  // History kept: at most this many samples (older ones are thinned out,
  // every other one dropped, so the whole run stays in view).
  static constexpr std::size_t kMaxHistory = 1200;

  explicit DashboardState(DashboardRun run);

  // A new progress report: a new version of the document.
  void update(const Progress& progress);
  // The run ended with `result`: the last version ("final": true).
  void finish(const RunResult& result);
  // The run ended without results ("stopped", "failed"): the last figures
  // stay, with `message`; the last version.
  void end(std::string_view state, std::string_view message);
  // A finished result shown by dsim serve (one version, final).
  void show(const RunResult& result, std::vector<std::string> runs, std::size_t index);

  struct View {
    std::uint64_t version = 0;
    std::shared_ptr<const std::string> json;
    bool final = false;
  };
  View view() const;
  // Waits until the version differs from `seen`, the document is final, or
  // release() was called, at most `timeout`; returns the current view.
  View wait(std::uint64_t seen, std::chrono::milliseconds timeout) const;
  // Wakes every wait() for good (the server is stopping).
  void release();

 private:
  void publish_locked(std::string_view state, std::string_view message, bool final);

  DashboardRun run_;
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  Progress progress_;                    // guarded by mutex_
  std::deque<DashboardSample> history_;  // guarded by mutex_
  std::size_t stride_ = 1;               // guarded by mutex_: keep every stride_-th update
  std::size_t skipped_ = 0;              // guarded by mutex_
  std::vector<std::string> runs_;        // guarded by mutex_
  std::size_t run_index_ = 0;            // guarded by mutex_
  View view_;                            // guarded by mutex_
  bool released_ = false;                // guarded by mutex_
};

// ADDR:PORT as the command line gives it: "127.0.0.1:8050", "[::1]:0",
// "localhost:8050", "0.0.0.0:9000"; PORT alone means 127.0.0.1:PORT.
struct DashboardAddress {
  std::string host;
  std::uint16_t port = 8050;
};
// Throws dsim::Error (input) naming `option` and the text when it is not one.
DashboardAddress parse_dashboard_address(std::string_view text, std::string_view option);
// Whether `host` is a loopback address (127.0.0.0/8, ::1, localhost).
bool is_loopback(std::string_view host);
// 32 hexadecimal characters from the kernel's CSPRNG (getrandom).
std::string generate_token();
// Whether a request carries `token`: as "Authorization: Bearer TOKEN" or as
// ?token=TOKEN (compared in constant time). An empty `token`: always.
bool token_accepted(std::string_view token, std::string_view authorization,
                    std::string_view query_token);
// The page: web/src/dashboard.html with its style and script and uPlot's inlined.
std::string dashboard_page(std::string_view version);

struct DashboardServerOptions {
  DashboardAddress address;
  std::string token;    // empty: none asked for (loopback only)
  std::string version;  // dsim's, in the page
  // Threads serving requests; every open event stream holds one, and at
  // most threads - 4 streams are open at once (more are refused with 503).
  int threads = 48;
  // A viewer that does not take what is written for this long is dropped
  // (its stream ends; the page reconnects if it is still there).
  std::chrono::milliseconds write_timeout{1000};
};

class DashboardServer {
 public:
  // Binds the address and serves `runs` (at least one) on threads of its
  // own. Throws dsim::Error (input) naming the address when it cannot bind.
  DashboardServer(DashboardServerOptions options,
                  std::vector<std::shared_ptr<DashboardState>> runs);
  // stop()
  ~DashboardServer();
  DashboardServer(const DashboardServer&) = delete;
  DashboardServer& operator=(const DashboardServer&) = delete;

  std::uint16_t port() const;
  // http://HOST:PORT/ (with ?token=T when there is a token).
  std::string url() const;
  // Lets every open event stream send the last version (at most about a
  // second), then closes every connection and joins the threads.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dsim::viz
