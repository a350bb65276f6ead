// Taking checkpoints while a run goes on (RunOptions::checkpoint): a
// RunControl that decides at quiet points when to take a snapshot, and a
// background thread that writes each one as this process's shard of a
// checkpoint (src/checkpoint/checkpoint_writer.hpp).
//
// When: every `every` of simulated time (the first quiet point at or past
// each multiple), every `wall_every` seconds of process 0's wall clock, and
// whenever CheckpointRequests asks. Every process decides from the same
// quiet point, and a snapshot asked for by any process is taken by all
// (dsim/run_control.hpp), so no process decides alone: the wall clock is
// consulted on process 0 only. After checkpoint_and_stop(), the run stops
// at the first quiet point after that checkpoint was taken.
//
// Writing: the snapshot is moved to the writer thread (the workers wait
// only for the copy the engine makes); if the previous checkpoint is still
// being written, the new one waits for it, so checkpoints are written in
// order. Every writing process then tells every other its outcome (a
// collective on a communicator of the checkpointer's own, from the writer
// thread: every process writes the same sequence of checkpoints); process 0
// writes the index when every shard is there, then removes old checkpoints.
// A failure anywhere (a full disk) leaves that checkpoint without an index,
// so readers pass over it, and is one warning; the run goes on. Below
// MPI_THREAD_MULTIPLE, a blocking collective from a second thread would hold
// the process's one MPI lock, so there the write is done at the quiet point.
//
// Thread safety: at_quiet_point() and keep_snapshot() are called by one
// thread at a time (the engine's), finish() by the run's thread after the
// workers stopped; the writer thread shares only the job queue (under a
// mutex) and the figures, which are read after finish().
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "checkpoint/checkpoint_writer.hpp"
#include "checkpoint/model_identity.hpp"
#include "dsim/run_control.hpp"
#include "dsim/simulation.hpp"
#include "transport/cluster.hpp"

namespace dsim::detail {

class Checkpointer final : public RunControl {
 public:
  struct Setup {
    CheckpointOptions options;
    RunControl* inner = nullptr;  // the host's control, consulted first
    // Whether this process takes snapshots (it holds partitions), its shard
    // and the number of shards (processes that take them).
    bool writes = true;
    std::uint32_t shard = 0;
    std::uint32_t shards = 1;
    checkpoint::WriterLayout layout;
    Time end_time = 0;
    Time resumed_at = 0;  // the cut a resumed run started from (0: none)
    RunFigures figures;   // what the plan says, recorded with each checkpoint
    std::function<void(const std::string&)> warn;
  };

  // A collective over `cluster` (every process of the run makes its
  // Checkpointer together): duplicates the communicator and agrees on the
  // next checkpoint's number.
  Checkpointer(Setup setup, checkpoint::ModelIdentity model, const Cluster& cluster);
  ~Checkpointer() override;

  Decision at_quiet_point(const QuietPoint& point) override;
  Time next_wanted_time() const override;
  void keep_snapshot(Snapshot&& snapshot) override;
  // The last snapshot written, for its memory (one snapshot's worth is kept
  // between checkpoints: it spares the next pause fresh pages).
  Snapshot reusable_snapshot() override;
  // The shape of this process's snapshots, known once the run is built:
  // per part (a local group, in export order) its entities and block bytes,
  // and the pending events. The writer thread maps and touches a snapshot's
  // worth of memory in the background, so the first pause copies into
  // memory already there, like the later ones (on a VM a page fault costs
  // microseconds: ~0.25 s for phold_1m's 92 MB).
  struct Shape {
    std::vector<std::pair<std::size_t, std::uint32_t>> parts;  // (entities, block bytes)
    std::size_t pending = 0;
  };
  void prepare(Shape shape);

  // Waits for every checkpoint handed over to be written (or to fail), and
  // stops the writer thread. Every process calls it. Then the figures are
  // final: checkpoints_written/failed, bytes, write seconds, last path.
  void finish();
  void add_figures(RunFigures& figures) const;
  // Complete checkpoints written so far; any thread may ask (progress).
  std::uint64_t written() const { return written_.load(std::memory_order_relaxed); }

 private:
  struct Job {
    Snapshot snapshot;
    std::uint64_t number = 0;
  };
  void write(Job& job);
  void loop();

  Setup setup_;
  const checkpoint::ModelIdentity model_;
  std::unique_ptr<Cluster> writers_;
  FileSystem& files_;
  const bool background_;
  std::uint64_t next_number_ = 1;
  std::uint64_t next_multiple_ = 1;  // of `every`: the next checkpoint's simulated time
  bool asked_ = false;               // a snapshot was asked for and not taken yet
  std::uint64_t taken_ = 0;          // snapshots handed over
  std::uint64_t stop_after_ = 0;     // stop once this many were taken (0: no stop asked)
  std::chrono::steady_clock::time_point last_wall_;

  std::mutex mutex_;
  std::condition_variable cv_;
  std::optional<Job> job_;  // guarded by mutex_: the next one to write
  bool busy_ = false;       // guarded by mutex_: the writer holds a job
  bool closing_ = false;    // guarded by mutex_
  Snapshot spare_;          // guarded by mutex_: the last one written
  std::optional<Shape> shape_;  // guarded by mutex_: a spare to prepare
  std::thread writer_;

  // Written by the writer thread; read after finish() (written_ also while
  // the run goes on, by written()).
  std::atomic<std::uint64_t> written_{0};
  std::uint64_t failed_ = 0;
  std::uint64_t bytes_ = 0;
  double write_seconds_ = 0;
  std::string last_;
};

}  // namespace dsim::detail
