#include "checkpoint/checkpoint_header.hpp"

#include <fmt/format.h>


#include "checkpoint/section_file.hpp"

namespace dsim::checkpoint {

std::string encode(const CheckpointHeader& h) {
  ByteWriter out;
  out.put_string(h.dsim_version);
  out.put(h.number);
  out.put(h.fingerprint);
  out.put(h.seed);
  out.put(h.safe_time);
  out.put(h.end_time);
  out.put(h.quiet_point);
  out.put(h.events);
  out.put(h.model_entities);
  out.put(h.rank);
  out.put(h.shards);
  out.put(h.entities);
  out.put(h.pending);
  out.put(h.layout.ranks);
  out.put(h.layout.threads);
  out.put_string(h.layout.sync);
  out.put_string(h.layout.partitioner);
  out.put_string(h.written_at);
  return out.take();
}

CheckpointHeader decode_header(std::string_view raw, std::string_view file) {
  ByteReader in(raw, file, kTagHeader);
  CheckpointHeader h;
  h.dsim_version = in.take_string();
  h.number = in.take<std::uint64_t>();
  h.fingerprint = in.take<std::uint64_t>();
  h.seed = in.take<std::uint64_t>();
  h.safe_time = in.take<double>();
  h.end_time = in.take<double>();
  h.quiet_point = in.take<std::uint64_t>();
  h.events = in.take<std::uint64_t>();
  h.model_entities = in.take<std::uint64_t>();
  h.rank = in.take<std::uint32_t>();
  h.shards = in.take<std::uint32_t>();
  h.entities = in.take<std::uint64_t>();
  h.pending = in.take<std::uint64_t>();
  h.layout.ranks = in.take<std::uint32_t>();
  h.layout.threads = in.take<std::uint32_t>();
  h.layout.sync = in.take_string();
  h.layout.partitioner = in.take_string();
  h.written_at = in.take_string();
  in.expect_end();
  if (h.shards == 0 || h.rank >= h.shards) in.fail(fmt::format("shard {} of {}", h.rank, h.shards));
  return h;
}

std::string checkpoint_name(std::uint64_t number) {
  return fmt::format("{}{:06}", kCheckpointPrefix, number);
}

std::optional<std::uint64_t> checkpoint_number(std::string_view name) {
  if (!name.starts_with(kCheckpointPrefix)) return std::nullopt;
  const std::string_view digits = name.substr(kCheckpointPrefix.size());
  if (digits.empty() || digits.size() > 19) return std::nullopt;
  std::uint64_t n = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return n;
}

std::string shard_name(std::uint32_t rank, std::uint32_t shards) {
  return fmt::format("shard-{}-of-{}", rank, shards);
}

}  // namespace dsim::checkpoint
