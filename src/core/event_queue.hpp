// A partition's pending-event set. HeapEventQueue: a d-ary min-heap of
// (time, slot) entries over a slab of envelopes, for models whose envelopes
// carry a payload. The heap moves 12-byte entries, never envelopes; equal
// times fall back to the full key in the slab (key_less). Free slab slots are
// chained through their own storage, so the queue needs no other memory than
// the heap and the slab. Header-only models use InlineEventQueue
// (inline_event_queue.hpp) instead; EventQueue, at the end, picks one.
//
// Thread safety: none; a queue belongs to one partition (one thread).
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/event.hpp"
#include "core/inline_event_queue.hpp"

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
  Event top() const { return copy(heap_[0].slot); }

  void reserve(std::size_t n) {
    heap_.reserve(n);
    slab_.reserve(n * words_);
  }

  // REQUIRES: !empty().
  Event pop() {
    const std::uint32_t slot = heap_[0].slot;
    const Event e = copy(slot);
    slab_[slot * words_] = free_head_;  // the free slot links to the next one
    free_head_ = slot;
    const Entry last = heap_.back();
    heap_.pop_back();
    if (!heap_.empty()) fill_hole(0, last);
    return e;
  }

  // Calls f(const Event&) for every pending event, in unspecified order.
  template <class F>
  void for_each(F&& f) const {
    for (const Entry& entry : heap_) {
      const Event e = copy(entry.slot);
      f(e);
    }
  }

  // Removes every pending event for which pred(const Event&) is true (their
  // slots go back to the free list) and rebuilds the heap; returns how many
  // it removed.
  template <class P>
  std::size_t remove_if(P&& pred) {
    std::size_t kept = 0;
    for (std::size_t i = 0; i < heap_.size(); ++i) {
      const Entry entry = heap_[i];
      if (pred(static_cast<const Event&>(copy(entry.slot)))) {
        slab_[entry.slot * words_] = free_head_;
        free_head_ = entry.slot;
      } else {
        heap_[kept++] = entry;
      }
    }
    const std::size_t removed = heap_.size() - kept;
    heap_.resize(kept);
    if (removed > 0 && kept > 1)
      for (std::size_t i = (kept - 2) / kArity + 1; i-- > 0;) fill_hole(i, heap_[i]);
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
  // The stored event with a zero payload past the stored bytes.
  Event copy(std::uint32_t slot) const {
    Event e{};
    std::memcpy(&e, &slab_[slot * words_], words_ * 8);
    return e;
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

  // Fills the hole at `start` with `moving`, restoring the heap below it
  // (Floyd's bottom-up method): the hole first sinks to a leaf along the
  // smallest children, without comparing with `moving` (which, taken from the
  // last leaf, nearly always belongs near the bottom), then `moving` rises
  // from there, no higher than `start`.
  void fill_hole(std::size_t start, const Entry moving) {
    Entry* h = heap_.data();
    const std::size_t n = heap_.size();
    std::size_t i = start;
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
    while (i > start) {
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
// measured, kept for large pending sets). The choice costs predictable
// branches per operation.
//
// Layout: the slab-backed HeapEventQueue, unless the envelopes are only a
// header (Model::event_bytes() == 32) and the partition reserves room for at
// least kInlineFrom events (it reserves one per entity): then the
// InlineEventQueue of the same arity. The small heap of 12-byte entries
// wins while it fits in the cache (PHOLD with 65,536 entities: 20% faster),
// the inline heap once it does not (131,072 entities: 40% faster; 1,048,576:
// about twice as fast, in a quarter less memory). The layout is fixed when
// the run starts, and never changes the order of pops: key_less is a total
// order, so every layout and arity pops the same sequence.
class EventQueue {
  // Calls f with the queue in use (a deduced return type must be seen
  // before its use). The slab layout is tested first, as a bool, like the
  // arity: it serves small pending sets, where every instruction shows.
  template <class F>
  decltype(auto) visit(F&& f) {
    if (!inline_) [[likely]] {
      if (binary_) return f(q2_);
      return f(q4_);
    }
    if (binary_) return f(i2_);
    return f(i4_);
  }
  template <class F>
  decltype(auto) visit(F&& f) const {
    if (!inline_) [[likely]] {
      if (binary_) return f(q2_);
      return f(q4_);
    }
    if (binary_) return f(i2_);
    return f(i4_);
  }

 public:
  EventQueue(bool binary, std::size_t event_bytes)
      : binary_(binary),
        header_only_(event_bytes <= sizeof(EventHeader)),
        q2_(event_bytes),
        q4_(event_bytes) {}
  bool empty() const {
    return visit([](const auto& q) { return q.empty(); });
  }
  std::size_t size() const {
    return visit([](const auto& q) { return q.size(); });
  }
  Time min_time() const {
    return visit([](const auto& q) { return q.min_time(); });
  }
  void push(const Event& e) {
    visit([&](auto& q) { q.push(e); });
  }
  // REQUIRES: !empty().
  Event pop() {
    return visit([](auto& q) { return q.pop(); });
  }
  // The smallest event. REQUIRES: !empty().
  Event top() const {
    return visit([](const auto& q) { return q.top(); });
  }
  // Whether the queue uses the inline layout (see the class comment).
  bool inline_layout() const { return inline_; }
  // Room for n events. On an empty queue of header-only envelopes, n >=
  // kInlineFrom switches to the inline layout (see the class comment).
  void reserve(std::size_t n) {
    if (header_only_ && empty() && n >= kInlineFrom) inline_ = true;
    visit([&](auto& q) { q.reserve(n); });
  }
  // Calls f(const Event&) for every pending event, in unspecified order.
  template <class F>
  void for_each(F&& f) const {
    visit([&](const auto& q) { q.for_each(f); });
  }
  // Removes every pending event for which pred(const Event&) is true;
  // returns how many it removed.
  template <class P>
  std::size_t remove_if(P&& pred) {
    return visit([&](auto& q) { return q.remove_if(pred); });
  }

  // A hint for the event loop, right after pop(): the destination of the
  // smallest pending event, so that the caller can prefetch what dispatching
  // it will touch while the current event runs. kNoEntity when empty, and
  // from the slab-backed queues (reading it there would itself miss the
  // cache, and they are chosen only for pending sets that fit in it).
  //
  // The prefetch belongs in the caller's own body: GCC deems a function
  // whose only effect is __builtin_prefetch pure and drops calls to it (a
  // lambda or callback doing the prefetch would be removed).
  EntityId next_dst() const {
    if (!inline_ || empty()) [[likely]]
      return kNoEntity;
    return binary_ ? i2_.top_dst() : i4_.top_dst();
  }
  // The same for the event after it (unless a smaller one is pushed first):
  // prefetching its location now makes the next next_dst()'s lookup a hit.
  EntityId second_dst() const {
    if (!inline_ || size() < 2) [[likely]]
      return kNoEntity;
    return binary_ ? i2_.second_dst() : i4_.second_dst();
  }

  // See the class comment; measured on the benchmark machine (2 MiB level-2
  // caches would move it up).
  static constexpr std::size_t kInlineFrom = std::size_t{1} << 17;

 private:
  bool binary_;
  bool header_only_;
  bool inline_ = false;
  HeapEventQueue<2> q2_;
  InlineEventQueue<2> i2_;
  HeapEventQueue<4> q4_;
  InlineEventQueue<4> i4_;
};

}  // namespace dsim::detail
