// A partition's pending-event set for models whose envelopes are only a
// header (Model::event_bytes() == 32: no entity type receives a payload, as in
// PHOLD and the epidemic): a d-ary min-heap of the 32-byte headers themselves.
// There is no slab and no index: popping an event reads it from the heap's
// root, and comparisons never leave the heap, so a pop costs only the walk
// down the heap (at 1M pending events, the slab and index of HeapEventQueue
// cost one more cache miss per event and 12 more bytes per event).
//
// Layout: the heap array is aligned so that the kArity children of a node
// share one aligned group of kArity * 32 bytes (one cache line for the binary
// heap, two adjacent lines for the 4-ary one): a level of the walk touches
// one group, never three lines.
//
// Invariants:
//  - The heap orders entries by the total order key_less (event.hpp), which
//    header_less repeats on the stored header. Since that order is total, the
//    sequence of pops is the same for every arity and every insertion order.
//  - A popped or inspected event is the stored header with a zero payload.
//
// Thread safety: none; a queue belongs to one partition (one thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <utility>

#include "core/event.hpp"

namespace dsim::detail {

// The envelope header: the fields of Event before its payload, in its layout.
struct EventHeader {
  Time time;
  std::uint32_t depth;
  std::uint32_t type;
  EntityId src;
  EntityId dst;
  std::uint64_t seq;
};
static_assert(sizeof(EventHeader) == offsetof(Event, payload));
static_assert(offsetof(EventHeader, time) == offsetof(Event, time) &&
              offsetof(EventHeader, depth) == offsetof(Event, depth) &&
              offsetof(EventHeader, type) == offsetof(Event, type) &&
              offsetof(EventHeader, src) == offsetof(Event, src) &&
              offsetof(EventHeader, dst) == offsetof(Event, dst) &&
              offsetof(EventHeader, seq) == offsetof(Event, seq));

// key_less on headers: (time, depth, src, seq).
inline bool header_less(const EventHeader& a, const EventHeader& b) {
  if (a.time != b.time) [[likely]]
    return a.time < b.time;
  if (a.depth != b.depth) return a.depth < b.depth;
  if (a.src != b.src) return a.src < b.src;
  return a.seq < b.seq;
}

template <unsigned kArity>
class InlineEventQueue {
  static_assert(kArity == 2 || kArity == 4);

 public:
  InlineEventQueue() = default;
  InlineEventQueue(InlineEventQueue&& other) noexcept
      : storage_(std::move(other.storage_)),
        heap_(std::exchange(other.heap_, nullptr)),
        size_(std::exchange(other.size_, 0)),
        capacity_(std::exchange(other.capacity_, 0)) {}
  InlineEventQueue& operator=(InlineEventQueue&& other) noexcept {
    storage_ = std::move(other.storage_);
    heap_ = std::exchange(other.heap_, nullptr);
    size_ = std::exchange(other.size_, 0);
    capacity_ = std::exchange(other.capacity_, 0);
    return *this;
  }

  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }
  Time min_time() const { return size_ == 0 ? kTimeInfinity : heap_[0].time; }

  // Stores the header of `e`; its payload is not kept.
  void push(const Event& e) {
    if (size_ == capacity_) grow(size_ == 0 ? 64 : 2 * size_);
    EventHeader h;
    std::memcpy(&h, &e, sizeof h);
    std::size_t i = size_++;
    while (i > 0) {
      const std::size_t parent = (i - 1) / kArity;
      if (!header_less(h, heap_[parent])) break;
      heap_[i] = heap_[parent];
      i = parent;
    }
    heap_[i] = h;
  }

  // The smallest event. REQUIRES: !empty().
  Event top() const { return event_at(0); }

  // The destination of the smallest event. REQUIRES: !empty().
  EntityId top_dst() const { return heap_[0].dst; }

  // The destination of the smallest of the root's children by time: the
  // event popped after the top unless a smaller one is pushed first (a hint;
  // ties on time pick any). REQUIRES: size() >= 2.
  EntityId second_dst() const {
    const std::size_t last = size_ < kArity + 1 ? size_ : kArity + 1;
    std::size_t best = 1;
    for (std::size_t c = 2; c < last; ++c)
      if (heap_[c].time < heap_[best].time) best = c;
    return heap_[best].dst;
  }

  void reserve(std::size_t n) {
    if (n > capacity_) grow(n);
  }

  // REQUIRES: !empty().
  Event pop() {
    const Event e = event_at(0);
    --size_;
    if (size_ > 0) fill_hole(0, heap_[size_]);
    return e;
  }

  // Calls f(const Event&) for every pending event, in unspecified order.
  template <class F>
  void for_each(F&& f) const {
    for (std::size_t i = 0; i < size_; ++i) {
      const Event e = event_at(i);
      f(e);
    }
  }

  // Removes every pending event for which pred(const Event&) is true and
  // rebuilds the heap; returns how many it removed.
  template <class P>
  std::size_t remove_if(P&& pred) {
    std::size_t kept = 0;
    for (std::size_t i = 0; i < size_; ++i) {
      const Event e = event_at(i);
      if (!pred(e)) heap_[kept++] = heap_[i];
    }
    const std::size_t removed = size_ - kept;
    size_ = kept;
    if (removed > 0) make_heap();
    return removed;
  }

 private:
  // Children groups start on a multiple of kAlign bytes from the storage:
  // the root sits kArity - 1 entries in, so node i's first child (kArity * i
  // + 1) sits kArity * (i + 1) entries in.
  static constexpr std::size_t kAlign = kArity * sizeof(EventHeader);
  static constexpr std::size_t kLead = kArity - 1;
  // Heaps of more entries than this (1 MiB of headers, about a level-2
  // cache) walk ahead (see fill_hole). Tuned on the benchmark machine; it
  // changes speed only, never the order of pops.
  static constexpr std::size_t kWalkAheadFrom = std::size_t{1} << 15;

  struct AlignedDelete {
    void operator()(EventHeader* p) const { ::operator delete (p, std::align_val_t{kAlign}); }
  };

  Event event_at(std::size_t i) const {
    Event e{};
    std::memcpy(&e, &heap_[i], sizeof(EventHeader));
    return e;
  }

  // A hint; the address may lie past the end (then it is a no-op), so it is
  // formed as an integer rather than through pointer arithmetic.
  static void prefetch(const EventHeader* h, std::size_t i) {
    __builtin_prefetch(reinterpret_cast<const void*>(reinterpret_cast<std::uintptr_t>(h) +
                                                     i * sizeof(EventHeader)));
  }

  void grow(std::size_t n) {
    auto* raw = static_cast<EventHeader*>(
        ::operator new ((n + kLead) * sizeof(EventHeader), std::align_val_t{kAlign}));
    std::unique_ptr<EventHeader, AlignedDelete> storage(raw);
    if (size_ > 0) std::memcpy(raw + kLead, heap_, size_ * sizeof(EventHeader));
    storage_ = std::move(storage);
    heap_ = raw + kLead;
    capacity_ = n;
  }

  // Fills the hole at `start` with `moving`, restoring the heap below it
  // (Floyd's bottom-up method): the hole first sinks to a leaf along the
  // smallest children without comparing with `moving` (which, taken from the
  // last leaf, nearly always belongs near the bottom), then `moving` rises
  // from there, no higher than `start`.
  void fill_hole(std::size_t start, const EventHeader moving) {
    if (size_ > kWalkAheadFrom)
      fill_hole<true>(start, moving);
    else
      fill_hole<false>(start, moving);
  }

  // kWalkAhead: how the hole picks the child to move into. Without it, by a
  // conditional move: no mispredicted branches, the fastest while the heap
  // fits in the cache. With it, by a branch (the empty asm keeps the compiler
  // from turning it into a conditional move) plus, in the binary heap, a
  // prefetch of both children's children: in a heap larger than the cache
  // the processor then loads the level below on its guess, or from the
  // prefetch, instead of waiting for this level's compare; at 1M events the
  // walk ran 2-3x faster. Either way the heap, and so the order of pops, is
  // the same.
  template <bool kWalkAhead>
  void fill_hole(std::size_t start, const EventHeader moving) {
    EventHeader* h = heap_;
    const std::size_t n = size_;
    std::size_t i = start;
    for (;;) {
      const std::size_t first = i * kArity + 1;
      std::size_t best;
      if (first + kArity <= n) {
        if constexpr (kWalkAhead && kArity == 2) {
          prefetch(h, 2 * first + 1);  // one aligned pair of lines
          prefetch(h, 2 * first + 3);
        }
        if constexpr (kArity == 4) {
          const std::size_t a = header_less(h[first + 1], h[first]) ? first + 1 : first;
          const std::size_t b = header_less(h[first + 3], h[first + 2]) ? first + 3 : first + 2;
          best = pick<kWalkAhead>(a, b);
        } else {
          best = pick<kWalkAhead>(first, first + 1);
        }
      } else if (first < n) {
        best = first;
        for (std::size_t c = first + 1; c < n; ++c)
          if (header_less(h[c], h[best])) best = c;
      } else {
        break;
      }
      h[i] = h[best];
      i = best;
    }
    while (i > start) {
      const std::size_t parent = (i - 1) / kArity;
      if (!header_less(moving, h[parent])) break;
      h[i] = h[parent];
      i = parent;
    }
    h[i] = moving;
  }

  // The smaller of heap_[a] and heap_[b] (a on ties, which cannot happen:
  // keys are unique).
  template <bool kBranch>
  std::size_t pick(std::size_t a, std::size_t b) const {
    if constexpr (kBranch) {
      if (header_less(heap_[b], heap_[a])) {
        asm volatile("");
        return b;
      }
      return a;
    } else {
      return header_less(heap_[b], heap_[a]) ? b : a;
    }
  }

  void make_heap() {
    if (size_ < 2) return;
    for (std::size_t i = (size_ - 2) / kArity + 1; i-- > 0;) fill_hole(i, heap_[i]);
  }

  std::unique_ptr<EventHeader, AlignedDelete> storage_;
  EventHeader* heap_ = nullptr;  // storage_ + kLead: heap_[0] is the root
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

}  // namespace dsim::detail
