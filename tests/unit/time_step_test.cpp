// Simulated time that would stop advancing is an error, not a silent loop;
// the thread count is capped, and threads beyond the cores are a warning.
#include <gtest/gtest.h>

#include <string>

#include "dsim/dsim.hpp"

namespace {

// Leaps far out (to 1e18, where doubles step by 128), then ticks with a
// small delay that time cannot represent.
struct Leaper {
  struct State {
    std::uint64_t ticks = 0;
  };
  struct Tick {
    static constexpr std::string_view dsim_name = "test.leaper_tick";
  };
  using Events = dsim::Events<Tick>;
  static void declare(dsim::ParamSpec& p) { p.add("step", 1.0, "delay after the leap"); }
  explicit Leaper(dsim::Setup& s) : step_(s.param_real("step")) {}
  void init(State&, dsim::Context& ctx) const { ctx.send(ctx.self(), Tick{}, 1e18); }
  void on(State& s, const Tick&, dsim::Context& ctx) const {
    ++s.ticks;
    ctx.send(ctx.self(), Tick{}, step_);
  }
  double step_;
};

class TimeStep : public ::testing::Test {
 protected:
  void SetUp() override { registry_.add<Leaper>("leaper", "test leaper"); }
  dsim::ModelSpec spec(std::string sync, std::uint32_t threads, double step) {
    dsim::ModelSpec s;
    s.simulation.end_time = 2e18;
    s.simulation.sync = std::move(sync);
    s.simulation.threads = threads;
    s.groups.push_back({"l", "leaper", 4, {{"step", dsim::ParamValue(step)}}, {}, {}});
    return s;
  }
  dsim::Registry registry_;
};

TEST_F(TimeStep, ADelayLostToRoundingIsAnErrorOnEveryEngine) {
  for (const auto& [sync, threads] :
       {std::pair<std::string, std::uint32_t>{"sequential", 1}, {"conservative", 2},
        {"optimistic", 2}}) {
    dsim::Simulation sim(spec(sync, threads, 1.0), registry_);
    try {
      sim.run();
      FAIL() << sync << ": ran on";
    } catch (const dsim::Error& e) {
      const std::string what = e.what();
      EXPECT_EQ(e.kind(), dsim::Error::Kind::kRuntime) << sync;
      EXPECT_NE(what.find("entity l[0] (id 0) at time 1e+18"), std::string::npos) << sync << ": " << what;
      EXPECT_NE(what.find("with delay 1, which does not advance simulated time"),
                std::string::npos)
          << what;
      EXPECT_NE(what.find("smallest step is 128"), std::string::npos) << what;
    }
  }
}

TEST_F(TimeStep, ADelayTimeCanRepresentRuns) {
  auto s = spec("sequential", 1, 256.0);
  s.simulation.end_time = 1e18 + 4096;
  dsim::Simulation sim(std::move(s), registry_);
  EXPECT_NO_THROW(sim.run());
}

TEST_F(TimeStep, ThreadsAreCappedAndBeyondTheCoresAWarning) {
  dsim::Environment env;
  env.machine.cores = 2;
  env.machine.memory_bytes = std::uint64_t{1} << 30;
  auto many = spec("conservative", 100000, 1.0);
  many.groups[0].count = 200000;
  try {
    dsim::Simulation sim(std::move(many), registry_, env);
    sim.plan();
    FAIL() << "planned 100000 threads";
  } catch (const dsim::Error& e) {
    EXPECT_EQ(e.kind(), dsim::Error::Kind::kInput);
    EXPECT_NE(std::string(e.what()).find("simulation.threads = 100000: at most 1024"),
              std::string::npos)
        << e.what();
  }
  dsim::Simulation four(spec("conservative", 4, 1.0), registry_, env);
  ASSERT_EQ(four.plan().warnings.size(), 1u);
  EXPECT_NE(four.plan().warnings[0].find("more than the 2 cores"), std::string::npos);
  dsim::Simulation two(spec("conservative", 2, 1.0), registry_, env);
  EXPECT_TRUE(two.plan().warnings.empty());
}

}  // namespace
