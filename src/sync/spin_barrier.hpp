// A reusable barrier for the engines' rounds: the last thread to arrive runs a
// completion step, then releases the others. Waiters spin briefly (windows
// are short, and a futex wake costs tens of microseconds), then yield a
// bounded number of times, then block on the phase (std::atomic::wait), so a
// thread held up for long (a slow partner, a busy or oversubscribed machine)
// costs no CPU. The completing thread notifies only when someone is blocked:
// the fast path makes no system call.
//
// Thread safety: arrive_and_wait() is called by exactly `count` threads per
// phase; the completion step runs on one of them, alone.
// Invariants: `arrived_` counts the threads of the current phase; `phase_`
// changes only after the completion step, with release ordering, so
// everything written before arriving (and by the completion step) is visible
// to every thread that leaves. `sleepers_` counts the threads blocked (or
// about to block) on `phase_`; a sleeper counts itself before its last look
// at `phase_`, and the completion stores `phase_` before it reads
// `sleepers_` (both sequentially consistent), so either the sleeper sees the
// new phase or the completion sees the sleeper and wakes it.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <utility>

#include "core/backoff.hpp"

namespace dsim::detail {

template <class Completion>
class SpinBarrier {
 public:
  // Waits before blocking. Spinning 4096 pauses (about 240 µs on the
  // benchmark machine) covers the conservative engine's windows; 64 yields
  // then cover a partner that was briefly descheduled.
  static constexpr std::uint32_t kSpins = 4096;
  static constexpr std::uint32_t kYields = 64;

  // `cores`: the cores the `count` threads may use (the run environment's
  // Machine::cores: this process's share of the machine).
  SpinBarrier(std::uint32_t count, Completion completion, std::uint32_t cores)
      : count_(count),
        // With more threads than cores, spinning burns the time slice the
        // last thread needs to arrive: yield at once, then block.
        spins_(count <= cores ? kSpins : 0),
        completion_(std::move(completion)) {}

  void arrive_and_wait() {
    const std::uint32_t phase = phase_.load(std::memory_order_acquire);
    if (arrived_.fetch_add(1, std::memory_order_acq_rel) + 1 == count_) {
      completion_();
      arrived_.store(0, std::memory_order_relaxed);
      phase_.store(phase + 1, std::memory_order_seq_cst);
      if (sleepers_.load(std::memory_order_seq_cst) != 0) phase_.notify_all();
      return;
    }
    Backoff backoff(spins_, kYields);
    while (phase_.load(std::memory_order_acquire) == phase)
      if (!backoff.spin()) {
        sleepers_.fetch_add(1, std::memory_order_seq_cst);
        while (phase_.load(std::memory_order_seq_cst) == phase)
          phase_.wait(phase, std::memory_order_acquire);
        sleepers_.fetch_sub(1, std::memory_order_relaxed);
        return;
      }
  }

 private:
  const std::uint32_t count_;
  const std::uint32_t spins_;
  Completion completion_;
  alignas(64) std::atomic<std::uint32_t> arrived_{0};
  // Same line as phase_: the completion reads it right after writing phase_.
  alignas(64) std::atomic<std::uint32_t> phase_{0};
  std::atomic<std::uint32_t> sleepers_{0};
};

}  // namespace dsim::detail
