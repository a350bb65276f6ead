// Moving events between partitions. Partitions leave remote events in
// per-destination outboxes while they run; a transport hands each partition
// the events addressed to it once the sync algorithm says the senders are
// quiet. It knows nothing of windows, GVT or rollback.
#pragma once

#include <atomic>
#include <memory>
#include <thread>
#include <utility>
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

  // Asynchronous delivery, for the optimistic engine. post() hands what
  // `from` left in its outboxes (bank 0) and antiboxes to their destinations;
  // receive() gives `to` what was posted to it, positive events before
  // anti-messages, and says whether there was anything. Messages from one
  // partition to another arrive in the order they were posted.
  // Thread safety: post(p) and receive(p) are called by p's thread only; any
  // number of partitions may post and receive at the same time.
  virtual void post(Partition& from) = 0;
  virtual bool receive(Partition& to) = 0;
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
      : partitions_(partitions), inboxes_(partitions.size()) {}
  void deliver(Partition& to, unsigned bank = 0) override {
    for (auto& from : partitions_) {
      auto& box = from->outbox(to.id(), bank);
      for (const Event& e : box) to.enqueue(e);
      box.clear();
    }
  }

  void post(Partition& from) override {
    for (std::uint32_t to = 0; to < inboxes_.size(); ++to) {
      auto& events = from.outbox(to, 0);
      auto& antis = from.antibox(to);
      if (events.empty() && antis.empty()) continue;
      Inbox& in = inboxes_[to];
      in.lock();
      in.events.insert(in.events.end(), events.begin(), events.end());
      in.antis.insert(in.antis.end(), antis.begin(), antis.end());
      in.pending.store(true, std::memory_order_release);
      in.unlock();
      events.clear();
      antis.clear();
    }
  }

  bool receive(Partition& to) override {
    Inbox& in = inboxes_[to.id()];
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

 private:
  // Events posted to one partition. `events`/`antis` are guarded by the
  // spin lock; `taken_*` belong to the receiving thread.
  struct alignas(64) Inbox {
    std::atomic_flag busy = ATOMIC_FLAG_INIT;
    std::atomic<bool> pending{false};
    std::vector<Event> events, antis;
    std::vector<Event> taken_events, taken_antis;
    void lock() {
      while (busy.test_and_set(std::memory_order_acquire))
        while (busy.test(std::memory_order_relaxed)) std::this_thread::yield();
    }
    void unlock() { busy.clear(std::memory_order_release); }
  };

  std::vector<std::unique_ptr<Partition>>& partitions_;
  std::vector<Inbox> inboxes_;
};

}  // namespace dsim::detail
