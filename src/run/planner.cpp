#include "run/planner.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>

#include "partition/partitioner.hpp"

namespace dsim::detail {
namespace {

// Most worker threads (partitions) one process may run.
constexpr std::uint32_t kMaxThreads = 1024;

// Smallest lookahead over links whose events may cross partitions, and the
// first such link with zero lookahead (or -1).
struct CrossingLookahead {
  double min = kTimeInfinity;
  int zero_link = -1;
};

CrossingLookahead crossing_lookahead(const Model& model,
                                     std::span<const std::uint32_t> partition_of) {
  const auto& groups = model.groups();
  const std::size_t ng = groups.size();
  auto part = [&](std::uint64_t id) { return partition_of[id]; };
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

}  // namespace

RunPlan plan_run(const ModelSpec& spec, const Model& model, const Machine& machine,
                 std::uint32_t ranks) {
  const SimulationSpec& sim = spec.simulation;
  const std::uint64_t entities = model.entity_count();
  RunPlan p;
  p.ranks = ranks;
  std::uint32_t threads = sim.threads;
  // One thread per core, the cores of a machine shared by its processes;
  // one when a type's handlers run one at a time anyway (plain Python).
  std::string serial_type;
  for (const auto& g : model.groups())
    if (g.type->serial && serial_type.empty()) serial_type = g.type->name;
  if (threads == 0) threads = serial_type.empty() ? std::max(1u, machine.cores) : 1u;
  // Partitions keep per-destination buffers: memory and each window's work
  // grow with the square of the threads. Beyond the cores they only share.
  if (threads > kMaxThreads)
    throw Error(fmt::format("simulation.threads = {}: at most {} threads per process (this "
                            "machine gives this process {} cores)",
                            threads, kMaxThreads, machine.cores));
  const std::optional<Engine> asked = engine_from_name(sim.sync);
  if (!asked)
    throw Error(fmt::format("simulation.sync: unknown sync mode '{}'", sim.sync));
  if (threads > machine.cores && *asked != Engine::kSequential)
    p.warnings.push_back(fmt::format("simulation.threads = {} is more than the {} cores this "
                                     "process has: the threads will take turns on them",
                                     threads, machine.cores));

  Engine engine = *asked;
  bool optimistic = false;
  auto go_optimistic = [&](std::string reason) {
    // Any lookahead will do, zero included; one thread is Time Warp on one
    // partition (no rollbacks, but the same commit path).
    engine = Engine::kOptimistic;
    p.reason = std::move(reason);
    // Per process: the processes on one machine share its default.
    p.memory_limit = sim.memory_limit > 0 ? sim.memory_limit : machine.memory_bytes / 2;
    optimistic = true;
  };
  if (engine == Engine::kOptimistic) {
    go_optimistic("sync = \"optimistic\" was asked for");
  } else if (engine == Engine::kSequential) {
    p.reason = ranks > 1 ? fmt::format("sync = \"sequential\" was asked for (rank 0 runs the "
                                       "model; the other {} processes wait)",
                                       ranks - 1)
                         : std::string("sync = \"sequential\" was asked for");
    threads = 1;
  } else if (engine == Engine::kAuto && threads == 1 && ranks == 1) {
    engine = Engine::kSequential;
    p.reason = sim.threads == 0 && !serial_type.empty()
                   ? fmt::format("one thread: the handlers of type '{}' run one at a time (they "
                                 "hold Python's GIL; threads would only take turns)",
                                 serial_type)
                   : std::string("one thread");
  }
  // Sequential under MPI: one partition, on rank 0.
  const std::uint32_t layout_ranks = engine == Engine::kSequential ? 1 : ranks;
  // Every partition gets an entity where there are enough; with fewer
  // entities than processes, some processes run one empty partition.
  threads = static_cast<std::uint32_t>(
      std::max<std::uint64_t>(1, std::min<std::uint64_t>(threads, entities / layout_ranks)));

  const std::optional<Partitioning> partitioning = partitioning_from_name(sim.partitioner);
  if (!partitioning)
    throw Error(fmt::format("simulation.partitioner: unknown partitioner '{}'", sim.partitioner));
  auto partitioner = make_partitioner(*partitioning);
  // Between processes a better cut pays for more METIS tries.
  if (layout_ranks > 1 && *partitioning == Partitioning::kGraph)
    partitioner = std::make_unique<GraphPartitioner>(4);
  std::uint32_t partitions = 0;
  auto assign = [&](std::uint32_t r, std::uint32_t t) {
    p.partition_of = assign_two_level(*partitioner, model, r, t);
    partitions = r * t;
  };
  assign(layout_ranks, threads);

  if (engine == Engine::kConservative || engine == Engine::kAuto) {
    const CrossingLookahead cl = crossing_lookahead(model, p.partition_of);
    if (cl.zero_link >= 0) {
      const LinkSpec& l = spec.links[cl.zero_link];
      const std::string which = fmt::format(
          "{}: links[{}] ({} -> {}) has lookahead {} and connects entities in different "
          "partitions",
          l.location.str(), cl.zero_link, l.from, l.to, l.lookahead ? *l.lookahead : 0.0);
      if (engine == Engine::kConservative)
        throw Error(which + "; conservative sync needs a lookahead > 0 on every link between "
                            "partitions (set the link's lookahead, or use sync = \"optimistic\", "
                            "which needs none, or \"sequential\")");
      if (ranks > 1) {
        // Across processes, Time Warp rather than one process doing it all.
        go_optimistic(which + "; conservative sync is impossible, so it runs optimistically");
      } else {
        engine = Engine::kSequential;
        p.reason = which + "; conservative sync is impossible, so it runs sequentially";
        threads = 1;
        assign(1, 1);
      }
    } else {
      if (engine == Engine::kAuto) {
        engine = Engine::kConservative;
        p.reason = ranks > 1 ? fmt::format("{} processes x {} threads and lookahead {} > 0 on "
                                           "every link between partitions",
                                           ranks, threads, cl.min)
                             : fmt::format("{} threads and lookahead {} > 0 on every link "
                                           "between partitions",
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
    p.lookahead = crossing_lookahead(model, p.partition_of).min;
  }
  p.engine = engine;
  p.sync = engine_name(engine);
  p.partitioner = sim.partitioner;
  p.threads = threads;
  p.edge_cut = edge_cut(model, p.partition_of);
  p.rank_edge_cut =
      ranks > 1 && engine != Engine::kSequential ? rank_edge_cut(model, p.partition_of, threads) : 0;
  p.partition_entities.assign(partitions, 0);
  for (const std::uint32_t part : p.partition_of) ++p.partition_entities[part];
  return p;
}


}  // namespace dsim::detail
