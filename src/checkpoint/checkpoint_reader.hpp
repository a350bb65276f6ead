// Reading checkpoints back: every shard of one checkpoint into one image
// that does not depend on the layout that wrote it (format:
// docs/checkpoint.md; listing and finding: dsim/checkpoint.hpp).
//
// The image is the whole run's Snapshot at the checkpoint's cut: every
// entity by id with its pending events, the statistics partials of every
// process merged (exactly: they combine in any order, stats/partials.hpp),
// and the committed series recomputed from them. A restart on any layout
// imports each entity into the store its layout puts it in and adds the
// statistics to one store (core/entity_store.hpp).
//
//   const ModelIdentity now = identify(model);
//   Loaded loaded = load_latest_checkpoint("out.checkpoints", now);
//   for (const auto& r : loaded.refused) warn(r.path, r.problem);
//   detail::Partials stats = image_statistics(loaded.image, model.sample_count());
//
// Errors: dsim::Error (kind kInput) naming the file and what is wrong:
// truncated, bit-flipped, another format version, another model (the first
// key that differs), another type layout (the fact that differs), a missing
// shard, shards of different cuts, an entity twice or in no shard.
//
// Thread safety: the functions share no state.
#pragma once

#include <filesystem>
#include <vector>

#include "checkpoint/checkpoint_header.hpp"
#include "checkpoint/model_identity.hpp"
#include "checkpoint/shard_sections.hpp"
#include "dsim/checkpoint.hpp"
#include "dsim/results.hpp"
#include "dsim/run_control.hpp"
#include "stats/partials.hpp"

namespace dsim::checkpoint {

struct CheckpointImage {
  std::filesystem::path path;  // the ckpt-NNNNNN directory
  CheckpointHeader header;     // its index's: the cut, versions, the layout that wrote it
  ModelIdentity model;         // as recorded
  // The whole run at the cut: safe_time, index (the writer's quiet point),
  // events; every entity (a part per run of one block size in each shard)
  // and the events pending for them; the merged statistics, encoded
  // (model.samples samples per series); the committed series so far.
  Snapshot snapshot;
  std::vector<RunFigures> figures;  // each shard's, in rank order
};

// Reads and checks every file of one checkpoint. Throws dsim::Error.
CheckpointImage read_checkpoint(const std::filesystem::path& checkpoint);

struct Loaded {
  CheckpointImage image;
  std::vector<CheckpointInfo> refused;  // newer checkpoints not taken, newest first, and why
};

// Reads the latest checkpoint under `path` (one checkpoint, or a directory
// of them as find_latest_checkpoint takes) that is valid and of the model
// `current` (check_same_model), falling back to older ones and saying why
// each newer one was refused. One checkpoint given by path is not fallen
// back from. Throws dsim::Error when none can be used, naming each refusal.
Loaded load_latest_checkpoint(const std::filesystem::path& path, const ModelIdentity& current);

// The image's merged statistics, decoded, with `samples` samples per series
// (the resuming run's, whose end time may differ; reshape_samples).
detail::Partials image_statistics(const CheckpointImage& image, std::uint32_t samples);

}  // namespace dsim::checkpoint
