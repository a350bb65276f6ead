#include "blocks/blocks.hpp"

#include "blocks/delay.hpp"
#include "blocks/queue.hpp"
#include "blocks/router.hpp"
#include "blocks/sink.hpp"
#include "blocks/source.hpp"

namespace dsim::blocks {

void register_blocks(Registry& registry) {
  registry.add<Source>("source", "generates jobs with random interarrival times");
  registry.add<Queue>("queue",
                      "FIFO station with 1 to 64 servers and optional capacity (blocking)");
  registry.add<Delay>("delay", "holds each job for a random time (infinite servers)");
  registry.add<Router>("router", "sends each job to an out-neighbour chosen by link weight");
  registry.add<Sink>("sink", "absorbs jobs, records their time since creation");
}

}  // namespace dsim::blocks
