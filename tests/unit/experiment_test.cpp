// Experiments (include/dsim/experiment.hpp): factors, designs, seeds, the t
// quantile, replications against queueing formulas, the stopping rule, and
// the result files: the same bits with any number of workers, after a stop
// and a resume, with a journal cut short, and with failed runs retried. Bad
// input is named before any run.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "dsim/dsim.hpp"
#include "dsim/experiment.hpp"
#include "dsim/reference_models.hpp"

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

const std::string kModels = std::string(DSIM_SOURCE_DIR) + "/models/queueing/";

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() /
           ("dsim_experiment_" + std::to_string(::getpid()) + "_" + std::to_string(counter()++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  static int& counter() {
    static int n = 0;
    return n;
  }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name) << text;
    return (path / name).string();
  }
};

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// What must be the same bit for bit: the four result files, and the manifest
// without its timing.
std::map<std::string, std::string> results(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const char* name : {"runs.csv", "summary.csv", "runs.json", "summary.json"})
    out[name] = read(dir / name);
  json manifest = json::parse(read(dir / "manifest.json"));
  manifest.erase("timing");
  out["manifest.json"] = manifest.dump();
  return out;
}

dsim::Registry& registry() {
  static dsim::Registry* r = [] {
    auto* reg = new dsim::Registry;
    dsim::register_builtins(*reg);
    dsim::register_reference_models(*reg);
    reg->load_plugin(DSIM_TEST_PLUGIN);
    return reg;
  }();
  return *r;
}

const dsim::FieldSummary& field(const dsim::PointSummary& p, const std::string& group,
                                const std::string& stat, const std::string& name) {
  for (const auto& f : p.fields)
    if (f.group == group && f.stat == stat && f.field == name) return f;
  throw std::runtime_error("no field " + group + "." + stat + "." + name);
}

// Erlang C: the mean wait in queue of an M/M/c.
double erlang_c_wait(double lambda, double mu, int c) {
  const double a = lambda / mu, rho = a / c;
  double sum = 0, term = 1;
  for (int k = 0; k < c; ++k) {
    if (k > 0) term *= a / k;
    sum += term;
  }
  const double last = term * a / c / (1 - rho);  // a^c / c! / (1 - rho)
  const double p_wait = last / (sum + last);
  return p_wait / (c * mu - lambda);
}

dsim::Experiment mm1(std::uint32_t replications) {
  dsim::Experiment e;
  e.model = kModels + "mm1.toml";
  e.overrides = {"simulation.end_time=2000"};
  e.replications = replications;
  return e;
}

}  // namespace

TEST(StudentT, KnownQuantiles) {
  EXPECT_NEAR(dsim::student_t_quantile(0.95, 1), 12.7062047, 1e-6);
  EXPECT_NEAR(dsim::student_t_quantile(0.95, 10), 2.2281389, 1e-6);
  EXPECT_NEAR(dsim::student_t_quantile(0.99, 5), 4.0321430, 1e-6);
  EXPECT_NEAR(dsim::student_t_quantile(0.90, 30), 1.6972609, 1e-6);
  EXPECT_NEAR(dsim::student_t_quantile(0.95, 0), 1.9599640, 1e-6);
  EXPECT_NEAR(dsim::student_t_quantile(0.95, 1000), 1.9623391, 1e-6);
  EXPECT_TRUE(std::isnan(dsim::student_t_quantile(1.5, 3)));
}

TEST(Vary, ListsAndRanges) {
  auto f = dsim::parse_vary("entities.queue.params.servers=1,2, 3");
  EXPECT_EQ(f.key, "entities.queue.params.servers");
  EXPECT_EQ(f.values, (std::vector<std::string>{"1", "2", "3"}));
  f = dsim::parse_vary("entities.arrivals.params.interarrival=exp(mean=2),\"exp(rate=1)\"");
  EXPECT_EQ(f.values, (std::vector<std::string>{"\"exp(mean=2)\"", "\"exp(rate=1)\""}));
  f = dsim::parse_vary("simulation.end_time=1000:3000:1000");
  EXPECT_EQ(f.values, (std::vector<std::string>{"1000", "2000", "3000"}));
  f = dsim::parse_vary("x=0.5:1:0.25");
  EXPECT_EQ(f.values, (std::vector<std::string>{"0.5", "0.75", "1.0"}));
  f = dsim::parse_vary("x=1.5,true");
  EXPECT_EQ(f.values, (std::vector<std::string>{"1.5", "true"}));
}

TEST(Vary, BadTextIsNamed) {
  for (const char* bad : {"novalues=", "=1,2", "x", "x=1,,2", "x=3:1:1", "x=a:b:c"}) {
    try {
      dsim::parse_vary(bad);
      ADD_FAILURE() << bad << " was accepted";
    } catch (const dsim::Error& e) {
      EXPECT_NE(std::string(e.what()).find("--vary"), std::string::npos) << e.what();
      EXPECT_EQ(e.kind(), dsim::Error::Kind::kInput);
    }
  }
  EXPECT_THROW(dsim::parse_precision("queue.wait.mean"), dsim::Error);
  EXPECT_THROW(dsim::parse_precision("queue=0.1"), dsim::Error);
  EXPECT_THROW(dsim::parse_precision("queue.wait.mean=-1"), dsim::Error);
  const auto p = dsim::parse_precision("queue.wait=0.05");
  EXPECT_EQ(p.field, "mean");
  EXPECT_EQ(p.relative, 0.05);
}

TEST(ExperimentFile, ReadsFactorsAndSettings) {
  TempDir d;
  const std::string file = d.write("e.toml", R"toml(
[experiment]
model = "models/mmc.toml"
precision = { stat = "queue.wait.mean", relative = 0.02 }
confidence = 0.9
min_replications = 4
max_replications = 40
common_random_numbers = false
seed = 77
set = ["simulation.end_time=100"]
output = "out"

[factors]
"entities.queue.params.servers" = [2, 3]
simulation.end_time = { linspace = [10, 20, 3] }
[factors.entities.arrivals.params]
interarrival = ["exp(rate=1)", "exp(rate=2)"]
)toml");
  const dsim::Experiment e = dsim::load_experiment(file);
  EXPECT_EQ(e.model, (d.path / "models/mmc.toml").string());
  EXPECT_EQ(e.output, (d.path / "out").string());
  ASSERT_TRUE(e.precision);
  EXPECT_EQ(e.precision->group, "queue");
  EXPECT_EQ(e.precision->relative, 0.02);
  EXPECT_EQ(e.confidence, 0.9);
  EXPECT_EQ(e.min_replications, 4u);
  EXPECT_EQ(e.max_replications, 40u);
  EXPECT_FALSE(e.common_random_numbers);
  EXPECT_EQ(e.seed, 77u);
  EXPECT_EQ(e.overrides, std::vector<std::string>{"simulation.end_time=100"});
  ASSERT_EQ(e.factors.size(), 3u);
  // In the file's order.
  EXPECT_EQ(e.factors[0].key, "entities.queue.params.servers");
  EXPECT_EQ(e.factors[1].key, "simulation.end_time");
  EXPECT_EQ(e.factors[2].key, "entities.arrivals.params.interarrival");
  std::map<std::string, std::vector<std::string>> by_key;
  for (const auto& f : e.factors) by_key[f.key] = f.values;
  EXPECT_EQ(by_key["entities.queue.params.servers"], (std::vector<std::string>{"2", "3"}));
  EXPECT_EQ(by_key["simulation.end_time"], (std::vector<std::string>{"10.0", "15.0", "20.0"}));
  EXPECT_EQ(by_key["entities.arrivals.params.interarrival"],
            (std::vector<std::string>{"\"exp(rate=1)\"", "\"exp(rate=2)\""}));
  EXPECT_TRUE(dsim::is_experiment_file(file));
  EXPECT_FALSE(dsim::is_experiment_file(kModels + "mm1.toml"));
}

TEST(ExperimentFile, BadInputNamesFileAndKey) {
  TempDir d;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"[experiment]\nmodel = \"m.toml\"\nreplicatons = 3\n", "experiment.replicatons"},
      {"[experiment]\nreplications = 3\n", "experiment.model"},
      {"[experiment]\nmodel = \"m.toml\"\n[factors]\nx = []\n", "empty list"},
      {"[experiment]\nmodel = \"m.toml\"\n[factors]\nx = { from = 3, to = 1, step = 1 }\n",
       "empty range"},
      {"[experiment]\nmodel = \"m.toml\"\n[factors]\nx = { linspace = [1, 2, 0] }\n",
       "empty range"},
      {"[experiment]\nmodel = \"m.toml\"\n[factors]\nx = { from = 1, too = 2 }\n", "'too'"},
      {"[experiment]\nmodel = \"m.toml\"\n[factors]\nx = 3\n", "factors.\"x\""},
      {"[experiment]\nmodel = \"m.toml\"\nreplications = 3\nprecision = { stat = \"q.w.mean\", "
       "relative = 0.1 }\n",
       "not both"},
      {"[experiment]\nmodel = \"m.toml\"\ndesign = \"lhs\"\n", "point count"},
      {"[experiment]\nmodel = \"m.toml\"\ndesign = \"grid\"\n", "experiment.design"},
      {"[experiment]\nmodel = \"m.toml\"\nconfidence = 1.5\n", "experiment.confidence"},
      {"[experiment]\nmodel = \"m.toml\"\nreplications = 0\n", "experiment.replications"},
      {"[experiment]\nmodel = \"m.toml\"\n[other]\n", "'other'"},
      {"[experiment\nmodel = 1\n", "e.toml:"},
  };
  for (const auto& [text, expected] : cases) {
    const std::string file = d.write("e.toml", text);
    try {
      dsim::load_experiment(file);
      ADD_FAILURE() << "accepted: " << text;
    } catch (const dsim::Error& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find(file), std::string::npos) << message;
      EXPECT_NE(message.find(expected), std::string::npos) << message;
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    }
  }
}

TEST(Design, FactorialOrderFirstFactorOutermost) {
  dsim::Experiment e;
  e.factors = {dsim::parse_vary("a=1,2"), dsim::parse_vary("b=x,y,z")};
  const auto points = dsim::design_points(e);
  ASSERT_EQ(points.size(), 6u);
  EXPECT_EQ(points[0].labels, (std::vector<std::string>{"1", "x"}));
  EXPECT_EQ(points[1].labels, (std::vector<std::string>{"1", "y"}));
  EXPECT_EQ(points[3].labels, (std::vector<std::string>{"2", "x"}));
  EXPECT_EQ(points[5].values, (std::vector<std::string>{"2", "\"z\""}));
  dsim::Experiment none;
  EXPECT_EQ(dsim::design_points(none).size(), 1u);  // no factors: one point
}

TEST(Design, LatinHypercubeHasOnePointPerStratum) {
  TempDir d;
  const std::string file = d.write("e.toml", R"toml(
[experiment]
model = "m.toml"
design = "lhs"
points = 10
design_seed = 3
[factors]
x = { from = 0.0, to = 1.0 }
y = { logspace = [1, 1000, 4] }
n = { from = 1, to = 10 }
)toml");
  const dsim::Experiment e = dsim::load_experiment(file);
  const auto points = dsim::design_points(e);
  ASSERT_EQ(points.size(), 10u);
  std::set<int> x_strata, y_strata, n_values;
  for (const auto& p : points) {
    const double x = std::stod(p.values[0]);
    const double y = std::stod(p.values[1]);
    x_strata.insert(static_cast<int>(x * 10));
    y_strata.insert(static_cast<int>(std::log10(y) / 3 * 10));  // log-uniform strata
    n_values.insert(std::stoi(p.values[2]));
    EXPECT_EQ(p.values[2].find('.'), std::string::npos) << "an integer range gave " << p.values[2];
  }
  EXPECT_EQ(x_strata.size(), 10u);
  EXPECT_EQ(y_strata.size(), 10u);
  EXPECT_EQ(n_values.size(), 10u);  // 10 integers in 10 strata: each once
  // The same design every time; another seed, another design.
  EXPECT_EQ(dsim::design_points(e)[4].values, points[4].values);
  dsim::Experiment other = e;
  other.design_seed = 4;
  EXPECT_NE(dsim::design_points(other)[0].values, points[0].values);
  other.design = "random";
  EXPECT_EQ(dsim::design_points(other).size(), 10u);
  // A factorial design cannot use a range without a step.
  dsim::Experiment factorial = e;
  factorial.design = "factorial";
  EXPECT_THROW(dsim::design_points(factorial), dsim::Error);
}

TEST(Seeds, CommonRandomNumbersUnlessTold) {
  dsim::Experiment e;
  std::set<std::uint64_t> seeds;
  for (std::uint32_t r = 0; r < 100; ++r) seeds.insert(dsim::run_seed(e, 1, 0, r));
  EXPECT_EQ(seeds.size(), 100u);
  EXPECT_EQ(dsim::run_seed(e, 1, 0, 7), dsim::run_seed(e, 1, 5, 7));
  EXPECT_NE(dsim::run_seed(e, 1, 0, 7), dsim::run_seed(e, 2, 0, 7));
  e.common_random_numbers = false;
  EXPECT_NE(dsim::run_seed(e, 1, 0, 7), dsim::run_seed(e, 1, 5, 7));
  EXPECT_LT(dsim::run_seed(e, 1, 3, 9), std::uint64_t{1} << 63);
}

TEST(Experiment, MM1IntervalsContainTheAnalyticValues) {
  TempDir d;
  dsim::Experiment e = mm1(20);
  e.overrides = {"simulation.end_time=20000"};
  dsim::ExperimentOptions o;
  o.output = d.path / "out";
  o.workers = 2;
  const auto r = dsim::run_experiment(e, registry(), o);
  ASSERT_EQ(r.points.size(), 1u);
  EXPECT_EQ(r.runs, 20u);
  const auto& p = r.points[0];
  EXPECT_EQ(p.replications, 20u);
  EXPECT_EQ(p.stopped, "replications");
  for (const auto& [stat, fieldname, exact] :
       std::vector<std::tuple<std::string, std::string, double>>{
           {"wait", "mean", 1.0}, {"sojourn", "mean", 2.0}, {"queue_length", "mean", 0.5},
           {"busy_servers", "mean", 0.5}}) {
    const auto& f = field(p, "queue", stat, fieldname);
    EXPECT_EQ(f.n, 20u);
    EXPECT_LE(f.ci_low, exact) << stat;
    EXPECT_GE(f.ci_high, exact) << stat;
    EXPECT_LT(f.half_width, 0.1 * exact) << stat;
  }
}

TEST(Experiment, MMcSweepAgainstErlangC) {
  TempDir d;
  dsim::Experiment e;
  e.model = kModels + "mmc.toml";
  e.overrides = {"simulation.end_time=20000"};
  e.factors = {dsim::parse_vary("entities.queue.params.servers=3,4,5")};
  e.replications = 20;
  dsim::ExperimentOptions o;
  o.output = d.path / "out";
  const auto r = dsim::run_experiment(e, registry(), o);
  ASSERT_EQ(r.points.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    const int c = 3 + i;
    EXPECT_EQ(r.points[i].design.labels[0], std::to_string(c));
    const auto& f = field(r.points[i], "queue", "wait", "mean");
    const double exact = erlang_c_wait(2.1, 1.0, c);
    EXPECT_LE(f.ci_low, exact) << c << " servers: Erlang C " << exact;
    EXPECT_GE(f.ci_high, exact) << c << " servers: Erlang C " << exact;
  }
  EXPECT_NEAR(erlang_c_wait(2.1, 1.0, 3), 0.54705, 1e-4);  // the model file's figure
}

TEST(Experiment, MMcKAgainstTheFormula) {
  TempDir d;
  dsim::Experiment e;
  e.model = kModels + "mmck.toml";
  e.overrides = {"simulation.end_time=20000"};
  e.replications = 20;
  dsim::ExperimentOptions o;
  o.output = d.path / "out";
  const auto r = dsim::run_experiment(e, registry(), o);
  const auto& p = r.points[0];
  for (const auto& [stat, exact] : std::vector<std::pair<std::string, double>>{
           {"wait", 2.0 / 3.0}, {"queue_length", 12.0 / 11.0}, {"busy_servers", 18.0 / 11.0}}) {
    const auto& f = field(p, "queue", stat, "mean");
    EXPECT_LE(f.ci_low, exact) << stat;
    EXPECT_GE(f.ci_high, exact) << stat;
  }
}

TEST(Experiment, StoppingRuleReachesItsPrecision) {
  TempDir d;
  dsim::Experiment e = mm1(0);
  e.factors = {dsim::parse_vary("entities.arrivals.params.interarrival=exp(mean=2),exp(mean=1.25)")};
  e.precision = dsim::parse_precision("queue.wait.mean=0.05");
  e.min_replications = 5;
  e.max_replications = 400;
  dsim::ExperimentOptions o;
  o.output = d.path / "out";
  o.workers = 3;
  const auto r = dsim::run_experiment(e, registry(), o);
  for (const auto& p : r.points) {
    EXPECT_EQ(p.stopped, "precision");
    EXPECT_GE(p.replications, 5u);
    EXPECT_LT(p.replications, 400u);
    const auto& f = field(p, "queue", "wait", "mean");
    EXPECT_LE(f.half_width, 0.05 * std::abs(f.mean));
    // One replication fewer would not have met it (the first k that does).
    EXPECT_EQ(f.n, p.replications);
  }
  // The busier queue needs more replications.
  EXPECT_GT(r.points[1].replications, r.points[0].replications);
  // A cap below what the precision needs stops at the cap.
  e.max_replications = 6;
  e.min_replications = 5;
  o.output = d.path / "capped";
  const auto capped = dsim::run_experiment(e, registry(), o);
  EXPECT_EQ(capped.points[1].stopped, "max_replications");
  EXPECT_EQ(capped.points[1].replications, 6u);
}

TEST(Experiment, SameFilesWithOneTwoAndFourWorkers) {
  TempDir d;
  dsim::Experiment e = mm1(0);
  e.factors = {dsim::parse_vary("entities.queue.params.service=exp(mean=1),exp(mean=0.5)")};
  e.precision = dsim::parse_precision("queue.wait.mean=0.1");
  e.max_replications = 60;
  std::map<std::string, std::string> first;
  for (std::uint32_t workers : {1u, 2u, 4u}) {
    dsim::ExperimentOptions o;
    o.output = d.path / "w";
    o.output += std::to_string(workers);
    o.workers = workers;
    dsim::run_experiment(e, registry(), o);
    const auto files = results(o.output);
    if (first.empty()) first = files;
    for (const auto& [name, text] : files) EXPECT_EQ(text, first[name]) << name << ", " << workers << " workers";
  }
}

TEST(Experiment, StoppedThenResumedGivesTheSameFiles) {
  TempDir d;
  dsim::Experiment e = mm1(12);
  e.factors = {dsim::parse_vary("entities.queue.params.servers=1,2")};
  dsim::ExperimentOptions whole;
  whole.output = d.path / "whole";
  dsim::run_experiment(e, registry(), whole);

  std::stop_source stop;
  dsim::ExperimentOptions o;
  o.output = d.path / "stopped";
  o.workers = 2;
  o.stop = stop.get_token();
  o.on_progress = [&](const dsim::ExperimentProgress& p) {
    if (p.runs_done >= 7) stop.request_stop();
  };
  try {
    dsim::run_experiment(e, registry(), o);
    FAIL() << "a stopped experiment returned";
  } catch (const dsim::Error& error) {
    EXPECT_EQ(error.kind(), dsim::Error::Kind::kRuntime);
    EXPECT_NE(std::string(error.what()).find("--resume"), std::string::npos);
  }
  EXPECT_FALSE(fs::exists(o.output / "runs.csv"));  // nothing that looks like a result
  EXPECT_FALSE(fs::exists(o.output / "manifest.json"));
  // Starting again without --resume is refused: the journal is there.
  dsim::ExperimentOptions again;
  again.output = o.output;
  EXPECT_THROW(dsim::run_experiment(e, registry(), again), dsim::Error);
  again.resume = true;
  const auto r = dsim::run_experiment(e, registry(), again);
  EXPECT_LT(r.runs_executed, 24u);  // the finished runs were not run again
  EXPECT_EQ(results(o.output), results(whole.output));
  // Resuming a finished experiment runs nothing and writes the same files.
  const auto again2 = dsim::run_experiment(e, registry(), again);
  EXPECT_EQ(again2.runs_executed, 0u);
  EXPECT_EQ(results(o.output), results(whole.output));
}

TEST(Experiment, AJournalCutShortIsCutOnResume) {
  TempDir d;
  dsim::Experiment e = mm1(6);
  dsim::ExperimentOptions o;
  o.output = d.path / "out";
  dsim::run_experiment(e, registry(), o);
  const auto expected = results(o.output);
  // Keep the header, the names and 3 runs, then half of the 4th line.
  std::string journal = read(o.output / "runs.journal");
  std::vector<std::size_t> ends;
  for (std::size_t i = 0; i < journal.size(); ++i)
    if (journal[i] == '\n') ends.push_back(i);
  ASSERT_GE(ends.size(), 7u);
  const std::string cut = journal.substr(0, ends[4] + 1) +
                          journal.substr(ends[4] + 1, (ends[5] - ends[4]) / 2);
  std::ofstream(o.output / "runs.journal", std::ios::binary | std::ios::trunc) << cut;
  o.resume = true;
  const auto r = dsim::run_experiment(e, registry(), o);
  EXPECT_EQ(r.runs_executed, 3u);
  EXPECT_EQ(results(o.output), expected);
  // A bad line that is not the last is corruption, named with its line.
  journal = read(o.output / "runs.journal");
  const std::size_t second_run = journal.find("\n{\"ok\"", journal.find("\"p\""));
  std::string corrupt = journal;
  corrupt.replace(journal.find("\"seed\""), 6, "\"sed\" ");
  std::ofstream(o.output / "runs.journal", std::ios::binary | std::ios::trunc) << corrupt;
  try {
    dsim::run_experiment(e, registry(), o);
    FAIL() << "a corrupt journal was accepted";
  } catch (const dsim::Error& error) {
    EXPECT_NE(std::string(error.what()).find("runs.journal:3"), std::string::npos) << error.what();
  }
  (void)second_run;
}

TEST(Experiment, AJournalOfAnotherExperimentIsRefused) {
  TempDir d;
  dsim::Experiment e = mm1(3);
  dsim::ExperimentOptions o;
  o.output = d.path / "out";
  dsim::run_experiment(e, registry(), o);
  o.resume = true;
  e.overrides = {"simulation.end_time=3000"};
  try {
    dsim::run_experiment(e, registry(), o);
    FAIL() << "resumed another experiment's journal";
  } catch (const dsim::Error& error) {
    EXPECT_NE(std::string(error.what()).find("another experiment"), std::string::npos);
  }
  // More replications of the same experiment extend it.
  e = mm1(5);
  const auto r = dsim::run_experiment(e, registry(), o);
  EXPECT_EQ(r.runs_executed, 2u);
  EXPECT_EQ(r.runs, 5u);
}

TEST(Experiment, FailedRunsAreRecordedAndRetried) {
  TempDir d;
  const std::string model = std::string(DSIM_SOURCE_DIR) + "/tests/data/faulty_ring.toml";
  const std::string flag = (d.path / "failing").string();
  dsim::Experiment e;
  e.model = model;
  e.overrides = {"entities.hosts.params.fail_while_file=\"" + flag + "\""};
  e.factors = {dsim::parse_vary("entities.hosts.params.fail_entity=-1,2")};
  e.replications = 4;
  // Without the fault, for reference.
  dsim::ExperimentOptions clean;
  clean.output = d.path / "clean";
  const auto reference = dsim::run_experiment(e, registry(), clean);
  EXPECT_TRUE(reference.failures.empty());

  std::ofstream(flag) << "x";
  dsim::ExperimentOptions o;
  o.output = d.path / "out";
  o.workers = 2;
  const auto r = dsim::run_experiment(e, registry(), o);
  ASSERT_EQ(r.failures.size(), 4u);  // every run of point 1; point 0 ran as usual
  for (const auto& f : r.failures) {
    EXPECT_EQ(f.point, 1u);
    EXPECT_NE(f.message.find("asked to fail"), std::string::npos) << f.message;
    EXPECT_NE(f.seed, 0u);
  }
  EXPECT_EQ(r.points[1].failed, 4u);
  EXPECT_EQ(r.points[0].failed, 0u);
  const json manifest = json::parse(read(o.output / "manifest.json"));
  EXPECT_EQ(manifest["failures"].size(), 4u);
  // Resumed without --retry-failed: the failures stay.
  o.resume = true;
  EXPECT_EQ(dsim::run_experiment(e, registry(), o).failures.size(), 4u);
  // The fault goes away; the failed runs run again and the files are those
  // of the run that never failed.
  fs::remove(flag);
  o.retry_failed = true;
  const auto retried = dsim::run_experiment(e, registry(), o);
  EXPECT_EQ(retried.runs_executed, 4u);
  EXPECT_TRUE(retried.failures.empty());
  EXPECT_EQ(results(o.output), results(clean.output));
}

TEST(Experiment, BadInputIsNamedBeforeAnyRun) {
  TempDir d;
  auto expect_error = [&](dsim::Experiment e, const std::string& expected) {
    dsim::ExperimentOptions o;
    o.output = d.path / "out";
    try {
      dsim::run_experiment(e, registry(), o);
      ADD_FAILURE() << "accepted; wanted " << expected;
    } catch (const dsim::Error& error) {
      EXPECT_EQ(error.kind(), dsim::Error::Kind::kInput) << error.what();
      EXPECT_NE(std::string(error.what()).find(expected), std::string::npos) << error.what();
    }
    EXPECT_FALSE(fs::exists(o.output)) << "a run started for: " << expected;
  };
  dsim::Experiment e = mm1(3);
  e.factors = {dsim::parse_vary("entities.queue.params.servrs=1,2")};
  expect_error(e, "servrs");
  e.factors = {dsim::parse_vary("entities.queue.params.servers=1,two")};
  expect_error(e, "servers");
  e.factors = {dsim::parse_vary("entities.nosuchgroup.params.servers=1,2")};
  expect_error(e, "nosuchgroup");
  e = mm1(3);
  e.precision = dsim::parse_precision("queue.wiat.mean=0.1");
  expect_error(e, "no statistic 'wiat'");
  e.precision = dsim::parse_precision("quue.wait.mean=0.1");
  expect_error(e, "no group 'quue'");
  e.precision = dsim::parse_precision("queue.wait.total=0.1");
  expect_error(e, "no field 'total'");
  e = mm1(3);
  e.model = kModels + "nosuchmodel.toml";
  expect_error(e, "nosuchmodel.toml");
}
