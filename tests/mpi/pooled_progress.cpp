// Progress under MPI is the whole job's (RunOptions::on_progress): each
// process holds a share of the partitions, and at a publication the
// processes pool their figures at a quiet point. Run by
// tests/scripts/mpi_progress.sh under mpirun (2 and 3 ranks), for the
// conservative and the optimistic engine on the epidemic model (it has
// series). Rank 0 watches with the series, rank 1 without asking for them,
// the others do not watch at all (they still take part in the pooling).
// Each watcher checks every update it got:
//  - it covers every process and every partition of the run, and the
//    partitions' events add up to the run's;
//  - its memory figure is there;
//  - its series (rank 1 gets them too: any watcher's wish pools them for all)
//    are, bit for bit, a prefix of the series the finished run returns;
//  - some update had series values, and simulated time never went back.
// The result must be the one-process sequential run's. Prints one line per
// check that fails, and a verdict; exits non-zero on any failure.
#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "dsim/dsim.hpp"
#include "dsim/reference_models.hpp"

namespace {

dsim::ModelSpec epidemic(const dsim::Registry& registry, const char* source_dir,
                         const std::string& sync, std::uint32_t threads) {
  // 30,000 people; fewer under the sanitizers (DSIM_TEST_SCALE=0.1).
  const char* scale_text = std::getenv("DSIM_TEST_SCALE");
  const double scale = scale_text != nullptr ? std::atof(scale_text) : 1.0;
  const int people = std::max(6000, static_cast<int>(30000 * (scale > 0 ? scale : 1.0)));
  auto spec = dsim::load_model(std::string(source_dir) + "/models/epidemic/epidemic.toml",
                               {"entities.people.count=" + std::to_string(people),
                                "simulation.sync=\"" + sync + "\"",
                                "simulation.threads=" + std::to_string(threads)});
  dsim::validate(spec, registry);
  return spec;
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

struct Checker {
  int rank;
  int failures = 0;
  void fail(const std::string& what) {
    std::printf("pooled_progress: rank %d: %s\n", rank, what.c_str());
    ++failures;
  }
};

// Checks the updates one watcher got against the finished run.
void check_updates(Checker& c, const std::string& label, const std::vector<dsim::Progress>& seen,
                   const dsim::RunResult& result, int ranks, std::uint32_t threads,
                   bool want_series) {
  if (seen.empty()) return c.fail(label + ": no update at all");
  bool any_series = false;
  std::uint64_t last_events = 0;
  for (std::size_t u = 0; u < seen.size(); ++u) {
    const dsim::Progress& p = seen[u];
    const std::string at = label + ": update " + std::to_string(u) + ": ";
    if (p.processes != static_cast<std::uint32_t>(ranks))
      c.fail(at + "pooled from " + std::to_string(p.processes) + " processes");
    const std::size_t parts = static_cast<std::size_t>(ranks) * threads;
    if (p.partition_events.size() != parts || p.partition_busy_seconds.size() != parts ||
        p.partition_blocked_seconds.size() != parts) {
      c.fail(at + std::to_string(p.partition_events.size()) + " partitions, want " +
             std::to_string(parts));
      continue;
    }
    std::uint64_t sum = 0;
    for (std::uint64_t e : p.partition_events) sum += e;
    if (sum != p.events)
      c.fail(at + "the partitions' events add up to " + std::to_string(sum) + ", the run's are " +
             std::to_string(p.events));
    if (p.events < last_events) c.fail(at + "events went down");
    last_events = p.events;
    if (p.rss_bytes == 0 || p.peak_rss_bytes < p.rss_bytes) c.fail(at + "no memory figure");
    if (!want_series) continue;
    if (p.series.size() != result.series.size()) {
      c.fail(at + std::to_string(p.series.size()) + " series, the result has " +
             std::to_string(result.series.size()));
      continue;
    }
    for (std::size_t i = 0; i < p.series.size(); ++i) {
      const dsim::SeriesResult& s = p.series[i];
      const dsim::SeriesResult& r = result.series[i];
      if (s.group != r.group || s.stat != r.stat) c.fail(at + "series " + s.group + "." + s.stat);
      if (s.values.size() > r.values.size() || s.times.size() != s.values.size()) {
        c.fail(at + s.group + "." + s.stat + ": more samples than the result");
        continue;
      }
      any_series = any_series || !s.values.empty();
      for (std::size_t k = 0; k < s.values.size(); ++k)
        if (!same_bits(s.values[k], r.values[k]) || !same_bits(s.times[k], r.times[k])) {
          c.fail(at + s.group + "." + s.stat + ": sample " + std::to_string(k) + " is " +
                 std::to_string(s.values[k]) + ", the result's " + std::to_string(r.values[k]));
          break;
        }
    }
  }
  if (want_series && !any_series) c.fail(label + ": no update had series values");
  // (The run may end between quiet points: the last update need not be near
  // the end, but time never goes back.)
  for (std::size_t u = 1; u < seen.size(); ++u)
    if (seen[u].now < seen[u - 1].now) c.fail(label + ": simulated time went back");
  if (!(seen.back().now > 0)) c.fail(label + ": no update past time 0");
}

}  // namespace

int main(int argc, char** argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_SERIALIZED, &provided);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const char* source_dir = argc > 1 ? argv[1] : ".";
  Checker c{rank};
  try {
    dsim::Registry registry;
    dsim::register_builtins(registry);
    dsim::register_reference_models(registry);
    const auto alone =
        dsim::Simulation(epidemic(registry, source_dir, "sequential", 1), registry).run();
    const std::uint32_t threads = 2;
    for (const std::string sync : {"conservative", "optimistic"}) {
      std::mutex mutex;
      std::vector<dsim::Progress> seen;
      dsim::RunOptions options;
      options.progress_interval = 0.01;
      if (rank <= 1)
        options.on_progress = [&](const dsim::Progress& p) {
          std::lock_guard lock(mutex);
          seen.push_back(p);
        };
      options.progress_series = rank == 0;
      MPI_Comm world;
      MPI_Comm_dup(MPI_COMM_WORLD, &world);
      dsim::RunResult result;
      {
        dsim::Environment env;
        env.communicator = dsim::Communicator::from_mpi(&world);
        result = dsim::Simulation(epidemic(registry, source_dir, sync, threads), registry, env)
                     .run(options);
      }
      MPI_Comm_free(&world);
      if (result.figures.events_processed != alone.figures.events_processed ||
          result.series.size() != alone.series.size())
        c.fail(sync + ": the result is not the sequential run's");
      for (std::size_t i = 0; i < result.series.size() && i < alone.series.size(); ++i)
        for (std::size_t k = 0; k < result.series[i].values.size(); ++k)
          if (k >= alone.series[i].values.size() ||
              !same_bits(result.series[i].values[k], alone.series[i].values[k])) {
            c.fail(sync + ": series " + result.series[i].stat + " differs from the sequential run's");
            break;
          }
      if (rank <= 1)
        check_updates(c, sync + (rank == 0 ? " (with series)" : " (series asked by rank 0)"),
                      seen, result, size, threads, true);
      else if (!seen.empty())
        c.fail(sync + ": a process without a consumer got updates");
    }
  } catch (const std::exception& e) {
    c.fail(e.what());
  }
  int total = 0;
  MPI_Allreduce(&c.failures, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (rank == 0) std::printf("pooled_progress: %d ranks, %d failure(s)\n", size, total);
  MPI_Finalize();
  return total == 0 ? 0 : 1;
}
