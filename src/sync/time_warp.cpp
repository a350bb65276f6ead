// Time Warp execution of one partition (time_warp.hpp).
//
// Invariants (per entity, within its partition):
//  - Its uncommitted Records form a chain oldest..newest in key order; every
//    event with a key above the newest record's is pending (in the queue) or
//    in flight, never processed. receive_local()/receive() keep this by
//    rolling the entity back before enqueueing an event below its newest.
//  - The oldest record of a chain carries a saved block (periodic saving
//    forces one), so a rollback can always restore a block at or before the
//    point it rolls back to and coast forward from there.
//  - Undoing a record cancels the events its execution sent: a rollback
//    re-executes the undone events from the restored block to learn them
//    (handlers are pure, DESIGN.md inv. 3, so they send the very same bytes),
//    which keeps the sent events out of the records on the path that does not
//    roll back. A local anti-message settles at once, a remote one goes to the
//    antibox for the transport. A positive event always reaches its partition
//    before or with its anti-message: both travel the same FIFO path, and
//    receivers take positives before anti-messages.
//  - Statistic effects reach the partition's accumulators only in commit(),
//    when GVT has passed the record (DESIGN.md invariant 6). Counters, gauge
//    slots, the random-stream counter and the send counter live in the
//    entity's block, so restoring the block restores them.
#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "sync/time_warp.hpp"

namespace dsim::detail {
namespace {

constexpr std::uint32_t kNone = Pool<Record>::kNone;

std::uint64_t cancel_key(const Event& e) {
  return (std::uint64_t{e.src} << 40) ^ e.seq;
}

// Blocks are small and a multiple of 8 bytes: a word loop beats a call to
// memmove, which GCC would otherwise turn the loop back into.
__attribute__((optimize("no-tree-loop-distribute-patterns"))) void copy_words(
    void* to, const void* from, std::size_t bytes) {
  auto* d = static_cast<std::byte*>(to);
  const auto* f = static_cast<const std::byte*>(from);
  for (std::size_t i = 0; i < bytes; i += 8) std::memcpy(d + i, f + i, 8);
}

// Events a partition over its memory share may still execute per GVT round:
// enough that the partition holding GVT always advances it.
constexpr std::uint64_t kSqueezedAllowance = 64;

}  // namespace

OptimisticPartition::OptimisticPartition(const Model& model, const Layout& layout,
                                         std::uint32_t id, const OptimisticOptions& options)
    : Partition(model, layout, id),
      options_(options),
      saves_(model.groups().size()),
      antiboxes_(layout.partitions()) {
  if (!layout.optimistic())
    throw Error("internal: an optimistic partition on a layout without room for History",
                Error::Kind::kRuntime);
  if (options_.period == 0) options_.period = 1;
  max_uncommitted_ = options_.max_uncommitted;
  // Before the first GVT round GVT is at least 0.
  window_end_ = options_.safe_lookahead > 0 ? options_.safe_lookahead : 0;
  for (LocalGroup& lg : local_) {
    const GroupRuntime& gr = *lg.runtime;
    Saves& s = saves(lg);
    s.reverse = gr.type->reversible;
    // Reverse handlers undo State; the engine part of the block (random and
    // send counters, counters, gauges) is still saved.
    const std::uint32_t bytes = s.reverse ? gr.state_off : gr.history_off;
    s.save_words = std::max<std::uint32_t>(1, (bytes + 7) / 8);
  }
}

void OptimisticPartition::init() {
  direct_ = true;  // init hooks' statistics are final
  Partition::init();
  for (LocalGroup& lg : local_)
    for (std::uint32_t slot = 0; slot < lg.count; ++slot)
      history(lg, slot) = History{kNone, kNone, 0, 0};
  direct_ = false;
}

void OptimisticPartition::restore(const Snapshot& snapshot, const Partials* statistics) {
  direct_ = true;
  Partition::restore(snapshot, statistics);
  for (LocalGroup& lg : local_)
    for (std::uint32_t slot = 0; slot < lg.count; ++slot)
      history(lg, slot) = History{kNone, kNone, 0, 0};
  direct_ = false;
}

void OptimisticPartition::finish() {
  direct_ = true;
  Partition::finish();
}

std::uint64_t OptimisticPartition::run(Time, std::uint64_t, Time) {
  throw Error("internal: an optimistic partition runs through run_optimistic()",
              Error::Kind::kRuntime);
}

void OptimisticPartition::send(Context& ctx, EntityId target, std::uint32_t type,
                               const std::byte* payload, Time delay) {
  Event ev;
  Location loc;
  if (!make_event(ctx, target, type, payload, delay, ev, loc)) return;  // never processed
  if (coasting_) return;  // re-executing: the events it sent stand
  if (redoing_) {
    redo_sends_.push_back(ev);
    return;
  }
  if (loc.partition == id_) {
    // Past every record of the partition it cannot be a straggler; else it
    // waits for the handler to end: it may roll an entity back.
    if (ev.time > horizon_)
      queue_.push(ev);
    else
      local_out_.push_back(ev);
  } else {
    ++remote_sends_;
    outboxes_[loc.partition].push_back(ev);
  }
}

void OptimisticPartition::effect(const Effect& e) {
  if (direct_) {
    store_.apply(e, context_now());  // init, finish, or a safe event: final at once
  } else if (coasting_ || redoing_) {
    // re-executing an event whose effects are already logged, or learning
    // what an undone event sent
  } else {
    const std::uint32_t node = effects_.alloc();
    effects_[node] = e;
    effects_[node].next = records_[current_].effects;
    records_[current_].effects = node;
  }
}

std::uint64_t OptimisticPartition::saved_bytes() const {
  return records_.live() * sizeof(Record) + effects_.live() * sizeof(Effect) + saved_slots_;
}

void OptimisticPartition::note_saved_bytes() {
  const std::uint64_t b = saved_bytes();
  if (b > peak_saved_) peak_saved_ = b;
}

std::uint32_t OptimisticPartition::save_block(LocalGroup& lg, const std::byte* block) {
  Saves& s = saves(lg);
  std::uint32_t slot;
  if (s.free_saved != kNone) {
    slot = s.free_saved;
    s.free_saved = static_cast<std::uint32_t>(s.saved[std::size_t{slot} * s.save_words]);
  } else {
    slot = static_cast<std::uint32_t>(s.saved.size() / s.save_words);
    s.saved.resize(s.saved.size() + s.save_words);
  }
  copy_words(&s.saved[std::size_t{slot} * s.save_words], block,
             s.reverse ? lg.runtime->state_off : lg.runtime->history_off);
  saved_slots_ += std::uint64_t{s.save_words} * 8;
  return slot;
}

void OptimisticPartition::restore_block(LocalGroup& lg, std::byte* block, std::uint32_t saved) {
  const Saves& s = saves(lg);
  copy_words(block, &s.saved[std::size_t{saved} * s.save_words],
             s.reverse ? lg.runtime->state_off : lg.runtime->history_off);
}

void OptimisticPartition::free_record(LocalGroup& lg, std::uint32_t rec) {
  Record& r = records_[rec];
  for (std::uint32_t n = r.effects; n != kNone;) {
    const std::uint32_t next = effects_[n].next;
    effects_.release(n);
    n = next;
  }
  if (r.saved != kNone) {
    Saves& s = saves(lg);
    s.saved[std::size_t{r.saved} * s.save_words] = s.free_saved;
    s.free_saved = r.saved;
    saved_slots_ -= std::uint64_t{s.save_words} * 8;
  }
  records_.release(rec);
}

Event OptimisticPartition::min_key() const { return queue_.empty() ? infinite_key() : queue_.top(); }

std::uint64_t OptimisticPartition::run_optimistic(std::uint64_t max_events,
                                        const std::atomic<bool>* stop) {
  std::uint64_t n = 0;
  const Time bound = std::min(end_time_, hold_);
  for (Time next = queue_.min_time(); n < max_events && next < bound;
       next = queue_.min_time()) {
    // A GVT round waits for every partition: look every few events.
    if (stop != nullptr && n % 16 == 15 && stop->load(std::memory_order_relaxed)) break;
    // After a failed event, only events before it run: one of them may roll
    // it back; later ones wait for GVT to decide whether the failure stands.
    if (fault_error_ && !key_less(queue_.top(), fault_event_)) [[unlikely]]
      break;
    // Safe events take no record, so only speculative ones meet the limits.
    const bool safe = next < window_end_;
    if (!safe) {
      if (records_.live() > max_uncommitted_) [[unlikely]] {
        // As far ahead as it may go; but the partition holding GVT must
        // always be able to move it.
        if (!(next <= gvt_time_)) break;
      } else if (over_memory()) [[unlikely]] {
        throttled_ = true;
        if (allowance_ == 0) break;
        --allowance_;
      }
    }
    const Event ev = queue_.pop();
    if (!cancelled_.empty() && cancelled(ev)) continue;
    if (safe) {
      execute_safe(ev);
    } else {
      beyond_window_ = true;
      execute(ev);
    }
    ++n;
  }
  note_saved_bytes();
  return n;
}

void OptimisticPartition::execute(const Event& ev) {
  const Location loc = where_[ev.dst];
  LocalGroup& lg = local_[loc.group];
  std::byte* block = lg.block(loc.slot);
  const std::uint32_t rec = records_.alloc();
  Record& r = records_[rec];
  r.ev = ev;
  r.effects = kNone;
  r.committed = false;
  r.next = kNone;
  History& h = history(lg, loc.slot);
  r.prev = h.newest;
  // Periodic saving copies the block every period-th event, and always for
  // the first record of a chain (the chain invariant).
  if (h.newest == kNone || saves_[loc.group].reverse || ++h.unsaved >= options_.period) {
    r.saved = save_block(lg, block);
    h.unsaved = 0;
  } else {
    r.saved = kNone;
  }
  if (h.newest != kNone) {
    records_[h.newest].next = rec;
  } else {
    h.oldest = rec;
    if (!h.listed) {
      h.listed = 1;
      commit_list_.emplace_back(static_cast<std::uint16_t>(loc.group), loc.slot);
    }
  }
  h.newest = rec;
  if (ev.time > horizon_) horizon_ = ev.time;
  current_ = rec;
  run_handler(ev, rec);  // rec != kNone: a speculative event
  current_ = kNone;
}

// Runs the event's handler; a failure holds the partition at the event (it
// is reported if and when the event commits: maybe only a speculative state
// fails). Then the event's local sends enter the queue: one may be a
// straggler for another entity, and rolling that back re-binds the context,
// so not while the handler runs.
void OptimisticPartition::run_handler(const Event& ev, std::uint32_t rec) {
  ++executed_;
  direct_ = rec == kNone;
  try {
    dispatch(ev);
  } catch (...) {
    fault_ = rec;
    fault_event_ = ev;
    fault_error_ = describe_failure(ev);
  }
  direct_ = false;
  for (const Event& e : local_out_) receive_local(e);
  local_out_.clear();
  settle();
}

// An event below GVT + the least lookahead between partitions: no straggler
// or anti-message can reach it (every event still to come from another
// partition is at least that late, and rollbacks start no earlier), so it
// runs as in the conservative engine, with no record and its statistics
// applied at once.
void OptimisticPartition::execute_safe(const Event& ev) {
  const Location loc = where_[ev.dst];
  LocalGroup& lg = local_[loc.group];
  History& h = history(lg, loc.slot);
  // The entity's next record must save its block: coasting forward from an
  // older one would skip this event.
  h.unsaved = options_.period;
  if (ev.time > horizon_) horizon_ = ev.time;
  if (ev.time > safe_horizon_) safe_horizon_ = ev.time;
  run_handler(ev, kNone);
  ++events_;
}

void OptimisticPartition::receive(const Event& ev) {
  receive_local(ev);
  settle();
}

void OptimisticPartition::receive_local(const Event& ev) {
  const Location loc = where_[ev.dst];
  LocalGroup& lg = local_[loc.group];
  // No record of this partition reaches `horizon_`: later events need no check.
  if (!(ev.time > horizon_)) [[unlikely]] {
    const std::uint32_t newest = history(lg, loc.slot).newest;
    if (newest != kNone && !key_less(records_[newest].ev, ev))
      rollback(lg, loc.slot, ev, rollbacks_primary_);
  }
  queue_.push(ev);
}

void OptimisticPartition::receive_anti(const Event& ev) {
  local_antis_.push_back(ev);
  settle();
}

void OptimisticPartition::settle() {
  while (!local_antis_.empty()) {
    const Event anti = local_antis_.back();
    local_antis_.pop_back();
    annihilate(anti);
  }
}

// The event `anti` cancels is pending or was processed: undo it if processed
// (the rollback puts it back in the queue), then drop it when it is popped.
void OptimisticPartition::annihilate(const Event& anti) {
  const Location loc = where_[anti.dst];
  LocalGroup& lg = local_[loc.group];
  const std::uint32_t newest = history(lg, loc.slot).newest;
  if (newest != kNone && !key_less(records_[newest].ev, anti))
    rollback(lg, loc.slot, anti, rollbacks_secondary_);
  cancelled_.emplace(cancel_key(anti), anti);
}

bool OptimisticPartition::cancelled(const Event& ev) {
  auto [it, end] = cancelled_.equal_range(cancel_key(ev));
  const std::size_t bytes = model_.event_bytes();
  for (; it != end; ++it)
    if (std::memcmp(&it->second, &ev, bytes) == 0) {
      cancelled_.erase(it);
      return true;
    }
  return false;
}

// Undoes the entity's records with a key >= `to`, newest first.
void OptimisticPartition::rollback(LocalGroup& lg, std::uint32_t slot, const Event& to,
                         std::uint64_t& cause) {
  std::uint32_t keep = history(lg, slot).newest;
  undone_.clear();
  while (keep != kNone && !key_less(records_[keep].ev, to)) {
    undone_.push_back(keep);
    keep = records_[keep].prev;
  }
  if (undone_.empty()) return;
  ++cause;
  rolled_back_ += undone_.size();
  const GroupRuntime& gr = *lg.runtime;
  std::byte* block = lg.block(slot);

  // 1. Back to the block as the oldest undone event found it.
  const std::uint32_t oldest_undone = undone_.back();
  if (saves(lg).reverse) {
    for (const std::uint32_t rec : undone_) reverse(records_[rec].ev, lg, block);
    restore_block(lg, block, records_[oldest_undone].saved);  // the engine's part
  } else if (records_[oldest_undone].saved != kNone) {
    restore_block(lg, block, records_[oldest_undone].saved);
  } else {
    // Periodic saving: restore the last saved block before it and re-execute
    // the kept records up to it. The chain's oldest record has one.
    std::uint32_t base = keep;
    while (records_[base].saved == kNone) base = records_[base].prev;
    restore_block(lg, block, records_[base].saved);
    for (std::uint32_t rec = base;; rec = records_[rec].next) {
      coast(rec);
      if (rec == keep) break;
    }
  }

  // 2. Re-execute the undone events, oldest first, to learn what they sent,
  // then return to the block of step 1.
  rollback_block_.assign(block, block + gr.history_off);
  redoing_ = true;
  for (std::size_t i = undone_.size(); i-- > 0;) {
    try {
      dispatch(records_[undone_[i]].ev);
    } catch (...) {
      // The failed event fails again at the same point, having sent the same.
    }
  }
  redoing_ = false;
  std::memcpy(block, rollback_block_.data(), gr.history_off);

  // 3. Cut the chain: the undone events are pending again.
  history(lg, slot).newest = keep;
  if (keep != kNone) {
    records_[keep].next = kNone;
    std::uint32_t unsaved = 0;
    for (std::uint32_t rec = keep; records_[rec].saved == kNone; rec = records_[rec].prev)
      ++unsaved;
    history(lg, slot).unsaved = unsaved;
  } else {
    history(lg, slot).oldest = kNone;
    history(lg, slot).unsaved = 0;
  }
  for (const std::uint32_t rec : undone_) {
    queue_.push(records_[rec].ev);
    if (rec == fault_) {
      fault_ = kNone;
      fault_error_ = nullptr;
    }
    free_record(lg, rec);
  }

  // 4. Cancel what they sent. The chain is already cut, so a cancellation
  // that reaches this entity again (a self-send) only marks the pending event.
  for (const Event& sent : redo_sends_) {
    const std::uint32_t to_partition = where_[sent.dst].partition;
    if (to_partition == id_)
      local_antis_.push_back(sent);
    else
      antiboxes_[to_partition].push_back(sent);
  }
  redo_sends_.clear();
}

// Re-executes a kept record to rebuild the block (periodic saving); its
// sends and effects stand and are not repeated.
void OptimisticPartition::coast(std::uint32_t rec) {
  const Event ev = records_[rec].ev;
  coasting_ = true;
  try {
    dispatch(ev);
  } catch (...) {
    coasting_ = false;
    std::rethrow_exception(describe_failure(ev));
  }
  coasting_ = false;
}

void OptimisticPartition::commit(const Event& gvt) {
  if (fault_error_ && key_less(fault_event_, gvt)) std::rethrow_exception(fault_error_);
  gvt_time_ = gvt.time;
  window_end_ = options_.safe_lookahead > 0 ? gvt.time + options_.safe_lookahead : 0;
  std::size_t kept = 0;
  const std::size_t n = commit_list_.size();
  for (std::size_t i = 0; i < n; ++i) {
    // The entities are cold by now: fetch their blocks, then their oldest
    // records, a few entities ahead.
    if (i + 8 < n) {
      const auto [g, s] = commit_list_[i + 8];
      __builtin_prefetch(local_[g].block(s) + local_[g].runtime->history_off);
    }
    if (i + 4 < n) {
      const auto [g, s] = commit_list_[i + 4];
      const std::uint32_t oldest = history(local_[g], s).oldest;
      if (oldest != kNone) __builtin_prefetch(&records_[oldest]);
    }
    const auto [group, slot] = commit_list_[i];
    LocalGroup& lg = local_[group];
    std::uint32_t rec = history(lg, slot).oldest;
    std::uint32_t base = kNone;  // newest committed record with a saved block
    while (rec != kNone && key_less(records_[rec].ev, gvt)) {
      Record& r = records_[rec];
      if (!r.committed) {
        for (std::uint32_t n = r.effects; n != kNone;) {
          store_.apply(effects_[n], r.ev.time);
          const std::uint32_t next = effects_[n].next;
          effects_.release(n);
          n = next;
        }
        r.effects = kNone;
        r.committed = true;
        ++events_;
      }
      if (r.saved != kNone) base = rec;
      rec = r.next;
    }
    // Free the committed prefix, except (periodic saving, when the first
    // uncommitted record has no saved block) the base a rollback would
    // coast forward from.
    const std::uint32_t stop =
        rec == kNone || records_[rec].saved != kNone || base == kNone ? rec : base;
    for (std::uint32_t f = history(lg, slot).oldest; f != stop;) {
      const std::uint32_t next = records_[f].next;
      free_record(lg, f);
      f = next;
    }
    history(lg, slot).oldest = stop;
    if (stop == kNone) {
      history(lg, slot).newest = kNone;
      history(lg, slot).unsaved = 0;
      history(lg, slot).listed = 0;
    } else {
      records_[stop].prev = kNone;
      commit_list_[kept++] = commit_list_[i];
    }
  }
  commit_list_.resize(kept);
  allowance_ = kSqueezedAllowance;
}

void OptimisticPartition::adapt_optimism() {
  // Below this, GVT rounds (two barriers) would cost more than the events
  // they let through.
  constexpr std::uint64_t kMinAhead = 256;
  const std::uint64_t executed = executed_ - adapt_executed_;
  const std::uint64_t wasted = rolled_back_ - adapt_rolled_back_;
  if (executed < kMinAhead) return;  // too little to judge
  adapt_executed_ = executed_;
  adapt_rolled_back_ = rolled_back_;
  if (wasted * 2 > executed) {
    max_uncommitted_ = std::max(kMinAhead, std::min(max_uncommitted_, records_.live()) / 2);
  } else if (wasted * 10 < executed && max_uncommitted_ < options_.max_uncommitted) {
    max_uncommitted_ = std::min(options_.max_uncommitted, max_uncommitted_ * 2);
  }
}

void OptimisticPartition::squeeze() {
  // Cancelback: undo the work furthest ahead of GVT first (the most likely
  // to be wrong, and the last to be needed), halving the distance until the
  // partition is under its share; at worst everything uncommitted. Undone
  // events go back to the queue (memory every engine needs).
  // Records below the safe window stay: no straggler can reach them, and
  // undoing one would also undo the record-less safe events after it.
  const Time floor = std::max(gvt_time_, window_end_);
  Time threshold = horizon_;
  for (int pass = 0; pass < 6 && over_memory(); ++pass) {
    threshold = pass == 5 ? floor : floor + (threshold - floor) / 2;
    if (!(threshold >= floor)) threshold = floor;
    roll_back_from(threshold, squeezes_);
  }
}

void OptimisticPartition::roll_back_from(Time threshold, std::uint64_t& cause) {
  for (const auto& [group, slot] : commit_list_) {
    LocalGroup& lg = local_[group];
    std::uint32_t first = history(lg, slot).newest;
    if (first == kNone || records_[first].committed || !(records_[first].ev.time >= threshold))
      continue;
    while (records_[first].prev != kNone && !records_[records_[first].prev].committed &&
           records_[records_[first].prev].ev.time >= threshold)
      first = records_[first].prev;
    rollback(lg, slot, records_[first].ev, cause);
  }
  settle();
}

void OptimisticPartition::hold_at(Time at) {
  hold_ = at;
  roll_back_from(at, holds_);
}

void OptimisticPartition::purge_cancelled() {
  if (cancelled_.empty()) return;
  queue_.remove_if([this](const Event& ev) { return cancelled(ev); });
}

}  // namespace dsim::detail
