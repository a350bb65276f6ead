#include "partition/partitioner.hpp"

namespace dsim::detail {

std::vector<std::uint32_t> RoundRobinPartitioner::assign(const Model& model,
                                                         std::uint32_t parts) const {
  std::vector<std::uint32_t> out(model.entity_count());
  for (std::uint64_t i = 0; i < out.size(); ++i) out[i] = static_cast<std::uint32_t>(i % parts);
  return out;
}

std::vector<std::uint32_t> RoundRobinPartitioner::assign_subset(const Model&,
                                                                std::span<const EntityId> members,
                                                                std::uint32_t parts) const {
  std::vector<std::uint32_t> out(members.size());
  for (std::uint64_t k = 0; k < out.size(); ++k) out[k] = static_cast<std::uint32_t>(k % parts);
  return out;
}

}  // namespace dsim::detail
