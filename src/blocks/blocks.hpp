// Built-in queueing blocks: source, queue, delay, router, sink. They are
// ordinary entity types written against the public API only (include/dsim/),
// exactly like a user model, and registered by dsim::register_builtins().
//
// Blocks pass Job events along the config's links: a block that must send a
// job picks one of its out-neighbours (ctx.neighbours()), with probability
// proportional to the link weights when there are several, and sends after
// its `transfer` delay (which must be >= the link's lookahead). A user entity
// type can take part in a block network by handling and sending Job, or its
// own struct of the same layout named "blocks.job" (dsim/payload.hpp).
//
// Parameters and statistics of each block: `dsim list`, or models/queueing/README.md.
#pragma once

#include <cstdint>

#include "dsim/dsim.hpp"

namespace dsim::blocks {

// A job (customer) travelling through a block network. Its name and layout
// are an interface: plugins may declare their own copy.
struct Job {
  static constexpr std::string_view dsim_name = "blocks.job";
  Time created;      // when its source generated it
  std::uint64_t id;  // per-source sequence number, from 0
};

// Registers "source", "queue", "delay", "router" and "sink".
void register_blocks(Registry& registry);

}  // namespace dsim::blocks
