// Result writers: file contents read back exactly, atomic directory writes,
// refusal to clobber what dsim did not write, and no partial result on failure;
// the terminal summary and the progress line.
#include "dsim/output.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bit>
#include <climits>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

// The progress line belongs to the dsim program, which the test binary does
// not link; its one source file is compiled in here.
#include "cli/progress.cpp"  // NOLINT(bugprone-suspicious-include)

namespace dsim {
namespace {

namespace fs = std::filesystem;

// Values that print badly with fewer than 17 digits, or not at all.
const double kAwkward[] = {0.1,
                           1.0 / 3.0,
                           2.0 / 3.0 * 1e-300,
                           123456789.123456789,
                           std::nextafter(1.0, 2.0),
                           -0.0,
                           5e-324,
                           std::numeric_limits<double>::max(),
                           0.0};

RunResult make_result() {
  RunResult r;
  r.end_time = 1000.5;
  r.seed = 18446744073709551615ull;  // needs all 64 bits
  StatResult counter{"queue",
                     "arrivals",
                     StatKind::kCounter,
                     {{"total", 9987}, {"mean", 9987.0 / 3.0}, {"min", 1}, {"max", 9985}}};
  StatResult tally{"queue", "wait", StatKind::kTally, {}};
  const char* names[] = {"count", "mean", "stddev", "variance", "min", "max", "sum"};
  for (int i = 0; i < 7; ++i) tally.fields.emplace_back(names[i], kAwkward[i]);
  StatResult gauge{"queue",
                   "length",
                   StatKind::kGauge,
                   {{"mean", 0.98765432109876543},
                    {"total_mean", 2.9629629632962963},
                    {"min", 0},
                    {"max", 17},
                    {"final", 3}}};
  StatResult hist{"sink, west",
                  "sojourn \"time\"",
                  StatKind::kHistogram,
                  {{"count", 100},
                   {"underflow", 1},
                   {"overflow", 2},
                   {"bin_0", 40},
                   {"bin_1", 35},
                   {"bin_2", 22}}};
  hist.lo = 0.1;
  hist.hi = 7.3;
  hist.bins = 3;
  r.stats = {counter, tally, gauge, hist};
  r.series.push_back({"queue", "length", {100, 200, 300}, {1, 0.1, 7}});
  r.series.push_back({"queue", "arrivals", {100, 200, 300}, {97, 1.0 / 7.0, 311}});
  r.figures.events_processed = 123456;
  r.figures.event_rate = 2.5e6;
  r.figures.wall_seconds = 0.25;
  r.figures.run_seconds = 0.2;
  r.figures.init_seconds = 0.01;
  r.figures.peak_rss_bytes = 12u << 20;
  r.figures.sync = "conservative";
  r.figures.sync_reason = "all links have lookahead";
  r.figures.partitioner = "block";
  r.figures.threads = 2;
  r.figures.partitions = {{0, 0, 2, 60000, 10, 0.1, 0.01}, {1, 0, 1, 63456, 12, 0.11, 0.02}};
  return r;
}

ModelSpec make_spec() {
  ModelSpec spec;
  spec.file = "models/queueing/mm1.toml";
  spec.simulation.end_time = 1000.5;
  spec.simulation.seed = 18446744073709551615ull;
  GroupSpec g;
  g.name = "queue";
  g.type = "queue";
  g.count = 3;
  spec.groups.push_back(g);
  return spec;
}

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Splits one CSV line, honouring RFC 4180 quotes.
std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> cells(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cells.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cells.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      cells.emplace_back();
    } else {
      cells.back() += c;
    }
  }
  return cells;
}

std::vector<std::vector<std::string>> read_csv(const fs::path& path) {
  std::ifstream in(path);
  std::vector<std::vector<std::string>> rows;
  for (std::string line; std::getline(in, line);) rows.push_back(split_csv(line));
  return rows;
}

bool same_bits(double a, double b) {
  return std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b);
}

class OutputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("dsim-output-test-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  // Names in root_ other than `keep`: leftovers such as temporary directories.
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(root_)) names.push_back(e.path().filename());
    std::sort(names.begin(), names.end());
    return names;
  }

  fs::path root_;
};

TEST_F(OutputTest, WritesAllFilesAndRemovesTemporaryDirectory) {
  const fs::path dir = root_ / "out";
  output::write_results(dir, make_spec(), make_result(), "9.8.7");
  EXPECT_TRUE(fs::is_regular_file(dir / "manifest.json"));
  EXPECT_TRUE(fs::is_regular_file(dir / "results.csv"));
  EXPECT_TRUE(fs::is_regular_file(dir / "results.json"));
  EXPECT_TRUE(fs::is_regular_file(dir / "series.csv"));
  EXPECT_EQ(entries(), std::vector<std::string>{"out"});
}

TEST_F(OutputTest, ResultsCsvRoundTripsEveryDoubleBitExactly) {
  const RunResult r = make_result();
  output::write_results(root_ / "out", make_spec(), r, "1");
  const auto rows = read_csv(root_ / "out" / "results.csv");
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows[0], (std::vector<std::string>{"group", "stat", "kind", "field", "value"}));

  std::size_t row = 1;
  for (const auto& s : r.stats) {
    auto expect_row = [&](const std::string& field, double value) {
      ASSERT_LT(row, rows.size());
      const auto& cells = rows[row++];
      ASSERT_EQ(cells.size(), 5u);
      EXPECT_EQ(cells[0], s.group);
      EXPECT_EQ(cells[1], s.stat);
      EXPECT_EQ(cells[2], output::kind_name(s.kind));
      EXPECT_EQ(cells[3], field);
      EXPECT_TRUE(same_bits(std::strtod(cells[4].c_str(), nullptr), value))
          << s.group << "." << s.stat << "." << field << " wrote " << cells[4];
    };
    for (const auto& [field, value] : s.fields) expect_row(field, value);
    if (s.kind == StatKind::kHistogram) {
      expect_row("lo", s.lo);
      expect_row("hi", s.hi);
    }
  }
  EXPECT_EQ(row, rows.size()) << "extra rows in results.csv";
}

TEST_F(OutputTest, ResultsJsonRoundTripsEveryDoubleBitExactly) {
  const RunResult r = make_result();
  output::write_results(root_ / "out", make_spec(), r, "1");
  const auto doc = nlohmann::json::parse(slurp(root_ / "out" / "results.json"));
  EXPECT_EQ(doc["seed"].get<std::uint64_t>(), r.seed);
  EXPECT_TRUE(same_bits(doc["end_time"].get<double>(), r.end_time));
  ASSERT_EQ(doc["stats"].size(), r.stats.size());
  for (std::size_t i = 0; i < r.stats.size(); ++i) {
    const auto& s = r.stats[i];
    const auto& js = doc["stats"][i];
    EXPECT_EQ(js["group"], s.group);
    EXPECT_EQ(js["stat"], s.stat);
    EXPECT_EQ(js["kind"], output::kind_name(s.kind));
    const std::size_t extra = s.kind == StatKind::kHistogram ? 2 : 0;
    EXPECT_EQ(js["fields"].size(), s.fields.size() + extra);
    for (const auto& [field, value] : s.fields)
      EXPECT_TRUE(same_bits(js["fields"][field].get<double>(), value)) << s.stat << "." << field;
    if (extra) {
      EXPECT_TRUE(same_bits(js["fields"]["lo"].get<double>(), s.lo));
      EXPECT_TRUE(same_bits(js["fields"]["hi"].get<double>(), s.hi));
    }
  }
}

TEST_F(OutputTest, SeriesCsvHasEverySample) {
  const RunResult r = make_result();
  output::write_results(root_ / "out", make_spec(), r, "1");
  const auto rows = read_csv(root_ / "out" / "series.csv");
  ASSERT_EQ(rows.size(), 7u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"group", "stat", "time", "value"}));
  std::size_t row = 1;
  for (const auto& s : r.series)
    for (std::size_t i = 0; i < s.times.size(); ++i, ++row) {
      EXPECT_EQ(rows[row][0], s.group);
      EXPECT_EQ(rows[row][1], s.stat);
      EXPECT_TRUE(same_bits(std::strtod(rows[row][2].c_str(), nullptr), s.times[i]));
      EXPECT_TRUE(same_bits(std::strtod(rows[row][3].c_str(), nullptr), s.values[i]));
    }
}

// What write_results() writes, read_results() reads back: every statistic
// and series bit for bit (CSV), the figures, the config.
TEST_F(OutputTest, ResultsReadBackBitForBit) {
  const RunResult r = make_result();
  output::write_results(root_ / "out", make_spec(), r, "9.8.7");
  const output::ResultDirectory back = output::read_results(root_ / "out");
  EXPECT_EQ(back.dsim_version, "9.8.7");
  EXPECT_EQ(back.config_file, "models/queueing/mm1.toml");
  EXPECT_NE(back.config_json.find("\"queue\""), std::string::npos) << back.config_json;
  EXPECT_EQ(back.result.end_time, r.end_time);
  EXPECT_EQ(back.result.seed, r.seed);
  ASSERT_EQ(back.result.stats.size(), r.stats.size());
  for (std::size_t i = 0; i < r.stats.size(); ++i) {
    const StatResult& a = r.stats[i];
    const StatResult& b = back.result.stats[i];
    EXPECT_EQ(b.group, a.group);
    EXPECT_EQ(b.stat, a.stat);
    EXPECT_EQ(b.kind, a.kind);
    EXPECT_EQ(b.lo, a.lo);
    EXPECT_EQ(b.hi, a.hi);
    EXPECT_EQ(b.bins, a.bins);
    ASSERT_EQ(b.fields.size(), a.fields.size()) << a.group << "." << a.stat;
    for (std::size_t k = 0; k < a.fields.size(); ++k) {
      EXPECT_EQ(b.fields[k].first, a.fields[k].first);
      EXPECT_EQ(std::bit_cast<std::uint64_t>(b.fields[k].second),
                std::bit_cast<std::uint64_t>(a.fields[k].second))
          << a.stat << "." << a.fields[k].first;
    }
  }
  ASSERT_EQ(back.result.series.size(), r.series.size());
  for (std::size_t i = 0; i < r.series.size(); ++i) {
    EXPECT_EQ(back.result.series[i].group, r.series[i].group);
    EXPECT_EQ(back.result.series[i].stat, r.series[i].stat);
    EXPECT_EQ(back.result.series[i].times, r.series[i].times);
    EXPECT_EQ(back.result.series[i].values, r.series[i].values);
  }
  const RunFigures& f = back.result.figures;
  EXPECT_EQ(f.events_processed, r.figures.events_processed);
  EXPECT_EQ(f.sync, "conservative");
  EXPECT_EQ(f.threads, 2u);
  ASSERT_EQ(f.partitions.size(), 2u);
  EXPECT_EQ(f.partitions[1].events, 63456u);
  EXPECT_EQ(f.partitions[1].blocked_seconds, 0.02);
}

TEST_F(OutputTest, ResultsReadBackFromJsonAlone) {
  RunResult r = make_result();
  ModelSpec spec = make_spec();
  spec.output.formats = {"json"};
  output::write_results(root_ / "out", spec, r, "1");
  const auto back = output::read_results(root_ / "out");
  ASSERT_EQ(back.result.stats.size(), r.stats.size());
  EXPECT_EQ(back.result.stats[3].bins, 3u);
  EXPECT_EQ(back.result.stats[3].lo, 0.1);
  EXPECT_EQ(back.result.stats[1].fields[1].second, r.stats[1].fields[1].second);
}

TEST_F(OutputTest, BadResultDirectoriesAreNamed) {
  const auto refusal = [](const fs::path& dir) -> std::string {
    try {
      output::read_results(dir);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), Error::Kind::kInput);
      return e.what();
    }
    return "accepted";
  };
  EXPECT_EQ(refusal(root_ / "none"),
            "'" + (root_ / "none").string() + "' is not a result directory: no such directory");
  fs::create_directories(root_ / "empty");
  EXPECT_EQ(refusal(root_ / "empty"), "'" + (root_ / "empty").string() +
                                          "' is not a dsim result directory: it has no "
                                          "manifest.json");
  output::write_results(root_ / "out", make_spec(), make_result(), "1");
  {
    std::ofstream bad(root_ / "out" / "series.csv", std::ios::app);
    bad << "queue,length,400,twelve\n";
  }
  EXPECT_EQ(refusal(root_ / "out"), "result file '" + (root_ / "out" / "series.csv").string() +
                                        "': queue.length value: 'twelve' is not a number");
  {
    std::ofstream bad(root_ / "out" / "results.csv");
    bad << "group,stat,kind,field,value\nqueue,x,counter,total\n";
  }
  EXPECT_EQ(refusal(root_ / "out"), "result file '" + (root_ / "out" / "results.csv").string() +
                                        "': line 2: 4 cells, not 5");
  {
    std::ofstream bad(root_ / "out" / "manifest.json");
    bad << "{\"run\": 3}";
  }
  EXPECT_EQ(refusal(root_ / "out"), "result file '" + (root_ / "out" / "manifest.json").string() +
                                        "': not a dsim manifest (no \"run\" object)");
}

TEST_F(OutputTest, NoSeriesFileWithoutSeriesAndFormatsAreHonoured) {
  RunResult r = make_result();
  r.series.clear();
  ModelSpec spec = make_spec();
  spec.output.formats = {"json"};
  output::write_results(root_ / "out", spec, r, "1");
  EXPECT_FALSE(fs::exists(root_ / "out" / "series.csv"));
  EXPECT_FALSE(fs::exists(root_ / "out" / "results.csv"));
  EXPECT_TRUE(fs::exists(root_ / "out" / "results.json"));
  const auto manifest = nlohmann::json::parse(slurp(root_ / "out" / "manifest.json"));
  EXPECT_EQ(manifest["files"], nlohmann::json::array({"results.json"}));
}

TEST_F(OutputTest, NonFiniteValuesAreWrittenReadably) {
  RunResult r;
  r.stats.push_back({"g",
                     "t",
                     StatKind::kTally,
                     {{"count", 0},
                      {"mean", std::nan("")},
                      {"min", std::numeric_limits<double>::infinity()},
                      {"max", -std::numeric_limits<double>::infinity()}}});
  output::write_results(root_ / "out", make_spec(), r, "1");
  const auto rows = read_csv(root_ / "out" / "results.csv");
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_TRUE(std::isnan(std::strtod(rows[2][4].c_str(), nullptr)));
  EXPECT_EQ(std::strtod(rows[3][4].c_str(), nullptr), std::numeric_limits<double>::infinity());
  EXPECT_EQ(std::strtod(rows[4][4].c_str(), nullptr), -std::numeric_limits<double>::infinity());
  const auto doc = nlohmann::json::parse(slurp(root_ / "out" / "results.json"));
  EXPECT_TRUE(doc["stats"][0]["fields"]["mean"].is_null());
}

TEST_F(OutputTest, ManifestHoldsRunFiguresConfigAndFiles) {
  const RunResult r = make_result();
  output::write_results(root_ / "out", make_spec(), r, "9.8.7");
  const auto m = nlohmann::json::parse(slurp(root_ / "out" / "manifest.json"));
  EXPECT_EQ(m["dsim_version"], "9.8.7");
  EXPECT_EQ(m["config_file"], "models/queueing/mm1.toml");
  EXPECT_EQ(m["seed"].get<std::uint64_t>(), r.seed);
  EXPECT_EQ(m["end_time"].get<double>(), r.end_time);
  EXPECT_TRUE(m["config"].is_object());
  const auto& run = m["run"];
  EXPECT_EQ(run["events_processed"], 123456);
  EXPECT_EQ(run["event_rate"], 2.5e6);
  EXPECT_EQ(run["wall_seconds"], 0.25);
  EXPECT_EQ(run["peak_rss_bytes"], 12u << 20);
  EXPECT_EQ(run["sync"], "conservative");
  EXPECT_EQ(run["sync_reason"], "all links have lookahead");
  EXPECT_EQ(run["partitioner"], "block");
  EXPECT_EQ(run["threads"], 2);
  EXPECT_EQ(run["ranks"], 1);
  EXPECT_EQ(run["rank_edge_cut"], 0);
  ASSERT_EQ(run["partitions"].size(), 2u);
  EXPECT_EQ(run["partitions"][1]["rank"], 0);
  EXPECT_EQ(run["partitions"][1]["events"], 63456);
  EXPECT_EQ(run["partitions"][1]["remote_sends"], 12);
  EXPECT_EQ(run["partitions"][1]["blocked_seconds"], 0.02);
  EXPECT_EQ(run["partitions"][1]["rolled_back"], 0);
  // The optimistic figures are there, zero, under the other engines.
  EXPECT_EQ(run["events_executed"], 0);
  EXPECT_EQ(run["events_rolled_back"], 0);
  EXPECT_EQ(run["efficiency"], 1.0);
  EXPECT_EQ(run["state_saving"], "");
  EXPECT_EQ(m["files"], nlohmann::json::array({"results.csv", "results.json", "series.csv"}));
}

RunResult make_optimistic_result() {
  RunResult r = make_result();
  RunFigures& f = r.figures;
  f.sync = "optimistic";
  f.sync_reason = "a link has zero lookahead";
  f.events_processed = 1'000'000;
  f.events_executed = 1'250'000;
  f.events_rolled_back = 250'000;
  f.rollbacks_primary = 512;
  f.rollbacks_secondary = 40;
  f.efficiency = 0.8;
  f.gvt_rounds = 88;
  f.peak_saved_bytes = 12'897'485;  // 12.3 MiB
  f.memory_limit = 4ull << 30;
  f.throttled_rounds = 3;
  f.state_saving = "hosts: every_event";
  f.partitions[0].rolled_back = 100'000;
  f.partitions[1].rolled_back = 150'000;
  return r;
}

TEST_F(OutputTest, ManifestHoldsOptimisticFigures) {
  RunResult r = make_optimistic_result();
  r.figures.rollback_checks = 0;
  output::write_results(root_ / "out", make_spec(), r, "1");
  const auto m = nlohmann::json::parse(slurp(root_ / "out" / "manifest.json"));
  const auto& run = m["run"];
  EXPECT_EQ(run["sync"], "optimistic");
  EXPECT_EQ(run["events_processed"], 1000000);
  EXPECT_EQ(run["events_executed"], 1250000);
  EXPECT_EQ(run["events_rolled_back"], 250000);
  EXPECT_EQ(run["rollbacks_primary"], 512);
  EXPECT_EQ(run["rollbacks_secondary"], 40);
  EXPECT_EQ(run["efficiency"], 0.8);
  EXPECT_EQ(run["gvt_rounds"], 88);
  EXPECT_EQ(run["peak_saved_bytes"], 12897485);
  EXPECT_EQ(run["memory_limit"].get<std::uint64_t>(), 4ull << 30);
  EXPECT_EQ(run["throttled_rounds"], 3);
  EXPECT_EQ(run["state_saving"], "hosts: every_event");
  EXPECT_EQ(run["rollback_checks"], 0);
  ASSERT_EQ(run["partitions"].size(), 2u);
  EXPECT_EQ(run["partitions"][0]["rolled_back"], 100000);
  EXPECT_EQ(run["partitions"][1]["rolled_back"], 150000);
  // A non-finite efficiency (nothing executed) is null, like other numbers.
  r.figures.efficiency = NAN;
  output::write_results(root_ / "out", make_spec(), r, "1");
  const auto m2 = nlohmann::json::parse(slurp(root_ / "out" / "manifest.json"));
  EXPECT_TRUE(m2["run"]["efficiency"].is_null());
}

TEST_F(OutputTest, DataFilesDoNotDependOnOptimisticFigures) {
  output::write_results(root_ / "a", make_spec(), make_result(), "1");
  output::write_results(root_ / "b", make_spec(), make_optimistic_result(), "1");
  for (const char* name : {"results.csv", "results.json", "series.csv"})
    EXPECT_EQ(slurp(root_ / "a" / name), slurp(root_ / "b" / name)) << name;
}

// Run facts (wall time, host) stay in the manifest: the data files depend
// only on what the model computed.
TEST_F(OutputTest, DataFilesDoNotDependOnRunFigures) {
  RunResult a = make_result();
  RunResult b = make_result();
  b.figures.wall_seconds = 99;
  b.figures.threads = 7;
  b.figures.event_rate = 1;
  b.figures.partitions.clear();
  output::write_results(root_ / "a", make_spec(), a, "1");
  output::write_results(root_ / "b", make_spec(), b, "1");
  for (const char* name : {"results.csv", "results.json", "series.csv"})
    EXPECT_EQ(slurp(root_ / "a" / name), slurp(root_ / "b" / name)) << name;
  EXPECT_NE(slurp(root_ / "a" / "manifest.json"), slurp(root_ / "b" / "manifest.json"));
}

TEST_F(OutputTest, ReplacesAnEarlierResult) {
  RunResult r = make_result();
  output::write_results(root_ / "out", make_spec(), r, "1");
  r.stats[0].fields[0].second = 4242;
  r.series.clear();
  output::write_results(root_ / "out", make_spec(), r, "1");
  EXPECT_NE(slurp(root_ / "out" / "results.csv").find(",total,4242\n"), std::string::npos);
  EXPECT_FALSE(fs::exists(root_ / "out" / "series.csv")) << "stale file of the earlier run";
  EXPECT_EQ(entries(), std::vector<std::string>{"out"});
}

TEST_F(OutputTest, FillsAnEmptyDirectoryAndCreatesParents) {
  fs::create_directory(root_ / "empty");
  output::write_results(root_ / "empty", make_spec(), make_result(), "1");
  EXPECT_TRUE(fs::exists(root_ / "empty" / "results.csv"));
  output::write_results(root_ / "a" / "b" / "c/", make_spec(), make_result(), "1");
  EXPECT_TRUE(fs::exists(root_ / "a" / "b" / "c" / "results.csv"));
  EXPECT_EQ(entries(), (std::vector<std::string>{"a", "empty"}));
}

TEST_F(OutputTest, RefusesADirectoryItDidNotWrite) {
  fs::create_directory(root_ / "mine");
  std::ofstream(root_ / "mine" / "notes.txt") << "precious";
  try {
    output::write_results(root_ / "mine", make_spec(), make_result(), "1");
    FAIL() << "expected dsim::Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::kInput);
    EXPECT_NE(std::string(e.what()).find("mine"), std::string::npos) << e.what();
  }
  EXPECT_EQ(slurp(root_ / "mine" / "notes.txt"), "precious");
  EXPECT_EQ(entries(), std::vector<std::string>{"mine"});
}

TEST_F(OutputTest, RefusesAResultDirectoryWithForeignFiles) {
  output::write_results(root_ / "out", make_spec(), make_result(), "1");
  std::ofstream(root_ / "out" / "analysis.ipynb") << "{}";
  EXPECT_THROW(output::write_results(root_ / "out", make_spec(), make_result(), "1"), Error);
  EXPECT_TRUE(fs::exists(root_ / "out" / "analysis.ipynb"));
  EXPECT_TRUE(fs::exists(root_ / "out" / "results.csv"));
}

TEST_F(OutputTest, RefusesAForeignManifestAndAFile) {
  fs::create_directory(root_ / "web");
  std::ofstream(root_ / "web" / "manifest.json") << R"({"name": "my web app"})";
  EXPECT_THROW(output::write_results(root_ / "web", make_spec(), make_result(), "1"), Error);
  EXPECT_TRUE(fs::exists(root_ / "web" / "manifest.json"));
  std::ofstream(root_ / "file") << "x";
  EXPECT_THROW(output::write_results(root_ / "file", make_spec(), make_result(), "1"), Error);
}

TEST_F(OutputTest, UnwritableParentLeavesNoDirectory) {
  // A regular file as the parent fails even for root, unlike permission bits.
  std::ofstream(root_ / "blocker") << "x";
  try {
    output::write_results(root_ / "blocker" / "out", make_spec(), make_result(), "1");
    FAIL() << "expected dsim::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("blocker"), std::string::npos) << e.what();
  }
  EXPECT_EQ(entries(), std::vector<std::string>{"blocker"});
}

TEST_F(OutputTest, CheckOutputDirectoryRefusesWhatWriteWouldRefuse) {
  EXPECT_NO_THROW(output::check_output_directory(root_ / "new" / "deeper"));
  fs::create_directory(root_ / "empty");
  EXPECT_NO_THROW(output::check_output_directory(root_ / "empty"));
  output::write_results(root_ / "previous", make_spec(), make_result(), "1");
  EXPECT_NO_THROW(output::check_output_directory(root_ / "previous"));

  fs::create_directory(root_ / "mine");
  std::ofstream(root_ / "mine" / "notes.txt") << "precious";
  EXPECT_THROW(output::check_output_directory(root_ / "mine"), Error);
  std::ofstream(root_ / "blocker") << "x";
  EXPECT_THROW(output::check_output_directory(root_ / "blocker"), Error);
  try {
    output::check_output_directory(root_ / "blocker" / "a" / "b");
    FAIL() << "expected dsim::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("is not a directory"), std::string::npos) << e.what();
  }
  EXPECT_EQ(entries(), (std::vector<std::string>{"blocker", "empty", "mine", "previous"}));
}

// /proc and /sys pass a permission check (root passes them all), yet refuse
// new directories: the check tries to create one, so a run is refused before
// it starts, as bad input naming the path as given (not a temporary one), and
// leaves no probe behind.
TEST_F(OutputTest, CheckOutputDirectoryTriesCreatingADirectory) {
  if (::mkdir("/proc/dsim_output_test", 0700) == 0) {
    ::rmdir("/proc/dsim_output_test");
    GTEST_SKIP() << "/proc accepts new directories here";
  }
  for (const std::string dir : {"/proc/dsim_out", "/proc/dsim_out/deeper"}) {
    try {
      output::check_output_directory(dir);
      FAIL() << "expected dsim::Error for " << dir;
    } catch (const Error& e) {
      const std::string message = e.what();
      EXPECT_EQ(e.kind(), Error::Kind::kInput) << message;
      EXPECT_EQ(message.rfind("cannot create output directory '" + dir + "': ", 0), 0u) << message;
      EXPECT_EQ(message.find(".tmp-"), std::string::npos) << message;
    }
  }
  output::check_output_directory(root_ / "fine");
  EXPECT_TRUE(entries().empty());  // the probe is gone
}

// A path the system would refuse (ENAMETOOLONG) is bad input, refused before
// anything is written, with the path cut to a readable length.
TEST_F(OutputTest, TooLongPathIsBadInput) {
  std::string deep = root_.string();
  while (deep.size() <= PATH_MAX) deep += "/" + std::string(200, 'd');
  const std::vector<std::pair<fs::path, std::string>> cases = {
      {root_ / std::string(5000, 'x'), "is too long (5000 bytes, at most 239)"},
      {root_ / std::string(300, 'm') / "out", "is too long (300 bytes, at most 255)"},
      // Fits NAME_MAX, but leaves no room for the ".tmp-<pid>" sibling.
      {root_ / std::string(250, 'y'), "is too long (250 bytes, at most 239)"},
      {deep, "the path is too long ("},
  };
  for (const auto& [dir, expected] : cases) {
    for (int write = 0; write < 2; ++write) {
      try {
        if (write)
          output::write_results(dir, make_spec(), make_result(), "1");
        else
          output::check_output_directory(dir);
        FAIL() << "expected dsim::Error";
      } catch (const Error& e) {
        const std::string message = e.what();
        EXPECT_EQ(e.kind(), Error::Kind::kInput) << message;
        EXPECT_NE(message.find(expected), std::string::npos) << message;
        EXPECT_NE(message.find(root_.string()), std::string::npos) << message;
        EXPECT_LT(message.size(), 500u) << message;
        EXPECT_EQ(message.find('\n'), std::string::npos) << message;
      }
    }
  }
  EXPECT_TRUE(entries().empty());
  // The longest name that is allowed works.
  const fs::path longest = root_ / std::string(NAME_MAX - 16, 'z');
  EXPECT_NO_THROW(output::check_output_directory(longest));
  output::write_results(longest, make_spec(), make_result(), "1");
  EXPECT_TRUE(fs::exists(longest / "manifest.json"));
}

// A full disk, simulated with the file size limit: the write fails half way,
// and neither the result directory nor the temporary one is left behind.
TEST_F(OutputTest, FailedWriteLeavesNoPartialResult) {
  RunResult r = make_result();
  for (int i = 0; i < 2000; ++i)
    r.stats.push_back({"g", "s" + std::to_string(i), StatKind::kCounter, {{"total", i * 0.1}}});
  output::write_results(root_ / "previous", make_spec(), make_result(), "1");
  const std::string previous = slurp(root_ / "previous" / "results.csv");

  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
  auto old_handler = ::signal(SIGXFSZ, SIG_IGN);
  rlimit small = old;
  small.rlim_cur = 4096;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  bool threw_kind_runtime = false;
  std::string message;
  try {
    output::write_results(root_ / "out", make_spec(), r, "1");
  } catch (const Error& e) {
    threw_kind_runtime = e.kind() == Error::Kind::kRuntime;
    message = e.what();
  }
  try {
    output::write_results(root_ / "previous", make_spec(), r, "1");
  } catch (const Error&) {
  }
  ::setrlimit(RLIMIT_FSIZE, &old);
  ::signal(SIGXFSZ, old_handler);

  EXPECT_TRUE(threw_kind_runtime) << message;
  // The file as the user will look for it, not its temporary place.
  const fs::path file = root_ / "out" / "results.csv";
  EXPECT_NE(message.find(file.native()), std::string::npos) << message;
  EXPECT_EQ(message.find(".tmp-"), std::string::npos) << message;
  EXPECT_EQ(entries(), std::vector<std::string>{"previous"});
  EXPECT_EQ(slurp(root_ / "previous" / "results.csv"), previous);
}

TEST_F(OutputTest, InconsistentSeriesFailsBeforeTouchingDisk) {
  RunResult r = make_result();
  r.series[0].values.pop_back();
  EXPECT_THROW(output::write_results(root_ / "out", make_spec(), r, "1"), Error);
  EXPECT_TRUE(entries().empty());
}

TEST(SummaryTableTest, AlignsRowsAndEndsWithFiguresAndSyncReason) {
  const std::string table = output::summary_table(make_result());
  std::vector<std::string> lines;
  std::istringstream in(table);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_GE(lines.size(), 6u);
  // Header + 4 statistics, all with the kind column at the same offset.
  const auto kind_col = lines[0].find("kind");
  ASSERT_NE(kind_col, std::string::npos);
  EXPECT_EQ(lines[1].find("counter"), kind_col);
  EXPECT_EQ(lines[2].find("tally"), kind_col);
  EXPECT_EQ(lines[3].find("gauge"), kind_col);
  EXPECT_EQ(lines[4].find("histogram"), kind_col);
  EXPECT_NE(lines[1].find("total=9987"), std::string::npos) << lines[1];
  EXPECT_NE(lines[2].find("mean=0.333333"), std::string::npos) << lines[2];
  ASSERT_EQ(lines.back(), "sync: all links have lookahead");
  const std::string& figures = lines[lines.size() - 2];
  EXPECT_NE(figures.find("events 123456"), std::string::npos) << figures;
  EXPECT_NE(figures.find("2.5M events/s"), std::string::npos) << figures;
  EXPECT_NE(figures.find("12.0 MiB"), std::string::npos) << figures;
  EXPECT_NE(figures.find("conservative"), std::string::npos) << figures;
  EXPECT_NE(figures.find("threads 2"), std::string::npos) << figures;
  EXPECT_EQ(table.find("optimistic"), std::string::npos) << table;
  EXPECT_EQ(table.find("rollback check"), std::string::npos) << table;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(SummaryTableTest, OptimisticRunAddsALineOnSpeculation) {
  const std::vector<std::string> lines = lines_of(output::summary_table(make_optimistic_result()));
  ASSERT_GE(lines.size(), 3u);
  EXPECT_EQ(lines[lines.size() - 2], "sync: a link has zero lookahead");
  EXPECT_EQ(lines.back(),
            "optimistic: 250k rolled back (20.0%), efficiency 80.0%, 512 primary / 40 secondary "
            "rollbacks, 88 GVT rounds, peak saved state 12.3 MiB of 4 GiB limit, throttled in 3 "
            "GVT rounds, state saving (hosts: every_event)");

  RunResult quiet = make_optimistic_result();
  quiet.figures.throttled_rounds = 0;
  quiet.figures.state_saving.clear();
  quiet.figures.memory_limit = 0;
  EXPECT_EQ(lines_of(output::summary_table(quiet)).back(),
            "optimistic: 250k rolled back (20.0%), efficiency 80.0%, 512 primary / 40 secondary "
            "rollbacks, 88 GVT rounds, peak saved state 12.3 MiB");
  // Nothing executed: no division by zero.
  RunResult empty = make_optimistic_result();
  empty.figures.events_executed = 0;
  empty.figures.events_rolled_back = 0;
  empty.figures.efficiency = 1;
  EXPECT_NE(lines_of(output::summary_table(empty)).back().find("0 rolled back (0.0%)"),
            std::string::npos);
}

TEST_F(OutputTest, ManifestHoldsRanksAndRankCut) {
  RunResult r = make_result();
  r.figures.ranks = 2;
  r.figures.threads = 1;
  r.figures.edge_cut = 40;
  r.figures.rank_edge_cut = 40;
  r.figures.partitions[1].rank = 1;
  output::write_results(root_ / "out", make_spec(), r, "1");
  const auto m = nlohmann::json::parse(slurp(root_ / "out" / "manifest.json"));
  const auto& run = m["run"];
  EXPECT_EQ(run["ranks"], 2);
  EXPECT_EQ(run["rank_edge_cut"], 40);
  EXPECT_EQ(run["partitions"][0]["rank"], 0);
  EXPECT_EQ(run["partitions"][1]["rank"], 1);
}

TEST(SummaryTableTest, MpiRunShowsRanksAndRankCut) {
  RunResult r = make_result();
  EXPECT_EQ(output::summary_table(r).find("ranks"), std::string::npos);
  r.figures.ranks = 4;
  r.figures.edge_cut = 1024;
  r.figures.rank_edge_cut = 256;
  const std::vector<std::string> lines = lines_of(output::summary_table(r));
  ASSERT_GE(lines.size(), 2u);
  const std::string& figures = lines[lines.size() - 2];
  EXPECT_NE(figures.find("threads 2 | ranks 4 | rank cut 256 (edge cut 1024)"), std::string::npos)
      << figures;
}

TEST(SummaryTableTest, RollbackCheckSaysHowManyEventsWereCompared) {
  RunResult r = make_result();
  r.figures.sync = "sequential";
  r.figures.rollback_checks = 123456;
  EXPECT_EQ(lines_of(output::summary_table(r)).back(),
            "rollback check: 123456 events executed twice and compared, all equal");
}

TEST(ByteSizeTest, BinaryUnitsForPeople) {
  EXPECT_EQ(output::byte_size(0), "0 B");
  EXPECT_EQ(output::byte_size(1023), "1023 B");
  EXPECT_EQ(output::byte_size(1024), "1 KiB");
  EXPECT_EQ(output::byte_size(1536), "1.5 KiB");
  EXPECT_EQ(output::byte_size(512ull << 20), "512 MiB");
  EXPECT_EQ(output::byte_size(2ull << 30), "2 GiB");
  EXPECT_EQ(output::byte_size(3ull << 29), "1.5 GiB");
  EXPECT_EQ(output::byte_size(12'897'485), "12.3 MiB");
  EXPECT_EQ(output::byte_size(5ull << 40), "5 TiB");
  EXPECT_EQ(output::byte_size(5ull << 50), "5120 TiB");
}

// ---- the progress line (src/cli/progress.cpp) ------------------------------

Progress progress_at(double now, std::uint32_t threads) {
  Progress p;
  p.now = now;
  p.end_time = 1000;
  p.events = 1'000'000;
  p.wall_seconds = 2;
  p.threads = threads;
  p.blocked_share = 0.25;
  return p;
}

TEST(ProgressTest, PlainRunShowsNoEfficiency) {
  const std::string line = cli::render_progress(progress_at(500, 1), 100);
  EXPECT_NE(line.find(" 50.0%  t=500/1000  500k events/s  ETA 0:02"), std::string::npos) << line;
  EXPECT_EQ(line.find("eff"), std::string::npos) << line;
  EXPECT_EQ(line.find("threads"), std::string::npos) << line;
  EXPECT_EQ(line.front(), '[') << line;
  EXPECT_LE(line.size(), 100u);
}

TEST(ProgressTest, OptimisticRunShowsEfficiencyBeforeThreads) {
  Progress p = progress_at(500, 4);
  p.rolled_back = 1234;
  p.efficiency = 0.991;
  const std::string line = cli::render_progress(p, 140);
  EXPECT_NE(line.find("ETA 0:02  eff 99.1%  4 threads, 25% blocked"), std::string::npos) << line;
  EXPECT_EQ(line.front(), '[') << line;
  EXPECT_LE(line.size(), 140u);

  // Shown as soon as anything was rolled back, even at 100% (rounded).
  p.efficiency = 0.99999;
  EXPECT_NE(cli::render_progress(p, 140).find("eff 100.0%"), std::string::npos);
  p.rolled_back = 0;
  p.efficiency = 1;
  EXPECT_EQ(cli::render_progress(p, 140).find("eff"), std::string::npos);
  p.efficiency = NAN;  // not a number: nothing to show, and no crash
  EXPECT_EQ(cli::render_progress(p, 140).find("eff"), std::string::npos);
  p.rolled_back = 5;
  EXPECT_NE(cli::render_progress(p, 140).find("eff --"), std::string::npos);
}

TEST(ProgressTest, EveryWidthFitsAndTheBarNeverJitters) {
  Progress p = progress_at(250, 2);
  p.rolled_back = 10;
  p.efficiency = 0.5;
  for (std::size_t width = 1; width <= 200; ++width) {
    const std::string line = cli::render_progress(p, width);
    EXPECT_LE(line.size(), width);
    for (char c : line) EXPECT_TRUE(c >= ' ' && c <= '~') << "width " << width << ": " << line;
    // The bar's size depends on the width, not on the numbers' lengths.
    Progress q = p;
    q.now = 999.5;
    q.events = 3;
    q.efficiency = 0.123;
    const std::string other = cli::render_progress(q, width);
    EXPECT_EQ(line.find(']'), other.find(']')) << width;
  }
  // On a narrow line the figures after the ETA go whole, least useful first.
  const std::string narrow = cli::render_progress(p, 70);
  EXPECT_EQ(narrow.find('['), std::string::npos) << narrow;
  EXPECT_NE(narrow.find("ETA 0:06  eff 50.0%"), std::string::npos) << narrow;
  EXPECT_EQ(narrow.find("threads"), std::string::npos) << narrow;
  EXPECT_EQ(narrow.back(), '%') << narrow;
  // Room for the bar: the tail fits next to it on a wide terminal.
  const std::string wide = cli::render_progress(p, 200);
  EXPECT_NE(wide.find("2 threads, 25% blocked"), std::string::npos) << wide;
  EXPECT_NE(wide.find("[#######"), std::string::npos) << wide;
}

TEST(RenderProgress, OptimisticFiguresWhenThereIsRoom) {
  Progress p = progress_at(500, 2);
  p.rolled_back = 12345;
  p.efficiency = 0.99;
  p.rollbacks = 678;
  p.gvt_rounds = 90;
  p.saved_bytes = 3 << 20;
  const std::string wide = cli::render_progress(p, 240);
  EXPECT_NE(wide.find("12.3k rolled back in 678 rollbacks, 90 GVT rounds, 3.15MB saved"),
            std::string::npos)
      << wide;
  const std::string narrow = cli::render_progress(p, 100);
  EXPECT_EQ(narrow.find("GVT"), std::string::npos) << narrow;
  EXPECT_LE(narrow.size(), 100u);
}

}  // namespace
}  // namespace dsim

namespace dsim {
namespace {

// --- Faults injected through the FileSystem seam ---------------------------

namespace faults {

// The real file system, with one fault armed: a full disk when writing the
// file named `full` (after half of it is written), or an error on rename /
// exchange.
class Faulty final : public dsim::FileSystem {
 public:
  std::string full;       // file name whose write fails with ENOSPC
  int exchange_error = 0;  // returned by exchange() when non-zero
  int rename_error = 0;    // returned by the next rename onto `target`, once
  fs::path target;         // what rename_error applies to (as the destination)

  int write_file(const fs::path& path, std::string_view content) override {
    if (path.filename() == full) {
      local().write_file(path, content.substr(0, content.size() / 2));
      return ENOSPC;
    }
    return local().write_file(path, content);
  }
  int sync_directory(const fs::path& path) override { return local().sync_directory(path); }
  int create_directory(const fs::path& path) override { return local().create_directory(path); }
  int create_directories(const fs::path& path) override {
    return local().create_directories(path);
  }
  int remove_all(const fs::path& path) override { return local().remove_all(path); }
  int rename(const fs::path& from, const fs::path& to) override {
    if (rename_error != 0 && to == target) return std::exchange(rename_error, 0);
    return local().rename(from, to);
  }
  int exchange(const fs::path& a, const fs::path& b) override {
    return exchange_error != 0 ? exchange_error : local().exchange(a, b);
  }
};

}  // namespace faults

TEST_F(OutputTest, FullDiskThroughTheSeamLeavesNothingAndNamesTheFile) {
  faults::Faulty files;
  files.full = "results.json";
  try {
    output::write_results(root_ / "out", make_spec(), make_result(), "1", files);
    FAIL() << "wrote on a full disk";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::kRuntime);
    EXPECT_EQ(std::string(e.what()),
              "cannot write '" + (root_ / "out" / "results.json").string() +
                  "': No space left on device");
  }
  EXPECT_TRUE(entries().empty());
}

TEST_F(OutputTest, FullDiskKeepsThePreviousResult) {
  output::write_results(root_ / "out", make_spec(), make_result(), "1");
  const std::string before = slurp(root_ / "out" / "manifest.json");
  faults::Faulty files;
  files.full = "manifest.json";
  EXPECT_THROW(output::write_results(root_ / "out", make_spec(), make_result(), "2", files), Error);
  EXPECT_EQ(entries(), std::vector<std::string>{"out"});
  EXPECT_EQ(slurp(root_ / "out" / "manifest.json"), before);
}

TEST_F(OutputTest, FailingExchangeKeepsThePreviousResult) {
  output::write_results(root_ / "out", make_spec(), make_result(), "1");
  const std::string before = slurp(root_ / "out" / "manifest.json");
  faults::Faulty files;
  files.exchange_error = EIO;
  try {
    output::write_results(root_ / "out", make_spec(), make_result(), "2", files);
    FAIL() << "replaced despite the failure";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot replace '" + (root_ / "out").string()),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(entries(), std::vector<std::string>{"out"});
  EXPECT_EQ(slurp(root_ / "out" / "manifest.json"), before);
}

// A file system that cannot exchange: the old result moves aside, and when
// the new one cannot take its place, the old one comes back.
TEST_F(OutputTest, FailingRenameAfterMovingAsideRestoresThePreviousResult) {
  output::write_results(root_ / "out", make_spec(), make_result(), "1");
  const std::string before = slurp(root_ / "out" / "manifest.json");
  faults::Faulty files;
  files.exchange_error = EINVAL;
  files.rename_error = EIO;
  files.target = root_ / "out";
  files.full = "";  // no full disk
  EXPECT_THROW(output::write_results(root_ / "out", make_spec(), make_result(), "2", files), Error);
  EXPECT_EQ(entries(), std::vector<std::string>{"out"});
  EXPECT_EQ(slurp(root_ / "out" / "manifest.json"), before);
  // Without the fault the same path replaces it.
  output::write_results(root_ / "out", make_spec(), make_result(), "2", files);
  EXPECT_NE(slurp(root_ / "out" / "manifest.json"), before);
  EXPECT_EQ(entries(), std::vector<std::string>{"out"});
}

}  // namespace
}  // namespace dsim
