// The engine through the public API, with small entity types written here:
// statistics arithmetic, series, send rules and their errors, zero-delay
// ordering, threads vs sequential, and two simulations in one process.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <bit>
#include <fstream>
#include <thread>

#include "dsim/dsim.hpp"
#include "tests/support/same_bits.hpp"

namespace {

using dsim::Context;
using dsim::Setup;

// Sends itself a tick every `period`; counts ticks; records each tick time.
struct Ticker {
  struct State {
    std::uint64_t ticks = 0;
  };
  struct Tick {
    static constexpr std::string_view dsim_name = "ticker.tick";
  };
  using Events = dsim::Events<Tick>;
  static void declare(dsim::ParamSpec& p) { p.add("period", 1.0, "tick period"); }
  explicit Ticker(Setup& s)
      : period_(s.param_real("period")), ticks_(s.counter("ticks")), when_(s.tally("when")) {}
  void init(State&, Context& ctx) const { ctx.send(ctx.self(), Tick{}, period_ / 2); }
  void on(State& s, const Tick&, Context& ctx) const {
    ++s.ticks;
    ctx.add(ticks_);
    ctx.record(when_, ctx.now());
    ctx.send(ctx.self(), Tick{}, period_);
  }
  double period_;
  dsim::Counter ticks_;
  dsim::Tally when_;
};

// Sets its gauge to scripted levels at scripted times.
struct Stepper {
  struct State {
    int step = 0;
  };
  struct Step {
    static constexpr std::string_view dsim_name = "stepper.step";
  };
  using Events = dsim::Events<Step>;
  explicit Stepper(Setup& s) : level_(s.gauge("level")) {}
  void init(State&, Context& ctx) const { ctx.send(ctx.self(), Step{}, 2.0); }
  void on(State& s, const Step&, Context& ctx) const {
    ++s.step;
    if (s.step == 1) {
      ctx.set(level_, 1.0);  // at t = 2
      ctx.send(ctx.self(), Step{}, 3.0);
    } else {
      ctx.set(level_, 3.0);  // at t = 5
    }
  }
  dsim::Gauge level_;
};

// Forwards a token to a random neighbour with delay lookahead + Exp(1); with
// `bad_delay` it sends with delay 0 instead (a lookahead violation).
struct Walker {
  struct State {
    std::uint64_t seen = 0;
    double last = 0;
  };
  struct Token {
    static constexpr std::string_view dsim_name = "walker.token";
    std::uint64_t hops;
  };
  struct Stray {
    static constexpr std::string_view dsim_name = "walker.stray";
  };
  using Events = dsim::Events<Token>;
  static void declare(dsim::ParamSpec& p) {
    p.add("lookahead", 1.0, "link lookahead");
    p.add("bad_delay", false, "send with delay 0");
    p.add("stray", false, "send an event type nobody handles");
    p.add("fail_at", -1.0, "call ctx.fail at this time");
    p.add("poke", "", "also send to the first entity of this group");
  }
  explicit Walker(Setup& s)
      : la_(s.param_real("lookahead")),
        bad_(s.param_bool("bad_delay")),
        stray_(s.param_bool("stray")),
        fail_at_(s.param_real("fail_at")),
        poke_(s.param_string("poke")),
        hops_(s.tally("hops")),
        seen_(s.counter("seen")),
        gap_(s.histogram("gap", 0.0, 5.0, 10)),
        busy_(s.gauge("busy")) {}
  void init(State&, Context& ctx) const { ctx.send(ctx.self(), Token{0}, la_); }
  void on(State& s, const Token& t, Context& ctx) const {
    if (fail_at_ >= 0 && ctx.now() >= fail_at_) ctx.fail("asked to fail");
    if (!poke_.empty()) ctx.send(ctx.group_first(poke_), Token{0}, la_);
    ctx.record(gap_, ctx.now() - s.last);
    s.last = ctx.now();
    ++s.seen;
    ctx.add(seen_);
    ctx.record(hops_, static_cast<double>(t.hops));
    ctx.set(busy_, static_cast<double>(s.seen % 3));
    auto nb = ctx.neighbours();
    const dsim::EntityId next = nb[ctx.rng().below(nb.size())];
    if (stray_) {
      ctx.send(next, Stray{}, la_);
      return;
    }
    ctx.send(next, Token{t.hops + 1}, bad_ ? 0.0 : la_ + ctx.rng().exponential(1.0));
  }
  double la_;
  bool bad_, stray_;
  double fail_at_;
  std::string poke_;
  dsim::Tally hops_;
  dsim::Counter seen_;
  dsim::Histogram gap_;
  dsim::Gauge busy_;
};

// Zero-delay cascades: on each pulse, forwards `fanout` zero-delay echoes to
// its neighbour chain; records the order in which it sees (src, hops).
struct Echo {
  struct State {
    double signature = 0;
    std::uint64_t n = 0;
  };
  struct Pulse {
    static constexpr std::string_view dsim_name = "echo.pulse";
    std::uint32_t hops;
  };
  using Events = dsim::Events<Pulse>;
  explicit Echo(Setup& s) : sig_(s.tally("signature")) {}
  void init(State&, Context& ctx) const {
    if (ctx.index() == 0) ctx.send(ctx.self(), Pulse{0}, 1.0);
  }
  void on(State& s, const Pulse& p, Context& ctx) const {
    ++s.n;
    // Order-sensitive fingerprint of what this entity saw, in which order.
    s.signature = s.signature * 1.000001 + p.hops + 0.001 * static_cast<double>(s.n);
    ctx.record(sig_, s.signature);
    if (p.hops < 6)
      for (auto nb : ctx.neighbours()) ctx.send(nb, Pulse{p.hops + 1}, 0.0);
    if (p.hops == 0 && ctx.now() < 20) ctx.send(ctx.self(), Pulse{0}, 1.0);
  }
  dsim::Tally sig_;
};

dsim::LinkSpec any_link(const std::string& group, double lookahead) {
  dsim::LinkSpec link;
  link.from = link.to = group;
  link.topology.kind = "any";
  link.lookahead = lookahead;
  return link;
}

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_.add<Ticker>("ticker", "test ticker");
    registry_.add<Stepper>("stepper", "test stepper");
    registry_.add<Walker>("walker", "test walker");
    registry_.add<Echo>("echo", "test echo");
  }
  dsim::ModelSpec walker_spec(std::uint64_t count, double lookahead = 1.0) {
    dsim::ModelSpec spec;
    spec.simulation.end_time = 200;
    spec.simulation.seed = 11;
    spec.simulation.sync = "sequential";
    spec.groups.push_back({"w", "walker", count, {{"lookahead", lookahead}}, {}, {}});
    dsim::LinkSpec link;
    link.from = link.to = "w";
    link.topology.kind = "small_world";
    link.topology.k = 4;
    link.topology.p = 0.2;
    link.lookahead = lookahead;
    spec.links.push_back(link);
    return spec;
  }
  dsim::RunResult run(dsim::ModelSpec spec) {
    dsim::validate(spec, registry_);
    dsim::Simulation sim(std::move(spec), registry_);
    return sim.run();
  }
  dsim::Registry registry_;
};

TEST_F(EngineTest, CounterAndTallyArithmetic) {
  dsim::ModelSpec spec;
  spec.simulation.end_time = 10;
  spec.groups.push_back({"t", "ticker", 3, {{"period", 2.0}}, {}, {}});
  spec.links.push_back(any_link("t", 1.0));
  auto r = run(spec);
  // Ticks at 1, 3, 5, 7, 9 for each of 3 entities.
  EXPECT_EQ(r.value("t", "ticks", "total"), 15);
  EXPECT_EQ(r.value("t", "ticks", "mean"), 5);
  EXPECT_EQ(r.value("t", "when", "count"), 15);
  EXPECT_DOUBLE_EQ(r.value("t", "when", "mean"), 5.0);
  EXPECT_DOUBLE_EQ(r.value("t", "when", "variance"), 8.0 * 15 / 14);  // pop. var 8
  EXPECT_EQ(r.value("t", "when", "min"), 1);
  EXPECT_EQ(r.value("t", "when", "max"), 9);
  EXPECT_EQ(r.figures.events_processed, 15u);
}

TEST_F(EngineTest, GaugeIsTimeWeighted) {
  dsim::ModelSpec spec;
  spec.simulation.end_time = 10;
  spec.groups.push_back({"s", "stepper", 2, {}, {}, {}});
  spec.links.push_back(any_link("s", 0.0));
  auto r = run(spec);
  // Level 0 on [0,2), 1 on [2,5), 3 on [5,10]: area 3 + 15 = 18 per entity.
  EXPECT_DOUBLE_EQ(r.value("s", "level", "mean"), 1.8);
  EXPECT_DOUBLE_EQ(r.value("s", "level", "total_mean"), 3.6);
  EXPECT_EQ(r.value("s", "level", "min"), 0);
  EXPECT_EQ(r.value("s", "level", "max"), 3);
  EXPECT_EQ(r.value("s", "level", "final"), 6);
}

TEST_F(EngineTest, SeriesSampleCountersAndGauges) {
  dsim::ModelSpec spec;
  spec.simulation.end_time = 10;
  spec.output.sample_interval = 1.0;
  spec.groups.push_back({"t", "ticker", 2, {{"period", 2.0}}, {}, {}});
  spec.groups.push_back({"s", "stepper", 1, {}, {}, {}});
  spec.links.push_back(any_link("t", 1.0));
  spec.links.push_back(any_link("s", 0.0));
  auto r = run(spec);
  ASSERT_EQ(r.series.size(), 2u);
  const auto& ticks = r.series[0];
  EXPECT_EQ(ticks.stat, "ticks");
  ASSERT_EQ(ticks.times.size(), 10u);
  // Ticks at 1,3,5,7,9 (two entities); value after all events <= t.
  const std::vector<double> want_ticks = {2, 2, 4, 4, 6, 6, 8, 8, 10, 10};
  EXPECT_EQ(ticks.values, want_ticks);
  const std::vector<double> want_level = {0, 1, 1, 1, 3, 3, 3, 3, 3, 3};
  EXPECT_EQ(r.series[1].values, want_level);
}

TEST_F(EngineTest, LookaheadViolationNamesEntity) {
  auto spec = walker_spec(20);
  spec.groups[0].params["bad_delay"] = true;
  try {
    run(spec);
    FAIL() << "expected an error";
  } catch (const dsim::Error& e) {
    EXPECT_EQ(e.kind(), dsim::Error::Kind::kRuntime);
    EXPECT_NE(std::string(e.what()).find("w["), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("below the lookahead 1"), std::string::npos) << e.what();
  }
}

TEST_F(EngineTest, SendWithoutLinkIsAnError) {
  auto spec = walker_spec(10);
  spec.groups.push_back({"t", "ticker", 1, {}, {}, {}});
  spec.groups[0].params["poke"] = std::string("t");
  try {
    run(spec);
    FAIL() << "expected an error";
  } catch (const dsim::Error& e) {
    EXPECT_NE(std::string(e.what()).find("no link from group 'w' to group 't'"), std::string::npos)
        << e.what();
  }
}

TEST_F(EngineTest, SelfSendsNeedNoLink) {
  dsim::ModelSpec spec;
  spec.simulation.end_time = 10;
  spec.groups.push_back({"t", "ticker", 2, {}, {}, {}});
  EXPECT_EQ(run(spec).value("t", "ticks", "total"), 20);
}

TEST_F(EngineTest, UnhandledEventTypeIsAnError) {
  auto spec = walker_spec(10);
  spec.groups[0].params["stray"] = true;
  try {
    run(spec);
    FAIL();
  } catch (const dsim::Error& e) {
    EXPECT_NE(std::string(e.what()).find("has no handler"), std::string::npos) << e.what();
  }
}

TEST_F(EngineTest, SameSeedSameBitsDifferentSeedDifferent) {
  auto a = run(walker_spec(100));
  auto b = run(walker_spec(100));
  auto spec = walker_spec(100);
  spec.simulation.seed = 12;
  auto c = run(spec);
  EXPECT_EQ(a.figures.events_processed, b.figures.events_processed);
  ASSERT_EQ(a.stats.size(), b.stats.size());
  for (std::size_t i = 0; i < a.stats.size(); ++i)
    for (std::size_t f = 0; f < a.stats[i].fields.size(); ++f)
      EXPECT_EQ(std::bit_cast<std::uint64_t>(a.stats[i].fields[f].second),
                std::bit_cast<std::uint64_t>(b.stats[i].fields[f].second));
  EXPECT_NE(a.value("w", "hops", "mean"), c.value("w", "hops", "mean"));
}

using dsim::testing::expect_same_bits;

TEST_F(EngineTest, ConservativeThreadsMatchSequentialBitForBit) {
  auto seq = run(walker_spec(300, 0.5));
  for (std::string part : {"block", "round_robin", "graph"})
    for (std::uint32_t threads : {2u, 3u, 4u, 8u}) {
      auto spec = walker_spec(300, 0.5);
      spec.simulation.sync = "conservative";
      spec.simulation.threads = threads;
      spec.simulation.partitioner = part;
      auto par = run(spec);
      EXPECT_EQ(par.figures.sync, "conservative");
      EXPECT_EQ(par.figures.threads, threads);
      expect_same_bits(seq, par, part + "/" + std::to_string(threads));
    }
}

// Every engine reports progress through RunOptions::on_progress, and
// reporting changes nothing in the results.
TEST_F(EngineTest, EveryEngineReportsProgress) {
  auto plain = walker_spec(300, 0.5);
  plain.simulation.end_time = 2000;  // long enough for a sequential chunk (65,536 events)
  const auto ref = run(plain);
  for (std::string sync : {"sequential", "conservative", "optimistic"}) {
    auto spec = plain;
    spec.simulation.sync = sync;
    spec.simulation.threads = sync == "sequential" ? 1 : 2;
    dsim::validate(spec, registry_);
    dsim::Simulation sim(std::move(spec), registry_);
    std::vector<dsim::Progress> reports;
    dsim::RunOptions options;
    options.progress_interval = 0;
    options.on_progress = [&](const dsim::Progress& p) { reports.push_back(p); };
    const auto result = sim.run(options);
    ASSERT_FALSE(reports.empty()) << sync;
    const dsim::Progress& last = reports.back();
    EXPECT_GT(last.events, 0u) << sync;
    EXPECT_LE(last.events, result.figures.events_processed) << sync;
    EXPECT_GE(last.wall_seconds, 0.0) << sync;
    EXPECT_EQ(last.partition_events.size(), sync == "sequential" ? 1u : 2u) << sync;
    EXPECT_LE(last.now, 2000.0) << sync;
    expect_same_bits(ref, result, sync);
  }
}

TEST_F(EngineTest, AutoPicksAnEngineAndSaysWhy) {
  auto spec = walker_spec(100, 0.5);
  spec.simulation.sync = "auto";
  spec.simulation.threads = 2;
  dsim::validate(spec, registry_);
  dsim::Simulation sim(std::move(spec), registry_);
  const dsim::RunPlan& plan = sim.plan();
  EXPECT_EQ(plan.sync, "conservative");
  EXPECT_EQ(plan.threads, 2u);
  EXPECT_EQ(plan.lookahead, 0.5);
  EXPECT_NE(plan.reason.find("lookahead 0.5"), std::string::npos) << plan.reason;
  ASSERT_EQ(plan.partition_entities.size(), 2u);
  EXPECT_EQ(plan.partition_entities[0] + plan.partition_entities[1], 100u);
  EXPECT_EQ(plan.engine, dsim::Engine::kConservative);
  auto r = sim.run();
  EXPECT_EQ(r.figures.sync, "conservative");
  EXPECT_EQ(r.figures.engine, dsim::Engine::kConservative);
  EXPECT_EQ(r.figures.sync_reason, plan.reason);

  auto one = walker_spec(100, 0.5);
  one.simulation.sync = "auto";
  one.simulation.threads = 1;
  EXPECT_EQ(run(one).figures.sync, "sequential");
}

// One table of names: every engine and partitioner has one, found again by it,
// and the config reference lists it.
TEST(EngineNames, OneTableNamesEveryEngineAndPartitioner) {
  for (const auto& e : dsim::kEngines) {
    EXPECT_EQ(dsim::engine_name(e.engine), e.name);
    EXPECT_EQ(dsim::engine_from_name(e.name), e.engine);
    EXPECT_FALSE(e.description.empty()) << e.name;
  }
  for (const auto& p : dsim::kPartitionings) {
    EXPECT_EQ(dsim::partitioning_name(p.partitioning), p.name);
    EXPECT_EQ(dsim::partitioning_from_name(p.name), p.partitioning);
  }
  EXPECT_EQ(dsim::engine_from_name("warp"), std::nullopt);
  EXPECT_EQ(dsim::partitioning_from_name("metis"), std::nullopt);

  std::ifstream in(DSIM_SOURCE_DIR "/docs/config.md");
  ASSERT_TRUE(in) << "docs/config.md";
  std::string sync_row, partitioner_row;
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("| `sync` |")) sync_row = line;
    if (line.starts_with("| `partitioner` |")) partitioner_row = line;
  }
  for (const auto name : dsim::kEngineNames)
    EXPECT_NE(sync_row.find(fmt::format("`\"{}\"`", name)), std::string::npos) << name;
  for (const auto name : dsim::kPartitioningNames)
    EXPECT_NE(partitioner_row.find(fmt::format("`\"{}\"`", name)), std::string::npos) << name;
}

TEST_F(EngineTest, ZeroDelayCascadesKeepOrderOnEveryLayout) {
  auto make = [](std::string sync, std::uint32_t threads) {
    dsim::ModelSpec spec;
    spec.simulation.end_time = 30;
    spec.simulation.sync = sync;
    spec.simulation.threads = threads;
    spec.groups.push_back({"e", "echo", 12, {}, {}, {}});
    dsim::LinkSpec ring;
    ring.from = ring.to = "e";
    ring.topology.kind = "ring";
    ring.lookahead = 0.0;
    spec.links.push_back(ring);
    return spec;
  };
  auto seq = run(make("sequential", 1));
  EXPECT_GT(seq.value("e", "signature", "count"), 100);
  // auto with threads falls back to sequential because of the zero lookahead,
  // and says why; conservative refuses, naming the link.
  auto aut = run(make("auto", 4));
  EXPECT_EQ(aut.figures.sync, "sequential");
  EXPECT_NE(aut.figures.sync_reason.find("links[0]"), std::string::npos) << aut.figures.sync_reason;
  expect_same_bits(seq, aut, "auto");
  try {
    run(make("conservative", 4));
    FAIL();
  } catch (const dsim::Error& e) {
    EXPECT_NE(std::string(e.what()).find("links[0] (e -> e) has lookahead 0"), std::string::npos)
        << e.what();
  }
}

TEST_F(EngineTest, ErrorInOneThreadStopsAllThreads) {
  auto spec = walker_spec(200, 0.5);
  spec.simulation.sync = "conservative";
  spec.simulation.threads = 4;
  spec.groups[0].params["fail_at"] = 50.0;
  try {
    run(spec);
    FAIL();
  } catch (const dsim::Error& e) {
    EXPECT_NE(std::string(e.what()).find("asked to fail"), std::string::npos) << e.what();
  }
}

TEST_F(EngineTest, TwoSimulationsRunAtOnce) {
  auto ref = run(walker_spec(200));
  dsim::RunResult a, b;
  std::thread ta([&] { a = run(walker_spec(200)); });
  std::thread tb([&] { b = run(walker_spec(200)); });
  ta.join();
  tb.join();
  expect_same_bits(ref, a, "a");
  expect_same_bits(ref, b, "b");
}

TEST_F(EngineTest, HistogramBins) {
  auto r = run(walker_spec(50));
  const auto* h = r.find("w", "gap");
  ASSERT_NE(h, nullptr);
  double sum = 0;
  for (const auto& [name, v] : h->fields)
    if (name.rfind("bin_", 0) == 0 || name == "underflow" || name == "overflow") sum += v;
  EXPECT_EQ(sum, r.value("w", "gap", "count"));
  EXPECT_EQ(r.value("w", "gap", "count"), r.value("w", "seen", "total"));
}

}  // namespace
