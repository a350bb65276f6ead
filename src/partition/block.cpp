#include "partition/partitioner.hpp"

#include <fmt/format.h>

namespace dsim::detail {

std::unique_ptr<Partitioner> make_partitioner(Partitioning partitioning) {
  switch (partitioning) {
    case Partitioning::kBlock:
      return std::make_unique<BlockPartitioner>();
    case Partitioning::kRoundRobin:
      return std::make_unique<RoundRobinPartitioner>();
    case Partitioning::kGraph:
      return std::make_unique<GraphPartitioner>();
  }
  throw Error("simulation.partitioner: unknown partitioner", Error::Kind::kRuntime);
}

std::unique_ptr<Partitioner> make_partitioner(std::string_view name) {
  if (const auto p = partitioning_from_name(name)) return make_partitioner(*p);
  std::string known;
  for (const auto n : kPartitioningNames) known += fmt::format("{}{}", known.empty() ? "" : ", ", n);
  throw Error(fmt::format("simulation.partitioner: unknown partitioner '{}' (known: {})", name,
                          known));
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

std::uint64_t edge_cut(const Model& model, std::span<const std::uint32_t> partition_of) {
  const auto& off = model.nb_offsets();
  const auto& ids = model.nb_ids();
  std::uint64_t cut = 0;
  for (std::uint64_t v = 0; v + 1 < off.size(); ++v)
    for (std::uint64_t k = off[v]; k < off[v + 1]; ++k)
      if (partition_of[v] != partition_of[ids[k]]) ++cut;
  return cut;
}


}  // namespace dsim::detail
