#include "blocks/queue.hpp"

#include <algorithm>
#include <string>

#include "blocks/common.hpp"

namespace dsim::blocks {

static_assert(sizeof(Queue::State) == 16 + 8 * Queue::kMaxServers);
static_assert(sizeof(Queue::Done) == kMaxPayloadBytes);

void Queue::declare(ParamSpec& params) {
  params.add("servers", 1, "number of identical servers (1 to 64)")
      .add("capacity", 0, "most jobs in the station, waiting plus in service; 0: unlimited")
      .add_distribution("service", "exp(mean=1)", "service time of one job");
  declare_transfer(params);
}

Queue::Queue(Setup& setup)
    : servers_(1),
      capacity_(0),
      service_(setup.param_distribution("service")),
      transfer_(read_transfer(setup)),
      arrivals_(setup.counter("arrivals", "jobs that arrived, blocked ones included")),
      departures_(setup.counter("departures", "jobs that finished service")),
      blocked_(setup.counter("blocked", "jobs turned away because the station was full")),
      wait_(setup.tally("wait", "time from arrival to start of service (departed jobs)")),
      sojourn_(setup.tally("sojourn", "time from arrival to departure")),
      queue_length_(setup.gauge("queue_length", "jobs waiting, not in service")),
      busy_servers_(setup.gauge("busy_servers", "servers serving a job")),
      in_system_(setup.gauge("in_system", "jobs waiting or in service")) {
  const std::int64_t servers = setup.param_int("servers");
  if (servers < 1 || servers > kMaxServers)
    bad_param("servers", servers,
              "must be between 1 and " + std::to_string(kMaxServers) +
                  " (for more parallel servers use a 'delay' block or several queues)");
  servers_ = static_cast<std::uint32_t>(servers);
  const std::int64_t capacity = setup.param_int("capacity");
  if (capacity < 0) bad_param("capacity", capacity, "must be >= 0 (0: unlimited)");
  if (capacity > 0 && capacity < servers)
    bad_param("capacity", capacity,
              "must be 0 (unlimited) or at least servers (" + std::to_string(servers) + ")");
  capacity_ = static_cast<std::uint64_t>(capacity);
}

void Queue::init(State&, Context& ctx) const { require_neighbours(ctx); }

void Queue::set_gauges(const State& state, Context& ctx) const {
  ctx.set(queue_length_, state.waiting);
  ctx.set(busy_servers_, state.busy);
  ctx.set(in_system_, state.waiting + state.busy);
}

void Queue::on(State& state, const Job& job, Context& ctx) const {
  ctx.add(arrivals_);
  const std::uint64_t in_system = std::uint64_t{state.waiting} + state.busy;
  if (capacity_ != 0 && in_system >= capacity_) {
    ctx.add(blocked_);
    return;
  }
  if (state.waiting == UINT32_MAX) ctx.fail("more than 4294967295 jobs waiting");
  // The server that runs out of assigned work first (lowest index on ties).
  std::uint32_t server = 0;
  for (std::uint32_t i = 1; i < servers_; ++i)
    if (state.free_at[i] < state.free_at[server]) server = i;
  const Time now = ctx.now();
  const Time service = draw_duration(service_, ctx.rng());
  Time start = now;
  if (state.busy < servers_) {
    // Some server has no work: free_at[server] <= now. (If its free time is
    // exactly now, its departure may still be pending; the job starts now
    // all the same, and that departure finds nobody waiting.)
    ++state.busy;
  } else {
    // All busy: every free time is >= now, and this job starts at the first.
    // (max: the departure event's time, now + delay, may round one ulp off
    // the free time it was computed from.)
    start = std::max(state.free_at[server], now);
    ++state.waiting;
  }
  state.free_at[server] = start + service;
  ctx.send(ctx.self(), Done{now, start, job.created, job.id}, start + service - now);
  set_gauges(state, ctx);
}

void Queue::on(State& state, const Done& done, Context& ctx) const {
  // A waiting job, if any, takes the freed server now (it was assigned to it).
  if (state.waiting > 0)
    --state.waiting;
  else
    --state.busy;
  set_gauges(state, ctx);
  ctx.add(departures_);
  ctx.record(wait_, done.start - done.arrival);
  ctx.record(sojourn_, ctx.now() - done.arrival);
  ctx.send(pick_neighbour(ctx), Job{done.created, done.id}, transfer_);
}

}  // namespace dsim::blocks
