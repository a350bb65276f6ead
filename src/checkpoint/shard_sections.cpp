#include "checkpoint/shard_sections.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "checkpoint/section_file.hpp"
#include "dsim/engine.hpp"
#include "stats/output_json.hpp"

namespace dsim::checkpoint {
namespace {

using Json = nlohmann::ordered_json;

constexpr std::size_t kPayload = kMaxPayloadBytes;
// Bytes of one pending event over its columns.
constexpr std::size_t kEventBytes = 8 + 4 + 4 + 4 + 4 + 8 + kPayload;

}  // namespace

// ENTS: u64 n; u32 id[n]; u32 block_bytes[n]; the blocks, one after another.
std::uint64_t entities_bytes(const std::vector<EntitySnapshot>& entities) {
  std::uint64_t bytes = 8 + entities.size() * 8;
  for (const auto& e : entities) bytes += e.block.size();
  return bytes;
}

void encode_entities(const std::vector<EntitySnapshot>& entities, SectionSink& out) {
  out.put(static_cast<std::uint64_t>(entities.size()));
  for (const auto& e : entities) out.put(e.id);
  for (const auto& e : entities) out.put(static_cast<std::uint32_t>(e.block.size()));
  for (const auto& e : entities) out.put_bytes(e.block.data(), e.block.size());
}

void decode_entities(SectionSource& in, std::vector<EntitySnapshot>& out) {
  const std::uint64_t n = in.take_count(8);
  const std::size_t first = out.size();
  out.resize(first + n);
  for (std::uint64_t i = 0; i < n; ++i) {
    out[first + i].id = in.take<EntityId>();
    if (i > 0 && out[first + i].id <= out[first + i - 1].id)
      in.fail(fmt::format("entity ids out of order: {} after {}", out[first + i].id,
                          out[first + i - 1].id));
  }
  std::vector<std::uint32_t> sizes(n);
  std::uint64_t total = 0;
  for (auto& size : sizes) total += size = in.take<std::uint32_t>();
  if (total != in.left())
    in.fail(fmt::format("blocks of {} bytes in all, but {} bytes hold them", total, in.left()));
  for (std::uint64_t i = 0; i < n; ++i) {
    auto& block = out[first + i].block;
    block.resize(sizes[i]);
    in.take_into(block.data(), sizes[i]);
  }
  in.expect_end();
}

// PEND: u64 entities; u32 count[entities] (per entity of ENTS, in its
// order); u64 n; then columns over the n events in that order: f64 time,
// u32 depth, u32 type, u32 src, u32 dst, u64 seq, payload (32 bytes).
std::uint64_t pending_bytes(const std::vector<EntitySnapshot>& entities) {
  std::uint64_t n = 0;
  for (const auto& e : entities) n += e.pending.size();
  return 16 + entities.size() * 4 + n * kEventBytes;
}

void encode_pending(const std::vector<EntitySnapshot>& entities, SectionSink& out) {
  std::uint64_t n = 0;
  for (const auto& e : entities) n += e.pending.size();
  out.put(static_cast<std::uint64_t>(entities.size()));
  for (const auto& e : entities) out.put(static_cast<std::uint32_t>(e.pending.size()));
  out.put(n);
  const auto column = [&](auto field) {
    for (const auto& e : entities)
      for (const PendingEvent& p : e.pending) out.put(field(p));
  };
  column([](const PendingEvent& p) { return p.time; });
  column([](const PendingEvent& p) { return p.depth; });
  column([](const PendingEvent& p) { return p.type; });
  column([](const PendingEvent& p) { return p.src; });
  column([](const PendingEvent& p) { return p.dst; });
  column([](const PendingEvent& p) { return p.seq; });
  for (const auto& e : entities)
    for (const PendingEvent& p : e.pending) out.put_bytes(p.payload.data(), kPayload);
}

std::uint64_t decode_pending(SectionSource& in, std::vector<EntitySnapshot>& entities,
                             std::size_t first) {
  const std::uint64_t count = in.take_count(4);
  if (count != entities.size() - first)
    in.fail(fmt::format("events for {} entities, but the shard holds {}", count,
                        entities.size() - first));
  std::vector<std::uint32_t> per_entity(count);
  std::uint64_t sum = 0;
  for (auto& k : per_entity) sum += k = in.take<std::uint32_t>();
  const std::uint64_t n = in.take_count(kEventBytes);
  if (n != sum) in.fail(fmt::format("{} events, but the entities' counts add up to {}", n, sum));
  if (n * kEventBytes != in.left()) in.fail(fmt::format("{} events in {} bytes", n, in.left()));
  // Only now that the counts are known to fit the section.
  for (std::size_t i = first; i < entities.size(); ++i)
    entities[i].pending.resize(per_entity[i - first]);
  const auto column = [&](auto set) {
    for (std::size_t i = first; i < entities.size(); ++i)
      for (PendingEvent& p : entities[i].pending) set(p);
  };
  column([&](PendingEvent& p) { p.time = in.take<double>(); });
  column([&](PendingEvent& p) { p.depth = in.take<std::uint32_t>(); });
  column([&](PendingEvent& p) { p.type = in.take<std::uint32_t>(); });
  column([&](PendingEvent& p) { p.src = in.take<EntityId>(); });
  column([&](PendingEvent& p) { p.dst = in.take<EntityId>(); });
  column([&](PendingEvent& p) { p.seq = in.take<std::uint64_t>(); });
  column([&](PendingEvent& p) { in.take_into(p.payload.data(), kPayload); });
  in.expect_end();
  for (std::size_t i = first; i < entities.size(); ++i)
    for (const PendingEvent& p : entities[i].pending)
      if (p.dst != entities[i].id)
        in.fail(
            fmt::format("an event for entity {} is filed under entity {}", p.dst, entities[i].id));
  return n;
}

// SERI: u32 n; per series: group, stat (strings), u64 samples, f64 times,
// f64 values.
std::string encode_series(const std::vector<SeriesResult>& series) {
  ByteWriter out;
  out.put(static_cast<std::uint32_t>(series.size()));
  for (const SeriesResult& s : series) {
    out.put_string(s.group);
    out.put_string(s.stat);
    out.put(static_cast<std::uint64_t>(s.times.size()));
    for (double t : s.times) out.put(t);
    for (std::size_t k = 0; k < s.times.size(); ++k)
      out.put(k < s.values.size() ? s.values[k] : 0.0);
  }
  return out.take();
}

std::vector<SeriesResult> decode_series(std::string_view raw, std::string_view file) {
  ByteReader in(raw, file, kTagSeries);
  const auto n = in.take<std::uint32_t>();
  std::vector<SeriesResult> out;
  for (std::uint32_t i = 0; i < n; ++i) {
    SeriesResult& s = out.emplace_back();
    s.group = in.take_string();
    s.stat = in.take_string();
    const std::uint64_t samples = in.take_count(16);
    s.times.resize(samples);
    s.values.resize(samples);
    for (auto& t : s.times) t = in.take<double>();
    for (auto& v : s.values) v = in.take<double>();
  }
  in.expect_end();
  return out;
}

// FIGS: RunFigures as JSON (keys as manifest.json's "run" object names them).
std::string encode_figures(const RunFigures& f) {
  return output::figures_json(f).dump(-1, ' ', false, Json::error_handler_t::replace);
}

RunFigures decode_figures(std::string_view raw, std::string_view file) {
  const Json j = Json::parse(raw, nullptr, /*allow_exceptions=*/false);
  ByteReader in(raw, file, kTagFigures);
  if (!j.is_object()) in.fail("the run figures are not a JSON object");
  RunFigures f;
  try {
    const auto get = [&](const char* key, auto& field) {
      if (j.contains(key) && !j[key].is_null()) j[key].get_to(field);
    };
    get("events_processed", f.events_processed);
    get("event_rate", f.event_rate);
    get("init_seconds", f.init_seconds);
    get("run_seconds", f.run_seconds);
    get("wall_seconds", f.wall_seconds);
    get("peak_rss_bytes", f.peak_rss_bytes);
    get("sync", f.sync);
    get("sync_reason", f.sync_reason);
    get("partitioner", f.partitioner);
    get("threads", f.threads);
    get("ranks", f.ranks);
    get("edge_cut", f.edge_cut);
    get("rank_edge_cut", f.rank_edge_cut);
    get("windows", f.windows);
    get("events_executed", f.events_executed);
    get("events_rolled_back", f.events_rolled_back);
    get("rollbacks_primary", f.rollbacks_primary);
    get("rollbacks_secondary", f.rollbacks_secondary);
    get("efficiency", f.efficiency);
    get("gvt_rounds", f.gvt_rounds);
    get("peak_saved_bytes", f.peak_saved_bytes);
    get("memory_limit", f.memory_limit);
    get("throttled_rounds", f.throttled_rounds);
    get("state_saving", f.state_saving);
    get("rollback_checks", f.rollback_checks);
    get("checkpoints_written", f.checkpoints_written);
    get("checkpoints_failed", f.checkpoints_failed);
    get("checkpoint_pause_max", f.checkpoint_pause_max);
    get("checkpoint_pause_total", f.checkpoint_pause_total);
    get("checkpoint_bytes", f.checkpoint_bytes);
    get("checkpoint_write_seconds", f.checkpoint_write_seconds);
    get("last_checkpoint", f.last_checkpoint);
    get("resumed_from", f.resumed_from);
    get("resumed_at", f.resumed_at);
    get("restarts", f.restarts);
    if (auto e = engine_from_name(f.sync)) f.engine = *e;
    if (j.contains("partitions") && j["partitions"].is_array())
      for (const auto& p : j["partitions"]) {
        PartitionFigures& out = f.partitions.emplace_back();
        out.partition = p.value("partition", 0u);
        out.rank = p.value("rank", 0u);
        out.entities = p.value("entities", std::uint64_t{0});
        out.events = p.value("events", std::uint64_t{0});
        out.remote_sends = p.value("remote_sends", std::uint64_t{0});
        out.busy_seconds = p.value("busy_seconds", 0.0);
        out.blocked_seconds = p.value("blocked_seconds", 0.0);
        out.rolled_back = p.value("rolled_back", std::uint64_t{0});
      }
  } catch (const nlohmann::json::exception& e) {
    in.fail(fmt::format("a run figure has the wrong type: {}", e.what()));
  }
  return f;
}

// SHRD: u32 n; per shard: u32 rank, file name, u64 bytes, u64 checksum,
// u64 entities, u64 pending, f64 safe time, u64 quiet point, u64 events.
std::string encode_shard_list(const std::vector<ShardRecord>& shards) {
  ByteWriter out;
  out.put(static_cast<std::uint32_t>(shards.size()));
  for (const ShardRecord& s : shards) {
    out.put(s.rank);
    out.put_string(s.file);
    out.put(s.bytes);
    out.put(s.checksum);
    out.put(s.entities);
    out.put(s.pending);
    out.put(s.safe_time);
    out.put(s.quiet_point);
    out.put(s.events);
  }
  return out.take();
}

std::vector<ShardRecord> decode_shard_list(std::string_view raw, std::string_view file) {
  ByteReader in(raw, file, kTagShards);
  const auto n = in.take<std::uint32_t>();
  std::vector<ShardRecord> out;
  for (std::uint32_t i = 0; i < n; ++i) {
    ShardRecord& s = out.emplace_back();
    s.rank = in.take<std::uint32_t>();
    s.file = in.take_string();
    s.bytes = in.take<std::uint64_t>();
    s.checksum = in.take<std::uint64_t>();
    s.entities = in.take<std::uint64_t>();
    s.pending = in.take<std::uint64_t>();
    s.safe_time = in.take<double>();
    s.quiet_point = in.take<std::uint64_t>();
    s.events = in.take<std::uint64_t>();
    if (s.rank != i) in.fail(fmt::format("shard {} is listed as rank {}", i, s.rank));
  }
  in.expect_end();
  return out;
}

}  // namespace dsim::checkpoint
