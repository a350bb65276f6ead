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

// Queueing networks declare zero-lookahead links (a job moves on at once).
// For the parallel matrix every link gets lookahead `transfer` and every block
// a matching `transfer` delay, so conservative sync may split the stations
// over threads; the sequential reference runs the same modified model.
struct ModelCase {
  std::string name;
  std::string config;                  // relative to the source dir
  std::vector<std::string> overrides;  // shrink it to test size
  double transfer = 0;                 // > 0: queueing network, see above
};

std::vector<ModelCase> cases() {
  const std::vector<std::string> queueing_length = {"simulation.end_time=3000"};
  std::vector<ModelCase> out = {
      {"phold", "models/phold/phold.toml",
       {"simulation.end_time=40", "entities.phold.count=2000"}},
      {"phold_remote05", "models/phold/phold_remote05.toml",
       {"simulation.end_time=30", "entities.phold.count=2000"}},
      {"phold_la01", "models/phold/phold_la01.toml",
       {"simulation.end_time=15", "entities.phold.count=2000"}},
      {"epidemic", "models/epidemic/epidemic.toml",
       {"simulation.end_time=60", "entities.people.count=3000"}},
  };
  for (const char* q : {"mm1", "mm1_rho09", "mmc", "mmck", "tandem", "jackson"})
    out.push_back({q, std::string("models/queueing/") + q + ".toml", queueing_length, 0.25});
  return out;
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
  if (c.transfer > 0) {
    for (auto& link : spec.links) link.lookahead = c.transfer;
    for (auto& group : spec.groups) {
      const auto* type = registry.find(group.type);
      if (type != nullptr && type->params.find("transfer") != nullptr)
        group.params["transfer"] = c.transfer;
    }
  }
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
