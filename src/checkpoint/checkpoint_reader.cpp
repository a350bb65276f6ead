#include "checkpoint/checkpoint_reader.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <system_error>

#include "checkpoint/section_file.hpp"
#include "dsim/message.hpp"

namespace dsim::checkpoint {
namespace {

namespace fs = std::filesystem;

std::string shown(const fs::path& path) { return clip(path.string(), 160); }

// The whole file, or an errno value.
int read_whole(const fs::path& path, std::string& out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    const int err = S_ISDIR(st.st_mode) ? EISDIR : errno != 0 ? errno : EINVAL;
    ::close(fd);
    return err;
  }
  out.resize(static_cast<std::size_t>(st.st_size));
  std::size_t at = 0;
  while (at < out.size()) {
    const ssize_t n = ::read(fd, out.data() + at, out.size() - at);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return err;
    }
    if (n == 0) break;  // shrank while we read
    at += static_cast<std::size_t>(n);
  }
  out.resize(at);
  ::close(fd);
  return 0;
}

struct IndexData {
  CheckpointHeader header;
  std::vector<ShardRecord> shards;
  std::uint64_t bytes = 0;
};

IndexData read_index(const fs::path& checkpoint) {
  const fs::path path = checkpoint / std::string(kIndexFile);
  std::string bytes;
  if (const int err = read_whole(path, bytes); err != 0) {
    if (err == ENOENT)
      throw Error(
          fmt::format("checkpoint '{}' is incomplete: it has no index (its write did not "
                      "finish)",
                      shown(checkpoint)));
    throw Error(
        fmt::format("cannot read checkpoint file '{}': {}", shown(path), std::strerror(err)));
  }
  const SectionFileReader in(bytes, path.string(), FileKind::kIndex);
  IndexData index;
  index.header = decode_header(in.section(kTagHeader), path.string());
  index.shards = decode_shard_list(in.section(kTagShards), path.string());
  index.bytes = bytes.size();
  const auto bad = [&](const std::string& what) {
    return Error(fmt::format("checkpoint file '{}' is corrupt: {}", shown(path), what));
  };
  if (index.shards.size() != index.header.shards)
    throw bad(fmt::format("it names {} shards of {}", index.shards.size(), index.header.shards));
  for (const ShardRecord& s : index.shards)
    if (s.file != shard_name(s.rank, index.header.shards))
      throw bad(fmt::format("it names shard {} '{}'", s.rank, clip(s.file)));
  if (index.header.entities != index.header.model_entities)
    throw bad(fmt::format("its shards hold {} entities of the model's {}", index.header.entities,
                          index.header.model_entities));
  return index;
}

struct ShardData {
  fs::path path;
  std::string bytes;
  std::optional<SectionFileReader> reader;
  CheckpointHeader header;
};

// Reads one shard and checks it against its index's record: intact, the
// file written (size, whole-file checksum), the same cut.
void open_shard(const fs::path& checkpoint, const IndexData& index, const ShardRecord& record,
                ShardData& out) {
  out.path = checkpoint / record.file;
  if (const int err = read_whole(out.path, out.bytes); err != 0) {
    if (err == ENOENT)
      throw Error(
          fmt::format("checkpoint '{}' is incomplete: shard '{}', named by its index, is "
                      "missing",
                      shown(checkpoint), record.file));
    throw Error(
        fmt::format("cannot read checkpoint file '{}': {}", shown(out.path), std::strerror(err)));
  }
  out.reader.emplace(out.bytes, out.path.string(), FileKind::kShard);
  const std::uint64_t sum = checksum(out.bytes);
  if (out.bytes.size() != record.bytes || sum != record.checksum)
    throw Error(fmt::format(
        "checkpoint file '{}' is not the shard its index names: {} bytes with checksum {:016x}, "
        "the index says {} bytes with checksum {:016x}",
        shown(out.path), out.bytes.size(), sum, record.bytes, record.checksum));
  out.header = decode_header(out.reader->section(kTagHeader), out.path.string());
  const CheckpointHeader& i = index.header;
  const CheckpointHeader& h = out.header;
  if (h.number != i.number || h.fingerprint != i.fingerprint || h.safe_time != i.safe_time ||
      h.quiet_point != i.quiet_point || h.events != i.events || h.shards != i.shards ||
      h.rank != record.rank || h.entities != record.entities || h.pending != record.pending)
    throw Error(fmt::format(
        "checkpoint file '{}' does not belong to its index: it is shard {} of {} of checkpoint "
        "{} at time {}, the index expects shard {} of {} of checkpoint {} at time {}",
        shown(out.path), h.rank, h.shards, h.number, h.safe_time, record.rank, i.shards, i.number,
        i.safe_time));
}

// The checkpoint's number from its directory name, or its index.
std::uint64_t number_of(const fs::path& checkpoint) {
  return checkpoint_number(checkpoint.filename().string()).value_or(0);
}

// The path without a trailing separator; a checkpoint's index file stands
// for its checkpoint.
fs::path without_trailing_separator(const fs::path& path) {
  fs::path p = path.lexically_normal();
  if (!p.has_filename() && p.has_parent_path()) p = p.parent_path();
  std::error_code ec;
  if (p.filename() == kIndexFile && fs::is_regular_file(p, ec)) p = p.parent_path();
  return p;
}

bool is_one_checkpoint(const fs::path& path) {
  std::error_code ec;
  return fs::exists(path / std::string(kIndexFile), ec) ||
         checkpoint_number(path.filename().string()).has_value();
}

// The ckpt-NNNNNN directories in `dir` by number, oldest first. Throws for a
// directory that is missing or cannot be read.
std::vector<std::pair<std::uint64_t, fs::path>> checkpoints_in(const fs::path& dir) {
  std::error_code ec;
  const auto status = fs::status(dir, ec);
  if (status.type() == fs::file_type::not_found)
    throw Error(fmt::format("checkpoint directory '{}' does not exist", shown(dir)));
  if (ec)
    throw Error(fmt::format("cannot read checkpoint directory '{}': {}", shown(dir), ec.message()));
  if (status.type() != fs::file_type::directory)
    throw Error(
        fmt::format("'{}' is not a checkpoint directory: it is not a directory", shown(dir)));
  std::vector<std::pair<std::uint64_t, fs::path>> out;
  fs::directory_iterator it(dir, ec);
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const auto n = checkpoint_number(it->path().filename().string());
    std::error_code type_ec;
    if (n && it->is_directory(type_ec)) out.emplace_back(*n, it->path());
  }
  if (ec)
    throw Error(fmt::format("cannot read checkpoint directory '{}': {}", shown(dir), ec.message()));
  std::sort(out.begin(), out.end());
  return out;
}

std::string problem_of(const std::exception& e) {
  if (dynamic_cast<const Error*>(&e) != nullptr) return e.what();
  return fmt::format("cannot be read: {}", e.what());
}

std::string refusals(const std::vector<CheckpointInfo>& refused) {
  std::string text;
  for (const auto& r : refused) {
    if (!text.empty()) text += "; ";
    text += fmt::format("{}: {}", r.path.filename().string(), r.problem);
  }
  return text;
}

}  // namespace

CheckpointInfo inspect_checkpoint(const fs::path& given) {
  CheckpointInfo info;
  info.path = without_trailing_separator(given);
  info.number = number_of(info.path);
  try {
    std::error_code ec;
    if (!fs::is_directory(info.path, ec))
      throw Error(fmt::format("checkpoint '{}' does not exist or is not a directory",
                              shown(info.path)));
    const IndexData index = read_index(info.path);
    const CheckpointHeader& h = index.header;
    info.number = h.number;
    info.safe_time = h.safe_time;
    info.events = h.events;
    info.entities = h.model_entities;
    info.ranks = h.layout.ranks;
    info.threads = h.layout.threads;
    info.sync = h.layout.sync;
    info.partitioner = h.layout.partitioner;
    info.dsim_version = h.dsim_version;
    info.written_at = h.written_at;
    info.bytes = index.bytes;
    for (const ShardRecord& s : index.shards) {
      std::error_code ec;
      const auto size = fs::file_size(info.path / s.file, ec);
      if (!ec) info.bytes += size;
    }
    for (const ShardRecord& s : index.shards) {
      ShardData shard;
      open_shard(info.path, index, s, shard);
    }
    info.valid = true;
  } catch (const std::exception& e) {
    info.valid = false;
    info.problem = problem_of(e);
  }
  return info;
}

std::vector<CheckpointInfo> list_checkpoints(const fs::path& dir) {
  std::vector<CheckpointInfo> out;
  for (const auto& [number, path] : checkpoints_in(dir)) out.push_back(inspect_checkpoint(path));
  return out;
}

LatestCheckpoint find_latest_checkpoint(const fs::path& given) {
  const fs::path path = without_trailing_separator(given);
  LatestCheckpoint latest;
  if (is_one_checkpoint(path)) {
    std::error_code ec;
    if (!fs::is_directory(path, ec))
      throw Error(fmt::format("checkpoint '{}' does not exist or is not a directory", shown(path)));
    CheckpointInfo info = inspect_checkpoint(path);
    if (!info.valid) throw Error(info.problem);
    latest.path = path;
    return latest;
  }
  const auto all = checkpoints_in(path);
  if (all.empty())
    throw Error(
        fmt::format("checkpoint directory '{}' holds no checkpoint (no ckpt-NNNNNN "
                    "directory)",
                    shown(path)));
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    CheckpointInfo info = inspect_checkpoint(it->second);
    if (info.valid) {
      latest.path = it->second;
      return latest;
    }
    latest.refused.push_back(std::move(info));
  }
  throw Error(
      fmt::format("no valid checkpoint in '{}': {}", shown(path), refusals(latest.refused)));
}

RecordedModel recorded_model(const fs::path& path) {
  LatestCheckpoint latest = find_latest_checkpoint(path);
  RecordedModel out;
  out.checkpoint = latest.path;
  out.refused = std::move(latest.refused);
  const IndexData index = read_index(out.checkpoint);
  ShardData shard;
  open_shard(out.checkpoint, index, index.shards.front(), shard);
  ModelIdentity model;
  decode_model(shard.reader->section(kTagModel), shard.path.string(), model);
  out.config_json = std::move(model.config_json);
  out.safe_time = index.header.safe_time;
  out.end_time = index.header.end_time;
  return out;
}

CheckpointImage read_checkpoint(const fs::path& given) {
  CheckpointImage image;
  image.path = without_trailing_separator(given);
  const IndexData index = read_index(image.path);
  image.header = index.header;
  ModelIdentity& model = image.model;
  detail::Partials merged;
  std::uint64_t model_sum = 0, types_sum = 0;
  Snapshot& snapshot = image.snapshot;

  for (const ShardRecord& record : index.shards) {
    ShardData shard;
    open_shard(image.path, index, record, shard);
    const SectionFileReader& in = *shard.reader;
    const std::string file = shard.path.string();
    const SectionInfo* model_section = in.find(kTagModel);
    const SectionInfo* types_section = in.find(kTagTypes);
    if (model_section == nullptr || types_section == nullptr)
      in.section(model_section == nullptr ? kTagModel : kTagTypes);  // throws, naming it
    if (record.rank == 0) {
      decode_model(in.section(kTagModel), file, model);
      decode_types(in.section(kTagTypes), file, model);
      model_sum = model_section->raw_checksum;
      types_sum = types_section->raw_checksum;
      if (model.fingerprint != index.header.fingerprint ||
          model.entities != index.header.model_entities)
        throw Error(fmt::format("checkpoint file '{}' records another model than its header says",
                                shown(shard.path)));
      merged = statistics_shape(model, model.samples);
    } else if (model_section->raw_checksum != model_sum ||
               types_section->raw_checksum != types_sum) {
      throw Error(
          fmt::format("checkpoint file '{}' records another model or type layout than "
                      "shard 0 of its checkpoint",
                      shown(shard.path)));
    }

    std::vector<EntityId> ids;
    {
      SectionSource source(in, kTagEntities);
      ids = decode_entities(source, snapshot);
    }
    SectionSource source(in, kTagPending);
    const std::uint64_t pending = decode_pending(source, ids, snapshot);
    if (ids.size() != shard.header.entities || pending != shard.header.pending)
      throw Error(
          fmt::format("checkpoint file '{}' is corrupt: it holds {} entities and {} "
                      "events, its header says {} and {}",
                      shown(shard.path), ids.size(), pending, shard.header.entities,
                      shard.header.pending));

    const std::string statistics = in.section(kTagStatistics);
    try {
      const auto share =
          detail::decode(std::as_bytes(std::span(statistics.data(), statistics.size())), merged);
      detail::merge(merged, share);
    } catch (const Error& e) {
      throw Error(fmt::format("checkpoint file '{}': its statistics do not fit its model: {}",
                              shown(shard.path), e.what()));
    }

    const auto series = decode_series(in.section(kTagSeries), file);
    const std::size_t rows = model.samples == 0 ? 0 : series_rows(model);
    if (series.size() != rows)
      throw Error(fmt::format("checkpoint file '{}' is corrupt: {} series, its model has {}",
                              shown(shard.path), series.size(), rows));
    image.figures.push_back(decode_figures(in.section(kTagFigures), file));
  }

  // Every entity once, whatever layout wrote it, with its type's block size.
  const auto where = [&] { return shown(image.path); };
  std::vector<bool> seen(model.entities, false);
  std::uint64_t count = 0;
  for (const SnapshotBlocks& part : snapshot.blocks) {
    std::size_t g = 0;  // the group of ids[k]: ids ascend within a part
    for (const EntityId id : part.ids) {
      if (id >= model.entities)
        throw Error(fmt::format("checkpoint '{}' is corrupt: it holds entity id {}, its model {} "
                                "entities",
                                where(), id, model.entities));
      if (seen[id])
        throw Error(
            fmt::format("checkpoint '{}' is corrupt: entity id {} is in two shards", where(), id));
      seen[id] = true;
      ++count;
      while (g + 1 < model.groups.size() && id >= model.groups[g].first + model.groups[g].count)
        ++g;
      const GroupLayout& group = model.groups[g];
      if (part.block_bytes != group.block_bytes)
        throw Error(
            fmt::format("checkpoint '{}' is corrupt: entity id {} (group '{}') has a "
                        "block of {} bytes, its type's is {}",
                        where(), id, clip(group.name), part.block_bytes, group.block_bytes));
    }
  }
  if (count != model.entities) {
    const auto missing = std::find(seen.begin(), seen.end(), false) - seen.begin();
    throw Error(
        fmt::format("checkpoint '{}' is corrupt: entity id {} is in no shard", where(), missing));
  }

  image.snapshot.safe_time = index.header.safe_time;
  image.snapshot.index = index.header.quiet_point;
  image.snapshot.events = index.header.events;
  image.snapshot.statistics = detail::encode(merged);
  image.snapshot.series = series_at(merged, model, index.header.safe_time);
  return image;
}

Loaded load_latest_checkpoint(const fs::path& given, const ModelIdentity& current) {
  const fs::path path = without_trailing_separator(given);
  const auto attempt = [&](const fs::path& checkpoint) {
    CheckpointImage image = read_checkpoint(checkpoint);
    check_same_model(image.model, current, checkpoint.string());
    return image;
  };
  Loaded loaded;
  if (is_one_checkpoint(path)) {
    try {
      loaded.image = attempt(path);
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      throw Error(fmt::format("checkpoint '{}' {}", shown(path), problem_of(e)));
    }
    return loaded;
  }
  const auto all = checkpoints_in(path);
  if (all.empty())
    throw Error(
        fmt::format("checkpoint directory '{}' holds no checkpoint (no ckpt-NNNNNN "
                    "directory)",
                    shown(path)));
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    try {
      loaded.image = attempt(it->second);
      return loaded;
    } catch (const std::exception& e) {
      CheckpointInfo info;
      info.path = it->second;
      info.number = it->first;
      info.problem = problem_of(e);
      loaded.refused.push_back(std::move(info));
    }
  }
  throw Error(
      fmt::format("no usable checkpoint in '{}': {}", shown(path), refusals(loaded.refused)));
}

detail::Partials image_statistics(const CheckpointImage& image, std::uint32_t samples) {
  const auto& bytes = image.snapshot.statistics;
  detail::Partials p = detail::decode(bytes, statistics_shape(image.model, image.model.samples));
  return reshape_samples(std::move(p), image.model, image.model.samples, samples);
}

}  // namespace dsim::checkpoint
