// The optimistic (Time Warp) engine through the public API, with small entity
// types written here: zero-lookahead models, forced rollbacks (primary and
// secondary), commit-time statistics and series, the memory cap, periodic
// state saving, reverse handlers, errors, and the rollback checker
// (RunOptions::check_rollback) on good and deliberately broken types.
//
// Forcing rollbacks: half of the entities are slow (each of their events
// burns CPU). With block partitioning on 2 threads they are all on partition
// 0, which lags, while partition 1 runs ahead and keeps receiving stragglers
// from it. Whether a particular run rolls back depends on thread timing; what
// it computes never does. So every run is compared bit for bit with the
// sequential one, and the tests that need rollbacks to have happened retry a
// few times (kAttempts) until one did.
#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <string>
#include <vector>

#include "dsim/dsim.hpp"
#include "dsim/output.hpp"
#include "dsim/reference_models.hpp"

namespace {

using dsim::Context;
using dsim::EntityId;
using dsim::Setup;

// Busy work: `iterations` dependent multiply-adds (about 1 ns each). The empty
// asm hides the value from the optimizer; no memory is touched, so sanitizers
// do not slow it down more than the engine around it.
void burn(std::int64_t iterations) {
  std::uint64_t x = 1;
  for (std::int64_t i = 0; i < iterations; ++i) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    asm volatile("" : "+r"(x));
  }
}

// PHOLD-like traffic with zero lookahead: each event sends one successor, with
// probability `remote` to an entity drawn from the whole group, otherwise to
// itself, at delay Exp(1). Entities with index < count/2 burn `burn`
// iterations per event. The State is an order-sensitive fingerprint of what
// the entity saw (a lost, doubled or reordered event changes the results),
// and every kind of statistic is recorded.
struct Laggard {
  struct State {
    std::uint64_t handled = 0;
    double fingerprint = 0;
  };
  struct Ping {
    static constexpr std::string_view dsim_name = "laggard.ping";
    std::uint32_t hops;
    EntityId from;
  };
  using Events = dsim::Events<Ping>;
  static void declare(dsim::ParamSpec& p) {
    p.add("burn", 0, "busy-work iterations per event of the slow half")
        .add("remote", 0.5, "probability that a successor goes to a random entity")
        .add("start_events", 2, "pings each entity sends itself at start")
        .add("fail_at", -1.0, "fast half: ctx.fail() at the first event at or after this time");
  }
  explicit Laggard(Setup& s)
      : burn_(s.param_int("burn")),
        remote_(s.param_real("remote")),
        start_(s.param_int("start_events")),
        fail_at_(s.param_real("fail_at")),
        events_(s.counter("events")),
        remote_sends_(s.counter("remote_sends")),
        hops_(s.tally("hops")),
        fingerprint_(s.tally("fingerprint")),
        delay_(s.histogram("delay", 0.0, 4.0, 16)),
        level_(s.gauge("level")) {}
  void init(State&, Context& ctx) const {
    for (std::int64_t k = 0; k < start_; ++k)
      ctx.send(ctx.self(), Ping{0, ctx.self()}, 0.5 + 0.25 * static_cast<double>(k));
  }
  void on(State& s, const Ping& p, Context& ctx) const {
    const bool slow = ctx.index() < ctx.group_size() / 2;
    if (slow) burn(burn_);
    if (!slow && fail_at_ >= 0 && ctx.now() >= fail_at_) ctx.fail("asked to fail");
    ++s.handled;
    s.fingerprint = s.fingerprint * 0.75 + ctx.now() + p.hops + 0.001 * p.from;
    ctx.add(events_);
    ctx.record(hops_, static_cast<double>(p.hops));
    ctx.set(level_, static_cast<double>(s.handled % 7));
    dsim::Random& rng = ctx.rng();
    EntityId target = ctx.self();
    if (rng.bernoulli(remote_)) {
      target = ctx.group_first() + static_cast<EntityId>(rng.below(ctx.group_size()));
      ctx.add(remote_sends_);
    }
    const double delay = rng.exponential(1.0);
    ctx.record(delay_, delay);
    ctx.send(target, Ping{p.hops + 1, ctx.self()}, delay);
  }
  void finish(State& s, Context& ctx) const { ctx.record(fingerprint_, s.fingerprint); }

  std::int64_t burn_;
  double remote_;
  std::int64_t start_;
  double fail_at_;
  dsim::Counter events_, remote_sends_;
  dsim::Tally hops_, fingerprint_;
  dsim::Histogram delay_;
  dsim::Gauge level_;
};

// Inverse of an odd number modulo 2^64 (Newton: each step doubles the bits).
constexpr std::uint64_t inverse(std::uint64_t a) {
  std::uint64_t x = a;
  for (int i = 0; i < 6; ++i) x *= 2 - a * x;
  return x;
}
constexpr std::uint64_t kMix = 0x9E3779B97F4A7C15ull;
constexpr std::uint64_t kUnmix = inverse(kMix);
static_assert(kMix * kUnmix == 1);

// The same traffic as Laggard, with reverse handlers: on() changes the State
// only by exactly invertible integer steps (the mix is order-sensitive:
// mix * kMix + f), and reverse() undoes them. With `forget_weight`, reverse()
// leaves `weight` as on() made it: a wrong reverse handler.
struct Reversible {
  struct State {
    std::uint64_t handled = 0;
    std::uint64_t weight = 0;
    std::uint64_t mix = 0;
  };
  struct Ping {
    static constexpr std::string_view dsim_name = "reversible.ping";
    std::uint32_t hops;
    std::uint32_t weight;
  };
  using Events = dsim::Events<Ping>;
  static void declare(dsim::ParamSpec& p) {
    p.add("burn", 0, "busy-work iterations per event of the slow half")
        .add("forget_weight", false, "reverse() does not undo `weight`");
  }
  explicit Reversible(Setup& s)
      : burn_(s.param_int("burn")),
        forget_(s.param_bool("forget_weight")),
        events_(s.counter("events")),
        weight_(s.tally("weight")),
        mix_(s.tally("mix")),
        handled_(s.tally("handled")) {}
  void init(State&, Context& ctx) const {
    for (std::uint32_t k = 0; k < 2; ++k)
      ctx.send(ctx.self(), Ping{0, k + 1}, 0.5 + 0.25 * k);
  }
  static std::uint64_t step(const Ping& p, const Context& ctx) {
    return std::bit_cast<std::uint64_t>(ctx.now()) ^ (std::uint64_t{p.hops} << 1);
  }
  void on(State& s, const Ping& p, Context& ctx) const {
    if (ctx.index() < ctx.group_size() / 2) burn(burn_);
    ++s.handled;
    s.weight += p.weight;
    s.mix = s.mix * kMix + step(p, ctx);
    ctx.add(events_);
    dsim::Random& rng = ctx.rng();
    EntityId target = ctx.self();
    if (rng.bernoulli(0.5))
      target = ctx.group_first() + static_cast<EntityId>(rng.below(ctx.group_size()));
    ctx.send(target, Ping{p.hops + 1, static_cast<std::uint32_t>(rng.below(5))},
             rng.exponential(1.0));
  }
  void reverse(State& s, const Ping& p, const Context& ctx) const {
    s.mix = (s.mix - step(p, ctx)) * kUnmix;
    if (!forget_) s.weight -= p.weight;
    --s.handled;
  }
  void finish(State& s, Context& ctx) const {
    ctx.record(weight_, static_cast<double>(s.weight));
    ctx.record(mix_, static_cast<double>(s.mix >> 40));
    ctx.record(handled_, static_cast<double>(s.handled));
  }

  std::int64_t burn_;
  bool forget_;
  dsim::Counter events_;
  dsim::Tally weight_, mix_, handled_;
};

// Breaks DESIGN.md invariant 3 on purpose: counts its calls in a static and
// puts the count in its State (`where` = "state") or in the event it sends
// ("payload"). Only index 1 starts, with a Tick at time 0.75.
struct Impure {
  struct State {
    std::uint64_t last = 0;
  };
  struct Tick {
    static constexpr std::string_view dsim_name = "impure.tick";
  };
  struct Note {
    static constexpr std::string_view dsim_name = "impure.note";
    std::uint64_t calls;
  };
  using Events = dsim::Events<Tick, Note>;
  static void declare(dsim::ParamSpec& p) { p.add("where", "state", "state or payload"); }
  explicit Impure(Setup& s) : in_state_(s.param_string("where") == "state") {}
  void init(State&, Context& ctx) const {
    if (ctx.index() == 1) ctx.send(ctx.self(), Tick{}, 0.75);
  }
  void on(State& s, const Tick&, Context& ctx) const {
    static std::uint64_t calls = 0;
    ++calls;
    if (in_state_)
      s.last = calls;
    else
      ctx.send(ctx.self(), Note{calls}, 1.0);
  }
  void on(State&, const Note&, Context&) const {}
  bool in_state_;
};

void register_types(dsim::Registry& registry) {
  dsim::register_builtins(registry);
  dsim::register_reference_models(registry);
  registry.add<Laggard>("laggard", "test: PHOLD-like traffic, slow first half");
  registry.add<Reversible>("reversible", "test: Laggard-like, with reverse handlers");
  registry.add<Impure>("impure", "test: handler with a static counter");
}

dsim::LinkSpec any_link(const std::string& group, double lookahead) {
  dsim::LinkSpec link;
  link.from = link.to = group;
  link.topology.kind = "any";
  link.lookahead = lookahead;
  return link;
}

// About 60 µs of busy work per slow event: enough that the slow partition
// lags far behind the fast one.
constexpr std::int64_t kBurn = 30000;
constexpr int kAttempts = 5;

dsim::ModelSpec laggard_spec(std::uint64_t count = 64, double end_time = 30,
                             std::int64_t burn_iterations = kBurn) {
  dsim::ModelSpec spec;
  spec.simulation.end_time = end_time;
  spec.simulation.seed = 7;
  spec.simulation.sync = "sequential";
  spec.groups.push_back({"lag", "laggard", count, {{"burn", burn_iterations}}, {}, {}});
  spec.links.push_back(any_link("lag", 0.0));
  return spec;
}

dsim::ModelSpec reversible_spec(std::uint64_t count = 64, double end_time = 30,
                                std::int64_t burn_iterations = kBurn) {
  dsim::ModelSpec spec;
  spec.simulation.end_time = end_time;
  spec.simulation.seed = 9;
  spec.simulation.sync = "sequential";
  spec.groups.push_back({"rev", "reversible", count, {{"burn", burn_iterations}}, {}, {}});
  spec.links.push_back(any_link("rev", 0.0));
  return spec;
}

struct Outcome {
  std::string csv, json, series;
  dsim::RunFigures figures;
};

Outcome run(dsim::ModelSpec spec, const dsim::RunOptions& options = {}) {
  dsim::Registry registry;
  register_types(registry);
  dsim::validate(spec, registry);
  dsim::Simulation sim(std::move(spec), registry);
  const dsim::RunResult r = sim.run(options);
  return {dsim::output::results_csv(r), dsim::output::results_json(r),
          dsim::output::series_csv(r), r.figures};
}

dsim::ModelSpec with_layout(dsim::ModelSpec spec, const std::string& sync, std::uint32_t threads,
                            const std::string& partitioner = "block") {
  spec.simulation.sync = sync;
  spec.simulation.threads = threads;
  spec.simulation.partitioner = partitioner;
  return spec;
}

Outcome sequential(const dsim::ModelSpec& spec) { return run(with_layout(spec, "sequential", 1)); }

void expect_same(const Outcome& got, const Outcome& ref) {
  EXPECT_EQ(got.figures.events_processed, ref.figures.events_processed);
  EXPECT_EQ(got.csv, ref.csv);
  EXPECT_EQ(got.json, ref.json);
  EXPECT_EQ(got.series, ref.series);
}

// The figures every optimistic run must satisfy, rollbacks or not.
void expect_consistent_figures(const dsim::RunFigures& f) {
  EXPECT_EQ(f.sync, "optimistic");
  EXPECT_EQ(f.events_executed, f.events_processed + f.events_rolled_back);
  EXPECT_LE(f.rollbacks_primary + f.rollbacks_secondary, f.events_rolled_back);
  EXPECT_GT(f.gvt_rounds, 0u);
  EXPECT_GT(f.memory_limit, 0u);
  std::uint64_t committed = 0, undone = 0;
  for (const auto& p : f.partitions) {
    committed += p.events;
    undone += p.rolled_back;
  }
  EXPECT_EQ(committed, f.events_processed);
  EXPECT_EQ(undone, f.events_rolled_back);
  if (f.events_executed > 0) {
    EXPECT_DOUBLE_EQ(f.efficiency, static_cast<double>(f.events_processed) /
                                       static_cast<double>(f.events_executed));
  }
}

// Runs `spec` optimistically on 2 threads (block) until a run satisfies
// `enough` (at most kAttempts runs); every run must match `ref` bit for bit.
template <class Enough>
Outcome run_until(const dsim::ModelSpec& spec, const Outcome& ref, Enough enough) {
  Outcome got;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    got = run(with_layout(spec, "optimistic", 2));
    SCOPED_TRACE("attempt " + std::to_string(attempt));
    expect_same(got, ref);
    expect_consistent_figures(got.figures);
    if (::testing::Test::HasFailure() || enough(got.figures)) break;
  }
  return got;
}

bool rolled_back(const dsim::RunFigures& f) { return f.events_rolled_back > 0; }

// --- Zero lookahead (models/phold/phold_la0.toml) ---------------------------

const std::vector<std::string> kPholdLa0Size = {"simulation.end_time=15",
                                                "entities.phold.count=2000"};

dsim::ModelSpec phold_la0(const std::vector<std::string>& layout) {
  std::vector<std::string> overrides = kPholdLa0Size;
  overrides.insert(overrides.end(), layout.begin(), layout.end());
  return dsim::load_model(std::string(DSIM_SOURCE_DIR) + "/models/phold/phold_la0.toml",
                          overrides);
}

TEST(OptimisticZeroLookahead, ConservativeRefusesIt) {
  dsim::Registry registry;
  register_types(registry);
  auto spec = phold_la0({"simulation.sync=\"conservative\"", "simulation.threads=2"});
  dsim::validate(spec, registry);
  dsim::Simulation sim(std::move(spec), registry);
  try {
    sim.plan();
    FAIL() << "conservative sync accepted a zero-lookahead link between partitions";
  } catch (const dsim::Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("phold_la0.toml"), std::string::npos) << what;
    EXPECT_NE(what.find("links[0]"), std::string::npos) << what;
    EXPECT_NE(what.find("lookahead"), std::string::npos) << what;
  }
}

TEST(OptimisticZeroLookahead, AutoRunsItSequentially) {
  dsim::Registry registry;
  register_types(registry);
  auto spec = phold_la0({"simulation.sync=\"auto\"", "simulation.threads=2"});
  dsim::validate(spec, registry);
  dsim::Simulation sim(std::move(spec), registry);
  EXPECT_EQ(sim.plan().sync, "sequential");
  EXPECT_EQ(sim.plan().threads, 1u);
}

TEST(OptimisticZeroLookahead, OptimisticAcceptsItAndMatchesSequential) {
  const Outcome ref = run(phold_la0({"simulation.sync=\"sequential\""}));
  ASSERT_GT(ref.figures.events_processed, 20000u);
  for (std::uint32_t threads : {2u, 4u}) {
    SCOPED_TRACE("threads " + std::to_string(threads));
    dsim::Registry registry;
    register_types(registry);
    auto spec = phold_la0({"simulation.sync=\"optimistic\"",
                           "simulation.threads=" + std::to_string(threads)});
    dsim::validate(spec, registry);
    {
      dsim::Simulation sim(spec, registry);
      const dsim::RunPlan& plan = sim.plan();
      EXPECT_EQ(plan.sync, "optimistic");
      EXPECT_EQ(plan.threads, threads);
      EXPECT_GT(plan.memory_limit, 0u);
    }
    const Outcome got = run(spec);
    expect_same(got, ref);
    expect_consistent_figures(got.figures);
    EXPECT_EQ(got.figures.threads, threads);
  }
}

// The config keys of the optimistic engine reach it: memory_limit with a unit,
// state_saving and its period, as --set overrides.
TEST(OptimisticConfig, KeysReachTheEngine) {
  const Outcome ref = run(phold_la0({"simulation.sync=\"sequential\""}));
  const Outcome got = run(phold_la0({"simulation.sync=\"optimistic\"", "simulation.threads=2",
                                     "simulation.memory_limit=\"512KiB\"",
                                     "simulation.state_saving=\"periodic\"",
                                     "simulation.state_saving_period=4"}));
  expect_same(got, ref);
  expect_consistent_figures(got.figures);
  EXPECT_EQ(got.figures.memory_limit, 512u * 1024);
  EXPECT_EQ(got.figures.state_saving, "phold: periodic(4)");
}

// --- Forced rollbacks ---------------------------------------------------------

TEST(OptimisticRollbacks, OneThreadNeverRollsBack) {
  const dsim::ModelSpec spec = laggard_spec(64, 30, 0);
  const Outcome ref = sequential(spec);
  const Outcome got = run(with_layout(spec, "optimistic", 1));
  expect_same(got, ref);
  expect_consistent_figures(got.figures);
  EXPECT_EQ(got.figures.events_rolled_back, 0u);
  EXPECT_EQ(got.figures.events_executed, got.figures.events_processed);
  EXPECT_EQ(got.figures.efficiency, 1.0);
}

TEST(OptimisticRollbacks, StragglersRollBackAndResultsMatchSequential) {
  const dsim::ModelSpec spec = laggard_spec();
  const Outcome ref = sequential(spec);
  ASSERT_GT(ref.figures.events_processed, 3000u);
  const Outcome got = run_until(spec, ref, rolled_back);
  const dsim::RunFigures& f = got.figures;
  EXPECT_GT(f.events_rolled_back, 0u);
  EXPECT_GT(f.rollbacks_primary, 0u);
  EXPECT_EQ(f.events_executed, f.events_processed + f.events_rolled_back);
  EXPECT_GT(f.events_executed, f.events_processed);
  EXPECT_LT(f.efficiency, 1.0);
  EXPECT_GT(f.efficiency, 0.0);
  EXPECT_GT(f.gvt_rounds, 0u);
  ASSERT_EQ(f.partitions.size(), 2u);
  // The fast partition runs ahead and takes the stragglers.
  EXPECT_GT(f.partitions[1].rolled_back, 0u);
}

// A straggler rolls back an entity of the fast partition that had sent to
// entities of both partitions; the anti-messages for sends that were already
// processed roll those entities back in turn (secondary rollbacks).
TEST(OptimisticRollbacks, RollbacksCascade) {
  const dsim::ModelSpec spec = laggard_spec();
  const Outcome ref = sequential(spec);
  const Outcome got = run_until(spec, ref, [](const dsim::RunFigures& f) {
    return f.rollbacks_primary > 0 && f.rollbacks_secondary > 0;
  });
  EXPECT_GT(got.figures.rollbacks_primary, 0u);
  EXPECT_GT(got.figures.rollbacks_secondary, 0u);
}

// Every layout of the laggard model (the slow half is spread differently by
// each partitioner) matches the sequential run.
TEST(OptimisticRollbacks, EveryLayoutMatchesSequential) {
  const dsim::ModelSpec spec = laggard_spec(48, 20, kBurn / 4);
  const Outcome ref = sequential(spec);
  for (std::uint32_t threads : {2u, 3u, 4u})
    for (const char* partitioner : {"block", "round_robin", "graph"}) {
      SCOPED_TRACE(std::to_string(threads) + " threads, " + partitioner);
      const Outcome got = run(with_layout(spec, "optimistic", threads, partitioner));
      expect_same(got, ref);
      expect_consistent_figures(got.figures);
    }
}

// A handler error that a rollback undoes is no error; the first real one (in
// event order) stops the run with the sequential run's message.
TEST(OptimisticRollbacks, ErrorIsTheSequentialOne) {
  dsim::ModelSpec spec = laggard_spec(32, 30, kBurn / 2);
  spec.groups[0].params["fail_at"] = 12.0;
  std::string expected;
  try {
    sequential(spec);
    FAIL() << "the sequential run did not fail";
  } catch (const dsim::Error& e) {
    expected = e.what();
  }
  ASSERT_NE(expected.find("asked to fail"), std::string::npos) << expected;
  for (std::uint32_t threads : {2u, 4u}) {
    SCOPED_TRACE(std::to_string(threads) + " threads");
    try {
      run(with_layout(spec, "optimistic", threads));
      ADD_FAILURE() << "the optimistic run did not fail";
    } catch (const dsim::Error& e) {
      EXPECT_EQ(std::string(e.what()), expected);
    }
  }
}

// --- Statistics commit when GVT passes them (DESIGN.md inv. 6) ----------------

// Counters, tallies, a histogram and a gauge, and series of the counters and
// the gauge, under rollbacks: only committed effects may reach them.
TEST(OptimisticStats, RolledBackStatisticsNeverShow) {
  dsim::ModelSpec spec = laggard_spec();
  spec.output.sample_interval = 1.5;
  const Outcome ref = sequential(spec);
  ASSERT_NE(ref.series.find("lag,level,"), std::string::npos) << ref.series;
  ASSERT_NE(ref.series.find("lag,events,"), std::string::npos) << ref.series;
  ASSERT_NE(ref.csv.find("lag,delay,histogram"), std::string::npos) << ref.csv;
  const Outcome got = run_until(spec, ref, rolled_back);
  EXPECT_GT(got.figures.events_rolled_back, 0u);
}

// A queueing network as written (zero-delay hand-offs, so events at equal
// times on both sides of a partition boundary) with series. Four stations in
// a line: each on its own partition with round-robin on 4 threads.
TEST(OptimisticStats, SeriesWithZeroLookaheadQueueing) {
  const std::vector<std::string> size = {"simulation.end_time=2000", "output.sample_interval=50"};
  const std::string config = std::string(DSIM_SOURCE_DIR) + "/models/queueing/tandem.toml";
  auto with = [&](const std::string& sync, int threads) {
    auto o = size;
    o.push_back("simulation.sync=\"" + sync + "\"");
    o.push_back("simulation.threads=" + std::to_string(threads));
    o.push_back("simulation.partitioner=\"round_robin\"");
    return dsim::load_model(config, o);
  };
  const Outcome ref = run(with("sequential", 1));
  ASSERT_NE(ref.series.find("station2,queue_length,"), std::string::npos) << ref.series;
  for (int threads : {2, 3, 4}) {
    SCOPED_TRACE(std::to_string(threads) + " threads");
    const Outcome got = run(with("optimistic", threads));
    expect_same(got, ref);
    expect_consistent_figures(got.figures);
  }
}

// --- Memory cap ---------------------------------------------------------------

// Zero lookahead: no event is safe before GVT passes it, so every event holds
// a record and the cap binds. (With lookahead, events within GVT + lookahead
// run without a record, and whether a partition reaches its share is a matter
// of timing.) How far a partition runs ahead of GVT adapts to its rollbacks,
// so throttling is retried (run_until).
TEST(OptimisticMemory, SmallCapThrottlesButCompletes) {
  const dsim::ModelSpec spec = phold_la0({});
  const Outcome ref = sequential(spec);
  dsim::ModelSpec capped = spec;
  constexpr std::uint64_t kCap = 64 * 1024;
  capped.simulation.memory_limit = kCap;
  const Outcome got = run_until(capped, ref, [](const dsim::RunFigures& f) {
    return f.throttled_rounds > 0;
  });
  const dsim::RunFigures& f = got.figures;
  EXPECT_EQ(f.memory_limit, kCap);
  EXPECT_GT(f.throttled_rounds, 0u);
  EXPECT_GT(f.peak_saved_bytes, 0u);
  EXPECT_LE(f.peak_saved_bytes, 2 * kCap) << "cap " << kCap;
}

TEST(OptimisticMemory, SmallCapWithLookahead) {
  const std::vector<std::string> size = {"simulation.end_time=30", "entities.phold.count=2000"};
  const dsim::ModelSpec spec = dsim::load_model(
      std::string(DSIM_SOURCE_DIR) + "/models/phold/phold_remote05.toml", size);
  const Outcome ref = sequential(spec);
  dsim::ModelSpec capped = with_layout(spec, "optimistic", 2);
  constexpr std::uint64_t kCap = 64 * 1024;
  capped.simulation.memory_limit = kCap;
  const Outcome got = run(capped);
  expect_same(got, ref);
  expect_consistent_figures(got.figures);
  EXPECT_EQ(got.figures.memory_limit, kCap);
  EXPECT_LE(got.figures.peak_saved_bytes, 2 * kCap) << "cap " << kCap;
}

TEST(OptimisticMemory, SmallCapWithLaggards) {
  // The fast partition runs ahead until the cap stops it.
  const dsim::ModelSpec spec = laggard_spec();
  const Outcome ref = sequential(spec);
  dsim::ModelSpec capped = spec;
  constexpr std::uint64_t kCap = 64 * 1024;
  capped.simulation.memory_limit = kCap;
  const Outcome got = run_until(capped, ref, [](const dsim::RunFigures& f) {
    return f.throttled_rounds > 0;
  });
  EXPECT_EQ(got.figures.memory_limit, kCap);
  EXPECT_GT(got.figures.throttled_rounds, 0u);
  EXPECT_GT(got.figures.peak_saved_bytes, 0u);
  EXPECT_LE(got.figures.peak_saved_bytes, 2 * kCap) << "cap " << kCap;
}

TEST(OptimisticMemory, DefaultCapIsSet) {
  dsim::Registry registry;
  register_types(registry);
  dsim::ModelSpec spec = with_layout(laggard_spec(16, 10, 0), "optimistic", 2);
  ASSERT_EQ(spec.simulation.memory_limit, 0u);
  dsim::validate(spec, registry);
  dsim::Simulation sim(spec, registry);
  EXPECT_GT(sim.plan().memory_limit, 0u);
  const Outcome got = run(spec);
  EXPECT_GT(got.figures.memory_limit, 0u);
  EXPECT_EQ(got.figures.memory_limit, sim.plan().memory_limit);
  EXPECT_EQ(got.figures.throttled_rounds, 0u);
}

// --- Periodic state saving (coast-forward) --------------------------------------

class OptimisticPeriodic : public ::testing::TestWithParam<std::uint32_t> {};

TEST_P(OptimisticPeriodic, MatchesSequential) {
  const std::uint32_t period = GetParam();
  dsim::ModelSpec spec = laggard_spec();
  spec.simulation.state_saving = "periodic";
  spec.simulation.state_saving_period = period;
  const Outcome ref = sequential(spec);
  const Outcome got = run_until(spec, ref, rolled_back);
  EXPECT_GT(got.figures.events_rolled_back, 0u);
  const std::string& mode = got.figures.state_saving;
  if (period > 1) {
    EXPECT_NE(mode.find("periodic(" + std::to_string(period) + ")"), std::string::npos) << mode;
  } else {  // saving every first event is saving every event
    EXPECT_TRUE(mode.find("periodic(1)") != std::string::npos ||
                mode.find("every_event") != std::string::npos)
        << mode;
  }
  EXPECT_NE(mode.find("lag"), std::string::npos) << mode;
}

INSTANTIATE_TEST_SUITE_P(Periods, OptimisticPeriodic, ::testing::Values(1u, 4u, 16u),
                         [](const auto& info) { return "period" + std::to_string(info.param); });

TEST(OptimisticStateSaving, EveryEventIsTheDefault) {
  const dsim::ModelSpec spec = laggard_spec(16, 10, 0);
  EXPECT_EQ(spec.simulation.state_saving, "every_event");
  const Outcome got = run(with_layout(spec, "optimistic", 2));
  EXPECT_NE(got.figures.state_saving.find("every_event"), std::string::npos)
      << got.figures.state_saving;
}

// --- Reverse handlers -----------------------------------------------------------

TEST(OptimisticReverse, ReverseHandlersMatchSequential) {
  dsim::Registry registry;
  register_types(registry);
  ASSERT_TRUE(registry.find("reversible")->reversible);
  ASSERT_FALSE(registry.find("laggard")->reversible);
  const dsim::ModelSpec spec = reversible_spec();
  const Outcome ref = sequential(spec);
  ASSERT_GT(ref.figures.events_processed, 3000u);
  const Outcome got = run_until(spec, ref, rolled_back);
  EXPECT_GT(got.figures.events_rolled_back, 0u);
  EXPECT_NE(got.figures.state_saving.find("reverse"), std::string::npos)
      << got.figures.state_saving;
}

TEST(OptimisticReverse, MixedGroupsMatchSequential) {
  // One group saves state, the other reverses, in one run.
  dsim::ModelSpec spec = laggard_spec(32, 30, kBurn / 2);
  const dsim::ModelSpec rev = reversible_spec(32, 30, kBurn / 2);
  spec.groups.push_back(rev.groups[0]);
  spec.links.push_back(rev.links[0]);
  const Outcome ref = sequential(spec);
  const Outcome got = run_until(spec, ref, rolled_back);
  const std::string& mode = got.figures.state_saving;
  EXPECT_NE(mode.find("lag: every_event"), std::string::npos) << mode;
  EXPECT_NE(mode.find("rev: reverse"), std::string::npos) << mode;
}

// --- Rollback checker (RunOptions::check_rollback) -------------------------------

struct CheckCase {
  std::string name;
  std::string config;
  std::vector<std::string> overrides;
};

void PrintTo(const CheckCase& c, std::ostream* os) { *os << c.name; }

std::vector<CheckCase> check_cases() {
  std::vector<CheckCase> out = {
      {"phold", "models/phold/phold.toml", {"simulation.end_time=10", "entities.phold.count=500"}},
      {"phold_remote05", "models/phold/phold_remote05.toml",
       {"simulation.end_time=10", "entities.phold.count=500"}},
      {"phold_la01", "models/phold/phold_la01.toml",
       {"simulation.end_time=10", "entities.phold.count=500"}},
      {"phold_la0", "models/phold/phold_la0.toml",
       {"simulation.end_time=10", "entities.phold.count=500"}},
      {"epidemic", "models/epidemic/epidemic.toml",
       {"simulation.end_time=40", "entities.people.count=3000"}},
  };
  for (const char* q : {"mm1", "mm1_rho09", "mmc", "mmck", "tandem", "jackson"})
    out.push_back({q, std::string("models/queueing/") + q + ".toml", {"simulation.end_time=1000"}});
  return out;
}

class RollbackCheck : public ::testing::TestWithParam<CheckCase> {};

TEST_P(RollbackCheck, ReferenceModelPasses) {
  const CheckCase& c = GetParam();
  const std::string path = std::string(DSIM_SOURCE_DIR) + "/" + c.config;
  auto overrides = c.overrides;
  overrides.push_back("simulation.sync=\"sequential\"");
  const Outcome ref = run(dsim::load_model(path, overrides));
  ASSERT_GT(ref.figures.events_processed, 500u);
  // The checker runs alone on one partition whatever the layout asks for.
  auto checked_overrides = c.overrides;
  checked_overrides.push_back("simulation.threads=2");
  dsim::RunOptions options;
  options.check_rollback = true;
  const Outcome got = run(dsim::load_model(path, checked_overrides), options);
  expect_same(got, ref);
  EXPECT_EQ(got.figures.rollback_checks, got.figures.events_processed);
  EXPECT_EQ(got.figures.threads, 1u);
}

INSTANTIATE_TEST_SUITE_P(Models, RollbackCheck, ::testing::ValuesIn(check_cases()),
                         [](const auto& info) { return info.param.name; });

// A pure group (ids 0-2, first events at 0.5) ahead of the group under test
// (ids 3-4), so the error must name the right entity, not just the first.
dsim::ModelSpec checker_spec(dsim::GroupSpec tested) {
  dsim::ModelSpec spec = laggard_spec(3, 5, 0);
  spec.groups.push_back(std::move(tested));
  spec.links.push_back(any_link(spec.groups[1].name, 0.0));
  return spec;
}

std::string checker_error(const dsim::ModelSpec& spec) {
  dsim::RunOptions options;
  options.check_rollback = true;
  try {
    run(spec, options);
  } catch (const dsim::Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "the rollback checker accepted it";
  return {};
}

TEST(RollbackCheckFails, ImpureHandlerState) {
  const std::string what =
      checker_error(checker_spec({"imp", "impure", 2, {{"where", std::string("state")}}, {}, {}}));
  EXPECT_NE(what.find("imp[1] (id 4)"), std::string::npos) << what;
  EXPECT_NE(what.find("event 'impure.tick'"), std::string::npos) << what;
  EXPECT_NE(what.find("at time 0.75:"), std::string::npos) << what;
  EXPECT_NE(what.find("State"), std::string::npos) << what;
}

TEST(RollbackCheckFails, ImpureHandlerPayload) {
  const std::string what =
      checker_error(checker_spec({"imp", "impure", 2, {{"where", std::string("payload")}}, {}, {}}));
  EXPECT_NE(what.find("imp[1] (id 4)"), std::string::npos) << what;
  EXPECT_NE(what.find("event 'impure.tick'"), std::string::npos) << what;
  EXPECT_NE(what.find("at time 0.75:"), std::string::npos) << what;
  EXPECT_NE(what.find("sent different events"), std::string::npos) << what;
}

TEST(RollbackCheckFails, WrongReverseHandler) {
  const std::string what = checker_error(
      checker_spec({"rev", "reversible", 2, {{"forget_weight", true}}, {}, {}}));
  // rev[0] handles the first Ping at 0.5, after the pure group's ids 0-2.
  EXPECT_NE(what.find("rev[0] (id 3)"), std::string::npos) << what;
  EXPECT_NE(what.find("handling event 'reversible.ping'"), std::string::npos) << what;
  EXPECT_NE(what.find("at time 0.5:"), std::string::npos) << what;
  EXPECT_NE(what.find("reverse handler"), std::string::npos) << what;
}

TEST(RollbackCheckPasses, CorrectReverseHandler) {
  const dsim::ModelSpec spec =
      checker_spec({"rev", "reversible", 8, {{"forget_weight", false}}, {}, {}});
  const Outcome ref = sequential(spec);
  dsim::RunOptions options;
  options.check_rollback = true;
  const Outcome got = run(spec, options);
  expect_same(got, ref);
  EXPECT_GT(got.figures.rollback_checks, 0u);
  EXPECT_EQ(got.figures.rollback_checks, got.figures.events_processed);
}

}  // namespace
