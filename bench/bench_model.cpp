// Runs one model through dsim's public API and prints the run's figures as
// one JSON line, in the same shape as plain_phold's, so the two can be read
// side by side (bench/run_benchmarks.sh does).
//
// Usage: bench_model CONFIG [KEY=VALUE ...]
//   e.g. bench_model models/phold/phold.toml simulation.end_time=500 simulation.threads=2
// The overrides are those of `dsim run --set`. Results are not written out
// unless the config or an override names an output directory.
#include <fmt/format.h>

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "dsim/dsim.hpp"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CONFIG [KEY=VALUE ...]\n", argv[0]);
    return 2;
  }
  try {
    const std::vector<std::string> overrides(argv + 2, argv + argc);
    dsim::Registry registry;
    dsim::register_builtins(registry);
    dsim::Simulation sim(dsim::load_model(argv[1], overrides), registry);
    const dsim::RunResult r = sim.run();
    const dsim::RunFigures& f = r.figures;
    std::uint64_t entities = 0;
    for (const auto& g : sim.spec().groups) entities += g.count;
    fmt::print(
        "{{\"impl\": \"dsim\", \"config\": \"{}\", \"entities\": {}, \"end_time\": {}, "
        "\"seed\": {}, \"sync\": \"{}\", \"threads\": {}, \"events\": {}, \"event_rate\": {:.0f}, "
        "\"init_seconds\": {:.4f}, \"run_seconds\": {:.4f}, \"wall_seconds\": {:.4f}, "
        "\"peak_rss_bytes\": {}}}\n",
        argv[1], entities, r.end_time, r.seed, f.sync, f.threads, f.events_processed, f.event_rate,
        f.init_seconds, f.run_seconds, f.wall_seconds, f.peak_rss_bytes);
    return 0;
  } catch (const dsim::Error& e) {
    std::fprintf(stderr, "bench_model: %s\n", e.what());
    return e.kind() == dsim::Error::Kind::kInput ? 2 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_model: %s\n", e.what());
    return 1;
  }
}
