#include "blocks/sink.hpp"

namespace dsim::blocks {

Sink::Sink(Setup& setup)
    : count_(setup.counter("count", "jobs absorbed")),
      sojourn_(setup.tally("sojourn", "time from creation at a source to arrival here")) {}

void Sink::on(State&, const Job& job, Context& ctx) const {
  ctx.add(count_);
  ctx.record(sojourn_, ctx.now() - job.created);
}

}  // namespace dsim::blocks
