// A partition: one EntityStore (blocks, pending events, accumulators) run by
// one worker thread, and the way its events execute. This class is the
// direct execution of the sequential and conservative engines: an event is
// final when processed, its statistics are applied at once, sends to
// entities of the same partition go straight into its queue, and sends to
// other partitions go into per-destination outboxes that the engine hands to
// the transport. Engines that execute differently derive from it and
// override send(), effect() and run(): Time Warp (sync/time_warp.hpp) and the
// rollback checker (sync/rollback_check.hpp). The hot path has no mode
// flags: Context calls send() and effect() through the partition's vtable,
// and each engine's override is its whole behaviour.
//
// Thread safety: a Partition is used by one thread at a time. Its outboxes are
// written only by that thread while it runs; the engine hands them to the
// transport (sync/delivery.hpp) from the same thread, between windows or
// batches.
#pragma once

#include <cstdint>
#include <cstring>
#include <exception>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/entity_store.hpp"
#include "core/event.hpp"
#include "core/layout.hpp"
#include "core/model.hpp"
#include "dsim/context.hpp"
#include "dsim/run_control.hpp"

namespace dsim::detail {

class Partition {
 public:
  Partition(const Model& model, const Layout& layout, std::uint32_t id);
  virtual ~Partition() = default;
  Partition(const Partition&) = delete;
  Partition& operator=(const Partition&) = delete;

  std::uint32_t id() const { return id_; }
  std::uint64_t entities() const { return store_.entities(); }
  EntityStore& store() { return store_; }
  const EntityStore& store() const { return store_; }
  const Model& model() const { return model_; }

  // Constructs every entity's state and runs init hooks in id order.
  virtual void init();
  // Instead of init(): the state of a resumed run. Constructs every entity,
  // then sets those of this partition (the rest of the snapshot's are other
  // partitions') to their blocks, with their pending events; adds
  // `statistics` (the whole run's accumulators at the cut: give them to one
  // partition of the run) when not null. No init hooks run.
  virtual void restore(const Snapshot& snapshot, const Partials* statistics);
  // Keeps events sent for the end time or later in the queue (never run):
  // a checkpoint then holds them, so a resume that extends the end time
  // runs them as an uninterrupted longer run would have.
  void keep_events_past_end() { send_bound_ = kTimeInfinity; }
  // Processes events with time < bound, at most max_events; returns how many.
  // Remote sends with a time below `safe_until` are rejected (they would break
  // the conservative window); pass 0 when the engine needs no such check.
  virtual std::uint64_t run(Time bound, std::uint64_t max_events, Time safe_until = 0);
  // Runs finish hooks, closes gauge integrals, turns series changes into sums.
  virtual void finish();

  Time next_time() const { return queue_.min_time(); }
  // The time of the event processed last (0 before any).
  Time now() const { return ctx_.now_; }
  void enqueue(const Event& e) { queue_.push(e); }
  // Events sent to `partition` (another one) since the engine last took them.
  std::vector<Event>& outbox(std::uint32_t partition) { return outboxes_[partition]; }
  // Starts a conservative window: resets sent_min().
  void start_window() { sent_min_ = kTimeInfinity; }
  // Earliest time of an event sent to another partition since start_window().
  Time sent_min() const { return sent_min_; }

  // Key of the failed event that stopped the partition (time = infinity: none).
  Event fault_key() const { return fault_error_ ? fault_event_ : infinite_key(); }

  // Figures.
  std::uint64_t events() const { return events_; }  // processed (committed)
  std::uint64_t remote_sends() const { return remote_sends_; }
  virtual std::uint64_t executed() const { return events_; }
  virtual std::uint64_t rolled_back() const { return 0; }
  virtual std::uint64_t rollbacks_primary() const { return 0; }
  virtual std::uint64_t rollbacks_secondary() const { return 0; }
  virtual std::uint64_t saved_bytes() const { return 0; }
  virtual std::uint64_t peak_saved_bytes() const { return 0; }
  virtual std::uint64_t checks() const { return 0; }
  double busy_seconds = 0;
  double blocked_seconds = 0;

  // Called by Context (see context.hpp); not for models.
  virtual void send(Context& ctx, EntityId target, std::uint32_t type, const std::byte* payload,
                    Time delay);
  // A statistic changed by the running handler (or an init/finish hook).
  virtual void effect(const Effect& e) { store_.apply(e, ctx_.now_); }
  // "hosts[12] (id 12)"
  std::string describe(EntityId id) const;

 protected:
  // Checks a send (finish hooks, target, link, lookahead, a delay that moves
  // time) and builds its event; false when it falls at or after the end time
  // (never processed). Throws dsim::Error naming the entity.
  // Inline: every send of every engine goes through it (a call with out
  // parameters cost Time Warp ~20 instructions per event).
  bool make_event(Context& ctx, EntityId target, std::uint32_t type, const std::byte* payload,
                  Time delay, Event& ev, Location& loc) {
    if (ctx.finishing_ || target >= model_.entity_count()) [[unlikely]]
      fail_send(ctx, target, delay, 0);
    loc = where_[target];
    // An entity may always send to itself (delay >= 0); other targets need a
    // declared link and a delay of at least its lookahead.
    const double lookahead =
        target == ctx.self_ ? 0.0 : lookahead_[ctx.group_ * group_count_ + loc.group];
    // Also rejects NaN lookahead (no link), NaN and infinite delays.
    if (!(delay >= lookahead) || !(delay < kTimeInfinity)) [[unlikely]]
      fail_send(ctx, target, delay, lookahead);
    ev.time = ctx.now_ + delay;
    // Far out (1e18, say) a small positive delay is lost to rounding: time
    // would stop advancing and a self-scheduling entity would loop forever.
    if (ev.time == ctx.now_ && delay != 0) [[unlikely]]
      fail_no_advance(ctx, target, delay);
    ev.depth = delay == 0 ? ctx.depth_ + 1 : 0;
    ev.type = type;
    ev.src = ctx.self_;
    ev.dst = target;
    ev.seq = (*ctx.send_seq_)++;
    std::memcpy(ev.payload, payload, kMaxPayloadBytes);
    return ev.time < send_bound_;
  }
  // Direct execution's send: the queue, or the destination's outbox. The
  // local case is inline: it is most sends of most models.
  void send_direct(const Context& ctx, const Event& ev, Location loc, Time delay) {
    if (loc.partition == id_) [[likely]]
      queue_.push(ev);
    else
      send_remote(ctx, ev, loc, delay);
  }
  void send_remote(const Context& ctx, const Event& ev, Location loc, Time delay);
  void bind(LocalGroup& lg, EntityId id, std::byte* block);
  // Calls f(slot, id) for the partition's entities of group `lg`, in id order.
  template <class F>
  void for_each_local(const LocalGroup& lg, F&& f) const {
    store_.for_each_entity(lg, std::forward<F>(f));
  }
  // Binds the context to the event's entity and runs its handler.
  void dispatch(const Event& ev);
  // Runs the reverse handler of `ev` (reversible types) on its entity's block.
  void reverse(const Event& ev, LocalGroup& lg, std::byte* block);
  Time context_now() const { return ctx_.now_; }
  // The model error of the event that was just running, as an exception.
  std::exception_ptr describe_failure(const Event& ev);
  [[noreturn]] void fail_event(const Event& ev, const char* what);
  [[noreturn]] void fail_send(const Context& ctx, EntityId target, Time delay, double lookahead);
  [[noreturn]] void fail_no_advance(const Context& ctx, EntityId target, Time delay);

  EntityStore store_;
  const Model& model_;
  const std::uint32_t id_;
  const Location* where_;
  const double* lookahead_;  // [from group * groups + to group]
  std::size_t group_count_;
  std::vector<LocalGroup>& local_;  // store_'s
  EventQueue& queue_;               // store_'s
  std::vector<std::vector<Event>> outboxes_;  // [destination partition]
  Time sent_min_ = kTimeInfinity;
  Context ctx_;
  std::uint64_t events_ = 0;
  std::uint64_t remote_sends_ = 0;
  Time end_time_;
  // Events at or after this time are not kept (end_time_; infinity when a
  // checkpoint may have to hold them, see keep_events_past_end).
  Time send_bound_;
  Time safe_until_ = 0;
  // A failed event: its key and error.
  std::exception_ptr fault_error_;
  Event fault_event_{};
};

}  // namespace dsim::detail
