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
std::uint64_t entities_bytes(const std::vector<EntitySnapshot>& entities);
void encode_entities(const std::vector<EntitySnapshot>& entities, SectionSink& out);
std::uint64_t pending_bytes(const std::vector<EntitySnapshot>& entities);
void encode_pending(const std::vector<EntitySnapshot>& entities, SectionSink& out);
std::string encode_series(const std::vector<SeriesResult>& series);
std::string encode_figures(const RunFigures& figures);
std::string encode_shard_list(const std::vector<ShardRecord>& shards);

// Appends the section's entities (ids ascending) to `out`, their blocks
// filled, pending events empty.
void decode_entities(SectionSource& in, std::vector<EntitySnapshot>& out);
// Fills the pending events of `entities` (what decode_entities just
// appended, from index `first` on). Returns how many events it read.
std::uint64_t decode_pending(SectionSource& in, std::vector<EntitySnapshot>& entities,
                             std::size_t first);
std::vector<SeriesResult> decode_series(std::string_view raw, std::string_view file);
RunFigures decode_figures(std::string_view raw, std::string_view file);
std::vector<ShardRecord> decode_shard_list(std::string_view raw, std::string_view file);

}  // namespace dsim::checkpoint
