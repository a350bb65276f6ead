// The run environment is handed in (DESIGN.md inv. 8, 9): the machine's
// facts decide the plan, and two Simulations run at the same time in one
// process without touching each other. (Under MPI, on split communicators:
// tests/scripts/mpi_concurrent.sh.)
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "dsim/dsim.hpp"
#include "tests/support/same_bits.hpp"
#include "dsim/reference_models.hpp"

namespace {

class ParallelEnvironment : public ::testing::Test {
 protected:
  void SetUp() override {
    dsim::register_builtins(registry_);
    dsim::register_reference_models(registry_);
  }
  dsim::ModelSpec phold(std::uint64_t seed, std::string sync, std::uint32_t threads) const {
    auto spec = dsim::load_model(std::string(DSIM_SOURCE_DIR) + "/models/phold/phold.toml",
                                 {"entities.phold.count=1024", "simulation.end_time=100",
                                  "simulation.seed=" + std::to_string(seed),
                                  "simulation.sync=\"" + sync + "\"",
                                  "simulation.threads=" + std::to_string(threads)});
    dsim::validate(spec, registry_);
    return spec;
  }
  dsim::Registry registry_;
};

using dsim::testing::expect_same_bits;

// threads = 0 means one per core: the machine handed in says how many.
TEST_F(ParallelEnvironment, MachineFactsDecideThePlan) {
  dsim::Environment env;
  env.machine.cores = 3;
  env.machine.memory_bytes = std::uint64_t{1} << 30;
  dsim::Simulation sim(phold(1, "auto", 0), registry_, env);
  EXPECT_EQ(sim.plan().threads, 3u);
  dsim::Simulation opt(phold(1, "optimistic", 0), registry_, env);
  EXPECT_EQ(opt.plan().memory_limit, std::uint64_t{1} << 29);  // half of what it may use
}

TEST_F(ParallelEnvironment, BadMpiProgressModeIsAnInputError) {
  dsim::Environment env;
  env.mpi_progress = "sometimes";
  try {
    dsim::Simulation sim(phold(1, "auto", 1), registry_, env);
    FAIL() << "accepted";
  } catch (const dsim::Error& e) {
    EXPECT_EQ(e.kind(), dsim::Error::Kind::kInput);
    EXPECT_NE(std::string(e.what()).find("'sometimes'"), std::string::npos) << e.what();
  }
}

// Two runs at once, each with its own threads and engine, give each the
// result it gives alone.
TEST_F(ParallelEnvironment, TwoSimulationsRunAtTheSameTime) {
  const auto alone_a = dsim::Simulation(phold(1, "sequential", 1), registry_).run();
  const auto alone_b = dsim::Simulation(phold(2, "sequential", 1), registry_).run();
  for (int round = 0; round < 3; ++round) {
    dsim::RunResult a, b;
    std::jthread ta([&] { a = dsim::Simulation(phold(1, "conservative", 2), registry_).run(); });
    std::jthread tb([&] { b = dsim::Simulation(phold(2, "optimistic", 2), registry_).run(); });
    ta.join();
    tb.join();
    expect_same_bits(alone_a, a, "a");
    expect_same_bits(alone_b, b, "b");
  }
}

}  // namespace
