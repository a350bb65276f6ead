// PHOLD (models/phold) against an independent implementation of its rules.
#include "models/phold/phold.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <queue>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "dsim/dsim.hpp"

namespace {

struct PholdConfig {
  std::uint64_t entities = 1000;
  double end_time = 200.0;
  double remote = 0.1;
  double lookahead = 1.0;
  double mean = 1.0;
  std::int64_t start_events = 1;
};

std::string write_config(const PholdConfig& c, const std::string& name) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("dsim_phold_test_" + name + "_" + std::to_string(::getpid()) + ".toml");
  std::ofstream out(path);
  out << "[simulation]\nend_time = " << c.end_time << "\nseed = 1\nsync = \"sequential\"\n"
      << "[[entities]]\nname = \"phold\"\ntype = \"phold\"\ncount = " << c.entities << "\n"
      << "params = { start_events = " << c.start_events << ", remote = " << c.remote
      << ", lookahead = " << c.lookahead << ", mean = " << c.mean << " }\n"
      << "[[links]]\nfrom = \"phold\"\nto = \"phold\"\ntopology = \"any\"\nlookahead = "
      << c.lookahead << "\n";
  return path.string();
}

dsim::RunResult run_dsim(const PholdConfig& c, std::uint64_t seed,
                         std::vector<std::string> overrides = {}) {
  dsim::Registry registry;
  dsim::models::register_phold(registry);
  const std::string path = write_config(c, "run");
  overrides.push_back("simulation.seed=" + std::to_string(seed));
  dsim::ModelSpec spec = dsim::load_model(path, overrides);
  std::filesystem::remove(path);
  dsim::Simulation sim(std::move(spec), registry);
  return sim.run();
}

// The same rules written without dsim: one std::mt19937_64 stream for the
// whole run (not dsim's per-entity Philox streams), std distributions, a
// std::priority_queue of (time, target).
std::uint64_t independent_events(const PholdConfig& c, std::uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::exponential_distribution<double> exponential(1.0 / c.mean);
  std::bernoulli_distribution remote(c.remote);
  std::uniform_int_distribution<std::uint64_t> pick(0, c.entities - 1);
  using Event = std::pair<double, std::uint64_t>;
  std::priority_queue<Event, std::vector<Event>, std::greater<>> queue;
  for (std::uint64_t id = 0; id < c.entities; ++id)
    for (std::int64_t i = 0; i < c.start_events; ++i)
      queue.push({c.lookahead + exponential(gen), id});
  std::uint64_t events = 0;
  while (!queue.empty() && queue.top().first < c.end_time) {
    const auto [time, self] = queue.top();
    queue.pop();
    ++events;
    const std::uint64_t target = remote(gen) ? pick(gen) : self;
    queue.push({time + (c.lookahead + exponential(gen)), target});
  }
  return events;
}

double events_of(const dsim::RunResult& r) { return r.value("phold", "events", "total"); }

// Tolerance. Every event has exactly one successor, whatever its target, so
// the events form entities * start_events independent renewal processes with
// inter-event times X = lookahead + Exp(mean): mean mu = lookahead + mean,
// variance sigma^2 = mean^2. A renewal count over [0, T) has variance
// ~ sigma^2 T / mu^3 (Cox, Renewal Theory, 1962), so one run's total has
// variance V = chains * sigma^2 T / mu^3, the mean of K runs V / K, and the
// difference of two such means 2V / K. We allow 5 standard deviations of that
// difference: a false failure has odds of about 1 in 1.7 million, while an
// error of one event per entity, or a delay off by a fraction of the mean,
// moves the total by several tolerances.
TEST(Phold, EventCountMatchesIndependentLoop) {
  const PholdConfig c;  // 1000 entities, end 200, remote 0.1, delay 1 + Exp(1)
  constexpr int kRuns = 5;
  double dsim_sum = 0, independent_sum = 0;
  for (int i = 0; i < kRuns; ++i) {
    const dsim::RunResult r = run_dsim(c, 101 + i);
    EXPECT_EQ(events_of(r), static_cast<double>(r.figures.events_processed));
    dsim_sum += events_of(r);
    independent_sum += static_cast<double>(independent_events(c, 9001 + i));
  }
  const double mu = c.lookahead + c.mean, sigma2 = c.mean * c.mean;
  const double chains = static_cast<double>(c.entities) * static_cast<double>(c.start_events);
  const double v = chains * sigma2 * c.end_time / (mu * mu * mu);
  const double tolerance = 5.0 * std::sqrt(2.0 * v / kRuns);
  EXPECT_NEAR(dsim_sum / kRuns, independent_sum / kRuns, tolerance);
  // And both near the renewal-theory mean T/mu + (sigma^2 - mu^2) / (2 mu^2) per chain.
  const double expected = chains * (c.end_time / mu + (sigma2 - mu * mu) / (2 * mu * mu));
  EXPECT_NEAR(dsim_sum / kRuns, expected, 5.0 * std::sqrt(v / kRuns));
}

// Same check with several start events, a short lookahead and half the events
// remote: the count still depends only on the delays.
TEST(Phold, EventCountMatchesIndependentLoopSmallLookahead) {
  PholdConfig c;
  c.entities = 500;
  c.start_events = 2;
  c.remote = 0.5;
  c.lookahead = 0.1;
  c.mean = 0.5;
  c.end_time = 60;
  constexpr int kRuns = 5;
  double dsim_sum = 0, independent_sum = 0;
  for (int i = 0; i < kRuns; ++i) {
    dsim_sum += events_of(run_dsim(c, 7 + i));
    independent_sum += static_cast<double>(independent_events(c, 77 + i));
  }
  const double mu = c.lookahead + c.mean, sigma2 = c.mean * c.mean;
  const double chains = static_cast<double>(c.entities) * static_cast<double>(c.start_events);
  const double v = chains * sigma2 * c.end_time / (mu * mu * mu);
  EXPECT_NEAR(dsim_sum / kRuns, independent_sum / kRuns, 5.0 * std::sqrt(2.0 * v / kRuns));
}

// With remote = 0 every entity handles only its own chain, so with one start
// event and delays >= lookahead no entity can handle more than end/lookahead
// events; with remote = 1 events pile up on some entities and others go idle.
TEST(Phold, RemoteSpreadsEvents) {
  PholdConfig c;
  c.entities = 200;
  c.end_time = 100;
  c.lookahead = 1.0;
  c.mean = 0.01;  // delays just over 1: each chain handles 98-99 events
  c.remote = 0.0;
  const dsim::RunResult local = run_dsim(c, 3);
  EXPECT_GE(local.value("phold", "events", "min"), 95);
  EXPECT_LE(local.value("phold", "events", "max"), 100);
  c.remote = 1.0;
  const dsim::RunResult spread = run_dsim(c, 3);
  // Total unchanged in distribution (nearly deterministic here), but each
  // entity's share is now the number of the ~19,700 events that land on it:
  // binomial with mean ~99 and standard deviation ~10.
  EXPECT_NEAR(events_of(spread), events_of(local), 0.01 * events_of(local));
  // Below 85 or above 112 is 1.36 standard deviations out: each entity
  // misses that with odds 0.91, all 200 entities with odds ~1e-8.
  EXPECT_LT(spread.value("phold", "events", "min"), 85);
  EXPECT_GT(spread.value("phold", "events", "max"), 112);
}

TEST(Phold, SameSeedSameResultsDifferentSeedDifferentCount) {
  PholdConfig c;
  c.entities = 300;
  c.end_time = 100;
  c.remote = 0.3;
  const dsim::RunResult a = run_dsim(c, 42), b = run_dsim(c, 42), other = run_dsim(c, 43);
  ASSERT_EQ(a.stats.size(), b.stats.size());
  for (std::size_t i = 0; i < a.stats.size(); ++i) {
    EXPECT_EQ(a.stats[i].stat, b.stats[i].stat);
    EXPECT_EQ(a.stats[i].fields, b.stats[i].fields) << a.stats[i].stat;
  }
  EXPECT_EQ(a.figures.events_processed, b.figures.events_processed);
  // ~15,000 events with a standard deviation of ~61: equal counts from two
  // seeds would be a coincidence of well under 1%.
  EXPECT_NE(events_of(a), events_of(other));
}

TEST(Phold, RejectsBadParameters) {
  PholdConfig c;
  c.entities = 10;
  c.remote = 1.5;
  try {
    run_dsim(c, 1);
    FAIL() << "remote = 1.5 accepted";
  } catch (const dsim::Error& e) {
    EXPECT_NE(std::string(e.what()).find("remote"), std::string::npos) << e.what();
  }
  c.remote = 0.1;
  c.mean = 0.0;
  c.lookahead = 0.0;
  try {
    run_dsim(c, 1);
    FAIL() << "mean = 0 accepted";
  } catch (const dsim::Error& e) {
    EXPECT_NE(std::string(e.what()).find("mean"), std::string::npos) << e.what();
  }
}

}  // namespace
