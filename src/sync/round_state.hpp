// What each process says in a round of the parallel engines (a conservative
// window's end, an optimistic GVT round), reduced over processes with
// Transport::reduce / quiesce_and_reduce.
#pragma once

#include <cstdint>

#include "core/event.hpp"

namespace dsim::detail {

struct RoundState {
  Event min = infinite_key();  // smallest pending key (conservative: .time only); GVT
  std::uint64_t events = 0;    // events processed (for progress)
  std::uint8_t failed = 0;     // some partition failed
  std::uint8_t stop = 0;       // some process asks to stop (QuietPoints::stop_wanted)
  std::uint8_t snapshot = 0;   // some process asks for a snapshot (RunControl)
  std::uint8_t publish = 0;    // some process's progress observer is due (QuietPoints)
  std::uint8_t series = 0;     // ... and wants the series (RunOptions::progress_series)
  Time horizon = -kTimeInfinity;  // latest event run with no record (optimistic)

  // Folds another process's state into `into` (the merge of the reduction).
  static void merge(RoundState& into, const RoundState& from) {
    if (key_less(from.min, into.min)) into.min = from.min;
    into.events += from.events;
    into.failed |= from.failed;
    into.stop |= from.stop;
    into.snapshot |= from.snapshot;
    into.publish |= from.publish;
    into.series |= from.series;
    if (from.horizon > into.horizon) into.horizon = from.horizon;
  }
};

}  // namespace dsim::detail
