// run_in_key_order (with partitions_of and final_statistics): runs the partitions of one layout in the sequential
// order (always the partition holding the smallest pending key, one event at
// a time), handing remote sends over at once. Any layout, any lookahead: a
// reference for what an engine must compute, and a way to run on from an
// imported state without an engine.
#pragma once

#include <memory>
#include <vector>

#include <cstddef>
#include <cstdint>

#include "core/entity_store.hpp"
#include "core/event.hpp"
#include "core/layout.hpp"
#include "core/partition.hpp"
#include "stats/partials.hpp"

namespace dsim::testing {

inline void run_in_key_order(std::vector<std::unique_ptr<detail::Partition>>& parts, Time bound) {
  for (;;) {
    detail::Partition* next = nullptr;
    detail::Event best{};
    for (auto& p : parts) {
      const auto& q = p->store().queue();
      if (q.empty()) continue;
      const detail::Event top = q.top();
      if (next == nullptr || detail::key_less(top, best)) {
        next = p.get();
        best = top;
      }
    }
    if (next == nullptr || !(best.time < bound)) return;
    next->run(bound, 1);
    for (auto& from : parts)
      for (auto& to : parts) {
        auto& box = from->outbox(to->id());
        for (const detail::Event& e : box) to->enqueue(e);
        box.clear();
      }
  }
}

// Every partition of `layout`, direct execution, nothing constructed yet.
inline std::vector<std::unique_ptr<detail::Partition>> partitions_of(const detail::Model& model,
                                                                      const detail::Layout& layout) {
  std::vector<std::unique_ptr<detail::Partition>> parts;
  for (std::uint32_t id = 0; id < layout.partitions(); ++id)
    parts.push_back(std::make_unique<detail::Partition>(model, layout, id));
  return parts;
}

// Runs the partitions' finish hooks and returns their statistics, merged and
// encoded (equal bytes: equal results).
inline std::vector<std::byte> final_statistics(
    std::vector<std::unique_ptr<detail::Partition>>& parts, const detail::Model& model) {
  detail::Partials all = detail::empty_statistics(model);
  for (auto& p : parts) {
    p->finish();
    detail::merge(all, p->store().statistics(true));
  }
  return detail::encode(all);
}

}  // namespace dsim::testing
