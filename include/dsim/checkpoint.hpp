// Checkpoints on disk, as a host sees them: which are there, which are
// valid, and the latest valid one (format: docs/checkpoint.md).
//
// A checkpoint directory holds one directory per checkpoint, `ckpt-NNNNNN`
// (numbered in the order they were written), each with one shard file per
// process that wrote it and an `index` naming them. A checkpoint is valid
// when its index and every shard it names are complete and intact (sizes,
// section checksums and whole-file checksums all agree).
//
//   for (const auto& c : dsim::checkpoint::list_checkpoints("out.checkpoints"))
//     std::printf("%s t=%g %s\n", c.path.c_str(), c.safe_time,
//                 c.valid ? "valid" : c.problem.c_str());
//   auto latest = dsim::checkpoint::find_latest_checkpoint("out.checkpoints");
//   for (const auto& r : latest.refused) warn(r.path, r.problem);  // newer ones
//
// Validity here is about the files; whether a checkpoint fits the model a
// run is given (same model, same type layout) is checked when it is read
// for a resume.
//
// Errors: dsim::Error (kind kInput) naming the path and what is wrong.
// Reading never crashes on a damaged file.
//
// Thread safety: the functions share no state.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "dsim/export.hpp"
#include "dsim/types.hpp"

namespace dsim::checkpoint {

struct CheckpointInfo {
  std::filesystem::path path;  // the ckpt-NNNNNN directory
  std::uint64_t number = 0;
  bool valid = false;
  std::string problem;  // why it is not valid: one line naming the file
  // From its index, when that could be read (else zero / empty):
  Time safe_time = 0;  // the cut: every event before it committed
  std::uint64_t events = 0;
  std::uint64_t entities = 0;
  std::uint32_t ranks = 0;    // processes that wrote it (= shards)
  std::uint32_t threads = 0;  // worker threads per process
  std::string sync;
  std::string partitioner;
  std::string dsim_version;
  std::string written_at;   // UTC
  std::uint64_t bytes = 0;  // of its files that exist
};

// Every checkpoint in `dir`, oldest (lowest number) first, each checked in
// full. Throws dsim::Error when `dir` is missing, not a directory or cannot
// be read; an empty directory gives an empty list.
DSIM_API std::vector<CheckpointInfo> list_checkpoints(const std::filesystem::path& dir);

// One checkpoint (a ckpt-NNNNNN directory), checked in full; never throws
// for what is wrong with it (valid is false and problem says why).
DSIM_API CheckpointInfo inspect_checkpoint(const std::filesystem::path& checkpoint);

struct LatestCheckpoint {
  std::filesystem::path path;           // the latest valid checkpoint
  std::vector<CheckpointInfo> refused;  // newer ones that are not valid, newest first
};

// `path` is one checkpoint (a directory holding an index, or named
// ckpt-NNNNNN) or a directory of them. One checkpoint must be valid; in a
// directory, the newest valid one is taken and the newer invalid ones are
// reported. Throws dsim::Error naming the path: missing, unreadable, holding
// no checkpoint, or none valid (each one's problem said).
DSIM_API LatestCheckpoint find_latest_checkpoint(const std::filesystem::path& path);

// What a resume needs before it builds the model: the model a checkpoint
// recorded (dsim::to_json of the resolved spec; model_from_json rebuilds
// it), from the latest valid checkpoint under `path` (as
// find_latest_checkpoint picks it).
struct RecordedModel {
  std::filesystem::path checkpoint;     // the one it was read from
  std::vector<CheckpointInfo> refused;  // newer ones that are not valid
  std::string config_json;
  Time safe_time = 0;  // its cut
  Time end_time = 0;   // of the run that wrote it
};
// Throws dsim::Error (kInput) as find_latest_checkpoint does.
DSIM_API RecordedModel recorded_model(const std::filesystem::path& path);

}  // namespace dsim::checkpoint
