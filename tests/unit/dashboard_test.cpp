// The dashboard's document, state, addresses and tokens (src/viz/dashboard.*),
// and its server answering on loopback (no browser: tests/scripts/dashboard.sh).
#include "viz/dashboard.hpp"

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "cli/serve.hpp"
#include "dsim/dsim.hpp"
#include "dsim/reference_models.hpp"

namespace dsim::viz {
namespace {

using nlohmann::json;

Progress sample_progress() {
  Progress p;
  p.now = 25;
  p.end_time = 100;
  p.events = 1000;
  p.wall_seconds = 2;
  p.threads = 2;
  p.blocked_share = 0.25;
  p.efficiency = 0.9;
  p.rollbacks = 7;
  p.partition_events = {600, 400};
  p.partition_busy_seconds = {1.5, 1.0};
  p.partition_blocked_seconds = {0.5, 1.0};
  p.rss_bytes = 1 << 20;
  p.peak_rss_bytes = 2 << 20;
  p.checkpoints_written = 3;
  p.series.push_back({"queue", "length", {1, 2}, {3, 4}});
  return p;
}

TEST(DashboardJson, CarriesEveryFigure) {
  DashboardRun run{"model.toml", "optimistic", 2, 1, ""};
  std::deque<DashboardSample> history;
  history.push_back({0, 0, 0, 0, 0, 1, 0});
  history.push_back({2, 25, 1000, 500, 7, 0.9, 1 << 20});
  const json doc = json::parse(dashboard_json(run, sample_progress(), history, "running", "", 5));
  EXPECT_EQ(doc["version"], 5);
  EXPECT_EQ(doc["state"], "running");
  EXPECT_FALSE(doc["final"].get<bool>());
  EXPECT_EQ(doc["run"]["name"], "model.toml");
  EXPECT_EQ(doc["run"]["sync"], "optimistic");
  EXPECT_DOUBLE_EQ(doc["now"].get<double>(), 25);
  EXPECT_DOUBLE_EQ(doc["fraction"].get<double>(), 0.25);
  EXPECT_EQ(doc["events"], 1000);
  EXPECT_DOUBLE_EQ(doc["event_rate"].get<double>(), 500);
  EXPECT_DOUBLE_EQ(doc["recent_rate"].get<double>(), 500);
  // 75 of simulated time left at 12.5 per second.
  EXPECT_DOUBLE_EQ(doc["eta_seconds"].get<double>(), 6);
  EXPECT_EQ(doc["rollbacks"], 7);
  EXPECT_DOUBLE_EQ(doc["efficiency"].get<double>(), 0.9);
  EXPECT_EQ(doc["rss_bytes"], 1 << 20);
  EXPECT_EQ(doc["peak_rss_bytes"], 2 << 20);
  EXPECT_EQ(doc["checkpoints_written"], 3);
  ASSERT_EQ(doc["partitions"].size(), 2u);
  EXPECT_EQ(doc["partitions"][1]["partition"], 1);
  EXPECT_EQ(doc["partitions"][1]["events"], 400);
  EXPECT_DOUBLE_EQ(doc["partitions"][0]["blocked_seconds"].get<double>(), 0.5);
  EXPECT_EQ(doc["history"]["wall"].size(), 2u);
  ASSERT_EQ(doc["series"].size(), 1u);
  EXPECT_EQ(doc["series"][0]["group"], "queue");
  EXPECT_EQ(doc["series"][0]["values"][1], 4);
}

TEST(DashboardJson, NamesAreDataAndTheDocumentIsOneLine) {
  DashboardRun run{"<script>alert(1)</script>\n\"x\"", "sequential", 1, 1, ""};
  Progress p;
  p.series.push_back({"</script><img src=x onerror=alert(1)>", "a\u2028b", {1}, {1}});
  p.efficiency = std::numeric_limits<double>::quiet_NaN();
  const std::string text = dashboard_json(run, p, {}, "running", "", 1);
  EXPECT_EQ(text.find('\n'), std::string::npos);  // one event-stream line
  const json doc = json::parse(text);
  EXPECT_EQ(doc["run"]["name"], "<script>alert(1)</script>\n\"x\"");
  EXPECT_EQ(doc["series"][0]["group"], "</script><img src=x onerror=alert(1)>");
  EXPECT_TRUE(doc["efficiency"].is_null());
  EXPECT_TRUE(doc["eta_seconds"].is_null());
}

TEST(DashboardState, VersionsAdvanceAndTheFinalStateStays) {
  DashboardState state({"m", "conservative", 2, 1, ""});
  const auto first = state.view();
  EXPECT_FALSE(first.final);
  Progress p = sample_progress();
  state.update(p);
  p.wall_seconds = 3;
  p.events = 1500;
  state.update(p);
  auto v = state.view();
  EXPECT_EQ(v.version, first.version + 2);
  json doc = json::parse(*v.json);
  EXPECT_EQ(doc["history"]["wall"].size(), 2u);
  EXPECT_DOUBLE_EQ(doc["recent_rate"].get<double>(), 500);

  RunResult result;
  result.end_time = 100;
  result.figures.events_processed = 4000;
  result.figures.run_seconds = 4;
  result.figures.partitions = {{1, 0, 0, 1500, 0, 1, 3, 0}, {0, 0, 0, 2500, 0, 3, 1, 0}};
  result.series.push_back({"g", "s", {50, 100}, {1, 2}});
  state.finish(result);
  v = state.view();
  EXPECT_TRUE(v.final);
  doc = json::parse(*v.json);
  EXPECT_EQ(doc["state"], "finished");
  EXPECT_EQ(doc["events"], 4000);
  EXPECT_DOUBLE_EQ(doc["fraction"].get<double>(), 1);
  EXPECT_EQ(doc["partitions"][0]["events"], 2500);  // by partition id
  EXPECT_DOUBLE_EQ(doc["blocked_share"].get<double>(), 0.5);
  EXPECT_EQ(doc["series"][0]["values"][1], 2);
  // Nothing after the end changes it.
  state.update(p);
  state.end("failed", "late");
  EXPECT_EQ(state.view().version, v.version);
  // A waiter sees the final state at once.
  EXPECT_EQ(state.wait(v.version, std::chrono::seconds(10)).version, v.version);
}

TEST(DashboardState, HistoryIsThinnedNotDropped) {
  DashboardState state({"m", "sequential", 1, 1, ""});
  Progress p;
  p.end_time = 1e9;
  for (int i = 1; i <= 5000; ++i) {
    p.wall_seconds = i;
    p.now = i;
    state.update(p);
  }
  const json doc = json::parse(*state.view().json);
  const auto& wall = doc["history"]["wall"];
  EXPECT_LE(wall.size(), DashboardState::kMaxHistory);
  EXPECT_GE(wall.size(), DashboardState::kMaxHistory / 4);
  EXPECT_DOUBLE_EQ(wall.front().get<double>(), 1);  // the start stays in view
  EXPECT_GT(wall.back().get<double>(), 4900);
}

TEST(DashboardState, WaitWakesOnUpdateAndRelease) {
  DashboardState state({"m", "sequential", 1, 1, ""});
  const auto seen = state.view().version;
  std::thread later([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    state.update(Progress{});
  });
  const auto start = std::chrono::steady_clock::now();
  EXPECT_GT(state.wait(seen, std::chrono::seconds(20)).version, seen);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  later.join();
  state.release();
  const auto now = state.view().version;
  EXPECT_EQ(state.wait(now, std::chrono::seconds(20)).version, now);  // at once
}

TEST(DashboardAddress, ParsesAndRefuses) {
  auto a = parse_dashboard_address("127.0.0.1:8050", "--dashboard");
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 8050);
  a = parse_dashboard_address("[::1]:0", "--dashboard");
  EXPECT_EQ(a.host, "::1");
  EXPECT_EQ(a.port, 0);
  a = parse_dashboard_address("9000", "--dashboard");
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 9000);
  for (const char* bad :
       {"", "host", "host:", ":80", "h:99999", "h:-1", "::1:80", "[::1]", "a b:80", "h:8x"})
    EXPECT_THROW(parse_dashboard_address(bad, "--dashboard"), Error) << bad;
  try {
    parse_dashboard_address("nowhere:port", "--dashboard");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("nowhere:port"), std::string::npos);
    EXPECT_EQ(e.kind(), Error::Kind::kInput);
  }
}

TEST(DashboardAddress, Loopback) {
  for (const char* yes : {"127.0.0.1", "127.1.2.3", "localhost", "::1"})
    EXPECT_TRUE(is_loopback(yes)) << yes;
  for (const char* no : {"0.0.0.0", "::", "10.0.0.1", "127.0.0.1.evil.com", "127.0.0",
                         "127.0.0.256", "localhost.evil.com", "128.0.0.1", ""})
    EXPECT_FALSE(is_loopback(no)) << no;
}

TEST(DashboardToken, GeneratedAndChecked) {
  const std::string t = generate_token();
  EXPECT_EQ(t.size(), 32u);
  EXPECT_NE(t, generate_token());
  EXPECT_TRUE(token_accepted("", "", ""));
  EXPECT_TRUE(token_accepted(t, "Bearer " + t, ""));
  EXPECT_TRUE(token_accepted(t, "bearer " + t, ""));
  EXPECT_TRUE(token_accepted(t, "", t));
  EXPECT_FALSE(token_accepted(t, "", ""));
  EXPECT_FALSE(token_accepted(t, "Bearer " + t.substr(1), ""));
  EXPECT_FALSE(token_accepted(t, t, ""));  // no scheme
  EXPECT_FALSE(token_accepted(t, "", t + "x"));
}

TEST(DashboardFlags, NonLoopbackNeedsTheFlagAndGetsAToken) {
  cli::DashboardFlags f;
  f.address = "0.0.0.0:8050";
  try {
    cli::dashboard_options(f, "--dashboard");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("0.0.0.0"), std::string::npos);
  }
  f.remote = true;
  EXPECT_EQ(cli::dashboard_options(f, "--dashboard").token.size(), 32u);
  f.token = "short";
  EXPECT_THROW(cli::dashboard_options(f, "--dashboard"), Error);
  f.token = "a-long-enough-token-0123";
  EXPECT_EQ(cli::dashboard_options(f, "--dashboard").token, f.token);
  f = {};
  f.address = "127.0.0.1:0";
  EXPECT_TRUE(cli::dashboard_options(f, "--dashboard").token.empty());
}

TEST(DashboardFlags, BareFlagTakesTheDefault) {
  using V = std::vector<std::string>;
  EXPECT_EQ(cli::expand_dashboard_flag(V{"dsim", "run", "m.toml", "--dashboard"}),
            (V{"dsim", "run", "m.toml", "--dashboard=127.0.0.1:8050"}));
  EXPECT_EQ(cli::expand_dashboard_flag(V{"dsim", "run", "--dashboard", "-t", "2"}),
            (V{"dsim", "run", "--dashboard=127.0.0.1:8050", "-t", "2"}));
  EXPECT_EQ(cli::expand_dashboard_flag(V{"dsim", "run", "--dashboard", "0.0.0.0:80"}),
            (V{"dsim", "run", "--dashboard", "0.0.0.0:80"}));
  EXPECT_EQ(cli::expand_dashboard_flag(V{"dsim", "run", "--dashboard", "9000"}),
            (V{"dsim", "run", "--dashboard", "9000"}));
  EXPECT_EQ(cli::expand_dashboard_flag(V{"dsim", "run", "--dashboard", "model.toml"}),
            (V{"dsim", "run", "--dashboard=127.0.0.1:8050", "model.toml"}));
}

TEST(DashboardServer, ServesRefusesAndStreams) {
  auto state = std::make_shared<DashboardState>(DashboardRun{"m", "sequential", 1, 1, ""});
  DashboardServerOptions o;
  o.address = {"127.0.0.1", 0};
  o.token = "test-token-0123456789";
  DashboardServer server(o, {state});
  ASSERT_GT(server.port(), 0);
  EXPECT_NE(server.url().find("?token=test-token-0123456789"), std::string::npos);
  httplib::Client client("127.0.0.1", server.port());
  auto res = client.Get("/api/status");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  res = client.Get("/api/status?token=wrong-token-0123456789");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  res = client.Get("/api/status", {{"Authorization", "Bearer test-token-0123456789"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(json::parse(res->body)["state"], "starting");
  res = client.Get("/?token=test-token-0123456789");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_NE(res->body.find("uPlot"), std::string::npos);
  EXPECT_NE(res->get_header_value("Content-Security-Policy").find("connect-src 'self'"),
            std::string::npos);
  res = client.Get("/api/status?run=7&token=test-token-0123456789");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);

  // The stream: the current document, then each new one, the final one last.
  std::thread run([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    state->update(sample_progress());
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    RunResult r;
    r.end_time = 100;
    state->finish(r);
  });
  std::string body;
  res = client.Get("/api/events?token=test-token-0123456789", [&](const char* data, std::size_t n) {
    body.append(data, n);
    return true;
  });
  run.join();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  std::vector<json> docs;
  for (std::size_t at = body.find("data: "); at != std::string::npos;
       at = body.find("data: ", at + 1))
    docs.push_back(json::parse(body.substr(at + 6, body.find('\n', at) - at - 6)));
  ASSERT_GE(docs.size(), 2u);
  EXPECT_EQ(docs.back()["state"], "finished");
  EXPECT_TRUE(docs.back()["final"].get<bool>());
  server.stop();
}

TEST(DashboardServer, LoopbackWithoutTokenRefusesForeignHosts) {
  auto state = std::make_shared<DashboardState>(DashboardRun{"m", "sequential", 1, 1, ""});
  DashboardServerOptions o;
  o.address = {"127.0.0.1", 0};
  DashboardServer server(o, {state});
  httplib::Client client("127.0.0.1", server.port());
  auto res = client.Get("/api/status");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  res = client.Get("/api/status", {{"Host", "evil.example:80"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 403);
}

// Progress::series (RunOptions::progress_series), what the dashboard charts
// while a run goes on: under every engine, each published series is a
// prefix of the run's final one, bit for bit, and watching changes nothing.
class LiveSeries : public ::testing::TestWithParam<std::pair<const char*, int>> {};

TEST_P(LiveSeries, ArePrefixesOfTheFinalSeriesAndChangeNothing) {
  const auto [sync, threads] = GetParam();
  Registry registry;
  register_builtins(registry);
  register_reference_models(registry);
  auto spec_of = [&] {
    auto spec =
        load_model(std::string(DSIM_SOURCE_DIR) + "/models/epidemic/epidemic.toml",
                   {"entities.people.count=20000", "simulation.sync=\"" + std::string(sync) + "\"",
                    "simulation.threads=" + std::to_string(threads)});
    validate(spec, registry);
    return spec;
  };
  RunResult plain = Simulation(spec_of(), registry).run();
  std::vector<Progress> seen;
  std::mutex mutex;
  RunOptions options;
  options.progress_series = true;
  options.progress_interval = 0;  // every publication
  options.on_progress = [&](const Progress& p) {
    std::lock_guard lock(mutex);
    seen.push_back(p);
  };
  RunResult watched = Simulation(spec_of(), registry).run(options);
  ASSERT_EQ(watched.series.size(), plain.series.size());
  for (std::size_t i = 0; i < plain.series.size(); ++i)
    EXPECT_EQ(watched.series[i].values, plain.series[i].values) << plain.series[i].stat;
  ASSERT_FALSE(seen.empty());
  std::size_t longest = 0;
  for (const Progress& p : seen) {
    ASSERT_EQ(p.series.size(), plain.series.size());
    for (std::size_t i = 0; i < p.series.size(); ++i) {
      const SeriesResult& live = p.series[i];
      const SeriesResult& final = plain.series[i];
      EXPECT_EQ(live.group, final.group);
      EXPECT_EQ(live.stat, final.stat);
      ASSERT_LE(live.values.size(), final.values.size());
      longest = std::max(longest, live.values.size());
      for (std::size_t k = 0; k < live.values.size(); ++k) {
        EXPECT_EQ(live.times[k], final.times[k]);
        ASSERT_EQ(live.values[k], final.values[k])
            << live.stat << " sample " << k << " at progress time " << p.now;
        EXPECT_LT(live.times[k], p.now + 1e-9);
      }
    }
    EXPECT_EQ(p.partition_busy_seconds.size(), p.partition_events.size());
    EXPECT_GT(p.rss_bytes, 0u);
    EXPECT_GE(p.peak_rss_bytes, p.rss_bytes);
  }
  EXPECT_GT(longest, 0u);
}

INSTANTIATE_TEST_SUITE_P(Engines, LiveSeries,
                         ::testing::Values(std::pair{"sequential", 1}, std::pair{"conservative", 2},
                                           std::pair{"optimistic", 2}),
                         [](const auto& info) {
                           return std::string(info.param.first) + "_" +
                                  std::to_string(info.param.second);
                         });

}  // namespace
}  // namespace dsim::viz
