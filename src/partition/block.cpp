#include "partition/partitioner.hpp"

#include <fmt/format.h>

namespace dsim::detail {

std::unique_ptr<Partitioner> make_partitioner(std::string_view name) {
  if (name == "block") return std::make_unique<BlockPartitioner>();
  if (name == "round_robin") return std::make_unique<RoundRobinPartitioner>();
  if (name == "graph") return std::make_unique<GraphPartitioner>();
  throw Error(fmt::format("simulation.partitioner: unknown partitioner '{}' (known: block, "
                          "round_robin, graph)",
                          name));
}

std::vector<std::uint32_t> contiguous_parts(std::uint64_t count, std::uint32_t parts) {
  std::vector<std::uint32_t> out(count);
  for (std::uint64_t k = 0; k < count; ++k)
    out[k] = static_cast<std::uint32_t>(static_cast<UInt128>(k) * parts / count);
  return out;
}

std::vector<std::uint32_t> BlockPartitioner::assign(const Model& model,
                                                    std::uint32_t parts) const {
  return contiguous_parts(model.entity_count(), parts);
}

std::vector<std::uint32_t> BlockPartitioner::assign_subset(const Model&,
                                                           std::span<const EntityId> members,
                                                           std::uint32_t parts) const {
  return contiguous_parts(members.size(), parts);
}

std::uint64_t edge_cut(const Model& model) {
  const auto& off = model.nb_offsets();
  const auto& ids = model.nb_ids();
  const auto& where = model.where();
  std::uint64_t cut = 0;
  for (std::uint64_t v = 0; v + 1 < off.size(); ++v)
    for (std::uint64_t k = off[v]; k < off[v + 1]; ++k)
      if (where[v].partition != where[ids[k]].partition) ++cut;
  return cut;
}

}  // namespace dsim::detail
