#include "sync/synchronizer.hpp"
#include "sync/rollback_check.hpp"

#include <cmath>

namespace dsim::detail {
namespace {

// Events between quiet points (when anyone watches: a RunControl, a stop
// token or a progress consumer; otherwise the loop never pauses).
constexpr std::uint64_t kChunk = 1 << 16;

class SequentialSync : public Synchronizer {
 public:
  void run(SyncRun& run) override {
    Partition& p = *run.partitions.at(0);
    const Time end = run.model.end_time();
    QuietPoints& quiet = run.quiet;
    if (!quiet.wanted()) {
      p.run(end, UINT64_MAX);
      p.busy_seconds = quiet.elapsed();
      return;
    }
    Progress progress;
    progress.end_time = end;
    for (;;) {
      // A quiet point falls between instants: after a chunk, the events of
      // the instant it ended in run too.
      // It also ends before the first event at or past the time the
      // RunControl wants a quiet point at.
      const Time wanted = quiet.next_wanted_time();
      const Time bound = wanted > p.next_time() ? std::min(end, wanted) : end;
      if (p.run(bound, kChunk) == kChunk && p.next_time() == p.now())
        p.run(std::min(bound, std::nextafter(p.now(), kTimeInfinity)), UINT64_MAX);
      const Time safe = std::min(p.next_time(), end);
      if (!(safe < end)) break;
      if (quiet.stop_wanted()) {
        run.stopped = true;
        run.stopped_at = safe;
        break;
      }
      if (quiet.reached(safe, p.events())) {
        progress.now = safe;
        progress.events = p.events();
        progress.partition_events = {p.events()};
        progress.partition_busy_seconds = {quiet.elapsed()};
        progress.partition_blocked_seconds = {0.0};
        quiet.publish(progress, run.partitions, safe, quiet.series_wanted());
      }
      if (quiet.take_snapshot_request()) quiet.snapshot(run.partitions, safe, p.events());
    }
    p.busy_seconds = quiet.elapsed();
  }
};

class RollbackCheckSync final : public SequentialSync {
 public:
  std::unique_ptr<Partition> make_partition(const Model& model, const Layout& layout,
                                            std::uint32_t id) const override {
    return std::make_unique<CheckPartition>(model, layout, id);
  }
};

}  // namespace

std::unique_ptr<Synchronizer> make_sequential_sync() { return std::make_unique<SequentialSync>(); }
std::unique_ptr<Synchronizer> make_rollback_check_sync() {
  return std::make_unique<RollbackCheckSync>();
}

}  // namespace dsim::detail
