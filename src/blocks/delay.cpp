#include "blocks/delay.hpp"

#include "blocks/common.hpp"

namespace dsim::blocks {

void Delay::declare(ParamSpec& params) {
  params.add_distribution("delay", "exp(mean=1)", "time each job is held");
  declare_transfer(params);
}

Delay::Delay(Setup& setup)
    : delay_(setup.param_distribution("delay")),
      transfer_(read_transfer(setup)),
      passed_(setup.counter("passed", "jobs that finished their delay")),
      delay_tally_(setup.tally("delay", "time each job was held")),
      in_system_(setup.gauge("in_system", "jobs being held")) {}

void Delay::init(State&, Context& ctx) const { require_neighbours(ctx); }

void Delay::on(State& state, const Job& job, Context& ctx) const {
  ++state.held;
  ctx.set(in_system_, static_cast<double>(state.held));
  ctx.send(ctx.self(), Release{ctx.now(), job.created, job.id}, draw_duration(delay_, ctx.rng()));
}

void Delay::on(State& state, const Release& release, Context& ctx) const {
  --state.held;
  ctx.set(in_system_, static_cast<double>(state.held));
  ctx.add(passed_);
  ctx.record(delay_tally_, ctx.now() - release.arrival);
  ctx.send(pick_neighbour(ctx), Job{release.created, release.id}, transfer_);
}

}  // namespace dsim::blocks
