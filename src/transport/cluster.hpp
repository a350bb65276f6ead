// The processes of one run: an MPI communicator, or one process alone, in
// which case every collective is the identity. The engine's own messages
// between ranks go through the Transport's MPI path (mpi_path.cpp), on this
// Cluster's communicator and lock; what is here are the few collectives the
// rest of dsim needs (results, errors, plans).
//
// No process-wide state: a Cluster is made from the communicator a host
// hands in (dsim::Communicator), and each Simulation works on a duplicate of
// it, so two runs (at once, on different communicators) never mix their
// messages. MPI itself is initialised by the host: the dsim program through
// MpiSession, a Python script through mpi4py.
//
// Thread safety: every MPI call in dsim is made under lock(). With
// MPI_THREAD_MULTIPLE that lock is the Cluster's own, so runs on different
// communicators proceed at once; below it, one lock for the process
// serialises all of dsim's MPI calls. Collectives must be called by every
// rank in the same order, each from one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "core/event.hpp"
#include "dsim/environment.hpp"
#include "dsim/types.hpp"

namespace dsim::detail {

using dsim::AgreedError;
using dsim::built_with_mpi;

class Cluster {
 public:
  // One process.
  Cluster();
  // The processes of `mpi_comm` (the address of an MPI_Comm), on a duplicate
  // of it (a collective: every process of it calls this together).
  // REQUIRES: MPI initialised, at MPI_THREAD_SERIALIZED or above. Throws
  // dsim::Error in a build without MPI or when MPI is not initialised.
  explicit Cluster(const void* mpi_comm);
  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  // A Cluster of the same processes on a duplicate communicator (a
  // collective, as above); one process: another one-process Cluster.
  std::unique_ptr<Cluster> duplicate() const;

  std::uint32_t rank() const { return rank_; }
  std::uint32_t size() const { return size_; }
  bool distributed() const { return size_ > 1; }
  // Processes of this run on this machine (to share its cores among them).
  std::uint32_t local_size() const { return local_size_; }
  // "rank 2 of 4 on host-a" (for messages).
  std::string describe() const;

  // Every rank's bytes, in rank order, on every rank.
  std::vector<std::vector<std::byte>> allgather(std::span<const std::byte> mine);
  // `out[r]` goes to rank r; returns what each rank sent to this one. More
  // than 2 GiB in all ends the job (MPI counts are ints).
  std::vector<std::vector<std::byte>> alltoall(const std::vector<std::vector<std::byte>>& out);
  // Every rank's items, concatenated in rank order, on every rank.
  template <class T>
  std::vector<T> gather(const std::vector<T>& mine) {
    static_assert(std::is_trivially_copyable_v<T>);
    const auto all = allgather(std::as_bytes(std::span(mine)));
    std::vector<T> out;
    for (const auto& bytes : all) {
      if (bytes.empty()) continue;
      const std::size_t at = out.size();
      out.resize(at + bytes.size() / sizeof(T));
      std::memcpy(static_cast<void*>(out.data() + at), bytes.data(), bytes.size());
    }
    return out;
  }
  // Point to point, for coordinators that hand out work (experiments); not
  // used by the engine. Tags >= 0; the engine's messages travel on other
  // communicators. try_receive() takes a message with `tag` from any rank
  // if one has arrived (sender, bytes) and never waits for one.
  bool try_receive(int tag, std::uint32_t& from, std::vector<std::byte>& bytes);
  // start_send() sends in the background while the caller works: the
  // Outgoing keeps `bytes` until the message left. A message past MPI's
  // eager size moves only while its sender is inside MPI, so poll done()
  // between pieces of work (each call progresses it); wait() or the
  // destructor waits for it, polling with naps and taking lock() only for
  // each poll (a receiver's thread is never kept from the lock meanwhile).
  // One process: not allowed.
  class Outgoing {
   public:
    ~Outgoing();
    Outgoing(const Outgoing&) = delete;
    Outgoing& operator=(const Outgoing&) = delete;
    bool done();
    void wait();

   private:
    friend class Cluster;
    struct Request;  // the MPI_Request (cluster.cpp)
    Outgoing(Cluster& cluster, std::vector<std::byte> bytes);
    Cluster& cluster_;
    std::vector<std::byte> bytes_;
    std::unique_ptr<Request> request_;
    bool done_ = false;
  };
  std::unique_ptr<Outgoing> start_send(std::uint32_t rank, int tag, std::vector<std::byte> bytes);

  // Sums of `values` over ranks, element by element.
  std::vector<std::uint64_t> sum(std::vector<std::uint64_t> values);
  // Every rank's exception (or none), agreed: when any rank failed, every
  // rank throws the same dsim::Error. With one failure (or failures at
  // different event keys) it is the failing rank's, as "rank R: message";
  // when every rank failed with the same message (a bad config, read by all),
  // that message alone. `key` orders failures: the smallest wins (ties: the
  // lowest rank), so a model error is the one the sequential run reports.
  // Returns normally when no rank failed. One process: rethrows `error`.
  // What it throws is an AgreedError: every rank has it, so one (rank 0)
  // reports it.
  void agree(std::exception_ptr error, const Event& key = Event{});

  // The one fatal path of a distributed run, for an error only this process
  // met: prints "dsim: rank R: <message>" (one line) to stderr, flushes, and
  // ends every process of the run with `code` (MPI_Abort). One process:
  // "dsim: <message>" and std::exit(code).
  [[noreturn]] void abort(int code, std::string_view message);

  std::mutex& lock();
  // Whether a blocking collective on this Cluster, made from a thread of its
  // own, leaves the other Clusters of the process free (MPI_THREAD_MULTIPLE,
  // or one process); below it, one lock serialises every MPI call.
  bool concurrent() const;
  // The address of this Cluster's MPI_Comm, for the MPI transport; null in
  // one process.
  const void* mpi_comm() const;

 private:
  struct Mpi;  // the communicator (cluster.cpp, which sees mpi.h)
  std::unique_ptr<Mpi> mpi_;
  std::uint32_t rank_ = 0, size_ = 1, local_size_ = 1;
  std::mutex mutex_;
};


}  // namespace dsim::detail
