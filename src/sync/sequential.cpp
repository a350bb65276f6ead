#include <chrono>

#include "sync/synchronizer.hpp"

namespace dsim::detail {
namespace {

class SequentialSync final : public Synchronizer {
 public:
  void run(SyncRun& run) override {
    Partition& p = *run.partitions.at(0);
    const Time end = run.model.end_time();
    const auto start = std::chrono::steady_clock::now();
    auto last = start;
    constexpr std::uint64_t kChunk = 1 << 16;
    for (;;) {
      const std::uint64_t n = p.run(end, run.options.on_progress ? kChunk : UINT64_MAX);
      if (n < kChunk || !run.options.on_progress) break;
      const auto now = std::chrono::steady_clock::now();
      if (std::chrono::duration<double>(now - last).count() >= run.options.progress_interval) {
        last = now;
        Progress progress;
        progress.now = p.next_time();
        progress.end_time = end;
        progress.events = p.events();
        progress.wall_seconds = std::chrono::duration<double>(now - start).count();
        progress.partition_events = {p.events()};
        run.options.on_progress(progress);
      }
    }
    p.busy_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
};

}  // namespace

std::unique_ptr<Synchronizer> make_sequential_sync() { return std::make_unique<SequentialSync>(); }

}  // namespace dsim::detail
