// The façade: one Simulation owns everything a run needs (entities, queues,
// partitions, threads, statistics). No singletons: two Simulations can run in
// one process, one after the other or at the same time (DESIGN.md inv. 8).
//
//   dsim::Registry registry;
//   dsim::register_builtins(registry);
//   auto spec = dsim::load_model("models/queueing/mm1.toml");
//   dsim::validate(spec, registry);
//   dsim::Simulation sim(std::move(spec), registry);
//   dsim::RunResult result = sim.run();
//   double wait = result.value("queue", "wait", "mean");
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <stop_token>
#include <vector>

#include "dsim/engine.hpp"
#include "dsim/environment.hpp"
#include "dsim/export.hpp"
#include "dsim/file_system.hpp"
#include "dsim/model_spec.hpp"
#include "dsim/registry.hpp"
#include "dsim/results.hpp"
#include "dsim/run_control.hpp"

namespace dsim {

// What a run publishes while it goes on (RunOptions::on_progress). Under
// MPI every process sees the whole job's figures: at each publication the
// processes pool theirs in one small collective at a quiet point.
struct Progress {
  Time now = 0;       // simulated time reached (lower bound over partitions)
  Time end_time = 0;
  std::uint64_t events = 0;
  double wall_seconds = 0;
  std::uint32_t threads = 1;    // worker threads (partitions) per process
  std::uint32_t processes = 1;  // processes the figures below are pooled from
  // Share of the worker threads' time spent waiting for each other (0..1).
  double blocked_share = 0;
  // Optimistic runs: events undone so far, committed / executed, rollbacks
  // (primary + secondary), GVT rounds, and memory held by saved state now.
  std::uint64_t rolled_back = 0;
  double efficiency = 1;
  std::uint64_t rollbacks = 0;
  std::uint64_t gvt_rounds = 0;
  std::uint64_t saved_bytes = 0;
  // Events so far, per partition, every partition of the run in order
  // (under MPI, process r holds partitions r*threads .. r*threads+threads-1).
  std::vector<std::uint64_t> partition_events;
  // Seconds each partition's worker ran events, and waited for the others
  // (same order as partition_events).
  std::vector<double> partition_busy_seconds;
  std::vector<double> partition_blocked_seconds;
  // Resident memory now and at its peak (summed over the processes), and the
  // checkpoints written so far (complete ones: RunFigures::checkpoints_written).
  std::uint64_t rss_bytes = 0;
  std::uint64_t peak_rss_bytes = 0;
  std::uint64_t checkpoints_written = 0;
  // Only with RunOptions::progress_series: the committed series so far
  // (every sample wholly before `now`), as RunResult::series holds them at
  // the end (under MPI, summed over the processes).
  std::vector<SeriesResult> series;
};

// Requests for checkpoints that arrive from outside a run (the dsim program
// turns SIGUSR1 and SIGTERM into them). Thread safety: any thread may call
// the requests at any time; each is a lock-free store (so a signal handler
// may call them too).
class CheckpointRequests {
 public:
  // A checkpoint at the next quiet point.
  void checkpoint() noexcept { wanted_.store(true); }
  // A checkpoint at the next quiet point, then a stop once it is complete:
  // run() then throws RunStopped (RunFigures are lost; the checkpoint is
  // there to resume from).
  void checkpoint_and_stop() noexcept {
    stop_.store(true);
    wanted_.store(true);
  }
  bool stop_asked() const noexcept { return stop_.load(); }
  // For the run: takes a pending checkpoint request.
  bool take() noexcept { return wanted_.exchange(false); }

 private:
  std::atomic<bool> wanted_{false};
  std::atomic<bool> stop_{false};
};

// Checkpoints taken while a run goes on (format and guarantees:
// docs/checkpoint.md). Each is a consistent cut at a quiet point: the state
// is copied while the workers wait there, and a background thread writes it
// (compressed, checksummed, fsynced, renamed into place) while the run goes
// on; under MPI every process writes its shard at once, and the checkpoint
// counts once process 0 wrote the index naming them all. A checkpoint that
// cannot be written (a full disk) is a warning (RunOptions::on_warning): the
// run goes on and the previous checkpoint stays the latest.
struct CheckpointOptions {
  std::filesystem::path directory;  // empty: no checkpoints at all
  Time every = 0;          // simulated time between checkpoints; 0: none by simulated time
  double wall_every = 0;   // wall seconds between checkpoints (process 0's clock); 0: none
  std::uint32_t keep = 2;  // complete checkpoints kept (older ones are removed); 0: all
  // Checkpoints asked for from outside (signals); may be null.
  std::shared_ptr<CheckpointRequests> requests;
  FileSystem* files = nullptr;  // null: the local file system
  int compression_level = 1;    // zstd level; 0: uncompressed
};

struct RunOptions {
  // Called about every `progress_interval` seconds while the run goes on, on
  // a thread of its own with what the engine published at its latest quiet
  // point (never from a worker: a slow consumer slows no worker, it only
  // sees fewer updates). Under MPI, each process's own consumer (any may
  // have one, or none); every one sees the whole job's figures, pooled at a
  // quiet point when any process's consumer is due. Must not touch the
  // Simulation.
  std::function<void(const Progress&)> on_progress;
  double progress_interval = 0.5;
  // Fill Progress::series: at each publication (a few times per second at
  // most) the workers wait while the series cells are summed over the
  // partitions (and, under MPI, over the processes: wanted by any one, they
  // are pooled for all). Off by default.
  bool progress_series = false;
  // Asks the run to stop at its next quiet point (see run_control.hpp);
  // run() then throws RunStopped.
  std::stop_token stop;
  // Consulted at every quiet point; borrowed, must outlive run().
  RunControl* control = nullptr;
  // Rollback checker: runs sequentially, executing every event, undoing it and
  // executing it again, and compares the entity's state, sends and statistics
  // from both executions (and, for types with reverse handlers, the state the
  // reverse handler restores with the saved one). A mismatch is a dsim::Error
  // naming the entity, event type and time. Results are those of a normal run.
  bool check_rollback = false;
  CheckpointOptions checkpoint;
  // Start from a checkpoint instead of the init hooks: a ckpt-NNNNNN
  // directory, or a directory of them (then the latest one that is valid and
  // of this model; newer ones passed over are named in on_warning). The
  // model must be the one that wrote it, but for its end time, which may be
  // any later than the cut; the layout (engine, threads, processes,
  // partitioner) may be any. The results are those of the run that was not
  // interrupted, bit for bit. Throws dsim::Error (kInput) naming the file
  // and what is wrong when no checkpoint there can be used.
  std::filesystem::path resume;
  // One line for each thing worth saying that does not stop the run (a
  // checkpoint passed over or not written). Called on this process, from
  // the thread that met it; must be thread-safe. Null: nothing is said.
  std::function<void(const std::string&)> on_warning;
};

// How a run will be laid out: decided from the spec, the machine and the
// link graph before any event runs.
struct RunPlan {
  Engine engine = Engine::kSequential;  // never kAuto: the engine auto chose
  std::string sync;    // engine_name(engine), as the result files write it
  std::string reason;  // why that engine
  std::string partitioner;
  std::uint32_t threads = 1;  // partitions (worker threads) per process
  std::uint32_t ranks = 1;    // MPI processes; partition p runs on rank p / threads
  Time lookahead = kTimeInfinity;  // conservative window (smallest cross-partition lookahead)
  std::uint64_t edge_cut = 0;      // declared edges between partitions
  std::uint64_t rank_edge_cut = 0;  // declared edges between processes
  std::vector<std::uint64_t> partition_entities;  // entities of each partition
  std::vector<std::uint32_t> partition_of;        // partition of each entity, by id
  std::uint64_t memory_limit = 0;  // optimistic: cap on saved-state memory (bytes)
  // What works but may disappoint (more threads than cores), one line each.
  std::vector<std::string> warnings;
};

class Simulation {
 public:
  // Validates `spec` against `registry` if it has not been, builds entities,
  // links and partitions. Throws dsim::Error on bad input. `registry` must
  // outlive the Simulation. `environment`: the processes it spans (a
  // collective over them: every process makes its Simulation together) and
  // the machine's facts; by default one process on this machine.
  DSIM_API Simulation(ModelSpec spec, const Registry& registry,
                      const Environment& environment = {});
  DSIM_API ~Simulation();
  Simulation(const Simulation&) = delete;
  Simulation& operator=(const Simulation&) = delete;

  // Decides threads, sync engine and partitioning without running anything.
  // Throws dsim::Error for a layout that cannot run, naming the cause (e.g.
  // conservative sync with a zero-lookahead link between partitions).
  DSIM_API const RunPlan& plan();

  // Runs to the end time. Throws dsim::Error on a model error (the message
  // names the entity, event type and time), RunStopped when it was stopped
  // (RunOptions::stop, RunControl). Call once.
  DSIM_API RunResult run(const RunOptions& options = {});

  DSIM_API const ModelSpec& spec() const;

  // A new Simulation of this one's model with simulation.seed = `seed`, not
  // yet run, on the same processes (under MPI a collective, like the
  // constructor). It shares this one's neighbour graph and layout plan
  // (when plan() was called) if they do not depend on the seed: no random
  // topology, or simulation.topology_seed set. So replications of a large
  // network build it once. This one is not changed; any number of threads
  // may call this at once on a Simulation that no thread runs or plans.
  DSIM_API std::unique_ptr<Simulation> reseeded(std::uint64_t seed) const;

  // What the model's groups record: each group's statistics, in declaration
  // order (the fields each kind has: results.hpp). Known before any run.
  struct Statistic {
    std::string group;
    StatDecl decl;
  };
  DSIM_API std::vector<Statistic> statistics() const;

 private:
  struct Impl;
  explicit Simulation(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace dsim
