// Run control: what a host (the dsim program, Python, a test) can do with a
// run while it goes on, at its quiet points.
//
// A quiet point is a moment where every worker thread of every process waits
// and the committed state is one consistent cut at `safe_time`: every event
// with a time below it has run and is committed (its statistics applied),
// and no later event is committed. Each engine reaches them on its own beat:
//   sequential    every 65,536 events, at a change of simulated time
//                 (never between two events of the same instant);
//   conservative  at the end of every window;
//   optimistic    after every GVT round (speculative work past GVT exists
//                 but is not committed, so it is not part of the cut).
// The host acts there:
//   - RunControl::at_quiet_point() decides to continue, to take a snapshot
//     (RunControl::on_snapshot() then receives it, and the run goes on), or
//     to stop;
//   - a std::stop_token (RunOptions::stop) asks for a stop from any thread,
//     e.g. a Ctrl-C handler's thread;
//   - progress observers (RunOptions::on_progress) get what was published
//     at the latest quiet point, on a thread of their own.
// A stop takes effect at the next quiet point, on every process at once (the
// request travels with the round's reduction), and run() then throws
// RunStopped: no result is presented as complete.
//
//   std::stop_source stop;
//   dsim::RunOptions options;
//   options.stop = stop.get_token();
//   std::jthread watcher([&] { wait_for_ctrl_c(); stop.request_stop(); });
//   try { auto result = simulation.run(options); }
//   catch (const dsim::RunStopped& s) { /* stopped at s.safe_time() */ }
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "dsim/export.hpp"
#include "dsim/results.hpp"
#include "dsim/types.hpp"

namespace dsim {

struct QuietPoint {
  Time safe_time = 0;  // every event with time < safe_time is committed
  Time end_time = 0;
  std::uint64_t events = 0;  // committed events so far, over every process
  std::uint64_t index = 0;   // quiet points reached so far, this one included
  double wall_seconds = 0;   // since the event loop started
};

// An event that is pending at a snapshot: its key (time, depth, src, seq;
// see DESIGN.md invariant 2), its payload type id (dsim/payload.hpp) and
// its payload bytes.
struct PendingEvent {
  Time time = 0;
  std::uint32_t depth = 0;
  std::uint32_t type = 0;
  EntityId src = 0;
  EntityId dst = 0;
  std::uint64_t seq = 0;
  alignas(8) std::array<std::byte, kMaxPayloadBytes> payload{};
};

// One entity's complete engine-visible state: its block (random-stream and
// send counters, counters, gauge slots, then its State's bytes) and the
// events pending for it, in key order. The block is the engine's own record:
// it is valid for the same model built by the same program.
struct EntitySnapshot {
  EntityId id = 0;
  std::vector<std::byte> block;
  std::vector<PendingEvent> pending;
};

// Blocks of entities as they lie in the engine's storage: `ids` ascending,
// entity ids[k]'s block is bytes [k * block_bytes, (k + 1) * block_bytes).
struct SnapshotBlocks {
  std::vector<EntityId> ids;
  std::uint32_t block_bytes = 0;
  std::vector<std::byte> bytes;
};

// A consistent cut of this process's part of a run at a quiet point: every
// event below `safe_time` has run and none at or after it. The process's
// entities are in `blocks` (a part per group of each partition, copied as
// they lie: taking a snapshot is a few large copies, whatever the entity
// count) and the events pending for them in `pending`, in no particular
// order; entities() gives the same by entity id. The statistics that live
// in no entity (tallies, gauge extremes, histograms, series changes so far)
// are `statistics`, in the versioned partials format
// (src/stats/partials.hpp). `series` are the committed time series so far,
// readable: each counter and gauge series up to its last sample before
// `safe_time` (this process's entities' sums). Under MPI every process takes
// its part at the same quiet point; the parts make up the whole run,
// whatever layout took them.
struct DSIM_API Snapshot {
  Time safe_time = 0;
  std::uint64_t index = 0;   // the quiet point's (QuietPoint::index)
  std::uint64_t events = 0;  // committed events so far, over every process
  std::vector<SnapshotBlocks> blocks;
  std::vector<PendingEvent> pending;
  std::vector<std::byte> statistics;
  std::vector<SeriesResult> series;

  std::uint64_t entity_count() const;
  // Every entity in id order with its events in key order (a copy, built
  // on each call: for inspection and tests, not for a quiet point).
  std::vector<EntitySnapshot> entities() const;
  // Adds one entity and its events (a part of its own): for a host that
  // assembles a snapshot entity by entity.
  void add(const EntitySnapshot& entity);
};

// Consulted at every quiet point (see above) on one thread of each process,
// while that process's workers wait: keep it short (a decision, not I/O).
// Under MPI every process has its own RunControl; a stop asked for by any
// process stops them all at the next quiet point.
//
// Thread safety: called by one thread at a time, never concurrently with
// itself; not from the thread that called run() unless the run is sequential.
class RunControl {
 public:
  enum class Decision { kContinue, kSnapshot, kStop };
  virtual ~RunControl() = default;
  virtual Decision at_quiet_point(const QuietPoint& point) = 0;
  // A simulated time the control wants a quiet point at (e.g. a checkpoint
  // every 100 units): the sequential engine, whose quiet points are far
  // apart, also pauses when its next event is at or past it; the parallel
  // engines reach quiet points often anyway. Infinity: none.
  virtual Time next_wanted_time() const { return kTimeInfinity; }
  // After at_quiet_point() said kSnapshot: the snapshot, on the same thread,
  // while the workers wait; the run then goes on. When it is taken: the
  // sequential engine at that quiet point; the conservative engine at the
  // next one (every process takes its part there); Time Warp a few GVT
  // rounds later, once every partition reached the snapshot's time and
  // rolled back what ran past it. A snapshot asked for by any process is
  // taken by every process (each RunControl gets its part); one asked for
  // too close to the end time is not taken.
  virtual void on_snapshot(const Snapshot& /*snapshot*/) {}
  // The same snapshot handed over to keep: what the engine calls. A control
  // that keeps snapshots past the call (a background writer) moves it away
  // instead of copying it; by default it is passed to on_snapshot().
  virtual void keep_snapshot(Snapshot&& snapshot) { on_snapshot(snapshot); }
  // A snapshot the control is done with, whose memory the engine may reuse
  // for the next one (its contents are overwritten). A control that keeps
  // snapshots hands back the last one it finished with: the next pause then
  // writes into memory already mapped instead of fresh pages (most of a
  // large snapshot's pause). Called just before a snapshot is taken; by
  // default none.
  virtual Snapshot reusable_snapshot() { return {}; }
};

// Thrown by Simulation::run() when the run was stopped (RunOptions::stop or
// a RunControl) before its end time. Every process of the run throws it.
class RunStopped : public Error {
 public:
  RunStopped(Time safe_time, const std::string& message)
      : Error(message, Kind::kRuntime), safe_time_(safe_time) {}
  // The quiet point it stopped at: every event below it was committed.
  Time safe_time() const { return safe_time_; }

 private:
  Time safe_time_;
};

}  // namespace dsim
