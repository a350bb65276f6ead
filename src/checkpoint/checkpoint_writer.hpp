// Writing checkpoints: each process's shard, then the index that makes the
// checkpoint count, then pruning old ones (format: docs/checkpoint.md).
//
// A checkpoint of one quiet point is the directory DIR/ckpt-NNNNNN. Every
// process writes its Snapshot as shard `shard-R-of-N` (R its rank, N the
// process count); once every shard is written, one process (rank 0) writes
// `index`, naming every shard with its size and checksum. Each file is
// written under a temporary name (`NAME.tmp-PID`), fsynced, renamed and its
// directory fsynced, so a process that dies at any moment leaves either no
// file or a complete one, and the previous complete checkpoint stays valid:
// a checkpoint counts only once its index exists and every shard it names is
// valid. Old checkpoints are removed only after a newer one is complete.
//
//   const ModelIdentity model = identify(built_model);
//   CheckpointMeta meta{.number = next_checkpoint_number(dir), .rank = 0, ...};
//   ShardRecord mine = write_shard(FileSystem::local(), dir, model, meta, snapshot);
//   // ... gather every rank's ShardRecord on rank 0 ...
//   write_index(FileSystem::local(), dir, model, meta, records);
//   prune_checkpoints(FileSystem::local(), dir, /*keep=*/2);
//
// Errors: every write, flush, rename and removal goes through the given
// FileSystem; a failure throws dsim::Error (kind kRuntime) naming the final
// path and the system's reason (a full disk: "No space left on device"),
// after removing the temporary file. The checkpoint being written is then
// incomplete (no index) and ignored by readers; earlier ones are untouched.
//
// Thread safety: the functions share no state. Writing different shards, or
// different checkpoints, at once is safe; a background thread may write
// while the run goes on (the Snapshot is borrowed for the call only).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "checkpoint/checkpoint_header.hpp"
#include "checkpoint/model_identity.hpp"
#include "checkpoint/shard_sections.hpp"
#include "dsim/file_system.hpp"
#include "dsim/results.hpp"
#include "dsim/run_control.hpp"

namespace dsim::checkpoint {

// What a process knows of a checkpoint besides its Snapshot.
struct CheckpointMeta {
  std::uint64_t number = 1;  // the checkpoint's number (next_checkpoint_number)
  std::uint32_t rank = 0;    // this process; layout.ranks is the shard count
  WriterLayout layout;
  std::string dsim_version;
  Time end_time = 0;   // of the run being checkpointed
  RunFigures figures;  // the run's figures so far (as this process has them)
};

struct WriteOptions {
  int level = 1;    // zstd level (1 fastest .. 19 smallest); 0 stores uncompressed
  int threads = 0;  // zstd worker threads; 0: compress in the calling thread
};

// The checkpoint directory DIR/ckpt-NNNNNN.
std::filesystem::path checkpoint_path(const std::filesystem::path& dir, std::uint64_t number);
// One more than the largest number of any ckpt-NNNNNN in `dir` (complete or
// not); 1 for a missing or empty directory. Under MPI, one process decides
// and tells the others.
std::uint64_t next_checkpoint_number(const std::filesystem::path& dir);

// Writes this process's shard of checkpoint `meta.number` into DIR,
// creating DIR and the checkpoint directory as needed. Returns what the
// index records of it. REQUIRES: meta.rank < meta.layout.ranks; `snapshot`
// as RunControl::on_snapshot gives it (entities in id order).
ShardRecord write_shard(FileSystem& files, const std::filesystem::path& dir,
                        const ModelIdentity& model, const CheckpointMeta& meta,
                        const Snapshot& snapshot, const WriteOptions& options = {});

// Writes the index of checkpoint `meta.number`, naming `shards` (every
// rank's record, in any order): the checkpoint is complete once it returns.
// Throws dsim::Error (kRuntime) without writing when the records are not one
// per rank of one cut, or a shard file is not there with the recorded size.
void write_index(FileSystem& files, const std::filesystem::path& dir, const ModelIdentity& model,
                 const CheckpointMeta& meta, std::vector<ShardRecord> shards);

// Keeps the `keep` newest complete checkpoints in DIR (0: keeps all) and
// removes the older ones, and every incomplete one older than the newest
// complete one (what a writer that died left). Checkpoints newer than the
// newest complete one (being written) are never touched. Returns the paths
// removed. Throws dsim::Error (kRuntime) naming a path it cannot remove.
std::vector<std::filesystem::path> prune_checkpoints(FileSystem& files,
                                                     const std::filesystem::path& dir,
                                                     std::size_t keep);

}  // namespace dsim::checkpoint
