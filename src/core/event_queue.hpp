// A partition's pending-event set: a d-ary min-heap of (time, slot) entries
// over a slab of envelopes. The heap moves 16-byte entries, never envelopes;
// equal times fall back to the full key in the slab (key_less).
//
// Thread safety: none; a queue belongs to one partition (one thread).
#pragma once

#include <cstdint>
#include <vector>

#include "core/event.hpp"

namespace dsim::detail {

template <unsigned kArity>
class HeapEventQueue {
 public:
  bool empty() const { return heap_.empty(); }
  std::size_t size() const { return heap_.size(); }
  Time min_time() const { return heap_.empty() ? kTimeInfinity : heap_[0].time; }
  const Event& top() const { return slab_[heap_[0].slot]; }

  void push(const Event& e) {
    std::uint32_t slot;
    if (!free_.empty()) {
      slot = free_.back();
      free_.pop_back();
      slab_[slot] = e;
    } else {
      slot = static_cast<std::uint32_t>(slab_.size());
      slab_.push_back(e);
    }
    heap_.push_back({e.time, slot});
    sift_up(heap_.size() - 1);
  }

  // REQUIRES: !empty().
  Event pop() {
    const std::uint32_t slot = heap_[0].slot;
    Event e = slab_[slot];
    free_.push_back(slot);
    const Entry last = heap_.back();
    heap_.pop_back();
    if (!heap_.empty()) sift_down(last);
    return e;
  }

  void reserve(std::size_t n) {
    heap_.reserve(n);
    slab_.reserve(n);
  }

  // Visits every pending event (any order).
  template <class F>
  void for_each(F&& f) const {
    for (const Entry& en : heap_) f(slab_[en.slot]);
  }

 private:
  struct Entry {
    Time time;
    std::uint32_t slot;
  };

  bool less(const Entry& a, const Entry& b) const {
    if (a.time != b.time) return a.time < b.time;
    return key_less(slab_[a.slot], slab_[b.slot]);
  }

  void sift_up(std::size_t i) {
    const Entry moving = heap_[i];
    while (i > 0) {
      const std::size_t parent = (i - 1) / kArity;
      if (!less(moving, heap_[parent])) break;
      heap_[i] = heap_[parent];
      i = parent;
    }
    heap_[i] = moving;
  }

  // Places `moving` starting from the root's hole.
  void sift_down(const Entry moving) {
    const std::size_t n = heap_.size();
    std::size_t i = 0;
    for (;;) {
      const std::size_t first = i * kArity + 1;
      if (first >= n) break;
      std::size_t best = first;
      const std::size_t last = first + kArity < n ? first + kArity : n;
      for (std::size_t c = first + 1; c < last; ++c)
        if (less(heap_[c], heap_[best])) best = c;
      if (!less(heap_[best], moving)) break;
      heap_[i] = heap_[best];
      i = best;
    }
    heap_[i] = moving;
  }

  std::vector<Entry> heap_;
  std::vector<Event> slab_;
  std::vector<std::uint32_t> free_;
};

}  // namespace dsim::detail
