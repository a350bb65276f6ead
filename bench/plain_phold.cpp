// The yardstick for dsim's per-event cost: PHOLD as a plain sequential loop
// over a std::priority_queue, with no engine around it.
//
// It does the same work as models/phold with dsim's sequential engine: the same
// rules, the same per-entity Philox streams (dsim::Random keyed by seed, entity
// id, stream 0), drawn in the same order, and the same `now + delay`
// arithmetic, so for equal arguments it processes the same events.
//
// Usage: plain_phold [entities [end_time [remote [lookahead [mean [seed [start_events]]]]]]]
// Defaults: 16384 2000 0.1 1 1 1 1 (models/phold/phold.toml).
// Prints one JSON line: events, event_rate (events per second of the event
// loop), init_seconds, run_seconds, cpu_seconds (process CPU time of set-up
// and loop: less disturbed than wall time on a busy machine), cpu_event_rate
// (events per CPU second), peak_rss_bytes.
#include <sys/resource.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <queue>
#include <string>
#include <vector>

#include "dsim/random.hpp"

namespace {

struct Event {
  double time;
  std::uint64_t tie;  // insertion order: the loop is sequential, so this is deterministic
  std::uint32_t target;
};

struct Later {
  bool operator()(const Event& a, const Event& b) const {
    return a.time > b.time || (a.time == b.time && a.tie > b.tie);
  }
};

struct Entity {
  std::uint64_t rng_counter = 0;
  std::uint64_t received = 0;
};

double arg(int argc, char** argv, int i, double fallback) {
  if (i >= argc) return fallback;
  char* end = nullptr;
  const double v = std::strtod(argv[i], &end);
  if (end == argv[i] || *end != '\0') {
    std::fprintf(stderr, "plain_phold: argument %d '%s' is not a number\n", i, argv[i]);
    std::exit(2);
  }
  return v;
}

double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  const auto entities = static_cast<std::uint32_t>(arg(argc, argv, 1, 16384));
  const double end_time = arg(argc, argv, 2, 2000.0);
  const double remote = arg(argc, argv, 3, 0.1);
  const double lookahead = arg(argc, argv, 4, 1.0);
  const double mean = arg(argc, argv, 5, 1.0);
  const auto seed = static_cast<std::uint64_t>(arg(argc, argv, 6, 1));
  const auto start_events = static_cast<std::uint64_t>(arg(argc, argv, 7, 1));
  if (entities == 0 || !(end_time > 0) || !(remote >= 0 && remote <= 1) || !(lookahead >= 0) ||
      !(mean > 0)) {
    std::fprintf(stderr,
                 "plain_phold: need entities > 0, end_time > 0, 0 <= remote <= 1, "
                 "lookahead >= 0, mean > 0\n");
    return 2;
  }

  const double cpu_start = cpu_seconds();
  const auto t_init = std::chrono::steady_clock::now();
  std::vector<Entity> table(entities);
  std::vector<Event> storage;
  storage.reserve(static_cast<std::size_t>(entities) * start_events);
  std::priority_queue<Event, std::vector<Event>, Later> queue(Later{}, std::move(storage));
  std::uint64_t tie = 0;
  for (std::uint32_t id = 0; id < entities; ++id) {
    dsim::Random rng(seed, id, 0, &table[id].rng_counter);
    for (std::uint64_t i = 0; i < start_events; ++i)
      queue.push({lookahead + rng.exponential(mean), tie++, id});
  }
  const double init_seconds = seconds_since(t_init);

  const auto t_run = std::chrono::steady_clock::now();
  std::uint64_t events = 0;
  while (!queue.empty() && queue.top().time < end_time) {
    const Event ev = queue.top();
    queue.pop();
    ++events;
    Entity& self = table[ev.target];
    ++self.received;
    dsim::Random rng(seed, ev.target, 0, &self.rng_counter);
    std::uint32_t target = ev.target;
    if (rng.bernoulli(remote)) target = static_cast<std::uint32_t>(rng.below(entities));
    queue.push({ev.time + (lookahead + rng.exponential(mean)), tie++, target});
  }
  const double run_seconds = seconds_since(t_run);
  const double cpu = cpu_seconds() - cpu_start;

  std::uint64_t received = 0;  // cross-check, and keeps the loop's work observable
  for (const Entity& e : table) received += e.received;
  if (received != events) {
    std::fprintf(stderr, "plain_phold: internal error: %llu != %llu\n",
                 static_cast<unsigned long long>(received),
                 static_cast<unsigned long long>(events));
    return 1;
  }

  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::printf(
      "{\"impl\": \"plain\", \"entities\": %u, \"end_time\": %g, \"remote\": %g, "
      "\"lookahead\": %g, \"mean\": %g, \"seed\": %llu, \"events\": %llu, "
      "\"event_rate\": %.0f, \"init_seconds\": %.4f, \"run_seconds\": %.4f, "
      "\"cpu_seconds\": %.4f, \"cpu_event_rate\": %.0f, \"peak_rss_bytes\": %llu}\n",
      entities, end_time, remote, lookahead, mean, static_cast<unsigned long long>(seed),
      static_cast<unsigned long long>(events), run_seconds > 0 ? events / run_seconds : 0.0,
      init_seconds, run_seconds, cpu, cpu > 0 ? events / cpu : 0.0,
      static_cast<unsigned long long>(usage.ru_maxrss) * 1024ull);
  return 0;
}
