// simulation.topology_seed and Simulation::reseeded(): a network drawn at
// random stays the same across seeds when it has its own seed, a reseeded
// Simulation shares it (and gives exactly what a Simulation built afresh
// with that seed gives), and without a topology seed the network follows
// the run's seed.
#include <gtest/gtest.h>

#include <cstring>

#include "core/model.hpp"
#include "dsim/dsim.hpp"
#include "dsim/reference_models.hpp"

namespace {

const dsim::Registry& registry() {
  static dsim::Registry* r = [] {
    auto* reg = new dsim::Registry;
    dsim::register_builtins(*reg);
    dsim::register_reference_models(*reg);
    return reg;
  }();
  return *r;
}

dsim::ModelSpec epidemic(std::vector<std::string> sets) {
  sets.push_back("entities.people.count=2000");
  sets.push_back("simulation.end_time=60");
  sets.push_back("simulation.sync=\"sequential\"");
  auto spec = dsim::load_model(std::string(DSIM_SOURCE_DIR) + "/models/epidemic/epidemic.toml", sets);
  dsim::validate(spec, registry());
  return spec;
}

bool same(const dsim::RunResult& a, const dsim::RunResult& b) {
  if (a.stats.size() != b.stats.size() || a.series.size() != b.series.size()) return false;
  for (std::size_t i = 0; i < a.stats.size(); ++i)
    for (std::size_t f = 0; f < a.stats[i].fields.size(); ++f)
      if (std::memcmp(&a.stats[i].fields[f].second, &b.stats[i].fields[f].second, sizeof(double)))
        return false;
  for (std::size_t i = 0; i < a.series.size(); ++i)
    if (a.series[i].values != b.series[i].values) return false;
  return a.figures.events_processed == b.figures.events_processed;
}

}  // namespace

TEST(TopologySeed, FixesTheNetworkAcrossSeeds) {
  const auto a = epidemic({"simulation.seed=1", "simulation.topology_seed=9"});
  const auto b = epidemic({"simulation.seed=2", "simulation.topology_seed=9"});
  const auto c = epidemic({"simulation.seed=2"});
  const dsim::detail::Model ma(a, registry()), mb(b, registry()), mc(c, registry());
  EXPECT_EQ(ma.nb_ids(), mb.nb_ids());
  EXPECT_NE(ma.nb_ids(), mc.nb_ids());
  EXPECT_FALSE(ma.graph_depends_on_seed());
  EXPECT_TRUE(mc.graph_depends_on_seed());
  // Without it the network is the one simulation.seed draws, as before.
  const auto d = epidemic({"simulation.seed=2", "simulation.topology_seed=2"});
  EXPECT_EQ(mc.nb_ids(), dsim::detail::Model(d, registry()).nb_ids());
  // A model of the same spec but its seed shares the graph itself.
  const dsim::detail::Model shared(b, registry(), &ma);
  EXPECT_EQ(shared.nb_ids().data(), ma.nb_ids().data());
}

TEST(TopologySeed, ConfigAndJson) {
  const auto spec = epidemic({"simulation.topology_seed=\"18446744073709551615\""});
  ASSERT_TRUE(spec.simulation.topology_seed);
  EXPECT_EQ(*spec.simulation.topology_seed, 18446744073709551615ULL);
  const auto back = dsim::model_from_json(dsim::to_json(spec), "recorded");
  ASSERT_TRUE(back.simulation.topology_seed);
  EXPECT_EQ(*back.simulation.topology_seed, *spec.simulation.topology_seed);
  EXPECT_FALSE(dsim::model_from_json(dsim::to_json(epidemic({})), "recorded").simulation.topology_seed);
  try {
    epidemic({"simulation.topology_seed=-3"});
    FAIL() << "a negative topology seed was accepted";
  } catch (const dsim::Error& e) {
    EXPECT_NE(std::string(e.what()).find("simulation.topology_seed"), std::string::npos) << e.what();
  }
}

TEST(Reseeded, GivesWhatAFreshSimulationGives) {
  for (const bool fixed : {false, true}) {
    std::vector<std::string> sets = {"simulation.seed=1"};
    if (fixed) sets.push_back("simulation.topology_seed=5");
    dsim::Simulation first(epidemic(sets), registry());
    first.plan();
    for (std::uint64_t seed : {2u, 3u}) {
      auto again = first.reseeded(seed);
      EXPECT_EQ(again->spec().simulation.seed, seed);
      std::vector<std::string> fresh_sets = sets;
      fresh_sets.push_back("simulation.seed=" + std::to_string(seed));
      dsim::Simulation fresh(epidemic(fresh_sets), registry());
      EXPECT_TRUE(same(again->run(), fresh.run())) << "seed " << seed << (fixed ? ", topology seed" : "");
    }
    // The one it came from still runs as itself.
    dsim::Simulation itself(epidemic(sets), registry());
    EXPECT_TRUE(same(first.run(), itself.run()));
  }
}
