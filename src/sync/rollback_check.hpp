// The rollback checker (`dsim run --check-rollback`): a sequential run that
// executes every event, undoes it (reverse handler, or restoring the saved
// block), executes it again and compares the two executions' State, random
// draws, counters, sends and statistics. A difference names the handler that
// is not a pure function of its inputs (DESIGN.md invariant 3), which Time
// Warp needs. Its partition runs on the sequential engine
// (make_rollback_check_sync in synchronizer.hpp).
//
// Thread safety: as Partition (one thread).
#pragma once

#include <vector>

#include "core/partition.hpp"

namespace dsim::detail {

class CheckPartition final : public Partition {
 public:
  using Partition::Partition;

  std::uint64_t run(Time bound, std::uint64_t max_events, Time safe_until = 0) override;
  std::uint64_t checks() const override { return checks_; }
  void send(Context& ctx, EntityId target, std::uint32_t type, const std::byte* payload,
            Time delay) override;
  void effect(const Effect& e) override;

 private:
  // What one execution did.
  struct Execution {
    std::vector<Event> sends;
    std::vector<Effect> effects;
  };
  void check_event(const Event& ev);

  Execution* capture_ = nullptr;  // null outside check_event (init, finish hooks)
  std::uint64_t checks_ = 0;
};

}  // namespace dsim::detail
