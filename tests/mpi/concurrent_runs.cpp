// A host program that owns MPI (it initialises it itself, as mpi4py does)
// and runs two dsim Simulations at the same time on different communicators:
// one over a split of MPI_COMM_WORLD (each half its own run), one over a
// duplicate of the whole world. Each must give the result it gives alone in
// one process, bit for bit. Run by tests/scripts/mpi_concurrent.sh under
// mpirun; prints one line and exits non-zero on any difference.
#include <mpi.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "dsim/dsim.hpp"
#include "dsim/reference_models.hpp"

namespace {

dsim::ModelSpec phold(const dsim::Registry& registry, const char* source_dir, std::uint64_t seed,
                      const std::string& sync, std::uint32_t threads) {
  auto spec = dsim::load_model(std::string(source_dir) + "/models/phold/phold.toml",
                               {"entities.phold.count=512", "simulation.end_time=50",
                                "simulation.seed=" + std::to_string(seed),
                                "simulation.sync=\"" + sync + "\"",
                                "simulation.threads=" + std::to_string(threads)});
  dsim::validate(spec, registry);
  return spec;
}

bool same(const dsim::RunResult& a, const dsim::RunResult& b) {
  if (a.stats.size() != b.stats.size()) return false;
  for (std::size_t i = 0; i < a.stats.size(); ++i) {
    if (a.stats[i].fields.size() != b.stats[i].fields.size()) return false;
    for (std::size_t f = 0; f < a.stats[i].fields.size(); ++f)
      if (std::memcmp(&a.stats[i].fields[f].second, &b.stats[i].fields[f].second,
                      sizeof(double)) != 0)
        return false;
  }
  return a.figures.events_processed == b.figures.events_processed;
}

}  // namespace

int main(int argc, char** argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const char* source_dir = argc > 1 ? argv[1] : ".";
  int failures = 0;
  if (provided < MPI_THREAD_MULTIPLE) {
    std::printf("concurrent_runs: skipped: MPI offers thread level %d, not MULTIPLE\n", provided);
    MPI_Finalize();
    return 77;
  }
  try {
    dsim::Registry registry;
    dsim::register_builtins(registry);
    dsim::register_reference_models(registry);
    // The results each run gives alone, in one process.
    const int color = rank % 2;
    const auto alone_half =
        dsim::Simulation(phold(registry, source_dir, 10 + color, "sequential", 1), registry).run();
    const auto alone_all =
        dsim::Simulation(phold(registry, source_dir, 20, "sequential", 1), registry).run();

    MPI_Comm half, all;
    MPI_Comm_split(MPI_COMM_WORLD, color, rank, &half);
    MPI_Comm_dup(MPI_COMM_WORLD, &all);
    for (int round = 0; round < 2; ++round) {
      dsim::RunResult on_half, on_all;
      std::string error;
      std::thread a([&] {
        try {
          dsim::Environment env;
          env.communicator = dsim::Communicator::from_mpi(&half);
          on_half = dsim::Simulation(phold(registry, source_dir, 10 + color, "conservative", 2),
                                     registry, env)
                        .run();
        } catch (const std::exception& e) {
          error += std::string("half: ") + e.what();
        }
      });
      std::thread b([&] {
        try {
          dsim::Environment env;
          env.communicator = dsim::Communicator::from_mpi(&all);
          on_all =
              dsim::Simulation(phold(registry, source_dir, 20, "optimistic", 1), registry, env)
                  .run();
        } catch (const std::exception& e) {
          error += std::string("all: ") + e.what();
        }
      });
      a.join();
      b.join();
      if (!error.empty()) {
        std::printf("concurrent_runs: rank %d: %s\n", rank, error.c_str());
        ++failures;
      } else {
        if (!same(alone_half, on_half)) {
          std::printf("concurrent_runs: rank %d: the run on the split differs\n", rank);
          ++failures;
        }
        if (!same(alone_all, on_all)) {
          std::printf("concurrent_runs: rank %d: the run on the whole world differs\n", rank);
          ++failures;
        }
      }
    }
    MPI_Comm_free(&half);
    MPI_Comm_free(&all);
  } catch (const std::exception& e) {
    std::printf("concurrent_runs: rank %d: %s\n", rank, e.what());
    ++failures;
  }
  int total = 0;
  MPI_Allreduce(&failures, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (rank == 0) std::printf("concurrent_runs: %d ranks, %d failure(s)\n", size, total);
  MPI_Finalize();
  return total == 0 ? 0 : 1;
}
