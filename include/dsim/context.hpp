// The handler context: everything an entity may see or do while it handles an
// event (DESIGN.md invariant 3). The engine binds one Context to the entity
// being run; a handler must not keep it, or anything from it, across calls.
//
//   void on(State& s, const Ping&, dsim::Context& ctx) const {
//     ++s.received;
//     ctx.add(received_);
//     auto target = ctx.rng().bernoulli(remote_)
//         ? ctx.group_first() + ctx.rng().below(ctx.group_size())
//         : ctx.self();
//     ctx.send(target, Ping{}, lookahead_ + ctx.rng().exponential(mean_));
//   }
//
// Thread safety: a Context belongs to one worker thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <type_traits>

#include "dsim/export.hpp"
#include "dsim/payload.hpp"
#include "dsim/random.hpp"
#include "dsim/stats.hpp"
#include "dsim/types.hpp"

namespace dsim {

namespace detail {
class Partition;

// Per-entity record of a gauge: current level, when it last changed, and the
// integral of the level over [0, since].
struct GaugeSlot {
  double level;
  Time since;
  double area;
};
}  // namespace detail

class DSIM_API Context {
 public:
  Time now() const { return now_; }
  EntityId self() const { return self_; }
  // Index of the entity's group in the config, its name, and the entity's index
  // within the group (0 .. group_size()-1).
  std::uint32_t group() const { return group_; }
  std::string_view group_name() const;
  std::uint64_t index() const { return self_ - group_first_; }
  EntityId group_first() const { return group_first_; }
  std::uint64_t group_size() const { return group_size_; }
  std::uint64_t entity_count() const { return entity_count_; }
  // First id and size of another group, by name; dsim::Error if unknown.
  EntityId group_first(std::string_view group) const;
  std::uint64_t group_size(std::string_view group) const;

  // The entity's out-neighbours from the config's links, in link order, and
  // the weight of each edge (1 unless the link gives `weight`).
  std::span<const EntityId> neighbours() const {
    if (nb_offsets_ == nullptr) return {};
    return {nb_ids_ + nb_offsets_[self_], nb_offsets_[self_ + 1] - nb_offsets_[self_]};
  }
  std::span<const double> neighbour_weights() const {
    if (nb_offsets_ == nullptr) return {};
    return {nb_weights_ + nb_offsets_[self_], nb_offsets_[self_ + 1] - nb_offsets_[self_]};
  }

  // The entity's own random stream.
  Random& rng() { return rng_; }

  // Schedules `payload` for `target` at now() + delay. The event carries
  // payload_id<P>() (P must declare a stable name, see dsim/payload.hpp).
  // REQUIRES: delay finite and >= 0, target valid; unless the target is the
  // entity itself, a link from this entity's group to the target's group must
  // be declared and delay >= its lookahead.
  // Violations throw dsim::Error naming the entity, target and times.
  template <Payload P>
  void send(EntityId target, const P& payload, Time delay) {
    alignas(8) std::byte bytes[kMaxPayloadBytes] = {};
    if constexpr (!std::is_empty_v<P>) std::memcpy(bytes, &payload, sizeof(P));
    constexpr std::uint32_t type = payload_id<P>();
    send_bytes(target, type, bytes, delay);
  }

  // send() for a payload type known only at run time (one declared in
  // Python): `size` bytes at `bytes` (at most kMaxPayloadBytes; the rest is
  // zero), carrying type id `type` (payload_id_of its name). Checked as
  // send() is.
  void send_payload(EntityId target, std::uint32_t type, const void* bytes, std::size_t size,
                    Time delay);

  void add(Counter c, double amount = 1.0) {
    counters_[c.index] += amount;
    if (sampling_) track_counter(c, amount);
  }
  void record(Tally t, double value);
  void set(Gauge g, double level);
  double level(Gauge g) const { return gauges_[g.index].level; }
  double value(Counter c) const { return counters_[c.index]; }
  void record(Histogram h, double value);

  // Stops the run with a message naming this entity and the current time.
  [[noreturn]] void fail(std::string_view message) const;

 private:
  friend class detail::Partition;
  // `payload` points to kMaxPayloadBytes bytes.
  void send_bytes(EntityId target, std::uint32_t type, const std::byte* payload, Time delay);
  void track_counter(Counter c, double amount);

  detail::Partition* partition_ = nullptr;
  Time now_ = 0;
  EntityId self_ = 0;
  std::uint32_t group_ = 0;
  std::uint32_t depth_ = 0;
  EntityId group_first_ = 0;
  std::uint64_t group_size_ = 0;
  std::uint64_t entity_count_ = 0;
  const std::uint64_t* nb_offsets_ = nullptr;
  const EntityId* nb_ids_ = nullptr;
  const double* nb_weights_ = nullptr;
  std::uint64_t* send_seq_ = nullptr;
  double* counters_ = nullptr;
  detail::GaugeSlot* gauges_ = nullptr;
  bool sampling_ = false;
  bool finishing_ = false;
  Random rng_;
};

}  // namespace dsim
