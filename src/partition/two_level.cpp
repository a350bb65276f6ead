// Two-level assignment for MPI runs: ranks first, then each rank's threads.
#include <algorithm>
#include <cassert>

#include "partition/partitioner.hpp"

namespace dsim::detail {

void fill_small_parts(std::vector<std::uint32_t>& part_of, std::uint32_t parts,
                      std::uint64_t min_size) {
  const std::uint64_t n = part_of.size();
  if (parts == 0 || min_size == 0 || static_cast<UInt128>(parts) * min_size > n) return;
  std::vector<std::uint64_t> size(parts, 0);
  for (const std::uint32_t p : part_of) ++size[p];
  // A part gives members away only while it is the largest, so above
  // min_size, and never receives any: its members above cursor are gone.
  std::vector<std::uint64_t> cursor(parts, n);
  for (std::uint32_t p = 0; p < parts; ++p)
    while (size[p] < min_size) {
      const auto big =
          static_cast<std::uint32_t>(std::max_element(size.begin(), size.end()) - size.begin());
      assert(size[big] > min_size);
      std::uint64_t& c = cursor[big];
      do --c;
      while (part_of[c] != big);
      part_of[c] = p;
      --size[big];
      ++size[p];
    }
}

std::vector<std::uint32_t> assign_two_level(const Partitioner& partitioner, const Model& model,
                                            std::uint32_t ranks, std::uint32_t threads) {
  assert(ranks >= 1 && threads >= 1);
  if (ranks == 1) return partitioner.assign(model, threads);
  const std::uint64_t n = model.entity_count();
  std::vector<std::uint32_t> rank_of = partitioner.assign(model, ranks);
  // Enough entities on every rank for each of its threads to get one.
  fill_small_parts(rank_of, ranks, threads);
  if (threads == 1) return rank_of;

  // Each rank's members in increasing id order (counting sort on the rank).
  std::vector<std::uint64_t> start(static_cast<std::size_t>(ranks) + 1, 0);
  for (const std::uint32_t r : rank_of) ++start[r + 1];
  for (std::uint32_t r = 0; r < ranks; ++r) start[r + 1] += start[r];
  std::vector<EntityId> members(n);
  {
    std::vector<std::uint64_t> fill(start.begin(), start.end() - 1);
    for (std::uint64_t i = 0; i < n; ++i) members[fill[rank_of[i]]++] = static_cast<EntityId>(i);
  }
  std::vector<std::uint32_t> out(n);
  for (std::uint32_t r = 0; r < ranks; ++r) {
    const std::span<const EntityId> mine(members.data() + start[r], start[r + 1] - start[r]);
    const std::vector<std::uint32_t> thread_of = partitioner.assign_subset(model, mine, threads);
    for (std::uint64_t k = 0; k < mine.size(); ++k) out[mine[k]] = r * threads + thread_of[k];
  }
  return out;
}

std::uint64_t rank_edge_cut(const Model& model, std::span<const std::uint32_t> partition_of,
                            std::uint32_t threads_per_rank) {
  assert(threads_per_rank >= 1);
  const auto& off = model.nb_offsets();
  const auto& ids = model.nb_ids();
  std::uint64_t cut = 0;
  for (std::uint64_t v = 0; v + 1 < off.size(); ++v) {
    const std::uint32_t rank = partition_of[v] / threads_per_rank;
    for (std::uint64_t k = off[v]; k < off[v + 1]; ++k)
      if (partition_of[ids[k]] / threads_per_rank != rank) ++cut;
  }
  return cut;
}

}  // namespace dsim::detail
