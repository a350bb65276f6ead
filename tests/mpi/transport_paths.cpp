// The transport between processes (its MPI path), under mpirun: two
// partitions per process, every partition sending to every other.
//  - point to point, progressed by the workers while they send and drain,
//    then quiesce(): every batch arrives, per sender in order, events before
//    their anti-messages;
//  - the same with a communication thread doing the progress;
//  - quiesce_and_reduce() carries the batches queued since, behind any still
//    in flight point to point, and folds the values in rank order;
//  - reduce() folds in rank order;
//  - a raised flag reaches every process, and a flag raised after a
//    reduction belongs to the next one;
//  - a process that waits in a collective for a late one (the transport's
//    reductions, the Cluster's sum and allgather) leaves its core to other
//    threads: it uses a small part of a core's time while it waits.
// Run by tests/scripts/mpi_transport.sh; prints one line and exits non-zero
// on any failure.
#include <mpi.h>
#include <time.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdint>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "transport/cluster.hpp"
#include "transport/transport.hpp"

namespace dsim::detail {
namespace {

constexpr std::uint32_t kPerRank = 2;
int failures = 0;
std::uint32_t my_rank = 0;

void check(bool ok, const std::string& what) {
  if (ok) return;
  ++failures;
  std::fprintf(stderr, "rank %u: FAIL: %s\n", my_rank, what.c_str());
}

Event make(std::uint32_t from, std::uint64_t seq) {
  Event e{};
  e.time = static_cast<Time>(seq);
  e.src = from;
  e.seq = seq;
  return e;
}

// What one partition has received, per sender: the next event and
// anti-message numbers expected (numbers start at `start`).
struct Receiver {
  std::uint32_t me;
  std::vector<std::uint64_t> next_event, next_anti;
  std::uint64_t errors = 0, events = 0;
  Receiver(std::uint32_t id, std::uint32_t partitions, std::uint64_t start)
      : me(id), next_event(partitions, start), next_anti(partitions, start) {}
  bool drain(Transport& t) {
    return t.drain(me, [&](std::uint32_t from, Channel c, std::span<const Event> batch) {
      for (const Event& e : batch) {
        if (e.src != from) ++errors;
        if (c == Channel::kEvents) {
          if (e.seq != next_event[from]++) ++errors;
          ++events;
        } else if (e.seq != next_anti[from]++ || e.seq >= next_event[from]) {
          ++errors;
        }
      }
    });
  }
};

// Each local partition, on its own thread, sends `count` numbered events (and
// an anti-message after each) to every other partition, in batches, and
// drains while it does; then everything is quiesced and drained.
void point_to_point(Transport& t, bool workers_progress, const char* name) {
  const std::uint32_t total = t.partitions();
  const std::uint32_t first = t.local().first, last = t.local().last;
  constexpr std::uint64_t kCount = 3000;
  std::vector<Receiver> receivers;
  for (std::uint32_t p = first; p < last; ++p) receivers.emplace_back(p, total, 1);
  {
    std::vector<std::jthread> workers;
    for (std::uint32_t p = first; p < last; ++p)
      workers.emplace_back([&, p] {
        Receiver& r = receivers[p - first];
        std::vector<std::vector<Event>> boxes(total), antis(total);
        for (std::uint64_t k = 1; k <= kCount; ++k) {
          for (std::uint32_t q = 0; q < total; ++q) {
            if (q == p) continue;
            boxes[q].push_back(make(p, k));
            antis[q].push_back(make(p, k));
          }
          if (k % 50 != 0 && k != kCount) continue;
          for (std::uint32_t q = 0; q < total; ++q) {
            if (q == p) continue;
            t.send(p, q, Channel::kEvents, boxes[q]);
            t.send(p, q, Channel::kAntiMessages, std::span<const Event>(antis[q]));
            antis[q].clear();
          }
          if (workers_progress) t.progress();
          r.drain(t);
        }
      });
  }
  t.quiesce();
  for (Receiver& r : receivers) {
    r.drain(t);
    check(r.errors == 0, std::string(name) + ": order within a pair");
    check(r.events == (total - 1) * kCount, std::string(name) + ": events received " +
                                                std::to_string(r.events));
  }
}

void quiesce_and_reduce(Transport& t, std::uint32_t ranks) {
  const std::uint32_t total = t.partitions();
  const auto [first, last] = t.local();
  std::vector<Receiver> receivers;
  for (std::uint32_t p = first; p < last; ++p) receivers.emplace_back(p, total, 1);
  // Numbers 1..3 go point to point (progressed, maybe still in flight),
  // 4..6 wait for the collective.
  for (std::uint64_t k = 1; k <= 6; ++k) {
    for (std::uint32_t p = first; p < last; ++p)
      for (std::uint32_t q = 0; q < total; ++q) {
        if (q == p) continue;
        const Event e = make(p, k);
        t.send(p, q, Channel::kEvents, std::span<const Event>(&e, 1));
        t.send(p, q, Channel::kAntiMessages, std::span<const Event>(&e, 1));
      }
    if (k <= 3) t.progress();
  }
  struct Value {
    std::uint64_t digits;
    std::uint64_t sum;
  };
  const Value v = t.quiesce_and_reduce(Value{my_rank + 1, my_rank + 1u},
                                       [](Value& acc, const Value& next) {
                                         acc.digits = acc.digits * 10 + next.digits;
                                         acc.sum += next.sum;
                                       });
  std::uint64_t digits = 0;
  for (std::uint32_t r = 1; r <= ranks; ++r) digits = digits * 10 + r;
  check(v.digits == digits, "quiesce_and_reduce: rank order " + std::to_string(v.digits));
  check(v.sum == std::uint64_t{ranks} * (ranks + 1) / 2, "quiesce_and_reduce: sum");
  for (Receiver& r : receivers) {
    r.drain(t);
    check(r.errors == 0, "quiesce_and_reduce: order within a pair");
    check(r.events == (total - 1) * 6,
          "quiesce_and_reduce: events received " + std::to_string(r.events));
  }
  const std::uint64_t digits_only =
      t.reduce(std::uint64_t{my_rank + 1},
               [](std::uint64_t& acc, const std::uint64_t& next) { acc = acc * 10 + next; });
  check(digits_only == digits, "reduce: rank order");
}

bool wait_for(const std::atomic<bool>& flag, Transport& t) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!flag.load()) {
    t.progress();
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  return true;
}

void flags(Transport& t, std::uint32_t ranks) {
  std::atomic<bool> flag{false};
  t.watch_flag(&flag);
  for (std::uint32_t raiser = 0; raiser < ranks; ++raiser) {
    if (my_rank == raiser) t.raise_flag();
    check(wait_for(flag, t), "flag raised by rank " + std::to_string(raiser) + " not seen");
    // The reduction answers the flag; a raise after it is for the next one.
    flag.store(false);
    t.reduce(std::uint8_t{0}, [](std::uint8_t&, const std::uint8_t&) {});
  }
  t.quiesce();
  check(!flag.load(), "a flag answered by a reduction came back");
}

// CPU seconds of the calling thread.
double thread_cpu() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// The last rank arrives `late` seconds after the others; each of the others
// may spend a fifth of that in CPU while it waits (a blocking collective
// that polls at full speed spends all of it).
void patient_collectives(Transport& t, Cluster& cluster, std::uint32_t ranks) {
  constexpr double kLate = 0.6;
  const bool last = my_rank + 1 == ranks;
  auto wait_for = [&](const char* what, auto&& collective) {
    if (last) std::this_thread::sleep_for(std::chrono::duration<double>(kLate));
    const double start = thread_cpu();
    collective();
    const double used = thread_cpu() - start;
    if (!last)
      check(used < kLate / 5, std::string(what) + ": waiting for a late rank took " +
                                  std::to_string(used) + " s of CPU");
  };
  wait_for("reduce", [&] {
    t.reduce(std::uint64_t{1}, [](std::uint64_t& a, const std::uint64_t& b) { a += b; });
  });
  wait_for("quiesce_and_reduce", [&] {
    t.quiesce_and_reduce(std::uint64_t{1}, [](std::uint64_t& a, const std::uint64_t& b) { a += b; });
  });
  wait_for("Cluster::sum", [&] { cluster.sum({1}); });
  wait_for("Cluster::allgather", [&] {
    const std::byte b{1};
    cluster.allgather(std::span(&b, 1));
  });
}

}  // namespace
}  // namespace dsim::detail

int main(int argc, char** argv) {
  using namespace dsim::detail;
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  my_rank = static_cast<std::uint32_t>(rank);
  const auto ranks = static_cast<std::uint32_t>(size);
  {
    MPI_Comm world = MPI_COMM_WORLD;
    Cluster cluster(&world);
    {
      Transport t(cluster, kPerRank, kPerRank * ranks);
      point_to_point(t, true, "workers progress");
      quiesce_and_reduce(t, ranks);
      flags(t, ranks);
      patient_collectives(t, cluster, ranks);
      t.finish();
    }
    {
      Transport t(cluster, kPerRank, kPerRank * ranks, /*progress_thread=*/true);
      std::atomic<bool> flag{false};
      t.watch_flag(&flag);
      t.start_progress();
      point_to_point(t, false, "progress thread");
      t.finish();
    }
    // A last partition range that is short: 3 partitions over 2 per rank.
    if (ranks == 2) {
      Transport t(cluster, kPerRank, 3);
      check(t.local().last - t.local().first == (my_rank == 0 ? 2u : 1u), "short range");
      point_to_point(t, true, "short range");
      t.finish();
    }
  }
  int all = 0;
  MPI_Allreduce(&failures, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (rank == 0) std::printf("transport_paths: %d ranks, %d failure(s)\n", size, all);
  MPI_Finalize();
  return all == 0 ? 0 : 1;
}
