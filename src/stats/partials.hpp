// One process's share of a run's statistics, how shares combine, and how a
// share crosses between processes.
//
// Partials combine in any order with the same result (ExactSum, min, max and
// integer sums): that is what keeps reduced statistics bit-identical on every
// layout (DESIGN.md invariant 1).
//
// Wire format (version kPartialsVersion), all fields little-endian words as
// the machine stores them (every process of a run is the same machine kind):
//   header: u32 magic kPartialsMagic, u32 version, u64 stats, u64 series
//           cells, u64 histogram bins (all stats together), u64 ExactSum
//           words (ExactSum::kWords)
//   per stat: a, b (ExactSum words each), min, max (f64), count (u64),
//             its bins (u64 each)
//   per series cell: ExactSum words
// decode() checks the header against the Partials it is given the shape of,
// and the length, and throws a dsim::Error naming what differs.
//
// Thread safety: plain values; no shared state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "dsim/types.hpp"
#include "stats/exact_sum.hpp"

namespace dsim::detail {

inline constexpr std::uint32_t kPartialsMagic = 0x54505344;  // "DSPT"
inline constexpr std::uint32_t kPartialsVersion = 1;

// Per statistic: counter total (a); tally sum (a), sum of squares (b) and
// count; gauge area (a) and final level (b); histogram bins.
struct StatPartial {
  ExactSum a, b;
  double min = kTimeInfinity, max = -kTimeInfinity;
  std::uint64_t count = 0;
  std::vector<std::uint64_t> bins;
};

struct Partials {
  std::vector<StatPartial> stats;  // groups' stats in declaration order
  std::vector<ExactSum> series;    // per group, counter/gauge stat, sample
};

// Adds `from` into `into`. REQUIRES: both have the same shape (as decode()
// guarantees).
void merge(Partials& into, const Partials& from);

std::vector<std::byte> encode(const Partials& partials);

// The Partials `bytes` encode, shaped like `shape` (this process's own: the
// same model gives the same shape everywhere). Throws dsim::Error (runtime)
// naming what differs: magic, version, stat or series counts, bins, ExactSum
// words, or a length that is short or long.
Partials decode(std::span<const std::byte> bytes, const Partials& shape);

}  // namespace dsim::detail
