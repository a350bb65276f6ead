// A reusable barrier for the conservative engine's rounds: the last thread to
// arrive runs a completion step, then releases the others. Waiters spin
// briefly (windows are short, and a futex wake costs tens of microseconds),
// then yield, so oversubscribed runs (more threads than cores) still progress.
//
// Thread safety: arrive_and_wait() is called by exactly `count` threads per
// phase. Invariants: `arrived_` counts the threads of the current phase;
// `phase_` changes only after the completion step, with release ordering, so
// everything written before arriving (and by the completion step) is visible
// to every thread that leaves.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <thread>

namespace dsim::detail {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

template <class Completion>
class SpinBarrier {
 public:
  // `machine_threads`: the workers of every process on this machine (MPI
  // runs several), `count` when 0.
  SpinBarrier(std::uint32_t count, Completion completion, std::uint32_t machine_threads = 0)
      : count_(count),
        // With more threads than cores, spinning burns the time slice the
        // last thread needs to arrive: yield at once.
        spins_(std::max(count, machine_threads) <= std::max(1u, std::thread::hardware_concurrency())
                   ? 4096
                   : 0),
        completion_(std::move(completion)) {}

  void arrive_and_wait() {
    const std::uint32_t phase = phase_.load(std::memory_order_acquire);
    if (arrived_.fetch_add(1, std::memory_order_acq_rel) + 1 == count_) {
      completion_();
      arrived_.store(0, std::memory_order_relaxed);
      phase_.store(phase + 1, std::memory_order_release);
      return;
    }
    for (std::uint32_t spins = 0; phase_.load(std::memory_order_acquire) == phase; ++spins) {
      if (spins < spins_) {
        cpu_relax();
      } else {
        std::this_thread::yield();
      }
    }
  }

 private:
  const std::uint32_t count_;
  const std::uint32_t spins_;
  Completion completion_;
  alignas(64) std::atomic<std::uint32_t> arrived_{0};
  alignas(64) std::atomic<std::uint32_t> phase_{0};
};

}  // namespace dsim::detail
