// What every engine does at its quiet points (dsim/run_control.hpp): honour
// a stop, consult the RunControl, publish progress to the observers' feed.
//
// ProgressFeed hands progress to RunOptions::on_progress on a thread of its
// own. The engine publishes into a double buffer at quiet points; the feed's
// thread takes the latest copy about every progress_interval seconds and
// calls the consumer outside any lock, so a consumer that takes seconds
// costs the workers nothing (it just sees fewer updates).
//
// Thread safety: ProgressFeed::publish() may be called by any one thread at
// a time and never blocks (when the feed's thread is copying, that update is
// skipped). QuietPoints is used by one thread at a time: a barrier's
// completion step, or the sequential loop.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <utility>
#include <vector>

#include "core/partition.hpp"
#include "dsim/run_control.hpp"
#include "dsim/simulation.hpp"
#include "stats/exact_sum.hpp"

namespace dsim::detail {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

class ProgressFeed {
 public:
  // Starts the thread that calls `consumer`. Before each call the feed's
  // thread adds the figures the engine does not publish: memory (resident
  // now and at peak; unless pooled from several processes at the quiet
  // point) and `checkpoints()` (may be empty: none).
  ProgressFeed(std::function<void(const Progress&)> consumer, double interval,
               std::function<std::uint64_t()> checkpoints = {});
  // Delivers the last published progress if the consumer has not seen it,
  // then joins the thread.
  ~ProgressFeed();
  ProgressFeed(const ProgressFeed&) = delete;
  ProgressFeed& operator=(const ProgressFeed&) = delete;

  void publish(const Progress& progress) noexcept;

 private:
  void loop(std::stop_token stop);

  std::function<void(const Progress&)> consumer_;
  std::function<std::uint64_t()> checkpoints_;
  const std::chrono::duration<double> interval_;
  std::mutex mutex_;
  std::condition_variable_any fresh_cv_;
  Progress latest_;     // guarded by mutex_
  bool fresh_ = false;  // guarded by mutex_: latest_ not yet delivered
  std::jthread thread_;
};

class QuietPoints {
 public:
  // `feed` may be null (nobody watches progress).
  QuietPoints(const RunOptions& options, Time end_time, ProgressFeed* feed);

  // Whether the engine must reach quiet points at all (a stop may come, a
  // control or an observer is there). The sequential engine runs without
  // pausing otherwise.
  bool wanted() const { return wanted_; }
  // Whether this process asks to stop: the stop token, or a RunControl's
  // decision at an earlier quiet point. Engines reduce it over processes and
  // stop at the quiet point where the reduction says so.
  bool stop_wanted() const;
  // A quiet point at `safe_time`, `events` committed over the run so far:
  // consults the RunControl. Returns publish_due() (one process: then call
  // publish()).
  bool reached(Time safe_time, std::uint64_t events);
  // Whether this process's observer is due for an update. Under MPI the
  // engines reduce it (RoundState::publish, ::series) and every process
  // calls publish() at the quiet point where any one is due.
  bool publish_due() const;
  // Whether this process's observer wants the series (progress_series).
  bool series_wanted() const { return feed_ != nullptr && options_.progress_series; }
  // Whether the RunControl asked for a snapshot at the quiet point just
  // reached; clears the request.
  bool take_snapshot_request() { return std::exchange(snapshot_wanted_, false); }
  // The simulated time the RunControl wants its next quiet point at
  // (RunControl::next_wanted_time); infinity when none.
  Time next_wanted_time() const {
    return options_.control != nullptr ? options_.control->next_wanted_time() : kTimeInfinity;
  }
  // Builds the snapshot of `partitions` (this process's, all quiet, every
  // pending event in their queues) at the last quiet point, and hands it to
  // the RunControl.
  void snapshot(const std::vector<std::unique_ptr<Partition>>& partitions, Time safe_time,
                std::uint64_t events);
  // Stamps the wall time and hands `progress` to the feed; with `series`,
  // first fills its series from `partitions` (this process's, quiet): the
  // samples wholly before `committed`, a time below which every event is
  // committed (the same on every process). With a gather (MPI), a
  // collective: every process pools its figures (per-partition ones, the
  // optimistic counts, memory, the new samples' series cells) and each
  // hands the whole job's to its feed, if it has one.
  void publish(Progress& progress, const std::vector<std::unique_ptr<Partition>>& partitions,
               Time committed, bool series);
  // This process holds only some of the run's partitions (MPI, every
  // process running the engine): publish() pools the figures with
  // `gather`, an all-gather of bytes over the processes (rank order).
  using Gather = std::function<std::vector<std::vector<std::byte>>(std::span<const std::byte>)>;
  void set_gather(Gather gather) {
    gather_ = std::move(gather);
    pooled_ = true;
  }
  std::uint64_t count() const { return count_; }
  // A resumed run: the events committed before its checkpoint's cut, added
  // to the engines' counts (which start at the cut) in what controls and
  // snapshots see.
  void set_events_before(std::uint64_t events) { events_before_ = events; }
  // How long the workers waited for snapshots (building each and handing it
  // to the RunControl): the longest, and in all.
  double pause_max() const { return pause_max_; }
  double pause_total() const { return pause_total_; }
  double elapsed() const { return seconds_since(start_); }

 private:
  const RunOptions& options_;
  const Time end_time_;
  ProgressFeed* feed_;
  const bool wanted_;
  Gather gather_;      // one process: itself
  bool pooled_ = false;  // set_gather() was called: several processes
  Progress whole_;     // what publish() hands the feed: the whole job's
  // Progress::series so far: per counter and gauge (group, series row), its
  // running sum and the samples already in the published series.
  struct SeriesRow {
    std::uint32_t group;
    std::size_t row;
    const StatDecl* stat;  // the model's
  };
  // The series rows and how many samples are before `committed`.
  std::uint32_t series_ready(const Model& model, Time committed);
  // publish()'s work: this process's figures and new series cells, pooled
  // over the processes (one process: with itself) into whole_, which goes
  // to the feed. Samples before `committed` never change again, so each
  // publication adds only the new ones to whole_.series.
  void publish_pooled(Progress& progress, const std::vector<std::unique_ptr<Partition>>& partitions,
                      Time committed, bool series);
  std::vector<SeriesRow> series_rows_;
  std::vector<ExactSum> series_sums_;
  std::uint32_t series_ready_ = 0;
  bool control_stop_ = false;
  bool snapshot_wanted_ = false;
  std::uint64_t count_ = 0;
  std::uint64_t events_before_ = 0;
  double pause_max_ = 0, pause_total_ = 0;
  Clock::time_point start_, last_publish_;
  std::chrono::duration<double> publish_every_;
};

}  // namespace dsim::detail
