#include "models/epidemic/epidemic.hpp"

#include <cmath>
#include <string>

#include "dsim/types.hpp"

namespace dsim::models {

namespace {

[[noreturn]] void bad_param(const char* name, const ParamValue& value,
                            const std::string& requirement) {
  throw Error("parameter '" + std::string(name) + "' = " + to_string(value) + " " + requirement);
}

bool finite_at_least(double v, double lo) { return std::isfinite(v) && v >= lo; }

}  // namespace

void Epidemic::declare(ParamSpec& params) {
  params.add("model", "SIR", "\"SIR\" or \"SEIR\"")
      .add("beta", 0.1, "transmission rate per infectious-susceptible contact (per time unit)")
      .add("incubation", 3.0, "mean exposed period (SEIR only)")
      .add("recovery", 5.0, "mean infectious period")
      .add("initial_infected", 0.001, "probability that a person is infectious at time 0")
      .add("latency", 0.1, "delay of a contact after transmission; >= the link's lookahead");
}

Epidemic::Epidemic(Setup& setup)
    : beta_(setup.param_real("beta")),
      incubation_(setup.param_real("incubation")),
      recovery_(setup.param_real("recovery")),
      initial_infected_(setup.param_real("initial_infected")),
      latency_(setup.param_real("latency")),
      susceptible_(setup.gauge("susceptible", "1 while susceptible")),
      exposed_(setup.gauge("exposed", "1 while exposed (SEIR)")),
      infected_(setup.gauge("infected", "1 while infectious")),
      recovered_(setup.gauge("recovered", "1 once recovered")),
      infections_(setup.counter("infections", "transmissions received")) {
  const std::string& model = setup.param_string("model");
  if (model != "SIR" && model != "SEIR") bad_param("model", model, "must be \"SIR\" or \"SEIR\"");
  seir_ = model == "SEIR";
  if (!finite_at_least(latency_, 0.0)) bad_param("latency", latency_, "must be finite and >= 0");
  if (!finite_at_least(beta_, 0.0)) bad_param("beta", beta_, "must be finite and >= 0");
  if (!(recovery_ > 0.0 && std::isfinite(recovery_)))
    bad_param("recovery", recovery_, "must be finite and > 0");
  if (seir_ && !(incubation_ > 0.0 && std::isfinite(incubation_)))
    bad_param("incubation", incubation_, "must be finite and > 0");
  if (!(initial_infected_ >= 0.0 && initial_infected_ <= 1.0))
    bad_param("initial_infected", initial_infected_, "must be in [0, 1]");
}

Gauge Epidemic::gauge(Compartment c) const {
  switch (c) {
    case Compartment::kSusceptible:
      return susceptible_;
    case Compartment::kExposed:
      return exposed_;
    case Compartment::kInfectious:
      return infected_;
    case Compartment::kRecovered:
      break;
  }
  return recovered_;
}

void Epidemic::move(State& state, Compartment to, Context& ctx) const {
  ctx.set(gauge(state.compartment), 0.0);
  ctx.set(gauge(to), 1.0);
  state.compartment = to;
}

void Epidemic::init(State& state, Context& ctx) const {
  if (ctx.rng().bernoulli(initial_infected_)) {
    state.compartment = Compartment::kInfectious;
    ctx.set(infected_, 1.0);
    become_infectious(ctx);
  } else {
    ctx.set(susceptible_, 1.0);
  }
}

// The caller has already moved the person to Infectious.
void Epidemic::become_infectious(Context& ctx) const {
  Random& rng = ctx.rng();
  const double period = rng.exponential(recovery_);
  if (beta_ > 0.0) {
    const double mean_transmission = 1.0 / beta_;
    for (EntityId neighbour : ctx.neighbours()) {
      const double t = rng.exponential(mean_transmission);
      if (t < period) ctx.send(neighbour, Contact{}, latency_ + t);
    }
  }
  ctx.send(ctx.self(), Recover{}, period);
}

void Epidemic::on(State& state, const Contact&, Context& ctx) const {
  if (state.compartment != Compartment::kSusceptible) return;
  ctx.add(infections_);
  if (seir_) {
    move(state, Compartment::kExposed, ctx);
    ctx.send(ctx.self(), Infectious{}, ctx.rng().exponential(incubation_));
  } else {
    move(state, Compartment::kInfectious, ctx);
    become_infectious(ctx);
  }
}

void Epidemic::on(State& state, const Infectious&, Context& ctx) const {
  move(state, Compartment::kInfectious, ctx);
  become_infectious(ctx);
}

void Epidemic::on(State& state, const Recover&, Context& ctx) const {
  move(state, Compartment::kRecovered, ctx);
}

void register_epidemic(Registry& registry) {
  registry.add<Epidemic>("epidemic", "SIR/SEIR epidemic: people infect their network neighbours");
}

}  // namespace dsim::models
