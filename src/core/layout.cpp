#include "core/layout.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <limits>

namespace dsim::detail {
namespace {

std::uint32_t align_up(std::uint32_t n, std::uint32_t a) { return (n + a - 1) / a * a; }

BlockShape shape_of(const GroupRuntime& g, bool optimistic) {
  BlockShape s;
  s.align = std::max<std::uint32_t>(8, static_cast<std::uint32_t>(g.type->state_align));
  s.stride = g.history_off + (optimistic ? kHistoryBytes : 0);
  if (optimistic && s.stride <= 64) {
    // Speculation touches the whole block (History, saved bytes) on every
    // event: keep each block within one cache line.
    s.stride = std::bit_ceil(s.stride);
    s.align = std::max(s.align, s.stride);
  }
  s.stride = align_up(s.stride, s.align);
  return s;
}

}  // namespace

Layout::Layout(const Model& model, std::span<const std::uint32_t> partition_of,
               std::uint32_t partitions, bool optimistic)
    : partitions_(partitions), optimistic_(optimistic) {
  if (partitions == 0 || partitions > std::numeric_limits<std::uint16_t>::max())
    throw Error(fmt::format("{} partitions: a run has 1 to 65535", partitions));
  if (partition_of.size() != model.entity_count())
    throw Error(fmt::format("a layout of {} entities for a model of {}", partition_of.size(),
                            model.entity_count()),
                Error::Kind::kRuntime);
  const auto& groups = model.groups();
  for (const GroupRuntime& g : groups) shapes_.push_back(shape_of(g, optimistic));
  where_.resize(model.entity_count());
  counts_.assign(std::size_t{partitions} * groups.size(), 0);
  for (std::uint32_t g = 0; g < groups.size(); ++g) {
    const GroupRuntime& gr = groups[g];
    for (std::uint64_t i = 0; i < gr.count; ++i) {
      const EntityId id = gr.first + static_cast<EntityId>(i);
      const std::uint32_t p = partition_of[id];
      if (p >= partitions)
        throw Error(fmt::format("entity {} assigned to partition {} of {}", id, p, partitions),
                    Error::Kind::kRuntime);
      where_[id] = {counts_[std::size_t{p} * groups.size() + g]++, static_cast<std::uint16_t>(p),
                    static_cast<std::uint16_t>(g)};
    }
  }
}

Layout::Layout(const Model& model, bool optimistic)
    : Layout(model, std::vector<std::uint32_t>(model.entity_count(), 0), 1, optimistic) {}

std::vector<std::uint32_t> Layout::assignment() const {
  std::vector<std::uint32_t> out;
  out.reserve(where_.size());
  for (const Location& w : where_) out.push_back(w.partition);
  return out;
}

}  // namespace dsim::detail
