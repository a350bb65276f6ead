#include "blocks/router.hpp"

#include "blocks/common.hpp"

namespace dsim::blocks {

void Router::declare(ParamSpec& params) { declare_transfer(params); }

Router::Router(Setup& setup)
    : transfer_(read_transfer(setup)), routed_(setup.counter("routed", "jobs sent on")) {}

void Router::init(State&, Context& ctx) const { require_neighbours(ctx); }

void Router::on(State&, const Job& job, Context& ctx) const {
  ctx.add(routed_);
  ctx.send(pick_neighbour(ctx), job, transfer_);
}

}  // namespace dsim::blocks
