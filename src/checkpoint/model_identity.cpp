#include "checkpoint/model_identity.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "checkpoint/section_file.hpp"
#include "core/model.hpp"
#include "dsim/message.hpp"
#include "dsim/output.hpp"

namespace dsim::checkpoint {
namespace {

using Json = nlohmann::ordered_json;

// Keys of dsim::to_json that choose how a run goes, not what it computes, or
// that a resume may change: left out of the canonical text. Every other key,
// including any added later, is part of the model.
const std::set<std::string, std::less<>> kRunKeys = {
    "file",
    "validated",
    "plugins",
    "simulation.end_time",
    "simulation.sync",
    "simulation.threads",
    "simulation.partitioner",
    "simulation.queue",
    "simulation.memory_limit",
    "simulation.state_saving",
    "simulation.state_saving_period",
    "output.directory",
    "output.formats",
    "checkpoint.every",
    "checkpoint.wall_every",
    "checkpoint.directory",
    "checkpoint.keep",
};

void flatten(const Json& value, const std::string& key, std::vector<std::string>& lines) {
  if (kRunKeys.count(key)) return;
  if (value.is_object()) {
    for (const auto& [name, item] : value.items())
      flatten(item, key.empty() ? name : key + "." + name, lines);
    return;
  }
  if (value.is_array() && key == "entities") {
    // Groups by name (as --set names them); their order fixes the ids.
    Json names = Json::array();
    for (const auto& group : value) names.push_back(group.value("name", ""));
    lines.push_back(key + " = " + names.dump());
    for (const auto& group : value) {
      const std::string prefix = key + "." + group.value("name", "");
      for (const auto& [name, item] : group.items())
        if (name != "name") flatten(item, prefix + "." + name, lines);
    }
    return;
  }
  if (value.is_array()) {
    lines.push_back(fmt::format("{}.size = {}", key, value.size()));
    for (std::size_t i = 0; i < value.size(); ++i)
      flatten(value[i], fmt::format("{}[{}]", key, i), lines);
    return;
  }
  lines.push_back(key + " = " + value.dump());
}

// The canonical text's lines as key -> value, in order.
std::vector<std::pair<std::string, std::string>> entries(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!text.empty()) {
    const std::size_t end = std::min(text.find('\n'), text.size());
    const std::string_view line = text.substr(0, end);
    text.remove_prefix(std::min(end + 1, text.size()));
    const std::size_t eq = line.find(" = ");
    if (eq == std::string_view::npos)
      out.emplace_back(std::string(line), "");
    else
      out.emplace_back(std::string(line.substr(0, eq)), std::string(line.substr(eq + 3)));
  }
  return out;
}


bool has_series(StatKind kind) { return kind == StatKind::kCounter || kind == StatKind::kGauge; }

}  // namespace

std::string canonical_text(const ModelSpec& spec) {
  const Json json = Json::parse(to_json(spec));
  std::vector<std::string> lines;
  flatten(json, "", lines);
  std::string text;
  for (const auto& line : lines) text += line + "\n";
  return text;
}

std::uint64_t fingerprint(std::string_view canonical) { return checksum(canonical); }

ModelIdentity identify(const detail::Model& model) {
  ModelIdentity id;
  id.canonical = canonical_text(model.spec());
  id.fingerprint = fingerprint(id.canonical);
  id.config_json = to_json(model.spec());
  id.seed = model.seed();
  id.entities = model.entity_count();
  id.sample_interval = model.sample_interval();
  id.samples = model.sample_count();
  for (const detail::GroupRuntime& g : model.groups()) {
    GroupLayout& out = id.groups.emplace_back();
    out.name = g.name;
    out.type = g.type->name;
    out.first = g.first;
    out.count = g.count;
    out.block_bytes = g.history_off;
    out.counters_off = g.counters_off;
    out.gauges_off = g.gauges_off;
    out.state_off = g.state_off;
    out.state_size = g.type->state_size;
    out.state_align = g.type->state_align;
    for (const StatDecl& d : g.stats)
      out.stats.push_back({d.name, d.kind, d.bins, d.lo, d.hi, d.index});
    for (const auto& h : g.type->handlers)
      out.payloads.push_back({h.type_id, std::string(h.type_name), h.payload_size});
    std::sort(out.payloads.begin(), out.payloads.end(),
              [](const PayloadLayout& a, const PayloadLayout& b) { return a.name < b.name; });
  }
  return id;
}

std::string model_difference(std::string_view recorded, std::string_view current) {
  const auto was = entries(recorded);
  const auto now = entries(current);
  std::map<std::string, std::string, std::less<>> was_map(was.begin(), was.end());
  std::map<std::string, std::string, std::less<>> now_map(now.begin(), now.end());
  std::string first;
  std::size_t differ = 0;
  const auto note = [&](std::string text) {
    if (differ++ == 0) first = std::move(text);
  };
  for (const auto& [key, value] : was) {
    const auto it = now_map.find(key);
    if (it == now_map.end())
      note(fmt::format("{} is {} in the checkpoint and absent now", clip(key), clip(value)));
    else if (it->second != value)
      note(fmt::format("{} is {} in the checkpoint and {} now", clip(key), clip(value),
                       clip(it->second)));
  }
  for (const auto& [key, value] : now)
    if (!was_map.count(key))
      note(fmt::format("{} is {} now and absent in the checkpoint", clip(key), clip(value)));
  if (differ > 1) first += fmt::format(" (and {} more keys differ)", differ - 1);
  return first;
}

std::string layout_difference(const ModelIdentity& was, const ModelIdentity& now) {
  if (was.entities != now.entities)
    return fmt::format("the model has {} entities in the checkpoint and {} in this build",
                       was.entities, now.entities);
  if (was.groups.size() != now.groups.size())
    return fmt::format("the model has {} groups in the checkpoint and {} in this build",
                       was.groups.size(), now.groups.size());
  for (std::size_t i = 0; i < was.groups.size(); ++i) {
    const GroupLayout& a = was.groups[i];
    const GroupLayout& b = now.groups[i];
    if (a.name != b.name || a.type != b.type)
      return fmt::format(
          "group {} is '{}' of type '{}' in the checkpoint and '{}' of type '{}' "
          "in this build",
          i, clip(a.name), clip(a.type), clip(b.name), clip(b.type));
    const std::string who =
        fmt::format("entity type '{}' (group '{}')", clip(a.type), clip(a.name));
    const auto fact = [&](const char* what, std::uint64_t x, std::uint64_t y) {
      return fmt::format("{}: {} is {} in the checkpoint and {} in this build", who, what, x, y);
    };
    if (a.first != b.first) return fact("the first entity id", a.first, b.first);
    if (a.count != b.count) return fact("the entity count", a.count, b.count);
    if (a.state_size != b.state_size)
      return fact("the State's size in bytes", a.state_size, b.state_size);
    if (a.state_align != b.state_align)
      return fact("the State's alignment", a.state_align, b.state_align);
    if (a.block_bytes != b.block_bytes) return fact("the block size", a.block_bytes, b.block_bytes);
    if (a.counters_off != b.counters_off)
      return fact("the counters' offset", a.counters_off, b.counters_off);
    if (a.gauges_off != b.gauges_off) return fact("the gauges' offset", a.gauges_off, b.gauges_off);
    if (a.state_off != b.state_off) return fact("the State's offset", a.state_off, b.state_off);
    if (a.stats.size() != b.stats.size())
      return fact("the number of statistics", a.stats.size(), b.stats.size());
    for (std::size_t k = 0; k < a.stats.size(); ++k)
      if (a.stats[k] != b.stats[k])
        return fmt::format(
            "{}: statistic {} is {} '{}' in the checkpoint and {} '{}' in this "
            "build (or its bins differ)",
            who, k, output::kind_name(a.stats[k].kind), clip(a.stats[k].name),
            output::kind_name(b.stats[k].kind), clip(b.stats[k].name));
    for (const PayloadLayout& p : a.payloads) {
      const auto it = std::find_if(b.payloads.begin(), b.payloads.end(),
                                   [&](const PayloadLayout& q) { return q.name == p.name; });
      if (it == b.payloads.end())
        return fmt::format("{}: it handles payload '{}' in the checkpoint, not in this build", who,
                           clip(p.name));
      if (it->id != p.id)
        return fmt::format(
            "{}: payload '{}' has id {:#010x} in the checkpoint and {:#010x} in "
            "this build",
            who, clip(p.name), p.id, it->id);
      if (it->size != p.size)
        return fmt::format("{}: payload '{}' is {} bytes in the checkpoint and {} in this build",
                           who, clip(p.name), p.size, it->size);
    }
    for (const PayloadLayout& q : b.payloads)
      if (std::none_of(a.payloads.begin(), a.payloads.end(),
                       [&](const PayloadLayout& p) { return p.name == q.name; }))
        return fmt::format("{}: it handles payload '{}' in this build, not in the checkpoint", who,
                           clip(q.name));
  }
  return "";
}

void check_same_model(const ModelIdentity& recorded, const ModelIdentity& current,
                      std::string_view where) {
  if (recorded.fingerprint != current.fingerprint || recorded.canonical != current.canonical) {
    std::string diff = model_difference(recorded.canonical, current.canonical);
    if (diff.empty()) diff = "its fingerprint differs";
    throw Error(fmt::format("checkpoint '{}' is of another model: {}", clip(where, 160), diff));
  }
  if (const std::string diff = layout_difference(recorded, current); !diff.empty())
    throw Error(fmt::format("checkpoint '{}' was written by a build whose type layout differs: {}",
                            clip(where, 160), diff));
}

// --- Sections ----------------------------------------------------------------

std::string encode_model(const ModelIdentity& id) {
  ByteWriter out;
  out.put(id.fingerprint);
  out.put_string(id.canonical);
  out.put_string(id.config_json);
  return out.take();
}

void decode_model(std::string_view raw, std::string_view file, ModelIdentity& id) {
  ByteReader in(raw, file, kTagModel);
  id.fingerprint = in.take<std::uint64_t>();
  id.canonical = in.take_string();
  id.config_json = in.take_string();
  in.expect_end();
  if (fingerprint(id.canonical) != id.fingerprint)
    in.fail("the model's text does not have the fingerprint recorded with it");
}

std::string encode_types(const ModelIdentity& id) {
  ByteWriter out;
  out.put(id.seed);
  out.put(id.entities);
  out.put(id.sample_interval);
  out.put(id.samples);
  out.put(static_cast<std::uint32_t>(id.groups.size()));
  for (const GroupLayout& g : id.groups) {
    out.put_string(g.name);
    out.put_string(g.type);
    out.put(g.first);
    out.put(g.count);
    out.put(g.block_bytes);
    out.put(g.counters_off);
    out.put(g.gauges_off);
    out.put(g.state_off);
    out.put(g.state_size);
    out.put(g.state_align);
    out.put(static_cast<std::uint32_t>(g.stats.size()));
    for (const StatLayout& s : g.stats) {
      out.put_string(s.name);
      out.put(static_cast<std::uint8_t>(s.kind));
      out.put(s.bins);
      out.put(s.lo);
      out.put(s.hi);
      out.put(s.index);
    }
    out.put(static_cast<std::uint32_t>(g.payloads.size()));
    for (const PayloadLayout& p : g.payloads) {
      out.put(p.id);
      out.put_string(p.name);
      out.put(p.size);
    }
  }
  return out.take();
}

void decode_types(std::string_view raw, std::string_view file, ModelIdentity& id) {
  ByteReader in(raw, file, kTagTypes);
  id.seed = in.take<std::uint64_t>();
  id.entities = in.take<std::uint64_t>();
  id.sample_interval = in.take<double>();
  id.samples = in.take<std::uint32_t>();
  const auto groups = in.take<std::uint32_t>();
  std::uint64_t next = 0;
  id.groups.clear();
  for (std::uint32_t i = 0; i < groups; ++i) {
    GroupLayout& g = id.groups.emplace_back();
    g.name = in.take_string();
    g.type = in.take_string();
    g.first = in.take<EntityId>();
    g.count = in.take<std::uint64_t>();
    g.block_bytes = in.take<std::uint32_t>();
    g.counters_off = in.take<std::uint32_t>();
    g.gauges_off = in.take<std::uint32_t>();
    g.state_off = in.take<std::uint32_t>();
    g.state_size = in.take<std::uint64_t>();
    g.state_align = in.take<std::uint64_t>();
    const auto stats = in.take<std::uint32_t>();
    for (std::uint32_t k = 0; k < stats; ++k) {
      StatLayout& s = g.stats.emplace_back();
      s.name = in.take_string();
      const auto kind = in.take<std::uint8_t>();
      if (kind > static_cast<std::uint8_t>(StatKind::kHistogram))
        in.fail(fmt::format("statistic kind {}", kind));
      s.kind = static_cast<StatKind>(kind);
      s.bins = in.take<std::uint32_t>();
      s.lo = in.take<double>();
      s.hi = in.take<double>();
      s.index = in.take<std::uint32_t>();
    }
    const auto payloads = in.take<std::uint32_t>();
    for (std::uint32_t k = 0; k < payloads; ++k) {
      PayloadLayout& p = g.payloads.emplace_back();
      p.id = in.take<std::uint32_t>();
      p.name = in.take_string();
      p.size = in.take<std::uint32_t>();
    }
    if (g.first != next)
      in.fail(fmt::format("group '{}' starts at id {}, not {}", clip(g.name), g.first, next));
    next += g.count;
  }
  in.expect_end();
  if (next != id.entities)
    in.fail(fmt::format("the groups hold {} entities, not {}", next, id.entities));
}

// --- Statistics ----------------------------------------------------------------

detail::Partials statistics_shape(const ModelIdentity& id, std::uint32_t samples) {
  detail::Partials out;
  for (const GroupLayout& g : id.groups) {
    for (const StatLayout& s : g.stats) {
      detail::StatPartial& p = out.stats.emplace_back();
      if (s.kind == StatKind::kHistogram) p.bins.assign(std::size_t{s.bins} + 2, 0);
    }
    for (const StatLayout& s : g.stats)
      if (has_series(s.kind)) out.series.resize(out.series.size() + samples);
  }
  return out;
}

std::size_t series_rows(const ModelIdentity& id) {
  std::size_t rows = 0;
  for (const GroupLayout& g : id.groups)
    rows += std::count_if(g.stats.begin(), g.stats.end(),
                          [](const StatLayout& s) { return has_series(s.kind); });
  return rows;
}

detail::Partials reshape_samples(detail::Partials partials, const ModelIdentity& id,
                                 std::uint32_t samples, std::uint32_t to) {
  const std::size_t rows = series_rows(id);
  if (partials.series.size() != rows * samples)
    throw Error(fmt::format("internal: {} series cells, not {} rows of {} samples",
                            partials.series.size(), rows, samples),
                Error::Kind::kRuntime);
  if (samples == to) return partials;
  std::vector<detail::ExactSum> cells(rows * to);
  for (std::size_t r = 0; r < rows; ++r)
    for (std::uint32_t k = 0; k < samples; ++k) {
      const detail::ExactSum& cell = partials.series[r * samples + k];
      if (k < to)
        cells[r * to + k] = cell;
      else if (!(cell == detail::ExactSum{}))
        throw Error(fmt::format(
            "the checkpoint holds series changes for sample {} (time {}), after the new end "
            "time's last sample",
            k + 1, id.sample_interval * (k + 1)));
    }
  partials.series = std::move(cells);
  return partials;
}

std::vector<SeriesResult> series_at(const detail::Partials& partials, const ModelIdentity& id,
                                    Time safe_time) {
  std::vector<SeriesResult> out;
  const std::size_t rows = series_rows(id);
  if (rows == 0 || partials.series.empty()) return out;
  const std::size_t samples = partials.series.size() / rows;
  std::size_t cell = 0;
  for (const GroupLayout& g : id.groups)
    for (const StatLayout& s : g.stats) {
      if (!has_series(s.kind)) continue;
      SeriesResult& r = out.emplace_back();
      r.group = g.name;
      r.stat = s.name;
      detail::ExactSum sum;
      for (std::size_t k = 0; k < samples; ++k, ++cell) {
        sum.merge(partials.series[cell]);
        const Time at = id.sample_interval * static_cast<double>(k + 1);
        if (!(at < safe_time)) continue;
        r.times.push_back(at);
        r.values.push_back(sum.value());
      }
    }
  return out;
}

}  // namespace dsim::checkpoint
