#include "dsim/setup.hpp"

#include <fmt/format.h>

#include <cmath>

namespace dsim {

std::uint32_t Setup::declare(StatDecl decl) {
  if (decl.name.empty()) throw Error(fmt::format("group '{}': a statistic needs a name", group_));
  std::uint32_t index = 0;
  for (const StatDecl& d : *stats_) {
    if (d.name == decl.name)
      throw Error(fmt::format("group '{}': statistic '{}' is declared twice", group_, decl.name));
    if (d.kind == decl.kind) ++index;
  }
  decl.index = index;
  stats_->push_back(std::move(decl));
  return index;
}

Counter Setup::counter(std::string name, std::string doc) {
  return {declare({std::move(name), StatKind::kCounter, std::move(doc)})};
}

Tally Setup::tally(std::string name, std::string doc) {
  return {declare({std::move(name), StatKind::kTally, std::move(doc)})};
}

Gauge Setup::gauge(std::string name, std::string doc) {
  return {declare({std::move(name), StatKind::kGauge, std::move(doc)})};
}

Histogram Setup::histogram(std::string name, double lo, double hi, std::uint32_t bins,
                           std::string doc) {
  if (!(lo < hi) || !std::isfinite(lo) || !std::isfinite(hi))
    throw Error(fmt::format("group '{}': histogram '{}': lo ({}) must be < hi ({})", group_, name,
                            lo, hi));
  if (bins < 1 || bins > 1'000'000)
    throw Error(fmt::format("group '{}': histogram '{}': bins must be in 1..1000000 (got {})",
                            group_, name, bins));
  StatDecl d{std::move(name), StatKind::kHistogram, std::move(doc)};
  d.lo = lo;
  d.hi = hi;
  d.bins = bins;
  return {declare(std::move(d))};
}

}  // namespace dsim
