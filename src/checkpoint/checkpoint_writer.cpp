#include "checkpoint/checkpoint_writer.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <system_error>

#include "checkpoint/section_file.hpp"
#include "dsim/message.hpp"
#include "stats/output_json.hpp"

namespace dsim::checkpoint {
namespace {

namespace fs = std::filesystem;

std::string shown(const fs::path& path) { return clip(path.string(), 160); }

Error io_error(const std::string& what, const fs::path& path, int err) {
  return Error(fmt::format("cannot {} checkpoint '{}': {}", what, shown(path), std::strerror(err)),
               Error::Kind::kRuntime);
}

// Creates DIR/ckpt-NNNNNN (and DIR) if missing; another process may be
// creating it at the same moment.
fs::path make_checkpoint_directory(FileSystem& files, const fs::path& dir, std::uint64_t number) {
  const fs::path path = checkpoint_path(dir, number);
  if (const int err = files.create_directories(path); err != 0 && err != EEXIST)
    throw io_error("create directory for", path, err);
  return path;
}

// Publishes `content` as `path`: a temporary sibling, written and fsynced,
// renamed, and the directory fsynced. Nothing is left under the temporary
// name on failure.
void publish(FileSystem& files, const fs::path& path, std::string_view content) {
  const fs::path tmp = fs::path(path.string() + ".tmp-" + std::to_string(::getpid()));
  files.remove_all(tmp);  // left by a dead process whose pid we now have
  if (const int err = files.write_file(tmp, content); err != 0) {
    files.remove_all(tmp);
    throw io_error("write", path, err);
  }
  if (const int err = files.rename(tmp, path); err != 0) {
    files.remove_all(tmp);
    throw io_error("rename into place", path, err);
  }
  if (const int err = files.sync_directory(path.parent_path()); err != 0)
    throw io_error("flush the directory of", path, err);
}

CheckpointHeader header_of(const ModelIdentity& model, const CheckpointMeta& meta) {
  CheckpointHeader h;
  h.dsim_version = meta.dsim_version;
  h.number = meta.number;
  h.fingerprint = model.fingerprint;
  h.seed = model.seed;
  h.end_time = meta.end_time;
  h.model_entities = model.entities;
  h.rank = meta.rank;
  h.shards = meta.layout.ranks;
  h.layout = meta.layout;
  h.written_at = output::utc_timestamp();
  return h;
}

}  // namespace

fs::path checkpoint_path(const fs::path& dir, std::uint64_t number) {
  return dir / checkpoint_name(number);
}

std::uint64_t next_checkpoint_number(const fs::path& dir) {
  std::uint64_t largest = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (const auto n = checkpoint_number(entry.path().filename().string()))
      largest = std::max(largest, *n);
  return largest + 1;
}

ShardRecord write_shard(FileSystem& files, const fs::path& dir, const ModelIdentity& model,
                        const CheckpointMeta& meta, const Snapshot& snapshot,
                        const WriteOptions& options) {
  if (meta.layout.ranks == 0 || meta.rank >= meta.layout.ranks)
    throw Error(fmt::format("internal: checkpoint shard {} of {}", meta.rank, meta.layout.ranks),
                Error::Kind::kRuntime);
  // Everything is encoded before the first byte is written.
  CheckpointHeader header = header_of(model, meta);
  header.safe_time = snapshot.safe_time;
  header.quiet_point = snapshot.index;
  header.events = snapshot.events;
  // Entity by entity in id order, each one's events in key order.
  const detail::SnapshotOrder order = detail::order_of(snapshot);
  header.entities = order.entities.size();
  header.pending = snapshot.pending.size();

  SectionFileWriter out(FileKind::kShard);
  const int level = options.level;
  out.add(kTagHeader, encode(header), 0);
  out.add(kTagModel, encode_model(model), level);
  out.add(kTagTypes, encode_types(model), level);
  out.begin(kTagEntities, entities_bytes(snapshot, order), level, options.threads);
  {
    SectionSink sink(out);
    encode_entities(snapshot, order, sink);
  }
  out.end();
  out.begin(kTagPending, pending_bytes(snapshot, order), level, options.threads);
  {
    SectionSink sink(out);
    encode_pending(snapshot, order, sink);
  }
  out.end();
  out.add(kTagStatistics,
          std::string_view(reinterpret_cast<const char*>(snapshot.statistics.data()),
                           snapshot.statistics.size()),
          level);
  out.add(kTagSeries, encode_series(snapshot.series), level);
  out.add(kTagFigures, encode_figures(meta.figures), level);
  const std::string content = out.finish();

  ShardRecord record;
  record.rank = meta.rank;
  record.file = shard_name(meta.rank, meta.layout.ranks);
  record.bytes = content.size();
  record.checksum = checksum(content);
  record.entities = header.entities;
  record.pending = header.pending;
  record.safe_time = header.safe_time;
  record.quiet_point = header.quiet_point;
  record.events = header.events;

  const fs::path where = make_checkpoint_directory(files, dir, meta.number);
  publish(files, where / record.file, content);
  return record;
}

void write_index(FileSystem& files, const fs::path& dir, const ModelIdentity& model,
                 const CheckpointMeta& meta, std::vector<ShardRecord> shards) {
  const fs::path where = checkpoint_path(dir, meta.number);
  const auto refuse = [&](const std::string& why) {
    return Error(fmt::format("cannot complete checkpoint '{}': {}", shown(where), why),
                 Error::Kind::kRuntime);
  };
  std::sort(shards.begin(), shards.end(),
            [](const ShardRecord& a, const ShardRecord& b) { return a.rank < b.rank; });
  if (shards.size() != meta.layout.ranks)
    throw refuse(
        fmt::format("{} shard records for {} processes", shards.size(), meta.layout.ranks));
  CheckpointHeader header = header_of(model, meta);
  header.rank = 0;
  for (std::uint32_t r = 0; r < shards.size(); ++r) {
    const ShardRecord& s = shards[r];
    if (s.rank != r) throw refuse(fmt::format("no record of the shard of rank {}", r));
    if (s.file != shard_name(r, meta.layout.ranks))
      throw refuse(fmt::format("rank {}'s shard is named '{}'", r, clip(s.file)));
    if (s.safe_time != shards[0].safe_time || s.quiet_point != shards[0].quiet_point ||
        s.events != shards[0].events)
      throw refuse(
          fmt::format("rank {}'s shard holds the cut at time {} (quiet point {}), rank "
                      "0's the one at time {} (quiet point {})",
                      r, s.safe_time, s.quiet_point, shards[0].safe_time, shards[0].quiet_point));
    std::error_code ec;
    const auto size = fs::file_size(where / s.file, ec);
    if (ec) throw refuse(fmt::format("shard '{}': {}", s.file, ec.message()));
    if (size != s.bytes)
      throw refuse(
          fmt::format("shard '{}' is {} bytes, not the {} written", s.file, size, s.bytes));
    header.entities += s.entities;
    header.pending += s.pending;
  }
  header.safe_time = shards[0].safe_time;
  header.quiet_point = shards[0].quiet_point;
  header.events = shards[0].events;
  if (header.entities != model.entities)
    throw refuse(fmt::format("the shards hold {} entities, the model has {}", header.entities,
                             model.entities));

  SectionFileWriter out(FileKind::kIndex);
  out.add(kTagHeader, encode(header), 0);
  out.add(kTagShards, encode_shard_list(shards), 0);
  publish(files, where / std::string(kIndexFile), out.finish());
  // The checkpoint directory's own entry, made when its first shard was.
  if (const int err = files.sync_directory(dir); err != 0)
    throw io_error("flush the directory of", where, err);
}

std::vector<fs::path> prune_checkpoints(FileSystem& files, const fs::path& dir, std::size_t keep) {
  std::map<std::uint64_t, bool> found;  // number -> complete (has its index)
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const auto n = checkpoint_number(entry.path().filename().string());
    if (!n || !entry.is_directory(ec)) continue;
    found[*n] = fs::is_regular_file(entry.path() / std::string(kIndexFile), ec);
  }
  std::vector<fs::path> removed;
  std::size_t complete = 0;
  bool newer_complete = false;
  for (auto it = found.rbegin(); it != found.rend(); ++it) {
    const auto [number, is_complete] = *it;
    bool drop = false;
    if (is_complete) {
      ++complete;
      drop = keep > 0 && complete > keep;
      newer_complete = true;
    } else {
      drop = newer_complete;  // died while being written; a newer one is complete
    }
    if (!drop) continue;
    const fs::path path = checkpoint_path(dir, number);
    // The index goes first: a checkpoint half removed is incomplete, never
    // mistaken for a valid one.
    if (const int err = files.remove_all(path / std::string(kIndexFile)); err != 0)
      throw io_error("remove", path, err);
    if (const int err = files.remove_all(path); err != 0) throw io_error("remove", path, err);
    removed.push_back(path);
  }
  return removed;
}

}  // namespace dsim::checkpoint
