// Runs one model through dsim's public API and prints the run's figures as
// one JSON line, in the same shape as plain_phold's, so the two can be read
// side by side (bench/run_benchmarks.sh does).
//
// Usage: bench_model CONFIG [KEY=VALUE ...]
//   e.g. bench_model models/phold/phold.toml simulation.end_time=500 simulation.threads=2
// The overrides are those of `dsim run --set`. Results are not written out
// (Simulation::run writes no files). cpu_seconds is the process CPU time of
// set-up and run, cpu_event_rate events per CPU second: less disturbed than
// wall time on a busy machine.
#include <fmt/format.h>
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "dsim/dsim.hpp"
#include "dsim/reference_models.hpp"

namespace {

double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CONFIG [KEY=VALUE ...]\n", argv[0]);
    return 2;
  }
  // Under mpirun the processes make one run (MPI initialised here, as the
  // dsim program's main() does); DSIM_MPI_PROGRESS as `dsim run` reads it.
  dsim::MpiSession mpi;
  try {
    const std::vector<std::string> overrides(argv + 2, argv + argc);
    dsim::Environment env;
    env.communicator = mpi.world();
    if (const char* progress = std::getenv("DSIM_MPI_PROGRESS"); progress && *progress)
      env.mpi_progress = progress;
    dsim::Registry registry;
    dsim::register_builtins(registry);
    dsim::register_reference_models(registry);
    const double cpu_start = cpu_seconds();
    dsim::Simulation sim(dsim::load_model(argv[1], overrides), registry, env);
    const dsim::RunResult r = sim.run();
    const double cpu = cpu_seconds() - cpu_start;
    const dsim::RunFigures& f = r.figures;
    // Every process gets the same result; process 0 prints it.
    if (mpi.world()->rank() != 0) return 0;
    std::uint64_t entities = 0;
    for (const auto& g : sim.spec().groups) entities += g.count;
    fmt::print(
        "{{\"impl\": \"dsim\", \"config\": \"{}\", \"entities\": {}, \"end_time\": {}, "
        "\"seed\": {}, \"sync\": \"{}\", \"ranks\": {}, \"threads\": {}, \"events\": {}, "
        "\"event_rate\": {:.0f}, "
        "\"init_seconds\": {:.4f}, \"run_seconds\": {:.4f}, \"wall_seconds\": {:.4f}, "
        "\"cpu_seconds\": {:.4f}, \"cpu_event_rate\": {:.0f}, \"peak_rss_bytes\": {}, "
        "\"efficiency\": {:.5f}, \"rolled_back\": {}, \"gvt_rounds\": {}, "
        "\"peak_saved_bytes\": {}}}\n",
        argv[1], entities, r.end_time, r.seed, f.sync, f.ranks, f.threads, f.events_processed, f.event_rate,
        f.init_seconds, f.run_seconds, f.wall_seconds, cpu,
        cpu > 0 ? static_cast<double>(f.events_processed) / cpu : 0.0, f.peak_rss_bytes,
        f.efficiency, f.events_rolled_back, f.gvt_rounds, f.peak_saved_bytes);
    return 0;
  } catch (const dsim::Error& e) {
    std::fprintf(stderr, "bench_model: %s\n", e.what());
    return e.kind() == dsim::Error::Kind::kInput ? 2 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_model: %s\n", e.what());
    return 1;
  }
}
