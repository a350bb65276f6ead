#include <fmt/format.h>
#include <metis.h>

#include <algorithm>

#include "partition/partitioner.hpp"

namespace dsim::detail {

std::vector<std::uint32_t> GraphPartitioner::assign(const Model& model,
                                                    std::uint32_t parts) const {
  const std::uint64_t n = model.entity_count();
  if (parts == 1) return std::vector<std::uint32_t>(n, 0);
  const auto& off = model.nb_offsets();
  const auto& ids = model.nb_ids();
  if (ids.empty()) return BlockPartitioner().assign(model, parts);

  // Undirected, simple, loop-free adjacency in CSR, as METIS wants it.
  std::vector<std::vector<idx_t>> adj(n);
  for (std::uint64_t v = 0; v < n; ++v)
    for (std::uint64_t k = off[v]; k < off[v + 1]; ++k) {
      const std::uint64_t u = ids[k];
      if (u == v) continue;
      adj[v].push_back(static_cast<idx_t>(u));
      adj[u].push_back(static_cast<idx_t>(v));
    }
  std::vector<idx_t> xadj(n + 1, 0), adjncy;
  for (std::uint64_t v = 0; v < n; ++v) {
    auto& a = adj[v];
    std::sort(a.begin(), a.end());
    a.erase(std::unique(a.begin(), a.end()), a.end());
    adjncy.insert(adjncy.end(), a.begin(), a.end());
    xadj[v + 1] = static_cast<idx_t>(adjncy.size());
    std::vector<idx_t>().swap(a);
  }
  idx_t nvtxs = static_cast<idx_t>(n), ncon = 1, nparts = static_cast<idx_t>(parts), objval = 0;
  idx_t options[METIS_NOPTIONS];
  METIS_SetDefaultOptions(options);
  options[METIS_OPTION_SEED] = 1;  // reproducible partitions
  options[METIS_OPTION_NUMBERING] = 0;
  std::vector<idx_t> part(n, 0);
  const int status =
      METIS_PartGraphKway(&nvtxs, &ncon, xadj.data(), adjncy.data(), nullptr, nullptr, nullptr,
                          &nparts, nullptr, nullptr, options, &objval, part.data());
  if (status != METIS_OK)
    throw Error(fmt::format("simulation.partitioner: METIS failed to partition the link graph "
                            "({} entities, {} edges) into {} parts (status {})",
                            n, adjncy.size() / 2, parts, status),
                Error::Kind::kRuntime);
  return std::vector<std::uint32_t>(part.begin(), part.end());
}

}  // namespace dsim::detail
