// Transport: moves batches of events between partitions, counts them for
// quiescence, and reduces small values over processes. It knows partition
// ids and events as plain 64-byte records; it knows nothing of partitions'
// insides, entities, windows, GVT or rollback: the engines (src/sync/) hand
// it what a partition sent and drain what arrived into the partition.
//
// Partition ids are global: with R processes of `per_rank` partitions each,
// process r runs partitions_of(r, per_rank, total). A Transport is composed
// of two paths, chosen by the destination's process: Inboxes (inboxes.hpp),
// one per partition of this process, filled directly by its threads; and,
// when the run spans several processes, a RemotePath (remote_path.hpp: MPI)
// that carries batches to other processes and pushes what arrives into the
// Inboxes. In one process there is no remote path at all, and the
// collectives return at once.
//
// Usage (one process, two partitions on two threads):
//
//   Transport transport(cluster, 2, 2);
//   transport.send(0, 1, Channel::kEvents, batch);  // thread of partition 0
//   transport.drain(1, [&](std::uint32_t from, Channel c, std::span<const Event> events) {
//     for (const Event& e : events) queue.push(e);  // thread of partition 1
//   });
//
// Ordering: batches from one partition to another are drained in the order
// sent, per channel; a drain hands over every kEvents batch before any
// kAntiMessages batch; and a batch is never drained before one its sender
// sent earlier to the same receiver on either channel. So an anti-message
// never overtakes the event it cancels.
//
// Thread safety: send(from, ...) by one thread at a time per `from`, drain(to)
// by one thread at a time per `to`; sends and drains of different partitions
// run at once. progress() and raise_flag(): any thread. The collectives
// (quiesce, reduce, quiesce_and_reduce, finish) are called by one thread per
// process while the process's other threads neither send nor drain (they
// wait in a barrier), every process of the run in the same order.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/event.hpp"
#include "transport/channel.hpp"
#include "transport/inboxes.hpp"
#include "transport/remote_path.hpp"

namespace dsim::detail {

class Cluster;

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

class Transport {
 public:
  // The transport of this process (cluster.rank()) for `total` partitions,
  // `per_rank` to a process. `progress_thread`: between processes, a
  // communication thread progresses point-to-point traffic once
  // start_progress() is called (Environment::mpi_progress "thread").
  // REQUIRES: per_rank > 0.
  Transport(Cluster& cluster, std::uint32_t per_rank, std::uint32_t total,
            bool progress_thread = false);
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  std::uint32_t partitions() const { return total_; }
  // This process's partitions.
  PartitionRange local() const { return {first_, first_ + inboxes_.size()}; }

  // --- Point to point ---

  // Sends a copy of `events` from partition `from` (of this process) to
  // partition `to` (of any process) on `channel`.
  void send(std::uint32_t from, std::uint32_t to, Channel channel,
            std::span<const Event> events) {
    if (to - first_ < inboxes_.size())
      inboxes_.push(to - first_, from, channel, events);
    else if (!events.empty())
      remote_->send(to / per_rank_, from, to, channel, events);
  }
  // The same, taking the events out of `events`: it is left empty, often
  // holding a recycled buffer (within a process, the buffer itself moves).
  void send(std::uint32_t from, std::uint32_t to, Channel channel, std::vector<Event>& events) {
    if (to - first_ < inboxes_.size()) {
      inboxes_.push(to - first_, from, channel, events);
    } else if (!events.empty()) {
      remote_->send(to / per_rank_, from, to, channel, events);
      events.clear();
    }
  }
  // Hands the batches that arrived for partition `to` (of this process) to
  // `sink(std::uint32_t from, Channel channel, std::span<const Event> events)`,
  // one call per batch, in the order above; returns whether there were any.
  // What has arrived depends on timing (threads, the network) unless the
  // senders' sends are ordered before it by a collective (quiesce...) or a
  // barrier. If `sink` throws, the rest of the batches taken are dropped.
  template <class Sink>
  bool drain(std::uint32_t to, Sink&& sink) {
    return inboxes_.drain(to - first_, std::forward<Sink>(sink));
  }

  // Batches for other processes wait in a buffer per process until
  // progress() or a collective moves them, and arrive in inboxes only when
  // progressed on the receiving side. With a progress thread (see the
  // constructor), call start_progress() once before the workers send: the
  // thread then progresses, and progress() does nothing. Otherwise the
  // senders call progress() after sending and the receivers before draining.
  // progress() never waits: when another thread is using the network it
  // returns at once. One process: both do nothing.
  void start_progress() {
    if (remote_) remote_->start_progress();
  }
  void progress() {
    if (remote_) remote_->progress();
  }

  // --- Collectives ---

  // Returns when every batch sent by any process before the call is in its
  // receiver's inbox: counts of messages sent and received, summed over
  // processes, agree.
  void quiesce() {
    if (remote_) remote_->quiesce();
  }
  // `merge(acc, value)` folded over every process's `mine`, in rank order
  // (the same result on every process). T: trivially copyable, the same
  // size everywhere (tens of bytes: it travels whole).
  template <class T, class Merge>
  T reduce(const T& mine, Merge&& merge) {
    static_assert(std::is_trivially_copyable_v<T>);
    if (!remote_) return mine;
    gathered_.resize(sizeof(T) * ranks_);
    remote_->allgather(std::as_bytes(std::span(&mine, 1)), gathered_);
    return fold<T>(merge);
  }
  // quiesce() and reduce() in one collective exchange: batches queued for
  // other processes travel with the values (over MPI: one MPI_Alltoall of
  // sizes, then one MPI_Alltoallv; point-to-point messages still in flight,
  // if any, are received first).
  template <class T, class Merge>
  T quiesce_and_reduce(const T& mine, Merge&& merge) {
    static_assert(std::is_trivially_copyable_v<T>);
    if (!remote_) return mine;
    gathered_.resize(sizeof(T) * ranks_);
    remote_->quiesce_and_allgather(std::as_bytes(std::span(&mine, 1)), gathered_);
    return fold<T>(merge);
  }

  // --- A flag raised by any process ---
  // raise_flag() sets `*flag` (given once, before workers start) here and,
  // by a small message, on every other process. A flag belongs to an epoch:
  // the span up to the next reduction (reduce or quiesce_and_reduce). Each
  // process sends at most one message per epoch, and a message that reaches
  // a process after it finished that epoch's reduction is dropped: it asked
  // for a reduction that has happened. Whoever watches the flag clears it.
  void watch_flag(std::atomic<bool>* flag) {
    flag_ = flag;
    if (remote_) remote_->watch_flag(flag);
  }
  void raise_flag() {
    if (flag_ != nullptr) flag_->store(true, std::memory_order_release);
    if (remote_) remote_->raise_flag();
  }

  // Collective, once at the end of a run: stops the progress thread and
  // delivers what is still in flight between processes.
  void finish() {
    if (remote_) remote_->finish();
  }

 private:
  template <class T, class Merge>
  T fold(Merge& merge) const {
    T acc;
    std::memcpy(&acc, gathered_.data(), sizeof(T));
    for (std::uint32_t r = 1; r < ranks_; ++r) {
      T value;
      std::memcpy(&value, gathered_.data() + std::size_t{r} * sizeof(T), sizeof(T));
      merge(acc, value);
    }
    return acc;
  }

  const std::uint32_t per_rank_, total_, ranks_;
  const std::uint32_t first_;  // this process's first partition
  Inboxes inboxes_;            // this process's partitions'
  std::unique_ptr<RemotePath> remote_;  // null in one process; pushes into inboxes_
  std::atomic<bool>* flag_ = nullptr;
  std::vector<std::byte> gathered_;  // reductions: every process's value
};

}  // namespace dsim::detail
