#pragma once

#include <atomic>
#include <cstdint>

#include "core/backoff.hpp"

namespace dsim::detail {

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

}  // namespace dsim::detail
