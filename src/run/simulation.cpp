#include "dsim/simulation.hpp"

#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>
#include <thread>

#include "core/model.hpp"
#include "core/layout.hpp"
#include "core/partition.hpp"
#include "checkpoint/checkpoint_reader.hpp"
#include "checkpoint/model_identity.hpp"
#include "run/checkpointer.hpp"
#include "run/planner.hpp"
#include "partition/partitioner.hpp"
#include "stats/exact_sum.hpp"
#include "stats/partials.hpp"
#include "sync/delivery.hpp"
#include "sync/quiet_points.hpp"
#include "sync/synchronizer.hpp"
#include "sync/time_warp.hpp"
#include "transport/cluster.hpp"
#include "transport/transport.hpp"

namespace dsim {

using detail::ExactSum;
using detail::Partials;
using detail::StatPartial;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

std::uint64_t peak_rss_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<std::uint64_t>(usage.ru_maxrss) * 1024;
}

StatResult finish_stat(const detail::GroupRuntime& g, const StatDecl& d, const StatPartial& p,
                       Time end_time) {
  StatResult r{g.name, d.name, d.kind, {}};
  const double n = static_cast<double>(g.count);
  switch (d.kind) {
    case StatKind::kCounter: {
      const double t = p.a.value();
      r.fields = {{"total", t}, {"mean", g.count ? t / n : 0}, {"min", g.count ? p.min : 0},
                  {"max", g.count ? p.max : 0}};
      break;
    }
    case StatKind::kTally: {
      const std::uint64_t count = p.count;
      const long double c = static_cast<long double>(count);
      const long double s = p.a.value(), q = p.b.value();
      const double mean = count ? static_cast<double>(s / c) : 0.0;
      double var = 0;
      if (count > 1) var = static_cast<double>(std::max(0.0L, (q - s * s / c) / (c - 1)));
      r.fields = {{"count", static_cast<double>(count)},
                  {"mean", mean},
                  {"stddev", std::sqrt(var)},
                  {"variance", var},
                  {"min", count ? p.min : 0},
                  {"max", count ? p.max : 0},
                  {"sum", static_cast<double>(s)}};
      break;
    }
    case StatKind::kGauge: {
      const double a = p.a.value();
      r.fields = {{"mean", g.count && end_time > 0 ? a / (n * end_time) : 0},
                  {"total_mean", end_time > 0 ? a / end_time : 0},
                  {"min", std::min(0.0, p.min)},
                  {"max", std::max(0.0, p.max)},
                  {"final", p.b.value()}};
      break;
    }
    case StatKind::kHistogram: {
      std::uint64_t count = 0;
      for (auto b : p.bins) count += b;
      r.fields = {{"count", static_cast<double>(count)},
                  {"underflow", static_cast<double>(p.bins.front())},
                  {"overflow", static_cast<double>(p.bins.back())}};
      for (std::uint32_t i = 0; i < d.bins; ++i)
        r.fields.emplace_back(fmt::format("bin_{}", i), static_cast<double>(p.bins[i + 1]));
      r.lo = d.lo;
      r.hi = d.hi;
      r.bins = d.bins;
      break;
    }
  }
  return r;
}

// Whether a counter or gauge has a time series (one row of samples).
bool has_series(const StatDecl& d) {
  return d.kind == StatKind::kCounter || d.kind == StatKind::kGauge;
}

}  // namespace

struct Simulation::Impl {
  Clock::time_point created;
  ModelSpec spec;
  const Registry& registry;
  // The run's own duplicate of the host's communicator (or one process).
  std::unique_ptr<detail::Cluster> cluster;
  Machine machine;
  std::string mpi_progress;
  std::unique_ptr<const detail::Model> model;
  bool ran = false;
  std::optional<RunPlan> plan;

  Impl(ModelSpec s, const Registry& r, const Environment& env)
      : created(Clock::now()),
        spec(std::move(s)),
        registry(r),
        cluster(env.communicator ? env.communicator->cluster().duplicate()
                                 : std::make_unique<detail::Cluster>()),
        machine(env.machine.cores > 0 ? env.machine : Machine::detect(cluster->local_size())),
        mpi_progress(env.mpi_progress) {
    if (mpi_progress != "worker" && mpi_progress != "thread")
      throw Error(fmt::format("MPI progress mode '{}' is neither 'worker' (the default) nor "
                              "'thread'",
                              mpi_progress));
    if (machine.memory_bytes == 0)
      machine.memory_bytes = Machine::detect(cluster->local_size()).memory_bytes;
    if (!spec.validated) validate(spec, registry);
    model = std::make_unique<detail::Model>(spec, registry);
  }

  // A reseeded copy of `from` (Simulation::reseeded).
  Impl(const Impl& from, std::uint64_t seed)
      : created(Clock::now()),
        spec(from.spec),
        registry(from.registry),
        cluster(from.cluster->duplicate()),
        machine(from.machine),
        mpi_progress(from.mpi_progress) {
    spec.simulation.seed = seed;
    const bool same_graph = !from.model->graph_depends_on_seed();
    model = std::make_unique<detail::Model>(spec, registry, same_graph ? from.model.get() : nullptr);
    if (same_graph) plan = from.plan;
  }

  const RunPlan& make_plan();
  RunResult run(const RunOptions& options);
  Partials collect(const std::vector<std::unique_ptr<detail::Partition>>& parts) const;
  std::unique_ptr<detail::Synchronizer> make_synchronizer(const RunPlan& p, bool check_rollback,
                                                          std::uint32_t threads,
                                                          RunFigures& figures) const;
  RunResult finish(const Partials& partials) const;
};

const RunPlan& Simulation::Impl::make_plan() {
  if (plan) return *plan;
  plan = detail::plan_run(spec, *model, machine, cluster->size());
  return *plan;
}

RunResult Simulation::Impl::run(const RunOptions& options) {
  if (ran) throw Error("Simulation::run() may be called only once", Error::Kind::kRuntime);
  ran = true;
  const RunPlan& p = make_plan();
  RunFigures figures;
  figures.engine = p.engine;
  figures.sync = p.sync;
  figures.sync_reason = p.reason;
  figures.partitioner = p.partitioner;
  figures.threads = p.threads;
  figures.ranks = p.ranks;
  figures.edge_cut = p.edge_cut;
  figures.rank_edge_cut = p.rank_edge_cut;
  std::uint32_t threads = p.threads;
  // The run's own layout of the model: as planned, or (the checker runs
  // every event twice on one partition) everything in partition 0.
  std::optional<detail::Layout> layout;
  if (options.check_rollback) {
    threads = 1;
    layout.emplace(*model, false);
    figures.engine = Engine::kSequential;
    figures.sync = engine_name(Engine::kSequential);
    figures.sync_reason = "--check-rollback runs sequentially";
    figures.threads = 1;
    figures.edge_cut = 0;
    figures.rank_edge_cut = 0;
  } else {
    layout.emplace(*model, p.partition_of, static_cast<std::uint32_t>(p.partition_entities.size()),
                   p.engine == Engine::kOptimistic);
  }
  const std::unique_ptr<detail::Synchronizer> synchronizer =
      make_synchronizer(p, options.check_rollback, threads, figures);
  detail::Cluster& cluster = *this->cluster;

  // A resumed run starts from a checkpoint's image (every process reads it
  // whole and imports the entities its partitions hold).
  std::optional<checkpoint::ModelIdentity> identity;
  if (!options.resume.empty() || !options.checkpoint.directory.empty())
    identity = checkpoint::identify(*model);
  std::optional<checkpoint::Loaded> resumed;
  std::optional<Partials> resumed_statistics;
  {
    std::exception_ptr error;
    try {
      if (!options.resume.empty()) {
        resumed = checkpoint::load_latest_checkpoint(options.resume, *identity);
        const Time cut = resumed->image.snapshot.safe_time;
        if (!(cut < model->end_time()))
          throw Error(fmt::format("checkpoint '{}' was taken at simulated time {}; the end time "
                                  "({}) must be later to resume from it",
                                  resumed->image.path.string(), cut, model->end_time()));
        resumed_statistics = checkpoint::image_statistics(resumed->image, model->sample_count());
      }
    } catch (...) {
      error = std::current_exception();
    }
    cluster.agree(error);
    if (resumed && options.on_warning)
      for (const auto& r : resumed->refused)
        options.on_warning(fmt::format("passed over checkpoint {}: {}", r.path.string(),
                                       r.problem));
  }

  // This process's partitions: rank r runs [r * threads, (r + 1) * threads)
  // of the layout's (sequential under MPI: partition 0, on rank 0).
  const auto [first, last] =
      detail::partitions_of(cluster.rank(), threads, layout->partitions());
  std::vector<std::unique_ptr<detail::Partition>> parts;
  // A failure on one process must reach the others before they wait for it
  // in a collective: init and the run each end with an agreement.
  std::unique_ptr<detail::Transport> transport;
  std::exception_ptr error;
  try {
    for (std::uint32_t id = first; id < last; ++id) {
      parts.push_back(synchronizer->make_partition(*model, *layout, id));
      // A checkpoint must hold the events past the end too: a resume may
      // extend the end time.
      if (!options.checkpoint.directory.empty()) parts.back()->keep_events_past_end();
    }
    transport = std::make_unique<detail::Transport>(cluster, threads, layout->partitions(),
                                                    mpi_progress == "thread");
    for (auto& p : parts) {
      if (!resumed) {
        p->init();
        continue;
      }
      // The run's statistics at the cut go to one partition: partition 0.
      p->restore(resumed->image.snapshot,
                 p->id() == 0 ? &*resumed_statistics : nullptr);
    }
  } catch (...) {
    error = std::current_exception();
  }
  cluster.agree(error);
  if (resumed) {
    figures.resumed_from = resumed->image.path.string();
    figures.resumed_at = resumed->image.snapshot.safe_time;
  }
  const std::uint64_t events_before = resumed ? resumed->image.snapshot.events : 0;
  resumed.reset();  // the image's memory goes back before the run
  resumed_statistics.reset();

  // Checkpoints: a RunControl of their own, around the host's.
  RunOptions effective = options;
  std::optional<detail::Checkpointer> checkpointer;
  if (!options.checkpoint.directory.empty()) {
    detail::Checkpointer::Setup setup;
    setup.options = options.checkpoint;
    setup.inner = options.control;
    setup.writes = !parts.empty();
    // Sequential under MPI runs on process 0 alone: one shard.
    const bool every_process = figures.engine != Engine::kSequential;
    setup.shard = every_process ? cluster.rank() : 0;
    setup.shards = every_process ? cluster.size() : 1;
    setup.layout = {setup.shards, threads, figures.sync, figures.partitioner};
    setup.end_time = model->end_time();
    setup.resumed_at = figures.resumed_at;
    setup.figures = figures;
    setup.warn = options.on_warning;
    checkpointer.emplace(std::move(setup), *identity, cluster);
    effective.control = &*checkpointer;
  }
  detail::deliver_initial_events(*transport, parts);
  if (checkpointer) {
    // The writer thread readies the first snapshot's memory meanwhile.
    detail::Checkpointer::Shape shape;
    for (const auto& p : parts) {
      for (const detail::LocalGroup& g : p->store().groups())
        if (g.count > 0) shape.parts.emplace_back(g.count, g.runtime->history_off);
      shape.pending += p->store().queue().size();
    }
    checkpointer->prepare(std::move(shape));
  }
  const auto loop_start = Clock::now();
  figures.init_seconds = seconds_between(created, loop_start);

  // Progress goes to its consumer on a thread of its own, from what the
  // engine publishes at quiet points (the feed joins it when it goes).
  std::optional<detail::ProgressFeed> feed;
  if (options.on_progress)
    feed.emplace(options.on_progress, options.progress_interval,
                 checkpointer ? std::function<std::uint64_t()>(
                                    [&checkpointer] { return checkpointer->written(); })
                              : std::function<std::uint64_t()>());
  detail::QuietPoints quiet(effective, model->end_time(), feed ? &*feed : nullptr);
  // Under MPI each process holds a share: published figures are pooled.
  if (!parts.empty() && parts.size() != transport->partitions())
    quiet.set_gather([&cluster](std::span<const std::byte> mine) { return cluster.allgather(mine); });
  quiet.set_events_before(events_before);
  detail::SyncRun sr{*model, *layout, parts, *transport, effective, figures, quiet};
  sr.processes_here = cluster.local_size();
  sr.cores = machine.cores;
  auto loop_end = Clock::now();
  try {
    // Sequential under MPI: the other processes have nothing to run.
    if (!parts.empty()) synchronizer->run(sr);
    loop_end = Clock::now();
    if (!sr.stopped)
      for (auto& p : parts) p->finish();
  } catch (...) {
    error = std::current_exception();
  }
  // Every checkpoint handed over is written before the run ends (or stops).
  if (checkpointer) checkpointer->finish();
  transport->finish();
  feed.reset();
  cluster.agree(error, sr.error_key);
  // The parallel engines stop every process at one quiet point; sequential
  // under MPI runs on rank 0 alone, and the others learn of its stop here.
  if (cluster.distributed()) {
    const auto at = cluster.gather(sr.stopped ? std::vector<Time>{sr.stopped_at}
                                              : std::vector<Time>{});
    if (!at.empty()) {
      sr.stopped = true;
      sr.stopped_at = at.front();
    }
  }
  if (sr.stopped)
    throw RunStopped(sr.stopped_at, fmt::format("the run was stopped at simulated time {} of {}",
                                                sr.stopped_at, model->end_time()));

  Partials partials = collect(parts);
  if (cluster.distributed()) {
    const auto all = cluster.allgather(detail::encode(partials));
    const Partials shape = partials;
    for (std::uint32_t r = 0; r < all.size(); ++r) {
      if (r == cluster.rank()) continue;
      detail::merge(partials, detail::decode(all[r], shape));
    }
  }
  RunResult result = finish(partials);

  // Figures: summed over processes; each partition's, in partition order.
  enum Sum : std::size_t {
    kEvents, kRolledBack, kPrimary, kSecondary, kPeakSaved, kChecks, kExecuted, kPeakRss, kSums
  };
  std::vector<std::uint64_t> sums(kSums, 0);
  std::vector<PartitionFigures> mine;
  for (const auto& p : parts) {
    sums[kEvents] += p->events();
    sums[kRolledBack] += p->rolled_back();
    sums[kPrimary] += p->rollbacks_primary();
    sums[kSecondary] += p->rollbacks_secondary();
    sums[kPeakSaved] += p->peak_saved_bytes();
    sums[kChecks] += p->checks();
    sums[kExecuted] += p->executed();
    mine.push_back({p->id(), p->id() / threads, p->entities(), p->events(), p->remote_sends(),
                    p->busy_seconds, p->blocked_seconds, p->rolled_back()});
  }
  sums[kPeakRss] = peak_rss_bytes();
  sums = cluster.sum(std::move(sums));
  figures.events_processed = sums[kEvents] + events_before;
  figures.events_rolled_back = sums[kRolledBack];
  figures.rollbacks_primary = sums[kPrimary];
  figures.rollbacks_secondary = sums[kSecondary];
  figures.peak_saved_bytes = sums[kPeakSaved];
  figures.rollback_checks = sums[kChecks];
  const std::uint64_t executed = sums[kExecuted];
  figures.partitions = cluster.gather(mine);
  figures.events_executed = figures.engine == Engine::kOptimistic ? executed : figures.events_processed;
  figures.efficiency = figures.events_executed > 0
                           ? static_cast<double>(figures.events_processed) /
                                 static_cast<double>(figures.events_executed)
                           : 1.0;
  figures.run_seconds = seconds_between(loop_start, loop_end);
  figures.event_rate =
      figures.run_seconds > 0 ? static_cast<double>(figures.events_processed) / figures.run_seconds
                              : 0;
  figures.wall_seconds = seconds_between(created, Clock::now());
  figures.peak_rss_bytes = sums[kPeakRss];  // of every process
  if (checkpointer) checkpointer->add_figures(figures);
  // The workers' pauses for snapshots: the longest and the largest total of
  // any process.
  const auto pauses = cluster.gather(std::vector<double>{quiet.pause_max(), quiet.pause_total()});
  for (std::size_t i = 0; i + 1 < pauses.size(); i += 2) {
    figures.checkpoint_pause_max = std::max(figures.checkpoint_pause_max, pauses[i]);
    figures.checkpoint_pause_total = std::max(figures.checkpoint_pause_total, pauses[i + 1]);
  }
  result.figures = std::move(figures);
  return result;
}

Partials Simulation::Impl::collect(
    const std::vector<std::unique_ptr<detail::Partition>>& parts) const {
  // Each store's share, blocks included; shares combine exactly, in any order.
  Partials out = detail::empty_statistics(*model);
  for (const auto& p : parts) detail::merge(out, p->store().statistics(true));
  return out;
}

std::unique_ptr<detail::Synchronizer> Simulation::Impl::make_synchronizer(
    const RunPlan& p, bool check_rollback, std::uint32_t threads, RunFigures& figures) const {
  if (check_rollback) return detail::make_rollback_check_sync();
  switch (p.engine) {
    case Engine::kSequential:
      return detail::make_sequential_sync();
    case Engine::kConservative:
      return detail::make_conservative_sync(p.lookahead);
    case Engine::kOptimistic:
      break;
    case Engine::kAuto:
      throw Error("internal: the plan left the engine 'auto'", Error::Kind::kRuntime);
  }
  detail::OptimisticOptions o;
  o.period = spec.simulation.state_saving == "periodic" ? spec.simulation.state_saving_period : 1;
  o.budget_bytes = std::max<std::uint64_t>(1, p.memory_limit / threads);
  o.safe_lookahead = p.lookahead;
  figures.memory_limit = p.memory_limit;
  std::string modes;
  for (const auto& g : model->groups()) {
    if (!modes.empty()) modes += ", ";
    modes += g.name + ": " +
             (g.type->reversible ? std::string("reverse")
              : o.period > 1     ? fmt::format("periodic({})", o.period)
                                 : std::string("every_event"));
  }
  figures.state_saving = modes;
  return detail::make_optimistic_sync(o);
}

RunResult Simulation::Impl::finish(const Partials& partials) const {
  RunResult result;
  result.end_time = spec.simulation.end_time;
  result.seed = spec.simulation.seed;
  const auto& groups = model->groups();
  const std::uint32_t samples = model->sample_count();
  std::size_t stat = 0, cell = 0;
  for (const auto& gr : groups) {
    for (const StatDecl& d : gr.stats)
      result.stats.push_back(finish_stat(gr, d, partials.stats[stat++], spec.simulation.end_time));
    if (samples == 0) continue;
    for (const StatDecl& d : gr.stats) {
      if (!has_series(d)) continue;
      SeriesResult s{gr.name, d.name, {}, {}};
      for (std::uint32_t k = 0; k < samples; ++k) {
        s.times.push_back(model->sample_interval() * (k + 1));
        s.values.push_back(partials.series[cell++].value());
      }
      result.series.push_back(std::move(s));
    }
  }
  return result;
}

Simulation::Simulation(ModelSpec spec, const Registry& registry, const Environment& environment)
    : impl_(std::make_unique<Impl>(std::move(spec), registry, environment)) {}
Simulation::Simulation(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Simulation::~Simulation() = default;
std::unique_ptr<Simulation> Simulation::reseeded(std::uint64_t seed) const {
  return std::unique_ptr<Simulation>(new Simulation(std::make_unique<Impl>(*impl_, seed)));
}
RunResult Simulation::run(const RunOptions& options) { return impl_->run(options); }
const RunPlan& Simulation::plan() { return impl_->make_plan(); }
const ModelSpec& Simulation::spec() const { return impl_->spec; }

std::vector<Simulation::Statistic> Simulation::statistics() const {
  std::vector<Statistic> out;
  for (const detail::GroupRuntime& g : impl_->model->groups())
    for (const StatDecl& d : g.stats) out.push_back({g.name, d});
  return out;
}

}  // namespace dsim
