// Inboxes: the in-process path of the transport. One inbox per partition of
// this process collects the batches sent to it (by threads of this process,
// or by the remote path on behalf of other processes) until its owner drains
// them.
//
// A batch is the events of one sender on one channel. An inbox keeps batches
// in the order they were pushed, per channel, and recycles their buffers: a
// drained batch's buffer goes back to the inbox's spares, and a sender that
// hands its whole buffer over (push(..., std::vector<Event>&)) gets a spare
// back, so steady traffic moves events with no copy beyond the receiver's own
// and no allocation.
//
// Thread safety: push() may be called by any number of threads at once, for
// any inbox; drain(i) by one thread at a time per inbox (its owner). Pushes
// and drains of one inbox meet under its SpinLock for a few pointer moves.
// Invariants: `posted[c]` and `spare` are guarded by the inbox's lock;
// `pending` is true whenever `posted` holds a batch (it may be true with
// none, for a moment); `taken` and `returned` belong to the draining thread.
// Batches from one sender on one channel are drained in the order pushed,
// and a batch pushed after another (any channel, same sender, same inbox) is
// drained in the same drain or a later one.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "core/event.hpp"
#include "transport/channel.hpp"
#include "transport/spin_lock.hpp"

namespace dsim::detail {

class Inboxes {
 public:
  explicit Inboxes(std::uint32_t count) : inboxes_(count) {}
  Inboxes(const Inboxes&) = delete;
  Inboxes& operator=(const Inboxes&) = delete;

  std::uint32_t size() const { return static_cast<std::uint32_t>(inboxes_.size()); }

  // Appends a copy of `events`, sent by partition `from`, to inbox `i`.
  void push(std::uint32_t i, std::uint32_t from, Channel channel, std::span<const Event> events) {
    if (events.empty()) return;
    Inbox& in = inboxes_[i];
    in.lock();
    auto& posted = in.posted[static_cast<unsigned>(channel)];
    if (!posted.empty() && posted.back().from == from) {
      posted.back().events.insert(posted.back().events.end(), events.begin(), events.end());
    } else {
      std::vector<Event> buffer = in.take_spare();
      buffer.assign(events.begin(), events.end());
      posted.push_back(Batch{from, std::move(buffer)});
    }
    in.pending.store(true, std::memory_order_release);
    in.unlock();
  }

  // Hands `events` over to inbox `i` without copying them (when the sender's
  // previous batch there is not still waiting, which it then joins, copied).
  // Leaves `events` empty, usually with the capacity of a recycled buffer.
  void push(std::uint32_t i, std::uint32_t from, Channel channel, std::vector<Event>& events) {
    if (events.empty()) return;
    Inbox& in = inboxes_[i];
    in.lock();
    auto& posted = in.posted[static_cast<unsigned>(channel)];
    if (!posted.empty() && posted.back().from == from) {
      posted.back().events.insert(posted.back().events.end(), events.begin(), events.end());
      events.clear();
    } else {
      posted.push_back(Batch{from, std::move(events)});
      events = in.take_spare();
    }
    in.pending.store(true, std::memory_order_release);
    in.unlock();
  }

  // Hands what was pushed to inbox `i` to `sink(from, channel, events)`, one
  // call per batch (std::span<const Event>, valid during the call): every
  // kEvents batch, then every kAntiMessages batch, each channel in push
  // order. Returns whether there was anything. A batch pushed while this
  // runs waits for the next drain. If `sink` throws, the rest of this drain's
  // batches are dropped.
  template <class Sink>
  bool drain(std::uint32_t i, Sink&& sink) {
    Inbox& in = inboxes_[i];
    if (!in.pending.load(std::memory_order_acquire)) return false;
    in.lock();
    for (unsigned c = 0; c < kChannels; ++c) std::swap(in.posted[c], in.taken[c]);
    for (auto& buffer : in.returned) in.spare.push_back(std::move(buffer));
    in.pending.store(false, std::memory_order_relaxed);
    in.unlock();
    in.returned.clear();
    struct Recycle {  // also when `sink` throws
      Inbox& in;
      ~Recycle() {
        for (auto& taken : in.taken) {
          for (Batch& b : taken) {
            b.events.clear();
            in.returned.push_back(std::move(b.events));
          }
          taken.clear();
        }
      }
    } recycle{in};
    for (unsigned c = 0; c < kChannels; ++c)
      for (const Batch& b : in.taken[c])
        sink(b.from, static_cast<Channel>(c), std::span<const Event>(b.events));
    return true;
  }

 private:
  struct Batch {
    std::uint32_t from;
    std::vector<Event> events;
  };
  struct alignas(64) Inbox : SpinLock {
    std::atomic<bool> pending{false};
    std::vector<Batch> posted[kChannels];    // guarded by the lock
    std::vector<std::vector<Event>> spare;   // guarded by the lock
    std::vector<Batch> taken[kChannels];     // the drainer's
    std::vector<std::vector<Event>> returned;  // the drainer's: emptied, for `spare`

    // REQUIRES: the lock.
    std::vector<Event> take_spare() {
      if (spare.empty()) return {};
      std::vector<Event> buffer = std::move(spare.back());
      spare.pop_back();
      return buffer;
    }
  };

  std::vector<Inbox> inboxes_;
};

}  // namespace dsim::detail
