#include <fmt/format.h>
#include <metis.h>

#include <algorithm>
#include <limits>

#include "partition/partitioner.hpp"

namespace dsim::detail {
namespace {

constexpr std::uint32_t kOutside = std::numeric_limits<std::uint32_t>::max();

// The graph METIS wants: undirected, simple, loop-free adjacency in CSR over
// local vertex ids 0 .. count-1, each row sorted.
struct MetisGraph {
  std::vector<idx_t> xadj, adjncy;
};

// The subgraph induced by `count` members: member k is entity id_of(k), and
// local_of(u) is entity u's member index, or kOutside.
template <class IdOf, class LocalOf>
MetisGraph induced_graph(const Model& model, std::uint64_t count, IdOf id_of, LocalOf local_of) {
  const auto& off = model.nb_offsets();
  const auto& ids = model.nb_ids();
  MetisGraph g;
  if (ids.empty()) return g;
  // Both directions of every edge, counted then placed (duplicates included).
  std::vector<std::uint64_t> start(count + 1, 0);
  auto for_each_edge = [&](auto&& f) {
    for (std::uint64_t k = 0; k < count; ++k) {
      const EntityId v = id_of(k);
      for (std::uint64_t e = off[v]; e < off[v + 1]; ++e) {
        const std::uint32_t lu = local_of(ids[e]);
        if (lu != kOutside && lu != k) f(k, lu);
      }
    }
  };
  for_each_edge([&](std::uint64_t lv, std::uint64_t lu) {
    ++start[lv + 1];
    ++start[lu + 1];
  });
  for (std::uint64_t k = 0; k < count; ++k) start[k + 1] += start[k];
  if (start[count] > static_cast<std::uint64_t>(std::numeric_limits<idx_t>::max()))
    throw Error(fmt::format("simulation.partitioner: the link graph has {} edges; METIS takes at "
                            "most {}",
                            start[count] / 2, std::numeric_limits<idx_t>::max() / 2),
                Error::Kind::kRuntime);
  std::vector<idx_t> both(start[count]);
  std::vector<std::uint64_t> fill(start.begin(), start.end() - 1);
  for_each_edge([&](std::uint64_t lv, std::uint64_t lu) {
    both[fill[lv]++] = static_cast<idx_t>(lu);
    both[fill[lu]++] = static_cast<idx_t>(lv);
  });
  // Sort and deduplicate each row in place, compacting as we go.
  g.xadj.assign(count + 1, 0);
  std::uint64_t out = 0;
  for (std::uint64_t k = 0; k < count; ++k) {
    auto first = both.begin() + static_cast<std::ptrdiff_t>(start[k]);
    auto last = both.begin() + static_cast<std::ptrdiff_t>(start[k + 1]);
    std::sort(first, last);
    last = std::unique(first, last);
    const auto dest = both.begin() + static_cast<std::ptrdiff_t>(out);
    out += static_cast<std::uint64_t>(last - first);
    std::move(first, last, dest);
    g.xadj[k + 1] = static_cast<idx_t>(out);
  }
  both.resize(out);
  g.adjncy = std::move(both);
  return g;
}

// METIS k-way on the induced subgraph of `count` members; block when the
// subgraph has no edges; member k alone in part k when there are no more
// members than parts.
template <class IdOf, class LocalOf>
std::vector<std::uint32_t> split(const Model& model, std::uint64_t count, IdOf id_of,
                                 LocalOf local_of, std::uint32_t parts, std::uint32_t tries) {
  std::vector<std::uint32_t> out(count, 0);
  if (parts == 1) return out;
  if (count <= parts) {
    for (std::uint64_t k = 0; k < count; ++k) out[k] = static_cast<std::uint32_t>(k);
    return out;
  }
  MetisGraph g = induced_graph(model, count, id_of, local_of);
  if (g.adjncy.empty()) return contiguous_parts(count, parts);
  idx_t nvtxs = static_cast<idx_t>(count), ncon = 1, nparts = static_cast<idx_t>(parts),
        objval = 0;
  idx_t options[METIS_NOPTIONS];
  METIS_SetDefaultOptions(options);
  options[METIS_OPTION_SEED] = 1;  // reproducible partitions, the same on every process
  options[METIS_OPTION_NUMBERING] = 0;
  if (tries > 1) options[METIS_OPTION_NCUTS] = static_cast<idx_t>(tries);
  std::vector<idx_t> part(count, 0);
  const int status =
      METIS_PartGraphKway(&nvtxs, &ncon, g.xadj.data(), g.adjncy.data(), nullptr, nullptr,
                          nullptr, &nparts, nullptr, nullptr, options, &objval, part.data());
  if (status != METIS_OK)
    throw Error(fmt::format("simulation.partitioner: METIS failed to partition the link graph "
                            "({} entities, {} edges) into {} parts (status {})",
                            count, g.adjncy.size() / 2, parts, status),
                Error::Kind::kRuntime);
  for (std::uint64_t k = 0; k < count; ++k) {
    if (part[k] < 0 || part[k] >= nparts)
      throw Error(fmt::format("simulation.partitioner: METIS put entity {} in part {} of {}",
                              id_of(k), part[k], parts),
                  Error::Kind::kRuntime);
    out[k] = static_cast<std::uint32_t>(part[k]);
  }
  fill_small_parts(out, parts, 1);
  return out;
}

}  // namespace

std::vector<std::uint32_t> GraphPartitioner::assign(const Model& model,
                                                    std::uint32_t parts) const {
  return split(
      model, model.entity_count(), [](std::uint64_t k) { return static_cast<EntityId>(k); },
      [](EntityId u) { return static_cast<std::uint32_t>(u); }, parts, tries_);
}

std::vector<std::uint32_t> GraphPartitioner::assign_subset(const Model& model,
                                                           std::span<const EntityId> members,
                                                           std::uint32_t parts) const {
  std::vector<std::uint32_t> local;
  if (parts > 1 && members.size() > parts && !model.nb_ids().empty()) {
    local.assign(model.entity_count(), kOutside);
    for (std::uint64_t k = 0; k < members.size(); ++k)
      local[members[k]] = static_cast<std::uint32_t>(k);
  }
  return split(
      model, members.size(), [&](std::uint64_t k) { return members[k]; },
      [&](EntityId u) { return local[u]; }, parts, tries_);
}

}  // namespace dsim::detail
