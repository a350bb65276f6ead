// What a checkpoint records about the model it belongs to, so that a restart
// refuses a checkpoint of another model, or of a build whose types are laid
// out differently, with a message naming what differs:
//  - the model's canonical text: the resolved model as sorted-out
//    `key = value` lines, without the keys that choose how a run goes and not
//    what it computes (sync, threads, partitioner, queue, memory limit, state
//    saving, output directory and formats, plugin paths) nor the end time (a
//    resume may extend it). Its XXH3-64 is the model's fingerprint;
//  - the type table: per group its entity type's registered name, ids, block
//    layout (offsets, State size and alignment), statistics (kind, bins) and
//    the payloads it handles (stable id, name, size);
//  - the resolved model as JSON (dsim::to_json), for a resume to rebuild it.
//
//   const ModelIdentity now = identify(model);
//   check_same_model(recorded, now, "runs/ckpt-000003");  // throws if not
//
// Thread safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dsim/model_spec.hpp"
#include "dsim/results.hpp"
#include "dsim/stats.hpp"
#include "dsim/types.hpp"
#include "stats/partials.hpp"

namespace dsim::detail {
class Model;
}

namespace dsim::checkpoint {

struct StatLayout {
  std::string name;
  StatKind kind = StatKind::kCounter;
  std::uint32_t bins = 0;   // histograms
  double lo = 0, hi = 0;    // histograms
  std::uint32_t index = 0;  // among the group's stats of its kind
  bool operator==(const StatLayout&) const = default;
};

struct PayloadLayout {
  std::uint32_t id = 0;
  std::string name;
  std::uint32_t size = 0;
  bool operator==(const PayloadLayout&) const = default;
};

struct GroupLayout {
  std::string name;
  std::string type;  // the entity type's registered name
  EntityId first = 0;
  std::uint64_t count = 0;
  // The block: [meta][counters][gauges][State]; bytes [0, block_bytes) are
  // the entity's state (core/model.hpp GroupRuntime).
  std::uint32_t block_bytes = 0;
  std::uint32_t counters_off = 0;
  std::uint32_t gauges_off = 0;
  std::uint32_t state_off = 0;
  std::uint64_t state_size = 0;
  std::uint64_t state_align = 0;
  std::vector<StatLayout> stats;        // in declaration order
  std::vector<PayloadLayout> payloads;  // handled, sorted by name
  bool operator==(const GroupLayout&) const = default;
};

struct ModelIdentity {
  std::string canonical;  // `key = value` lines; what the fingerprint covers
  std::uint64_t fingerprint = 0;
  std::string config_json;  // dsim::to_json of the resolved spec
  std::uint64_t seed = 0;
  std::uint64_t entities = 0;
  Time sample_interval = 0;
  std::uint32_t samples = 0;  // series samples of the run that wrote it (end time)
  std::vector<GroupLayout> groups;
};

// The identity of a built model (its spec, types and layout).
ModelIdentity identify(const detail::Model& model);

// The canonical text of a resolved spec and its fingerprint.
std::string canonical_text(const ModelSpec& spec);
std::uint64_t fingerprint(std::string_view canonical);

// "entities.phold.count is 512 in the checkpoint and 1024 now" for the first
// key that differs between two canonical texts (and how many more do), or ""
// when they are the same.
std::string model_difference(std::string_view recorded, std::string_view current);
// "entity type 'phold' (group 'phold'): State is 24 bytes in the checkpoint
// and 32 in this build" for the first layout fact that differs, or "".
// Sample counts may differ (a resume may move the end time).
std::string layout_difference(const ModelIdentity& recorded, const ModelIdentity& current);

// Throws dsim::Error (kInput) naming `where` and what differs: another model
// (the first key), or a build whose type layout differs.
void check_same_model(const ModelIdentity& recorded, const ModelIdentity& current,
                      std::string_view where);

// The MODL and TYPE sections.
std::string encode_model(const ModelIdentity& identity);
std::string encode_types(const ModelIdentity& identity);
// Fills `identity` from the sections; `file` names the file in messages.
void decode_model(std::string_view raw, std::string_view file, ModelIdentity& identity);
void decode_types(std::string_view raw, std::string_view file, ModelIdentity& identity);

// Statistics partials shaped for this model with `samples` samples per series
// (what detail::empty_statistics gives for the built model).
detail::Partials statistics_shape(const ModelIdentity& identity, std::uint32_t samples);
// The series rows (counters and gauges of every group, in order): what the
// partials' series cells are, `samples` cells each.
std::size_t series_rows(const ModelIdentity& identity);
// Partials of `samples` samples per series reshaped to `to`: rows padded with
// empty cells, or cut. Throws dsim::Error if a cut cell holds a change (the
// run would lose committed samples).
detail::Partials reshape_samples(detail::Partials partials, const ModelIdentity& identity,
                                 std::uint32_t samples, std::uint32_t to);
// The committed series at `safe_time`, readable, as Snapshot::series holds
// them: running sums of the cells of the samples wholly before it.
std::vector<SeriesResult> series_at(const detail::Partials& partials, const ModelIdentity& identity,
                                    Time safe_time);

}  // namespace dsim::checkpoint
