// The total event order (time, depth, src, seq) and the queue that keeps it.
#include <gtest/gtest.h>

#include <algorithm>
#include <queue>
#include <random>
#include <vector>

#include "core/event.hpp"
#include "core/event_queue.hpp"

namespace dsim::detail {
namespace {

Event make(Time t, std::uint32_t depth, EntityId src, std::uint64_t seq) {
  Event e{};
  e.time = t;
  e.depth = depth;
  e.src = src;
  e.seq = seq;
  return e;
}

std::vector<Event> sample_events() {
  std::vector<Event> v;
  // Many ties on time, on (time, depth) and on (time, depth, src).
  for (int t = 0; t < 5; ++t)
    for (std::uint32_t d = 0; d < 3; ++d)
      for (EntityId s = 0; s < 4; ++s)
        for (std::uint64_t q = 0; q < 3; ++q) v.push_back(make(t * 0.5, d, s, q * 7 + s));
  return v;
}

TEST(EventOrder, KeyIsStrictTotalOrder) {
  auto v = sample_events();
  for (const auto& a : v)
    for (const auto& b : v) {
      const bool same = a.time == b.time && a.depth == b.depth && a.src == b.src && a.seq == b.seq;
      EXPECT_EQ(key_less(a, b) || key_less(b, a), !same);
      EXPECT_FALSE(key_less(a, b) && key_less(b, a));
    }
}

TEST(EventOrder, FieldsCompareInPriorityOrder) {
  EXPECT_TRUE(key_less(make(1.0, 9, 9, 9), make(2.0, 0, 0, 0)));
  EXPECT_TRUE(key_less(make(1.0, 0, 9, 9), make(1.0, 1, 0, 0)));
  EXPECT_TRUE(key_less(make(1.0, 1, 0, 9), make(1.0, 1, 1, 0)));
  EXPECT_TRUE(key_less(make(1.0, 1, 1, 0), make(1.0, 1, 1, 1)));
}

// Whatever the insertion order, the queue pops the same sequence.
TEST(EventOrder, QueuePopsSameSequenceForPermutedInsertions) {
  auto v = sample_events();
  std::vector<Event> sorted = v;
  std::sort(sorted.begin(), sorted.end(), key_less);
  std::mt19937_64 gen(42);
  for (int trial = 0; trial < 20; ++trial) {
    std::shuffle(v.begin(), v.end(), gen);
    HeapEventQueue<4> q4(sizeof(Event));
    HeapEventQueue<2> q2;
    for (const auto& e : v) {
      q4.push(e);
      q2.push(e);
    }
    for (const auto& want : sorted) {
      ASSERT_FALSE(q4.empty());
      const Event a = q4.pop(), b = q2.pop();
      EXPECT_FALSE(key_less(a, want) || key_less(want, a));
      EXPECT_FALSE(key_less(b, want) || key_less(want, b));
    }
    EXPECT_TRUE(q4.empty());
  }
}

// Interleaved pushes and pops (the hold model) against std::priority_queue.
TEST(EventOrder, QueueMatchesPriorityQueueUnderHoldModel) {
  auto greater = [](const Event& a, const Event& b) { return key_less(b, a); };
  std::priority_queue<Event, std::vector<Event>, decltype(greater)> ref(greater);
  HeapEventQueue<4> q;
  std::mt19937_64 gen(7);
  std::exponential_distribution<double> exp(1.0);
  std::uint64_t seq = 0;
  for (int i = 0; i < 1000; ++i) {
    Event e = make(exp(gen), 0, static_cast<EntityId>(i % 13), seq++);
    q.push(e);
    ref.push(e);
  }
  for (int i = 0; i < 100000; ++i) {
    ASSERT_EQ(q.min_time(), ref.top().time);
    const Event a = q.pop();
    const Event b = ref.top();
    ref.pop();
    ASSERT_EQ(a.seq, b.seq);
    // Half the new events tie exactly on time to exercise the slab fallback.
    const Time t = (i % 2) ? a.time + 1.0 : a.time + exp(gen);
    Event n = make(t, 0, static_cast<EntityId>(i % 13), seq++);
    q.push(n);
    ref.push(n);
  }
}

}  // namespace
}  // namespace dsim::detail
