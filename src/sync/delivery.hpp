// The glue between partitions and the Transport: what a partition left in its
// outboxes goes to the transport as one batch per destination, and what the
// transport drains for a partition goes into its queue. The transport knows
// only partition ids and events; the partition only its outboxes and queue.
// (The optimistic engine, which also sends anti-messages and receives into
// rollback, has its own pair in optimistic.cpp.)
//
// Templates over the partition type: anything with id(), outbox(p) and
// enqueue(ev).
#pragma once

#include <cstdint>
#include <span>

#include "core/event.hpp"
#include "transport/transport.hpp"

namespace dsim::detail {

// Hands every event `from` left in its outboxes to the transport,
// one batch per destination partition. Called by `from`'s thread.
template <class P>
void send_outboxes(Transport& transport, P& from) {
  const std::uint32_t partitions = transport.partitions();
  for (std::uint32_t to = 0; to < partitions; ++to) {
    auto& box = from.outbox(to);
    if (!box.empty()) transport.send(from.id(), to, Channel::kEvents, box);
  }
}

// Puts every event that arrived for `to` into its queue; returns whether
// there was any. Called by `to`'s thread.
template <class P>
bool enqueue_arrivals(Transport& transport, P& to) {
  return transport.drain(to.id(), [&](std::uint32_t, Channel, std::span<const Event> events) {
    for (const Event& e : events) to.enqueue(e);
  });
}

// After init: every event the partitions (of every process) sent to others
// is in its receiver's queue. A collective: every process calls it.
template <class Partitions>
void deliver_initial_events(Transport& transport, Partitions& partitions) {
  for (auto& p : partitions) send_outboxes(transport, *p);
  transport.quiesce();
  for (auto& p : partitions) enqueue_arrivals(transport, *p);
}

}  // namespace dsim::detail
