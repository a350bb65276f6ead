// A partition's entity storage: the entities' blocks (group by group), their
// pending events, and the partition's statistic accumulators. It is what
// every engine shares; what an engine does with it (run events directly,
// speculate and roll back, check handlers) lives with that engine
// (core/partition.hpp for direct execution, sync/time_warp.hpp,
// sync/rollback_check.hpp).
//
// An entity's complete engine-visible state is its block bytes [0,
// history_off) (random and send counters, counters, gauge slots, State) and
// its pending events; export_entity() and import_entity() move it between
// stores by entity id, also between stores of different layouts. Statistics
// that are not in blocks (tallies, gauge extremes, histograms, series) are a
// store's, not an entity's: statistics(false) exports them and
// absorb_statistics() adds them to another store. Every part combines
// exactly (ExactSum, min, max, integer sums), so a state exported from one
// layout and imported into another gives the same results, bit for bit.
//
//   EntityImage image = from.export_entity(id, /*take=*/true);
//   to.import_entity(image);  // `to` is the store the layout puts `id` in
//
// Thread safety: a store belongs to one thread at a time (its partition's).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "core/event.hpp"
#include "core/event_queue.hpp"
#include "core/layout.hpp"
#include "core/model.hpp"
#include "dsim/run_control.hpp"
#include "stats/exact_sum.hpp"
#include "stats/partials.hpp"

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

// What a handler did to a partition-level statistic. Engines that defer
// statistics (Time Warp until commit, the rollback checker until compared)
// keep Effects and apply them later; `next` chains them in such a list.
struct Effect {
  enum Kind : std::uint8_t { kTally, kGauge, kCounter, kHistogram };
  std::uint32_t next;
  Kind kind;
  std::uint16_t group;
  std::uint32_t index;
  double a;  // value; gauge: old level; counter: amount
  double b;  // gauge: new level
};

// Partition-local storage and statistics of one group.
struct LocalGroup {
  const GroupRuntime* runtime = nullptr;
  std::uint32_t count = 0;   // entities of the group in this partition (slots 0..count-1)
  std::uint32_t stride = 0;  // bytes per block (the layout's)
  std::unique_ptr<std::byte[]> storage;
  std::byte* base = nullptr;
  std::vector<TallyAcc> tallies;
  std::vector<GaugeAcc> gauges;
  std::vector<HistogramAcc> histograms;
  // [stat (counters then gauges)][sample]: while running, the change of the
  // group's sum in each sample's interval; after close_series(), the sums.
  std::vector<ExactSum> series;

  std::byte* block(std::uint32_t slot) const { return base + std::size_t{slot} * stride; }
};

// One entity's engine-visible state, by id; independent of any layout.
struct EntityImage {
  EntityId id = 0;
  std::vector<std::byte> block;  // bytes [0, history_off) of its block
  std::vector<Event> pending;    // events addressed to it, in key order
};

// The model's statistics with nothing in them, shaped as every store's
// statistics() (a start for merging shares).
Partials empty_statistics(const Model& model);

class EntityStore {
 public:
  // The storage of partition `partition` of `layout` (blocks uninitialised:
  // see construct()).
  EntityStore(const Model& model, const Layout& layout, std::uint32_t partition);

  const Model& model() const { return model_; }
  const Layout& layout() const { return layout_; }
  std::uint32_t partition() const { return partition_; }
  std::uint64_t entities() const { return entities_; }
  bool holds(EntityId id) const {
    return id < model_.entity_count() && where_[id].partition == partition_;
  }
  Location where(EntityId id) const { return where_[id]; }
  const Location* where_table() const { return where_; }
  std::vector<LocalGroup>& groups() { return local_; }
  const std::vector<LocalGroup>& groups() const { return local_; }
  std::byte* block(Location loc) const { return local_[loc.group].block(loc.slot); }
  EventQueue& queue() { return queue_; }
  const EventQueue& queue() const { return queue_; }

  // Zeroes every block and constructs each entity's State (no init hooks).
  void construct();
  // Calls f(group, slot, id) for the store's entities of group `lg`, in id
  // order (which is slot order).
  template <class F>
  void for_each_entity(const LocalGroup& lg, F&& f) const {
    const GroupRuntime& gr = *lg.runtime;
    for (std::uint64_t i = 0; i < gr.count; ++i) {
      const EntityId id = gr.first + static_cast<EntityId>(i);
      if (where_[id].partition == partition_) f(where_[id].slot, id);
    }
  }

  // --- Statistics ---
  // Applies one effect that happened at time t.
  void apply(const Effect& e, Time t);
  // No more series changes (after the end time): from now on add_series()
  // ignores them.
  void stop_series() { series_open_ = false; }
  // Turns each series' per-interval changes into running sums.
  void close_series();
  // This store's share of the run's statistics, shaped as Partials (stats in
  // group and declaration order, then series cells): with `blocks`, also what
  // lives in the entities' blocks (counter values, gauge areas and levels);
  // without, only the store's own accumulators (what absorb_statistics takes).
  Partials statistics(bool blocks) const;
  // Adds the accumulator share of another store (statistics(false) of a
  // store of the same model) to this one's.
  void absorb_statistics(const Partials& share);

  // --- Entities by id ---
  // The entity's block bytes and pending events; `take` also removes the
  // events from the queue (the entity moves away).
  // REQUIRES: holds(id). Throws dsim::Error otherwise.
  EntityImage export_entity(EntityId id, bool take);
  // Every entity's image, in id order (export_into(), by id).
  std::vector<EntityImage> export_all() const;
  // Appends the store's entities to a snapshot as they lie: a part per
  // group (its blocks' bytes [0, history_off) in one copy when the layout
  // keeps nothing after them) and every pending event, in queue order. No
  // search, sort or allocation per entity: it runs while the workers wait.
  // Parts taken from `spare` (an earlier snapshot's) reuse their memory.
  void export_into(Snapshot& out, std::vector<SnapshotBlocks>* spare = nullptr) const;
  // Imports every entity of `snapshot` that this store holds, and their
  // events (into a store whose blocks were constructed and that ran no init
  // hooks). Throws dsim::Error for a block of the wrong size.
  void import_snapshot(const Snapshot& snapshot);
  // Sets the entity's block to the image's bytes and queues its events (in
  // addition to any the store holds for it: import into a store whose blocks
  // were constructed and that ran no init hooks).
  // REQUIRES: holds(image.id); the image is of this model (block size).
  void import_entity(const EntityImage& image);
  // The same from borrowed bytes (a checkpoint's image, without copying it).
  void import_entity(EntityId id, std::span<const std::byte> block,
                     std::span<const Event> pending);
  // Calls f(const Event&) for every pending event, in no particular order.
  template <class F>
  void for_each_pending(F&& f) const {
    queue_.for_each(f);
  }

 private:
  void add_series(std::uint32_t group, std::size_t row, Time t, double amount);
  // The sample whose interval holds time t: the smallest k with
  // t <= interval * (k + 1): sample k counts the events at or before its time.
  // Every engine uses it, so series do not depend on processing order.
  std::uint32_t bucket_of(Time t) const;
  void require_here(EntityId id, const char* what) const;

  const Model& model_;
  const Layout& layout_;
  const std::uint32_t partition_;
  const Location* where_;
  std::vector<LocalGroup> local_;
  EventQueue queue_;
  std::uint64_t entities_ = 0;
  bool sampling_;
  bool series_open_ = true;
  Time sample_interval_ = 0;
};

}  // namespace dsim::detail
