// Waiting for MPI without burning a core. A blocking MPI collective in
// OpenMPI polls at full speed until every process arrived: a process whose
// partner is descheduled (more threads than cores: oversubscribed ranks,
// concurrent runs, a loaded machine) spins on the very core that partner
// needs, and a round can take a scheduler time slice. So the transport and
// the Cluster start collectives as nonblocking ones and complete them here:
// MPI_Test a few hundred times (the usual wait, every process already there,
// is microseconds), then between tests yield the core (to whichever thread
// of this machine is runnable, perhaps the one the others wait for), then
// nap (DESIGN.md: waiting that does not burn cores). A long wait reacts up to
// a nap late (200 µs).
//
// Only for files compiled with MPI (it includes mpi.h).
//
// Thread safety: as MPI_Test on `request`: the caller holds the MPI lock
// when the library's thread level requires it (Cluster::lock()).
#pragma once

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "core/backoff.hpp"

namespace dsim::detail {

inline void wait_patiently(MPI_Request& request) {
  // 256 tests with a pause between them: ~50 µs; then 2048 yields (each
  // returns at once when nothing else wants the core: still a fast
  // reaction); then naps from 20 µs growing to 200 µs (a nap's wake-up
  // costs ~20 µs of CPU on a VM: short naps alone would still use a
  // good part of a core during a long wait).
  Backoff backoff(256, 2048);
  auto nap = std::chrono::microseconds(20);
  for (int done = 0;;) {
    MPI_Test(&request, &done, MPI_STATUS_IGNORE);
    if (done) return;
    if (!backoff.spin()) {
      std::this_thread::sleep_for(nap);
      nap = std::min(nap * 2, std::chrono::microseconds(200));
    }
  }
}

}  // namespace dsim::detail
