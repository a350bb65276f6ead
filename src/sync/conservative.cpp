// Conservative synchronization by windows (YAWNS).
//
// Every round k: each partition publishes a lower bound on the time of any
// event it holds or sent but has not had delivered (its queue's minimum and
// the earliest event it sent in round k-1); the last thread to reach the
// barrier computes the global minimum `gmin`. Each partition then takes the
// events sent to it in round k-1 out of the transport, and processes its
// events with time < gmin + lookahead, where lookahead is the smallest delay
// of any link between partitions, and at the window's end hands the events
// it sent to other partitions to the transport. No event created in the
// window can land inside it in another partition, so each partition
// processes events in key order exactly as the sequential engine does. One
// barrier per round.
//
// Thread safety: per-partition state is touched only by its own thread; the
// shared round state (next times, gmin, stop) is written by the barrier's
// completion step, which runs while every other thread waits in the barrier.
// The transport's inboxes need no double buffering: a sender hands a window's
// events over after running it, and a receiver that drains them early (its
// peer was fast) only holds them in its queue sooner; they lie beyond the
// window it is about to run (time >= gmin + lookahead).
//
// Across MPI processes the completion step is one collective
// (Transport::quiesce_and_reduce): it carries the events sent between
// processes in the last window and each process's RoundState, so every
// process computes the same gmin and stops in the same round.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

#include "sync/delivery.hpp"
#include "sync/round_state.hpp"
#include "sync/spin_barrier.hpp"
#include "sync/synchronizer.hpp"

namespace dsim::detail {
namespace {

class ConservativeSync final : public Synchronizer {
 public:
  explicit ConservativeSync(double lookahead) : lookahead_(lookahead) {}

  void run(SyncRun& run) override {
    const auto parts = static_cast<std::uint32_t>(run.partitions.size());
    const Time end = run.model.end_time();
    std::vector<Time> next(parts, kTimeInfinity);
    std::vector<std::exception_ptr> errors(parts);
    std::atomic<bool> failed{false};
    Time gmin = 0;
    bool stop = false;
    bool snapshot = false;  // take one after this round's deliveries
    bool snapshot_asked = false;  // by this process, for the next round
    std::exception_ptr snapshot_error;
    std::uint64_t rounds = 0;
    Progress progress;  // the completion step's
    progress.end_time = end;
    progress.threads = parts;

    QuietPoints& quiet = run.quiet;
    auto completion = [&]() noexcept {
      gather_progress(run.partitions, progress);
      RoundState local;
      local.min.time = *std::min_element(next.begin(), next.end());
      local.failed = failed.load();
      local.stop = quiet.stop_wanted();
      local.snapshot = snapshot_asked;
      local.publish = quiet.publish_due();
      local.series = quiet.series_wanted();
      local.events = progress.events;
      // Hands the last window's events for other processes over and reduces
      // the round state over them.
      const RoundState global = run.transport.quiesce_and_reduce(local, RoundState::merge);
      gmin = global.min.time;
      stop = global.failed || !(gmin < end);
      ++rounds;
      progress.now = gmin;
      progress.events = global.events;
      if (stop) return;
      // A quiet point: every event below gmin has run, none at or after it.
      if (global.stop) {
        stop = run.stopped = true;
        run.stopped_at = gmin;
      } else {
        // A snapshot asked for at the last quiet point (by any process) is
        // taken at this one, on every process.
        snapshot = global.snapshot;
        if (snapshot) snapshot_asked = false;
        quiet.reached(gmin, global.events);
        // Any process's observer due: every process pools its figures.
        if (global.publish) quiet.publish(progress, run.partitions, gmin, global.series);
        if (quiet.take_snapshot_request()) snapshot_asked = true;
      }
    };
    SpinBarrier<decltype(completion)> reduce(parts, completion, run.cores);
    // A snapshot waits until every partition took the events sent to it in
    // the last window: then each pending event is in its entity's queue.
    auto take_snapshot = [&]() noexcept {
      try {
        quiet.snapshot(run.partitions, gmin, progress.events);
      } catch (...) {
        snapshot_error = std::current_exception();  // the host's: stops the run
        failed.store(true);
      }
    };
    SpinBarrier<decltype(take_snapshot)> snapshot_barrier(parts, take_snapshot,
                                                          run.cores);

    auto worker = [&](std::uint32_t i) {
      Partition& me = *run.partitions[i];
      double& busy = me.busy_seconds;
      double& blocked = me.blocked_seconds;
      me.start_window();
      for (;;) {
        next[i] = std::min(me.next_time(), me.sent_min());
        auto t = Clock::now();
        reduce.arrive_and_wait();
        blocked += seconds_since(t);
        if (stop) break;
        enqueue_arrivals(run.transport, me);
        me.start_window();
        if (snapshot) {
          t = Clock::now();
          snapshot_barrier.arrive_and_wait();
          blocked += seconds_since(t);
        }
        const Time bound = std::min(gmin + lookahead_, end);
        // Every partition runs its whole window even when another one
        // failed in it: of the failures in one window, the smallest key is
        // the sequential run's first, and it may be this partition's.
        t = Clock::now();
        try {
          me.run(bound, UINT64_MAX, bound);
        } catch (...) {
          errors[i] = std::current_exception();
          failed.store(true);
        }
        send_outboxes(run.transport, me);
        busy += seconds_since(t);
      }
    };

    std::vector<std::jthread> threads;
    threads.reserve(parts - 1);
    for (std::uint32_t i = 1; i < parts; ++i) threads.emplace_back(worker, i);
    worker(0);
    threads.clear();  // joins
    run.figures.windows = rounds;
    if (snapshot_error) std::rethrow_exception(snapshot_error);
    // Of several failures (in one window), the smallest key is the one the
    // sequential run meets first.
    std::uint32_t first = parts;
    for (std::uint32_t i = 0; i < parts; ++i)
      if (errors[i] && (first == parts || key_less(run.partitions[i]->fault_key(),
                                                   run.partitions[first]->fault_key())))
        first = i;
    if (first < parts) {
      run.error_key = run.partitions[first]->fault_key();
      std::rethrow_exception(errors[first]);
    }
  }

 private:
  double lookahead_;
};

}  // namespace

std::unique_ptr<Synchronizer> make_conservative_sync(double lookahead) {
  return std::make_unique<ConservativeSync>(lookahead);
}

}  // namespace dsim::detail
