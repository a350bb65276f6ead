// run_in_key_order: runs the partitions of one layout in the sequential
// order (always the partition holding the smallest pending key, one event at
// a time), handing remote sends over at once. Any layout, any lookahead: a
// reference for what an engine must compute, and a way to run on from an
// imported state without an engine.
#pragma once

#include <memory>
#include <vector>

#include "core/event.hpp"
#include "core/partition.hpp"

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
        auto& box = from->outbox(to->id(), 0);
        for (const detail::Event& e : box) to->enqueue(e);
        box.clear();
      }
  }
}

}  // namespace dsim::testing
