#include "transport/transport.hpp"

#include "transport/cluster.hpp"

namespace dsim::detail {

Transport::Transport(Cluster& cluster, std::uint32_t per_rank, std::uint32_t total,
                     bool progress_thread)
    : per_rank_(per_rank),
      total_(total),
      ranks_(cluster.size()),
      first_(partitions_of(cluster.rank(), per_rank, total).first),
      inboxes_(partitions_of(cluster.rank(), per_rank, total).last - first_) {
  if (cluster.distributed())
    remote_ = make_mpi_path(cluster, inboxes_, first_, progress_thread);
}

Transport::~Transport() = default;

}  // namespace dsim::detail
