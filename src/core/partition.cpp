#include "core/partition.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstring>

namespace dsim::detail {

Partition::Partition(const Model& model, std::uint32_t id)
    : model_(model),
      id_(id),
      where_(model.where().data()),
      lookahead_(&model.lookahead_table()[0]),
      group_count_(model.groups().size()),
      queue_(model.spec().simulation.queue != "quad_heap", model.event_bytes()),
      outboxes_{std::vector<std::vector<Event>>(model.partitions()),
                std::vector<std::vector<Event>>(model.partitions())},
      end_time_(model.end_time()),
      sampling_(model.sample_count() > 0),
      sample_interval_(model.sample_interval()) {
  const auto& groups = model.groups();
  local_.resize(groups.size());
  for (std::size_t g = 0; g < groups.size(); ++g) {
    LocalGroup& lg = local_[g];
    const GroupRuntime& gr = groups[g];
    lg.runtime = &gr;
    for (std::uint64_t i = 0; i < gr.count; ++i)
      if (where_[gr.first + i].partition == id) ++lg.count;
    entities_ += lg.count;
    const std::size_t bytes = std::size_t{lg.count} * gr.stride + gr.align;
    lg.storage = std::make_unique<std::byte[]>(bytes);
    auto addr = reinterpret_cast<std::uintptr_t>(lg.storage.get());
    lg.base = reinterpret_cast<std::byte*>((addr + gr.align - 1) / gr.align * gr.align);
    lg.tallies.resize(gr.tallies);
    lg.gauges.resize(gr.gauges);
    lg.histograms.resize(gr.histograms);
    for (const StatDecl& d : gr.stats)
      if (d.kind == StatKind::kHistogram) {
        HistogramAcc& h = lg.histograms[d.index];
        h.lo = d.lo;
        h.hi = d.hi;
        h.bins.assign(d.bins + 2, 0);
      }
    if (sampling_) lg.series.resize(std::size_t{gr.counters + gr.gauges} * model.sample_count());
  }
  // Most models keep about one pending event per entity: reserving that much
  // up front avoids the copies (and the doubled peak memory) of growing.
  queue_.reserve(entities_);
  antiboxes_.resize(model.partitions());
  ctx_.partition_ = this;
  ctx_.entity_count_ = model.entity_count();
  ctx_.nb_offsets_ = model.nb_offsets().empty() ? nullptr : model.nb_offsets().data();
  ctx_.nb_ids_ = model.nb_ids().data();
  ctx_.nb_weights_ = model.nb_weights().data();
  ctx_.sampling_ = sampling_;
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
  for (LocalGroup& lg : local_) {
    const GroupRuntime& gr = *lg.runtime;
    for (std::uint32_t slot = 0; slot < lg.count; ++slot) {
      std::byte* block = lg.block(slot);
      std::memset(block, 0, gr.stride);
      gr.type->construct_state(block + gr.state_off);
    }
  }
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

namespace {

bool same_effects(const std::vector<Effect>& a, const std::vector<Effect>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const Effect& x = a[i];
    const Effect& y = b[i];
    if (x.kind != y.kind || x.group != y.group || x.index != y.index ||
        std::memcmp(&x.a, &y.a, sizeof x.a) != 0 || std::memcmp(&x.b, &y.b, sizeof x.b) != 0)
      return false;
  }
  return true;
}

}  // namespace

// Rollback checker: execute, (reverse,) restore, execute again, compare.
void Partition::check_event(const Event& ev) {
  const Location loc = where_[ev.dst];
  LocalGroup& lg = local_[loc.group];
  const GroupRuntime& gr = *lg.runtime;
  std::byte* block = lg.block(loc.slot);
  const std::vector<std::byte> before(block, block + gr.history_off);
  Execution first, second;
  capture_ = &first;
  dispatch(ev);
  const std::vector<std::byte> after(block, block + gr.history_off);
  auto fail = [&](const std::string& what) {
    const auto* h = gr.type->find_handler(ev.type);
    throw Error(fmt::format("rollback check: entity {} (type '{}') handling event '{}' from {} "
                            "at time {}: {}",
                            describe(ev.dst), gr.type->name, h ? h->type_name : "?",
                            describe(ev.src), ev.time, what),
                Error::Kind::kRuntime);
  };
  if (gr.type->reversible) {
    const auto* h = gr.type->find_handler(ev.type);
    h->reverse(gr.behaviour.get(), block + gr.state_off, ev.payload, ctx_);
    if (std::memcmp(block + gr.state_off, before.data() + gr.state_off,
                    gr.history_off - gr.state_off) != 0)
      fail("its reverse handler does not restore the State the event found (compare what "
           "on() changes with what reverse() undoes)");
  }
  std::memcpy(block, before.data(), gr.history_off);
  capture_ = &second;
  dispatch(ev);
  capture_ = nullptr;
  const char* impure =
      "; a handler must be a pure function of its State, the event, its random stream and its "
      "parameters (no globals, static or mutable members, clocks or I/O)";
  if (std::memcmp(block + gr.state_off, after.data() + gr.state_off, gr.history_off - gr.state_off) !=
      0)
    fail(std::string("executing it twice from the same state left different States") + impure);
  if (std::memcmp(block, after.data(), gr.state_off) != 0)
    fail(std::string("executing it twice from the same state drew different random numbers or "
                     "recorded different counters or gauges") +
         impure);
  bool same_sends = first.sends.size() == second.sends.size();
  for (std::size_t i = 0; same_sends && i < first.sends.size(); ++i)
    same_sends = std::memcmp(&first.sends[i], &second.sends[i], sizeof(Event)) == 0;
  if (!same_sends)
    fail(std::string("executing it twice from the same state sent different events") + impure);
  if (!same_effects(first.effects, second.effects))
    fail(std::string("executing it twice from the same state recorded different statistics") +
         impure);
  ++checks_;
  for (const Event& e : second.sends) queue_.push(e);  // one partition: all local
  for (const Effect& e : second.effects) apply(e, ev.time);
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
      if (mode_ == Mode::kCheck) [[unlikely]]
        check_event(ev);
      else
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

std::uint32_t Partition::bucket_of(Time t) const {
  const std::uint32_t total = model_.sample_count();
  // Start near the answer, then settle it with the sample times as the output
  // computes them (interval * (k + 1)), so rounding cannot move an event
  // that falls exactly on a sample time.
  double guess = std::floor(t / sample_interval_) - 1;
  std::uint32_t k = guess > 0 ? static_cast<std::uint32_t>(std::min<double>(guess, total)) : 0;
  while (k > 0 && !(t > sample_interval_ * k)) --k;
  while (k < total && t > sample_interval_ * (k + 1)) ++k;
  return k;
}

void Partition::add_series(std::uint32_t group, std::size_t row, Time t, double amount) {
  if (in_finish_) return;  // after the last sample
  const std::uint32_t total = model_.sample_count();
  const std::uint32_t k = bucket_of(t);
  if (k >= total) return;
  local_[group].series[row * total + k].add(amount);
}

void Partition::finish() {
  mode_ = Mode::kDirect;
  in_finish_ = true;
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
  // Series held each interval's change; the samples are their running sums.
  const std::uint32_t total = model_.sample_count();
  for (LocalGroup& lg : local_)
    for (std::size_t row = 0; total > 0 && row < lg.series.size() / total; ++row)
      for (std::uint32_t k = 1; k < total; ++k)
        lg.series[row * total + k].merge(lg.series[row * total + k - 1]);
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

void Partition::send(Context& ctx, EntityId target, std::uint32_t type, const std::byte* payload,
                     Time delay) {
  if (ctx.finishing_ || target >= model_.entity_count()) [[unlikely]]
    fail_send(ctx, target, delay, 0);
  const Location loc = where_[target];
  // An entity may always send to itself (delay >= 0); other targets need a
  // declared link and a delay of at least its lookahead.
  const double lookahead =
      target == ctx.self_ ? 0.0 : lookahead_[ctx.group_ * group_count_ + loc.group];
  // Also rejects NaN lookahead (no link), NaN and infinite delays.
  if (!(delay >= lookahead) || !(delay < kTimeInfinity)) [[unlikely]]
    fail_send(ctx, target, delay, lookahead);
  Event ev;
  ev.time = ctx.now_ + delay;
  // Far out (1e18, say) a small positive delay is lost to rounding: time
  // would stop advancing and a self-scheduling entity would loop forever.
  if (ev.time == ctx.now_ && delay != 0) [[unlikely]]
    throw Error(fmt::format("entity {} at time {}: sends to {} with delay {}, which does not "
                            "advance simulated time (at time {} the smallest step is {}); use a "
                            "larger delay or a smaller time scale",
                            describe(ctx.self_), ctx.now_, describe(target), delay, ctx.now_,
                            std::nextafter(ctx.now_, kTimeInfinity) - ctx.now_),
                Error::Kind::kRuntime);
  ev.depth = delay == 0 ? ctx.depth_ + 1 : 0;
  ev.type = type;
  ev.src = ctx.self_;
  ev.dst = target;
  ev.seq = (*ctx.send_seq_)++;
  std::memcpy(ev.payload, payload, kMaxPayloadBytes);
  if (!(ev.time < end_time_)) return;  // never processed
  if (mode_ != Mode::kDirect) [[unlikely]] {
    if (coasting_) return;  // re-executing: the events it sent stand
    if (capture_ != nullptr) {
      capture_->sends.push_back(ev);
      return;
    }
    if (loc.partition == id_) {
      // Past every record of the partition it cannot be a straggler; else it
      // waits for the handler to end: it may roll an entity back.
      if (ev.time > horizon_)
        queue_.push(ev);
      else
        local_out_.push_back(ev);
    } else {
      ++remote_sends_;
      outboxes_[0][loc.partition].push_back(ev);
    }
    return;
  }
  if (loc.partition == id_) {
    queue_.push(ev);
    return;
  }
  if (ev.time < safe_until_) [[unlikely]]
    throw Error(fmt::format("entity {} at time {}: sends to {} in another partition with delay "
                            "{}, less than the conservative window allows (lookahead between "
                            "partitions); declare a link with lookahead from '{}' to '{}'",
                            describe(ctx.self_), ctx.now_, describe(target), delay,
                            model_.groups()[ctx.group_].name, model_.groups()[loc.group].name),
                Error::Kind::kRuntime);
  ++remote_sends_;
  if (ev.time < sent_min_) sent_min_ = ev.time;
  outboxes_[bank_][loc.partition].push_back(ev);
}

void Partition::apply(const Effect& e, Time t) {
  LocalGroup& lg = local_[e.group];
  switch (e.kind) {
    case Effect::kTally: {
      TallyAcc& a = lg.tallies[e.index];
      ++a.count;
      a.sum.add(e.a);
      a.sumsq.add(e.a * e.a);
      if (e.a < a.min) a.min = e.a;
      if (e.a > a.max) a.max = e.a;
      break;
    }
    case Effect::kGauge: {
      GaugeAcc& g = lg.gauges[e.index];
      if (e.b < g.min) g.min = e.b;
      if (e.b > g.max) g.max = e.b;
      if (sampling_) {
        const std::size_t row = lg.runtime->counters + e.index;
        add_series(e.group, row, t, e.b);
        add_series(e.group, row, t, -e.a);
      }
      break;
    }
    case Effect::kCounter:
      add_series(e.group, e.index, t, e.a);
      break;
    case Effect::kHistogram: {
      HistogramAcc& h = lg.histograms[e.index];
      auto& bins = h.bins;
      const std::size_t n = bins.size() - 2;
      if (!(e.a >= h.lo)) {
        ++bins.front();  // underflow (and NaN)
      } else if (e.a >= h.hi) {
        ++bins.back();
      } else {
        auto b = static_cast<std::size_t>((e.a - h.lo) / (h.hi - h.lo) * static_cast<double>(n));
        if (b >= n) b = n - 1;
        ++bins[b + 1];
      }
      break;
    }
  }
}

void Partition::log_effect(Effect::Kind kind, std::uint32_t group, std::uint32_t index, double a,
                           double b) {
  const Effect e{Pool<Effect>::kNone, kind, static_cast<std::uint16_t>(group), index, a, b};
  if (mode_ == Mode::kDirect) {
    apply(e, ctx_.now_);
  } else if (coasting_) {
    // re-executing an event whose effects are already logged
  } else if (capture_ != nullptr) {
    capture_->effects.push_back(e);
  } else if (direct_) {
    apply(e, ctx_.now_);  // a safe event (optimistic mode): final at once
  } else {
    const std::uint32_t node = effects_.alloc();
    effects_[node] = e;
    effects_[node].next = records_[current_].effects;
    records_[current_].effects = node;
  }
}

void Partition::record_tally(std::uint32_t group, std::uint32_t index, double value) {
  log_effect(Effect::kTally, group, index, value, 0);
}

void Partition::gauge_changed(std::uint32_t group, std::uint32_t index, double old_level,
                              double level) {
  log_effect(Effect::kGauge, group, index, old_level, level);
}

void Partition::track_counter(std::uint32_t group, std::uint32_t index, double amount) {
  log_effect(Effect::kCounter, group, index, amount, 0);
}

void Partition::record_histogram(std::uint32_t group, std::uint32_t index, double value) {
  log_effect(Effect::kHistogram, group, index, value, 0);
}

}  // namespace dsim::detail

// --- Context: the out-of-line half of the handler API ---------------------

namespace dsim {

void Context::send_bytes(EntityId target, std::uint32_t type, const std::byte* payload,
                         Time delay) {
  partition_->send(*this, target, type, payload, delay);
}

void Context::track_counter(Counter c, double amount) {
  partition_->track_counter(group_, c.index, amount);
}

void Context::record(Tally t, double value) { partition_->record_tally(group_, t.index, value); }

void Context::set(Gauge g, double level) {
  detail::GaugeSlot& s = gauges_[g.index];
  s.area += s.level * (now_ - s.since);
  s.since = now_;
  partition_->gauge_changed(group_, g.index, s.level, level);
  s.level = level;
}

void Context::record(Histogram h, double value) {
  partition_->record_histogram(group_, h.index, value);
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
