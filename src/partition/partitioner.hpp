// Entity -> partition mapping, chosen by name (`simulation.partitioner`).
// A partitioner never changes results (DESIGN.md invariant 1), only speed.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "core/model.hpp"

namespace dsim::detail {

class Partitioner {
 public:
  virtual ~Partitioner() = default;
  // Returns the partition (0 .. parts-1) of every entity, indexed by id.
  // REQUIRES: parts >= 1.
  virtual std::vector<std::uint32_t> assign(const Model& model, std::uint32_t parts) const = 0;
};

// "block", "round_robin" or "graph"; dsim::Error naming the value otherwise.
std::unique_ptr<Partitioner> make_partitioner(std::string_view name);

// Contiguous id ranges of (almost) equal size.
class BlockPartitioner final : public Partitioner {
 public:
  std::vector<std::uint32_t> assign(const Model& model, std::uint32_t parts) const override;
};

// Entity i to partition i mod parts.
class RoundRobinPartitioner final : public Partitioner {
 public:
  std::vector<std::uint32_t> assign(const Model& model, std::uint32_t parts) const override;
};

// METIS k-way partitioning of the declared link graph (made undirected),
// minimising the edge cut with balanced entity counts. Falls back to block
// for graphs without edges.
class GraphPartitioner final : public Partitioner {
 public:
  std::vector<std::uint32_t> assign(const Model& model, std::uint32_t parts) const override;
};

// Number of declared (directed) edges whose ends lie in different partitions.
std::uint64_t edge_cut(const Model& model);

}  // namespace dsim::detail
