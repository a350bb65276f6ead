// The determinism promise's checkpoint column (issue #11): every reference
// model, checkpointed at several times by several layouts and resumed from
// each checkpoint onto sequential, conservative (2 and 3 threads) and
// optimistic layouts with each partitioner, gives the uninterrupted
// sequential run's results, bit for bit; so does a resumed run resumed
// again. A checkpoint that cannot be written (an injected full disk) is a
// warning: the run finishes with the same results and the previous
// checkpoint stays the latest valid one.
#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "dsim/checkpoint.hpp"
#include "dsim/dsim.hpp"
#include "dsim/reference_models.hpp"
#include "tests/support/same_bits.hpp"

namespace {

namespace fs = std::filesystem;
using dsim::testing::expect_same_bits;

struct ModelCase {
  std::string name;
  std::string config;
  std::vector<std::string> overrides;
  double transfer = 0;  // > 0: a queueing network given lookahead (see determinism_test)
};

void PrintTo(const ModelCase& c, std::ostream* os) { *os << c.name; }

std::vector<ModelCase> cases() {
  std::vector<ModelCase> out = {
      {"phold", "models/phold/phold.toml",
       {"simulation.end_time=40", "entities.phold.count=1000", "output.sample_interval=5"}},
      {"phold_remote05", "models/phold/phold_remote05.toml",
       {"simulation.end_time=30", "entities.phold.count=1000"}},
      {"phold_la01", "models/phold/phold_la01.toml",
       {"simulation.end_time=12", "entities.phold.count=1000"}},
      {"epidemic", "models/epidemic/epidemic.toml",
       {"simulation.end_time=60", "entities.people.count=2000", "output.sample_interval=10"}},
  };
  for (const char* q : {"mm1", "mmc", "mmck", "tandem", "jackson"})
    out.push_back({q,
                   std::string("models/queueing/") + q + ".toml",
                   {"simulation.end_time=2000", "output.sample_interval=250"},
                   0.25});
  return out;
}

struct Fixture {
  dsim::Registry registry;
  Fixture() {
    dsim::register_builtins(registry);
    dsim::register_reference_models(registry);
  }
  dsim::ModelSpec spec(const ModelCase& c, const std::vector<std::string>& layout) {
    std::vector<std::string> overrides = c.overrides;
    overrides.insert(overrides.end(), layout.begin(), layout.end());
    auto s = dsim::load_model(std::string(DSIM_SOURCE_DIR) + "/" + c.config, overrides);
    if (c.transfer > 0) {
      for (auto& link : s.links) link.lookahead = c.transfer;
      for (auto& group : s.groups) {
        const auto* type = registry.find(group.type);
        if (type != nullptr && type->params.find("transfer") != nullptr)
          group.params["transfer"] = c.transfer;
      }
    }
    dsim::validate(s, registry);
    return s;
  }
  dsim::RunResult run(const ModelCase& c, const std::vector<std::string>& layout,
                      const dsim::RunOptions& options = {}) {
    dsim::Simulation sim(spec(c, layout), registry);
    return sim.run(options);
  }
};

std::vector<std::string> layout(const std::string& sync, int threads, const std::string& part) {
  return {"simulation.sync=\"" + sync + "\"", "simulation.threads=" + std::to_string(threads),
          "simulation.partitioner=\"" + part + "\""};
}

fs::path scratch(const std::string& name) {
  const fs::path dir = fs::path(::testing::TempDir()) / ("dsim-ckpt-" + name);
  fs::remove_all(dir);
  return dir;
}

class CheckpointColumn : public ::testing::TestWithParam<ModelCase> {};

TEST_P(CheckpointColumn, EveryCheckpointResumesOnEveryLayoutBitForBit) {
  const ModelCase& c = GetParam();
  Fixture f;
  const dsim::RunResult ref = f.run(c, layout("sequential", 1, "block"));
  ASSERT_GT(ref.figures.events_processed, 1000u);
  const double end = f.spec(c, {}).simulation.end_time;

  // Checkpoints written by three layouts, at about a quarter, a half and
  // three quarters of the run.
  for (const auto& writer : {layout("sequential", 1, "block"), layout("conservative", 2, "graph"),
                             layout("optimistic", 3, "round_robin")}) {
    const fs::path dir = scratch(c.name);
    dsim::RunOptions options;
    options.checkpoint.directory = dir;
    options.checkpoint.every = end / 4;
    options.checkpoint.keep = 0;
    std::vector<std::string> warnings;
    options.on_warning = [&](const std::string& w) { warnings.push_back(w); };
    const dsim::RunResult written = f.run(c, writer, options);
    const std::string by = writer[0] + " " + writer[1];
    expect_same_bits(ref, written, c.name + ": the run that checkpointed (" + by + ")");
    EXPECT_TRUE(warnings.empty()) << warnings.front();
    const auto all = dsim::checkpoint::list_checkpoints(dir);
    ASSERT_GE(all.size(), 2u) << by;
    EXPECT_EQ(written.figures.checkpoints_written, all.size());
    EXPECT_GT(written.figures.checkpoint_pause_max, 0);

    for (const auto& ckpt : all) {
      ASSERT_TRUE(ckpt.valid) << ckpt.problem;
      for (const auto& to :
           {layout("sequential", 1, "block"), layout("conservative", 2, "block"),
            layout("conservative", 3, "round_robin"), layout("optimistic", 2, "graph"),
            layout("optimistic", 3, "block")}) {
        dsim::RunOptions resume;
        resume.resume = ckpt.path;
        const dsim::RunResult got = f.run(c, to, resume);
        expect_same_bits(ref, got,
                         c.name + ": " + ckpt.path.filename().string() + " written by " + by +
                             " at t=" + std::to_string(ckpt.safe_time) + ", resumed on " +
                             to[0] + " " + to[1] + " " + to[2]);
        EXPECT_EQ(got.figures.resumed_at, ckpt.safe_time);
      }
    }
    fs::remove_all(dir);
  }
}

TEST_P(CheckpointColumn, ARestartedRunRestartsAgain) {
  const ModelCase& c = GetParam();
  Fixture f;
  const dsim::RunResult ref = f.run(c, layout("sequential", 1, "block"));
  const double end = f.spec(c, {}).simulation.end_time;
  const fs::path first = scratch(c.name + "-1"), second = scratch(c.name + "-2");
  dsim::RunOptions a;
  a.checkpoint.directory = first;
  a.checkpoint.every = end / 3;
  f.run(c, layout("conservative", 2, "block"), a);
  const auto firsts = dsim::checkpoint::list_checkpoints(first);
  ASSERT_FALSE(firsts.empty());
  // Resumed from the first checkpoint, checkpointing again later on.
  dsim::RunOptions b;
  b.resume = firsts.front().path;
  b.checkpoint.directory = second;
  b.checkpoint.every = end / 5;
  expect_same_bits(ref, f.run(c, layout("optimistic", 2, "block"), b), c.name + ": resumed");
  const auto seconds = dsim::checkpoint::list_checkpoints(second);
  ASSERT_FALSE(seconds.empty());
  EXPECT_GT(seconds.back().safe_time, firsts.front().safe_time);
  dsim::RunOptions again;
  again.resume = second;  // the directory: its latest
  expect_same_bits(ref, f.run(c, layout("sequential", 1, "block"), again),
                   c.name + ": resumed twice");
  fs::remove_all(first);
  fs::remove_all(second);
}

INSTANTIATE_TEST_SUITE_P(Models, CheckpointColumn, ::testing::ValuesIn(cases()),
                         [](const auto& info) { return info.param.name; });

// A file system that fills up after `room` shard files.
class FillingDisk final : public dsim::FileSystem {
 public:
  int room = 1;
  std::mutex mutex;
  int write_file(const fs::path& path, std::string_view content) override {
    std::lock_guard lock(mutex);
    if (path.filename().string().starts_with("shard") && room-- <= 0) {
      local().write_file(path, content.substr(0, content.size() / 3));
      return ENOSPC;
    }
    return local().write_file(path, content);
  }
  int sync_directory(const fs::path& p) override { return local().sync_directory(p); }
  int create_directory(const fs::path& p) override { return local().create_directory(p); }
  int create_directories(const fs::path& p) override { return local().create_directories(p); }
  int remove_all(const fs::path& p) override { return local().remove_all(p); }
  int rename(const fs::path& a, const fs::path& b) override { return local().rename(a, b); }
  int exchange(const fs::path& a, const fs::path& b) override { return local().exchange(a, b); }
};

TEST(CheckpointFaults, AFullDiskKeepsThePreviousCheckpointAndTheRunGoingOn) {
  Fixture f;
  const ModelCase c = cases().front();
  const dsim::RunResult ref = f.run(c, layout("sequential", 1, "block"));
  for (const auto& l : {layout("sequential", 1, "block"), layout("conservative", 2, "block")}) {
    const fs::path dir = scratch("full");
    FillingDisk disk;
    dsim::RunOptions options;
    options.checkpoint.directory = dir;
    options.checkpoint.every = 8;
    options.checkpoint.files = &disk;
    std::mutex mutex;
    std::vector<std::string> warnings;
    options.on_warning = [&](const std::string& w) {
      std::lock_guard lock(mutex);
      warnings.push_back(w);
    };
    const dsim::RunResult got = f.run(c, l, options);
    expect_same_bits(ref, got, "a run whose disk filled up");
    EXPECT_EQ(got.figures.checkpoints_written, 1u);
    EXPECT_GE(got.figures.checkpoints_failed, 1u);
    ASSERT_FALSE(warnings.empty());
    EXPECT_NE(warnings.front().find("No space left on device"), std::string::npos)
        << warnings.front();
    EXPECT_NE(warnings.front().find("ckpt-000001 stays the latest"), std::string::npos)
        << warnings.front();
    // The first checkpoint is the latest valid one, and resumes.
    const auto latest = dsim::checkpoint::find_latest_checkpoint(dir);
    EXPECT_EQ(latest.path.filename(), "ckpt-000001");
    dsim::RunOptions resume;
    resume.resume = dir;
    std::vector<std::string> passed;
    resume.on_warning = [&](const std::string& w) { passed.push_back(w); };
    expect_same_bits(ref, f.run(c, layout("optimistic", 2, "block"), resume),
                     "resumed past the failed checkpoints");
    EXPECT_FALSE(passed.empty()) << "no word of the incomplete checkpoints passed over";
    fs::remove_all(dir);
  }
}

TEST(CheckpointFaults, AResumeOfAnotherModelNamesTheKey) {
  Fixture f;
  const ModelCase c = cases().front();
  const fs::path dir = scratch("other");
  dsim::RunOptions options;
  options.checkpoint.directory = dir;
  options.checkpoint.every = 10;
  f.run(c, layout("sequential", 1, "block"), options);
  ModelCase other = c;
  other.overrides.push_back("entities.phold.params.remote=0.5");
  dsim::RunOptions resume;
  resume.resume = dir;
  try {
    f.run(other, layout("sequential", 1, "block"), resume);
    FAIL() << "resumed another model";
  } catch (const dsim::Error& e) {
    EXPECT_EQ(e.kind(), dsim::Error::Kind::kInput);
    EXPECT_NE(std::string(e.what()).find("entities.phold.params.remote"), std::string::npos)
        << e.what();
  }
  fs::remove_all(dir);
}

}  // namespace
