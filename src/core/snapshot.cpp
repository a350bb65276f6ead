// Snapshot (dsim/run_control.hpp) read entity by entity: core/snapshot_order.hpp.
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <numeric>

#include "core/event.hpp"
#include "core/snapshot_order.hpp"

namespace dsim {

namespace detail {

bool pending_less(const PendingEvent& a, const PendingEvent& b) {
  if (a.time != b.time) return a.time < b.time;
  if (a.depth != b.depth) return a.depth < b.depth;
  if (a.src != b.src) return a.src < b.src;
  return a.seq < b.seq;
}

SnapshotOrder order_of(const Snapshot& s) {
  static_assert(sizeof(PendingEvent) == sizeof(Event) &&
                offsetof(PendingEvent, payload) == offsetof(Event, payload));
  SnapshotOrder order;
  std::size_t n = 0;
  for (const SnapshotBlocks& part : s.blocks) {
    if (part.bytes.size() != part.ids.size() * std::size_t{part.block_bytes})
      throw Error(fmt::format("a snapshot part of {} entities of {} bytes holds {} bytes",
                              part.ids.size(), part.block_bytes, part.bytes.size()),
                  Error::Kind::kRuntime);
    n += part.ids.size();
  }
  order.entities.reserve(n);
  bool sorted = true;
  for (std::uint32_t p = 0; p < s.blocks.size(); ++p) {
    const auto& ids = s.blocks[p].ids;
    for (std::uint32_t k = 0; k < ids.size(); ++k) {
      if (!order.entities.empty() && !(order.entities.back().id < ids[k])) sorted = false;
      order.entities.push_back({ids[k], p, k});
    }
  }
  const auto by_id = [](const SnapshotOrder::Entry& a, const SnapshotOrder::Entry& b) {
    return a.id < b.id;
  };
  if (!sorted) std::sort(order.entities.begin(), order.entities.end(), by_id);
  for (std::size_t i = 1; i < n; ++i)
    if (order.entities[i].id == order.entities[i - 1].id)
      throw Error(fmt::format("entity id {} is twice in a snapshot", order.entities[i].id),
                  Error::Kind::kRuntime);

  // Events: counted per entity, placed, then each entity's put in key order.
  const bool dense = n > 0 && order.entities.back().id - order.entities.front().id + 1 == n;
  const auto position = [&](EntityId dst) -> std::size_t {
    if (dense) {
      if (dst >= order.entities.front().id && dst <= order.entities.back().id)
        return dst - order.entities.front().id;
    } else {
      const auto it = std::lower_bound(
          order.entities.begin(), order.entities.end(), dst,
          [](const SnapshotOrder::Entry& e, EntityId id) { return e.id < id; });
      if (it != order.entities.end() && it->id == dst)
        return static_cast<std::size_t>(it - order.entities.begin());
    }
    throw Error(fmt::format("a snapshot holds an event for entity id {}, which is not in it", dst),
                Error::Kind::kRuntime);
  };
  std::vector<std::uint32_t> at(s.pending.size());
  order.first_event.assign(n + 1, 0);
  for (std::size_t e = 0; e < s.pending.size(); ++e) {
    at[e] = static_cast<std::uint32_t>(position(s.pending[e].dst));
    ++order.first_event[at[e] + 1];
  }
  std::partial_sum(order.first_event.begin(), order.first_event.end(),
                   order.first_event.begin());
  std::vector<std::uint64_t> next(order.first_event.begin(), order.first_event.end() - 1);
  order.events.resize(s.pending.size());
  for (std::size_t e = 0; e < s.pending.size(); ++e) order.events[next[at[e]]++] = e;
  for (std::size_t i = 0; i < n; ++i) {
    const auto begin = order.events.begin() + static_cast<std::ptrdiff_t>(order.first_event[i]);
    const auto end = order.events.begin() + static_cast<std::ptrdiff_t>(order.first_event[i + 1]);
    if (end - begin > 1)
      std::sort(begin, end, [&](std::uint64_t a, std::uint64_t b) {
        return pending_less(s.pending[a], s.pending[b]);
      });
  }
  return order;
}

}  // namespace detail

std::uint64_t Snapshot::entity_count() const {
  std::uint64_t n = 0;
  for (const SnapshotBlocks& part : blocks) n += part.ids.size();
  return n;
}

std::vector<EntitySnapshot> Snapshot::entities() const {
  const detail::SnapshotOrder order = detail::order_of(*this);
  std::vector<EntitySnapshot> out(order.entities.size());
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i].id = order.entities[i].id;
    const auto block = order.block(*this, i);
    out[i].block.assign(block.begin(), block.end());
    for (std::uint64_t e = order.first_event[i]; e < order.first_event[i + 1]; ++e)
      out[i].pending.push_back(pending[order.events[e]]);
  }
  return out;
}

void Snapshot::add(const EntitySnapshot& entity) {
  SnapshotBlocks& part = blocks.emplace_back();
  part.ids = {entity.id};
  part.block_bytes = static_cast<std::uint32_t>(entity.block.size());
  part.bytes = entity.block;
  pending.insert(pending.end(), entity.pending.begin(), entity.pending.end());
}

}  // namespace dsim
