// Optimistic synchronization (Time Warp).
//
// Every partition runs on its own thread without waiting for the others:
// it executes its pending events in key order, saving each entity's block
// before its events (OptimisticPartition, sync/time_warp.hpp), and posts events for other
// partitions through the transport without blocking. An event that arrives
// below an entity's newest processed key (a straggler) rolls the entity back;
// cancelled sends travel as anti-messages.
//
// GVT (global virtual time) is computed in rounds, when any partition asks
// (every kGvtInterval events it executed, when it runs out of work, or when it
// is over its share of the memory cap). A round is two barriers:
//   A. every partition has posted everything it sent; after A nothing is
//      processed until B, so the only messages still in flight are
//      anti-messages produced while draining, and those cancel events above
//      their sender's own smallest pending key.
//   B. each partition drains its inbox (rolling back as needed), posts its
//      anti-messages and reports the smallest key in its queue; the last to
//      arrive takes the minimum: GVT. No event below GVT can be created or
//      cancelled any more, so each partition commits its records below GVT
//      (applies their statistics, frees their saved blocks) after B.
// GVT is a full event key (time, depth, src, seq), not only a time, so events
// at one time commit one by one and zero-delay chains cannot stall it. The
// same two steps extend to processes: A's completion step waits until every
// message sent between processes was received (Transport::quiesce, which
// counts them), B's reduces the RoundState over processes
// (Transport::reduce). A process that wants a round raises the transport's
// flag (Transport::raise_flag), which raises every process's gvt_wanted, so
// every process enters every round.
//
// Events and anti-messages for other partitions go to the transport on two
// channels, events first (post()); a drain hands over events before
// anti-messages (receive()), so an anti-message never arrives before its
// event. Between processes, the workers progress the network themselves when
// they post and receive (or a communication thread does).
//
// Memory: each partition may hold memory_limit / partitions bytes of
// records, saved blocks and effect logs. Over it, the partition stops and
// asks for GVT; if committing does not bring it under, it cancels back its
// speculative records, furthest ahead of GVT first, and runs only a few
// events per round until it is. The partition holding GVT always advances
// it, so the run slows down but never stops or aborts. Besides memory, each
// partition adapts how many uncommitted events it may hold to how much of
// its work was rolled back (OptimisticPartition::adapt_optimism).
//
// Safe window: events below GVT + the least lookahead between partitions can
// never be rolled back; partitions run them without records, and one that
// leaves its window asks for a round, as a conservative window would move.
//
// Errors: a handler that throws holds its partition at that event (earlier
// ones still run, and may roll it back); the error is reported
// only if GVT passes that event (it was not a speculative accident), and of
// several, the one with the smallest key, so the message is the sequential
// run's.
//
// Thread safety: per-partition state is touched only by its own thread; the
// round state (local minima, gvt, done) is written before barrier B by each
// thread for its own slot and by B's completion step for the rest.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <thread>

#include "core/backoff.hpp"
#include "sync/round_state.hpp"
#include "sync/spin_barrier.hpp"
#include "sync/synchronizer.hpp"
#include "sync/time_warp.hpp"

namespace dsim::detail {
namespace {

// Events executed between looks at the inbox and the GVT flag.
constexpr std::uint64_t kBatch = 128;
// Events a partition executes before it asks for a GVT round.
constexpr std::uint64_t kGvtInterval = 2048;
// How far (in GVT intervals of events) a partition may run ahead of GVT.
// Without a bound, a partition whose peer is descheduled (more threads than
// cores) runs far ahead and throws most of it away.
constexpr std::uint64_t kMaxAheadRounds = 4;
// Events a partition runs before leaving its safe window may call a round.
constexpr std::uint64_t kWindowRoundEvents = 256;
// An idle partition asks for GVT at most this often.
constexpr double kIdleGvtSeconds = 20e-6;

// Hands what `from` left for other partitions (outboxes, antiboxes)
// to the transport: each destination's events, then its anti-messages.
template <class P>
void post(Transport& transport, P& from) {
  const std::uint32_t partitions = transport.partitions();
  for (std::uint32_t to = 0; to < partitions; ++to) {
    auto& events = from.outbox(to);
    if (!events.empty()) transport.send(from.id(), to, Channel::kEvents, events);
    auto& antis = from.antibox(to);
    if (!antis.empty()) transport.send(from.id(), to, Channel::kAntiMessages, antis);
  }
  transport.progress();
}

// Gives `to` what was posted to it (events, then anti-messages); returns
// whether there was anything.
template <class P>
bool receive(Transport& transport, P& to) {
  transport.progress();
  return transport.drain(to.id(), [&](std::uint32_t, Channel channel,
                                      std::span<const Event> events) {
    if (channel == Channel::kEvents) {
      for (const Event& e : events) to.receive(e);
    } else {
      for (const Event& e : events) to.receive_anti(e);
    }
  });
}

class OptimisticSync final : public Synchronizer {
 public:
  explicit OptimisticSync(OptimisticOptions options) : options_(std::move(options)) {
    options_.max_uncommitted = kMaxAheadRounds * kGvtInterval;
  }

  std::unique_ptr<Partition> make_partition(const Model& model, const Layout& layout,
                                            std::uint32_t id) const override {
    return std::make_unique<OptimisticPartition>(model, layout, id, options_);
  }

  void run(SyncRun& run) override {
    const auto parts = static_cast<std::uint32_t>(run.partitions.size());
    const Time end = run.model.end_time();

    std::atomic<bool> gvt_wanted{false};
    std::atomic<bool> failed{false};
    std::vector<Event> local_min(parts, infinite_key());
    std::vector<std::exception_ptr> errors(parts);
    std::vector<Event> error_keys(parts, infinite_key());
    std::vector<std::uint8_t> squeezed(parts, 0);  // held back by the memory cap
    Event gvt{};
    bool done = false;
    // Snapshots: asked for by this process's RunControl (sent with the next
    // round), the time every partition holds at, and this round's steps.
    bool snapshot_asked = false, hold_now = false, snapshot_now = false;
    Time hold = kTimeInfinity;
    std::exception_ptr snapshot_error;
    std::atomic<Clock::time_point> last_round{Clock::now()};
    std::uint64_t rounds = 0, throttled = 0;
    Progress progress;
    progress.end_time = end;
    progress.threads = parts;
    Time committed = 0;  // the last round's GVT

    // Between processes: after A, every event posted anywhere has arrived;
    // after B, the minimum (and failure, events) over processes.
    QuietPoints& quiet = run.quiet;
    auto drained = [&]() noexcept { run.transport.quiesce(); };
    auto complete = [&]() noexcept {
      gather_progress(run.partitions, progress);
      RoundState local;
      local.min = local_min[0];
      for (std::uint32_t i = 1; i < parts; ++i)
        if (key_less(local_min[i], local.min)) local.min = local_min[i];
      local.failed = failed.load();
      local.stop = quiet.stop_wanted();
      local.snapshot = snapshot_asked;
      local.publish = quiet.publish_due();
      local.series = quiet.series_wanted();
      for (const auto& p : run.partitions)
        local.horizon =
            std::max(local.horizon, static_cast<const OptimisticPartition&>(*p).safe_horizon());
      local.events = progress.events;
      // Cleared before the reduction: a request for the next round that
      // arrives during it must not be lost.
      gvt_wanted.store(false, std::memory_order_release);
      const RoundState global = run.transport.reduce(local, RoundState::merge);
      gvt = global.min;
      ++rounds;
      for (auto& s : squeezed)
        if (s) {
          ++throttled;
          break;
        }
      std::fill(squeezed.begin(), squeezed.end(), 0);
      done = global.failed || !(gvt.time < end);
      last_round.store(Clock::now(), std::memory_order_relaxed);
      progress.now = std::min(gvt.time, end);
      progress.gvt_rounds = rounds;
      progress.events = global.events;
      if (done) return;
      // A quiet point: every event below GVT commits after this round.
      if (global.stop) {
        done = run.stopped = true;
        run.stopped_at = gvt.time;
        return;
      }
      // A snapshot (asked for at an earlier quiet point, by any process):
      // every partition holds at `hold` (past every event that ran without
      // a record, on any process) and rolls back what ran beyond it; once GVT passes it, the
      // committed state is the state at `hold`, and the snapshot is taken.
      snapshot_now = hold < kTimeInfinity && gvt.time >= hold;
      hold_now = false;
      if (global.snapshot && hold == kTimeInfinity) {
        snapshot_asked = false;
        // Past every event that ran without a record (those cannot be
        // undone): the cut includes all events at that time.
        hold = std::max(gvt.time, std::nextafter(global.horizon, kTimeInfinity));
        if (hold < end) hold_now = true;
        else hold = kTimeInfinity;  // the run ends first
      }
      // Events below the last round's GVT are committed by now (this
      // round's commit follows it).
      // (Any process's observer due: every process pools its figures.)
      quiet.reached(gvt.time, global.events);
      if (global.publish) quiet.publish(progress, run.partitions, committed, global.series);
      committed = gvt.time;
      if (quiet.take_snapshot_request()) snapshot_asked = true;
    };
    SpinBarrier<decltype(drained)> barrier_a(parts, drained, run.cores);
    SpinBarrier<decltype(complete)> barrier_b(parts, complete, run.cores);
    auto take_snapshot = [&]() noexcept {
      try {
        // The events committed at the cut: the partitions' own counts
        // (the round's reduced count lags: it was taken before this
        // round's commits), summed over processes. Every process takes
        // the snapshot at this barrier, so the sum is a collective here.
        std::uint64_t events = 0;
        for (const auto& p : run.partitions) events += p->events();
        events = run.transport.reduce(
            events, [](std::uint64_t& acc, std::uint64_t v) { acc += v; });
        quiet.snapshot(run.partitions, hold, events);
      } catch (...) {
        snapshot_error = std::current_exception();  // the host's: stops the run
        failed.store(true);
      }
      hold = kTimeInfinity;
    };
    SpinBarrier<decltype(take_snapshot)> barrier_s(parts, take_snapshot,
                                                   run.cores);
    run.transport.watch_flag(&gvt_wanted);
    run.transport.start_progress();
    // Asks for a GVT round (of every process).
    auto ask = [&]() { run.transport.raise_flag(); };

    auto worker = [&](std::uint32_t i) {
      auto& me = static_cast<OptimisticPartition&>(*run.partitions[i]);
      double& busy = me.busy_seconds;
      double& blocked = me.blocked_seconds;
      std::uint64_t since_gvt = 0;
      // After a round, every partition runs a batch before it joins the next,
      // so one that keeps asking (over its memory share) cannot starve the
      // partition that holds GVT.
      bool fresh = false;
      Backoff idle;  // out of work: yield, then nap
      auto fail = [&]() {
        errors[i] = std::current_exception();
        error_keys[i] = me.fault_key();
        failed.store(true);
        ask();
      };
      for (;;) {
        if (!fresh && gvt_wanted.load(std::memory_order_acquire)) {
          auto t = Clock::now();
          post(run.transport, me);
          barrier_a.arrive_and_wait();
          if (!failed.load()) {
            try {
              receive(run.transport, me);
              post(run.transport, me);
            } catch (...) {
              fail();
            }
          }
          local_min[i] = me.min_key();
          barrier_b.arrive_and_wait();
          blocked += seconds_since(t);
          if (done) {
            // The last round commits everything below the end time (or
            // below GVT, when the run stops here).
            if (!failed.load()) {
              try {
                me.commit(gvt);
              } catch (...) {
                fail();
              }
            }
            break;
          }
          t = Clock::now();
          try {
            me.commit(gvt);
            me.adapt_optimism();
            if (me.over_memory()) {
              me.squeeze();
              post(run.transport, me);
            }
            squeezed[i] = me.take_throttled();
            if (hold_now) {
              me.hold_at(hold);
              post(run.transport, me);
            }
          } catch (...) {
            fail();
          }
          if (snapshot_now) {
            me.purge_cancelled();
            barrier_s.arrive_and_wait();
            me.release_hold();
          }
          busy += seconds_since(t);
          since_gvt = 0;
          idle.reset();
          fresh = true;
          continue;
        }
        fresh = false;
        if (failed.load(std::memory_order_relaxed)) {
          ask();
          continue;
        }
        const auto t = Clock::now();
        std::uint64_t n = 0;
        try {
          receive(run.transport, me);
          n = me.run_optimistic(kBatch, &gvt_wanted);
          post(run.transport, me);
        } catch (...) {
          fail();
        }
        busy += seconds_since(t);
        since_gvt += n;
        if (n != 0) idle.reset();
        // Past the safe window (GVT + lookahead), events need records: a new
        // GVT round moves the window on, as a conservative window would.
        const bool beyond = me.take_beyond_window() && since_gvt >= kWindowRoundEvents;
        if (since_gvt >= kGvtInterval || me.over_memory() || beyond) {
          ask();
        } else if (n == 0) {
          // Out of work: only GVT moving on (or a message) lets it go on. Ask
          // again only after a pause, not to stop busy partitions at every batch.
          if (seconds_since(last_round.load(std::memory_order_relaxed)) > kIdleGvtSeconds)
            ask();
          idle.idle();
        }
      }
    };

    std::vector<std::jthread> threads;
    threads.reserve(parts - 1);
    for (std::uint32_t i = 1; i < parts; ++i) threads.emplace_back(worker, i);
    worker(0);
    threads.clear();  // joins

    run.figures.gvt_rounds = rounds;
    run.figures.throttled_rounds = throttled;
    if (snapshot_error) std::rethrow_exception(snapshot_error);
    std::uint32_t first_error = parts;
    for (std::uint32_t i = 0; i < parts; ++i)
      if (errors[i] && (first_error == parts || key_less(error_keys[i], error_keys[first_error])))
        first_error = i;
    if (first_error < parts) {
      run.error_key = error_keys[first_error];
      std::rethrow_exception(errors[first_error]);
    }
  }

 private:
  OptimisticOptions options_;
};

}  // namespace

std::unique_ptr<Synchronizer> make_optimistic_sync(const OptimisticOptions& options) {
  return std::make_unique<OptimisticSync>(options);
}

}  // namespace dsim::detail
