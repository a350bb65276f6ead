#include "core/model.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <limits>

#include "config/topology.hpp"
#include "dsim/engine.hpp"
#include "dsim/registry.hpp"

namespace dsim::detail {
namespace {

std::uint32_t align_up(std::uint32_t n, std::uint32_t a) { return (n + a - 1) / a * a; }

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

namespace {
// Topology kinds whose edges are drawn at random (config/topology.cpp).
bool random_topology(std::string_view kind) {
  return kind == "erdos_renyi" || kind == "random_regular" || kind == "small_world" ||
         kind == "scale_free" || kind == "random";
}
}  // namespace

bool Model::graph_depends_on_seed() const {
  if (spec_.simulation.topology_seed) return false;
  for (const LinkSpec& ls : spec_.links)
    if (random_topology(ls.topology.kind)) return true;
  return false;
}

Model::Model(const ModelSpec& spec, const Registry& registry, const Model* same_graph)
    : spec_(spec) {
  const std::uint64_t topology_seed = spec.simulation.topology_seed.value_or(spec.simulation.seed);
  // Groups: behaviours, statistics, block layout.
  std::uint64_t next_id = 0;
  for (const GroupSpec& gs : spec.groups) {
    GroupRuntime g;
    g.name = gs.name;
    g.type = registry.find(gs.type);
    if (g.type == nullptr)
      throw Error(fmt::format("{}: entities '{}': unknown entity type '{}'", gs.location.str(),
                              gs.name, gs.type));
    g.first = static_cast<EntityId>(next_id);
    g.count = gs.count;
    next_id += gs.count;
    if (next_id >= kMaxEntities)
      throw Error(fmt::format("{}: entities '{}': the model has more than {} entities",
                              gs.location.str(), gs.name, kMaxEntities - 1));
    Params params(gs.params);
    Setup setup(gs.name, gs.count, params, &g.stats);
    try {
      g.behaviour = g.type->make(setup);
    } catch (const Error& e) {
      throw Error(fmt::format("{}: entities '{}' (type '{}'): {}", gs.location.str(), gs.name,
                              gs.type, e.what()));
    }
    for (const StatDecl& d : g.stats) {
      switch (d.kind) {
        case StatKind::kCounter: ++g.counters; break;
        case StatKind::kTally: ++g.tallies; break;
        case StatKind::kGauge: ++g.gauges; break;
        case StatKind::kHistogram: ++g.histograms; break;
      }
    }
    const auto align = std::max<std::uint32_t>(8, static_cast<std::uint32_t>(g.type->state_align));
    g.counters_off = sizeof(EntityMeta);
    g.gauges_off = g.counters_off + 8 * g.counters;
    g.state_off = align_up(g.gauges_off + sizeof(GaugeSlot) * g.gauges, align);
    g.history_off = align_up(g.state_off + static_cast<std::uint32_t>(g.type->state_size), align);
    groups_.push_back(std::move(g));
  }
  entity_count_ = next_id;
  std::size_t payload = 0;
  for (const GroupRuntime& g : groups_)
    for (const auto& h : g.type->handlers) payload = std::max<std::size_t>(payload, h.payload_size);
  event_bytes_ = offsetof(Event, payload) + (payload + 7) / 8 * 8;
  if (groups_.size() > std::numeric_limits<std::uint16_t>::max())
    throw Error("too many entity groups (at most 65535)");

  // Links: lookahead matrix and neighbour graph.
  const std::size_t ng = groups_.size();
  lookahead_.assign(ng * ng, std::numeric_limits<double>::quiet_NaN());
  std::vector<std::vector<config::Edge>> link_edges(spec.links.size());
  // A reseeded model shares the graph of the one it came from.
  if (same_graph != nullptr) graph_ = same_graph->graph_;
  std::uint64_t edge_count = 0;
  for (std::size_t i = 0; i < spec.links.size(); ++i) {
    const LinkSpec& ls = spec.links[i];
    const GroupRuntime* from = find_group(ls.from);
    const GroupRuntime* to = find_group(ls.to);
    if (from == nullptr || to == nullptr)
      throw Error(fmt::format("{}: links[{}]: unknown group '{}'", ls.location.str(), i,
                              from == nullptr ? ls.from : ls.to));
    const auto fg = static_cast<std::uint32_t>(from - groups_.data());
    const auto tg = static_cast<std::uint32_t>(to - groups_.data());
    const double la = ls.lookahead.value_or(0.0);
    double& cell = lookahead_[fg * ng + tg];
    cell = std::isnan(cell) ? la : std::min(cell, la);
    links_.push_back({fg, tg, la, ls.topology.kind == "any"});
    if (graph_) continue;
    try {
      link_edges[i] = config::generate_topology(ls.topology, from->count, to->count, fg == tg,
                                                splitmix64(topology_seed ^ splitmix64(i + 1)),
                                                ls.weight);
    } catch (const Error& e) {
      throw Error(fmt::format("{}: links[{}] ({} -> {}): {}", ls.location.str(), i, ls.from,
                              ls.to, e.what()));
    }
    edge_count += link_edges[i].size();
  }
  if (!graph_) {
    // CSR by counting sort on the source: degrees first (shifted by one), then
    // prefix sums, then each link's edges in link order.
    auto graph = std::make_shared<Graph>();
    if (edge_count > 0) {
      graph->offsets.assign(entity_count_ + 1, 0);
      for (std::size_t i = 0; i < spec.links.size(); ++i)
        for (const config::Edge& e : link_edges[i])
          ++graph->offsets[groups_[links_[i].from_group].first + e.from + 1];
      for (std::uint64_t v = 0; v < entity_count_; ++v) graph->offsets[v + 1] += graph->offsets[v];
      graph->ids.resize(edge_count);
      graph->weights.resize(edge_count);
      std::vector<std::uint64_t> fill(graph->offsets.begin(), graph->offsets.end() - 1);
      for (std::size_t i = 0; i < spec.links.size(); ++i) {
        const GroupRuntime& from = groups_[links_[i].from_group];
        const GroupRuntime& to = groups_[links_[i].to_group];
        for (const config::Edge& e : link_edges[i]) {
          const std::uint64_t at = fill[from.first + e.from]++;
          graph->ids[at] = to.first + e.to;
          graph->weights[at] = e.weight;
        }
        std::vector<config::Edge>().swap(link_edges[i]);
      }
    }
    graph_ = std::move(graph);
  }

  if (spec.output.sample_interval > 0) {
    const double n = std::floor(spec.simulation.end_time / spec.output.sample_interval);
    if (n > 1e6)
      throw Error(fmt::format("{}: output.sample_interval: {} gives {} samples over end_time {}; "
                              "at most 1000000 are allowed",
                              spec.output.location.str(), spec.output.sample_interval, n,
                              spec.simulation.end_time));
    samples_ = static_cast<std::uint32_t>(n);
  }
}

std::uint32_t Model::group_of(EntityId id) const {
  auto it = std::upper_bound(groups_.begin(), groups_.end(), id,
                             [](EntityId v, const GroupRuntime& g) { return v < g.first; });
  return static_cast<std::uint32_t>(it - groups_.begin() - 1);
}

const GroupRuntime* Model::find_group(std::string_view name) const {
  for (const auto& g : groups_)
    if (g.name == name) return &g;
  return nullptr;
}


}  // namespace dsim::detail
