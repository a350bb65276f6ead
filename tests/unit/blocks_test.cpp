// The built-in blocks in small deterministic scenarios: constant interarrival
// and service times give waits, counts and time averages known exactly;
// capacity blocking; router proportions; transfer delays and lookahead; clear
// errors for bad parameters and missing links.
#include "blocks/blocks.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "blocks/queue.hpp"
#include "dsim/dsim.hpp"

namespace {

using Params = std::map<std::string, dsim::ParamValue, std::less<>>;

dsim::ParamValue text(const char* s) { return std::string(s); }

dsim::GroupSpec group(std::string name, std::string type, Params params = {},
                      std::uint64_t count = 1) {
  dsim::GroupSpec g;
  g.name = std::move(name);
  g.type = std::move(type);
  g.count = count;
  g.params = std::move(params);
  return g;
}

dsim::LinkSpec link(std::string from, std::string to, double weight = 1.0,
                    std::optional<double> lookahead = {}) {
  dsim::LinkSpec l;
  l.from = std::move(from);
  l.to = std::move(to);
  l.topology.kind = "one_to_one";
  l.weight = weight;
  l.lookahead = lookahead;
  return l;
}

dsim::ModelSpec model(double end_time, std::vector<dsim::GroupSpec> groups,
                      std::vector<dsim::LinkSpec> links, std::uint64_t seed = 1) {
  dsim::ModelSpec spec;
  spec.simulation.end_time = end_time;
  spec.simulation.seed = seed;
  spec.simulation.threads = 1;
  spec.groups = std::move(groups);
  spec.links = std::move(links);
  return spec;
}

dsim::RunResult run(dsim::ModelSpec spec) {
  dsim::Registry registry;
  dsim::register_builtins(registry);
  dsim::validate(spec, registry);
  dsim::Simulation sim(std::move(spec), registry);
  return sim.run();
}

std::string run_error(dsim::ModelSpec spec) {
  try {
    run(std::move(spec));
  } catch (const dsim::Error& e) {
    return e.what();
  }
  return "<no error>";
}

// source -> queue -> sink with the given parameters.
dsim::ModelSpec line(double end_time, Params source, Params queue) {
  return model(end_time,
               {group("src", "source", std::move(source)), group("q", "queue", std::move(queue)),
                group("out", "sink")},
               {link("src", "q"), link("q", "out")});
}

TEST(Blocks, QueueStateIsSmall) {
  // The queue keeps no waiting line in its state (see queue.hpp): 16 bytes of
  // counts plus one free time per possible server, 528 bytes in all.
  EXPECT_EQ(sizeof(dsim::blocks::Queue::State), 528u);
  EXPECT_LE(sizeof(dsim::blocks::Queue::Done), dsim::kMaxPayloadBytes);
}

// Arrivals at 1, 2, ..., 10; service 0.5: nobody waits.
TEST(Blocks, DeterministicNoWaiting) {
  const auto r =
      run(line(10.25, {{"interarrival", text("const(1)")}}, {{"service", text("const(0.5)")}}));
  EXPECT_EQ(r.value("src", "generated", "total"), 10);
  EXPECT_EQ(r.value("q", "arrivals", "total"), 10);
  EXPECT_EQ(r.value("q", "departures", "total"), 9);  // the 10th leaves at 10.5
  EXPECT_EQ(r.value("q", "blocked", "total"), 0);
  EXPECT_EQ(r.value("q", "wait", "count"), 9);
  EXPECT_EQ(r.value("q", "wait", "max"), 0);
  EXPECT_DOUBLE_EQ(r.value("q", "sojourn", "mean"), 0.5);
  EXPECT_EQ(r.value("q", "queue_length", "max"), 0);
  EXPECT_EQ(r.value("q", "busy_servers", "max"), 1);
  // Busy over [k, k + 0.5] for k = 1..9 and [10, 10.25].
  EXPECT_NEAR(r.value("q", "busy_servers", "mean"), 4.75 / 10.25, 1e-12);
  EXPECT_NEAR(r.value("q", "in_system", "mean"), 4.75 / 10.25, 1e-12);
  EXPECT_EQ(r.value("q", "in_system", "final"), 1);
  EXPECT_EQ(r.value("out", "count", "total"), 9);
  EXPECT_DOUBLE_EQ(r.value("out", "sojourn", "mean"), 0.5);
}

// Four jobs at 1, 2, 3, 4; service 2.5 on one server: job n starts at
// 1 + 2.5 (n - 1) and waits 1.5 (n - 1).
TEST(Blocks, DeterministicQueueBuildsUp) {
  const auto r = run(line(100, {{"interarrival", text("const(1)")}, {"limit", std::int64_t{4}}},
                          {{"service", text("const(2.5)")}}));
  EXPECT_EQ(r.value("src", "generated", "total"), 4);
  EXPECT_EQ(r.value("q", "departures", "total"), 4);
  EXPECT_DOUBLE_EQ(r.value("q", "wait", "mean"), 2.25);
  EXPECT_DOUBLE_EQ(r.value("q", "wait", "max"), 4.5);
  EXPECT_DOUBLE_EQ(r.value("q", "wait", "min"), 0);
  EXPECT_DOUBLE_EQ(r.value("q", "sojourn", "mean"), 4.75);
  // Waiting: [2, 3.5], [3, 6], [4, 8.5]; busy: [1, 11].
  EXPECT_NEAR(r.value("q", "queue_length", "mean"), 9.0 / 100, 1e-12);
  EXPECT_EQ(r.value("q", "queue_length", "max"), 2);  // jobs 3 and 4 during [4, 6)
  EXPECT_NEAR(r.value("q", "busy_servers", "mean"), 10.0 / 100, 1e-12);
  EXPECT_NEAR(r.value("q", "in_system", "mean"), 19.0 / 100, 1e-12);
  EXPECT_EQ(r.value("q", "in_system", "final"), 0);
  EXPECT_DOUBLE_EQ(r.value("out", "sojourn", "mean"), 4.75);
  EXPECT_DOUBLE_EQ(r.value("out", "sojourn", "max"), 7);
}

// Two servers, service 3, arrivals at 1..6. A departure and an arrival at the
// same time: the departure goes first (the arrival is a zero-delay child of
// the source's tick), so starts are 1, 2, 4, 5, 7, 8 as in a textbook FIFO.
TEST(Blocks, DeterministicTwoServers) {
  const auto r = run(line(100, {{"interarrival", text("const(1)")}, {"limit", std::int64_t{6}}},
                          {{"servers", std::int64_t{2}}, {"service", text("const(3)")}}));
  EXPECT_EQ(r.value("q", "departures", "total"), 6);
  EXPECT_DOUBLE_EQ(r.value("q", "wait", "mean"), 1.0);
  EXPECT_DOUBLE_EQ(r.value("q", "wait", "max"), 2.0);
  EXPECT_EQ(r.value("q", "busy_servers", "max"), 2);
  EXPECT_EQ(r.value("q", "queue_length", "max"), 2);  // jobs 5 and 6 during [6, 7)
  // Busy servers integrate to 6 jobs x 3; waiting to the total wait 6.
  EXPECT_NEAR(r.value("q", "busy_servers", "mean"), 18.0 / 100, 1e-12);
  EXPECT_NEAR(r.value("q", "queue_length", "mean"), 6.0 / 100, 1e-12);
  EXPECT_DOUBLE_EQ(r.value("out", "sojourn", "max"), 5.0);
}

// One server, room for 2, service 2.5, arrivals at 1..6: jobs 3 and 5 find
// the station full; job 6 arrives as job 2 leaves and gets in.
TEST(Blocks, CapacityBlocks) {
  const auto r = run(line(100, {{"interarrival", text("const(1)")}, {"limit", std::int64_t{6}}},
                          {{"capacity", std::int64_t{2}}, {"service", text("const(2.5)")}}));
  EXPECT_EQ(r.value("q", "arrivals", "total"), 6);
  EXPECT_EQ(r.value("q", "blocked", "total"), 2);
  EXPECT_EQ(r.value("q", "departures", "total"), 4);
  EXPECT_EQ(r.value("q", "in_system", "max"), 2);
  EXPECT_DOUBLE_EQ(r.value("q", "wait", "mean"), (0 + 1.5 + 2 + 2.5) / 4);
  EXPECT_EQ(r.value("out", "count", "total"), 4);
}

TEST(Blocks, CapacityNeverExceededUnderRandomLoad) {
  const auto r = run(line(2000, {{"interarrival", text("exp(mean=0.5)")}},
                          {{"servers", std::int64_t{3}},
                           {"capacity", std::int64_t{4}},
                           {"service", text("exp(mean=2)")}}));
  EXPECT_EQ(r.value("q", "in_system", "max"), 4);
  EXPECT_EQ(r.value("q", "busy_servers", "max"), 3);
  EXPECT_EQ(r.value("q", "queue_length", "max"), 1);
  EXPECT_GT(r.value("q", "blocked", "total"), 0);
  EXPECT_EQ(r.value("q", "arrivals", "total"), r.value("q", "blocked", "total") +
                                                   r.value("q", "departures", "total") +
                                                   r.value("q", "in_system", "final"));
}

// No fixed-size line: 3000 jobs arrive within 3 time units to a slow server.
TEST(Blocks, LongWaitingLineNeedsNoCapacity) {
  const auto r =
      run(line(5000, {{"interarrival", text("const(0.001)")}, {"limit", std::int64_t{3000}}},
               {{"service", text("const(1)")}}));
  // At the last arrival (t = 3) two jobs have left and one is in service.
  EXPECT_EQ(r.value("q", "queue_length", "max"), 2997);
  EXPECT_EQ(r.value("q", "departures", "total"), 3000);
  EXPECT_NEAR(r.value("q", "wait", "max"), 2999 - 2999 * 0.001, 1e-6);
}

TEST(Blocks, SourceStartAndLimit) {
  const auto r = run(
      line(100, {{"interarrival", text("const(2)")}, {"start", 5.0}, {"limit", std::int64_t{3}}},
           {{"service", text("const(0)")}}));
  // Jobs at 7, 9, 11; zero service.
  EXPECT_EQ(r.value("out", "count", "total"), 3);
  EXPECT_EQ(r.value("out", "sojourn", "max"), 0);
  const auto early = run(
      line(10.5, {{"interarrival", text("const(2)")}, {"start", 5.0}, {"limit", std::int64_t{3}}},
           {{"service", text("const(0)")}}));
  EXPECT_EQ(early.value("out", "count", "total"), 2);
}

TEST(Blocks, TransferDelaysAndLookahead) {
  // Each hop takes `transfer`; the links declare lookahead 0.25.
  auto spec = model(
      100,
      {group("src", "source",
             {{"interarrival", text("const(1)")}, {"limit", std::int64_t{5}}, {"transfer", 0.25}}),
       group("q", "queue", {{"service", text("const(0.5)")}, {"transfer", 0.25}}),
       group("out", "sink")},
      {link("src", "q", 1.0, 0.25), link("q", "out", 1.0, 0.25)});
  const auto r = run(spec);
  EXPECT_DOUBLE_EQ(r.value("out", "sojourn", "mean"), 1.0);
  EXPECT_DOUBLE_EQ(r.value("q", "sojourn", "mean"), 0.5);

  // transfer 0 on a link with lookahead 0.25: the send is refused by name.
  spec.groups[1].params["transfer"] = 0.0;
  const std::string error = run_error(spec);
  EXPECT_NE(error.find("q[0]"), std::string::npos) << error;
  EXPECT_NE(error.find("lookahead"), std::string::npos) << error;
}

TEST(Blocks, DelayHoldsEachJob) {
  const auto r = run(model(
      100,
      {group("src", "source", {{"interarrival", text("const(1)")}, {"limit", std::int64_t{10}}}),
       group("d", "delay", {{"delay", text("const(2.5)")}}), group("out", "sink")},
      {link("src", "d"), link("d", "out")}));
  EXPECT_EQ(r.value("d", "passed", "total"), 10);
  EXPECT_DOUBLE_EQ(r.value("d", "delay", "mean"), 2.5);
  EXPECT_EQ(r.value("d", "in_system", "max"), 3);  // infinite servers: no waiting
  EXPECT_NEAR(r.value("d", "in_system", "mean"), 25.0 / 100, 1e-12);
  EXPECT_DOUBLE_EQ(r.value("out", "sojourn", "mean"), 2.5);

  const auto e =
      run(model(20000,
                {group("src", "source", {{"interarrival", text("exp(mean=1)")}}),
                 group("d", "delay", {{"delay", text("exp(mean=3)")}}), group("out", "sink")},
                {link("src", "d"), link("d", "out")}));
  // M/M/inf: mean number held = 3 (Poisson); mean delay 3. Loose checks, the
  // exact analytic tests are in queueing_test.cpp.
  EXPECT_NEAR(e.value("d", "delay", "mean"), 3.0, 0.15);
  EXPECT_NEAR(e.value("d", "in_system", "mean"), 3.0, 0.2);
}

TEST(Blocks, RouterSplitsByWeight) {
  const std::int64_t n = 40000;
  const auto r =
      run(model(1e9,
                {group("src", "source", {{"interarrival", text("exp(mean=1)")}, {"limit", n}}),
                 group("r", "router"), group("a", "sink"), group("b", "sink"), group("c", "sink")},
                {link("src", "r"), link("r", "a", 1.0), link("r", "b", 2.0), link("r", "c", 7.0)}));
  EXPECT_EQ(r.value("r", "routed", "total"), n);
  const double counts[] = {r.value("a", "count", "total"), r.value("b", "count", "total"),
                           r.value("c", "count", "total")};
  EXPECT_EQ(counts[0] + counts[1] + counts[2], n);
  const double p[] = {0.1, 0.2, 0.7};
  for (int i = 0; i < 3; ++i)  // within 4 binomial standard deviations
    EXPECT_NEAR(counts[i], n * p[i], 4 * std::sqrt(n * p[i] * (1 - p[i]))) << i;
  EXPECT_EQ(r.value("a", "sojourn", "max"), 0);
}

TEST(Blocks, SourceSplitsByWeightAcrossGroupMembers) {
  // One link per target group; a source with several out-links routes itself.
  const std::int64_t n = 20000;
  const auto r =
      run(model(1e9,
                {group("src", "source", {{"interarrival", text("const(1)")}, {"limit", n}}),
                 group("a", "sink"), group("b", "sink")},
                {link("src", "a", 3.0), link("src", "b", 1.0)}));
  EXPECT_NEAR(r.value("a", "count", "total"), 0.75 * n, 4 * std::sqrt(n * 0.75 * 0.25));
  EXPECT_EQ(r.value("a", "count", "total") + r.value("b", "count", "total"), n);
}

TEST(Blocks, SameSeedSameResults) {
  auto spec = [](std::uint64_t seed) {
    return model(
        3000,
        {group("src", "source", {{"interarrival", text("exp(mean=1)")}}),
         group("q", "queue",
               {{"servers", std::int64_t{2}}, {"service", text("gamma(shape=2, scale=0.8)")}}),
         group("r", "router"), group("out", "sink")},
        {link("src", "q"), link("q", "r"), link("r", "q", 0.1), link("r", "out", 0.9)}, seed);
  };
  const auto a = run(spec(5)), b = run(spec(5)), c = run(spec(6));
  for (const char* stat : {"wait", "sojourn"})
    for (const char* field : {"count", "mean", "max"}) {
      EXPECT_EQ(a.value("q", stat, field), b.value("q", stat, field)) << stat << field;
    }
  EXPECT_EQ(a.value("q", "queue_length", "mean"), b.value("q", "queue_length", "mean"));
  EXPECT_NE(a.value("q", "wait", "mean"), c.value("q", "wait", "mean"));
}

TEST(Blocks, NegativeDrawsCountAsZero) {
  const auto r = run(line(1000, {{"interarrival", text("normal(mean=1, sd=2)")}},
                          {{"service", text("normal(mean=0.2, sd=1)")}}));
  EXPECT_GE(r.value("q", "wait", "min"), 0);
  EXPECT_GE(r.value("q", "sojourn", "min"), 0);
  EXPECT_GT(r.value("q", "departures", "total"), 0);
}

TEST(Blocks, MissingOutgoingLinkFailsNamingTheBlock) {
  for (const char* type : {"queue", "delay", "router", "source"}) {
    SCOPED_TRACE(type);
    std::vector<dsim::GroupSpec> groups = {group("lonely", type)};
    std::vector<dsim::LinkSpec> links;
    if (std::string(type) != "source") {
      groups.insert(groups.begin(), group("src", "source"));
      links.push_back(link("src", "lonely"));
    }
    const std::string error = run_error(model(10, groups, links));
    EXPECT_NE(error.find("lonely[0]"), std::string::npos) << error;
    EXPECT_NE(error.find("has no outgoing link"), std::string::npos) << error;
  }
}

TEST(Blocks, BadParametersAreRejectedByName) {
  struct Case {
    const char* type;
    Params params;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"queue", {{"servers", std::int64_t{0}}}, "parameter 'servers' = 0 must be between 1 and 64"},
      {"queue",
       {{"servers", std::int64_t{65}}},
       "parameter 'servers' = 65 must be between 1 and 64"},
      {"queue", {{"capacity", std::int64_t{-1}}}, "parameter 'capacity' = -1 must be >= 0"},
      {"queue",
       {{"servers", std::int64_t{3}}, {"capacity", std::int64_t{2}}},
       "parameter 'capacity' = 2 must be 0 (unlimited) or at least servers (3)"},
      {"queue", {{"transfer", -1.0}}, "parameter 'transfer' = -1"},
      {"router", {{"transfer", -0.5}}, "parameter 'transfer' = -0.5"},
      {"source", {{"limit", std::int64_t{-2}}}, "parameter 'limit' = -2 must be >= 0"},
      {"source", {{"start", -1.0}}, "parameter 'start' = -1"},
      {"source",
       {{"interarrival", text("const(0)")}},
       "parameter 'interarrival' = \"const(0)\" must be > 0 when limit is 0"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.message);
    const bool is_source = std::string(c.type) == "source";
    // The block under test is group "x": src -> x -> out, or x -> out.
    std::vector<dsim::GroupSpec> groups = {group("x", c.type, c.params), group("out", "sink")};
    std::vector<dsim::LinkSpec> links = {link("x", "out")};
    if (!is_source) {
      groups.insert(groups.begin(), group("src", "source"));
      links.push_back(link("src", "x"));
    }
    const std::string error = run_error(model(10, groups, links));
    EXPECT_NE(error.find(c.message), std::string::npos) << error;
    // Where, once: the group and its type, not repeated by the block.
    EXPECT_NE(error.find("entities 'x' (type '" + std::string(c.type) + "'): parameter '"),
              std::string::npos)
        << error;
    EXPECT_EQ(error.find("group 'x'"), std::string::npos) << error;
  }
}

TEST(Blocks, BadDistributionTextIsRejected) {
  const std::string error = run_error(line(10, {{"interarrival", text("expo(mean=1)")}}, {}));
  EXPECT_NE(error.find("unknown distribution 'expo'"), std::string::npos) << error;
  EXPECT_NE(error.find("interarrival"), std::string::npos) << error;
}

}  // namespace
