#include "models/phold/phold.hpp"

#include <cmath>
#include <string>

#include "dsim/types.hpp"

namespace dsim::models {

namespace {

[[noreturn]] void bad_param(const char* name, double value, const char* requirement) {
  throw Error("parameter '" + std::string(name) + "' = " + to_string(ParamValue{value}) + " " +
              requirement);
}

}  // namespace

void Phold::declare(ParamSpec& params) {
  params.add("start_events", 1, "events each entity schedules for itself at start")
      .add("remote", 0.1, "probability that an event's successor goes to a random entity")
      .add("lookahead", 1.0, "fixed part of every delay (>= the link's lookahead)")
      .add("mean", 1.0, "mean of the exponential part of every delay");
}

Phold::Phold(Setup& setup)
    : start_events_(setup.param_int("start_events")),
      remote_(setup.param_real("remote")),
      lookahead_(setup.param_real("lookahead")),
      mean_(setup.param_real("mean")),
      events_(setup.counter("events", "events handled")) {
  if (start_events_ < 0)
    bad_param("start_events", static_cast<double>(start_events_), "must be >= 0");
  if (!(remote_ >= 0.0 && remote_ <= 1.0)) bad_param("remote", remote_, "must be in [0, 1]");
  if (!(lookahead_ >= 0.0 && std::isfinite(lookahead_)))
    bad_param("lookahead", lookahead_, "must be finite and >= 0");
  // mean > 0 keeps every delay positive, so simulated time advances.
  if (!(mean_ > 0.0 && std::isfinite(mean_))) bad_param("mean", mean_, "must be finite and > 0");
}

void Phold::init(State&, Context& ctx) const {
  for (std::int64_t i = 0; i < start_events_; ++i)
    ctx.send(ctx.self(), Ping{}, lookahead_ + ctx.rng().exponential(mean_));
}

void Phold::on(State&, const Ping&, Context& ctx) const {
  ctx.add(events_);
  Random& rng = ctx.rng();
  EntityId target = ctx.self();
  if (rng.bernoulli(remote_))
    target = ctx.group_first() + static_cast<EntityId>(rng.below(ctx.group_size()));
  ctx.send(target, Ping{}, lookahead_ + rng.exponential(mean_));
}

void register_phold(Registry& registry) {
  registry.add<Phold>("phold",
                      "PHOLD benchmark: each event sends one successor to itself or, with "
                      "probability `remote`, to a random entity of the group");
}

}  // namespace dsim::models
