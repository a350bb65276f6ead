// The header every checkpoint file starts with (section HEAD; see
// docs/checkpoint.md), and the names of a checkpoint's directory and files.
//
// A checkpoint of a quiet point is a directory `ckpt-NNNNNN` (N: the
// checkpoint's number, counting up within a checkpoint directory) holding one
// shard per process, `shard-R-of-N`, and `index`, written last, which names
// every shard. Everything a listing shows (time, layout, versions) is in the
// header, so listing reads no more than that.
//
// Thread safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "dsim/types.hpp"

namespace dsim::checkpoint {

// The layout of the run that wrote a checkpoint. Facts only: a checkpoint
// restores onto any layout.
struct WriterLayout {
  std::uint32_t ranks = 1;    // processes (= shards)
  std::uint32_t threads = 1;  // worker threads per process
  std::string sync;           // engine name (dsim/engine.hpp)
  std::string partitioner;
};

struct CheckpointHeader {
  std::string dsim_version;       // of the program that wrote it
  std::uint64_t number = 0;       // the checkpoint's number: ckpt-NNNNNN
  std::uint64_t fingerprint = 0;  // of the model (ModelIdentity::fingerprint)
  std::uint64_t seed = 0;
  Time safe_time = 0;             // the cut: every event before it committed, none at or after
  Time end_time = 0;              // of the run that wrote it
  std::uint64_t quiet_point = 0;  // the quiet point's index in that run
  std::uint64_t events = 0;       // committed events so far, over every process
  std::uint64_t model_entities = 0;
  // The shard's rank and the number of shards (an index: rank 0).
  std::uint32_t rank = 0;
  std::uint32_t shards = 1;
  // In this shard (an index: in all of them).
  std::uint64_t entities = 0;
  std::uint64_t pending = 0;
  WriterLayout layout;
  std::string written_at;  // UTC, "2025-01-31T12:00:00Z": for people only
};

std::string encode(const CheckpointHeader& header);
// `file` names the file in messages.
CheckpointHeader decode_header(std::string_view raw, std::string_view file);

inline constexpr std::string_view kIndexFile = "index";
inline constexpr std::string_view kCheckpointPrefix = "ckpt-";

// "ckpt-000003".
std::string checkpoint_name(std::uint64_t number);
// The number in a checkpoint directory's name; nullopt for any other name.
std::optional<std::uint64_t> checkpoint_number(std::string_view name);
// "shard-1-of-3".
std::string shard_name(std::uint32_t rank, std::uint32_t shards);

}  // namespace dsim::checkpoint
