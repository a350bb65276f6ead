// The total event order (time, depth, src, seq) and the queue that keeps it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <queue>
#include <random>
#include <set>
#include <string>
#include <tuple>
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

// The inline queue (header-only envelopes) keeps the same order as
// std::priority_queue, for both arities, under the hold model with many ties:
// with a population that fits in the cache and one large enough to walk
// ahead (InlineEventQueue::kWalkAheadFrom), and after remove_if rebuilt it.
class InlineQueueHold : public ::testing::TestWithParam<int> {};

TEST_P(InlineQueueHold, MatchesPriorityQueue) {
  const int population = GetParam();
  auto greater = [](const Event& a, const Event& b) { return key_less(b, a); };
  std::priority_queue<Event, std::vector<Event>, decltype(greater)> ref(greater);
  InlineEventQueue<2> q2;
  InlineEventQueue<4> q4;
  std::mt19937_64 gen(11);
  std::exponential_distribution<double> exp(1.0);
  std::uint64_t seq = 0;
  for (int i = 0; i < population; ++i) {
    Event e = make(exp(gen), i % 3, static_cast<EntityId>(i % 13), seq++);
    e.dst = static_cast<EntityId>(i);
    e.type = 7;
    q2.push(e);
    q4.push(e);
    ref.push(e);
  }
  auto hold = [&](int steps) {
    for (int i = 0; i < steps; ++i) {
      ASSERT_EQ(q2.min_time(), ref.top().time);
      ASSERT_EQ(q4.min_time(), ref.top().time);
      ASSERT_EQ(q2.top_dst(), ref.top().dst);
      const Event a = q2.pop(), b = q4.pop();
      const Event want = ref.top();
      ref.pop();
      ASSERT_EQ(std::memcmp(&a, &want, sizeof(Event)), 0);
      ASSERT_EQ(std::memcmp(&b, &want, sizeof(Event)), 0);
      // Exact ties on time (a third) and on (time, depth) exercise the fallback.
      const Time t = (i % 3 == 0) ? a.time + 1.0 : a.time + exp(gen);
      Event n = make(t, (i / 3) % 2, static_cast<EntityId>(i % 13), seq++);
      n.dst = a.dst;
      n.type = a.type;
      q2.push(n);
      q4.push(n);
      ref.push(n);
    }
  };
  hold(3 * population);
  // Drop every event of one sender, from the queues and from the reference.
  auto dropped = [](const Event& e) { return e.src == 5; };
  const std::size_t removed = q2.remove_if(dropped);
  EXPECT_EQ(q4.remove_if(dropped), removed);
  std::vector<Event> kept;
  while (!ref.empty()) {
    if (!dropped(ref.top())) kept.push_back(ref.top());
    ref.pop();
  }
  EXPECT_GT(removed, 0u);
  for (const Event& e : kept) ref.push(e);
  ASSERT_EQ(q2.size(), ref.size());
  ASSERT_EQ(q4.size(), ref.size());
  hold(population);
}

INSTANTIATE_TEST_SUITE_P(Populations, InlineQueueHold, ::testing::Values(1000, 40000));

// Every kind of EventQueue: (binary, event_bytes, reserved). Header-only
// envelopes (32 bytes) with kInlineFrom reserved get the inline layout.
class EventQueueKinds
    : public ::testing::TestWithParam<std::tuple<bool, std::size_t, std::size_t>> {
 protected:
  EventQueue queue() const {
    EventQueue q(std::get<0>(GetParam()), bytes());
    q.reserve(std::get<2>(GetParam()));
    EXPECT_EQ(q.inline_layout(), expect_inline());
    return q;
  }
  std::size_t bytes() const { return std::get<1>(GetParam()); }
  bool expect_inline() const {
    return bytes() == offsetof(Event, payload) &&
           std::get<2>(GetParam()) >= EventQueue::kInlineFrom;
  }
  // An event with a recognisable payload; the queue keeps its first
  // bytes() - 32 bytes.
  static Event with_payload(Time t, EntityId src, std::uint64_t seq) {
    Event e = make(t, 0, src, seq);
    e.dst = src * 3 + 1;
    e.type = 5;
    for (std::size_t i = 0; i < kMaxPayloadBytes; ++i)
      e.payload[i] = static_cast<std::byte>(seq + i + 1);
    return e;
  }
  Event stored(const Event& e) const {
    Event s = e;
    std::memset(s.payload + (bytes() - offsetof(Event, payload)), 0, sizeof(Event) - bytes());
    return s;
  }
};

TEST_P(EventQueueKinds, PopsInKeyOrderWithStoredPayload) {
  EventQueue q = queue();
  std::vector<Event> v;
  std::mt19937_64 gen(3);
  for (std::uint64_t i = 0; i < 500; ++i)
    v.push_back(with_payload(static_cast<double>(gen() % 50), static_cast<EntityId>(i % 7), i));
  for (const Event& e : v) q.push(e);
  std::sort(v.begin(), v.end(), key_less);
  EXPECT_EQ(q.size(), v.size());
  for (const Event& want : v) {
    ASSERT_EQ(q.min_time(), want.time);
    const Event top = q.top();
    const Event got = q.pop();
    const Event s = stored(want);
    ASSERT_EQ(std::memcmp(&top, &s, sizeof(Event)), 0);
    ASSERT_EQ(std::memcmp(&got, &s, sizeof(Event)), 0);
  }
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.min_time(), kTimeInfinity);
}

TEST_P(EventQueueKinds, ForEachVisitsEveryPendingEventOnce) {
  EventQueue q = queue();
  q.for_each([](const Event&) { ADD_FAILURE() << "empty queue visited an event"; });
  std::set<std::uint64_t> want;
  for (std::uint64_t i = 0; i < 300; ++i) {
    q.push(with_payload(static_cast<double>((i * 37) % 101), static_cast<EntityId>(i % 5), i));
    want.insert(i);
  }
  for (int i = 0; i < 100; ++i) want.erase(q.pop().seq);  // some slots free again
  std::set<std::uint64_t> seen;
  q.for_each([&](const Event& e) {
    EXPECT_TRUE(seen.insert(e.seq).second) << "event visited twice: seq " << e.seq;
    const Event s = stored(with_payload(e.time, e.src, e.seq));
    EXPECT_EQ(std::memcmp(&e, &s, sizeof(Event)), 0) << "seq " << e.seq;
  });
  EXPECT_EQ(seen, want);
  EXPECT_EQ(q.size(), want.size());
}

TEST_P(EventQueueKinds, RemoveIfDropsMatchesAndKeepsOrder) {
  EventQueue q = queue();
  EXPECT_EQ(q.remove_if([](const Event&) { return true; }), 0u);
  std::vector<Event> v;
  std::mt19937_64 gen(5);
  for (std::uint64_t i = 0; i < 2000; ++i)
    v.push_back(with_payload(static_cast<double>(gen() % 300), static_cast<EntityId>(i % 11), i));
  for (const Event& e : v) q.push(e);
  for (int i = 0; i < 200; ++i) q.pop();
  std::sort(v.begin(), v.end(), key_less);
  v.erase(v.begin(), v.begin() + 200);
  // Export entity 3's pending events, as migration does.
  auto of_entity = [](const Event& e) { return e.dst == 3 * 3 + 1; };
  const auto expected = static_cast<std::size_t>(std::count_if(v.begin(), v.end(), of_entity));
  ASSERT_GT(expected, 0u);
  EXPECT_EQ(q.remove_if(of_entity), expected);
  std::erase_if(v, of_entity);
  EXPECT_EQ(q.size(), v.size());
  q.for_each([&](const Event& e) { EXPECT_FALSE(of_entity(e)); });
  // New events mix with the rebuilt heap, and reuse the freed slots.
  for (std::uint64_t i = 0; i < 100; ++i) {
    const Event e = with_payload(static_cast<double>(gen() % 300) + 0.5, 3, 10000 + i);
    q.push(e);
    v.push_back(e);
  }
  std::sort(v.begin(), v.end(), key_less);
  for (const Event& want : v) {
    const Event got = q.pop();
    const Event s = stored(want);
    ASSERT_EQ(std::memcmp(&got, &s, sizeof(Event)), 0);
  }
  EXPECT_TRUE(q.empty());
  // Removing everything leaves an empty, usable queue.
  for (std::uint64_t i = 0; i < 10; ++i) q.push(with_payload(1.0 * i, 1, i));
  EXPECT_EQ(q.remove_if([](const Event&) { return true; }), 10u);
  EXPECT_TRUE(q.empty());
  q.push(with_payload(2.0, 1, 99));
  EXPECT_EQ(q.pop().seq, 99u);
}

TEST_P(EventQueueKinds, NextDestinationsAreHints) {
  EventQueue q = queue();
  EXPECT_EQ(q.next_dst(), kNoEntity);
  EXPECT_EQ(q.second_dst(), kNoEntity);
  q.push(with_payload(5.0, 7, 0));
  EXPECT_EQ(q.second_dst(), kNoEntity);
  for (std::uint64_t i = 1; i < 50; ++i)
    q.push(with_payload(5.0 + static_cast<double>(i), static_cast<EntityId>(i), i));
  if (expect_inline()) {
    EXPECT_EQ(q.next_dst(), q.top().dst);
    const Event first = q.pop();
    const EntityId second = q.second_dst();
    EXPECT_EQ(q.next_dst(), q.top().dst);
    q.pop();
    EXPECT_EQ(second, q.top().dst);  // no push in between: the guess was right
    EXPECT_EQ(first.dst, 7u * 3 + 1);
  } else {
    // The slab-backed queues give no hints.
    EXPECT_EQ(q.next_dst(), kNoEntity);
    EXPECT_EQ(q.second_dst(), kNoEntity);
  }
}

INSTANTIATE_TEST_SUITE_P(
    EventQueue, EventQueueKinds,
    ::testing::Combine(::testing::Bool(),
                       ::testing::Values(offsetof(Event, payload), std::size_t{40}, sizeof(Event)),
                       ::testing::Values(std::size_t{0}, EventQueue::kInlineFrom)),
    [](const auto& info) {
      return std::string(std::get<0>(info.param) ? "Binary" : "Quad") + "_" +
             std::to_string(std::get<1>(info.param)) + "Bytes_" +
             (std::get<2>(info.param) > 0 ? "Reserved" : "Small");
    });

}  // namespace
}  // namespace dsim::detail
