// PHOLD, the standard synthetic benchmark of parallel discrete-event engines
// (Fujimoto 1990), with the meaning ROSS gives its parameters.
//
// A fixed population of events circulates among the entities of one group.
// Each entity starts with `start_events` events scheduled for itself. Handling
// an event sends exactly one new event: with probability `remote` to an entity
// drawn uniformly from the whole group (itself included, as in ROSS), otherwise
// to itself, at delay `lookahead + Exp(mean)`. The handler does almost nothing
// else, so the event rate measures the engine's per-event cost.
//
// Initial events: each is scheduled at `lookahead + Exp(mean)`, the same delay
// as every later event. (ROSS adds an entity-dependent offset to the initial
// times; we do not, so the population is in steady state from the start.)
//
// Draws per event, in order: one uniform (remote or not), one bounded integer
// when remote (Lemire; it may redraw), one exponential. bench/plain_phold.cpp
// makes the same draws from the same streams.
//
// The group must declare a link to itself whose lookahead is <= `lookahead`:
//   [[links]]
//   from = "phold"
//   to = "phold"
//   topology = "any"
//   lookahead = 1.0
#pragma once

#include <cstdint>

#include "dsim/context.hpp"
#include "dsim/params.hpp"
#include "dsim/registry.hpp"
#include "dsim/setup.hpp"
#include "dsim/stats.hpp"

namespace dsim::models {

class Phold {
 public:
  // Nothing: the `events` counter is the entity's only fact, and it lives in
  // the engine's statistics (an empty State takes no memory per entity).
  struct State {};
  struct Ping {
    static constexpr std::string_view dsim_name = "phold.ping";
  };
  using Events = dsim::Events<Ping>;

  static void declare(ParamSpec& params);
  // Throws dsim::Error naming the parameter and its value when out of range
  // (the model loader prefixes the config location and group).
  explicit Phold(Setup& setup);

  void init(State& state, Context& ctx) const;
  void on(State& state, const Ping& ping, Context& ctx) const;

 private:
  std::int64_t start_events_;
  double remote_;
  double lookahead_;
  double mean_;
  Counter events_;
};

// Registers the type as "phold".
void register_phold(Registry& registry);

}  // namespace dsim::models
