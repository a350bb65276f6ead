#include "core/partition.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstring>
#include <type_traits>

namespace dsim::detail {

Partition::Partition(const Model& model, const Layout& layout, std::uint32_t id)
    : store_(model, layout, id),
      model_(model),
      id_(id),
      where_(layout.where_table()),
      lookahead_(&model.lookahead_table()[0]),
      group_count_(model.groups().size()),
      local_(store_.groups()),
      queue_(store_.queue()),
      outboxes_(layout.partitions()),
      end_time_(model.end_time()),
      send_bound_(end_time_) {
  ctx_.partition_ = this;
  ctx_.entity_count_ = model.entity_count();
  ctx_.nb_offsets_ = model.nb_offsets().empty() ? nullptr : model.nb_offsets().data();
  ctx_.nb_ids_ = model.nb_ids().data();
  ctx_.nb_weights_ = model.nb_weights().data();
  ctx_.sampling_ = model.sample_count() > 0;
}

std::string Partition::describe(EntityId id) const {
  const GroupRuntime& g = model_.groups()[model_.group_of(id)];
  return fmt::format("{}[{}] (id {})", g.name, id - g.first, id);
}

void Partition::bind(LocalGroup& lg, EntityId id, std::byte* block) {
  const GroupRuntime& gr = *lg.runtime;
  auto* meta = reinterpret_cast<EntityMeta*>(block);
  ctx_.self_ = id;
  ctx_.group_ = static_cast<std::uint32_t>(&lg - local_.data());
  ctx_.group_first_ = gr.first;
  ctx_.group_size_ = gr.count;
  ctx_.send_seq_ = &meta->send_seq;
  ctx_.counters_ = reinterpret_cast<double*>(block + gr.counters_off);
  ctx_.gauges_ = reinterpret_cast<GaugeSlot*>(block + gr.gauges_off);
  ctx_.rng_ = Random(model_.seed(), id, 0, &meta->rng_counter);
}

void Partition::init() {
  store_.construct();
  ctx_.now_ = 0;
  ctx_.depth_ = 0;
  for (LocalGroup& lg : local_) {
    const GroupRuntime& gr = *lg.runtime;
    if (gr.type->init == nullptr) continue;
    for_each_local(lg, [&](std::uint32_t slot, EntityId id) {
      std::byte* block = lg.block(slot);
      bind(lg, id, block);
      try {
        gr.type->init(gr.behaviour.get(), block + gr.state_off, ctx_);
      } catch (const Error& e) {
        if (e.kind() == Error::Kind::kRuntime) throw;
        throw Error(fmt::format("entity {} in init(): {}", describe(id), e.what()),
                    Error::Kind::kRuntime);
      } catch (const std::exception& e) {
        throw Error(fmt::format("entity {} in init(): {}", describe(id), e.what()),
                    Error::Kind::kRuntime);
      }
    });
  }
}

void Partition::restore(const Snapshot& snapshot, const Partials* statistics) {
  store_.construct();
  store_.import_snapshot(snapshot);
  if (statistics != nullptr) store_.absorb_statistics(*statistics);
}

void Partition::fail_event(const Event& ev, const char* what) {
  const GroupRuntime& g = model_.groups()[where_[ev.dst].group];
  const auto* h = g.type->find_handler(ev.type);
  throw Error(fmt::format("entity {} (type '{}') handling {} from {} at time {}: {}",
                          describe(ev.dst), g.type->name,
                          h ? fmt::format("event '{}'", h->type_name) : std::string("an event"),
                          describe(ev.src), ev.time, what),
              Error::Kind::kRuntime);
}

void Partition::dispatch(const Event& ev) {
  const Location loc = where_[ev.dst];
  LocalGroup& lg = local_[loc.group];
  std::byte* block = lg.block(loc.slot);
  bind(lg, ev.dst, block);
  ctx_.now_ = ev.time;
  ctx_.depth_ = ev.depth;
  const GroupRuntime& gr = *lg.runtime;
  const EntityTypeInfo::Handler* h = gr.type->find_handler(ev.type);
  if (h == nullptr) {
    const GroupRuntime& sg = model_.groups()[model_.group_of(ev.src)];
    std::string_view name = "an unknown event type";
    for (const auto& g : model_.groups())
      if (const auto* sh = g.type->find_handler(ev.type)) name = sh->type_name;
    throw Error(fmt::format("entity {} (type '{}') has no handler for {} sent by {} (type '{}') "
                            "at time {}",
                            describe(ev.dst), gr.type->name, name, describe(ev.src),
                            sg.type->name, ev.time),
                Error::Kind::kRuntime);
  }
  h->call(gr.behaviour.get(), block + gr.state_off, ev.payload, ctx_);
}

void Partition::reverse(const Event& ev, LocalGroup& lg, std::byte* block) {
  const GroupRuntime& gr = *lg.runtime;
  bind(lg, ev.dst, block);
  ctx_.now_ = ev.time;
  ctx_.depth_ = ev.depth;
  gr.type->find_handler(ev.type)->reverse(gr.behaviour.get(), block + gr.state_off, ev.payload,
                                          ctx_);
}

std::uint64_t Partition::run(Time bound, std::uint64_t max_events, Time safe_until) {
  safe_until_ = safe_until;
  std::uint64_t n = 0;
  Event ev;
  try {
    while (n < max_events && queue_.min_time() < bound) {
      ev = queue_.pop();
      // Start loading the next event's entity block, and the location of the
      // one after it, so that their cache misses overlap this handler.
      if (const EntityId next = queue_.next_dst(); next != kNoEntity) {
        const Location at = where_[next];
        __builtin_prefetch(local_[at.group].block(at.slot));
        if (const EntityId second = queue_.second_dst(); second != kNoEntity)
          __builtin_prefetch(&where_[second]);
      }
      dispatch(ev);
      ++n;
    }
  } catch (...) {
    events_ += n;
    fault_event_ = ev;
    fault_error_ = describe_failure(ev);
    std::rethrow_exception(fault_error_);
  }
  events_ += n;
  return n;
}

std::exception_ptr Partition::describe_failure(const Event& ev) {
  try {
    throw;
  } catch (const Error& e) {
    if (e.kind() == Error::Kind::kRuntime) return std::current_exception();
    try {
      fail_event(ev, e.what());
    } catch (...) {
      return std::current_exception();
    }
  } catch (const std::exception& e) {
    try {
      fail_event(ev, e.what());
    } catch (...) {
      return std::current_exception();
    }
  }
  return std::current_exception();
}

void Partition::finish() {
  store_.stop_series();
  ctx_.now_ = end_time_;
  ctx_.finishing_ = true;
  for (LocalGroup& lg : local_) {
    const GroupRuntime& gr = *lg.runtime;
    for_each_local(lg, [&](std::uint32_t slot, EntityId id) {
      std::byte* block = lg.block(slot);
      bind(lg, id, block);
      if (gr.type->finish != nullptr) {
        try {
          gr.type->finish(gr.behaviour.get(), block + gr.state_off, ctx_);
        } catch (const Error& e) {
          if (e.kind() == Error::Kind::kRuntime) throw;
          throw Error(fmt::format("entity {} in finish(): {}", describe(id), e.what()),
                      Error::Kind::kRuntime);
        }
      }
      auto* gauges = reinterpret_cast<GaugeSlot*>(block + gr.gauges_off);
      for (std::uint32_t g = 0; g < gr.gauges; ++g) {
        gauges[g].area += gauges[g].level * (end_time_ - gauges[g].since);
        gauges[g].since = end_time_;
      }
    });
  }
  ctx_.finishing_ = false;
  store_.close_series();
}

void Partition::fail_send(const Context& ctx, EntityId target, Time delay, double lookahead) {
  if (ctx.finishing_)
    throw Error(fmt::format("entity {}: send() is not allowed in finish()", describe(ctx.self_)),
                Error::Kind::kRuntime);
  if (target >= model_.entity_count())
    throw Error(fmt::format("entity {} at time {}: sends to entity id {}, but the model has {} "
                            "entities",
                            describe(ctx.self_), ctx.now_, target, model_.entity_count()),
                Error::Kind::kRuntime);
  const auto& groups = model_.groups();
  const std::uint32_t to_group = where_[target].group;
  std::string why;
  if (std::isnan(lookahead))
    why = fmt::format("no link from group '{}' to group '{}' is declared", groups[ctx.group_].name,
                      groups[to_group].name);
  else if (!std::isfinite(delay) || delay < 0)
    why = "the delay must be finite and >= 0";
  else
    why = fmt::format("below the lookahead {} of the link {} -> {}", lookahead,
                      groups[ctx.group_].name, groups[to_group].name);
  throw Error(fmt::format("entity {} at time {}: sends to {} with delay {}: {}",
                          describe(ctx.self_), ctx.now_, describe(target), delay, why),
              Error::Kind::kRuntime);
}

void Partition::fail_no_advance(const Context& ctx, EntityId target, Time delay) {
  throw Error(fmt::format("entity {} at time {}: sends to {} with delay {}, which does not "
                          "advance simulated time (at time {} the smallest step is {}); use a "
                          "larger delay or a smaller time scale",
                          describe(ctx.self_), ctx.now_, describe(target), delay, ctx.now_,
                          std::nextafter(ctx.now_, kTimeInfinity) - ctx.now_),
              Error::Kind::kRuntime);
}

void Partition::send_remote(const Context& ctx, const Event& ev, Location loc, Time delay) {
  if (ev.time < safe_until_) [[unlikely]]
    throw Error(fmt::format("entity {} at time {}: sends to {} in another partition with delay "
                            "{}, less than the conservative window allows (lookahead between "
                            "partitions); declare a link with lookahead from '{}' to '{}'",
                            describe(ctx.self_), ctx.now_, describe(ev.dst), delay,
                            model_.groups()[ctx.group_].name, model_.groups()[loc.group].name),
                Error::Kind::kRuntime);
  ++remote_sends_;
  if (ev.time < sent_min_) sent_min_ = ev.time;
  outboxes_[loc.partition].push_back(ev);
}

void Partition::send(Context& ctx, EntityId target, std::uint32_t type, const std::byte* payload,
                     Time delay) {
  Event ev;
  Location loc;
  if (make_event(ctx, target, type, payload, delay, ev, loc)) send_direct(ctx, ev, loc, delay);
}

}  // namespace dsim::detail

// --- Context: the out-of-line half of the handler API ---------------------

namespace dsim {

void Context::send_bytes(EntityId target, std::uint32_t type, const std::byte* payload,
                         Time delay) {
  partition_->send(*this, target, type, payload, delay);
}

void Context::send_payload(EntityId target, std::uint32_t type, const void* bytes,
                           std::size_t size, Time delay) {
  if (size > kMaxPayloadBytes)
    throw Error(fmt::format("a payload of {} bytes is more than an event carries ({} bytes)",
                            size, kMaxPayloadBytes),
                Error::Kind::kRuntime);
  alignas(8) std::byte buffer[kMaxPayloadBytes] = {};
  if (size > 0) std::memcpy(buffer, bytes, size);
  partition_->send(*this, target, type, buffer, delay);
}

namespace {

detail::Effect effect_of(detail::Effect::Kind kind, std::uint32_t group, std::uint32_t index,
                         double a, double b = 0) {
  return {UINT32_MAX, kind, static_cast<std::uint16_t>(group), index, a, b};
}

}  // namespace

void Context::track_counter(Counter c, double amount) {
  partition_->effect(effect_of(detail::Effect::kCounter, group_, c.index, amount));
}

void Context::record(Tally t, double value) {
  partition_->effect(effect_of(detail::Effect::kTally, group_, t.index, value));
}

void Context::set(Gauge g, double level) {
  detail::GaugeSlot& s = gauges_[g.index];
  s.area += s.level * (now_ - s.since);
  s.since = now_;
  partition_->effect(effect_of(detail::Effect::kGauge, group_, g.index, s.level, level));
  s.level = level;
}

void Context::record(Histogram h, double value) {
  partition_->effect(effect_of(detail::Effect::kHistogram, group_, h.index, value));
}

std::string_view Context::group_name() const {
  return partition_->model().groups()[group_].name;
}

EntityId Context::group_first(std::string_view group) const {
  const auto* g = partition_->model().find_group(group);
  if (g == nullptr)
    throw Error(fmt::format("entity {}: no entity group named '{}'", partition_->describe(self_),
                            group),
                Error::Kind::kRuntime);
  return g->first;
}

std::uint64_t Context::group_size(std::string_view group) const {
  const auto* g = partition_->model().find_group(group);
  if (g == nullptr)
    throw Error(fmt::format("entity {}: no entity group named '{}'", partition_->describe(self_),
                            group),
                Error::Kind::kRuntime);
  return g->count;
}

void Context::fail(std::string_view message) const {
  throw Error(fmt::format("entity {} at time {}: {}", partition_->describe(self_), now_, message),
              Error::Kind::kRuntime);
}

}  // namespace dsim
