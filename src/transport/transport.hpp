// Moving events between partitions. Partitions leave remote events in
// per-destination outboxes while they run; a transport hands each partition
// the events addressed to it once the sync algorithm says the senders are
// quiet. It knows nothing of windows, GVT or rollback.
#pragma once

#include <memory>
#include <vector>

#include "core/partition.hpp"

namespace dsim::detail {

class Transport {
 public:
  virtual ~Transport() = default;
  // Moves every event addressed to `to` out of the other partitions' outboxes
  // of `bank` into `to`'s queue.
  // REQUIRES: no partition writes to that bank (the caller passed a barrier
  // after which the senders use the other bank).
  virtual void deliver(Partition& to, unsigned bank = 0) = 0;
};

// Partitions of one process, on threads: the outbox of the sender becomes
// the receiver's input with no copy beyond the enqueue, and no lock (the
// barrier orders the accesses).
//
// Thread safety: deliver(p) for distinct p may run concurrently; each reads
// only outboxes addressed to its own partition and clears them.
class ThreadTransport final : public Transport {
 public:
  explicit ThreadTransport(std::vector<std::unique_ptr<Partition>>& partitions)
      : partitions_(partitions) {}
  void deliver(Partition& to, unsigned bank = 0) override {
    for (auto& from : partitions_) {
      auto& box = from->outbox(to.id(), bank);
      for (const Event& e : box) to.enqueue(e);
      box.clear();
    }
  }

 private:
  std::vector<std::unique_ptr<Partition>>& partitions_;
};

}  // namespace dsim::detail
