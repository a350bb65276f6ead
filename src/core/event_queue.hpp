// A partition's pending-event set: a d-ary min-heap of (time, slot) entries
// over a slab of envelopes. The heap moves 16-byte entries, never envelopes;
// equal times fall back to the full key in the slab (key_less).
//
// Thread safety: none; a queue belongs to one partition (one thread).
#pragma once

#include <bit>
#include <cstdint>
#include <vector>

#include "core/event.hpp"

namespace dsim::detail {

template <unsigned kArity>
class HeapEventQueue {
 public:
  bool empty() const { return heap_.empty(); }
  std::size_t size() const { return heap_.size(); }
  Time min_time() const {
    return heap_.empty() ? kTimeInfinity : std::bit_cast<Time>(heap_[0].key);
  }
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
    heap_.push_back({time_key(e.time), slot});
    sift_up(heap_.size() - 1);
  }

  // REQUIRES: !empty().
  Event pop() {
    const std::uint32_t slot = heap_[0].slot;
    Event e = slab_[slot];
    free_.push_back(slot);
    const Entry last = heap_.back();
    heap_.pop_back();
    if (!heap_.empty()) fill_root(last);
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
  // Event times are >= 0 (now >= 0, delay >= 0), and the bits of
  // non-negative doubles order like the doubles: one integer compare.
  static std::uint64_t time_key(Time t) { return std::bit_cast<std::uint64_t>(t + 0.0); }

  struct Entry {
    std::uint64_t key;  // time_key(event time)
    std::uint32_t slot;
  };

  bool less(const Entry& a, const Entry& b) const {
    if (a.key != b.key) [[likely]]
      return a.key < b.key;
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

  // Refills the root's hole with `moving` (Floyd's bottom-up method): the hole
  // first sinks to a leaf along the smallest children, without comparing with
  // `moving` (which, taken from the last leaf, nearly always belongs near the
  // bottom), then `moving` rises from there.
  void fill_root(const Entry moving) {
    Entry* h = heap_.data();
    const std::size_t n = heap_.size();
    std::size_t i = 0;
    for (;;) {
      const std::size_t first = i * kArity + 1;
      std::size_t best;
      if (first + kArity <= n) {
        if constexpr (kArity == 4) {
          const std::size_t a = less(h[first + 1], h[first]) ? first + 1 : first;
          const std::size_t b = less(h[first + 3], h[first + 2]) ? first + 3 : first + 2;
          best = less(h[b], h[a]) ? b : a;
        } else {
          best = first;
          for (std::size_t c = first + 1; c < first + kArity; ++c)
            if (less(h[c], h[best])) best = c;
        }
      } else if (first < n) {
        best = first;
        for (std::size_t c = first + 1; c < n; ++c)
          if (less(h[c], h[best])) best = c;
      } else {
        break;
      }
      h[i] = h[best];
      i = best;
    }
    while (i > 0) {
      const std::size_t parent = (i - 1) / kArity;
      if (!less(moving, h[parent])) break;
      h[i] = h[parent];
      i = parent;
    }
    h[i] = moving;
  }

  std::vector<Entry> heap_;
  std::vector<Event> slab_;
  std::vector<std::uint32_t> free_;
};

}  // namespace dsim::detail

namespace dsim::detail {

// The queue a partition uses, picked by name (`simulation.queue`): "heap"
// (4-ary, the default) or "binary_heap". The choice is one predictable branch
// per operation.
class EventQueue {
 public:
  explicit EventQueue(bool binary = false) : binary_(binary) {}
  bool empty() const { return binary_ ? q2_.empty() : q4_.empty(); }
  std::size_t size() const { return binary_ ? q2_.size() : q4_.size(); }
  Time min_time() const { return binary_ ? q2_.min_time() : q4_.min_time(); }
  void push(const Event& e) { binary_ ? q2_.push(e) : q4_.push(e); }
  Event pop() { return binary_ ? q2_.pop() : q4_.pop(); }

 private:
  bool binary_;
  HeapEventQueue<4> q4_;
  HeapEventQueue<2> q2_;
};

}  // namespace dsim::detail
