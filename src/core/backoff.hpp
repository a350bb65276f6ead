// Waiting that does not burn a core: a waiter spins briefly (a wait of a few
// microseconds is the common case, and waking a blocked thread costs tens of
// them), then yields its time slice a bounded number of times, then blocks on
// something another thread will notify, or sleeps a bounded nap when nothing
// notifies it. Concurrent runs and oversubscribed ranks (more threads than
// cores) then leave each other the CPU instead of spinning against it.
//
// Used by SpinBarrier (sync/spin_barrier.hpp), SpinLock
// (transport/spin_lock.hpp) and the optimistic engine's idle loop. It lives
// in core because both sync and transport use it.
//
// Thread safety: a Backoff is one waiter's private state, used by one thread
// at a time; it shares nothing with other threads.
// Invariants: `calls_` counts the waits since construction or reset(), and
// never exceeds spins_ + yields_: the first `spins_` waits are CPU pauses,
// the next `yields_` are yields, and every later one is "spent" (spin()
// returns false, idle() naps).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <thread>

namespace dsim::detail {

// Tells the core this is a spin-wait loop (saves power, frees the sibling
// hyper-thread); a few tens of nanoseconds.
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

class Backoff {
 public:
  // For idle loops (idle()): no pauses, 256 yields (a few hundred
  // microseconds on an otherwise idle core), then naps of 200 µs, so a
  // condition nobody notifies is seen at most a nap (plus the kernel's timer
  // slack, 50 µs by default) late. An idle loop looks for work on every turn,
  // which takes as long as a short spin, and may share its core with the
  // thread it waits for (a busy machine): yielding at once lets that thread
  // run (spinning first gave optimistic PHOLD on 2 threads 3 to 6 times the
  // GVT rounds, and a third of the speed, on a loaded machine). A
  // nap costs about 20 µs of CPU in the benchmark machine's VM (the
  // wake-up), so a long idle wait uses under a tenth of a core.
  static constexpr std::uint32_t kIdleSpins = 0;
  static constexpr std::uint32_t kIdleYields = 256;
  static constexpr std::chrono::microseconds kIdleNap{200};

  constexpr Backoff() noexcept = default;
  constexpr Backoff(std::uint32_t spins, std::uint32_t yields) noexcept
      : spins_(spins), yields_(yields) {}

  // Waits a little: a CPU pause for the first `spins` calls since reset(), a
  // yield of the time slice for the next `yields`. Returns false, without
  // waiting, once both are spent: the caller should block now, on something
  // the thread it waits for will notify.
  bool spin() noexcept {
    if (calls_ < spins_) {
      cpu_relax();
    } else if (calls_ - spins_ < yields_) {
      std::this_thread::yield();
    } else {
      return false;
    }
    ++calls_;
    return true;
  }

  // For a condition another thread sets without notifying: spin(), and once
  // that is spent, sleeps `nap` per call.
  void idle(std::chrono::microseconds nap = kIdleNap) {
    if (!spin()) std::this_thread::sleep_for(nap);
  }

  // Starts over with short waits (call it when the awaited thing happened).
  void reset() noexcept { calls_ = 0; }

 private:
  std::uint32_t spins_ = kIdleSpins;
  std::uint32_t yields_ = kIdleYields;
  std::uint32_t calls_ = 0;
};

}  // namespace dsim::detail
