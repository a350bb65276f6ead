#include "sync/quiet_points.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <type_traits>

#include <sys/resource.h>
#include <unistd.h>

#include "stats/partials.hpp"

namespace dsim::detail {
namespace {

// Resident memory now (/proc/self/statm) and at its peak (getrusage).
void add_process_figures(Progress& p) {
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) == 0)
    p.peak_rss_bytes = static_cast<std::uint64_t>(usage.ru_maxrss) * 1024;
  if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
    unsigned long long size = 0, resident = 0;
    if (std::fscanf(f, "%llu %llu", &size, &resident) == 2)
      p.rss_bytes = resident * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
    std::fclose(f);
  }
  p.peak_rss_bytes = std::max(p.peak_rss_bytes, p.rss_bytes);  // ru_maxrss may lag
}

}  // namespace

ProgressFeed::ProgressFeed(std::function<void(const Progress&)> consumer, double interval,
                           std::function<std::uint64_t()> checkpoints)
    : consumer_(std::move(consumer)),
      checkpoints_(std::move(checkpoints)),
      interval_(std::max(0.0, interval)),
      thread_([this](std::stop_token stop) { loop(stop); }) {}

ProgressFeed::~ProgressFeed() {
  thread_.request_stop();  // wakes the wait below
  thread_.join();
}

void ProgressFeed::publish(const Progress& progress) noexcept {
  std::unique_lock lock(mutex_, std::try_to_lock);
  if (!lock.owns_lock()) return;  // the feed's thread is copying: skip this one
  try {
    latest_ = progress;  // may allocate (per-partition figures) the first time
  } catch (...) {
    return;
  }
  fresh_ = true;
  lock.unlock();
  fresh_cv_.notify_one();
}

void ProgressFeed::loop(std::stop_token stop) {
  const auto every = std::chrono::duration_cast<Clock::duration>(interval_);
  auto next = Clock::now();
  std::unique_lock lock(mutex_);
  for (;;) {
    fresh_cv_.wait(lock, stop, [&] { return fresh_; });
    // At most one delivery per interval: what is published meanwhile
    // replaces what waits. (The mutex is free while this waits.)
    if (!stop.stop_requested() && Clock::now() < next)
      fresh_cv_.wait_until(lock, stop, next, [] { return false; });
    if (!fresh_) {
      if (stop.stop_requested()) return;
      continue;
    }
    Progress copy = latest_;
    fresh_ = false;
    lock.unlock();
    try {
      add_process_figures(copy);
      if (checkpoints_) copy.checkpoints_written = checkpoints_();
      consumer_(copy);
    } catch (...) {
      return;  // a consumer that throws gets no more updates; the run goes on
    }
    next = Clock::now() + every;
    lock.lock();
    if (stop.stop_requested() && !fresh_) return;
  }
}

QuietPoints::QuietPoints(const RunOptions& options, Time end_time, ProgressFeed* feed)
    : options_(options),
      end_time_(end_time),
      feed_(feed),
      wanted_(feed != nullptr || options.control != nullptr || options.stop.stop_possible()),
      start_(Clock::now()),
      last_publish_(start_),
      // Publish a few times per delivery, so the consumer sees fresh figures.
      publish_every_(std::max(0.0, options.progress_interval) / 4) {}

bool QuietPoints::stop_wanted() const {
  return control_stop_ || options_.stop.stop_requested();
}

bool QuietPoints::reached(Time safe_time, std::uint64_t events) {
  ++count_;
  if (options_.control != nullptr) {
    QuietPoint point;
    point.safe_time = std::min(safe_time, end_time_);
    point.end_time = end_time_;
    point.events = events + events_before_;
    point.index = count_;
    point.wall_seconds = elapsed();
    switch (options_.control->at_quiet_point(point)) {
      case RunControl::Decision::kContinue: break;
      case RunControl::Decision::kSnapshot: snapshot_wanted_ = true; break;
      case RunControl::Decision::kStop: control_stop_ = true; break;
    }
  }
  return feed_ != nullptr && Clock::now() - last_publish_ >= publish_every_;
}

void QuietPoints::snapshot(const std::vector<std::unique_ptr<Partition>>& partitions,
                           Time safe_time, std::uint64_t events) {
  const auto start = Clock::now();
  Snapshot s = options_.control->reusable_snapshot();
  std::vector<SnapshotBlocks> spare = std::move(s.blocks);
  s.blocks.clear();
  s.pending.clear();
  s.statistics.clear();
  s.series.clear();
  s.safe_time = std::min(safe_time, end_time_);
  s.index = count_;
  s.events = events + events_before_;
  std::size_t pending = 0;
  for (const auto& p : partitions) pending += p->store().queue().size();
  s.pending.reserve(pending);
  for (const auto& p : partitions) p->store().export_into(s, &spare);
  if (!partitions.empty()) {
    Partials statistics = partitions.front()->store().statistics(false);
    for (std::size_t i = 1; i < partitions.size(); ++i)
      merge(statistics, partitions[i]->store().statistics(false));
    s.statistics = encode(statistics);
    // The series, readable: running sums of each interval's changes, for the
    // samples wholly before the safe time.
    const Model& model = partitions.front()->model();
    const std::uint32_t samples = model.sample_count();
    std::size_t cell = 0;
    for (const GroupRuntime& g : model.groups()) {
      if (samples == 0) break;
      for (const StatDecl& d : g.stats) {
        if (d.kind != StatKind::kCounter && d.kind != StatKind::kGauge) continue;
        SeriesResult& r = s.series.emplace_back();
        r.group = g.name;
        r.stat = d.name;
        ExactSum sum;
        for (std::uint32_t k = 0; k < samples; ++k, ++cell) {
          sum.merge(statistics.series[cell]);
          const Time at = model.sample_interval() * (k + 1);
          if (!(at < s.safe_time)) continue;
          r.times.push_back(at);
          r.values.push_back(sum.value());
        }
      }
    }
  }
  options_.control->keep_snapshot(std::move(s));
  const double pause = seconds_since(start);
  pause_total_ += pause;
  pause_max_ = std::max(pause_max_, pause);
}

void QuietPoints::add_series(const std::vector<std::unique_ptr<Partition>>& partitions,
                             Time committed, std::vector<SeriesResult>& out) {
  const Model& model = partitions.front()->model();
  const std::uint32_t samples = model.sample_count();
  std::uint32_t ready = 0;  // samples wholly before `committed`
  while (ready < samples && model.sample_interval() * (ready + 1) < committed) ++ready;
  // The rows (group, series row) of every counter and gauge, in declaration order.
  if (series_rows_.empty() && samples > 0) {
    const auto& groups = model.groups();
    for (std::uint32_t g = 0; g < groups.size(); ++g)
      for (const StatDecl& d : groups[g].stats)
        if (d.kind == StatKind::kCounter || d.kind == StatKind::kGauge)
          series_rows_.push_back(
              {g, d.kind == StatKind::kCounter ? d.index : groups[g].counters + d.index, &d});
  }
  // Samples before `committed` never change again: each publication adds
  // only the new ones to what `out` holds (when it holds what was built).
  const bool ours = out.size() == series_rows_.size() &&
                    (out.empty() || out.front().values.size() == series_ready_);
  if (!ours || ready < series_ready_) {
    out.assign(series_rows_.size(), SeriesResult{});
    for (std::size_t i = 0; i < series_rows_.size(); ++i) {
      out[i].group = model.groups()[series_rows_[i].group].name;
      out[i].stat = series_rows_[i].stat->name;
    }
    series_sums_.assign(series_rows_.size(), ExactSum{});
    series_ready_ = 0;
  }
  for (std::size_t i = 0; i < series_rows_.size(); ++i) {
    const auto [group, row, stat] = series_rows_[i];
    ExactSum& sum = series_sums_[i];
    for (std::uint32_t k = series_ready_; k < ready; ++k) {
      for (const auto& p : partitions)
        sum.merge(p->store().groups()[group].series[row * samples + k]);
      out[i].times.push_back(model.sample_interval() * (k + 1));
      out[i].values.push_back(sum.value());
    }
  }
  series_ready_ = std::max(series_ready_, ready);
}

void QuietPoints::publish(Progress& progress,
                          const std::vector<std::unique_ptr<Partition>>& partitions,
                          Time committed) {
  last_publish_ = Clock::now();
  progress.wall_seconds = elapsed();
  if (feed_ == nullptr) return;
  if (options_.progress_series && !partial_ && !partitions.empty())
    add_series(partitions, std::min(committed, end_time_), progress.series);
  if (events_before_ == 0) {
    feed_->publish(progress);
    return;
  }
  Progress whole = progress;  // a resumed run: the events before the cut too
  whole.events += events_before_;
  feed_->publish(whole);
}

}  // namespace dsim::detail
