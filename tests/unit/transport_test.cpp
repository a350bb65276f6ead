// The transport in one process (threads): batches arrive whole, per sender in
// order, events before anti-messages, and an anti-message never before the
// event it follows; handing a buffer over moves it without a copy; the
// collectives are the identity and a raised flag shows here. (Between
// processes the transport is tested by tests/scripts/mpi_transport.sh.)
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <span>
#include <thread>
#include <vector>

#include "transport/cluster.hpp"
#include "transport/transport.hpp"

namespace dsim::detail {
namespace {

Event make(std::uint64_t src, std::uint64_t seq) {
  Event e{};
  e.time = static_cast<Time>(seq);
  e.src = static_cast<EntityId>(src);
  e.seq = seq;
  return e;
}

struct Arrival {
  std::uint32_t from;
  Channel channel;
  std::vector<Event> events;
};

std::vector<Arrival> drain_all(Transport& t, std::uint32_t to) {
  std::vector<Arrival> out;
  t.drain(to, [&](std::uint32_t from, Channel c, std::span<const Event> events) {
    out.push_back({from, c, std::vector<Event>(events.begin(), events.end())});
  });
  return out;
}

TEST(TransportAlone, AllPartitionsAreLocal) {
  Cluster cluster;
  Transport t(cluster, 3, 3);
  EXPECT_EQ(t.partitions(), 3u);
  EXPECT_EQ(t.local().first, 0u);
  EXPECT_EQ(t.local().last, 3u);
  EXPECT_EQ(partitions_of(1, 4, 6).first, 4u);
  EXPECT_EQ(partitions_of(1, 4, 6).last, 6u);
  EXPECT_EQ(partitions_of(2, 4, 6).first, partitions_of(2, 4, 6).last);
}

TEST(TransportAlone, EventsBeforeAntiMessagesEachInOrder) {
  Cluster cluster;
  Transport t(cluster, 3, 3);
  EXPECT_TRUE(drain_all(t, 1).empty());
  const std::vector<Event> a{make(0, 1), make(0, 2)}, anti{make(0, 1)}, b{make(0, 3)};
  t.send(0, 1, Channel::kEvents, a);
  t.send(0, 1, Channel::kAntiMessages, anti);
  t.send(0, 1, Channel::kEvents, b);
  t.send(2, 1, Channel::kEvents, std::span<const Event>(b));
  t.send(2, 1, Channel::kEvents, std::span<const Event>());  // nothing
  const auto got = drain_all(t, 1);
  // Partition 0's events (both sends, in order), partition 2's, then the
  // anti-message.
  std::vector<std::uint64_t> events_from_0, events_from_2, antis;
  bool anti_seen = false;
  for (const Arrival& a : got) {
    if (a.channel == Channel::kAntiMessages) {
      anti_seen = true;
      for (const Event& e : a.events) antis.push_back(e.seq);
      continue;
    }
    EXPECT_FALSE(anti_seen) << "an event batch after an anti-message batch";
    for (const Event& e : a.events) (a.from == 0 ? events_from_0 : events_from_2).push_back(e.seq);
  }
  EXPECT_EQ(events_from_0, (std::vector<std::uint64_t>{1, 2, 3}));
  EXPECT_EQ(events_from_2, (std::vector<std::uint64_t>{3}));
  EXPECT_EQ(antis, (std::vector<std::uint64_t>{1}));
  EXPECT_TRUE(drain_all(t, 1).empty());
  EXPECT_TRUE(drain_all(t, 0).empty());
}

TEST(TransportAlone, HandingOverMovesTheBufferAndRecyclesOne) {
  Cluster cluster;
  Transport t(cluster, 2, 2);
  std::vector<Event> box{make(0, 1), make(0, 2), make(0, 3)};
  const Event* data = box.data();
  t.send(0, 1, Channel::kEvents, box);
  EXPECT_TRUE(box.empty());
  const Event* seen = nullptr;
  std::size_t n = 0;
  t.drain(1, [&](std::uint32_t, Channel, std::span<const Event> events) {
    seen = events.data();
    n = events.size();
  });
  EXPECT_EQ(seen, data) << "the buffer was copied";
  EXPECT_EQ(n, 3u);
  // The drained buffer comes back to the next sender.
  box.push_back(make(0, 4));
  t.send(0, 1, Channel::kEvents, box);
  drain_all(t, 1);  // returns the second buffer
  box.assign({make(0, 5)});
  t.send(0, 1, Channel::kEvents, box);
  EXPECT_TRUE(box.empty());
  EXPECT_GE(box.capacity(), 3u) << "no recycled buffer";
  const auto got = drain_all(t, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].events.at(0).seq, 5u);
}

TEST(TransportAlone, CollectivesAreTheIdentityAndTheFlagIsRaisedHere) {
  Cluster cluster;
  Transport t(cluster, 1, 1);
  struct Value {
    std::uint64_t sum;
    double min;
  };
  int merges = 0;
  const Value v = t.reduce(Value{5, 2.5}, [&](Value&, const Value&) { ++merges; });
  EXPECT_EQ(v.sum, 5u);
  EXPECT_EQ(v.min, 2.5);
  const Value w = t.quiesce_and_reduce(Value{7, 1.0}, [&](Value&, const Value&) { ++merges; });
  EXPECT_EQ(w.sum, 7u);
  EXPECT_EQ(merges, 0);
  t.quiesce();
  std::atomic<bool> flag{false};
  t.raise_flag();  // nobody watches yet
  t.watch_flag(&flag);
  t.start_progress();
  t.progress();
  t.raise_flag();
  EXPECT_TRUE(flag.load());
  t.finish();
}

// Every partition sends to every other, from its own thread, numbered events
// and, after each event, an anti-message with the same number, while every
// partition drains at the same time. Each receiver sees, per sender, the
// events and the anti-messages in order, and never an anti-message before
// its event.
TEST(TransportThreads, ConcurrentSendersKeepOrderPerPair) {
  constexpr std::uint32_t kParts = 4;
  constexpr std::uint64_t kMessages = 20000;
  Cluster cluster;
  Transport t(cluster, kParts, kParts);
  std::atomic<std::uint32_t> senders_done{0};
  std::vector<std::uint64_t> errors(kParts, 0), received(kParts, 0);
  auto worker = [&](std::uint32_t me) {
    std::vector<std::vector<Event>> boxes(kParts);
    std::vector<std::uint64_t> next_event(kParts, 1), next_anti(kParts, 1);
    auto drain = [&] {
      t.drain(me, [&](std::uint32_t from, Channel c, std::span<const Event> events) {
        for (const Event& e : events) {
          if (e.src != from) ++errors[me];
          if (c == Channel::kEvents) {
            if (e.seq != next_event[from]++) ++errors[me];
            ++received[me];
          } else {
            // The event with this number came first (this drain or earlier).
            if (e.seq != next_anti[from]++ || e.seq >= next_event[from]) ++errors[me];
          }
        }
      });
    };
    for (std::uint64_t k = 1; k <= kMessages; ++k) {
      for (std::uint32_t to = 0; to < kParts; ++to) {
        if (to == me) continue;
        // Alternate copies and hand-overs, and batches of several.
        boxes[to].push_back(make(me, k));
        if (k % 3 == 0) {
          t.send(me, to, Channel::kEvents, boxes[to]);
        } else {
          t.send(me, to, Channel::kEvents, std::span<const Event>(boxes[to]));
          boxes[to].clear();
        }
        const Event anti = make(me, k);
        t.send(me, to, Channel::kAntiMessages, std::span<const Event>(&anti, 1));
      }
      if (k % 64 == 0) drain();
    }
    senders_done.fetch_add(1);
    while (senders_done.load() < kParts) drain();
    drain();
    for (std::uint32_t from = 0; from < kParts; ++from)
      if (from != me && (next_event[from] != kMessages + 1 || next_anti[from] != kMessages + 1))
        ++errors[me];
  };
  {
    std::vector<std::jthread> threads;
    for (std::uint32_t i = 0; i < kParts; ++i) threads.emplace_back(worker, i);
  }
  for (std::uint32_t i = 0; i < kParts; ++i) {
    EXPECT_EQ(errors[i], 0u) << "partition " << i;
    EXPECT_EQ(received[i], (kParts - 1) * kMessages) << "partition " << i;
  }
}

}  // namespace
}  // namespace dsim::detail
