#include "core/entity_store.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <numeric>
#include <type_traits>

#include "dsim/context.hpp"

namespace dsim::detail {

EntityStore::EntityStore(const Model& model, const Layout& layout, std::uint32_t partition)
    : model_(model),
      layout_(layout),
      partition_(partition),
      where_(layout.where_table()),
      queue_(model.spec().simulation.queue != "quad_heap", model.event_bytes()),
      sampling_(model.sample_count() > 0),
      sample_interval_(model.sample_interval()) {
  const auto& groups = model.groups();
  local_.resize(groups.size());
  for (std::size_t g = 0; g < groups.size(); ++g) {
    LocalGroup& lg = local_[g];
    const GroupRuntime& gr = groups[g];
    const BlockShape& shape = layout.shape(static_cast<std::uint32_t>(g));
    lg.runtime = &gr;
    lg.count = layout.count(partition, static_cast<std::uint32_t>(g));
    lg.stride = shape.stride;
    entities_ += lg.count;
    const std::size_t bytes = std::size_t{lg.count} * shape.stride + shape.align;
    lg.storage = std::make_unique<std::byte[]>(bytes);
    auto addr = reinterpret_cast<std::uintptr_t>(lg.storage.get());
    lg.base = reinterpret_cast<std::byte*>((addr + shape.align - 1) / shape.align * shape.align);
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
}

void EntityStore::construct() {
  for (LocalGroup& lg : local_) {
    const GroupRuntime& gr = *lg.runtime;
    for (std::uint32_t slot = 0; slot < lg.count; ++slot) {
      std::byte* block = lg.block(slot);
      std::memset(block, 0, lg.stride);
      gr.type->construct_state(block + gr.state_off);
    }
  }
}

std::uint32_t EntityStore::bucket_of(Time t) const {
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

void EntityStore::add_series(std::uint32_t group, std::size_t row, Time t, double amount) {
  if (!series_open_) return;  // after the last sample
  const std::uint32_t total = model_.sample_count();
  const std::uint32_t k = bucket_of(t);
  if (k >= total) return;
  local_[group].series[row * total + k].add(amount);
}

void EntityStore::close_series() {
  // Series held each interval's change; the samples are their running sums.
  const std::uint32_t total = model_.sample_count();
  for (LocalGroup& lg : local_)
    for (std::size_t row = 0; total > 0 && row < lg.series.size() / total; ++row)
      for (std::uint32_t k = 1; k < total; ++k)
        lg.series[row * total + k].merge(lg.series[row * total + k - 1]);
}

void EntityStore::apply(const Effect& e, Time t) {
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

namespace {

// Whether a counter or gauge has a time series (one row of samples).
bool has_series(const StatDecl& d) {
  return d.kind == StatKind::kCounter || d.kind == StatKind::kGauge;
}

std::size_t series_row(const GroupRuntime& gr, const StatDecl& d) {
  return d.kind == StatKind::kCounter ? d.index : gr.counters + d.index;
}

}  // namespace

Partials empty_statistics(const Model& model) {
  Partials out;
  const std::uint32_t samples = model.sample_count();
  for (const GroupRuntime& g : model.groups()) {
    for (const StatDecl& d : g.stats) {
      StatPartial& r = out.stats.emplace_back();
      if (d.kind == StatKind::kHistogram) r.bins.assign(d.bins + 2, 0);
    }
    for (const StatDecl& d : g.stats)
      if (has_series(d)) out.series.resize(out.series.size() + samples);
  }
  return out;
}

Partials EntityStore::statistics(bool blocks) const {
  Partials out;
  const std::uint32_t samples = model_.sample_count();
  for (const LocalGroup& lg : local_) {
    const GroupRuntime& g = *lg.runtime;
    for (const StatDecl& d : g.stats) {
      StatPartial r;
      switch (d.kind) {
        case StatKind::kCounter:
          for (std::uint32_t s = 0; blocks && s < lg.count; ++s) {
            const double v = reinterpret_cast<const double*>(lg.block(s) + g.counters_off)[d.index];
            r.a.add(v);
            r.min = std::min(r.min, v);
            r.max = std::max(r.max, v);
          }
          break;
        case StatKind::kTally: {
          const TallyAcc& t = lg.tallies[d.index];
          r.count = t.count;
          r.a = t.sum;
          r.b = t.sumsq;
          r.min = t.min;
          r.max = t.max;
          break;
        }
        case StatKind::kGauge:
          r.min = lg.gauges[d.index].min;
          r.max = lg.gauges[d.index].max;
          for (std::uint32_t s = 0; blocks && s < lg.count; ++s) {
            const auto& slot =
                reinterpret_cast<const GaugeSlot*>(lg.block(s) + g.gauges_off)[d.index];
            r.a.add(slot.area);
            r.b.add(slot.level);
          }
          break;
        case StatKind::kHistogram:
          r.bins = lg.histograms[d.index].bins;
          break;
      }
      out.stats.push_back(std::move(r));
    }
    if (samples == 0) continue;
    for (const StatDecl& d : g.stats) {
      if (!has_series(d)) continue;
      const std::size_t row = series_row(g, d);
      out.series.insert(out.series.end(), lg.series.begin() + row * samples,
                        lg.series.begin() + (row + 1) * samples);
    }
  }
  return out;
}

void EntityStore::absorb_statistics(const Partials& share) {
  const std::uint32_t samples = model_.sample_count();
  std::size_t stat = 0, cell = 0;
  for (LocalGroup& lg : local_) {
    const GroupRuntime& g = *lg.runtime;
    for (const StatDecl& d : g.stats) {
      const StatPartial& p = share.stats.at(stat++);
      switch (d.kind) {
        case StatKind::kCounter:
          break;  // in the blocks
        case StatKind::kTally: {
          TallyAcc& t = lg.tallies[d.index];
          t.count += p.count;
          t.sum.merge(p.a);
          t.sumsq.merge(p.b);
          t.min = std::min(t.min, p.min);
          t.max = std::max(t.max, p.max);
          break;
        }
        case StatKind::kGauge:
          lg.gauges[d.index].min = std::min(lg.gauges[d.index].min, p.min);
          lg.gauges[d.index].max = std::max(lg.gauges[d.index].max, p.max);
          break;
        case StatKind::kHistogram: {
          auto& bins = lg.histograms[d.index].bins;
          if (p.bins.size() != bins.size())
            throw Error(fmt::format("statistics of '{}.{}': {} histogram bins, expected {}",
                                    g.name, d.name, p.bins.size(), bins.size()),
                        Error::Kind::kRuntime);
          for (std::size_t i = 0; i < bins.size(); ++i) bins[i] += p.bins[i];
          break;
        }
      }
    }
    if (samples == 0) continue;
    for (const StatDecl& d : g.stats) {
      if (!has_series(d)) continue;
      const std::size_t row = series_row(g, d);
      for (std::uint32_t k = 0; k < samples; ++k)
        lg.series[row * samples + k].merge(share.series.at(cell++));
    }
  }
}

void EntityStore::require_here(EntityId id, const char* what) const {
  if (holds(id)) return;
  if (id >= model_.entity_count())
    throw Error(fmt::format("{} entity id {}: the model has {} entities", what, id,
                            model_.entity_count()),
                Error::Kind::kRuntime);
  throw Error(fmt::format("{} entity id {}: it lives in partition {}, not in partition {}", what,
                          id, where_[id].partition, partition_),
              Error::Kind::kRuntime);
}

EntityImage EntityStore::export_entity(EntityId id, bool take) {
  require_here(id, "export of");
  const Location loc = where_[id];
  const GroupRuntime& gr = *local_[loc.group].runtime;
  EntityImage image;
  image.id = id;
  const std::byte* b = block(loc);
  image.block.assign(b, b + gr.history_off);
  queue_.for_each([&](const Event& e) {
    if (e.dst == id) image.pending.push_back(e);
  });
  std::sort(image.pending.begin(), image.pending.end(), key_less);
  if (take) queue_.remove_if([id](const Event& e) { return e.dst == id; });
  return image;
}

void EntityStore::export_into(Snapshot& out, std::vector<SnapshotBlocks>* spare) const {
  static_assert(sizeof(PendingEvent) == sizeof(Event) &&
                offsetof(PendingEvent, payload) == offsetof(Event, payload) &&
                std::is_trivially_copyable_v<Event> && std::is_trivially_copyable_v<PendingEvent>);
  for (const LocalGroup& lg : local_) {
    if (lg.count == 0) continue;
    const GroupRuntime& gr = *lg.runtime;
    SnapshotBlocks& part = out.blocks.emplace_back();
    if (spare != nullptr && !spare->empty()) {
      part = std::move(spare->back());
      spare->pop_back();
    }
    part.block_bytes = gr.history_off;
    part.ids.resize(lg.count);
    if (lg.count == gr.count) {
      std::iota(part.ids.begin(), part.ids.end(), gr.first);
    } else {
      std::size_t k = 0;
      for_each_entity(lg, [&](std::uint32_t, EntityId id) { part.ids[k++] = id; });
    }
    const std::size_t bytes = std::size_t{lg.count} * gr.history_off;
    if (lg.stride == gr.history_off) {
      part.bytes.assign(lg.base, lg.base + bytes);
    } else {
      part.bytes.resize(bytes);
      for (std::uint32_t slot = 0; slot < lg.count; ++slot)
        std::memcpy(part.bytes.data() + std::size_t{slot} * gr.history_off, lg.block(slot),
                    gr.history_off);
    }
  }
  // One write per event (resize() would first value-initialise each).
  out.pending.reserve(out.pending.size() + queue_.size());
  queue_.for_each([&](const Event& e) { out.pending.push_back(std::bit_cast<PendingEvent>(e)); });
}

std::vector<EntityImage> EntityStore::export_all() const {
  Snapshot s;
  export_into(s);
  std::vector<EntityImage> images;
  for (EntitySnapshot& e : s.entities()) {
    EntityImage& image = images.emplace_back();
    image.id = e.id;
    image.block = std::move(e.block);
    image.pending.resize(e.pending.size());
    if (!e.pending.empty())
      std::memcpy(static_cast<void*>(image.pending.data()), e.pending.data(),
                  e.pending.size() * sizeof(Event));
  }
  return images;
}

void EntityStore::import_snapshot(const Snapshot& snapshot) {
  for (const SnapshotBlocks& part : snapshot.blocks) {
    if (part.bytes.size() != part.ids.size() * std::size_t{part.block_bytes})
      throw Error(fmt::format("a snapshot part of {} entities of {} bytes holds {} bytes",
                              part.ids.size(), part.block_bytes, part.bytes.size()),
                  Error::Kind::kRuntime);
    for (std::size_t k = 0; k < part.ids.size(); ++k) {
      if (part.ids[k] >= model_.entity_count())
        throw Error(fmt::format("a snapshot holds entity id {}, the model has {} entities",
                                part.ids[k], model_.entity_count()),
                    Error::Kind::kRuntime);
      if (holds(part.ids[k]))
        import_entity(part.ids[k],
                      std::span(part.bytes.data() + k * part.block_bytes, part.block_bytes), {});
    }
  }
  for (const PendingEvent& p : snapshot.pending) {
    if (p.dst >= model_.entity_count())
      throw Error(fmt::format("a snapshot holds an event for entity id {}, the model has {} "
                              "entities",
                              p.dst, model_.entity_count()),
                  Error::Kind::kRuntime);
    if (!holds(p.dst)) continue;
    Event e;
    std::memcpy(static_cast<void*>(&e), &p, sizeof e);
    queue_.push(e);
  }
}

void EntityStore::import_entity(const EntityImage& image) {
  import_entity(image.id, image.block, image.pending);
}

void EntityStore::import_entity(EntityId id, std::span<const std::byte> block_bytes,
                                std::span<const Event> pending) {
  require_here(id, "import of");
  const Location loc = where_[id];
  const GroupRuntime& gr = *local_[loc.group].runtime;
  if (block_bytes.size() != gr.history_off)
    throw Error(fmt::format("import of entity id {} (group '{}'): a block of {} bytes, its type "
                            "'{}' has {}",
                            id, gr.name, block_bytes.size(), gr.type->name, gr.history_off),
                Error::Kind::kRuntime);
  for (const Event& e : pending)
    if (e.dst != id)
      throw Error(fmt::format("import of entity id {}: a pending event is addressed to entity "
                              "id {}",
                              id, e.dst),
                  Error::Kind::kRuntime);
  std::memcpy(block(loc), block_bytes.data(), block_bytes.size());
  for (const Event& e : pending) queue_.push(e);
}

}  // namespace dsim::detail
