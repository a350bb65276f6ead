#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "stats/exact_sum.hpp"

namespace dsim::detail {
namespace {

TEST(ExactSum, OrderIndependentBits) {
  std::mt19937_64 gen(3);
  std::lognormal_distribution<double> ln(0.0, 4.0);
  std::vector<double> v;
  for (int i = 0; i < 20000; ++i) v.push_back((i % 3 ? 1 : -1) * ln(gen));
  ExactSum a;
  for (double x : v) a.add(x);
  for (int trial = 0; trial < 5; ++trial) {
    std::shuffle(v.begin(), v.end(), gen);
    // Split into uneven partial sums merged in another order.
    ExactSum p1, p2, p3;
    for (std::size_t i = 0; i < v.size(); ++i) (i % 7 == 0 ? p1 : i % 3 == 0 ? p2 : p3).add(v[i]);
    ExactSum b;
    b.merge(p3);
    b.merge(p1);
    b.merge(p2);
    EXPECT_TRUE(a == b);
    EXPECT_EQ(std::bit_cast<std::uint64_t>(a.value()), std::bit_cast<std::uint64_t>(b.value()));
  }
}

TEST(ExactSum, ExactWhereDoublesAreNot) {
  ExactSum s;
  s.add(1e20);
  s.add(1.0);
  s.add(-1e20);
  EXPECT_EQ(s.value(), 1.0);
  ExactSum t;
  for (int i = 0; i < 10; ++i) t.add(0.1);
  EXPECT_NEAR(t.value(), 1.0, 1e-15);
}

TEST(ExactSum, NegativeSmallAndSubnormal) {
  ExactSum s;
  s.add(-2.5);
  s.add(0.25);
  EXPECT_EQ(s.value(), -2.25);
  ExactSum tiny;
  tiny.add(1e-300);  // below 2^-128: truncated to zero, deterministically
  EXPECT_EQ(tiny.value(), 0.0);
  ExactSum z;
  EXPECT_EQ(z.value(), 0.0);
}

TEST(ExactSum, NonFiniteAndOverflowAreSticky) {
  ExactSum inf;
  inf.add(1.0);
  inf.add(INFINITY);
  EXPECT_TRUE(std::isinf(inf.value()));
  ExactSum nan;
  nan.add(NAN);
  EXPECT_TRUE(std::isnan(nan.value()));
  ExactSum big;
  big.add(1e39);  // > 2^127
  EXPECT_TRUE(std::isnan(big.value()));
}

TEST(ExactSum, SubtractUndoesMerge) {
  ExactSum a, b;
  a.add(3.75);
  b.add(1e-10);
  b.add(123456.789);
  ExactSum c = a;
  c.merge(b);
  c.subtract(b);
  EXPECT_TRUE(c == a);
}

}  // namespace
}  // namespace dsim::detail
