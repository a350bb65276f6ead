#include "checkpoint/shard_sections.hpp"

#include <fmt/format.h>

#include <span>

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
std::uint64_t entities_bytes(const Snapshot& snapshot, const detail::SnapshotOrder& order) {
  std::uint64_t bytes = 8 + order.entities.size() * 8;
  for (const SnapshotBlocks& part : snapshot.blocks) bytes += part.bytes.size();
  return bytes;
}

void encode_entities(const Snapshot& snapshot, const detail::SnapshotOrder& order,
                     SectionSink& out) {
  out.put(static_cast<std::uint64_t>(order.entities.size()));
  for (const auto& e : order.entities) out.put(e.id);
  for (const auto& e : order.entities) out.put(snapshot.blocks[e.part].block_bytes);
  for (std::size_t i = 0; i < order.entities.size(); ++i) {
    const auto block = order.block(snapshot, i);
    out.put_bytes(block.data(), block.size());
  }
}

std::vector<EntityId> decode_entities(SectionSource& in, Snapshot& out) {
  const std::uint64_t n = in.take_count(8);
  std::vector<EntityId> ids(n);
  for (std::uint64_t i = 0; i < n; ++i) {
    ids[i] = in.take<EntityId>();
    if (i > 0 && ids[i] <= ids[i - 1])
      in.fail(fmt::format("entity ids out of order: {} after {}", ids[i], ids[i - 1]));
  }
  std::vector<std::uint32_t> sizes(n);
  std::uint64_t total = 0;
  for (auto& size : sizes) total += size = in.take<std::uint32_t>();
  if (total != in.left())
    in.fail(fmt::format("blocks of {} bytes in all, but {} bytes hold them", total, in.left()));
  // A part per run of equal sizes: the blocks of a run are contiguous.
  for (std::uint64_t i = 0; i < n;) {
    std::uint64_t j = i + 1;
    while (j < n && sizes[j] == sizes[i]) ++j;
    SnapshotBlocks& part = out.blocks.emplace_back();
    part.ids.assign(ids.begin() + static_cast<std::ptrdiff_t>(i),
                    ids.begin() + static_cast<std::ptrdiff_t>(j));
    part.block_bytes = sizes[i];
    part.bytes.resize((j - i) * sizes[i]);
    in.take_into(part.bytes.data(), part.bytes.size());
    i = j;
  }
  in.expect_end();
  return ids;
}

// PEND: u64 entities; u32 count[entities] (per entity of ENTS, in its
// order); u64 n; then columns over the n events in that order: f64 time,
// u32 depth, u32 type, u32 src, u32 dst, u64 seq, payload (32 bytes).
std::uint64_t pending_bytes(const Snapshot& snapshot, const detail::SnapshotOrder& order) {
  return 16 + order.entities.size() * 4 + snapshot.pending.size() * kEventBytes;
}

void encode_pending(const Snapshot& snapshot, const detail::SnapshotOrder& order,
                    SectionSink& out) {
  out.put(static_cast<std::uint64_t>(order.entities.size()));
  for (std::size_t i = 0; i < order.entities.size(); ++i)
    out.put(static_cast<std::uint32_t>(order.first_event[i + 1] - order.first_event[i]));
  out.put(static_cast<std::uint64_t>(order.events.size()));
  const auto column = [&](auto field) {
    for (const std::uint64_t e : order.events) out.put(field(snapshot.pending[e]));
  };
  column([](const PendingEvent& p) { return p.time; });
  column([](const PendingEvent& p) { return p.depth; });
  column([](const PendingEvent& p) { return p.type; });
  column([](const PendingEvent& p) { return p.src; });
  column([](const PendingEvent& p) { return p.dst; });
  column([](const PendingEvent& p) { return p.seq; });
  for (const std::uint64_t e : order.events)
    out.put_bytes(snapshot.pending[e].payload.data(), kPayload);
}

std::uint64_t decode_pending(SectionSource& in, const std::vector<EntityId>& ids, Snapshot& out) {
  const std::uint64_t count = in.take_count(4);
  if (count != ids.size())
    in.fail(fmt::format("events for {} entities, but the shard holds {}", count, ids.size()));
  std::vector<std::uint32_t> per_entity(count);
  std::uint64_t sum = 0;
  for (auto& k : per_entity) sum += k = in.take<std::uint32_t>();
  const std::uint64_t n = in.take_count(kEventBytes);
  if (n != sum) in.fail(fmt::format("{} events, but the entities' counts add up to {}", n, sum));
  if (n * kEventBytes != in.left()) in.fail(fmt::format("{} events in {} bytes", n, in.left()));
  // Only now that the counts are known to fit the section.
  const std::size_t first = out.pending.size();
  out.pending.resize(first + n);
  const std::span<PendingEvent> events(out.pending.data() + first, n);
  const auto column = [&](auto set) {
    for (PendingEvent& p : events) set(p);
  };
  column([&](PendingEvent& p) { p.time = in.take<double>(); });
  column([&](PendingEvent& p) { p.depth = in.take<std::uint32_t>(); });
  column([&](PendingEvent& p) { p.type = in.take<std::uint32_t>(); });
  column([&](PendingEvent& p) { p.src = in.take<EntityId>(); });
  column([&](PendingEvent& p) { p.dst = in.take<EntityId>(); });
  column([&](PendingEvent& p) { p.seq = in.take<std::uint64_t>(); });
  column([&](PendingEvent& p) { in.take_into(p.payload.data(), kPayload); });
  in.expect_end();
  std::size_t e = 0;
  for (std::size_t i = 0; i < ids.size(); ++i)
    for (std::uint32_t k = 0; k < per_entity[i]; ++k, ++e)
      if (events[e].dst != ids[i])
        in.fail(fmt::format("an event for entity {} is filed under entity {}", events[e].dst,
                            ids[i]));
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
    f = output::figures_from_json(j);
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
