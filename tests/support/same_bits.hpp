// expect_same_bits: two runs' results agree bit for bit (every statistic
// field and every series value as the same IEEE bits, and the same number of
// events). The determinism guarantee (DESIGN.md invariant 1) in one check.
#pragma once

#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <string>

#include "dsim/results.hpp"

namespace dsim::testing {

inline void expect_same_bits(const RunResult& a, const RunResult& b, const std::string& what = "") {
  ASSERT_EQ(a.stats.size(), b.stats.size()) << what;
  for (std::size_t i = 0; i < a.stats.size(); ++i) {
    ASSERT_EQ(a.stats[i].fields.size(), b.stats[i].fields.size()) << what;
    for (std::size_t f = 0; f < a.stats[i].fields.size(); ++f)
      EXPECT_EQ(std::bit_cast<std::uint64_t>(a.stats[i].fields[f].second),
                std::bit_cast<std::uint64_t>(b.stats[i].fields[f].second))
          << what << ": " << a.stats[i].group << "." << a.stats[i].stat << "."
          << a.stats[i].fields[f].first << " " << a.stats[i].fields[f].second << " vs "
          << b.stats[i].fields[f].second;
  }
  ASSERT_EQ(a.series.size(), b.series.size()) << what;
  for (std::size_t i = 0; i < a.series.size(); ++i) {
    ASSERT_EQ(a.series[i].values.size(), b.series[i].values.size()) << what;
    for (std::size_t k = 0; k < a.series[i].values.size(); ++k)
      EXPECT_EQ(std::bit_cast<std::uint64_t>(a.series[i].values[k]),
                std::bit_cast<std::uint64_t>(b.series[i].values[k]))
          << what << ": series " << a.series[i].group << "." << a.series[i].stat << "[" << k
          << "]";
  }
  EXPECT_EQ(a.figures.events_processed, b.figures.events_processed) << what;
}

}  // namespace dsim::testing
