// The event envelope: a self-contained, trivially copyable 64-byte record that
// can be moved between partitions, threads or processes as plain bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "dsim/types.hpp"

namespace dsim::detail {

struct Event {
  Time time;           // when the event happens
  std::uint32_t depth; // zero-delay chain length at `time` (see key_less)
  std::uint32_t type;  // payload id: payload_id<P>(), stable (dsim/payload.hpp)
  EntityId src;        // sending entity
  EntityId dst;        // receiving entity
  std::uint64_t seq;   // sender's send counter at the time of sending
  alignas(8) std::byte payload[kMaxPayloadBytes];
};
static_assert(sizeof(Event) == 64, "the envelope is one cache line");
static_assert(std::is_trivially_copyable_v<Event>);

// Total event order (DESIGN.md invariant 2): (time, depth, src, seq).
//
// Invariants:
//  - Every field is an entity-local fact: the send time and delay, the sender's
//    id and its own send counter, the sender's depth. Nothing about threads,
//    ranks or arrival order enters the key, so every engine and layout orders
//    an entity's events identically.
//  - Keys are unique: (src, seq) identifies one send, since seq is the sender's
//    counter and lives in its saved state (a rollback re-sends with the same seq).
//  - A child's key is greater than its parent's: with delay > 0 the time grows;
//    with delay 0 the depth grows (depth = parent depth + 1, else 0). This is
//    what lets zero-lookahead sends keep causality under every engine.
inline bool key_less(const Event& a, const Event& b) {
  if (a.time != b.time) return a.time < b.time;
  if (a.depth != b.depth) return a.depth < b.depth;
  if (a.src != b.src) return a.src < b.src;
  return a.seq < b.seq;
}

// A key above every event's: "no event" in minima over partitions.
inline Event infinite_key() {
  Event e{};
  e.time = kTimeInfinity;
  return e;
}

}  // namespace dsim::detail
