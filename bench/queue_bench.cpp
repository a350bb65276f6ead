// Google Benchmark microbenchmark of the pending-event set: the classic hold
// model (pop the earliest event, push one a random increment later) at a
// constant population, for dsim's partition queues (4-ary and binary; the
// slab-backed HeapEventQueue with 64-byte envelopes, and the InlineEventQueue
// of 32-byte headers that header-only models get) and a plain
// std::priority_queue holding the same 64-byte envelopes or bare 16-byte
// (time, id) pairs.
//
//   build/bench/queue_bench --benchmark_filter=Hold
// Items per second = hold operations (one pop + one push) per second.
#if __has_include(<benchmark/benchmark.h>)
#include <benchmark/benchmark.h>

#include <cstdint>
#include <functional>
#include <queue>
#include <utility>
#include <vector>

#include "core/event.hpp"
#include "core/event_queue.hpp"
#include "dsim/random.hpp"

namespace {

using dsim::detail::Event;

// Increments drawn once (Exp(1), dsim's generator), so the loop measures the
// queue, not the random numbers.
struct Increments {
  explicit Increments(std::size_t n) : values(n) {
    std::uint64_t counter = 0;
    dsim::Random rng(1, 0, 0, &counter);
    for (double& v : values) v = rng.exponential(1.0);
  }
  std::vector<double> values;
};

const Increments& increments() {
  static const Increments inc(1 << 16);
  return inc;
}

Event make_event(double time, std::uint32_t id, std::uint64_t seq) {
  Event e{};
  e.time = time;
  e.src = id;
  e.dst = id;
  e.seq = seq;
  return e;
}

// dsim's queue with `kArity` children per node, storing whole envelopes.
template <unsigned kArity>
void BM_HoldDsimQueue(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto& inc = increments().values;
  dsim::detail::HeapEventQueue<kArity> queue(sizeof(Event));
  std::size_t k = 0;
  std::uint64_t seq = 0;
  for (std::size_t i = 0; i < n; ++i)
    queue.push(make_event(inc[k++ & 0xffff], static_cast<std::uint32_t>(i), seq++));
  for (auto _ : state) {
    const Event e = queue.pop();
    queue.push(make_event(e.time + inc[k++ & 0xffff], e.dst, seq++));
  }
  state.SetItemsProcessed(state.iterations());
}

// dsim's queue for header-only envelopes (32 bytes, inline in the heap).
template <unsigned kArity>
void BM_HoldDsimInlineQueue(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto& inc = increments().values;
  dsim::detail::InlineEventQueue<kArity> queue;
  queue.reserve(n);
  std::size_t k = 0;
  std::uint64_t seq = 0;
  for (std::size_t i = 0; i < n; ++i)
    queue.push(make_event(inc[k++ & 0xffff], static_cast<std::uint32_t>(i), seq++));
  for (auto _ : state) {
    const Event e = queue.pop();
    queue.push(make_event(e.time + inc[k++ & 0xffff], e.dst, seq++));
  }
  state.SetItemsProcessed(state.iterations());
}

struct LaterEvent {
  bool operator()(const Event& a, const Event& b) const { return dsim::detail::key_less(b, a); }
};

void BM_HoldPriorityQueueEnvelope(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto& inc = increments().values;
  std::vector<Event> storage;
  storage.reserve(n);
  std::priority_queue<Event, std::vector<Event>, LaterEvent> queue(LaterEvent{},
                                                                   std::move(storage));
  std::size_t k = 0;
  std::uint64_t seq = 0;
  for (std::size_t i = 0; i < n; ++i)
    queue.push(make_event(inc[k++ & 0xffff], static_cast<std::uint32_t>(i), seq++));
  for (auto _ : state) {
    const Event e = queue.top();
    queue.pop();
    queue.push(make_event(e.time + inc[k++ & 0xffff], e.dst, seq++));
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_HoldPriorityQueuePair(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto& inc = increments().values;
  using Pair = std::pair<double, std::uint32_t>;
  std::vector<Pair> storage;
  storage.reserve(n);
  std::priority_queue<Pair, std::vector<Pair>, std::greater<>> queue(std::greater<>{},
                                                                     std::move(storage));
  std::size_t k = 0;
  for (std::size_t i = 0; i < n; ++i)
    queue.push({inc[k++ & 0xffff], static_cast<std::uint32_t>(i)});
  for (auto _ : state) {
    const Pair e = queue.top();
    queue.pop();
    queue.push({e.first + inc[k++ & 0xffff], e.second});
  }
  state.SetItemsProcessed(state.iterations());
}

}  // namespace

BENCHMARK(BM_HoldDsimQueue<4>)->Arg(1 << 10)->Arg(1 << 14)->Arg(1 << 20);
BENCHMARK(BM_HoldDsimQueue<2>)->Arg(1 << 10)->Arg(1 << 14)->Arg(1 << 20);
BENCHMARK(BM_HoldDsimInlineQueue<4>)->Arg(1 << 10)->Arg(1 << 14)->Arg(1 << 20);
BENCHMARK(BM_HoldDsimInlineQueue<2>)->Arg(1 << 10)->Arg(1 << 14)->Arg(1 << 20);
BENCHMARK(BM_HoldPriorityQueueEnvelope)->Arg(1 << 10)->Arg(1 << 14)->Arg(1 << 20);
BENCHMARK(BM_HoldPriorityQueuePair)->Arg(1 << 10)->Arg(1 << 14)->Arg(1 << 20);
BENCHMARK_MAIN();

#else
#include <cstdio>
int main() {
  std::puts("queue_bench: built without Google Benchmark; nothing to run");
  return 0;
}
#endif
