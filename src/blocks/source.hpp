// source: generates jobs. The first job arrives at `start` + one interarrival
// time, each later one an interarrival time after the previous; each goes to
// an out-neighbour (by link weight) after `transfer`. Stops after `limit` jobs
// (0: never).
#pragma once

#include <cstdint>

#include "blocks/blocks.hpp"

namespace dsim::blocks {

class Source {
 public:
  struct State {
    std::uint64_t generated = 0;
  };
  struct Arrive {  // to self: the next job is due
    static constexpr std::string_view dsim_name = "blocks.source.arrive";
  };
  using Events = dsim::Events<Arrive>;

  static void declare(ParamSpec& params);
  explicit Source(Setup& setup);

  void init(State& state, Context& ctx) const;
  void on(State& state, const Arrive&, Context& ctx) const;

 private:
  Distribution interarrival_;
  std::uint64_t limit_;
  Time start_;
  Time transfer_;
  Counter generated_;
};

}  // namespace dsim::blocks
