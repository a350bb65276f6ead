// A partition: a set of entities, their pending events and their statistics,
// run by one worker thread. Sends to entities of the same partition go
// straight into its queue; sends to other partitions go into per-destination
// outboxes that the sync algorithm hands over between windows.
//
// A partition runs in one of three modes:
//  - direct (sequential and conservative engines): events are final when
//    processed; statistics are applied at once.
//  - optimistic (Time Warp, see partition_optimistic.cpp): every processed
//    event leaves a Record (the event, the entity's saved block, the events it
//    sent, its statistic effects) until GVT passes it; a straggler or an
//    anti-message rolls the entity back. Statistics are applied at commit.
//  - check (the rollback checker, sequential): every event is executed, undone
//    and executed again, and both executions are compared.
//
// Thread safety: a Partition is used by one thread at a time. Its outboxes are
// written only by that thread while it runs, and read (then cleared) by the
// destination partition's thread only after a barrier. Outboxes come in two
// banks: while the senders fill one bank in a window, the receivers drain the
// other (filled in the window before), so one barrier per window suffices.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/event.hpp"
#include "core/event_queue.hpp"
#include "core/model.hpp"
#include "dsim/context.hpp"
#include "stats/exact_sum.hpp"

namespace dsim::detail {

struct TallyAcc {
  std::uint64_t count = 0;
  ExactSum sum, sumsq;
  double min = kTimeInfinity, max = -kTimeInfinity;
};
struct GaugeAcc {
  double min = 0, max = 0;  // over every level taken, starting from 0
};
struct HistogramAcc {
  double lo = 0, hi = 0;            // from the declaration
  std::vector<std::uint64_t> bins;  // [underflow, bin 0 .. bin n-1, overflow]
};

// Optimistic mode: an entity's uncommitted Records, oldest..newest (kNone:
// none), events since its last saved block (periodic saving), and whether it
// is on the partition's commit list. It lives at the end of the entity's
// block (GroupRuntime::history_off), outside the bytes that are saved.
struct History {
  std::uint32_t oldest, newest;
  std::uint32_t unsaved;
  std::uint32_t listed;
};
static_assert(sizeof(History) == kHistoryBytes);

// Partition-local storage and statistics of one group.
struct LocalGroup {
  const GroupRuntime* runtime = nullptr;
  std::uint32_t count = 0;  // entities of the group in this partition (slots 0..count-1)
  std::unique_ptr<std::byte[]> storage;
  std::byte* base = nullptr;
  std::vector<TallyAcc> tallies;
  std::vector<GaugeAcc> gauges;
  std::vector<HistogramAcc> histograms;
  // [stat (counters then gauges)][sample]: while running, the change of the
  // group's sum in each sample's interval; after finish(), the sums.
  std::vector<ExactSum> series;

  History& history(std::uint32_t slot) const {
    return *reinterpret_cast<History*>(block(slot) + runtime->history_off);
  }
  // Saved blocks (or their engine part, for reverse handlers): slots of
  // `save_words` words, free ones chained through their first word.
  std::vector<std::uint64_t> saved;
  std::uint32_t save_words = 0;
  std::uint32_t free_saved = UINT32_MAX;
  bool reverse = false;  // the type's reverse handlers undo State

  std::byte* block(std::uint32_t slot) const { return base + std::size_t{slot} * runtime->stride; }
};

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

// What a handler did to a partition-level statistic, kept until commit.
struct Effect {
  enum Kind : std::uint8_t { kTally, kGauge, kCounter, kHistogram };
  std::uint32_t next;
  Kind kind;
  std::uint16_t group;
  std::uint32_t index;
  double a;  // value; gauge: old level; counter: amount
  double b;  // gauge: new level
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

class Partition {
 public:
  Partition(const Model& model, std::uint32_t id);

  std::uint32_t id() const { return id_; }
  std::uint64_t entities() const { return entities_; }

  // Constructs every entity's state and runs init hooks in id order.
  void init();
  // Processes events with time < bound, at most max_events; returns how many.
  // Remote sends with a time below `safe_until` are rejected (they would break
  // the conservative window); pass 0 when the engine needs no such check.
  std::uint64_t run(Time bound, std::uint64_t max_events, Time safe_until = 0);
  // Runs finish hooks, closes gauge integrals, turns series changes into sums.
  void finish();

  // --- Rollback checker (sequential) ---
  void start_check() { mode_ = Mode::kCheck; }
  std::uint64_t checks() const { return checks_; }

  // --- Optimistic mode (partition_optimistic.cpp) ---
  // Switches to optimistic mode. REQUIRES: init() ran.
  void start_optimistic(const OptimisticOptions& options);
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
  // Key of the failed event that stopped the partition (time = infinity: none).
  Event fault_key() const;
  bool over_budget() const {
    return records_.live() > max_uncommitted_ || over_memory();
  }
  bool over_memory() const { return saved_bytes() > options_.budget_bytes; }
  // Whether the memory share held the partition back since the last call.
  bool take_throttled() { return std::exchange(throttled_, false); }
  std::uint64_t saved_bytes() const;
  std::uint64_t peak_saved_bytes() const { return peak_saved_; }
  std::uint64_t executed() const { return executed_; }
  std::uint64_t rolled_back() const { return rolled_back_; }
  std::uint64_t rollbacks_primary() const { return rollbacks_primary_; }
  std::uint64_t rollbacks_secondary() const { return rollbacks_secondary_; }
  // Anti-messages for `partition` (optimistic mode), drained by the transport.
  std::vector<Event>& antibox(std::uint32_t partition) { return antiboxes_[partition]; }

  Time next_time() const { return queue_.min_time(); }
  // The time of the event processed last (0 before any).
  Time now() const { return ctx_.now_; }
  void enqueue(const Event& e) { queue_.push(e); }
  std::vector<Event>& outbox(std::uint32_t partition, unsigned bank = 0) {
    return outboxes_[bank][partition];
  }
  // Sends to other partitions go to this bank from now on; resets sent_min().
  void use_bank(unsigned bank) {
    bank_ = bank;
    sent_min_ = kTimeInfinity;
  }
  // Earliest time of an event sent to another partition since use_bank().
  Time sent_min() const { return sent_min_; }

  const std::vector<LocalGroup>& groups() const { return local_; }
  std::uint64_t events() const { return events_; }
  std::uint64_t remote_sends() const { return remote_sends_; }
  double busy_seconds = 0;
  double blocked_seconds = 0;

  // Called by Context (see context.hpp); not for models.
  void send(Context& ctx, EntityId target, std::uint32_t type, const std::byte* payload,
            Time delay);
  void record_tally(std::uint32_t group, std::uint32_t index, double value);
  void gauge_changed(std::uint32_t group, std::uint32_t index, double old_level, double level);
  void track_counter(std::uint32_t group, std::uint32_t index, double amount);
  void record_histogram(std::uint32_t group, std::uint32_t index, double value);
  const Model& model() const { return model_; }
  // "hosts[12] (id 12)"
  std::string describe(EntityId id) const;

 private:
  void bind(LocalGroup& lg, EntityId id, std::byte* block);
  // Calls f(slot, id) for the partition's entities of group `lg`, in id order
  // (which is slot order).
  template <class F>
  void for_each_local(const LocalGroup& lg, F&& f) const {
    const GroupRuntime& gr = *lg.runtime;
    for (std::uint64_t i = 0; i < gr.count; ++i) {
      const EntityId id = gr.first + static_cast<EntityId>(i);
      if (where_[id].partition == id_) f(where_[id].slot, id);
    }
  }
  void dispatch(const Event& ev);
  void check_event(const Event& ev);
  // The sample whose interval holds time t: the smallest k with
  // t <= interval * (k + 1): sample k counts the events at or before its time.
  // Every engine uses it, so series do not depend on processing order.
  std::uint32_t bucket_of(Time t) const;
  void add_series(std::uint32_t group, std::size_t row, Time t, double amount);
  void apply(const Effect& e, Time t);
  void log_effect(Effect::Kind kind, std::uint32_t group, std::uint32_t index, double a,
                  double b);
  // Optimistic internals.
  void execute(const Event& ev);
  void execute_safe(const Event& ev);
  // Runs a speculative event (its record `rec`) or a safe one (kNone).
  void run_handler(const Event& ev, std::uint32_t rec);
  void receive_local(const Event& ev);
  // Undoes the entity's records with a key >= `to`; counts one rollback in `cause`.
  void rollback(LocalGroup& lg, std::uint32_t slot, const Event& to, std::uint64_t& cause);
  void annihilate(const Event& anti);
  bool cancelled(const Event& ev);
  void settle();
  void coast(std::uint32_t rec);
  std::uint32_t save_block(LocalGroup& lg, const std::byte* block);
  void restore_block(LocalGroup& lg, std::byte* block, std::uint32_t saved);
  void free_record(LocalGroup& lg, std::uint32_t rec);
  void note_saved_bytes();
  // The model error of the event that was just running, as an exception.
  std::exception_ptr describe_failure(const Event& ev);
  [[noreturn]] void fail_event(const Event& ev, const char* what);
  [[noreturn]] void fail_send(const Context& ctx, EntityId target, Time delay, double lookahead);

  const Model& model_;
  const std::uint32_t id_;
  const Location* where_;
  const double* lookahead_;  // [from group * groups + to group]
  std::size_t group_count_;
  std::vector<LocalGroup> local_;
  EventQueue queue_;
  std::vector<std::vector<Event>> outboxes_[2];
  unsigned bank_ = 0;
  Time sent_min_ = kTimeInfinity;
  Context ctx_;
  std::uint64_t entities_ = 0;
  std::uint64_t events_ = 0;
  std::uint64_t remote_sends_ = 0;
  Time end_time_;
  Time safe_until_ = 0;
  bool sampling_;
  Time sample_interval_ = 0;

  enum class Mode { kDirect, kOptimistic, kCheck };
  Mode mode_ = Mode::kDirect;
  bool in_finish_ = false;

  // Check mode: what one execution did.
  struct Execution {
    std::vector<Event> sends;
    std::vector<Effect> effects;
  };
  Execution* capture_ = nullptr;
  std::uint64_t checks_ = 0;

  // Optimistic mode.
  OptimisticOptions options_;
  Pool<Record> records_;
  Execution redo_;                                 // rollback: what undone events sent
  std::vector<std::byte> rollback_block_;          // rollback: the block to return to
  Pool<Effect> effects_;
  std::uint32_t current_ = Pool<Record>::kNone;  // record of the running event
  Time horizon_ = -kTimeInfinity;  // the latest time any record was executed at
  std::uint64_t max_uncommitted_ = UINT64_MAX;  // adaptive, <= options_.max_uncommitted
  std::uint64_t adapt_executed_ = 0, adapt_rolled_back_ = 0;
  bool coasting_ = false;                         // re-executing: sends and effects dropped
  std::vector<Event> local_out_;                  // local sends of the running event
  std::vector<Event> local_antis_;                // cancellations still to settle
  std::vector<std::uint32_t> undone_;             // rollback scratch
  std::vector<std::pair<std::uint16_t, std::uint32_t>> commit_list_;  // (group, slot)
  std::vector<std::vector<Event>> antiboxes_;
  // Anti-messages whose event is still pending: it is dropped when popped.
  // Keyed by (src, seq); matched by exact bytes, since a re-sent event may
  // reuse the key with other contents.
  std::unordered_multimap<std::uint64_t, Event> cancelled_;
  // A failed event (fault_error_ set): its key, and its record (kNone when it
  // ran in the safe window and can never be rolled back).
  std::exception_ptr fault_error_;
  Event fault_event_{};
  std::uint32_t fault_ = Pool<Record>::kNone;
  Time window_end_ = 0;  // safe window: events before GVT + lookahead never roll back
  bool direct_ = false;       // running a safe event: effects apply at once
  bool beyond_window_ = false;
  std::uint64_t allowance_ = 0;  // events allowed while over the memory share
  Time gvt_time_ = 0;            // at the last commit
  bool throttled_ = false;
  std::uint64_t executed_ = 0, rolled_back_ = 0, rollbacks_primary_ = 0,
                rollbacks_secondary_ = 0, peak_saved_ = 0, saved_slots_ = 0;
  std::uint64_t squeezes_ = 0;  // rollbacks the partition made to get under its memory share
};

}  // namespace dsim::detail
