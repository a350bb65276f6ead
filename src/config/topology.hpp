// Topology generators: turn a link's TopologyOptions into the directed edges
// between the entities of its from-group and to-group.
//
//   dsim::config::check_topology(link.topology, from.count, to.count, same);   // at load time
//   std::vector<dsim::config::Edge> edges = dsim::config::generate_topology(
//       link.topology, from.count, to.count, same, link_seed, link.weight);
//
// Guarantees of generate_topology:
//   - Deterministic: the edges depend only on the arguments (random kinds draw
//     from counter-based dsim::Random streams keyed by `seed`).
//   - Sorted by (from, to), no duplicate edges, no self-loops within a group.
//   - Kinds that work within one group (ring, grid, torus, complete,
//     erdos_renyi, random_regular, small_world, scale_free) are undirected:
//     u -> v is listed if and only if v -> u is.
//   - At most kMaxTopologyEdges edges; larger requests are refused by
//     check_topology before anything is allocated.
//
// Thread safety: both functions are pure; they may run concurrently.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "dsim/model_spec.hpp"

namespace dsim::config {

// One directed edge of a link. Indices are group-local: `from` indexes the
// link's from-group, `to` its to-group.
struct Edge {
  std::uint32_t from;
  std::uint32_t to;
  double weight;

  friend bool operator==(const Edge&, const Edge&) = default;
};

// The topology kinds (TopologyOptions::kind), in the order model_spec.hpp
// lists them. This file is their one home: names, options and generators.
std::span<const std::string_view> topology_kinds();
// Every link key that is an option of some kind ("k", "degree", ... "symmetric").
std::span<const std::string_view> topology_option_keys();
// The option keys `kind` accepts (empty for unknown kinds and kinds without
// options).
std::span<const std::string_view> topology_option_keys(std::string_view kind);

// The most edges one link may have (16 bytes each in memory).
inline constexpr std::uint64_t kMaxTopologyEdges = std::uint64_t{1} << 32;

// Checks that `options` fit their kind and the group sizes without generating
// anything: inapplicable options, missing or out-of-range values, unequal
// counts for one_to_one, within-group kinds across two groups, grid shapes,
// edge counts beyond kMaxTopologyEdges, and for edge_list that the file can be
// read. Throws dsim::Error whose message has no file/line prefix (the caller
// adds the config location), e.g.
//   "topology 'ring': k must be >= 1 and < count/2 (got 0, count 10)".
void check_topology(const TopologyOptions& options, std::uint64_t n_from, std::uint64_t n_to,
                    bool same_group);

// Generates the directed edges of one link (see the guarantees above). Every
// edge gets `weight`, except edge_list rows with a third column. Calls
// check_topology first. Throws dsim::Error on bad options or on bad edge_list
// content, naming the file and line:
//   "edges.csv:14: target index 99 out of range (the to-group has 50 entities)".
std::vector<Edge> generate_topology(const TopologyOptions& options, std::uint64_t n_from,
                                    std::uint64_t n_to, bool same_group, std::uint64_t seed,
                                    double weight);

}  // namespace dsim::config
