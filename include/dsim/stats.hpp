// Statistics an entity type records through its handler context.
//
// A type declares its statistics once, in its constructor, through Setup; each
// declaration returns a small handle used in handlers:
//   arrivals_ = setup.counter("arrivals", "jobs that arrived");
//   ...
//   ctx.add(arrivals_);            // counter += 1
//   ctx.record(wait_, w);          // tally: count, mean, variance, min, max
//   ctx.set(queue_length_, n);     // gauge: time-weighted level
//   ctx.record(size_hist_, x);     // histogram with fixed bins
//
// Values are recorded per entity and reduced per group with exact (integer
// fixed-point) sums, so results do not depend on how entities were spread over
// threads or processes (DESIGN.md invariant 1).
#pragma once

#include <cstdint>
#include <string>

namespace dsim {

enum class StatKind { kCounter, kTally, kGauge, kHistogram };

struct Counter {
  std::uint32_t index;
};
struct Tally {
  std::uint32_t index;
};
// A time-weighted level (queue length, busy servers, infected count): its
// time average, min, max and final value are reported, and it is sampled into
// the time series when the output asks for one.
struct Gauge {
  std::uint32_t index;
};
struct Histogram {
  std::uint32_t index;
};

struct StatDecl {
  std::string name;
  StatKind kind;
  std::string doc;
  // Histograms only: `bins` equal bins over [lo, hi), plus under/overflow.
  double lo = 0.0;
  double hi = 0.0;
  std::uint32_t bins = 0;
  // Index among the statistics of the same kind (the handle's index).
  std::uint32_t index = 0;
};

}  // namespace dsim
