// sink: absorbs jobs. Statistics: counter count, tally sojourn (time since
// the job was created).
#pragma once

#include "blocks/blocks.hpp"

namespace dsim::blocks {

class Sink {
 public:
  struct State {};
  using Events = dsim::Events<Job>;

  explicit Sink(Setup& setup);
  void on(State& state, const Job& job, Context& ctx) const;

 private:
  Counter count_;
  Tally sojourn_;
};

}  // namespace dsim::blocks
