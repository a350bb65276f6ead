// Run control at quiet points (dsim/run_control.hpp): every engine reaches
// them with a consistent safe time, a RunControl or a stop token stops the
// run there (RunStopped, no result), and progress consumers run on their own
// thread, so a slow one slows no worker.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "dsim/dsim.hpp"
#include "tests/support/same_bits.hpp"
#include "dsim/reference_models.hpp"

namespace {

struct Layout {
  std::string sync;
  std::uint32_t threads;
};

std::string name_of(const Layout& l) { return l.sync + "_" + std::to_string(l.threads); }

class ThreadsRunControl : public ::testing::TestWithParam<Layout> {
 protected:
  void SetUp() override {
    dsim::register_builtins(registry_);
    dsim::register_reference_models(registry_);
  }

  // PHOLD: 2,048 entities, 10% remote, lookahead 1, to `end_time`.
  dsim::ModelSpec phold(double end_time) const {
    const Layout& l = GetParam();
    auto spec = dsim::load_model(std::string(DSIM_SOURCE_DIR) + "/models/phold/phold.toml",
                                 {"entities.phold.count=2048",
                                  "simulation.end_time=" + std::to_string(end_time),
                                  "simulation.sync=\"" + l.sync + "\"",
                                  "simulation.threads=" + std::to_string(l.threads)});
    dsim::validate(spec, registry_);
    return spec;
  }

  dsim::RunResult run(dsim::ModelSpec spec, const dsim::RunOptions& options = {}) const {
    dsim::Simulation sim(std::move(spec), registry_);
    return sim.run(options);
  }

  dsim::Registry registry_;
};

using dsim::testing::expect_same_bits;

// Records every quiet point; asks to stop at the `stop_at`-th (0: never).
class Recorder : public dsim::RunControl {
 public:
  explicit Recorder(std::uint64_t stop_at = 0) : stop_at_(stop_at) {}
  Decision at_quiet_point(const dsim::QuietPoint& point) override {
    points.push_back(point);
    return stop_at_ != 0 && point.index >= stop_at_ ? Decision::kStop : Decision::kContinue;
  }
  std::vector<dsim::QuietPoint> points;

 private:
  std::uint64_t stop_at_;
};

TEST_P(ThreadsRunControl, QuietPointsAdvanceAndChangeNothing) {
  const auto plain = run(phold(400));
  Recorder recorder;
  dsim::RunOptions options;
  options.control = &recorder;
  const auto watched = run(phold(400), options);
  expect_same_bits(plain, watched);
  ASSERT_FALSE(recorder.points.empty());
  for (std::size_t i = 0; i < recorder.points.size(); ++i) {
    const auto& p = recorder.points[i];
    EXPECT_EQ(p.index, i + 1);
    EXPECT_EQ(p.end_time, 400.0);
    EXPECT_LT(p.safe_time, 400.0);
    EXPECT_LE(p.events, watched.figures.events_processed);
    if (i > 0) {
      EXPECT_GE(p.safe_time, recorder.points[i - 1].safe_time);
      EXPECT_GE(p.events, recorder.points[i - 1].events);
      EXPECT_GE(p.wall_seconds, recorder.points[i - 1].wall_seconds);
    }
  }
  // Sequential pauses every 65,536 events; PHOLD here has about 800,000.
  EXPECT_GE(recorder.points.size(), 3u);
}

TEST_P(ThreadsRunControl, ControlStopsAtTheNextQuietPoint) {
  Recorder recorder(3);
  dsim::RunOptions options;
  options.control = &recorder;
  try {
    run(phold(400), options);
    FAIL() << "the run was not stopped";
  } catch (const dsim::RunStopped& stopped) {
    // Asked at the third quiet point, it stops at the fourth, which the
    // control does not see.
    ASSERT_EQ(recorder.points.size(), 3u);
    EXPECT_GE(stopped.safe_time(), recorder.points.back().safe_time);
    EXPECT_LT(stopped.safe_time(), 400.0);
    EXPECT_NE(std::string(stopped.what()).find("stopped at simulated time"), std::string::npos)
        << stopped.what();
  }
}

TEST_P(ThreadsRunControl, StopTokenFromAnotherThread) {
  std::stop_source source;
  dsim::RunOptions options;
  options.stop = source.get_token();
  // A run of some minutes, stopped 100 ms in.
  std::jthread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    source.request_stop();
  });
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(run(phold(1e6), options), dsim::RunStopped);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(60));
}

TEST_P(ThreadsRunControl, StopAskedBeforeTheRunStopsAtTheFirstQuietPoint) {
  std::stop_source source;
  source.request_stop();
  dsim::RunOptions options;
  options.stop = source.get_token();
  EXPECT_THROW(run(phold(400), options), dsim::RunStopped);
}

// The consumer sleeps 2 s per report; were it called from a worker, the
// event loop would take that long at least.
TEST_P(ThreadsRunControl, SlowProgressConsumerSlowsNoWorker) {
  const auto plain = run(phold(100));
  int reports = 0;
  dsim::RunOptions options;
  options.progress_interval = 0;
  options.on_progress = [&](const dsim::Progress& p) {
    ++reports;
    EXPECT_LE(p.now, 100.0);
    std::this_thread::sleep_for(std::chrono::seconds(2));
  };
  const auto watched = run(phold(100), options);
  expect_same_bits(plain, watched);
  EXPECT_GE(reports, 1);
  EXPECT_LT(watched.figures.run_seconds, plain.figures.run_seconds + 1.5)
      << "plain " << plain.figures.run_seconds << " s";
}

INSTANTIATE_TEST_SUITE_P(Engines, ThreadsRunControl,
                         ::testing::Values(Layout{"sequential", 1}, Layout{"conservative", 2},
                                           Layout{"optimistic", 2}),
                         [](const auto& info) { return name_of(info.param); });

}  // namespace
