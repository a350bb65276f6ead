// SIR / SEIR epidemic on a contact network.
//
// Each entity is a person; its contacts are its out-neighbours from the
// config's links (typically a small_world or edge_list topology within the
// group). A person is Susceptible, Exposed (SEIR only), Infectious or
// Recovered:
//
//   - At time 0 each person is infectious with probability `initial_infected`
//     (drawn from its own stream), otherwise susceptible.
//   - On becoming infectious a person draws its infectious period D and, for
//     each neighbour, a transmission time T ~ Exp(rate beta); if T < D it
//     sends that neighbour a Contact arriving `latency + T` later. It sends
//     itself Recover at delay D.
//   - A Contact infects a susceptible person (counter `infections`), who turns
//     infectious at once (SIR) or after an incubation period (SEIR). Contacts
//     to anyone else have no effect.
//
// Exposed and infectious periods are exponential with means `incubation` and
// `recovery` (the Markovian SIR/SEIR), so the per-contact transmission
// probability is beta * recovery / (1 + beta * recovery). The events a person
// sends itself need no lookahead; contacts arrive at least `latency` after
// they are sent, so the link's lookahead must not exceed `latency`.
//
// Statistics: gauges `susceptible`, `exposed`, `infected` (infectious),
// `recovered`, each 0 or 1 per person, so the group's sum is the compartment
// size, and [output] sample_interval gives the S/E/I/R time series; counter
// `infections` (transmissions; the initial cases are not counted).
#pragma once

#include <cstdint>

#include "dsim/context.hpp"
#include "dsim/params.hpp"
#include "dsim/registry.hpp"
#include "dsim/setup.hpp"
#include "dsim/stats.hpp"

namespace dsim::models {

class Epidemic {
 public:
  enum class Compartment : std::uint8_t { kSusceptible, kExposed, kInfectious, kRecovered };
  struct State {
    Compartment compartment = Compartment::kSusceptible;
  };
  struct Contact {  // from an infectious neighbour
    static constexpr std::string_view dsim_name = "epidemic.contact";
  };
  struct Infectious {  // to itself: end of incubation (SEIR)
    static constexpr std::string_view dsim_name = "epidemic.infectious";
  };
  struct Recover {  // to itself: end of the infectious period
    static constexpr std::string_view dsim_name = "epidemic.recover";
  };
  using Events = dsim::Events<Contact, Infectious, Recover>;

  static void declare(ParamSpec& params);
  // Throws dsim::Error naming the parameter and its value when out of range
  // (the model loader prefixes the config location and group).
  explicit Epidemic(Setup& setup);

  void init(State& state, Context& ctx) const;
  void on(State& state, const Contact& contact, Context& ctx) const;
  void on(State& state, const Infectious& infectious, Context& ctx) const;
  void on(State& state, const Recover& recover, Context& ctx) const;

 private:
  void move(State& state, Compartment to, Context& ctx) const;
  void become_infectious(Context& ctx) const;
  Gauge gauge(Compartment c) const;

  bool seir_;
  double beta_;
  double incubation_;
  double recovery_;
  double initial_infected_;
  double latency_;
  Gauge susceptible_;
  Gauge exposed_;
  Gauge infected_;
  Gauge recovered_;
  Counter infections_;
};

// Registers the type as "epidemic".
void register_epidemic(Registry& registry);

}  // namespace dsim::models
