// Time synchronization: how partitions advance simulated time together.
// One narrow interface, implementations chosen by name (`simulation.sync`).
// A synchronizer never knows a model; it drives Partitions and a Transport.
#pragma once

#include <chrono>
#include <memory>
#include <vector>

#include "core/partition.hpp"
#include "dsim/results.hpp"
#include "dsim/simulation.hpp"
#include "sync/quiet_points.hpp"
#include "transport/transport.hpp"

namespace dsim::detail {

struct SyncRun {
  const Model& model;
  const Layout& layout;
  std::vector<std::unique_ptr<Partition>>& partitions;
  Transport& transport;
  const RunOptions& options;
  RunFigures& figures;
  QuietPoints& quiet;
  // Processes of this run on this machine (MPI), whose workers share its cores.
  std::uint32_t processes_here = 1;
  // Cores this process's workers may use (the environment's Machine::cores).
  std::uint32_t cores = 1;
  // Set by run() when it throws a model error: that event's key, so that
  // processes can agree on the error the sequential run would report.
  Event error_key = infinite_key();
  // Set by run() when it returns at a quiet point because a stop was asked
  // for (every process agrees): the quiet point's safe time.
  bool stopped = false;
  Time stopped_at = 0;
};

// Fills `progress` (events, per-partition events, blocked share and the
// optimistic figures) from the partitions. Call where no partition runs (a
// barrier's completion step).
inline void gather_progress(const std::vector<std::unique_ptr<Partition>>& partitions,
                            Progress& progress) {
  progress.events = progress.rolled_back = progress.rollbacks = progress.saved_bytes = 0;
  progress.partition_events.resize(partitions.size());
  progress.partition_busy_seconds.resize(partitions.size());
  progress.partition_blocked_seconds.resize(partitions.size());
  std::uint64_t executed = 0;
  double busy = 0, blocked = 0;
  for (std::size_t i = 0; i < partitions.size(); ++i) {
    const Partition& p = *partitions[i];
    progress.partition_events[i] = p.events();
    progress.events += p.events();
    progress.rolled_back += p.rolled_back();
    progress.rollbacks += p.rollbacks_primary() + p.rollbacks_secondary();
    progress.saved_bytes += p.saved_bytes();
    executed += p.executed();
    busy += p.busy_seconds;
    blocked += p.blocked_seconds;
    progress.partition_busy_seconds[i] = p.busy_seconds;
    progress.partition_blocked_seconds[i] = p.blocked_seconds;
  }
  progress.efficiency =
      executed > 0 ? 1.0 - static_cast<double>(progress.rolled_back) / executed : 1.0;
  progress.blocked_share = busy + blocked > 0 ? blocked / (busy + blocked) : 0;
}

class Synchronizer {
 public:
  virtual ~Synchronizer() = default;
  // Partition `id` of `layout`, executing events this engine's way: direct
  // execution unless the engine overrides it (Time Warp, rollback checker).
  virtual std::unique_ptr<Partition> make_partition(const Model& model, const Layout& layout,
                                                    std::uint32_t id) const {
    return std::make_unique<Partition>(model, layout, id);
  }
  // Runs initialized partitions to the end time (events with time < end),
  // or to the quiet point where a stop takes effect (run.stopped). Throws the run's first model error (dsim::Error) after all threads stop
  // (and, with MPI, after every process stopped), setting run.error_key.
  virtual void run(SyncRun& run) = 0;
};

// One partition, one thread, no synchronization at all.
std::unique_ptr<Synchronizer> make_sequential_sync();
// The sequential engine on a CheckPartition (sync/rollback_check.hpp): every
// event executed twice and compared.
std::unique_ptr<Synchronizer> make_rollback_check_sync();
// YAWNS-style windows: every round processes the events with time below
// (global minimum next time + lookahead), one thread per partition.
// REQUIRES: lookahead > 0 (may be +inf when no link crosses partitions).
std::unique_ptr<Synchronizer> make_conservative_sync(double lookahead);
// Time Warp: speculative execution, rollback, GVT rounds (optimistic.cpp).
// Works with any lookahead, zero included.
struct OptimisticOptions;  // sync/time_warp.hpp
std::unique_ptr<Synchronizer> make_optimistic_sync(const OptimisticOptions& options);

}  // namespace dsim::detail
