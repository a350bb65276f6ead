// Partitioners: the single-level assignment, the two-level one for MPI runs
// (ranks first, then each rank's threads), and the edge cuts that measure
// them. Models are built from specs with a trivial entity type; only their
// link graphs matter here.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "core/model.hpp"
#include "dsim/dsim.hpp"
#include "run/planner.hpp"
#include "partition/partitioner.hpp"

namespace {

using dsim::detail::assign_two_level;
using dsim::detail::edge_cut;
using dsim::detail::Model;
using dsim::detail::Partitioner;
using dsim::detail::rank_edge_cut;

struct Node {
  struct State {};
  struct Ping {
    static constexpr std::string_view dsim_name = "node.ping";
  };
  using Events = dsim::Events<Ping>;
  explicit Node(dsim::Setup&) {}
  void on(State&, const Ping&, dsim::Context&) const {}
};

const char* const kPartitioners[] = {"block", "round_robin", "graph"};

// A model of `groups` (name, count) and links within or between them. The
// Model borrows its spec, so both live here.
class Built {
 public:
  explicit Built(dsim::ModelSpec spec) : spec_(std::make_unique<dsim::ModelSpec>(std::move(spec))) {
    registry_.add<Node>("node", "does nothing");
    dsim::validate(*spec_, registry_);
    model_ = std::make_unique<Model>(*spec_, registry_);
  }
  Model& model() { return *model_; }
  std::uint64_t size() const { return model_->entity_count(); }

 private:
  dsim::Registry registry_;
  std::unique_ptr<dsim::ModelSpec> spec_;
  std::unique_ptr<Model> model_;
};

dsim::LinkSpec link(const std::string& from, const std::string& to, const std::string& kind) {
  dsim::LinkSpec l;
  l.from = from;
  l.to = to;
  l.topology.kind = kind;
  l.lookahead = 1.0;
  return l;
}

dsim::ModelSpec spec_of(std::vector<std::pair<std::string, std::uint64_t>> groups,
                        std::vector<dsim::LinkSpec> links) {
  dsim::ModelSpec spec;
  spec.simulation.end_time = 10;
  for (auto& [name, count] : groups) spec.groups.push_back({name, "node", count, {}, {}, {}});
  spec.links = std::move(links);
  return spec;
}

dsim::ModelSpec torus(std::int64_t rows, std::int64_t cols, const std::string& kind = "torus") {
  dsim::LinkSpec l = link("n", "n", kind);
  l.topology.rows = rows;
  l.topology.cols = cols;
  return spec_of({{"n", static_cast<std::uint64_t>(rows * cols)}}, {l});
}

dsim::ModelSpec ring(std::uint64_t n) { return spec_of({{"n", n}}, {link("n", "n", "ring")}); }

dsim::ModelSpec small_world(std::uint64_t n) {
  dsim::LinkSpec l = link("n", "n", "small_world");
  l.topology.k = 4;
  l.topology.p = 0.1;
  return spec_of({{"n", n}}, {l});
}

// Two groups: hosts in a grid, each with a private disk, and a random link
// from the hosts to a few servers.
dsim::ModelSpec mixed() {
  dsim::LinkSpec hosts = link("host", "host", "grid");
  hosts.topology.rows = 10;
  hosts.topology.cols = 12;
  dsim::LinkSpec servers = link("host", "server", "random");
  servers.topology.degree = 2;
  return spec_of(
      {{"host", 120}, {"disk", 120}, {"server", 7}},
      {hosts, link("host", "disk", "one_to_one"), link("disk", "host", "one_to_one"), servers});
}

dsim::ModelSpec unlinked(std::uint64_t n) { return spec_of({{"n", n}}, {link("n", "n", "any")}); }

std::vector<std::uint64_t> counts(const std::vector<std::uint32_t>& part_of, std::uint32_t parts) {
  std::vector<std::uint64_t> c(parts, 0);
  for (auto p : part_of) {
    EXPECT_LT(p, parts);
    if (p < parts) ++c[p];
  }
  return c;
}

// Entities between processes when `part_of` is the layout (partition p on
// rank p / threads).
std::uint64_t rank_cut_of(const Model& model, const std::vector<std::uint32_t>& part_of,
                          std::uint32_t /*parts*/, std::uint32_t threads) {
  return rank_edge_cut(model, part_of, threads);
}

TEST(PartitionTwoLevel, OneRankEqualsSingleLevel) {
  Built b(torus(16, 16));
  for (const char* name : kPartitioners) {
    const auto partitioner = dsim::detail::make_partitioner(name);
    for (std::uint32_t threads : {1u, 2u, 3u, 5u, 8u})
      EXPECT_EQ(assign_two_level(*partitioner, b.model(), 1, threads),
                partitioner->assign(b.model(), threads))
          << name << " threads " << threads;
  }
}

TEST(PartitionTwoLevel, OneThreadEqualsSingleLevelOverRanks) {
  Built b(small_world(300));
  for (const char* name : kPartitioners) {
    const auto partitioner = dsim::detail::make_partitioner(name);
    for (std::uint32_t ranks : {2u, 3u, 4u, 7u})
      EXPECT_EQ(assign_two_level(*partitioner, b.model(), ranks, 1),
                partitioner->assign(b.model(), ranks))
          << name << " ranks " << ranks;
  }
}

TEST(PartitionTwoLevel, SubsetOfAllEntitiesEqualsAssign) {
  for (auto spec : {torus(12, 9), mixed(), unlinked(50)}) {
    Built b(spec);
    std::vector<dsim::EntityId> all(b.size());
    std::iota(all.begin(), all.end(), 0u);
    for (const char* name : kPartitioners) {
      const auto partitioner = dsim::detail::make_partitioner(name);
      for (std::uint32_t parts : {1u, 2u, 5u})
        EXPECT_EQ(partitioner->assign_subset(b.model(), all, parts),
                  partitioner->assign(b.model(), parts))
            << name << " parts " << parts;
    }
  }
}

TEST(PartitionTwoLevel, EveryPartitionGetsABalancedShare) {
  const std::pair<std::uint32_t, std::uint32_t> layouts[] = {
      {2, 2}, {3, 2}, {2, 3}, {4, 4}, {5, 3}};
  for (auto spec : {torus(24, 24), ring(1001), small_world(777), mixed(), unlinked(500)}) {
    Built b(spec);
    const double n = static_cast<double>(b.size());
    for (const char* name : kPartitioners) {
      const auto partitioner = dsim::detail::make_partitioner(name);
      for (auto [ranks, threads] : layouts) {
        SCOPED_TRACE(testing::Message() << name << " on " << b.size() << " entities, " << ranks
                                        << " ranks x " << threads << " threads");
        const std::uint32_t parts = ranks * threads;
        const auto part_of = assign_two_level(*partitioner, b.model(), ranks, threads);
        ASSERT_EQ(part_of.size(), b.size());
        const auto per_partition = counts(part_of, parts);
        for (std::uint32_t p = 0; p < parts; ++p) {
          EXPECT_GE(per_partition[p], 1u) << "partition " << p;
          EXPECT_LE(static_cast<double>(per_partition[p]), 1.1 * n / parts + 1)
              << "partition " << p;
        }
        std::vector<std::uint32_t> rank_of(part_of.size());
        for (std::size_t i = 0; i < part_of.size(); ++i) rank_of[i] = part_of[i] / threads;
        for (auto c : counts(rank_of, ranks))
          EXPECT_LE(static_cast<double>(c), 1.1 * n / ranks + 1);
      }
    }
  }
}

TEST(PartitionTwoLevel, FewEntities) {
  for (const char* name : kPartitioners) {
    const auto partitioner = dsim::detail::make_partitioner(name);
    // As many entities as partitions: one each.
    Built exact(ring(12));
    auto part_of = assign_two_level(*partitioner, exact.model(), 3, 4);
    for (auto c : counts(part_of, 12)) EXPECT_EQ(c, 1u) << name;
    // Fewer: some stay empty, none is out of range.
    Built few(ring(5));
    part_of = assign_two_level(*partitioner, few.model(), 3, 4);
    ASSERT_EQ(part_of.size(), 5u);
    counts(part_of, 12);
  }
}

TEST(PartitionTwoLevel, RoundRobinIsRankFirst) {
  Built b(ring(100));
  const dsim::detail::RoundRobinPartitioner rr;
  const std::uint32_t ranks = 3, threads = 4;
  const auto part_of = assign_two_level(rr, b.model(), ranks, threads);
  for (std::uint32_t i = 0; i < part_of.size(); ++i)
    EXPECT_EQ(part_of[i], (i % ranks) * threads + (i / ranks) % threads) << "entity " << i;
}

TEST(PartitionTwoLevel, BlockGivesContiguousRanges) {
  Built b(ring(103));
  const dsim::detail::BlockPartitioner block;
  const auto part_of = assign_two_level(block, b.model(), 3, 4);
  EXPECT_TRUE(std::is_sorted(part_of.begin(), part_of.end()));
  EXPECT_EQ(part_of.front(), 0u);
  EXPECT_EQ(part_of.back(), 11u);
}

TEST(PartitionTwoLevel, GraphWithoutEdgesFallsBackToBlock) {
  Built b(unlinked(99));
  EXPECT_EQ(assign_two_level(dsim::detail::GraphPartitioner(), b.model(), 3, 2),
            assign_two_level(dsim::detail::BlockPartitioner(), b.model(), 3, 2));
}

// Two-level METIS spends its effort on the rank boundary first: the edges
// between ranks are no more than when a 4-way split is cut in two afterwards.
// With one METIS try this holds on some graphs only by the seed's luck (a
// 40x50 grid: 108 against 102); with 4 tries it holds on all of these.
TEST(PartitionTwoLevel, GraphRankCutNoWorseThanSingleLevel) {
  struct Case {
    const char* what;
    dsim::ModelSpec spec;
    std::uint32_t tries;
  };
  const Case cases[] = {
      {"torus 64x64", torus(64, 64), 1},          {"ring 1000", ring(1000), 1},
      {"small world 2000", small_world(2000), 1}, {"torus 64x64", torus(64, 64), 4},
      {"grid 40x50", torus(40, 50, "grid"), 4},   {"ring 1000", ring(1000), 4},
      {"small world 2000", small_world(2000), 4}};
  for (const auto& [what, spec, tries] : cases) {
    SCOPED_TRACE(testing::Message() << what << ", " << tries << " METIS tries");
    const dsim::detail::GraphPartitioner graph(tries);
    Built b(spec);
    const auto two_level_of = assign_two_level(graph, b.model(), 2, 2);
    const std::uint64_t two_level = rank_cut_of(b.model(), two_level_of, 4, 2);
    const std::uint64_t two_level_edge_cut = edge_cut(b.model(), two_level_of);
    EXPECT_LE(two_level, two_level_edge_cut);
    EXPECT_EQ(rank_edge_cut(b.model(), two_level_of, 1), two_level_edge_cut);
    const auto single_of = graph.assign(b.model(), 4);
    const std::uint64_t single = rank_cut_of(b.model(), single_of, 4, 2);
    EXPECT_LE(two_level, single);
    EXPECT_LE(single, edge_cut(b.model(), single_of));
    const std::string key = std::string(what) + ", tries " + std::to_string(tries) + ": ";
    RecordProperty(key + "rank cut two-level", std::to_string(two_level));
    RecordProperty(key + "edge cut two-level", std::to_string(two_level_edge_cut));
    RecordProperty(key + "rank cut 4-way", std::to_string(single));
    RecordProperty(key + "edge cut 4-way", std::to_string(edge_cut(b.model(), single_of)));
  }
}

TEST(PartitionTwoLevel, RankCutCountsOnlyEdgesBetweenRanks) {
  // Ring 0-1-...-7-0 (both directions), block over 2 ranks x 2 threads:
  // {0,1} {2,3} | {4,5} {6,7}. Edges 3-4 and 7-0 cross ranks, each both ways.
  Built b(ring(8));
  const auto part_of = assign_two_level(dsim::detail::BlockPartitioner(), b.model(), 2, 2);
  EXPECT_EQ(part_of, (std::vector<std::uint32_t>{0, 0, 1, 1, 2, 2, 3, 3}));
  EXPECT_EQ(rank_edge_cut(b.model(), part_of, 2), 4u);
  EXPECT_EQ(edge_cut(b.model(), part_of), 8u);
  EXPECT_EQ(rank_edge_cut(b.model(), part_of, 4), 0u);
}

TEST(PartitionTwoLevel, Deterministic) {
  for (const char* name : kPartitioners) {
    const auto partitioner = dsim::detail::make_partitioner(name);
    Built a(small_world(1500));
    Built b(small_world(1500));
    const auto first = assign_two_level(*partitioner, a.model(), 3, 4);
    EXPECT_EQ(first, assign_two_level(*partitioner, a.model(), 3, 4)) << name;
    EXPECT_EQ(first, assign_two_level(*partitioner, b.model(), 3, 4)) << name;
  }
}

TEST(PartitionFillSmallParts, MovesTheLastMembersOfTheLargestPart) {
  std::vector<std::uint32_t> part_of = {0, 0, 0, 0, 0, 0};
  dsim::detail::fill_small_parts(part_of, 3, 1);
  EXPECT_EQ(part_of, (std::vector<std::uint32_t>{0, 0, 0, 0, 2, 1}));

  part_of = {1, 1, 1, 0, 1, 1, 1, 1};
  dsim::detail::fill_small_parts(part_of, 3, 2);
  for (auto c : counts(part_of, 3)) EXPECT_GE(c, 2u);
  EXPECT_EQ(part_of, (std::vector<std::uint32_t>{1, 1, 1, 0, 1, 2, 2, 0}));

  // Not enough members for every part: left alone.
  part_of = {0, 0, 0};
  dsim::detail::fill_small_parts(part_of, 2, 2);
  EXPECT_EQ(part_of, (std::vector<std::uint32_t>{0, 0, 0}));
}

}  // namespace

namespace {

// The planner is a function of (spec, model, machine, ranks): its assignment
// is the two-level one and its cuts are those of that assignment. (The model
// has no assignment to change: a run's Layout holds it.)
TEST(PartitionPlanner, PlanRunLeavesTheModelAlone) {
  for (const char* name : kPartitioners) {
    SCOPED_TRACE(name);
    dsim::ModelSpec spec = mixed();
    spec.simulation.partitioner = name;
    spec.simulation.sync = "conservative";
    spec.simulation.threads = 3;
    Built b(std::move(spec));
    dsim::Machine machine;
    machine.cores = 4;
    machine.memory_bytes = std::uint64_t{1} << 30;
    const dsim::RunPlan plan = dsim::detail::plan_run(b.model().spec(), b.model(), machine, 2);
    EXPECT_EQ(plan.engine, dsim::Engine::kConservative);
    EXPECT_EQ(plan.threads, 3u);
    ASSERT_EQ(plan.partition_of.size(), b.size());
    EXPECT_EQ(plan.partition_entities, counts(plan.partition_of, 6));
    const auto partitioner = dsim::detail::make_partitioner(name);
    const auto expected = name == std::string("graph")
                              ? plan.partition_of  // the planner gives METIS more tries
                              : assign_two_level(*partitioner, b.model(), 2, 3);
    EXPECT_EQ(plan.partition_of, expected);
    EXPECT_EQ(plan.edge_cut, edge_cut(b.model(), plan.partition_of));
    EXPECT_EQ(plan.rank_edge_cut, rank_edge_cut(b.model(), plan.partition_of, 3));
    EXPECT_EQ(dsim::detail::plan_run(b.model().spec(), b.model(), machine, 2).partition_of,
              plan.partition_of);
  }
}

}  // namespace
