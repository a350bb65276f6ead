// DESIGN.md invariant 1, for every reference model: the results files
// (results.csv, results.json, series.csv) are bit-identical to the sequential
// run's under every sync mode (conservative, auto, optimistic), thread count
// and partitioner. Optimistic runs also take models with zero-lookahead links
// between partitions, which conservative sync refuses: phold_la0 and the
// queueing networks as written (`*_zero_la`).
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "dsim/dsim.hpp"
#include "dsim/output.hpp"
#include "dsim/reference_models.hpp"

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

const char* const kQueueingModels[] = {"mm1", "mm1_rho09", "mmc", "mmck", "tandem", "jackson"};
const std::vector<std::string> kQueueingLength = {"simulation.end_time=3000"};
// Zero-lookahead queueing networks run optimistically with many rollbacks
// (every hand-off is a potential straggler): shorter runs.
const std::vector<std::string> kZeroLookaheadLength = {"simulation.end_time=1000"};

std::vector<ModelCase> cases() {
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
  for (const char* q : kQueueingModels)
    out.push_back({q, std::string("models/queueing/") + q + ".toml", kQueueingLength, 0.25});
  return out;
}

// Models whose links have lookahead 0: PHOLD with delay Exp(1), and the
// queueing networks as written.
std::vector<ModelCase> zero_lookahead_cases() {
  std::vector<ModelCase> out = {
      {"phold_la0", "models/phold/phold_la0.toml",
       {"simulation.end_time=15", "entities.phold.count=2000"}},
  };
  for (const char* q : kQueueingModels)
    out.push_back({std::string(q) + "_zero_la", std::string("models/queueing/") + q + ".toml",
                   kZeroLookaheadLength, 0});
  return out;
}

void PrintTo(const ModelCase& c, std::ostream* os) { *os << c.name; }

struct Files {
  std::string csv, json, series;
  std::uint64_t events = 0;
  dsim::RunFigures figures;
};

Files run_case(const ModelCase& c, const std::vector<std::string>& layout) {
  std::vector<std::string> overrides = c.overrides;
  overrides.insert(overrides.end(), layout.begin(), layout.end());
  dsim::Registry registry;
  dsim::register_builtins(registry);
  dsim::register_reference_models(registry);
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
          dsim::output::series_csv(r), r.figures.events_processed, r.figures};
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
  if (sync == "optimistic") {
    // It ran Time Warp (no silent fallback), and its figures add up.
    const dsim::RunFigures& f = got.figures;
    EXPECT_EQ(f.sync, "optimistic");
    EXPECT_LE(f.threads, threads);  // fewer when the model has fewer entities
    EXPECT_EQ(f.events_executed, f.events_processed + f.events_rolled_back);
    EXPECT_GT(f.gvt_rounds, 0u);
  }
}

std::string case_name(const ::testing::TestParamInfo<Param>& info) {
  return std::get<0>(info.param).name + "_" + std::get<1>(info.param) + "_t" +
         std::to_string(std::get<2>(info.param)) + "_" + std::get<3>(info.param);
}

INSTANTIATE_TEST_SUITE_P(
    Matrix, Determinism,
    ::testing::Combine(::testing::ValuesIn(cases()),
                       ::testing::Values("conservative", "auto", "optimistic"),
                       ::testing::Values(1u, 2u, 3u, 4u, 8u),
                       ::testing::Values("block", "round_robin", "graph")),
    case_name);

// Zero-lookahead links: conservative sync refuses them and auto runs them
// sequentially, so only the optimistic column is a parallel run.
INSTANTIATE_TEST_SUITE_P(
    ZeroLookahead, Determinism,
    ::testing::Combine(::testing::ValuesIn(zero_lookahead_cases()),
                       ::testing::Values("optimistic"), ::testing::Values(1u, 2u, 3u, 4u, 8u),
                       ::testing::Values("block", "round_robin", "graph")),
    case_name);

}  // namespace
