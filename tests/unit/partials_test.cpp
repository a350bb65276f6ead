// The statistics partials' codec (stats/partials.hpp): a round trip keeps
// every bit, and bytes of another version, shape or length are refused with
// a message naming what differs.
#include "stats/partials.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

namespace {

using dsim::detail::decode;
using dsim::detail::encode;
using dsim::detail::ExactSum;
using dsim::detail::Partials;

// Two stats (one a histogram with 4 bins) and 3 series cells.
Partials sample() {
  Partials p;
  p.stats.resize(2);
  p.stats[0].a.add(1.5);
  p.stats[0].a.add(1e-30);
  p.stats[0].b.add(-2.25);
  p.stats[0].min = -1;
  p.stats[0].max = 7;
  p.stats[0].count = 42;
  p.stats[1].bins = {1, 2, 3, 4};
  p.stats[1].a.add(std::numeric_limits<double>::infinity());
  p.series.resize(3);
  p.series[1].add(0.1);
  p.series[2].add(-1e300);
  return p;
}

// A Partials of sample()'s shape, all zero.
Partials shape() {
  Partials p;
  p.stats.resize(2);
  p.stats[1].bins.assign(4, 0);
  p.series.resize(3);
  return p;
}

std::string message_of(const std::vector<std::byte>& bytes, const Partials& like) {
  try {
    decode(bytes, like);
  } catch (const dsim::Error& e) {
    EXPECT_EQ(e.kind(), dsim::Error::Kind::kRuntime);
    return e.what();
  }
  ADD_FAILURE() << "decode accepted the bytes";
  return {};
}

TEST(Partials, RoundTripKeepsEveryBit) {
  const Partials p = sample();
  const Partials q = decode(encode(p), shape());
  ASSERT_EQ(q.stats.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(q.stats[i].a, p.stats[i].a);
    EXPECT_EQ(q.stats[i].b, p.stats[i].b);
    EXPECT_EQ(q.stats[i].min, p.stats[i].min);
    EXPECT_EQ(q.stats[i].max, p.stats[i].max);
    EXPECT_EQ(q.stats[i].count, p.stats[i].count);
    EXPECT_EQ(q.stats[i].bins, p.stats[i].bins);
  }
  EXPECT_EQ(q.series, p.series);
  EXPECT_TRUE(std::isinf(q.stats[1].a.value()));
  EXPECT_EQ(encode(q), encode(p));
}

TEST(Partials, MergeIsOrderFree) {
  Partials x = sample(), y = sample();
  y.stats[0].a.add(3.0);
  y.stats[0].min = -5;
  Partials xy = x, yx = y;
  dsim::detail::merge(xy, y);
  dsim::detail::merge(yx, x);
  EXPECT_EQ(encode(xy), encode(yx));
  EXPECT_EQ(xy.stats[0].count, 84u);
  EXPECT_EQ(xy.stats[0].min, -5);
  EXPECT_EQ(xy.stats[1].bins, (std::vector<std::uint64_t>{2, 4, 6, 8}));
}

TEST(Partials, AnotherVersionIsRefused) {
  auto bytes = encode(sample());
  const std::uint32_t version = dsim::detail::kPartialsVersion + 1;
  std::memcpy(bytes.data() + 4, &version, sizeof version);
  const std::string m = message_of(bytes, shape());
  EXPECT_NE(m.find("format version 1 here, 2 there"), std::string::npos) << m;

  bytes[0] = std::byte{0};
  EXPECT_NE(message_of(bytes, shape()).find("magic"), std::string::npos);
}

TEST(Partials, TruncatedOrLongBytesAreRefused) {
  const auto bytes = encode(sample());
  for (std::size_t n : {std::size_t{0}, std::size_t{7}, std::size_t{40}, bytes.size() - 1}) {
    const std::string m = message_of({bytes.begin(), bytes.begin() + n}, shape());
    EXPECT_TRUE(m.find("truncated") != std::string::npos || m.find("header") != std::string::npos)
        << n << ": " << m;
  }
  auto longer = bytes;
  longer.push_back(std::byte{1});
  EXPECT_NE(message_of(longer, shape()).find("trailing bytes"), std::string::npos);
}

TEST(Partials, AnotherShapeIsRefused) {
  const auto bytes = encode(sample());
  Partials fewer = shape();
  fewer.stats.pop_back();
  EXPECT_NE(message_of(bytes, fewer).find("statistics 1 here, 2 there"), std::string::npos);
  Partials more_series = shape();
  more_series.series.emplace_back();
  EXPECT_NE(message_of(bytes, more_series).find("series cells 4 here, 3 there"),
            std::string::npos);
  Partials other_bins = shape();
  other_bins.stats[1].bins.push_back(0);
  EXPECT_NE(message_of(bytes, other_bins).find("histogram bins 5 here, 4 there"),
            std::string::npos);
}

}  // namespace
