// Moving events between partitions. Partitions leave remote events in
// per-destination outboxes while they run; a transport hands each partition
// the events addressed to it once the sync algorithm says the senders are
// quiet. It knows nothing of windows, GVT or rollback.
//
// Partition ids are global: with MPI, rank r runs partitions
// [r * T, (r + 1) * T) of R * T; a transport holds the local ones. Between
// processes it also carries the sync algorithms' rounds (exchange, quiesce,
// reduce), which are no-ops in one process.
#pragma once

#include <algorithm>
#include <atomic>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "core/backoff.hpp"
#include "core/partition.hpp"

namespace dsim::detail {

// What each process says in a sync round; reduced over processes.
struct RoundState {
  Event min = infinite_key();    // smallest pending key (conservative: .time only)
  std::uint64_t events = 0;      // events processed (for progress)
  std::uint8_t failed = 0;       // some partition failed
  std::uint8_t stop = 0;         // some process asks to stop (QuietPoints::stop_wanted)
  std::uint8_t snapshot = 0;     // some process asks for a snapshot (optimistic)
  Time horizon = -kTimeInfinity; // latest event run with no record (optimistic)
};

inline void merge(RoundState& into, const RoundState& from) {
  if (key_less(from.min, into.min)) into.min = from.min;
  into.events += from.events;
  into.failed |= from.failed;
  into.stop |= from.stop;
  into.snapshot |= from.snapshot;
  if (from.horizon > into.horizon) into.horizon = from.horizon;
}

// The partitions rank `rank` runs: [first, last) of `total`, `per_rank` to a
// rank; the last ranks may run fewer, or none (sequential under MPI: one
// partition, on rank 0).
struct PartitionRange {
  std::uint32_t first, last;
};
inline PartitionRange partitions_of(std::uint32_t rank, std::uint32_t per_rank,
                                    std::uint32_t total) {
  const std::uint32_t first = std::min(rank * per_rank, total);
  return {first, std::min(first + per_rank, total)};
}

// A lock for critical sections of a few appends: one compare-and-swap to take
// it free, one exchange to give it back. A thread that finds it taken spins,
// then yields (core/backoff.hpp), then blocks (std::atomic::wait) until the
// holder, seeing someone blocked, wakes one waiter: a holder that is
// descheduled (an oversubscribed or busy machine) costs its waiters no CPU.
//
// Thread safety: any thread may lock; unlock() only by the holder.
// Invariants: `state_` is kFree, kTaken (held, nobody blocked) or kContended
// (held, and a thread may be blocked on it). A thread blocks only after it
// stored kContended, so the holder's unlock() sees kContended and notifies.
// A woken thread takes the lock as kContended (others may still sleep), so a
// last unlock may notify nobody: a rare, harmless system call.
class SpinLock {
 public:
  void lock() {
    std::uint32_t seen = kFree;
    if (state_.compare_exchange_strong(seen, kTaken, std::memory_order_acquire,
                                       std::memory_order_relaxed))
      return;
    Backoff backoff(kSpins, kYields);
    while (backoff.spin()) {
      seen = state_.load(std::memory_order_relaxed);
      if (seen == kFree && state_.compare_exchange_weak(seen, kTaken, std::memory_order_acquire,
                                                        std::memory_order_relaxed))
        return;
    }
    while (state_.exchange(kContended, std::memory_order_acquire) != kFree)
      state_.wait(kContended, std::memory_order_relaxed);
  }
  void unlock() {
    if (state_.exchange(kFree, std::memory_order_release) == kContended) state_.notify_one();
  }

 private:
  static constexpr std::uint32_t kFree = 0, kTaken = 1, kContended = 2;
  // A critical section is a few appends: 32 pauses (about 2 µs) outlast it
  // unless the holder was descheduled; yields then let a holder that shares
  // the core run.
  static constexpr std::uint32_t kSpins = 32, kYields = 16;
  std::atomic<std::uint32_t> state_{kFree};
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Moves every event addressed to `to` out of the other partitions' outboxes
  // of `bank` into `to`'s queue.
  // REQUIRES: no partition writes to that bank (the caller passed a barrier
  // after which the senders use the other bank).
  virtual void deliver(Partition& to, unsigned bank = 0) = 0;

  // Asynchronous delivery, for the optimistic engine. post() hands what
  // `from` left in its outboxes (bank 0) and antiboxes to their destinations;
  // receive() gives `to` what was posted to it, positive events before
  // anti-messages, and says whether there was anything. Messages from one
  // partition to another arrive in the order they were posted.
  // Thread safety: post(p) and receive(p) are called by p's thread only; any
  // number of partitions may post and receive at the same time.
  virtual void post(Partition& from) = 0;
  virtual bool receive(Partition& to) = 0;

  // --- Between processes (one thread per process calls these, while the
  // process's other workers wait in a barrier; every process calls them in
  // the same order). In one process they only return `local`. ---

  // Conservative: sends the events of outbox `bank` addressed to other
  // processes' partitions (deliver() hands them over), and returns the
  // round state reduced over processes.
  virtual RoundState exchange(unsigned /*bank*/, const RoundState& local) { return local; }
  // Optimistic, after barrier A: returns when every event posted by any
  // process so far is in its receiver's inbox.
  virtual void quiesce() {}
  // Optimistic, after barrier B: the round state reduced over processes.
  virtual RoundState reduce(const RoundState& local) { return local; }
  // Optimistic: a GVT round is wanted; tells the other processes, whose
  // transport then sets the flag given to watch_rounds(). Any thread.
  virtual void want_round() {}
  virtual void watch_rounds(std::atomic<bool>* /*flag*/) {}
  // Drains what is still in flight at the end of a run.
  virtual void finish() {}
};

// Partitions of one process, on threads: the outbox of the sender becomes
// the receiver's input with no copy beyond the enqueue, and no lock (the
// barrier orders the accesses).
//
// Thread safety: deliver(p) for distinct p may run concurrently; each reads
// only outboxes addressed to its own partition and clears them.
class ThreadTransport : public Transport {
 public:
  // `partitions`: this process's, with consecutive ids from the first's.
  explicit ThreadTransport(std::vector<std::unique_ptr<Partition>>& partitions)
      : partitions_(partitions),
        first_(partitions.empty() ? 0 : partitions.front()->id()),
        inboxes_(partitions.size()) {}
  void deliver(Partition& to, unsigned bank = 0) override {
    for (auto& from : partitions_) {
      auto& box = from->outbox(to.id(), bank);
      for (const Event& e : box) to.enqueue(e);
      box.clear();
    }
  }

  void post(Partition& from) override {
    for (std::uint32_t i = 0; i < inboxes_.size(); ++i) {
      auto& events = from.outbox(first_ + i, 0);
      auto& antis = from.antibox(first_ + i);
      if (events.empty() && antis.empty()) continue;
      push(i, events.data(), events.size(), antis.data(), antis.size());
      events.clear();
      antis.clear();
    }
  }

  bool receive(Partition& to) override {
    Inbox& in = inboxes_[to.id() - first_];
    if (!in.pending.load(std::memory_order_acquire)) return false;
    in.lock();
    std::swap(in.events, in.taken_events);
    std::swap(in.antis, in.taken_antis);
    in.pending.store(false, std::memory_order_relaxed);
    in.unlock();
    for (const Event& e : in.taken_events) to.receive(e);
    for (const Event& e : in.taken_antis) to.receive_anti(e);
    in.taken_events.clear();
    in.taken_antis.clear();
    return true;
  }

 protected:
  // Appends events and anti-messages to the inbox of local partition `i`.
  void push(std::uint32_t i, const Event* events, std::size_t n_events, const Event* antis,
            std::size_t n_antis) {
    Inbox& in = inboxes_[i];
    in.lock();
    in.events.insert(in.events.end(), events, events + n_events);
    in.antis.insert(in.antis.end(), antis, antis + n_antis);
    in.pending.store(true, std::memory_order_release);
    in.unlock();
  }

  // Events posted to one partition. `events`/`antis` are guarded by the
  // spin lock; `taken_*` belong to the receiving thread.
  struct alignas(64) Inbox : SpinLock {
    std::atomic<bool> pending{false};
    std::vector<Event> events, antis;
    std::vector<Event> taken_events, taken_antis;
  };

  std::vector<std::unique_ptr<Partition>>& partitions_;
  std::uint32_t first_;  // id of partitions_[0]
  std::vector<Inbox> inboxes_;
};

class Cluster;

// The transport for this process's partitions: ThreadTransport in one
// process, MpiTransport (mpi_transport.cpp) across the processes of
// `cluster`, progressed by the workers or by a communication thread.
std::unique_ptr<Transport> make_transport(std::vector<std::unique_ptr<Partition>>& partitions,
                                          const Layout& layout, std::uint32_t partitions_per_rank,
                                          Cluster& cluster, bool progress_thread);

}  // namespace dsim::detail
