// Helpers shared by the built-in blocks.
#pragma once

#include <cstdint>
#include <string_view>

#include "dsim/dsim.hpp"

namespace dsim::blocks {

// Throws dsim::Error: "parameter 'servers' = 0 must be >= 1". (The engine
// adds where: the config location, the group and its type.)
[[noreturn]] void bad_param(std::string_view name, const ParamValue& value,
                            std::string_view requirement);

// Reads the `transfer` parameter every block declares; it must be finite and >= 0.
Time read_transfer(const Setup& setup);

// Declares the `transfer` parameter.
void declare_transfer(ParamSpec& params);

// One draw of a duration; negative draws (normal, or a negative const) count as 0.
inline Time draw_duration(const Distribution& d, Random& rng) {
  const double x = d.sample(rng);
  return x > 0 ? x : 0.0;
}

// Fails the run (at init) if the entity has no out-neighbour to send jobs to,
// or if the weights of its out-links cannot route a job.
void require_neighbours(Context& ctx);

// The out-neighbour a leaving job goes to: the only one, or one drawn with
// probability proportional to the link weights (one uniform draw).
// Fails the run, naming the entity, if there is none.
EntityId pick_neighbour(Context& ctx);

}  // namespace dsim::blocks
