// Time Warp execution of one partition (the optimistic engine's, driven by
// sync/optimistic.cpp): speculative execution with automatic state saving,
// rollback on stragglers and anti-messages, and commit below GVT. Every
// processed event leaves a Record (the event, the entity's saved block, the
// statistic effects it made) until GVT passes it.
//
// Thread safety: as Partition (one thread at a time).
#pragma once

#include <atomic>
#include <cstdint>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/partition.hpp"

namespace dsim::detail {

// An entity's uncommitted Records, oldest..newest (kNone: none), events since
// its last saved block (periodic saving), and whether it is on the
// partition's commit list. It lives at the end of the entity's block
// (GroupRuntime::history_off; the Layout of an optimistic run makes room),
// outside the bytes that are saved.
struct History {
  std::uint32_t oldest, newest;
  std::uint32_t unsaved;
  std::uint32_t listed;
};
static_assert(sizeof(History) == kHistoryBytes);

// A fixed-size node pool with a free list threaded through `next`.
template <class T>
class Pool {
 public:
  static constexpr std::uint32_t kNone = UINT32_MAX;
  std::uint32_t alloc() {
    ++live_;
    if (free_ != kNone) {
      const std::uint32_t i = free_;
      free_ = items_[i].next;
      return i;
    }
    items_.emplace_back();
    return static_cast<std::uint32_t>(items_.size() - 1);
  }
  void release(std::uint32_t i) {
    --live_;
    items_[i].next = free_;
    free_ = i;
  }
  T& operator[](std::uint32_t i) { return items_[i]; }
  const T& operator[](std::uint32_t i) const { return items_[i]; }
  std::uint64_t live() const { return live_; }

 private:
  std::vector<T> items_;
  std::uint32_t free_ = kNone;
  std::uint64_t live_ = 0;
};

// One processed, uncommitted event of one entity.
struct Record {
  Event ev;
  std::uint32_t prev;     // older record of the same entity
  std::uint32_t next;     // newer record (and the pool's free list)
  std::uint32_t effects;  // its statistic effects (a list in the effect pool)
  std::uint32_t saved;    // slot of the block saved before it, or kNone
  bool committed;         // effects applied; kept only as a coast-forward base
};

// Run-time settings of the optimistic mode.
struct OptimisticOptions {
  // Save the block before every period-th event of an entity (1: every
  // event; "periodic" state saving otherwise, with coast-forward).
  std::uint32_t period = 1;
  std::uint64_t budget_bytes = UINT64_MAX;   // this partition's share of the memory cap
  // Uncommitted events a partition may hold: how far ahead of GVT it may run.
  std::uint64_t max_uncommitted = UINT64_MAX;
  // The least lookahead of any link between partitions (0: none). Events
  // below GVT + this can never be rolled back: they run without a record.
  double safe_lookahead = 0;
};

class OptimisticPartition final : public Partition {
 public:
  // REQUIRES: `layout.optimistic()` (blocks with room for History).
  OptimisticPartition(const Model& model, const Layout& layout, std::uint32_t id,
                      const OptimisticOptions& options);

  void init() override;
  void restore(const Snapshot& snapshot, const Partials* statistics) override;
  void finish() override;
  // Direct execution is not how this partition runs: see run_optimistic().
  std::uint64_t run(Time bound, std::uint64_t max_events, Time safe_until = 0) override;
  void send(Context& ctx, EntityId target, std::uint32_t type, const std::byte* payload,
            Time delay) override;
  void effect(const Effect& e) override;

  // Executes up to `max_events` pending events speculatively (time < end).
  // Stops early when the partition is as far ahead of GVT as it may go, over
  // its memory share (and used its allowance for this round), or at the key
  // of an event whose handler failed (the failure is reported if and when
  // that event commits; earlier events still run and may roll it back).
  // Also stops when `stop` (if given) becomes true.
  std::uint64_t run_optimistic(std::uint64_t max_events,
                               const std::atomic<bool>* stop = nullptr);
  // An event (or anti-message) from another partition.
  void receive(const Event& ev);
  void receive_anti(const Event& ev);
  // Anti-messages for `partition`, for the engine to hand to the transport.
  std::vector<Event>& antibox(std::uint32_t partition) { return antiboxes_[partition]; }
  // The smallest key of a pending event (time = infinity when none).
  Event min_key() const;
  // Commits every record with a key below `gvt`: applies its statistic
  // effects and frees what a rollback could no longer need. Throws the model
  // error of a failed event once it commits.
  void commit(const Event& gvt);
  // Over the memory share after a commit: rolls back uncommitted records,
  // furthest ahead of GVT first, until under it (they are speculative and
  // will be re-executed). While still over it, run_optimistic() allows only
  // a few events per GVT round.
  void squeeze();
  // Adapts how far the partition may run ahead of GVT to the share of its
  // work rolled back since the last call: halves it when much was wasted,
  // doubles it (up to the option) when little was. Call after commit().
  void adapt_optimism();
  std::uint64_t max_uncommitted() const { return max_uncommitted_; }
  // Whether it ran a speculative event since the last call (past the window
  // of events below GVT + the cross-partition lookahead, which need no record).
  bool take_beyond_window() { return std::exchange(beyond_window_, false); }
  bool over_budget() const {
    return records_.live() > max_uncommitted_ || over_memory();
  }
  bool over_memory() const { return saved_bytes() > options_.budget_bytes; }
  // A snapshot at time `at`: from now on executes no event at or after it,
  // and rolls back every record that did (anti-messages go to the antiboxes).
  // Once GVT passes `at`, every record is committed and the blocks are the
  // state at `at`: then purge_cancelled() and export.
  void hold_at(Time at);
  void release_hold() { hold_ = kTimeInfinity; }
  // The latest time of an event that ran without a record (it can never be
  // rolled back, so a snapshot cannot be earlier).
  Time safe_horizon() const { return safe_horizon_; }
  // Drops the pending events that anti-messages cancelled (they would be
  // dropped when popped), so the queue holds exactly the pending events.
  void purge_cancelled();
  // Whether the memory share held the partition back since the last call.
  bool take_throttled() { return std::exchange(throttled_, false); }

  std::uint64_t saved_bytes() const override;
  std::uint64_t peak_saved_bytes() const override { return peak_saved_; }
  std::uint64_t executed() const override { return executed_; }
  std::uint64_t rolled_back() const override { return rolled_back_; }
  std::uint64_t rollbacks_primary() const override { return rollbacks_primary_; }
  std::uint64_t rollbacks_secondary() const override { return rollbacks_secondary_; }

 private:
  // Per group: saved blocks (or their engine part, for reverse handlers):
  // slots of `save_words` words, free ones chained through their first word.
  struct Saves {
    std::vector<std::uint64_t> saved;
    std::uint32_t save_words = 0;
    std::uint32_t free_saved = UINT32_MAX;
    bool reverse = false;  // the type's reverse handlers undo State
  };
  Saves& saves(const LocalGroup& lg) { return saves_[&lg - local_.data()]; }
  static History& history(const LocalGroup& lg, std::uint32_t slot) {
    return *reinterpret_cast<History*>(lg.block(slot) + lg.runtime->history_off);
  }

  void execute(const Event& ev);
  void execute_safe(const Event& ev);
  // Runs a speculative event (its record `rec`) or a safe one (kNone).
  void run_handler(const Event& ev, std::uint32_t rec);
  void receive_local(const Event& ev);
  // Undoes the entity's records with a key >= `to`; counts one rollback in `cause`.
  void rollback(LocalGroup& lg, std::uint32_t slot, const Event& to, std::uint64_t& cause);
  // Rolls back every entity's uncommitted records at or after `threshold`.
  void roll_back_from(Time threshold, std::uint64_t& cause);
  void annihilate(const Event& anti);
  bool cancelled(const Event& ev);
  void settle();
  void coast(std::uint32_t rec);
  std::uint32_t save_block(LocalGroup& lg, const std::byte* block);
  void restore_block(LocalGroup& lg, std::byte* block, std::uint32_t saved);
  void free_record(LocalGroup& lg, std::uint32_t rec);
  void note_saved_bytes();

  OptimisticOptions options_;
  std::vector<Saves> saves_;
  Pool<Record> records_;
  Pool<Effect> effects_;
  std::uint32_t current_ = Pool<Record>::kNone;  // record of the running event
  Time horizon_ = -kTimeInfinity;  // the latest time any record was executed at
  std::uint64_t max_uncommitted_ = UINT64_MAX;  // adaptive, <= options_.max_uncommitted
  std::uint64_t adapt_executed_ = 0, adapt_rolled_back_ = 0;
  bool coasting_ = false;   // re-executing a kept record: sends and effects dropped
  bool redoing_ = false;    // re-executing undone records: sends go to redo_sends_
  std::vector<Event> redo_sends_;                 // rollback: what undone events sent
  std::vector<std::byte> rollback_block_;         // rollback: the block to return to
  std::vector<Event> local_out_;                  // local sends of the running event
  std::vector<Event> local_antis_;                // cancellations still to settle
  std::vector<std::uint32_t> undone_;             // rollback scratch
  std::vector<std::pair<std::uint16_t, std::uint32_t>> commit_list_;  // (group, slot)
  std::vector<std::vector<Event>> antiboxes_;      // [destination partition]
  // Anti-messages whose event is still pending: it is dropped when popped.
  // Keyed by (src, seq); matched by exact bytes, since a re-sent event may
  // reuse the key with other contents.
  std::unordered_multimap<std::uint64_t, Event> cancelled_;
  // The failed event's record (kNone when it ran in the safe window and can
  // never be rolled back); the key and error are Partition's fault_*.
  std::uint32_t fault_ = Pool<Record>::kNone;
  Time window_end_ = 0;  // safe window: events before GVT + lookahead never roll back
  // Effects apply at once: init and finish hooks, and a safe event.
  bool direct_ = true;
  bool beyond_window_ = false;
  std::uint64_t allowance_ = 0;  // events allowed while over the memory share
  Time gvt_time_ = 0;            // at the last commit
  bool throttled_ = false;
  std::uint64_t executed_ = 0, rolled_back_ = 0, rollbacks_primary_ = 0,
                rollbacks_secondary_ = 0, peak_saved_ = 0, saved_slots_ = 0;
  std::uint64_t squeezes_ = 0;  // rollbacks the partition made to get under its memory share
  std::uint64_t holds_ = 0;     // rollbacks for snapshots
  Time hold_ = kTimeInfinity;   // no event at or after it runs (a snapshot's time)
  Time safe_horizon_ = -kTimeInfinity;
};

}  // namespace dsim::detail
