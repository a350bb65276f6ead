// A partition's pending-event set: a d-ary min-heap of (time, slot) entries
// over a slab of envelopes. The heap moves 16-byte entries, never envelopes;
// equal times fall back to the full key in the slab (key_less). Free slab
// slots are chained through their own storage, so the queue needs no other
// memory than the heap and the slab.
//
// Thread safety: none; a queue belongs to one partition (one thread).
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstring>
#include <cstdint>
#include <vector>

#include "core/event.hpp"

namespace dsim::detail {

template <unsigned kArity>
class HeapEventQueue {
 public:
  // Stores the first `event_bytes` bytes of each envelope (the header and the
  // largest payload the model's entities can receive; a multiple of 8).
  explicit HeapEventQueue(std::size_t event_bytes = sizeof(Event))
      : words_((std::max(event_bytes, kHeaderBytes) + 7) / 8) {}

  bool empty() const { return heap_.empty(); }
  std::size_t size() const { return heap_.size(); }
  Time min_time() const {
    return heap_.empty() ? kTimeInfinity : std::bit_cast<Time>(heap_[0].key);
  }

  void push(const Event& e) {
    std::uint32_t slot;
    if (free_head_ != kNoSlot) {
      slot = free_head_;
      free_head_ = static_cast<std::uint32_t>(slab_[slot * words_]);
    } else {
      slot = static_cast<std::uint32_t>(slab_.size() / words_);
      slab_.resize(slab_.size() + words_);
    }
    std::memcpy(&slab_[slot * words_], &e, words_ * 8);
    heap_.push_back({time_key(e.time), slot});
    sift_up(heap_.size() - 1);
  }

  // The smallest event. REQUIRES: !empty().
  Event top() const {
    Event e{};
    std::memcpy(&e, &slab_[heap_[0].slot * words_], words_ * 8);
    return e;
  }

  void reserve(std::size_t n) {
    heap_.reserve(n);
    slab_.reserve(n * words_);
  }

  // REQUIRES: !empty().
  Event pop() {
    const std::uint32_t slot = heap_[0].slot;
    Event e{};
    std::memcpy(&e, &slab_[slot * words_], words_ * 8);
    slab_[slot * words_] = free_head_;  // the free slot links to the next one
    free_head_ = slot;
    const Entry last = heap_.back();
    heap_.pop_back();
    if (!heap_.empty()) fill_root(last);
    return e;
  }

  // Calls f(const Event&) for every pending event, in no particular order.
  // Each event as pop() would return it (the bytes past the stored ones zero).
  template <class F>
  void for_each(F&& f) const {
    for (const Entry& entry : heap_) {
      Event e{};
      std::memcpy(&e, &slab_[entry.slot * words_], words_ * 8);
      f(static_cast<const Event&>(e));
    }
  }

  // Removes the pending events for which pred(const Event&) holds; returns
  // how many. Rebuilds the heap: O(n log n).
  template <class P>
  std::size_t remove_if(P&& pred) {
    std::vector<Entry> kept;
    kept.reserve(heap_.size());
    for (const Entry& entry : heap_) {
      Event e{};
      std::memcpy(&e, &slab_[entry.slot * words_], words_ * 8);
      if (pred(static_cast<const Event&>(e))) {
        slab_[entry.slot * words_] = free_head_;
        free_head_ = entry.slot;
      } else {
        kept.push_back(entry);
      }
    }
    const std::size_t removed = heap_.size() - kept.size();
    heap_.clear();
    for (const Entry& entry : kept) {
      heap_.push_back(entry);
      sift_up(heap_.size() - 1);
    }
    return removed;
  }


 private:
  // Event times are >= 0 (now >= 0, delay >= 0), and the bits of
  // non-negative doubles order like the doubles: one integer compare.
  static std::uint64_t time_key(Time t) { return std::bit_cast<std::uint64_t>(t + 0.0); }

  // 12 bytes, packed: the heap is the queue's largest array after the slab.
  struct __attribute__((packed)) Entry {
    std::uint64_t key;  // time_key(event time)
    std::uint32_t slot;
  };
  static_assert(sizeof(Entry) == 12);

  bool less(const Entry& a, const Entry& b) const {
    if (a.key != b.key) [[likely]]
      return a.key < b.key;
    return key_less(event(a.slot), event(b.slot));
  }
  const Event& event(std::uint32_t slot) const {
    return *reinterpret_cast<const Event*>(&slab_[slot * words_]);
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

  static constexpr std::size_t kHeaderBytes = offsetof(Event, payload);

  std::size_t words_;  // 8-byte words stored per event
  std::vector<Entry> heap_;
  std::vector<std::uint64_t> slab_;
  // Free slots form a list threaded through their first word.
  static constexpr std::uint32_t kNoSlot = UINT32_MAX;
  std::uint32_t free_head_ = kNoSlot;
};

}  // namespace dsim::detail

namespace dsim::detail {

// The queue a partition uses, picked by name (`simulation.queue`):
// "binary_heap" (the default) or "quad_heap" (4-ary: fewer levels, more
// comparisons per level; slower in the PHOLD benchmarks on the machines we
// measured, kept for large pending sets). The choice is one predictable
// branch per operation.
class EventQueue {
 public:
  EventQueue(bool binary, std::size_t event_bytes)
      : binary_(binary), q4_(event_bytes), q2_(event_bytes) {}
  bool empty() const { return binary_ ? q2_.empty() : q4_.empty(); }
  std::size_t size() const { return binary_ ? q2_.size() : q4_.size(); }
  Time min_time() const { return binary_ ? q2_.min_time() : q4_.min_time(); }
  void push(const Event& e) { binary_ ? q2_.push(e) : q4_.push(e); }
  Event pop() { return binary_ ? q2_.pop() : q4_.pop(); }
  Event top() const { return binary_ ? q2_.top() : q4_.top(); }
  void reserve(std::size_t n) { binary_ ? q2_.reserve(n) : q4_.reserve(n); }
  template <class F>
  void for_each(F&& f) const {
    binary_ ? q2_.for_each(f) : q4_.for_each(f);
  }
  template <class P>
  std::size_t remove_if(P&& pred) {
    return binary_ ? q2_.remove_if(pred) : q4_.remove_if(pred);
  }

 private:
  bool binary_;
  HeapEventQueue<4> q4_;
  HeapEventQueue<2> q2_;
};

}  // namespace dsim::detail
