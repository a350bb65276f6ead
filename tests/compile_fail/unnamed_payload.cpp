// Must not compile: a payload type without a stable name (dsim/payload.hpp).
// tests/CMakeLists.txt builds it and expects the static_assert's message.
#include <dsim/dsim.hpp>

namespace {

struct Unnamed {
  struct State {};
  struct Ping {};  // no dsim_name, no DSIM_PAYLOAD
  using Events = dsim::Events<Ping>;
  explicit Unnamed(dsim::Setup&) {}
  void init(State&, dsim::Context& ctx) const { ctx.send(ctx.self(), Ping{}, 1.0); }
  void on(State&, const Ping&, dsim::Context&) const {}
};

}  // namespace

void register_unnamed(dsim::Registry& registry) { registry.add<Unnamed>("unnamed", ""); }
