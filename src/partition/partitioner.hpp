// Entity -> partition mapping, chosen by name (`simulation.partitioner`).
// A partitioner never changes results (DESIGN.md invariant 1), only speed.
//
// MPI runs have `ranks` processes of `threads` partitions each; partition p
// runs on rank p / threads, thread p % threads. Events between ranks cost far
// more than events between threads, so assign_two_level() splits the
// entities among ranks first and then each rank's share among its threads.
//
// Thread safety: partitioners hold no state; any number of threads may call
// them. Every result is deterministic: the same on every process of a run.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "core/model.hpp"
#include "dsim/engine.hpp"

namespace dsim::detail {

class Partitioner {
 public:
  virtual ~Partitioner() = default;
  // Returns the partition (0 .. parts-1) of every entity, indexed by id.
  // REQUIRES: parts >= 1.
  virtual std::vector<std::uint32_t> assign(const Model& model, std::uint32_t parts) const = 0;
  // Splits `members` (entity ids, strictly increasing) into `parts`, using
  // only the links among the members (the induced subgraph); returns the
  // part (0 .. parts-1) of members[k] at index k. Splitting all entities
  // gives assign(model, parts).
  // REQUIRES: parts >= 1.
  virtual std::vector<std::uint32_t> assign_subset(const Model& model,
                                                   std::span<const EntityId> members,
                                                   std::uint32_t parts) const = 0;
};

std::unique_ptr<Partitioner> make_partitioner(Partitioning partitioning);
// A name of kPartitionings (dsim/engine.hpp); dsim::Error naming the value
// otherwise.
std::unique_ptr<Partitioner> make_partitioner(std::string_view name);

// Item k of `count` to part k * parts / count: contiguous runs of (almost)
// equal size, in order. What "block" does, and "graph" on a graph without
// edges. REQUIRES: parts >= 1.
std::vector<std::uint32_t> contiguous_parts(std::uint64_t count, std::uint32_t parts);

// Contiguous id ranges of (almost) equal size. Two levels: each rank gets a
// contiguous range, which its threads split into contiguous ranges.
class BlockPartitioner final : public Partitioner {
 public:
  std::vector<std::uint32_t> assign(const Model& model, std::uint32_t parts) const override;
  std::vector<std::uint32_t> assign_subset(const Model& model, std::span<const EntityId> members,
                                           std::uint32_t parts) const override;
};

// Entity i to partition i mod parts. Two levels, rank first: entity i goes to
// rank i mod ranks, and as the j-th entity of that rank (j = i div ranks) to
// its thread j mod threads.
class RoundRobinPartitioner final : public Partitioner {
 public:
  std::vector<std::uint32_t> assign(const Model& model, std::uint32_t parts) const override;
  std::vector<std::uint32_t> assign_subset(const Model& model, std::span<const EntityId> members,
                                           std::uint32_t parts) const override;
};

// METIS k-way partitioning of the declared link graph (made undirected),
// minimising the edge cut with balanced entity counts (METIS' default 3%
// imbalance); seeded, so deterministic. Falls back to block for graphs
// without edges. When there are at least as many entities as parts, a part
// METIS leaves empty gets an entity of the largest part.
//
// With tries > 1, METIS computes that many partitionings and keeps the one
// with the smallest cut (METIS_OPTION_NCUTS): cuts a few percent smaller for
// about `tries` times the time (a 1000x1000 torus in 2 parts: 2362 edges in
// 0.33 s with 1 try, 2256 in 0.98 s with 4). Worth it where cut edges cost
// most, between MPI ranks. make_partitioner("graph") makes one with 1 try.
class GraphPartitioner final : public Partitioner {
 public:
  explicit GraphPartitioner(std::uint32_t tries = 1) : tries_(tries < 1 ? 1 : tries) {}
  std::vector<std::uint32_t> assign(const Model& model, std::uint32_t parts) const override;
  std::vector<std::uint32_t> assign_subset(const Model& model, std::span<const EntityId> members,
                                           std::uint32_t parts) const override;

 private:
  std::uint32_t tries_;
};

// Assignment for `ranks` processes of `threads` partitions each: the
// partition of every entity (0 .. ranks*threads-1), partition p on rank
// p / threads. Entities are split among ranks first (for "graph": METIS
// minimising the edge cut between ranks), then each rank's share among its
// threads (METIS on the rank's induced subgraph). With ranks == 1 it equals
// partitioner.assign(model, threads); with threads == 1, assign(model, ranks).
// When entity_count >= ranks*threads, every partition gets an entity.
// REQUIRES: ranks >= 1, threads >= 1.
//
//   auto partitioner = make_partitioner(spec.simulation.partitioner);
//   auto part_of = assign_two_level(*partitioner, model, ranks, threads);
//   Layout layout(model, part_of, ranks * threads, optimistic);
//   std::uint64_t between_ranks = rank_edge_cut(model, part_of, threads);
std::vector<std::uint32_t> assign_two_level(const Partitioner& partitioner, const Model& model,
                                            std::uint32_t ranks, std::uint32_t threads);

// Moves members so that each of the `parts` parts of `part_of` (the part of
// every member) holds at least `min_size` of them, where there are enough
// (part_of.size() >= parts * min_size): a part short of members takes, one by
// one, the highest-indexed member of the then largest part (lowest part on
// ties). Deterministic; does nothing when no part is short.
void fill_small_parts(std::vector<std::uint32_t>& part_of, std::uint32_t parts,
                      std::uint64_t min_size);

// Number of declared (directed) edges whose ends lie in different partitions
// under `partition_of` (the partition of every entity, by id).
std::uint64_t edge_cut(const Model& model, std::span<const std::uint32_t> partition_of);

// Declared (directed) edges whose ends lie on different ranks, given
// `partition_of` (partition p on rank p / threads_per_rank).
// REQUIRES: threads_per_rank >= 1.
std::uint64_t rank_edge_cut(const Model& model, std::span<const std::uint32_t> partition_of,
                            std::uint32_t threads_per_rank);

}  // namespace dsim::detail
