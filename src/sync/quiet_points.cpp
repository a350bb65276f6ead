#include "sync/quiet_points.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <span>
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
      if (copy.processes <= 1) add_process_figures(copy);  // else pooled at the quiet point
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
      // One process pools with itself.
      gather_([](std::span<const std::byte> mine) {
        return std::vector<std::vector<std::byte>>{{mine.begin(), mine.end()}};
      }),
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
  return publish_due();
}

bool QuietPoints::publish_due() const {
  return feed_ != nullptr && Clock::now() - last_publish_ >= publish_every_;
}

void QuietPoints::snapshot(const std::vector<std::unique_ptr<Partition>>& partitions,
                           Time safe_time, std::uint64_t events) {
  const auto start = Clock::now();
  Snapshot s = options_.control->reusable_snapshot();
  std::vector<SnapshotBlocks> spare = std::move(s.blocks);
  std::reverse(spare.begin(), spare.end());  // the export takes the first part from the back
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

std::uint32_t QuietPoints::series_ready(const Model& model, Time committed) {
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
  return ready;
}

namespace {

// `out` reset to the rows' names, unless it holds the `ready` samples built
// so far (then it is left alone and this returns false).
template <class Rows>
bool reset_series(const Model& model, const Rows& rows, std::uint32_t ready,
                  std::vector<SeriesResult>& out) {
  const bool ours =
      out.size() == rows.size() && (out.empty() || out.front().values.size() == ready);
  if (ours) return false;
  out.assign(rows.size(), SeriesResult{});
  for (std::size_t i = 0; i < rows.size(); ++i) {
    out[i].group = model.groups()[rows[i].group].name;
    out[i].stat = rows[i].stat->name;
  }
  return true;
}

// The pooled payload: values appended as raw bytes (every process runs the
// same binary), read back with bounds checks.
struct Bytes {
  std::vector<std::byte> data;
  template <class T>
  void put(const T& value) {
    static_assert(std::is_trivially_copyable_v<T>);
    const auto* b = reinterpret_cast<const std::byte*>(&value);
    data.insert(data.end(), b, b + sizeof value);
  }
};
struct Cursor {
  std::span<const std::byte> rest;
  template <class T>
  bool take(T& value) {
    if (rest.size() < sizeof value) return false;
    std::memcpy(&value, rest.data(), sizeof value);
    rest = rest.subspan(sizeof value);
    return true;
  }
};

}  // namespace

void QuietPoints::publish_pooled(Progress& progress,
                                 const std::vector<std::unique_ptr<Partition>>& partitions,
                                 Time committed, bool series) {
  // This process's share.
  Bytes mine;
  const auto parts = static_cast<std::uint32_t>(partitions.size());
  mine.put(parts);
  std::uint64_t executed = 0;
  for (std::uint32_t i = 0; i < parts; ++i) {
    mine.put(progress.partition_events[i]);
    mine.put(progress.partition_busy_seconds[i]);
    mine.put(progress.partition_blocked_seconds[i]);
    executed += partitions[i]->executed();
  }
  mine.put(progress.rolled_back);
  mine.put(progress.rollbacks);
  mine.put(progress.saved_bytes);
  mine.put(executed);
  Progress memory;  // one process: the feed's thread adds it, off the workers' pause
  if (pooled_) add_process_figures(memory);
  mine.put(memory.rss_bytes);
  mine.put(memory.peak_rss_bytes);
  // The series: each row's cells for the samples new since the last
  // publication, summed over this process's partitions.
  const Model& model = partitions.front()->model();
  const std::uint32_t samples = model.sample_count();
  std::uint32_t from = series_ready_, to = series_ready_;
  if (series && samples > 0) {
    const std::uint32_t ready = series_ready(model, committed);  // builds the rows
    if (reset_series(model, series_rows_, series_ready_, whole_.series)) {
      series_sums_.assign(series_rows_.size(), ExactSum{});
      series_ready_ = from = 0;
    }
    to = std::max(from, ready);
  }
  mine.put(from);
  mine.put(to);
  for (const auto& [group, row, stat] : series_rows_) {
    if (from == to) break;
    for (std::uint32_t k = from; k < to; ++k) {
      ExactSum cell;
      for (const auto& p : partitions) cell.merge(p->store().groups()[group].series[row * samples + k]);
      for (std::uint64_t w : cell.words()) mine.put(w);
    }
  }

  // Every process's, in rank order (= partition order).
  const std::vector<std::vector<std::byte>> all = gather_(mine.data);
  Progress& w = whole_;
  w.now = progress.now;
  w.end_time = progress.end_time;
  w.events = progress.events + events_before_;
  w.wall_seconds = progress.wall_seconds;
  w.threads = progress.threads;
  w.gvt_rounds = progress.gvt_rounds;
  w.processes = static_cast<std::uint32_t>(all.size());
  w.partition_events.clear();
  w.partition_busy_seconds.clear();
  w.partition_blocked_seconds.clear();
  w.rolled_back = w.rollbacks = w.saved_bytes = w.rss_bytes = w.peak_rss_bytes = 0;
  std::uint64_t executed_all = 0;
  double busy = 0, blocked = 0;
  std::vector<Cursor> cursors;
  bool sound = true;
  for (const auto& bytes : all) {
    Cursor c{bytes};
    std::uint32_t n = 0;
    sound = sound && c.take(n);
    for (std::uint32_t i = 0; sound && i < n; ++i) {
      std::uint64_t events = 0;
      double b = 0, k = 0;
      sound = c.take(events) && c.take(b) && c.take(k);
      w.partition_events.push_back(events);
      w.partition_busy_seconds.push_back(b);
      w.partition_blocked_seconds.push_back(k);
      busy += b;
      blocked += k;
    }
    std::uint64_t v[6] = {};
    for (auto& x : v) sound = sound && c.take(x);
    w.rolled_back += v[0];
    w.rollbacks += v[1];
    w.saved_bytes += v[2];
    executed_all += v[3];
    w.rss_bytes += v[4];
    w.peak_rss_bytes += v[5];
    std::uint32_t f = 0, t = 0;
    sound = sound && c.take(f) && c.take(t) && f == from && t == to;
    cursors.push_back(c);
  }
  // Every process runs this binary: a payload that does not parse is a bug;
  // the update is skipped (on every process alike: they all see the same).
  if (!sound) return;
  w.efficiency =
      executed_all > 0 ? 1.0 - static_cast<double>(w.rolled_back) / executed_all : 1.0;
  w.blocked_share = busy + blocked > 0 ? blocked / (busy + blocked) : 0;
  for (std::size_t i = 0; i < series_rows_.size() && from < to; ++i) {
    for (std::uint32_t k = from; k < to; ++k) {
      for (Cursor& c : cursors) {
        std::array<std::uint64_t, ExactSum::kWords> words{};
        for (auto& x : words)
          if (!c.take(x)) return;  // cannot happen: the sizes were checked above
        series_sums_[i].merge(ExactSum::from_words(words));
      }
      w.series[i].times.push_back(model.sample_interval() * (k + 1));
      w.series[i].values.push_back(series_sums_[i].value());
    }
  }
  series_ready_ = to;
  if (feed_ != nullptr) feed_->publish(w);
}

void QuietPoints::publish(Progress& progress,
                          const std::vector<std::unique_ptr<Partition>>& partitions,
                          Time committed, bool series) {
  last_publish_ = Clock::now();
  progress.wall_seconds = elapsed();
  // One process with nobody watching has nothing to pool or publish.
  if (partitions.empty() || (!pooled_ && feed_ == nullptr)) return;
  publish_pooled(progress, partitions, std::min(committed, end_time_), series);
}

}  // namespace dsim::detail
