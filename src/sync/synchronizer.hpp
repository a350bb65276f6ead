// Time synchronization: how partitions advance simulated time together.
// One narrow interface, implementations chosen by name (`simulation.sync`).
// A synchronizer never knows a model; it drives Partitions and a Transport.
#pragma once

#include <memory>
#include <vector>

#include "core/partition.hpp"
#include "dsim/results.hpp"
#include "dsim/simulation.hpp"
#include "transport/transport.hpp"

namespace dsim::detail {

struct SyncRun {
  const Model& model;
  std::vector<std::unique_ptr<Partition>>& partitions;
  Transport& transport;
  const RunOptions& options;
  RunFigures& figures;
};

class Synchronizer {
 public:
  virtual ~Synchronizer() = default;
  // Runs initialized partitions to the end time (events with time < end).
  // Throws the run's first model error (dsim::Error) after all threads stop.
  virtual void run(SyncRun& run) = 0;
};

// One partition, one thread, no synchronization at all.
std::unique_ptr<Synchronizer> make_sequential_sync();
// YAWNS-style windows: every round processes the events with time below
// (global minimum next time + lookahead), one thread per partition.
// REQUIRES: lookahead > 0 (may be +inf when no link crosses partitions).
std::unique_ptr<Synchronizer> make_conservative_sync(double lookahead);
// Time Warp: speculative execution, rollback, GVT rounds (optimistic.cpp).
// Works with any lookahead, zero included.
std::unique_ptr<Synchronizer> make_optimistic_sync(const OptimisticOptions& options);

}  // namespace dsim::detail
