// The built model: everything about a run that is fixed once it is built and
// shared read-only by all partitions and runs (groups and their behaviours,
// the neighbour graph, lookaheads). Where each entity lives and the size of
// its block belong to a run's Layout (core/layout.hpp), not to the model.
//
// Thread safety: immutable after construction; any number of threads may read it.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <memory>
#include <vector>

#include "core/event.hpp"
#include "dsim/entity.hpp"
#include "dsim/model_spec.hpp"
#include "dsim/stats.hpp"

namespace dsim::detail {

// Per-entity block layout: [EntityMeta][counters][gauges][State][History, optimistic only].
struct EntityMeta {
  std::uint64_t rng_counter;
  std::uint64_t send_seq;
};

// Bytes of the optimistic engine's per-entity History (see partition.hpp).
inline constexpr std::uint32_t kHistoryBytes = 16;

struct GroupRuntime {
  std::string name;
  const EntityTypeInfo* type = nullptr;
  EntityTypeInfo::BehaviourPtr behaviour{nullptr, [](void*) {}};
  EntityId first = 0;
  std::uint64_t count = 0;
  std::vector<StatDecl> stats;  // in declaration order
  std::uint32_t counters = 0, tallies = 0, gauges = 0, histograms = 0;
  std::uint32_t counters_off = 0;  // offsets inside a block
  std::uint32_t gauges_off = 0;
  std::uint32_t state_off = 0;
  // The end of the State: the bytes [0, history_off) are the entity's
  // engine-visible state (what a snapshot or a rollback saves). Optimistic
  // runs keep the engine's per-entity History after it (Layout's stride).
  std::uint32_t history_off = 0;
};

class Model {
 public:
  // Builds groups (behaviours, stats, block layout) and the neighbour graph
  // from a validated spec. Throws dsim::Error on bad input. `same_graph`: a
  // Model of the same spec but for its seed whose graph this one shares
  // instead of generating it (see graph_depends_on_seed()).
  Model(const ModelSpec& spec, const Registry& registry, const Model* same_graph = nullptr);

  // Whether the neighbour graph changes with simulation.seed: a link with a
  // random topology and no simulation.topology_seed.
  bool graph_depends_on_seed() const;

  const ModelSpec& spec() const { return spec_; }
  std::uint64_t entity_count() const { return entity_count_; }
  const std::vector<GroupRuntime>& groups() const { return groups_; }
  std::uint32_t group_of(EntityId id) const;
  const GroupRuntime* find_group(std::string_view name) const;

  // Minimum delay allowed from group a to group b; NaN if no link.
  double lookahead(std::uint32_t from_group, std::uint32_t to_group) const {
    return lookahead_[from_group * groups_.size() + to_group];
  }

  const std::vector<double>& lookahead_table() const { return lookahead_; }
  // Bytes of an envelope worth storing: the header and the largest payload
  // any entity of the model can receive.
  std::size_t event_bytes() const { return event_bytes_; }

  // Neighbour graph (CSR over global ids). Empty when no link has edges.
  const std::vector<std::uint64_t>& nb_offsets() const { return graph_->offsets; }
  const std::vector<EntityId>& nb_ids() const { return graph_->ids; }
  const std::vector<double>& nb_weights() const { return graph_->weights; }

  // Per link: its edge range is implied by regeneration; for partitioning we
  // keep a flag whether the link is implicit ("any").
  struct LinkInfo {
    std::uint32_t from_group, to_group;
    double lookahead;
    bool implicit;
  };
  const std::vector<LinkInfo>& links() const { return links_; }


  Time end_time() const { return spec_.simulation.end_time; }
  std::uint64_t seed() const { return spec_.simulation.seed; }
  Time sample_interval() const { return spec_.output.sample_interval; }
  // Sample times interval, 2*interval, ... <= end_time.
  std::uint32_t sample_count() const { return samples_; }

 private:
  const ModelSpec& spec_;
  std::vector<GroupRuntime> groups_;
  std::uint64_t entity_count_ = 0;
  std::vector<double> lookahead_;
  std::vector<LinkInfo> links_;
  struct Graph {
    std::vector<std::uint64_t> offsets;
    std::vector<EntityId> ids;
    std::vector<double> weights;
  };
  std::shared_ptr<const Graph> graph_;  // never null; shared by reseeded Models
  std::uint32_t samples_ = 0;
  std::size_t event_bytes_ = sizeof(Event);
};

}  // namespace dsim::detail
