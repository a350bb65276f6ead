// The entity store's export and import (core/entity_store.hpp) and snapshots
// at quiet points (dsim/run_control.hpp):
//  - a snapshot from any engine and thread count is the sequential run's
//    state at the same safe time, bit for bit (a consistent cut);
//  - the state exported at a cut and imported into another layout runs on to
//    the uninterrupted run's results, bit for bit (an entity's exported
//    state is complete);
//  - bad imports and exports are refused with a message naming the entity.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/entity_store.hpp"
#include "core/layout.hpp"
#include "core/model.hpp"
#include "core/partition.hpp"
#include "dsim/dsim.hpp"
#include "tests/support/key_order.hpp"
#include "dsim/reference_models.hpp"
#include "stats/partials.hpp"

namespace {

using dsim::detail::EntityImage;
using dsim::detail::Event;
using dsim::detail::Layout;
using dsim::detail::Model;
using dsim::detail::Partition;

class Snapshots : public ::testing::Test {
 protected:
  void SetUp() override {
    dsim::register_builtins(registry_);
    dsim::register_reference_models(registry_);
  }

  dsim::ModelSpec load(const std::string& file, std::vector<std::string> sets) const {
    auto spec = dsim::load_model(std::string(DSIM_SOURCE_DIR) + "/models/" + file, sets);
    dsim::validate(spec, registry_);
    return spec;
  }

  dsim::Registry registry_;
};

using dsim::testing::final_statistics;
using dsim::testing::run_in_key_order;
using dsim::testing::partitions_of;

// The state of `spec` at time `cut` as the sequential order leaves it: every
// entity's image and the accumulators.
struct Cut {
  std::vector<EntityImage> images;
  std::vector<std::byte> statistics;
};
Cut cut_at(const Model& model, dsim::Time cut) {
  const Layout one(model, false);
  auto parts = partitions_of(model, one);
  parts[0]->init();
  run_in_key_order(parts, cut);
  return {parts[0]->store().export_all(), dsim::detail::encode(parts[0]->store().statistics(false))};
}

void expect_same_images(const std::vector<EntityImage>& a, const std::vector<EntityImage>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].id, b[i].id);
    EXPECT_EQ(a[i].block, b[i].block) << "entity " << a[i].id;
    ASSERT_EQ(a[i].pending.size(), b[i].pending.size()) << "entity " << a[i].id;
    for (std::size_t k = 0; k < a[i].pending.size(); ++k)
      EXPECT_EQ(std::memcmp(&a[i].pending[k], &b[i].pending[k], sizeof(Event)), 0)
          << "entity " << a[i].id << " pending event " << k << ": time " << a[i].pending[k].time
          << " vs " << b[i].pending[k].time << ", src " << a[i].pending[k].src << " vs "
          << b[i].pending[k].src << ", seq " << a[i].pending[k].seq << " vs "
          << b[i].pending[k].seq << ", depth " << a[i].pending[k].depth << " vs "
          << b[i].pending[k].depth;
  }
}

// Exports the state at `cut` from one partition, imports it into `into`
// (another layout: round-robin over `parts` partitions), runs both on to the
// end and compares the final statistics.
void expect_resume_matches(const Model& model, dsim::Time cut, std::uint32_t parts_after) {
  // Uninterrupted.
  const Layout one(model, false);
  auto whole = partitions_of(model, one);
  whole[0]->init();
  run_in_key_order(whole, model.end_time());
  const auto expected = final_statistics(whole, model);

  // Cut, exported.
  const Cut at = cut_at(model, cut);

  // Imported into another layout (no init hooks: the images are the state).
  std::vector<std::uint32_t> round_robin(model.entity_count());
  for (std::size_t i = 0; i < round_robin.size(); ++i)
    round_robin[i] = static_cast<std::uint32_t>(i % parts_after);
  const Layout other(model, round_robin, parts_after, false);
  auto resumed = partitions_of(model, other);
  for (auto& p : resumed) p->store().construct();
  for (const EntityImage& image : at.images)
    resumed[other.partition_of(image.id)]->store().import_entity(image);
  const auto shape = dsim::detail::empty_statistics(model);
  resumed[0]->store().absorb_statistics(dsim::detail::decode(at.statistics, shape));
  run_in_key_order(resumed, model.end_time());
  EXPECT_EQ(final_statistics(resumed, model), expected) << "resumed at " << cut << " on "
                                                        << parts_after << " partitions";
}

TEST_F(Snapshots, ExportedStateResumesOnAnotherLayoutBitForBit) {
  {
    SCOPED_TRACE("phold");
    const auto spec = load("phold/phold.toml", {"entities.phold.count=512",
                                                "simulation.end_time=60"});
    const Model model(spec, registry_);
    expect_resume_matches(model, 27.5, 3);
  }
  {
    SCOPED_TRACE("epidemic: gauges, counters, series");
    const auto spec = load("epidemic/epidemic.toml", {"entities.people.count=2000",
                                                      "simulation.end_time=60"});
    const Model model(spec, registry_);
    expect_resume_matches(model, 20.05, 4);
  }
  {
    SCOPED_TRACE("tandem queues: tallies, histograms, series");
    const auto spec = load("queueing/tandem.toml", {"simulation.end_time=2000",
                                                    "output.sample_interval=100"});
    const Model model(spec, registry_);
    expect_resume_matches(model, 777, 2);
    expect_resume_matches(model, 1000, 5);
  }
}

// Asks for a snapshot at one quiet point and keeps it.
class SnapshotAt : public dsim::RunControl {
 public:
  explicit SnapshotAt(std::uint64_t index) : index_(index) {}
  Decision at_quiet_point(const dsim::QuietPoint& point) override {
    return point.index == index_ ? Decision::kSnapshot : Decision::kContinue;
  }
  void on_snapshot(const dsim::Snapshot& s) override { taken = s; }
  // With `junk`, hands the engine a used snapshot to reuse: more parts than
  // it needs, ids and bytes of another run, stray events, statistics and
  // series; the snapshot taken must not show any of it.
  dsim::Snapshot reusable_snapshot() override {
    dsim::Snapshot used;
    if (!junk) return used;
    for (std::uint32_t p = 0; p < 5; ++p) {
      dsim::SnapshotBlocks& part = used.blocks.emplace_back();
      part.ids.assign(100 + p * 37, 9999);
      part.block_bytes = 24;
      part.bytes.assign(part.ids.size() * 24, std::byte{0xAB});
    }
    used.pending.resize(777);
    for (auto& e : used.pending) e.dst = 123456;
    used.statistics.assign(99, std::byte{1});
    used.series.push_back({"junk", "junk", {1, 2}, {3, 4}});
    return used;
  }
  std::optional<dsim::Snapshot> taken;
  bool junk = false;

 private:
  std::uint64_t index_;
};

std::vector<EntityImage> images_of(const dsim::Snapshot& s) {
  std::vector<EntityImage> out;
  for (const auto& e : s.entities()) {
    EntityImage& image = out.emplace_back();
    image.id = e.id;
    image.block = e.block;
    image.pending.resize(e.pending.size());
    if (!e.pending.empty())
      std::memcpy(static_cast<void*>(image.pending.data()), e.pending.data(),
                  e.pending.size() * sizeof(Event));
  }
  return out;
}

// A snapshot is the sequential state at its safe time, whatever engine and
// thread count took it (Time Warp included: it holds every partition at the
// snapshot's time and rolls back what ran past it); taking one changes no
// result.
TEST_F(Snapshots, ASnapshotIsTheSequentialStateAtItsSafeTime) {
  struct Case {
    std::string file;
    std::vector<std::string> sets;
    std::string sync;
    std::uint32_t threads;
    std::uint64_t at;
  };
  const std::vector<Case> cases = {
      {"phold/phold.toml", {"entities.phold.count=2048", "simulation.end_time=200"}, "sequential", 1, 2},
      {"phold/phold.toml", {"entities.phold.count=2048", "simulation.end_time=200"}, "conservative", 2, 37},
      {"phold/phold.toml", {"entities.phold.count=2048", "simulation.end_time=200"}, "conservative", 3, 101},
      {"epidemic/epidemic.toml", {"entities.people.count=3000", "simulation.end_time=80"}, "conservative", 2, 150},
      {"epidemic/epidemic.toml", {"entities.people.count=3000", "simulation.end_time=80"}, "conservative", 4, 311},
      {"phold/phold.toml", {"entities.phold.count=2048", "simulation.end_time=200"}, "optimistic", 1, 5},
      {"phold/phold.toml", {"entities.phold.count=2048", "simulation.end_time=200"}, "optimistic", 2, 20},
      {"phold/phold_la0.toml", {"entities.phold.count=2048", "simulation.end_time=100"}, "optimistic", 3, 30},
      {"epidemic/epidemic.toml", {"entities.people.count=3000", "simulation.end_time=80"}, "optimistic", 2, 10},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.file + " " + c.sync + " threads " + std::to_string(c.threads));
    auto sets = c.sets;
    sets.push_back("simulation.sync=\"" + c.sync + "\"");
    sets.push_back("simulation.threads=" + std::to_string(c.threads));
    const auto spec = load(c.file, sets);
    SnapshotAt control(c.at);
    control.junk = (&c - cases.data()) % 2 == 1;  // reusing memory changes nothing
    dsim::RunOptions options;
    options.control = &control;
    const auto with = dsim::Simulation(spec, registry_).run(options);
    ASSERT_TRUE(control.taken.has_value());
    const dsim::Snapshot& s = *control.taken;
    // The sequential engine takes it at once; the conservative one at the
    // next window (every process agrees on it first); Time Warp once GVT
    // passed the time every partition holds at, a few rounds later.
    if (c.sync == "optimistic")
      EXPECT_GT(s.index, c.at + 1);
    else if (c.sync == "conservative")
      EXPECT_EQ(s.index, c.at + 1);
    else
      EXPECT_EQ(s.index, c.at);
    EXPECT_GT(s.safe_time, 0);
    EXPECT_LT(s.safe_time, spec.simulation.end_time);
    const auto without = dsim::Simulation(spec, registry_).run();
    EXPECT_EQ(with.figures.events_processed, without.figures.events_processed);

    // The committed series so far are the final run's, up to the safe time.
    ASSERT_EQ(s.series.size(), without.series.size());
    for (std::size_t i = 0; i < s.series.size(); ++i) {
      const auto& part = s.series[i];
      const auto& whole = without.series[i];
      EXPECT_EQ(part.group + part.stat, whole.group + whole.stat);
      const auto before = std::count_if(whole.times.begin(), whole.times.end(),
                                        [&](double t) { return t < s.safe_time; });
      ASSERT_EQ(static_cast<std::ptrdiff_t>(part.values.size()), before) << part.stat;
      for (std::size_t k = 0; k < part.values.size(); ++k) {
        EXPECT_EQ(part.times[k], whole.times[k]);
        EXPECT_EQ(std::bit_cast<std::uint64_t>(part.values[k]),
                  std::bit_cast<std::uint64_t>(whole.values[k]))
            << part.stat << "[" << k << "]";
      }
    }
    if (c.file.starts_with("epidemic")) {
      ASSERT_FALSE(s.series.empty());
      EXPECT_GT(s.series[0].values.size(), 3u);
    }

    const Model model(spec, registry_);
    const Cut expected = cut_at(model, s.safe_time);
    expect_same_images(images_of(s), expected.images);
    EXPECT_EQ(s.statistics, expected.statistics);
    const auto entities = s.entities();
    std::uint64_t pending = 0;
    for (const auto& e : entities) pending += e.pending.size();
    EXPECT_GT(pending, 0u);
    EXPECT_EQ(pending, s.pending.size());
    EXPECT_EQ(s.entity_count(), entities.size());
    for (const auto& e : entities)
      for (const auto& ev : e.pending) {
        EXPECT_EQ(ev.dst, e.id);
        EXPECT_GE(ev.time, s.safe_time);
      }
  }
}

TEST_F(Snapshots, BadExportsAndImportsNameTheEntity) {
  const auto spec = load("phold/phold.toml", {"entities.phold.count=10", "simulation.end_time=5"});
  const Model model(spec, registry_);
  const Layout two(model, std::vector<std::uint32_t>{0, 0, 0, 0, 0, 1, 1, 1, 1, 1}, 2, false);
  auto parts = partitions_of(model, two);
  for (auto& p : parts) p->init();
  auto& store = parts[0]->store();
  try {
    store.export_entity(7, false);
    FAIL() << "exported an entity of another partition";
  } catch (const dsim::Error& e) {
    EXPECT_NE(std::string(e.what()).find("entity id 7: it lives in partition 1, not in partition 0"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(store.export_entity(10, false), dsim::Error);

  EntityImage image = store.export_entity(3, false);
  EXPECT_EQ(image.id, 3u);
  ASSERT_FALSE(image.pending.empty());  // PHOLD starts one event per entity
  for (const Event& e : image.pending) EXPECT_EQ(e.dst, 3u);
  EXPECT_TRUE(std::is_sorted(image.pending.begin(), image.pending.end(),
                             dsim::detail::key_less));

  EntityImage short_block = image;
  short_block.block.pop_back();
  try {
    store.import_entity(short_block);
    FAIL() << "imported a block of the wrong size";
  } catch (const dsim::Error& e) {
    EXPECT_NE(std::string(e.what()).find("entity id 3"), std::string::npos) << e.what();
  }
  EntityImage stray = image;
  stray.pending[0].dst = 4;
  EXPECT_THROW(store.import_entity(stray), dsim::Error);
  EntityImage elsewhere = image;
  elsewhere.id = 6;
  for (Event& e : elsewhere.pending) e.dst = 6;
  EXPECT_THROW(store.import_entity(elsewhere), dsim::Error);

  // Taking the entity removes its events, and only its; importing it back
  // restores the queue.
  const std::size_t before = store.queue().size();
  const EntityImage taken = store.export_entity(3, true);
  EXPECT_EQ(store.queue().size(), before - taken.pending.size());
  std::size_t others = 0;
  store.for_each_pending([&](const Event& e) {
    EXPECT_NE(e.dst, 3u);
    ++others;
  });
  EXPECT_EQ(others, store.queue().size());
  store.import_entity(taken);
  EXPECT_EQ(store.queue().size(), before);
  const EntityImage again = store.export_entity(3, false);
  expect_same_images({again}, {taken});
}

// A snapshot holds blocks as they lie and events in queue order; entities()
// reads it by id, the same whatever the parts; bad parts are refused.
TEST_F(Snapshots, FlatSnapshotReadsByIdAndRefusesBadParts) {
  const auto spec = load("phold/phold.toml", {"entities.phold.count=10", "simulation.end_time=5"});
  const Model model(spec, registry_);
  // Interleaved partitions: parts whose ids are not one range.
  const Layout two(model, std::vector<std::uint32_t>{0, 1, 0, 1, 0, 1, 0, 1, 1, 0}, 2, false);
  auto parts = partitions_of(model, two);
  for (auto& p : parts) p->init();
  dsim::Snapshot s;
  for (auto& p : parts) p->store().export_into(s);
  ASSERT_EQ(s.blocks.size(), 2u);
  EXPECT_EQ(s.entity_count(), 10u);
  const auto entities = s.entities();
  ASSERT_EQ(entities.size(), 10u);
  for (std::size_t i = 0; i < entities.size(); ++i) {
    EXPECT_EQ(entities[i].id, i);
    const EntityImage image =
        parts[two.partition_of(entities[i].id)]->store().export_entity(entities[i].id, false);
    EXPECT_EQ(entities[i].block, image.block);
    ASSERT_EQ(entities[i].pending.size(), image.pending.size());
    for (std::size_t k = 0; k < image.pending.size(); ++k)
      EXPECT_EQ(std::memcmp(&entities[i].pending[k], &image.pending[k], sizeof(Event)), 0);
  }

  // Entity by entity (Snapshot::add), in another order: the same by id.
  dsim::Snapshot again;
  for (auto it = entities.rbegin(); it != entities.rend(); ++it) again.add(*it);
  const auto reread = again.entities();
  ASSERT_EQ(reread.size(), entities.size());
  for (std::size_t i = 0; i < reread.size(); ++i) {
    EXPECT_EQ(reread[i].id, entities[i].id);
    EXPECT_EQ(reread[i].block, entities[i].block);
    EXPECT_EQ(reread[i].pending.size(), entities[i].pending.size());
  }

  // Imported into a single partition: the same queue and blocks.
  const Layout one(model, false);
  auto whole = partitions_of(model, one);
  whole[0]->restore(again, nullptr);
  EXPECT_EQ(whole[0]->store().queue().size(), s.pending.size());
  expect_same_images(whole[0]->store().export_all(), images_of(s));

  const auto refused = [](const dsim::Snapshot& bad, const std::string& words) {
    try {
      (void)bad.entities();
      ADD_FAILURE() << "accepted: " << words;
    } catch (const dsim::Error& e) {
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
    }
  };
  dsim::Snapshot twice = s;
  twice.add(entities[4]);
  refused(twice, "entity id 4 is twice in a snapshot");
  dsim::Snapshot stray = s;
  stray.pending.push_back(stray.pending.front());
  stray.pending.back().dst = 11;
  refused(stray, "an event for entity id 11, which is not in it");
  dsim::Snapshot short_part = s;
  short_part.blocks[1].bytes.pop_back();
  refused(short_part, "holds " + std::to_string(s.blocks[1].bytes.size() - 1) + " bytes");

  auto fresh = partitions_of(model, one);
  try {
    fresh[0]->restore(stray, nullptr);
    ADD_FAILURE() << "restored an event for entity id 11 of a 10-entity model";
  } catch (const dsim::Error& e) {
    EXPECT_NE(std::string(e.what()).find("entity id 11"), std::string::npos) << e.what();
  }
  dsim::Snapshot small = s;
  for (auto& part : small.blocks) {
    part.block_bytes -= 8;
    part.bytes.resize(part.ids.size() * part.block_bytes);
  }
  auto other = partitions_of(model, one);
  try {
    other[0]->restore(small, nullptr);
    ADD_FAILURE() << "restored blocks of the wrong size";
  } catch (const dsim::Error& e) {
    EXPECT_NE(std::string(e.what()).find("entity id 0"), std::string::npos) << e.what();
  }
}

}  // namespace
