// The encodings of a shard's snapshot sections (ENTS, PEND, SERI, FIGS) and
// of an index's shard list (SHRD): byte layouts in docs/checkpoint.md. The
// writer and the reader share them so that they cannot drift apart.
//
// Decoders check everything a checksum cannot: counts that fit, ids in
// order, a pending event's destination; they throw dsim::Error naming the
// file and section.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "checkpoint/section_file.hpp"
#include "core/snapshot_order.hpp"
#include "dsim/results.hpp"
#include "dsim/run_control.hpp"

namespace dsim::checkpoint {

// What a writer reports about one shard it wrote, and what the index keeps
// of each: enough to tell that a shard file is the one written.
struct ShardRecord {
  std::uint32_t rank = 0;
  std::string file;  // name inside the checkpoint directory: "shard-1-of-3"
  std::uint64_t bytes = 0;
  std::uint64_t checksum = 0;  // XXH3-64 of the whole file
  std::uint64_t entities = 0;
  std::uint64_t pending = 0;
  // The cut it holds (every shard of a checkpoint holds the same).
  Time safe_time = 0;
  std::uint64_t quiet_point = 0;
  std::uint64_t events = 0;
};

// The big sections stream: their raw bytes (announced by *_bytes) go to the
// writer, and come from the reader, a piece at a time.
// The snapshot's entities go out in `order`'s order (core/snapshot_order.hpp:
// ids ascending, each entity's events in key order).
std::uint64_t entities_bytes(const Snapshot& snapshot, const detail::SnapshotOrder& order);
void encode_entities(const Snapshot& snapshot, const detail::SnapshotOrder& order,
                     SectionSink& out);
std::uint64_t pending_bytes(const Snapshot& snapshot, const detail::SnapshotOrder& order);
void encode_pending(const Snapshot& snapshot, const detail::SnapshotOrder& order,
                    SectionSink& out);
std::string encode_series(const std::vector<SeriesResult>& series);
std::string encode_figures(const RunFigures& figures);
std::string encode_shard_list(const std::vector<ShardRecord>& shards);

// Appends the section's entities (ids ascending) to `out`: a part per run
// of entities with blocks of one size. Returns their ids, in order.
std::vector<EntityId> decode_entities(SectionSource& in, Snapshot& out);
// Appends the section's events to `out.pending`, checking that each is
// filed under the entity it is addressed to (`ids`: what decode_entities
// returned for the same shard). Returns how many events it read.
std::uint64_t decode_pending(SectionSource& in, const std::vector<EntityId>& ids, Snapshot& out);
std::vector<SeriesResult> decode_series(std::string_view raw, std::string_view file);
RunFigures decode_figures(std::string_view raw, std::string_view file);
std::vector<ShardRecord> decode_shard_list(std::string_view raw, std::string_view file);

}  // namespace dsim::checkpoint
