#include "sync/synchronizer.hpp"

namespace dsim::detail {
namespace {

class SequentialSync final : public Synchronizer {
 public:
  void run(SyncRun& run) override {
    Partition& p = *run.partitions.at(0);
    const Time end = run.model.end_time();
    ProgressTicker ticker(run.options);
    constexpr std::uint64_t kChunk = 1 << 16;
    for (;;) {
      const std::uint64_t n = p.run(end, run.options.on_progress ? kChunk : UINT64_MAX);
      if (n < kChunk || !run.options.on_progress) break;
      if (ticker.due()) {
        Progress progress;
        progress.now = p.next_time();
        progress.end_time = end;
        progress.events = p.events();
        progress.partition_events = {p.events()};
        ticker.report(progress);
      }
    }
    p.busy_seconds = ticker.elapsed();
  }
};

}  // namespace

std::unique_ptr<Synchronizer> make_sequential_sync() { return std::make_unique<SequentialSync>(); }

}  // namespace dsim::detail
