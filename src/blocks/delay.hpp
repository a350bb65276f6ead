// delay: an infinite-server station. Every arriving job is held for its own
// draw of `delay`, then goes to an out-neighbour (by link weight) after
// `transfer`. Statistics: counter passed, tally delay (time held), gauge
// in_system (jobs held).
#pragma once

#include <cstdint>

#include "blocks/blocks.hpp"

namespace dsim::blocks {

class Delay {
 public:
  struct State {
    std::uint64_t held = 0;
  };
  // To self: a job's delay is over.
  struct Release {
    static constexpr std::string_view dsim_name = "blocks.delay.release";
    Time arrival;
    Time created;
    std::uint64_t id;
  };
  using Events = dsim::Events<Job, Release>;

  static void declare(ParamSpec& params);
  explicit Delay(Setup& setup);

  void init(State& state, Context& ctx) const;
  void on(State& state, const Job& job, Context& ctx) const;
  void on(State& state, const Release& release, Context& ctx) const;

 private:
  Distribution delay_;
  Time transfer_;
  Counter passed_;
  Tally delay_tally_;
  Gauge in_system_;
};

}  // namespace dsim::blocks
