// router: sends each arriving job on at once (after `transfer`) to one
// out-neighbour, drawn with probability proportional to the link weights.
// Statistics: counter routed.
#pragma once

#include "blocks/blocks.hpp"

namespace dsim::blocks {

class Router {
 public:
  struct State {};
  using Events = dsim::Events<Job>;

  static void declare(ParamSpec& params);
  explicit Router(Setup& setup);

  void init(State& state, Context& ctx) const;
  void on(State& state, const Job& job, Context& ctx) const;

 private:
  Time transfer_;
  Counter routed_;
};

}  // namespace dsim::blocks
