// RemotePath: the transport's path between processes. Transport
// (transport.hpp) holds one when the run spans several processes, beside its
// in-process Inboxes; batches for another process's partitions go through it,
// and it pushes the batches that arrive into this process's Inboxes. The MPI
// implementation is in mpi_path.cpp.
//
// The operations are Transport's (see there for their contracts); those
// marked "collective" are called by one thread per process, every process of
// the run in the same order.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "core/event.hpp"
#include "transport/channel.hpp"
#include "transport/inboxes.hpp"

namespace dsim::detail {

class Cluster;

class RemotePath {
 public:
  virtual ~RemotePath() = default;

  // Queues `events`, from partition `from` to partition `to` of process
  // `rank`, behind what was sent to that process before. Any thread.
  virtual void send(std::uint32_t rank, std::uint32_t from, std::uint32_t to, Channel channel,
                    std::span<const Event> events) = 0;
  // Sends what is queued and receives what arrived, without waiting (returns
  // at once when another thread is using the network). Any thread.
  virtual void progress() = 0;
  // From now on a thread of the path's own progresses it (when it was made
  // with one; otherwise nothing changes).
  virtual void start_progress() = 0;

  // Collective: returns when every batch sent by any process before the call
  // is in its receiver's inbox.
  virtual void quiesce() = 0;
  // Collective: every process's `mine` (the same size everywhere) into `all`,
  // in rank order. REQUIRES: all.size() == ranks * mine.size().
  virtual void allgather(std::span<const std::byte> mine, std::span<std::byte> all) = 0;
  // Collective: quiesce() and allgather() in one exchange of messages.
  virtual void quiesce_and_allgather(std::span<const std::byte> mine,
                                     std::span<std::byte> all) = 0;

  // Where raise_flag() of any process shows (set once, before workers start).
  virtual void watch_flag(std::atomic<bool>* flag) = 0;
  // Raises the watched flag of the other processes (see Transport). Any thread.
  virtual void raise_flag() = 0;

  // Collective: stops the progress thread and delivers what is in flight.
  virtual void finish() = 0;
};

// The MPI path over `cluster`'s communicator, delivering into `inboxes`, the
// inboxes of partitions [first, first + inboxes.size()).
// `progress_thread`: start_progress() starts a communication thread.
// REQUIRES: a build with MPI (else it throws dsim::Error), cluster.distributed().
std::unique_ptr<RemotePath> make_mpi_path(Cluster& cluster, Inboxes& inboxes, std::uint32_t first,
                                          bool progress_thread);

}  // namespace dsim::detail
