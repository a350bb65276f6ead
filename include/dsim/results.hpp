// What a run produces: reduced statistics per group, time series, and run
// figures (timings, memory, per-partition work). Statistics and series depend
// only on the model and seed; figures describe this particular run.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dsim/engine.hpp"
#include "dsim/export.hpp"
#include "dsim/stats.hpp"
#include "dsim/types.hpp"

namespace dsim {

// One statistic of one group, reduced over the group's entities. Fields:
//   counter:   total, mean (per entity), min, max (over entities)
//   tally:     count, mean, stddev, variance, min, max, sum
//   gauge:     mean (time average per entity), total_mean (time average of the
//              group's sum), min, max, final (sum of levels at end)
//   histogram: count, underflow, overflow, and bin_<i> counts
struct StatResult {
  std::string group;
  std::string stat;
  StatKind kind;
  std::vector<std::pair<std::string, double>> fields;
  // Histograms only: bin edges lo, hi and bin count.
  double lo = 0, hi = 0;
  std::uint32_t bins = 0;
};

// Sum over a group's entities of a counter or gauge, sampled at times
// interval, 2*interval, ... <= end time (values after all events <= t).
struct SeriesResult {
  std::string group;
  std::string stat;
  std::vector<Time> times;
  std::vector<double> values;
};

struct PartitionFigures {
  std::uint32_t partition = 0;
  std::uint32_t rank = 0;  // the MPI process that ran it (0 without MPI)
  std::uint64_t entities = 0;
  std::uint64_t events = 0;
  std::uint64_t remote_sends = 0;  // events sent to another partition
  double busy_seconds = 0;         // handling events
  double blocked_seconds = 0;      // waiting for other partitions
  std::uint64_t rolled_back = 0;   // optimistic: event executions undone
};

struct RunFigures {
  std::uint64_t events_processed = 0;
  double event_rate = 0;  // events per second of the event loop
  double init_seconds = 0;
  double run_seconds = 0;  // the event loop
  double wall_seconds = 0;
  std::uint64_t peak_rss_bytes = 0;
  Engine engine = Engine::kSequential;  // the engine that ran
  std::string sync;         // its name (engine_name(engine)), as the result files write it
  std::string sync_reason;  // why it was chosen
  std::string partitioner;
  std::uint32_t threads = 1;   // worker threads (partitions) per process
  std::uint32_t ranks = 1;     // MPI processes (1 without mpirun)
  std::uint64_t edge_cut = 0;  // declared edges between partitions
  std::uint64_t rank_edge_cut = 0;  // declared edges between processes (0 with one)
  std::uint64_t windows = 0;   // conservative synchronization rounds
  // Optimistic (Time Warp) figures; zero under the other engines.
  // events_processed counts committed events, so it equals the sequential
  // run's count; events_executed also counts executions later rolled back.
  std::uint64_t events_executed = 0;
  std::uint64_t events_rolled_back = 0;
  std::uint64_t rollbacks_primary = 0;    // caused by a straggler event
  std::uint64_t rollbacks_secondary = 0;  // caused by an anti-message
  double efficiency = 1;                  // committed / executed
  std::uint64_t gvt_rounds = 0;
  std::uint64_t peak_saved_bytes = 0;  // event records, saved blocks, effect logs
  std::uint64_t memory_limit = 0;      // the cap the optimistic engine kept to
  std::uint64_t throttled_rounds = 0;  // GVT rounds in which the memory cap held a partition back
  std::string state_saving;            // "every_event", "periodic(N)", "reverse" per group
  // --check-rollback: events executed twice (and reversed) and compared.
  std::uint64_t rollback_checks = 0;
  std::vector<PartitionFigures> partitions;
  // Checkpoints (RunOptions::checkpoint): complete ones this run wrote, and
  // attempts that failed (a full disk: the run went on, the previous one
  // stayed the latest); the workers' longest and total pause to take them
  // (the state is copied at a quiet point and written in the background);
  // bytes written and the writer's seconds; the last complete one's path.
  std::uint64_t checkpoints_written = 0;
  std::uint64_t checkpoints_failed = 0;
  double checkpoint_pause_max = 0;
  double checkpoint_pause_total = 0;
  std::uint64_t checkpoint_bytes = 0;
  double checkpoint_write_seconds = 0;
  std::string last_checkpoint;
  // A resumed run (RunOptions::resume): the checkpoint it started from and
  // its cut. events_processed then counts the whole run's events, those
  // before the cut too; the timings are this process's run's.
  std::string resumed_from;
  Time resumed_at = 0;
  // Times a supervisor restarted the run (the dsim program's --supervise).
  std::uint32_t restarts = 0;
};

struct RunResult {
  Time end_time = 0;
  std::uint64_t seed = 0;
  std::vector<StatResult> stats;
  std::vector<SeriesResult> series;
  RunFigures figures;

  // The value of `field` of statistic `stat` of `group`; dsim::Error if absent.
  DSIM_API double value(std::string_view group, std::string_view stat,
                        std::string_view field) const;
  DSIM_API const StatResult* find(std::string_view group, std::string_view stat) const;
};

}  // namespace dsim
