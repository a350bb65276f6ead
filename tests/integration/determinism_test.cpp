// DESIGN.md invariant 1, for every reference model: the results files
// (results.csv, results.json, series.csv) are bit-identical to the sequential
// run's under every sync mode, thread count and partitioner.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "dsim/dsim.hpp"
#include "stats/output.hpp"

namespace {

struct ModelCase {
  std::string name;
  std::string config;                  // relative to the source dir
  std::vector<std::string> overrides;  // shrink it to test size; lookaheads > 0
};

// Queueing networks declare zero-lookahead links (a job moves on at once);
// for the parallel matrix each link gets a lookahead and each block a matching
// transfer delay, so conservative sync may split stations over threads.
std::vector<std::string> queueing(std::vector<std::string> extra) {
  extra.push_back("simulation.end_time=3000");
  return extra;
}

std::vector<ModelCase> cases() {
  return {
      {"phold", "models/phold/phold.toml",
       {"simulation.end_time=40", "entities.phold.count=2000"}},
      {"phold_remote05", "models/phold/phold_remote05.toml",
       {"simulation.end_time=30", "entities.phold.count=2000"}},
      {"epidemic", "models/epidemic/epidemic.toml",
       {"simulation.end_time=60", "entities.people.count=3000"}},
      {"mm1", "models/queueing/mm1.toml",
       queueing({"links.0.lookahead=0.5", "links.1.lookahead=0.5",
                 "entities.arrivals.params.transfer=0.5", "entities.queue.params.transfer=0.5"})},
      {"tandem", "models/queueing/tandem.toml",
       queueing({"links.0.lookahead=0.25", "links.1.lookahead=0.25", "links.2.lookahead=0.25",
                 "links.3.lookahead=0.25", "entities.arrivals.params.transfer=0.25",
                 "entities.station1.params.transfer=0.25",
                 "entities.station2.params.transfer=0.25",
                 "entities.station3.params.transfer=0.25"})},
  };
}

void PrintTo(const ModelCase& c, std::ostream* os) { *os << c.name; }

struct Files {
  std::string csv, json, series;
  std::uint64_t events = 0;
};

Files run_case(const ModelCase& c, const std::vector<std::string>& layout) {
  std::vector<std::string> overrides = c.overrides;
  overrides.insert(overrides.end(), layout.begin(), layout.end());
  dsim::Registry registry;
  dsim::register_builtins(registry);
  auto spec = dsim::load_model(std::string(DSIM_SOURCE_DIR) + "/" + c.config, overrides);
  dsim::validate(spec, registry);
  dsim::Simulation sim(std::move(spec), registry);
  auto r = sim.run();
  return {dsim::output::results_csv(r), dsim::output::results_json(r),
          dsim::output::series_csv(r), r.figures.events_processed};
}

const Files& reference(const ModelCase& c) {
  static std::mutex mu;
  static std::map<std::string, Files> cache;
  std::lock_guard lock(mu);
  auto it = cache.find(c.name);
  if (it == cache.end())
    it = cache.emplace(c.name, run_case(c, {"simulation.sync=\"sequential\""})).first;
  return it->second;
}

using Param = std::tuple<ModelCase, std::string, std::uint32_t, std::string>;

class Determinism : public ::testing::TestWithParam<Param> {};

TEST_P(Determinism, MatchesSequentialBitForBit) {
  const auto& [c, sync, threads, partitioner] = GetParam();
  const Files& ref = reference(c);
  ASSERT_GT(ref.events, 1000u) << "the case is too small to mean anything";
  const Files got = run_case(c, {"simulation.sync=\"" + sync + "\"",
                                 "simulation.threads=" + std::to_string(threads),
                                 "simulation.partitioner=\"" + partitioner + "\""});
  EXPECT_EQ(got.events, ref.events);
  EXPECT_EQ(got.csv, ref.csv);
  EXPECT_EQ(got.json, ref.json);
  EXPECT_EQ(got.series, ref.series);
}

INSTANTIATE_TEST_SUITE_P(
    Matrix, Determinism,
    ::testing::Combine(::testing::ValuesIn(cases()), ::testing::Values("conservative", "auto"),
                       ::testing::Values(1u, 2u, 3u, 4u, 8u),
                       ::testing::Values("block", "round_robin", "graph")),
    [](const ::testing::TestParamInfo<Param>& info) {
      return std::get<0>(info.param).name + "_" + std::get<1>(info.param) + "_t" +
             std::to_string(std::get<2>(info.param)) + "_" + std::get<3>(info.param);
    });

}  // namespace
