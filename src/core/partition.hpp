// A partition: a set of entities, their pending events and their statistics,
// run by one worker thread. Sends to entities of the same partition go
// straight into its queue; sends to other partitions go into per-destination
// outboxes that the sync algorithm hands over between windows.
//
// Thread safety: a Partition is used by one thread at a time. Its outboxes are
// written only by that thread while it runs, and read (then cleared) by the
// destination partition's thread only after a barrier. Outboxes come in two
// banks: while the senders fill one bank in a window, the receivers drain the
// other (filled in the window before), so one barrier per window suffices.
#pragma once

#include <cstdint>
#include <exception>
#include <memory>
#include <string>
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
  ExactSum level_sum;       // current sum of levels (only while sampling)
};
struct HistogramAcc {
  double lo = 0, hi = 0;            // from the declaration
  std::vector<std::uint64_t> bins;  // [underflow, bin 0 .. bin n-1, overflow]
};

// Partition-local storage and statistics of one group.
struct LocalGroup {
  const GroupRuntime* runtime = nullptr;
  std::uint32_t count = 0;  // entities of the group in this partition (slots 0..count-1)
  std::unique_ptr<std::byte[]> storage;
  std::byte* base = nullptr;
  std::vector<TallyAcc> tallies;
  std::vector<GaugeAcc> gauges;
  std::vector<HistogramAcc> histograms;
  std::vector<ExactSum> counter_sums;  // running totals, only while sampling
  std::vector<ExactSum> series;        // [stat (counters then gauges)][sample]

  std::byte* block(std::uint32_t slot) const { return base + std::size_t{slot} * runtime->stride; }
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
  // Takes remaining samples, runs finish hooks, closes gauge integrals.
  void finish();

  Time next_time() const { return queue_.min_time(); }
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
  void take_samples(Time t);
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
  std::uint32_t samples_taken_ = 0;
  Time next_sample_ = kTimeInfinity;
};

}  // namespace dsim::detail
