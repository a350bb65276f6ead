// A run's layout: which partition each entity lives in, its slot there, and
// the shape of every group's entity blocks. The model is immutable once
// built; a run makes its own Layout from the plan (Simulation), so two runs
// of one model, or a restart on another layout, never share or change one.
//
//   Layout layout(model, plan.partition_of, partitions, /*optimistic=*/false);
//   Location loc = layout.where(id);  // partition, group, slot
//
// Thread safety: immutable after construction; any number of threads may read it.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/model.hpp"

namespace dsim::detail {

// Where an entity lives: its partition, group and slot in that partition's
// storage for the group.
struct Location {
  std::uint32_t slot;
  std::uint16_t partition;
  std::uint16_t group;
};

// Bytes and alignment of one group's entity blocks in this layout:
// [EntityMeta][counters][gauges][State] up to GroupRuntime::history_off, then
// (optimistic runs only) the engine's per-entity History.
struct BlockShape {
  std::uint32_t stride = 0;
  std::uint32_t align = 8;
};

class Layout {
 public:
  // Entity id -> partition (`partition_of`, one entry per entity, each below
  // `partitions`). `optimistic`: blocks have room for the History after the
  // State. Throws dsim::Error for more than 65535 partitions.
  Layout(const Model& model, std::span<const std::uint32_t> partition_of,
         std::uint32_t partitions, bool optimistic);
  // Every entity in partition 0.
  Layout(const Model& model, bool optimistic);

  std::uint32_t partitions() const { return partitions_; }
  bool optimistic() const { return optimistic_; }
  Location where(EntityId id) const { return where_[id]; }
  const Location* where_table() const { return where_.data(); }
  std::uint32_t partition_of(EntityId id) const { return where_[id].partition; }
  // Entities of group `group` in partition `partition`.
  std::uint32_t count(std::uint32_t partition, std::uint32_t group) const {
    return counts_[std::size_t{partition} * shapes_.size() + group];
  }
  const BlockShape& shape(std::uint32_t group) const { return shapes_[group]; }
  // Entity id -> partition, as a plain list (what the partitioners return).
  std::vector<std::uint32_t> assignment() const;

 private:
  std::vector<Location> where_;
  std::vector<std::uint32_t> counts_;  // [partition][group]
  std::vector<BlockShape> shapes_;
  std::uint32_t partitions_ = 1;
  bool optimistic_ = false;
};

}  // namespace dsim::detail
