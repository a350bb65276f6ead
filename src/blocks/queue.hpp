// queue: a FIFO station with `servers` identical servers and room for
// `capacity` jobs in all (waiting + in service; 0: unlimited). A job that
// arrives to a full station is blocked: counted and dropped.
//
// How it works. Service times are iid and independent of everything else, so
// the service time of a job may be drawn when it arrives instead of when it
// starts; then the start of every FIFO job is known at its arrival from the
// servers' workload (Kiefer-Wolfowitz): start = max(arrival, earliest time a
// server runs out of assigned work), and that server's free time moves to
// start + service. The job travels in its own departure event (sent to self
// at arrival), so the state holds no line of waiting jobs, only the servers'
// free times and two counts: no limit on the waiting line, and a small state
// (528 bytes with kMaxServers = 64) that is cheap to save for Time Warp.
// At a departure a waiting job, if any, starts on the freed server (it is the
// one assigned to that server), which keeps the gauges exact.
//
// Statistics: counters arrivals (blocked ones included), departures, blocked;
// tallies wait (start - arrival) and sojourn (departure - arrival), recorded
// at departure; gauges queue_length (waiting), busy_servers, in_system.
#pragma once

#include <array>
#include <cstdint>

#include "blocks/blocks.hpp"

namespace dsim::blocks {

class Queue {
 public:
  // More parallel servers: use several queues behind a router, or `delay`
  // (infinite servers).
  static constexpr std::uint32_t kMaxServers = 64;

  struct State {
    std::uint32_t waiting = 0;  // jobs in line, not in service
    std::uint32_t busy = 0;     // servers serving a job
    std::uint32_t unused = 0;   // explicit padding: state bytes are checkpointed
    std::uint32_t unused2 = 0;
    // When server i runs out of the work assigned to it so far (<= now: idle).
    std::array<Time, kMaxServers> free_at{};
  };
  // To self: a job leaves, at the end of its service.
  struct Done {
    static constexpr std::string_view dsim_name = "blocks.queue.done";
    Time arrival;  // at this queue
    Time start;    // of service
    Time created;
    std::uint64_t id;
  };
  using Events = dsim::Events<Job, Done>;

  static void declare(ParamSpec& params);
  explicit Queue(Setup& setup);

  void init(State& state, Context& ctx) const;
  void on(State& state, const Job& job, Context& ctx) const;
  void on(State& state, const Done& done, Context& ctx) const;

 private:
  void set_gauges(const State& state, Context& ctx) const;

  std::uint32_t servers_;
  std::uint64_t capacity_;  // 0: unlimited
  Distribution service_;
  Time transfer_;
  Counter arrivals_, departures_, blocked_;
  Tally wait_, sojourn_;
  Gauge queue_length_, busy_servers_, in_system_;
};

}  // namespace dsim::blocks
