#include "blocks/source.hpp"

#include <cmath>

#include "blocks/common.hpp"

namespace dsim::blocks {

void Source::declare(ParamSpec& params) {
  params.add_distribution("interarrival", "exp(mean=1)", "time between consecutive jobs")
      .add("limit", 0, "number of jobs to generate; 0: unlimited")
      .add("start", 0.0, "time the source starts; the first job comes one interarrival later");
  declare_transfer(params);
}

Source::Source(Setup& setup)
    : interarrival_(setup.param_distribution("interarrival")),
      limit_(0),
      start_(setup.param_real("start")),
      transfer_(read_transfer(setup)),
      generated_(setup.counter("generated", "jobs generated")) {
  const std::int64_t limit = setup.param_int("limit");
  if (limit < 0) bad_param("limit", limit, "must be >= 0 (0: unlimited)");
  limit_ = static_cast<std::uint64_t>(limit);
  if (!(start_ >= 0.0 && std::isfinite(start_)))
    bad_param("start", start_, "must be finite and >= 0");
  // A source whose clock never advances would generate forever at one instant.
  if (limit_ == 0 && interarrival_.kind() == Distribution::Kind::kConst &&
      !(interarrival_.mean() > 0))
    bad_param("interarrival", interarrival_.to_string(), "must be > 0 when limit is 0 (unlimited)");
}

void Source::init(State&, Context& ctx) const {
  require_neighbours(ctx);
  ctx.send(ctx.self(), Arrive{}, start_ + draw_duration(interarrival_, ctx.rng()));
}

void Source::on(State& state, const Arrive&, Context& ctx) const {
  const Job job{ctx.now(), state.generated};
  ++state.generated;
  ctx.add(generated_);
  ctx.send(pick_neighbour(ctx), job, transfer_);
  if (limit_ == 0 || state.generated < limit_)
    ctx.send(ctx.self(), Arrive{}, draw_duration(interarrival_, ctx.rng()));
}

}  // namespace dsim::blocks
