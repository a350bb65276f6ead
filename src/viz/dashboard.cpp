#include "viz/dashboard.hpp"

#include <fmt/format.h>
#include <httplib.h>
#include <sys/random.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>

#include "dsim/message.hpp"
#include "viz/page.hpp"
#include "viz/web_assets.hpp"

namespace dsim::viz {
namespace {

using nlohmann::json;

// Figures the page charts against wall time, as columns.
json history_json(const std::deque<DashboardSample>& history) {
  json wall = json::array(), now = json::array(), events = json::array(), rate = json::array(),
       rollbacks = json::array(), efficiency = json::array(), rss = json::array();
  for (const DashboardSample& s : history) {
    wall.push_back(s.wall);
    now.push_back(s.now);
    events.push_back(s.events);
    rate.push_back(s.rate);
    rollbacks.push_back(s.rollbacks);
    efficiency.push_back(s.efficiency);
    rss.push_back(s.rss);
  }
  return {{"wall", std::move(wall)},
          {"now", std::move(now)},
          {"events", std::move(events)},
          {"rate", std::move(rate)},
          {"rollbacks", std::move(rollbacks)},
          {"efficiency", std::move(efficiency)},
          {"rss", std::move(rss)}};
}

// Seconds until the end, from the simulated time's speed over the last ~10
// seconds of history; null when it cannot be told.
json eta_seconds(const Progress& p, const std::deque<DashboardSample>& history) {
  if (history.size() < 2) return nullptr;
  const DashboardSample& last = history.back();
  const DashboardSample* from = &history.front();
  for (const DashboardSample& s : history)
    if (last.wall - s.wall >= 10) from = &s;
  const double dt = last.wall - from->wall, dn = last.now - from->now;
  if (!(dt > 0) || !(dn > 0)) return nullptr;
  const double eta = (p.end_time - p.now) / (dn / dt);
  return std::isfinite(eta) && eta >= 0 ? json(eta) : json(nullptr);
}

}  // namespace

std::string dashboard_json(const DashboardRun& run, const Progress& p,
                           const std::deque<DashboardSample>& history, std::string_view state,
                           std::string_view message, std::uint64_t version,
                           const std::vector<std::string>& runs, std::size_t run_index) {
  const bool final = state != "running" && state != "starting";
  json partitions = json::array();
  for (std::size_t i = 0; i < p.partition_events.size(); ++i) {
    const double busy = i < p.partition_busy_seconds.size() ? p.partition_busy_seconds[i] : 0;
    const double blocked =
        i < p.partition_blocked_seconds.size() ? p.partition_blocked_seconds[i] : 0;
    partitions.push_back({{"partition", i},
                          {"events", p.partition_events[i]},
                          {"busy_seconds", busy},
                          {"blocked_seconds", blocked}});
  }
  json series = json::array();
  for (const SeriesResult& s : p.series)
    series.push_back(
        {{"group", s.group}, {"stat", s.stat}, {"times", s.times}, {"values", s.values}});
  const double fraction = p.end_time > 0 ? std::clamp(p.now / p.end_time, 0.0, 1.0) : 0.0;
  json doc = {
      {"version", version},
      {"state", state},
      {"final", final},
      {"message", message},
      {"run",
       {{"name", run.name},
        {"sync", run.sync},
        {"threads", run.threads},
        {"ranks", run.ranks},
        {"note", run.note}}},
      {"runs", runs},
      {"run_index", run_index},
      {"now", p.now},
      {"end_time", p.end_time},
      {"fraction", fraction},
      {"events", p.events},
      {"wall_seconds", p.wall_seconds},
      {"event_rate", p.wall_seconds > 0 ? p.events / p.wall_seconds : 0.0},
      {"recent_rate", history.empty() ? 0.0 : history.back().rate},
      {"eta_seconds", final ? json(0.0) : eta_seconds(p, history)},
      {"blocked_share", p.blocked_share},
      {"efficiency", p.efficiency},
      {"rolled_back", p.rolled_back},
      {"rollbacks", p.rollbacks},
      {"gvt_rounds", p.gvt_rounds},
      {"saved_bytes", p.saved_bytes},
      {"rss_bytes", p.rss_bytes},
      {"peak_rss_bytes", p.peak_rss_bytes},
      {"checkpoints_written", p.checkpoints_written},
      {"partitions", std::move(partitions)},
      {"history", history_json(history)},
      {"series", std::move(series)},
  };
  // One line (an event-stream record), names with bad UTF-8 replaced.
  return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

Progress progress_of(const RunResult& result) {
  const RunFigures& f = result.figures;
  Progress p;
  p.now = p.end_time = result.end_time;
  p.events = f.events_processed;
  p.wall_seconds = f.run_seconds;
  p.threads = f.threads;
  p.rolled_back = f.events_rolled_back;
  p.efficiency = f.efficiency;
  p.rollbacks = f.rollbacks_primary + f.rollbacks_secondary;
  p.gvt_rounds = f.gvt_rounds;
  p.saved_bytes = f.peak_saved_bytes;
  p.peak_rss_bytes = f.peak_rss_bytes;
  p.checkpoints_written = f.checkpoints_written;
  std::vector<PartitionFigures> parts = f.partitions;
  std::sort(parts.begin(), parts.end(),
            [](const auto& a, const auto& b) { return a.partition < b.partition; });
  double busy = 0, blocked = 0;
  for (const PartitionFigures& q : parts) {
    p.partition_events.push_back(q.events);
    p.partition_busy_seconds.push_back(q.busy_seconds);
    p.partition_blocked_seconds.push_back(q.blocked_seconds);
    busy += q.busy_seconds;
    blocked += q.blocked_seconds;
  }
  p.blocked_share = busy + blocked > 0 ? blocked / (busy + blocked) : 0;
  p.series = result.series;
  return p;
}

// --- DashboardState ---

DashboardState::DashboardState(DashboardRun run) : run_(std::move(run)) {
  std::lock_guard lock(mutex_);
  publish_locked("starting", "", false);
}

void DashboardState::publish_locked(std::string_view state, std::string_view message, bool final) {
  const std::uint64_t version = view_.version + 1;
  view_.json = std::make_shared<const std::string>(
      dashboard_json(run_, progress_, history_, state, message, version, runs_, run_index_));
  view_.version = version;
  view_.final = final;
}

void DashboardState::update(const Progress& progress) {
  DashboardSample s;
  s.wall = progress.wall_seconds;
  s.now = progress.now;
  s.events = static_cast<double>(progress.events);
  s.rollbacks = static_cast<double>(progress.rollbacks);
  s.efficiency = progress.efficiency;
  s.rss = static_cast<double>(progress.rss_bytes);
  {
    std::lock_guard lock(mutex_);
    if (view_.final) return;
    progress_ = progress;
    if (!history_.empty() && s.wall > history_.back().wall)
      s.rate = (s.events - history_.back().events) / (s.wall - history_.back().wall);
    if (history_.empty() || ++skipped_ >= stride_) {
      skipped_ = 0;
      history_.push_back(s);
      if (history_.size() >= kMaxHistory) {  // thin out: every other sample
        std::deque<DashboardSample> kept;
        for (std::size_t i = 0; i < history_.size(); i += 2) kept.push_back(history_[i]);
        if (kept.back().wall != history_.back().wall) kept.push_back(history_.back());
        history_ = std::move(kept);
        stride_ *= 2;
      }
    }
    publish_locked("running", "", false);
  }
  changed_.notify_all();
}

void DashboardState::finish(const RunResult& result) {
  {
    std::lock_guard lock(mutex_);
    if (view_.final) return;
    const std::uint64_t rss = progress_.rss_bytes;
    progress_ = progress_of(result);
    progress_.rss_bytes = rss;
    DashboardSample s;
    s.wall = progress_.wall_seconds;
    s.now = progress_.now;
    s.events = static_cast<double>(progress_.events);
    s.rollbacks = static_cast<double>(progress_.rollbacks);
    s.efficiency = progress_.efficiency;
    s.rss = static_cast<double>(rss);
    if (!history_.empty() && s.wall > history_.back().wall)
      s.rate = (s.events - history_.back().events) / (s.wall - history_.back().wall);
    if (history_.empty() || s.wall > history_.back().wall) history_.push_back(s);
    publish_locked("finished", "run finished", true);
  }
  changed_.notify_all();
}

void DashboardState::end(std::string_view state, std::string_view message) {
  {
    std::lock_guard lock(mutex_);
    if (view_.final) return;
    publish_locked(state, message, true);
  }
  changed_.notify_all();
}

void DashboardState::show(const RunResult& result, std::vector<std::string> runs,
                          std::size_t index) {
  {
    std::lock_guard lock(mutex_);
    progress_ = progress_of(result);
    runs_ = std::move(runs);
    run_index_ = index;
    // Two points: the start and the end of the event loop.
    history_.clear();
    DashboardSample start, end;
    end.wall = progress_.wall_seconds;
    end.now = progress_.now;
    end.events = static_cast<double>(progress_.events);
    end.rate = end.wall > 0 ? end.events / end.wall : 0;
    start.rate = end.rate;
    end.rollbacks = static_cast<double>(progress_.rollbacks);
    end.efficiency = start.efficiency = progress_.efficiency;
    end.rss = start.rss = static_cast<double>(progress_.peak_rss_bytes);
    history_ = {start, end};
    publish_locked("finished", "finished result", true);
  }
  changed_.notify_all();
}

DashboardState::View DashboardState::view() const {
  std::lock_guard lock(mutex_);
  return view_;
}

DashboardState::View DashboardState::wait(std::uint64_t seen,
                                          std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, timeout,
                    [&] { return view_.version != seen || view_.final || released_; });
  return view_;
}

void DashboardState::release() {
  {
    std::lock_guard lock(mutex_);
    released_ = true;
  }
  changed_.notify_all();
}

// --- Addresses and tokens ---

DashboardAddress parse_dashboard_address(std::string_view text, std::string_view option) {
  auto bad = [&](std::string_view why) {
    return Error(fmt::format("{}: '{}' is not ADDR:PORT ({}; e.g. 127.0.0.1:8050, [::1]:8050, "
                             "localhost:0 for any free port)",
                             option, clip(std::string(text)), why),
                 Error::Kind::kInput);
  };
  DashboardAddress a;
  std::string_view port;
  if (text.starts_with('[')) {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos) throw bad("no closing ']'");
    a.host = std::string(text.substr(1, close - 1));
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') throw bad("':' must follow ']'");
      port = text.substr(close + 2);
    } else {
      throw bad("no port");
    }
  } else if (const std::size_t colon = text.rfind(':'); colon != std::string_view::npos) {
    if (text.find(':') != colon) throw bad("an IPv6 address goes in brackets");
    a.host = std::string(text.substr(0, colon));
    port = text.substr(colon + 1);
  } else if (!text.empty() &&
             std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    a.host = "127.0.0.1";
    port = text;
  } else {
    throw bad("no port");
  }
  if (a.host.empty()) throw bad("no address");
  for (char c : a.host)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' ||
          c == '%' || c == '_'))
      throw bad("the address holds a character no host name or IP address has");
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || value > 65535)
    throw bad("the port must be a number from 0 to 65535");
  a.port = static_cast<std::uint16_t>(value);
  return a;
}

bool is_loopback(std::string_view host) {
  if (host == "localhost" || host == "::1" || host == "0:0:0:0:0:0:0:1") return true;
  // 127.0.0.0/8, written as four decimal parts.
  if (!host.starts_with("127.")) return false;
  int parts = 0;
  std::size_t at = 0;
  while (at <= host.size()) {
    const std::size_t dot = std::min(host.find('.', at), host.size());
    const std::string_view part = host.substr(at, dot - at);
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), value);
    if (part.empty() || ec != std::errc{} || end != part.data() + part.size() || value > 255)
      return false;
    ++parts;
    at = dot + 1;
  }
  return parts == 4;
}

std::string generate_token() {
  unsigned char bytes[16];
  std::size_t got = 0;
  while (got < sizeof bytes) {
    const ssize_t n = getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error("cannot read random bytes for the dashboard's token (getrandom failed)",
                  Error::Kind::kRuntime);
    }
    got += static_cast<std::size_t>(n);
  }
  std::string out;
  for (unsigned char b : bytes) out += fmt::format("{:02x}", b);
  return out;
}

bool token_accepted(std::string_view token, std::string_view authorization,
                    std::string_view query_token) {
  if (token.empty()) return true;
  auto same = [&](std::string_view given) {
    if (given.size() != token.size()) return false;
    unsigned char diff = 0;
    for (std::size_t i = 0; i < token.size(); ++i)
      diff |= static_cast<unsigned char>(given[i] ^ token[i]);
    return diff == 0;
  };
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.size() > kBearer.size() &&
      std::equal(kBearer.begin(), kBearer.end(), authorization.begin(),
                 [](char a, char b) { return std::tolower(a) == std::tolower(b); }) &&
      same(authorization.substr(kBearer.size())))
    return true;
  return !query_token.empty() && same(query_token);
}

std::string dashboard_page(std::string_view version) {
  const std::string css = std::string(inline_asset("uPlot.min.css", "</style")) + "\n" +
                          std::string(inline_asset("dashboard.css", "</style"));
  const std::string js = std::string(inline_asset("uPlot.iife.min.js", "</script")) + "\n" +
                         std::string(inline_asset("dashboard.js", "</script"));
  const std::string escaped_version = html_escape(version);
  return fill_template("dashboard.html",
              {{"version", escaped_version}, {"css", css}, {"js", js}});
}

// --- DashboardServer ---

struct DashboardServer::Impl {
  DashboardServerOptions options;
  std::vector<std::shared_ptr<DashboardState>> runs;
  std::string page;
  httplib::Server server;
  std::thread thread;
  int port = 0;
  std::mutex mutex;
  std::condition_variable streams_done;
  int streams = 0;  // guarded by mutex
  std::atomic<bool> stopping{false};

  std::shared_ptr<DashboardState> pick(const httplib::Request& req) const {
    if (!req.has_param("run")) return runs.front();
    const std::string text = req.get_param_value("run");
    std::size_t index = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), index);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size() ||
        index >= runs.size())
      return nullptr;
    return runs[index];
  }
};

namespace {

void common_headers(httplib::Response& res) {
  res.set_header("Cache-Control", "no-store");
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Referrer-Policy", "no-referrer");
}

// The host of a Host header: "127.0.0.1:8050" -> "127.0.0.1", "[::1]:80" -> "::1".
std::string_view host_of(std::string_view header) {
  if (header.starts_with('[')) {
    const std::size_t close = header.find(']');
    return close == std::string_view::npos ? header : header.substr(1, close - 1);
  }
  return header.substr(0, header.find(':'));
}

}  // namespace

DashboardServer::DashboardServer(DashboardServerOptions options,
                                 std::vector<std::shared_ptr<DashboardState>> runs)
    : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  if (runs.empty()) throw std::logic_error("DashboardServer: no run to serve");
  s.options = std::move(options);
  s.runs = std::move(runs);
  s.page = dashboard_page(s.options.version);
  const int threads = std::max(s.options.threads, 8);
  const int max_streams = threads - 4;
  s.server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  const auto timeout = s.options.write_timeout;
  s.server.set_write_timeout(timeout);
  s.server.set_read_timeout(std::chrono::seconds(5));
  // One request per connection: an idle kept-alive connection would hold
  // its thread (and the program's exit) for the keep-alive timeout.
  s.server.set_keep_alive_max_count(1);
  s.server.set_keep_alive_timeout(1);
  s.server.set_payload_max_length(4096);

  Impl* impl = &s;
  s.server.set_pre_routing_handler([impl](const httplib::Request& req, httplib::Response& res) {
    common_headers(res);
    const std::string& token = impl->options.token;
    if (token.empty()) {
      // Loopback without a token: only pages that name a loopback host (no
      // other site's page, by DNS rebinding, reads the run).
      if (!is_loopback(host_of(req.get_header_value("Host")))) {
        res.status = 403;
        res.set_content("forbidden: not a loopback host\n", "text/plain");
        return httplib::Server::HandlerResponse::Handled;
      }
    } else if (!token_accepted(token, req.get_header_value("Authorization"),
                               req.has_param("token") ? req.get_param_value("token") : "")) {
      res.status = 401;
      res.set_header("WWW-Authenticate", "Bearer");
      res.set_content(
          "unauthorized: this dashboard needs its token (?token=T or "
          "Authorization: Bearer T)\n",
          "text/plain");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (req.method != "GET" && req.method != "HEAD") {
      res.status = 405;
      res.set_content("only GET\n", "text/plain");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  s.server.Get("/", [impl](const httplib::Request&, httplib::Response& res) {
    res.set_header("Content-Security-Policy",
                   "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                   "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'");
    res.set_content(impl->page, "text/html; charset=utf-8");
  });
  s.server.Get("/api/status", [impl](const httplib::Request& req, httplib::Response& res) {
    const auto state = impl->pick(req);
    if (!state) {
      res.status = 404;
      res.set_content("no such run\n", "text/plain");
      return;
    }
    res.set_content(*state->view().json, "application/json");
  });
  s.server.Get("/api/events", [impl, max_streams](const httplib::Request& req,
                                                  httplib::Response& res) {
    const auto state = impl->pick(req);
    if (!state) {
      res.status = 404;
      res.set_content("no such run\n", "text/plain");
      return;
    }
    {
      std::lock_guard lock(impl->mutex);
      if (impl->streams >= max_streams || impl->stopping) {
        res.status = 503;
        res.set_header("Retry-After", "5");
        res.set_content("too many event streams open; /api/status still answers\n", "text/plain");
        return;
      }
      ++impl->streams;
    }
    res.set_chunked_content_provider(
        "text/event-stream",
        [impl, state, seen = std::uint64_t{0}, first = true](std::size_t,
                                                             httplib::DataSink& sink) mutable {
          const DashboardState::View view =
              first ? state->view() : state->wait(seen, std::chrono::seconds(10));
          std::string message;
          if (first) message = "retry: 2000\n\n";
          first = false;
          if (view.version == seen) {
            if (impl->stopping.load()) {
              sink.done();
              return true;
            }
            message += ": keep-alive\n\n";
          } else {
            seen = view.version;
            message += "data: ";
            message += *view.json;
            message += "\n\n";
          }
          if (!sink.write(message.data(), message.size())) return false;
          if (view.final) sink.done();
          return true;
        },
        [impl](bool) {
          {
            std::lock_guard lock(impl->mutex);
            --impl->streams;
          }
          impl->streams_done.notify_all();
        });
  });

  const std::string& host = s.options.address.host;
  if (s.options.address.port == 0) {
    s.port = s.server.bind_to_any_port(host);
    if (s.port < 0) s.port = 0;
  } else if (s.server.bind_to_port(host, s.options.address.port)) {
    s.port = s.options.address.port;
  }
  if (s.port == 0)
    throw Error(fmt::format("dashboard: cannot listen on {}:{} (the port is in use, or the "
                            "address is not one of this machine's)",
                            host, s.options.address.port),
                Error::Kind::kInput);
  s.thread = std::thread([impl] { impl->server.listen_after_bind(); });
}

DashboardServer::~DashboardServer() { stop(); }

std::uint16_t DashboardServer::port() const { return static_cast<std::uint16_t>(impl_->port); }

std::string DashboardServer::url() const {
  const std::string& host = impl_->options.address.host;
  const bool v6 = host.find(':') != std::string::npos;
  std::string url = fmt::format("http://{}{}{}:{}/", v6 ? "[" : "", host, v6 ? "]" : "", port());
  if (!impl_->options.token.empty()) url += "?token=" + impl_->options.token;
  return url;
}

void DashboardServer::stop() {
  Impl& s = *impl_;
  if (!s.thread.joinable()) return;
  // The streams send the last version and end; a viewer that does not read
  // holds its own stream at most the write timeout.
  const auto grace = s.options.write_timeout + std::chrono::milliseconds(200);
  {
    std::unique_lock lock(s.mutex);
    s.streams_done.wait_for(lock, grace, [&] { return s.streams == 0; });
  }
  s.stopping = true;
  for (const auto& r : s.runs) r->release();
  {
    std::unique_lock lock(s.mutex);
    s.streams_done.wait_for(lock, grace, [&] { return s.streams == 0; });
  }
  s.server.stop();
  s.thread.join();
}

}  // namespace dsim::viz
