#include "config/topology.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "dsim/types.hpp"

namespace dsim::config {
namespace {

using U64 = std::uint64_t;

TopologyOptions kind(const std::string& name) {
  TopologyOptions options;
  options.kind = name;
  return options;
}

std::vector<Edge> within(const TopologyOptions& options, U64 n, U64 seed = 1, double weight = 1.0) {
  return generate_topology(options, n, n, true, seed, weight);
}

std::vector<U64> out_degrees(const std::vector<Edge>& edges, U64 n) {
  std::vector<U64> degree(n, 0);
  for (const Edge& e : edges) ++degree.at(e.from);
  return degree;
}

bool by_endpoints(const Edge& a, const Edge& b) {
  return a.from != b.from ? a.from < b.from : a.to < b.to;
}

// Sorted by (from, to) without duplicates, indices in range, and no
// self-loops when both ends are in one group.
void expect_well_formed(const std::vector<Edge>& edges, U64 n_from, U64 n_to, bool same_group) {
  for (std::size_t i = 0; i < edges.size(); ++i) {
    const Edge& e = edges[i];
    ASSERT_LT(e.from, n_from) << "edge " << i;
    ASSERT_LT(e.to, n_to) << "edge " << i;
    if (same_group) {
      ASSERT_NE(e.from, e.to) << "self-loop at edge " << i;
    }
    if (i > 0) {
      ASSERT_TRUE(by_endpoints(edges[i - 1], e))
          << "not strictly sorted at edge " << i << ": " << edges[i - 1].from << "->"
          << edges[i - 1].to << " then " << e.from << "->" << e.to;
    }
  }
}

bool has_edge(const std::vector<Edge>& edges, U64 from, U64 to) {
  const Edge key{static_cast<std::uint32_t>(from), static_cast<std::uint32_t>(to), 0.0};
  return std::binary_search(edges.begin(), edges.end(), key, by_endpoints);
}

void expect_symmetric(const std::vector<Edge>& edges) {
  for (const Edge& e : edges) {
    ASSERT_TRUE(has_edge(edges, e.to, e.from)) << e.from << "->" << e.to << " has no reverse";
  }
}

bool connected(const std::vector<Edge>& edges, U64 n) {
  if (n == 0) return true;
  std::vector<U64> start(n + 1, 0);
  for (const Edge& e : edges) ++start[e.from + 1];
  for (U64 i = 0; i < n; ++i) start[i + 1] += start[i];
  std::vector<bool> seen(n, false);
  std::vector<U64> stack = {0};
  seen[0] = true;
  U64 reached = 1;
  while (!stack.empty()) {
    const U64 u = stack.back();
    stack.pop_back();
    for (U64 i = start[u]; i < start[u + 1]; ++i) {
      const U64 v = edges[i].to;
      if (!seen[v]) {
        seen[v] = true;
        ++reached;
        stack.push_back(v);
      }
    }
  }
  return reached == n;
}

// Runs `action` and expects a dsim::Error whose message contains `part`.
void expect_error(const std::function<void()>& action, const std::string& part) {
  try {
    action();
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find(part), std::string::npos)
        << "message: " << error.what() << "\nexpected to contain: " << part;
    return;
  }
  ADD_FAILURE() << "no dsim::Error; expected one containing: " << part;
}

void expect_check_error(const TopologyOptions& options, U64 n_from, U64 n_to, bool same_group,
                        const std::string& part) {
  expect_error([&] { check_topology(options, n_from, n_to, same_group); }, part);
  // generate_topology checks the same things before generating.
  expect_error([&] { generate_topology(options, n_from, n_to, same_group, 1, 1.0); }, part);
}

// ---------------------------------------------------------------------------
// Deterministic kinds.

TEST(Topology, OneToOneLinksEqualIndices) {
  const auto edges = generate_topology(kind("one_to_one"), 6, 6, false, 1, 0.5);
  ASSERT_EQ(edges.size(), 6u);
  for (std::uint32_t i = 0; i < 6; ++i) EXPECT_EQ(edges[i], (Edge{i, i, 0.5}));
}

TEST(Topology, OneToOneRejectsUnequalCountsAndOneGroup) {
  expect_check_error(kind("one_to_one"), 4, 5, false,
                     "topology 'one_to_one': from-group has 4 entities, to-group 5; they must be "
                     "equal");
  expect_check_error(kind("one_to_one"), 4, 4, true, "every entity to itself");
}

TEST(Topology, AllToAllBetweenGroupsHasEveryPair) {
  const auto edges = generate_topology(kind("all_to_all"), 3, 4, false, 1, 2.0);
  ASSERT_EQ(edges.size(), 12u);
  expect_well_formed(edges, 3, 4, false);
  for (const Edge& e : edges) EXPECT_EQ(e.weight, 2.0);
  EXPECT_TRUE(has_edge(edges, 2, 2));  // different groups: index 2 to index 2 is no self-loop
}

TEST(Topology, AllToAllWithinGroupSkipsSelfLoops) {
  const auto edges = within(kind("all_to_all"), 5);
  EXPECT_EQ(edges.size(), 20u);
  expect_well_formed(edges, 5, 5, true);
}

TEST(Topology, AnyHasNoEdges) {
  EXPECT_TRUE(generate_topology(kind("any"), 10, 20, false, 1, 1.0).empty());
  EXPECT_TRUE(within(kind("any"), 10).empty());
}

class RingTest : public ::testing::TestWithParam<int> {};

TEST_P(RingTest, EveryNodeHasItsKNearestOnEachSide) {
  const U64 n = 11;
  const U64 k = static_cast<U64>(GetParam());
  TopologyOptions options = kind("ring");
  options.k = GetParam();
  const auto edges = within(options, n);
  expect_well_formed(edges, n, n, true);
  EXPECT_EQ(edges.size(), 2 * k * n);
  for (U64 degree : out_degrees(edges, n)) EXPECT_EQ(degree, 2 * k);
  for (const Edge& e : edges) {
    const U64 forward = (e.to + n - e.from) % n;
    EXPECT_TRUE(forward <= k || n - forward <= k) << e.from << "->" << e.to;
  }
  expect_symmetric(edges);
}

INSTANTIATE_TEST_SUITE_P(K, RingTest, ::testing::Values(1, 2, 5));

TEST(Topology, RingDefaultsToOneNeighbourEachSide) {
  const auto edges = within(kind("ring"), 3);
  EXPECT_EQ(edges.size(), 6u);  // a triangle
  expect_well_formed(edges, 3, 3, true);
}

TEST(Topology, RingRejectsBadK) {
  TopologyOptions options = kind("ring");
  options.k = 0;
  expect_check_error(options, 10, 10, true,
                     "topology 'ring': k must be >= 1 and < count/2 (got 0, count 10)");
  options.k = 2;  // 2 each side of 4 nodes would list the opposite node twice
  expect_check_error(options, 4, 4, true, "k must be >= 1 and < count/2 (got 2, count 4)");
  options.k = -3;
  expect_check_error(options, 10, 10, true, "(got -3, count 10)");
  check_topology(kind("ring"), 3, 3, true);
  expect_check_error(kind("ring"), 2, 2, true, "(got 1, count 2)");
}

TEST(Topology, GridCornersEdgesAndInterior) {
  const U64 rows = 4, cols = 5, n = rows * cols;
  TopologyOptions options = kind("grid");
  options.rows = static_cast<std::int64_t>(rows);
  options.cols = static_cast<std::int64_t>(cols);
  const auto edges = within(options, n);
  expect_well_formed(edges, n, n, true);
  expect_symmetric(edges);
  EXPECT_EQ(edges.size(), 2 * (rows * (cols - 1) + cols * (rows - 1)));
  const auto degree = out_degrees(edges, n);
  for (U64 r = 0; r < rows; ++r) {
    for (U64 c = 0; c < cols; ++c) {
      const int borders = (r == 0 || r == rows - 1) + (c == 0 || c == cols - 1);
      EXPECT_EQ(degree[r * cols + c], static_cast<U64>(4 - borders)) << "at " << r << "," << c;
    }
  }
  for (const Edge& e : edges) {
    const long dr = static_cast<long>(e.from / cols) - static_cast<long>(e.to / cols);
    const long dc = static_cast<long>(e.from % cols) - static_cast<long>(e.to % cols);
    EXPECT_EQ(std::abs(dr) + std::abs(dc), 1) << e.from << "->" << e.to;
  }
}

TEST(Topology, GridDefaultsToSquareAndInfersTheOtherSide) {
  const auto square = within(kind("grid"), 16);
  EXPECT_EQ(square.size(), 2u * (4 * 3 + 4 * 3));
  TopologyOptions rows_only = kind("grid");
  rows_only.rows = 2;
  const auto two_rows = within(rows_only, 12);  // 2 x 6
  EXPECT_EQ(two_rows.size(), 2u * (2 * 5 + 6 * 1));
  EXPECT_TRUE(has_edge(two_rows, 0, 6));   // down
  EXPECT_FALSE(has_edge(two_rows, 5, 6));  // no wrap from row end to next row
}

TEST(Topology, GridRejectsBadShapes) {
  expect_check_error(kind("grid"), 12, 12, true,
                     "topology 'grid': the group's count (12) is not a perfect square; give rows "
                     "and cols");
  TopologyOptions options = kind("grid");
  options.rows = 3;
  options.cols = 4;
  expect_check_error(options, 16, 16, true,
                     "topology 'grid': rows*cols (12) must equal the group's count (16)");
  options.rows = 0;
  expect_check_error(options, 16, 16, true, "rows must be >= 1 (got 0)");
  TopologyOptions cols_only = kind("torus");
  cols_only.cols = 5;
  expect_check_error(cols_only, 16, 16, true, "cols (5) does not divide the group's count (16)");
}

TEST(Topology, TorusEveryNodeHasFourNeighbours) {
  TopologyOptions options = kind("torus");
  options.rows = 4;
  options.cols = 5;
  const auto edges = within(options, 20);
  expect_well_formed(edges, 20, 20, true);
  expect_symmetric(edges);
  EXPECT_EQ(edges.size(), 80u);
  for (U64 degree : out_degrees(edges, 20)) EXPECT_EQ(degree, 4u);
  EXPECT_TRUE(has_edge(edges, 4, 0));   // row 0 wraps
  EXPECT_TRUE(has_edge(edges, 15, 0));  // column 0 wraps
}

TEST(Topology, TorusWithASideOfTwoHasNoDuplicates) {
  TopologyOptions options = kind("torus");
  options.rows = 2;
  options.cols = 5;
  const auto edges = within(options, 10);
  expect_well_formed(edges, 10, 10, true);  // strictly sorted: no duplicate
  expect_symmetric(edges);
  for (U64 degree : out_degrees(edges, 10)) EXPECT_EQ(degree, 3u);
  options.rows = 5;
  options.cols = 2;
  const auto two_cols = within(options, 10);
  expect_well_formed(two_cols, 10, 10, true);
  for (U64 degree : out_degrees(two_cols, 10)) EXPECT_EQ(degree, 3u);
  options.rows = 1;
  options.cols = 10;  // a ring
  const auto ring = within(options, 10);
  expect_well_formed(ring, 10, 10, true);
  for (U64 degree : out_degrees(ring, 10)) EXPECT_EQ(degree, 2u);
}

TEST(Topology, CompleteHasAllOrderedPairs) {
  const U64 n = 7;
  const auto edges = within(kind("complete"), n);
  expect_well_formed(edges, n, n, true);
  EXPECT_EQ(edges.size(), n * (n - 1));
}

// ---------------------------------------------------------------------------
// Random kinds.

TEST(Topology, ErdosRenyiEdgeCountIsNearItsMean) {
  const U64 n = 2000;
  const double p = 0.01;
  TopologyOptions options = kind("erdos_renyi");
  options.p = p;
  const auto edges = within(options, n, 42);
  expect_well_formed(edges, n, n, true);
  expect_symmetric(edges);
  const double pairs = n * (n - 1) / 2.0;
  const double mean = p * pairs, sigma = std::sqrt(pairs * p * (1 - p));
  const double undirected = static_cast<double>(edges.size()) / 2;
  EXPECT_LT(std::abs(undirected - mean), 5 * sigma) << undirected << " vs " << mean;
  // No region of the pair space is favoured: the first half of the nodes holds
  // about a quarter of the pairs.
  double low = 0;
  for (const Edge& e : edges) low += (e.from < n / 2 && e.to < n / 2) ? 0.5 : 0.0;
  const double low_pairs = (n / 2.0) * (n / 2.0 - 1) / 2;
  EXPECT_LT(std::abs(low - p * low_pairs), 5 * std::sqrt(low_pairs * p * (1 - p)));
}

TEST(Topology, ErdosRenyiDenseEdgeCount) {
  const U64 n = 200;
  TopologyOptions options = kind("erdos_renyi");
  options.p = 0.5;
  const auto edges = within(options, n, 5);
  expect_well_formed(edges, n, n, true);
  const double pairs = n * (n - 1) / 2.0;
  EXPECT_LT(std::abs(edges.size() / 2.0 - pairs / 2), 5 * std::sqrt(pairs / 4));
  // Neighbouring pairs are independent: 0-1 and 0-2 both present about a quarter of the time.
  int both = 0;
  for (U64 seed = 0; seed < 400; ++seed) {
    const auto graph = within(options, 3, seed);
    both += has_edge(graph, 0, 1) && has_edge(graph, 0, 2);
  }
  EXPECT_LT(std::abs(both - 100), 5 * std::sqrt(400 * 0.25 * 0.75));
}

TEST(Topology, ErdosRenyiExtremes) {
  TopologyOptions options = kind("erdos_renyi");
  options.p = 0.0;
  EXPECT_TRUE(within(options, 100).empty());
  options.p = 1.0;
  EXPECT_EQ(within(options, 30), within(kind("complete"), 30));
  options.p = 0.5;
  EXPECT_TRUE(within(options, 1).empty());
}

TEST(Topology, ErdosRenyiSparseLargeIsFast) {
  TopologyOptions options = kind("erdos_renyi");
  options.p = 2e-5;
  const U64 n = 200000;
  const auto edges = within(options, n, 3);
  const double pairs = n * (n - 1) / 2.0;
  EXPECT_LT(std::abs(edges.size() / 2.0 - 2e-5 * pairs), 5 * std::sqrt(pairs * 2e-5));
  expect_well_formed(edges, n, n, true);
}

TEST(Topology, ErdosRenyiWithEdgesIsExact) {
  const U64 n = 100;
  TopologyOptions options = kind("erdos_renyi");
  for (std::int64_t m : {0, 1, 1234, 4949, 4950}) {
    options.edges = m;
    const auto edges = within(options, n, 9);
    expect_well_formed(edges, n, n, true);
    expect_symmetric(edges);
    EXPECT_EQ(edges.size(), 2 * static_cast<U64>(m)) << "edges = " << m;
  }
}

TEST(Topology, ErdosRenyiRejectsBadOptions) {
  TopologyOptions options = kind("erdos_renyi");
  expect_check_error(options, 10, 10, true, "give exactly one of 'p'");
  options.p = 0.5;
  options.edges = 3;
  expect_check_error(options, 10, 10, true, "give exactly one of 'p'");
  options.edges.reset();
  for (double p : {-0.1, 1.5, std::nan("")}) {
    options.p = p;
    expect_check_error(options, 10, 10, true, "p must be in [0, 1]");
  }
  options.p.reset();
  options.edges = 46;
  expect_check_error(options, 10, 10, true,
                     "edges must be >= 0 and <= count*(count-1)/2 = 45 (got 46)");
  options.edges = -1;
  expect_check_error(options, 10, 10, true, "(got -1)");
}

struct RegularCase {
  U64 n;
  std::int64_t degree;
};

class RandomRegularTest : public ::testing::TestWithParam<RegularCase> {};

TEST_P(RandomRegularTest, EveryNodeHasTheDegree) {
  const auto [n, d] = GetParam();
  TopologyOptions options = kind("random_regular");
  options.degree = d;
  for (U64 seed : {1, 2, 3}) {
    const auto edges = within(options, n, seed);
    expect_well_formed(edges, n, n, true);
    expect_symmetric(edges);
    for (U64 degree : out_degrees(edges, n)) ASSERT_EQ(degree, static_cast<U64>(d));
  }
}

INSTANTIATE_TEST_SUITE_P(Sizes, RandomRegularTest,
                         ::testing::Values(RegularCase{4, 1}, RegularCase{10, 3},
                                           RegularCase{1000, 10}, RegularCase{7, 4},
                                           RegularCase{50, 25}, RegularCase{51, 30},
                                           RegularCase{8, 7}, RegularCase{200, 99}));

TEST(Topology, RandomRegularSmallGraphsOverManySeeds) {
  // Small graphs often end with stubs that cannot be paired directly; the
  // repair must still give a simple regular graph.
  for (const auto& [n, d] :
       std::vector<std::pair<U64, std::int64_t>>{{6, 2}, {9, 4}, {10, 3}, {12, 5}, {20, 9}}) {
    TopologyOptions options = kind("random_regular");
    options.degree = d;
    for (U64 seed = 0; seed < 200; ++seed) {
      const auto edges = within(options, n, seed);
      expect_well_formed(edges, n, n, true);
      expect_symmetric(edges);
      for (U64 degree : out_degrees(edges, n)) ASSERT_EQ(degree, static_cast<U64>(d));
    }
  }
}

TEST(Topology, RandomRegularRejectsBadDegree) {
  TopologyOptions options = kind("random_regular");
  expect_check_error(options, 10, 10, true,
                     "topology 'random_regular': option 'degree' is required");
  options.degree = 3;
  expect_check_error(options, 7, 7, true, "count*degree must be even (got count 7, degree 3)");
  options.degree = 10;
  expect_check_error(options, 10, 10, true, "degree must be >= 1 and < count (got 10, count 10)");
  options.degree = 0;
  expect_check_error(options, 10, 10, true, "(got 0, count 10)");
}

TEST(Topology, SmallWorldWithoutRewiringIsTheRingLattice) {
  TopologyOptions options = kind("small_world");
  options.k = 6;
  options.p = 0.0;
  TopologyOptions lattice = kind("ring");
  lattice.k = 3;
  EXPECT_EQ(within(options, 40, 5), within(lattice, 40, 5));
}

TEST(Topology, SmallWorldRewiringKeepsTheEdgeCount) {
  const U64 n = 500;
  for (double p : {0.2, 1.0}) {
    TopologyOptions options = kind("small_world");
    options.k = 4;
    options.p = p;
    const auto edges = within(options, n, 11);
    expect_well_formed(edges, n, n, true);
    expect_symmetric(edges);
    EXPECT_EQ(edges.size(), n * 4);
    U64 sum = 0;
    for (U64 degree : out_degrees(edges, n)) sum += degree;
    EXPECT_EQ(sum, n * 4);
    // Each rewired edge almost surely leaves the lattice; count those left.
    U64 lattice_edges = 0;
    for (const Edge& e : edges) {
      const U64 forward = (e.to + n - e.from) % n;
      lattice_edges += (forward <= 2 || n - forward <= 2);
    }
    const double kept = static_cast<double>(lattice_edges) / 2, total = n * 2.0;
    EXPECT_LT(std::abs(kept - (1 - p) * total), 5 * std::sqrt(total * p * (1 - p)) + 10)
        << "p = " << p;
  }
}

TEST(Topology, SmallWorldDefaultsAndFullLattice) {
  const auto edges = within(kind("small_world"), 100, 1);  // k = 4, p = 0.1
  EXPECT_EQ(edges.size(), 400u);
  TopologyOptions options = kind("small_world");
  options.k = 4;
  options.p = 1.0;  // on 5 nodes the lattice is complete: nothing can move
  EXPECT_EQ(within(options, 5), within(kind("complete"), 5));
}

TEST(Topology, SmallWorldRejectsBadOptions) {
  TopologyOptions options = kind("small_world");
  options.k = 3;
  expect_check_error(options, 10, 10, true, "k must be even, >= 2 and < count (got 3, count 10)");
  options.k = 10;
  expect_check_error(options, 10, 10, true, "(got 10, count 10)");
  options.k = 0;
  expect_check_error(options, 10, 10, true, "(got 0, count 10)");
  expect_check_error(kind("small_world"), 4, 4, true, "(got 4, count 4)");  // default k = 4
  options.k = 2;
  options.p = 2.0;
  expect_check_error(options, 10, 10, true, "topology 'small_world': p must be in [0, 1] (got 2)");
}

TEST(Topology, ScaleFreeHasAHeavyTail) {
  const U64 n = 5000, m = 3;
  TopologyOptions options = kind("scale_free");
  options.m = static_cast<std::int64_t>(m);
  const auto edges = within(options, n, 8);
  expect_well_formed(edges, n, n, true);
  expect_symmetric(edges);
  const U64 initial = m * (m + 1) / 2;
  EXPECT_EQ(edges.size(), 2 * (m * (n - m - 1) + initial));
  const auto degree = out_degrees(edges, n);
  const double mean = static_cast<double>(edges.size()) / n;
  const U64 max_degree = *std::max_element(degree.begin(), degree.end());
  EXPECT_GT(static_cast<double>(max_degree), 10 * mean) << "max " << max_degree;
  EXPECT_GE(*std::min_element(degree.begin(), degree.end()), m);
  EXPECT_TRUE(connected(edges, n));
}

TEST(Topology, ScaleFreeWithOneEdgePerNodeIsATree) {
  TopologyOptions options = kind("scale_free");
  options.m = 1;
  const auto edges = within(options, 300, 2);
  EXPECT_EQ(edges.size(), 2u * 299);
  EXPECT_TRUE(connected(edges, 300));
  options.m = 4;  // only the initial complete graph
  EXPECT_EQ(within(options, 5), within(kind("complete"), 5));
}

TEST(Topology, ScaleFreeRejectsBadM) {
  expect_check_error(kind("scale_free"), 10, 10, true, "option 'm' is required");
  TopologyOptions options = kind("scale_free");
  options.m = 10;
  expect_check_error(options, 10, 10, true, "m must be >= 1 and < count (got 10, count 10)");
  options.m = 0;
  expect_check_error(options, 10, 10, true, "(got 0, count 10)");
}

TEST(Topology, RandomGivesEachSourceDistinctTargets) {
  TopologyOptions options = kind("random");
  options.degree = 7;
  const auto edges = generate_topology(options, 100, 30, false, 4, 3.0);
  expect_well_formed(edges, 100, 30, false);  // strictly sorted: targets distinct
  for (U64 degree : out_degrees(edges, 100)) EXPECT_EQ(degree, 7u);
  for (const Edge& e : edges) EXPECT_EQ(e.weight, 3.0);
  options.degree = 30;
  EXPECT_EQ(generate_topology(options, 4, 30, false, 4, 1.0),
            generate_topology(kind("all_to_all"), 4, 30, false, 1, 1.0));
}

TEST(Topology, RandomWithinAGroupAvoidsSelfLoops) {
  TopologyOptions options = kind("random");
  options.degree = 3;
  const auto edges = within(options, 50, 6);
  expect_well_formed(edges, 50, 50, true);
  for (U64 degree : out_degrees(edges, 50)) EXPECT_EQ(degree, 3u);
  options.degree = 49;
  EXPECT_EQ(within(options, 50), within(kind("complete"), 50));
}

TEST(Topology, RandomTargetsAreUniform) {
  TopologyOptions options = kind("random");
  options.degree = 3;
  const auto edges = generate_topology(options, 10000, 10, false, 12, 1.0);
  std::vector<double> hits(10, 0);
  for (const Edge& e : edges) ++hits[e.to];
  for (double h : hits) EXPECT_LT(std::abs(h - 3000), 5 * std::sqrt(10000 * 0.3 * 0.7));
  // Within a group the skipped self index must not bias the others.
  options.degree = 1;
  std::vector<double> chosen(5, 0);
  for (U64 seed = 0; seed < 2000; ++seed) {
    for (const Edge& e : within(options, 5, seed)) {
      if (e.from == 2) ++chosen[e.to];
    }
  }
  EXPECT_EQ(chosen[2], 0);
  for (U64 t : {0, 1, 3, 4})
    EXPECT_LT(std::abs(chosen[t] - 500), 5 * std::sqrt(2000 * 0.25 * 0.75));
}

TEST(Topology, RandomRejectsBadDegree) {
  TopologyOptions options = kind("random");
  expect_check_error(options, 10, 5, false, "option 'degree' is required");
  options.degree = 6;
  expect_check_error(options, 10, 5, false,
                     "degree must be >= 1 and <= the to-group's count 5 (got 6)");
  options.degree = 5;
  expect_check_error(options, 5, 5, true, "degree must be >= 1 and <= count-1 = 4 (got 5)");
  options.degree = 0;
  expect_check_error(options, 10, 5, false, "(got 0)");
}

// ---------------------------------------------------------------------------
// Properties shared by kinds.

TopologyOptions with(TopologyOptions options, const std::function<void(TopologyOptions&)>& set) {
  set(options);
  return options;
}

std::vector<TopologyOptions> undirected_kinds() {
  return {
      with(kind("ring"), [](auto& o) { o.k = 2; }),
      kind("grid"),
      kind("torus"),
      kind("complete"),
      with(kind("erdos_renyi"), [](auto& o) { o.p = 0.2; }),
      with(kind("erdos_renyi"), [](auto& o) { o.edges = 100; }),
      with(kind("random_regular"), [](auto& o) { o.degree = 5; }),
      with(kind("small_world"), [](auto& o) { o.p = 0.3; }),
      with(kind("scale_free"), [](auto& o) { o.m = 2; }),
  };
}

TEST(Topology, UndirectedKindsListBothDirections) {
  for (const TopologyOptions& options : undirected_kinds()) {
    SCOPED_TRACE(options.kind);
    const auto edges = within(options, 64, 3, 0.25);
    ASSERT_FALSE(edges.empty());
    expect_well_formed(edges, 64, 64, true);
    expect_symmetric(edges);
    for (const Edge& e : edges) ASSERT_EQ(e.weight, 0.25);
  }
}

TEST(Topology, RandomKindsAreDeterministicInTheSeed) {
  std::vector<TopologyOptions> kinds = undirected_kinds();
  kinds.erase(kinds.begin(), kinds.begin() + 4);  // the deterministic ones
  kinds.push_back(with(kind("random"), [](auto& o) { o.degree = 4; }));
  for (const TopologyOptions& options : kinds) {
    SCOPED_TRACE(options.kind);
    const auto first = within(options, 200, 77);
    EXPECT_EQ(first, within(options, 200, 77));
    EXPECT_NE(first, within(options, 200, 78));
  }
}

TEST(Topology, InapplicableOptionsAreRejected) {
  expect_check_error(with(kind("small_world"), [](auto& o) { o.file = "edges.csv"; }), 10, 10, true,
                     "topology 'small_world': option 'file' does not apply (it takes: k, p)");
  expect_check_error(with(kind("ring"), [](auto& o) { o.p = 0.5; }), 10, 10, true,
                     "topology 'ring': option 'p' does not apply (it takes: k)");
  expect_check_error(with(kind("all_to_all"), [](auto& o) { o.k = 1; }), 10, 10, true,
                     "option 'k' does not apply (it takes no options)");
  expect_check_error(with(kind("random"), [](auto& o) { o.symmetric = true; }), 10, 10, true,
                     "option 'symmetric' does not apply");
  expect_check_error(with(kind("grid"), [](auto& o) { o.degree = 4; }), 16, 16, true,
                     "option 'degree' does not apply (it takes: rows, cols)");
  expect_check_error(with(kind("scale_free"), [](auto& o) { o.edges = 4; }), 16, 16, true,
                     "option 'edges' does not apply");
  expect_check_error(with(kind("edge_list"), [](auto& o) { o.m = 4; }), 16, 16, true,
                     "option 'm' does not apply (it takes: file, symmetric)");
  expect_check_error(with(kind("any"), [](auto& o) { o.rows = 4; }), 16, 16, true,
                     "option 'rows' does not apply");
  expect_check_error(with(kind("erdos_renyi"), [](auto& o) { o.cols = 4; }), 16, 16, true,
                     "option 'cols' does not apply");
}

TEST(Topology, UnknownKindSuggestsTheNearest) {
  expect_check_error(kind("rnig"), 10, 10, true,
                     "unknown topology 'rnig' (did you mean 'ring'?) (known: one_to_one, "
                     "all_to_all, any, ring, grid, torus, complete, erdos_renyi, random_regular, "
                     "small_world, scale_free, random, edge_list)");
  expect_check_error(kind("smallworld"), 10, 10, true, "did you mean 'small_world'?");
  try {
    check_topology(kind("hypercube"), 8, 8, true);
    ADD_FAILURE() << "no error";
  } catch (const Error& error) {
    EXPECT_EQ(std::string(error.what()).find("did you mean"), std::string::npos) << error.what();
  }
}

TEST(Topology, WithinGroupKindsNeedOneGroup) {
  for (const TopologyOptions& options : undirected_kinds()) {
    expect_check_error(options, 64, 64, false,
                       "topology '" + options.kind +
                           "': works within one group; from and to must name the same group");
  }
}

TEST(Topology, HugeEdgeCountsAreRefusedBeforeGenerating) {
  expect_check_error(kind("all_to_all"), 100000, 100000, false,
                     "would create 1e+10 edges, more than the limit of 4294967296; use 'any'");
  expect_check_error(kind("complete"), 100000, 100000, true, "would create");
  TopologyOptions options = kind("erdos_renyi");
  options.p = 0.9;
  expect_check_error(options, 100000, 100000, true, "would create about");
  check_topology(kind("all_to_all"), 50000, 50000, false);  // 2.5e9: allowed
  expect_check_error(kind("any"), kMaxEntities + 1, 10, false, "more than the limit");
}

// ---------------------------------------------------------------------------
// edge_list

class EdgeListTest : public ::testing::Test {
 protected:
  void TearDown() override {
    for (const std::string& path : files_) std::remove(path.c_str());
  }

  // Writes `text` to a fresh file and returns its path.
  std::string write(const std::string& text) {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    const std::string path =
        (std::filesystem::path(::testing::TempDir()) /
         ("dsim_edges_" + std::string(test->name()) + "_" + std::to_string(::getpid()) + "_" +
          std::to_string(files_.size()) + ".csv"))
            .string();
    std::ofstream(path, std::ios::binary) << text;
    files_.push_back(path);
    return path;
  }

  static TopologyOptions list(const std::string& path, bool symmetric = false) {
    TopologyOptions options = kind("edge_list");
    options.file = path;
    options.symmetric = symmetric;
    return options;
  }

  std::vector<std::string> files_;
};

TEST_F(EdgeListTest, ParsesHeaderCommentsBlankLinesAndWeights) {
  const std::string path = write(
      "# a comment before the header\n"
      "\n"
      " from , to , weight \r\n"
      "2,0\n"
      "0, 3, 0.5   # trailing comment\n"
      "\t\n"
      "0,1,2e-1\n"
      "1,3");  // no final newline
  const auto edges = generate_topology(list(path), 3, 4, false, 1, 7.0);
  const std::vector<Edge> expected = {{0, 1, 0.2}, {0, 3, 0.5}, {1, 3, 7.0}, {2, 0, 7.0}};
  EXPECT_EQ(edges, expected);
}

TEST_F(EdgeListTest, WorksWithoutHeader) {
  const auto edges = generate_topology(list(write("1,0\n0,1\n")), 2, 2, false, 1, 1.0);
  EXPECT_EQ(edges, (std::vector<Edge>{{0, 1, 1.0}, {1, 0, 1.0}}));
}

TEST_F(EdgeListTest, SymmetricAddsReverseEdges) {
  const auto edges = within(list(write("from,to,weight\n0,1,2\n3,1\n"), true), 4, 1, 9.0);
  const std::vector<Edge> expected = {{0, 1, 2.0}, {1, 0, 2.0}, {1, 3, 9.0}, {3, 1, 9.0}};
  EXPECT_EQ(edges, expected);
  expect_symmetric(edges);
}

TEST_F(EdgeListTest, ReadsTheFixture) {
  const std::string path = std::string(DSIM_SOURCE_DIR) + "/tests/data/edges_small.csv";
  const auto edges = generate_topology(list(path), 3, 5, false, 1, 1.0);
  const std::vector<Edge> expected = {{0, 4, 1.0}, {1, 2, 0.25}, {2, 0, 1.0}, {2, 3, 4.0}};
  EXPECT_EQ(edges, expected);
}

TEST_F(EdgeListTest, RejectsBadLines) {
  const auto fails = [&](const std::string& text, U64 n_from, U64 n_to, bool same,
                         const std::string& message) {
    const std::string path = write(text);
    expect_error([&] { generate_topology(list(path), n_from, n_to, same, 1, 1.0); },
                 path + ":" + message);
  };
  fails("0,1\n0\n", 5, 5, false, "2: expected 'from,to' or 'from,to,weight', got '0'");
  fails("0,1,2,3\n", 5, 5, false, "1: expected 'from,to' or 'from,to,weight', got '0,1,2,3'");
  fails("a,b\n", 5, 5, false, "1: source index 'a' is not a non-negative integer");
  fails("0,1\nfrom,to\n", 5, 5, false, "2: source index 'from' is not");
  fails("1,-2\n", 5, 5, false, "1: target index '-2' is not a non-negative integer");
  fails("1, 2x\n", 5, 5, false, "1: target index '2x' is not");
  fails("1,\n", 5, 5, false, "1: target index '' is not");
  fails("0,1,heavy\n", 5, 5, false, "1: weight 'heavy' is not a number");
  fails("0,1,-1\n", 5, 5, false, "1: weight -1 must be finite and > 0");
  fails("0,1,0\n", 5, 5, false, "1: weight 0 must be finite and > 0");
  fails("0,1,inf\n", 5, 5, false, "1: weight inf must be finite");
  fails("3,3\n", 5, 5, true, "1: self-loop 3 -> 3");
}

TEST_F(EdgeListTest, RejectsIndicesOutOfRange) {
  std::string text = "from,to\n";
  for (int i = 0; i < 12; ++i) text += std::to_string(i) + "," + std::to_string(i + 1) + "\n";
  text += "0,99\n";
  const std::string path = write(text);
  expect_error([&] { generate_topology(list(path), 50, 50, false, 1, 1.0); },
               path + ":14: target index 99 out of range (the to-group has 50 entities)");
  const std::string source = write("50,0\n");
  expect_error([&] { generate_topology(list(source), 50, 60, false, 1, 1.0); },
               source + ":1: source index 50 out of range (the from-group has 50 entities)");
  const std::string huge = write("0,99999999999999999999999\n");
  expect_error([&] { generate_topology(list(huge), 50, 60, false, 1, 1.0); },
               ":1: target index 99999999999999999999999 out of range");
}

TEST_F(EdgeListTest, RejectsDuplicatesNamingTheLine) {
  const std::string path = write("0,1\n2,3\n# comment\n0,1,5\n");
  expect_error([&] { generate_topology(list(path), 4, 4, false, 1, 1.0); },
               path + ":4: duplicate edge 0 -> 1 (first on line 1)");
  const std::string reversed = write("0,1\n2,3\n1,0\n");
  EXPECT_EQ(generate_topology(list(reversed), 4, 4, true, 1, 1.0).size(), 3u);
  expect_error([&] { generate_topology(list(reversed, true), 4, 4, true, 1, 1.0); },
               reversed +
                   ":3: duplicate edge 1 -> 0 (symmetric = true already adds it as the "
                   "reverse of line 1)");
}

TEST_F(EdgeListTest, RejectsMissingFilesAndBadOptions) {
  const std::string missing =
      (std::filesystem::path(::testing::TempDir()) / "dsim_no_such_edges.csv").string();
  expect_check_error(
      list(missing), 4, 4, false,
      "topology 'edge_list': cannot read file '" + missing + "': No such file or directory");
  expect_check_error(list(::testing::TempDir()), 4, 4, false, "it is a directory");
  expect_check_error(kind("edge_list"), 4, 4, false,
                     "topology 'edge_list': option 'file' is required");
  expect_check_error(list(write("0,1\n"), true), 4, 5, false,
                     "symmetric = true needs from and to to be the same group");
  check_topology(list(write("0,1\n")), 4, 5, false);
}

// ---------------------------------------------------------------------------
// Large graphs: they must finish quickly (times printed, not asserted).

TEST(TopologyLarge, MillionNodeGeneratorsFinish) {
  const U64 n = 1000000;
  const auto timed = [&](const TopologyOptions& options) {
    const auto start = std::chrono::steady_clock::now();
    auto edges = within(options, n, 2024);
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    std::printf("[ timing   ] %s on %llu nodes: %zu edges in %.2f s\n", options.kind.c_str(),
                static_cast<unsigned long long>(n), edges.size(), took.count());
    return edges;
  };

  const auto small_world = timed(with(kind("small_world"), [](auto& o) { o.k = 4; }));
  EXPECT_EQ(small_world.size(), n * 4);

  const auto regular = timed(with(kind("random_regular"), [](auto& o) { o.degree = 10; }));
  ASSERT_EQ(regular.size(), n * 10);
  for (U64 degree : out_degrees(regular, n)) ASSERT_EQ(degree, 10u);
  for (std::size_t i = 1; i < regular.size(); ++i) {
    ASSERT_TRUE(by_endpoints(regular[i - 1], regular[i]));
    ASSERT_NE(regular[i].from, regular[i].to);
  }

  const auto scale_free = timed(with(kind("scale_free"), [](auto& o) { o.m = 3; }));
  EXPECT_EQ(scale_free.size(), 2 * (3 * (n - 4) + 6));
}

}  // namespace
}  // namespace dsim::config
