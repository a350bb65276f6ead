// A snapshot's entities by id (dsim/run_control.hpp): a snapshot holds its
// entities' blocks as they lay in storage and their events in queue order;
// whoever reads it entity by entity (the checkpoint writer in the
// background, Snapshot::entities()) orders it here once.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "dsim/run_control.hpp"

namespace dsim::detail {

struct SnapshotOrder {
  struct Entry {
    EntityId id;
    std::uint32_t part;  // index into Snapshot::blocks
    std::uint32_t k;     // index into that part's ids
  };
  std::vector<Entry> entities;  // ids ascending
  // Indices into Snapshot::pending, entity after entity in `entities`'
  // order, each entity's in key order; entity i's are
  // events[first_event[i] .. first_event[i + 1]).
  std::vector<std::uint64_t> first_event;
  std::vector<std::uint64_t> events;

  std::span<const std::byte> block(const Snapshot& s, std::size_t i) const {
    const SnapshotBlocks& part = s.blocks[entities[i].part];
    return {part.bytes.data() + std::size_t{entities[i].k} * part.block_bytes, part.block_bytes};
  }
};

// Throws dsim::Error (runtime) for a part whose bytes are not its ids times
// its block size, an entity in two parts, or an event addressed to an
// entity the snapshot does not hold.
SnapshotOrder order_of(const Snapshot& snapshot);

// Key order of two pending events (core/event.hpp key_less).
bool pending_less(const PendingEvent& a, const PendingEvent& b);

}  // namespace dsim::detail
