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
#include "core/partition.hpp"
#include "partition/partitioner.hpp"
#include "stats/exact_sum.hpp"
#include "sync/synchronizer.hpp"
#include "transport/transport.hpp"

namespace dsim {

using detail::ExactSum;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// Half the machine's memory, or of the cgroup's limit when it is smaller.
std::uint64_t default_memory_limit() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page = sysconf(_SC_PAGESIZE);
  std::uint64_t total = pages > 0 && page > 0 ? static_cast<std::uint64_t>(pages) *
                                                    static_cast<std::uint64_t>(page)
                                              : std::uint64_t{8} << 30;
  if (std::FILE* f = std::fopen("/sys/fs/cgroup/memory.max", "r")) {
    unsigned long long limit = 0;
    if (std::fscanf(f, "%llu", &limit) == 1 && limit > 0 && limit < total) total = limit;
    std::fclose(f);
  }
  return total / 2;
}

std::uint64_t peak_rss_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<std::uint64_t>(usage.ru_maxrss) * 1024;
}

// Smallest lookahead over links whose events may cross partitions, and the
// first such link with zero lookahead (or -1).
struct CrossingLookahead {
  double min = kTimeInfinity;
  int zero_link = -1;
};

CrossingLookahead crossing_lookahead(const detail::Model& model) {
  const auto& groups = model.groups();
  const std::size_t ng = groups.size();
  const auto& where = model.where();
  auto part = [&](std::uint64_t id) { return where[id].partition; };
  // Which partitions each group spans.
  std::vector<std::uint32_t> first_part(ng), spans(ng, 0);
  for (std::size_t g = 0; g < ng; ++g) {
    if (groups[g].count == 0) continue;
    first_part[g] = part(groups[g].first);
    for (std::uint64_t i = 0; i < groups[g].count; ++i)
      if (part(groups[g].first + i) != first_part[g]) {
        spans[g] = 1;
        break;
      }
  }
  // Group pairs with a declared edge between partitions.
  std::vector<char> edge_crosses(ng * ng, 0);
  const auto& off = model.nb_offsets();
  const auto& ids = model.nb_ids();
  for (std::uint64_t v = 0; v + 1 < off.size(); ++v)
    for (std::uint64_t k = off[v]; k < off[v + 1]; ++k)
      if (part(v) != part(ids[k]))
        edge_crosses[model.group_of(static_cast<EntityId>(v)) * ng +
                     model.group_of(ids[k])] = 1;
  CrossingLookahead out;
  const auto& links = model.links();
  for (std::size_t i = 0; i < links.size(); ++i) {
    const auto& l = links[i];
    const bool crosses =
        edge_crosses[l.from_group * ng + l.to_group] ||
        (l.implicit && (spans[l.from_group] || spans[l.to_group] ||
                        first_part[l.from_group] != first_part[l.to_group]));
    if (!crosses) continue;
    out.min = std::min(out.min, l.lookahead);
    if (l.lookahead <= 0 && out.zero_link < 0) out.zero_link = static_cast<int>(i);
  }
  return out;
}

StatResult reduce_stat(const detail::GroupRuntime& g, const StatDecl& d,
                       const std::vector<std::unique_ptr<detail::Partition>>& parts,
                       std::size_t group_index, Time end_time) {
  StatResult r{g.name, d.name, d.kind, {}};
  const double n = static_cast<double>(g.count);
  switch (d.kind) {
    case StatKind::kCounter: {
      ExactSum total;
      double min = kTimeInfinity, max = -kTimeInfinity;
      for (const auto& p : parts) {
        const auto& lg = p->groups()[group_index];
        for (std::uint32_t s = 0; s < lg.count; ++s) {
          const double v =
              reinterpret_cast<const double*>(lg.block(s) + g.counters_off)[d.index];
          total.add(v);
          min = std::min(min, v);
          max = std::max(max, v);
        }
      }
      const double t = total.value();
      r.fields = {{"total", t}, {"mean", g.count ? t / n : 0}, {"min", g.count ? min : 0},
                  {"max", g.count ? max : 0}};
      break;
    }
    case StatKind::kTally: {
      std::uint64_t count = 0;
      ExactSum sum, sumsq;
      double min = kTimeInfinity, max = -kTimeInfinity;
      for (const auto& p : parts) {
        const auto& t = p->groups()[group_index].tallies[d.index];
        count += t.count;
        sum.merge(t.sum);
        sumsq.merge(t.sumsq);
        min = std::min(min, t.min);
        max = std::max(max, t.max);
      }
      const long double c = static_cast<long double>(count);
      const long double s = sum.value(), q = sumsq.value();
      const double mean = count ? static_cast<double>(s / c) : 0.0;
      double var = 0;
      if (count > 1) var = static_cast<double>(std::max(0.0L, (q - s * s / c) / (c - 1)));
      r.fields = {{"count", static_cast<double>(count)},
                  {"mean", mean},
                  {"stddev", std::sqrt(var)},
                  {"variance", var},
                  {"min", count ? min : 0},
                  {"max", count ? max : 0},
                  {"sum", static_cast<double>(s)}};
      break;
    }
    case StatKind::kGauge: {
      ExactSum area, final_sum;
      double min = 0, max = 0;
      for (const auto& p : parts) {
        const auto& lg = p->groups()[group_index];
        min = std::min(min, lg.gauges[d.index].min);
        max = std::max(max, lg.gauges[d.index].max);
        for (std::uint32_t s = 0; s < lg.count; ++s) {
          const auto& slot =
              reinterpret_cast<const detail::GaugeSlot*>(lg.block(s) + g.gauges_off)[d.index];
          area.add(slot.area);
          final_sum.add(slot.level);
        }
      }
      const double a = area.value();
      r.fields = {{"mean", g.count && end_time > 0 ? a / (n * end_time) : 0},
                  {"total_mean", end_time > 0 ? a / end_time : 0},
                  {"min", min},
                  {"max", max},
                  {"final", final_sum.value()}};
      break;
    }
    case StatKind::kHistogram: {
      std::vector<std::uint64_t> bins(d.bins + 2, 0);
      for (const auto& p : parts) {
        const auto& h = p->groups()[group_index].histograms[d.index].bins;
        for (std::size_t i = 0; i < bins.size(); ++i) bins[i] += h[i];
      }
      std::uint64_t count = 0;
      for (auto b : bins) count += b;
      r.fields = {{"count", static_cast<double>(count)},
                  {"underflow", static_cast<double>(bins.front())},
                  {"overflow", static_cast<double>(bins.back())}};
      for (std::uint32_t i = 0; i < d.bins; ++i)
        r.fields.emplace_back(fmt::format("bin_{}", i), static_cast<double>(bins[i + 1]));
      r.lo = d.lo;
      r.hi = d.hi;
      r.bins = d.bins;
      break;
    }
  }
  return r;
}

}  // namespace

struct Simulation::Impl {
  Clock::time_point created;
  ModelSpec spec;
  const Registry& registry;
  std::unique_ptr<detail::Model> model;
  bool ran = false;
  std::optional<RunPlan> plan;

  Impl(ModelSpec s, const Registry& r) : created(Clock::now()), spec(std::move(s)), registry(r) {
    if (!spec.validated) validate(spec, registry);
    model = std::make_unique<detail::Model>(spec, registry);
  }

  const RunPlan& make_plan();
  RunResult run(const RunOptions& options);
  RunResult reduce(const std::vector<std::unique_ptr<detail::Partition>>& parts) const;
};

const RunPlan& Simulation::Impl::make_plan() {
  if (plan) return *plan;
  const SimulationSpec& sim = spec.simulation;
  RunPlan p;
  std::uint32_t threads = sim.threads;
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  threads = static_cast<std::uint32_t>(
      std::max<std::uint64_t>(1, std::min<std::uint64_t>(threads, model->entity_count())));

  std::string sync = sim.sync;
  bool optimistic = false;
  if (sync == "optimistic") {
    // Any lookahead will do, zero included; one thread is Time Warp on one
    // partition (no rollbacks, but the same commit path).
    p.reason = "sync = \"optimistic\" was asked for";
    p.memory_limit = sim.memory_limit > 0 ? sim.memory_limit : default_memory_limit();
    optimistic = true;
  } else if (sync == "sequential") {
    p.reason = "sync = \"sequential\" was asked for";
    threads = 1;
  } else if (sync == "auto" && threads == 1) {
    sync = "sequential";
    p.reason = "one thread";
  }

  auto partitioner = detail::make_partitioner(sim.partitioner);
  auto assign = [&](std::uint32_t parts) {
    model->assign(partitioner->assign(*model, parts), parts);
  };
  assign(threads);

  if (sync == "conservative" || sync == "auto") {
    const CrossingLookahead cl = crossing_lookahead(*model);
    if (cl.zero_link >= 0) {
      const LinkSpec& l = spec.links[cl.zero_link];
      const std::string which = fmt::format(
          "{}: links[{}] ({} -> {}) has lookahead {} and connects entities in different "
          "partitions",
          l.location.str(), cl.zero_link, l.from, l.to, l.lookahead ? *l.lookahead : 0.0);
      if (sync == "conservative")
        throw Error(which + "; conservative sync needs a lookahead > 0 on every link between "
                            "partitions (set the link's lookahead, or use sync = \"optimistic\", "
                            "which needs none, or \"sequential\")");
      sync = "sequential";
      p.reason = which + "; conservative sync is impossible, so it runs sequentially";
      threads = 1;
      assign(1);
    } else {
      if (sync == "auto") {
        sync = "conservative";
        p.reason = fmt::format("{} threads and lookahead {} > 0 on every link between partitions",
                               threads, cl.min);
      } else {
        p.reason = "sync = \"conservative\" was asked for";
      }
      p.lookahead = cl.min;
    }
  }
  if (optimistic) {
    // Not a requirement, a gift: events below GVT + this lookahead need no
    // state saving (partition_optimistic.cpp, execute_safe).
    p.lookahead = crossing_lookahead(*model).min;
  }
  p.sync = sync;
  p.partitioner = sim.partitioner;
  p.threads = threads;
  p.edge_cut = detail::edge_cut(*model);
  p.partition_entities.assign(threads, 0);
  for (const auto& w : model->where()) ++p.partition_entities[w.partition];
  plan = std::move(p);
  return *plan;
}

RunResult Simulation::Impl::run(const RunOptions& options) {
  if (ran) throw Error("Simulation::run() may be called only once", Error::Kind::kRuntime);
  ran = true;
  const RunPlan& p = make_plan();
  RunFigures figures;
  figures.sync = p.sync;
  figures.sync_reason = p.reason;
  figures.partitioner = p.partitioner;
  figures.threads = p.threads;
  figures.edge_cut = p.edge_cut;
  std::uint32_t threads = p.threads;
  if (options.check_rollback) {
    // The checker runs every event twice on one partition.
    threads = 1;
    model->assign(std::vector<std::uint32_t>(model->entity_count(), 0), 1);
    figures.sync = "sequential";
    figures.sync_reason = "--check-rollback runs sequentially";
    figures.threads = 1;
    figures.edge_cut = 0;
  }

  std::vector<std::unique_ptr<detail::Partition>> parts;
  for (std::uint32_t p = 0; p < threads; ++p)
    parts.push_back(std::make_unique<detail::Partition>(*model, p));
  detail::ThreadTransport transport(parts);
  for (auto& p : parts) p->init();
  for (auto& p : parts) transport.deliver(*p);
  const auto loop_start = Clock::now();
  figures.init_seconds = seconds_between(created, loop_start);

  std::unique_ptr<detail::Synchronizer> synchronizer;
  if (options.check_rollback) {
    parts[0]->start_check();
    synchronizer = detail::make_sequential_sync();
  } else if (p.sync == "optimistic") {
    detail::OptimisticOptions o;
    o.period = spec.simulation.state_saving == "periodic" ? spec.simulation.state_saving_period : 1;
    o.budget_bytes = std::max<std::uint64_t>(1, p.memory_limit / threads);
    o.safe_lookahead = p.lookahead;
    synchronizer = detail::make_optimistic_sync(o);
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
  } else if (p.sync == "sequential") {
    synchronizer = detail::make_sequential_sync();
  } else {
    synchronizer = detail::make_conservative_sync(p.lookahead);
  }
  detail::SyncRun sr{*model, parts, transport, options, figures};
  synchronizer->run(sr);
  const auto loop_end = Clock::now();
  for (auto& p : parts) p->finish();

  RunResult result = reduce(parts);
  std::uint64_t executed = 0;
  for (const auto& p : parts) {
    figures.events_processed += p->events();
    figures.events_rolled_back += p->rolled_back();
    figures.rollbacks_primary += p->rollbacks_primary();
    figures.rollbacks_secondary += p->rollbacks_secondary();
    figures.peak_saved_bytes += p->peak_saved_bytes();
    figures.rollback_checks += p->checks();
    executed += p->executed();
    figures.partitions.push_back({p->id(), 0, p->entities(), p->events(), p->remote_sends(),
                                  p->busy_seconds, p->blocked_seconds, p->rolled_back()});
  }
  figures.events_executed = figures.sync == "optimistic" ? executed : figures.events_processed;
  figures.efficiency = figures.events_executed > 0
                           ? static_cast<double>(figures.events_processed) /
                                 static_cast<double>(figures.events_executed)
                           : 1.0;
  figures.run_seconds = seconds_between(loop_start, loop_end);
  figures.event_rate =
      figures.run_seconds > 0 ? static_cast<double>(figures.events_processed) / figures.run_seconds
                              : 0;
  figures.wall_seconds = seconds_between(created, Clock::now());
  figures.peak_rss_bytes = peak_rss_bytes();
  result.figures = std::move(figures);
  return result;
}

RunResult Simulation::Impl::reduce(
    const std::vector<std::unique_ptr<detail::Partition>>& parts) const {
  RunResult result;
  result.end_time = spec.simulation.end_time;
  result.seed = spec.simulation.seed;
  const auto& groups = model->groups();
  const std::uint32_t samples = model->sample_count();
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const auto& gr = groups[g];
    for (const StatDecl& d : gr.stats)
      result.stats.push_back(reduce_stat(gr, d, parts, g, spec.simulation.end_time));
    if (samples == 0) continue;
    for (const StatDecl& d : gr.stats) {
      if (d.kind != StatKind::kCounter && d.kind != StatKind::kGauge) continue;
      const std::size_t row = d.kind == StatKind::kCounter ? d.index : gr.counters + d.index;
      SeriesResult s{gr.name, d.name, {}, {}};
      for (std::uint32_t k = 0; k < samples; ++k) {
        ExactSum sum;
        for (const auto& p : parts) sum.merge(p->groups()[g].series[row * samples + k]);
        s.times.push_back(model->sample_interval() * (k + 1));
        s.values.push_back(sum.value());
      }
      result.series.push_back(std::move(s));
    }
  }
  return result;
}

Simulation::Simulation(ModelSpec spec, const Registry& registry)
    : impl_(std::make_unique<Impl>(std::move(spec), registry)) {}
Simulation::~Simulation() = default;
RunResult Simulation::run(const RunOptions& options) { return impl_->run(options); }
const RunPlan& Simulation::plan() { return impl_->make_plan(); }
const ModelSpec& Simulation::spec() const { return impl_->spec; }

}  // namespace dsim
