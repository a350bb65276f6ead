// The config loader on good input: TOML -> ModelSpec, --set overrides,
// validate() filling defaults, the spec's JSON form, and parameter types.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/names.hpp"
#include "dsim/dsim.hpp"
#include "dsim/message.hpp"

namespace {

namespace fs = std::filesystem;

// A fresh directory per test, removed afterwards.
class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           (std::string("dsim_config_test_") + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) {
    const fs::path p = dir_ / name;
    std::ofstream(p) << text;
    return p.string();
  }

  fs::path dir_;
};

// A small entity type with one parameter of each kind.
struct Widget {
  struct State {
    std::uint64_t hits = 0;
  };
  struct Poke {
    static constexpr std::string_view dsim_name = "widget.poke";
  };
  using Events = dsim::Events<Poke>;
  static void declare(dsim::ParamSpec& p) {
    p.add("rate", 0.5, "pokes per time unit");
    p.add("burst", 3, "pokes per burst");
    p.add("loud", false, "whether to shout");
    p.add("label", "w", "display name");
    p.add_distribution("service", "exp(mean=1)", "service time");
    p.required<std::int64_t>("servers", "number of servers");
  }
  explicit Widget(dsim::Setup&) {}
  void on(State& s, const Poke&, dsim::Context&) const { ++s.hits; }
};

// A type without parameters.
struct Plain {
  struct State {
    int unused = 0;
  };
  struct Tick {
    static constexpr std::string_view dsim_name = "plain.tick";
  };
  using Events = dsim::Events<Tick>;
  explicit Plain(dsim::Setup&) {}
  void on(State&, const Tick&, dsim::Context&) const {}
};

constexpr const char* kFullConfig = R"toml(# every key of the schema
[simulation]
end_time = 2000.0
seed = 42
sync = "conservative"
threads = 3
partitioner = "round_robin"
queue = "quad_heap"
memory_limit = "512MiB"
plugins = ["plugins/libx.so"]

[[entities]]
name = "hosts"
type = "widget"
count = 16
params = { rate = 0.25, servers = 2, label = "h" }

[[entities]]
name = "sinks"
type = "plain"
count = 4

[[links]]
from = "hosts"
to = "hosts"
topology = "ring"
k = 2
lookahead = 1.5
weight = 2.0

[[links]]
from = "hosts"
to = "sinks"
topology = "random"
degree = 2

[[links]]
from = "hosts"
to = "hosts"
topology = "edge_list"
file = "data/edges.csv"
symmetric = true

[[links]]
from = "hosts"
to = "hosts"
topology = "small_world"
k = 4
p = 0.1

[output]
directory = "out"
sample_interval = 10
formats = ["json"]
)toml";

TEST_F(ConfigTest, FullConfigParsesIntoSpec) {
  fs::create_directories(dir_ / "plugins");
  fs::create_directories(dir_ / "data");
  write("plugins/libx.so", "");
  write("data/edges.csv", "0,1\n1,2\n");
  const std::string path = write("model.toml", kFullConfig);

  const dsim::ModelSpec spec = dsim::load_model(path);
  EXPECT_EQ(spec.file, path);
  EXPECT_FALSE(spec.validated);

  const dsim::SimulationSpec& s = spec.simulation;
  EXPECT_EQ(s.end_time, 2000.0);
  EXPECT_EQ(s.seed, 42u);
  EXPECT_EQ(s.sync, "conservative");
  EXPECT_EQ(s.threads, 3u);
  EXPECT_EQ(s.partitioner, "round_robin");
  EXPECT_EQ(s.queue, "quad_heap");
  EXPECT_EQ(s.memory_limit, 512u * 1024 * 1024);
  EXPECT_EQ(s.location.str(), path + ":2:1");
  ASSERT_EQ(spec.plugins.size(), 1u);
  EXPECT_EQ(fs::path(spec.plugins[0]), fs::absolute(dir_ / "plugins/libx.so").lexically_normal());

  ASSERT_EQ(spec.groups.size(), 2u);
  const dsim::GroupSpec& hosts = spec.groups[0];
  EXPECT_EQ(hosts.name, "hosts");
  EXPECT_EQ(hosts.type, "widget");
  EXPECT_EQ(hosts.count, 16u);
  EXPECT_EQ(hosts.location.str(), path + ":12:1");
  ASSERT_EQ(hosts.params.size(), 3u);
  EXPECT_EQ(hosts.params.at("rate"), dsim::ParamValue(0.25));
  EXPECT_EQ(hosts.params.at("servers"), dsim::ParamValue(std::int64_t{2}));
  EXPECT_EQ(hosts.params.at("label"), dsim::ParamValue(std::string("h")));
  EXPECT_EQ(hosts.param_locations.at("rate").str(), path + ":16:19");
  EXPECT_EQ(hosts.param_locations.at("servers").str(), path + ":16:35");
  const dsim::GroupSpec& sinks = spec.groups[1];
  EXPECT_EQ(sinks.name, "sinks");
  EXPECT_EQ(sinks.type, "plain");
  EXPECT_EQ(sinks.count, 4u);
  EXPECT_TRUE(sinks.params.empty());

  ASSERT_EQ(spec.links.size(), 4u);
  const dsim::LinkSpec& ring = spec.links[0];
  EXPECT_EQ(ring.from, "hosts");
  EXPECT_EQ(ring.to, "hosts");
  EXPECT_EQ(ring.topology.kind, "ring");
  EXPECT_EQ(ring.topology.k, 2);
  EXPECT_FALSE(ring.topology.degree.has_value());
  EXPECT_EQ(ring.lookahead, 1.5);
  EXPECT_EQ(ring.weight, 2.0);
  EXPECT_EQ(ring.location.str(), path + ":23:1");
  const dsim::LinkSpec& random = spec.links[1];
  EXPECT_EQ(random.to, "sinks");
  EXPECT_EQ(random.topology.kind, "random");
  EXPECT_EQ(random.topology.degree, 2);
  EXPECT_FALSE(random.lookahead.has_value());
  EXPECT_EQ(random.weight, 1.0);
  const dsim::LinkSpec& edges = spec.links[2];
  EXPECT_EQ(edges.topology.kind, "edge_list");
  EXPECT_EQ(fs::path(edges.topology.file),
            fs::absolute(dir_ / "data/edges.csv").lexically_normal());
  EXPECT_TRUE(edges.topology.symmetric);
  const dsim::LinkSpec& sw = spec.links[3];
  EXPECT_EQ(sw.topology.k, 4);
  EXPECT_EQ(sw.topology.p, 0.1);

  EXPECT_EQ(spec.output.directory, "out");
  EXPECT_EQ(spec.output.sample_interval, 10.0);
  EXPECT_EQ(spec.output.formats, std::vector<std::string>{"json"});
  EXPECT_EQ(spec.output.location.str(), path + ":51:1");
}

TEST_F(ConfigTest, MinimalConfigGetsDefaults) {
  const std::string path = write("min.toml", R"toml(
[simulation]
end_time = 100    # an integer is fine for a time

[[entities]]
name = "a"
type = "plain"
)toml");
  const dsim::ModelSpec spec = dsim::load_model(path);
  EXPECT_EQ(spec.simulation.end_time, 100.0);
  EXPECT_EQ(spec.simulation.seed, 1u);
  EXPECT_EQ(spec.simulation.sync, "auto");
  EXPECT_EQ(spec.simulation.threads, 0u);
  EXPECT_EQ(spec.simulation.partitioner, "block");
  EXPECT_EQ(spec.simulation.queue, "binary_heap");
  EXPECT_EQ(spec.simulation.memory_limit, 0u);
  EXPECT_EQ(spec.simulation.state_saving, "every_event");
  EXPECT_EQ(spec.simulation.state_saving_period, 8u);
  ASSERT_EQ(spec.groups.size(), 1u);
  EXPECT_EQ(spec.groups[0].count, 1u);
  EXPECT_TRUE(spec.links.empty());
  EXPECT_TRUE(spec.plugins.empty());
  EXPECT_EQ(spec.output.directory, "results");
  EXPECT_EQ(spec.output.sample_interval, 0.0);
  EXPECT_EQ(spec.output.formats, (std::vector<std::string>{"csv", "json"}));
  // No [output] table: the location is the file alone.
  EXPECT_EQ(spec.output.location.str(), path);
  // No [checkpoint] table: none by simulated or wall time, the default place.
  EXPECT_EQ(spec.checkpoint.every, 0.0);
  EXPECT_EQ(spec.checkpoint.wall_every, 0.0);
  EXPECT_EQ(spec.checkpoint.directory, "");
  EXPECT_EQ(spec.checkpoint.keep, 2u);
  EXPECT_EQ(spec.checkpoint.location.str(), path);
}

TEST_F(ConfigTest, CheckpointTable) {
  auto checkpoint = [&](const std::string& keys) {
    const std::string path = write("ckpt.toml",
                                   "[simulation]\nend_time = 1.0\n[[entities]]\nname = \"a\"\n"
                                   "type = \"plain\"\n[checkpoint]\n" +
                                       keys + "\n");
    return dsim::load_model(path).checkpoint;
  };
  const dsim::CheckpointSpec all =
      checkpoint("every = 50\nwall_every = 90\ndirectory = \"ckpt/run a\"\nkeep = 5");
  EXPECT_EQ(all.every, 50.0);
  EXPECT_EQ(all.wall_every, 90.0);
  // As written: a relative path is relative to the current directory, as
  // output.directory is, not to the config's.
  EXPECT_EQ(all.directory, "ckpt/run a");
  EXPECT_EQ(all.keep, 5u);
  EXPECT_EQ(all.location.str(), (dir_ / "ckpt.toml").string() + ":6:1");

  EXPECT_EQ(checkpoint("every = 2.5").every, 2.5);
  EXPECT_EQ(checkpoint("every = 0").every, 0.0);
  EXPECT_EQ(checkpoint("wall_every = 1.5").wall_every, 1.5);
  EXPECT_EQ(checkpoint("wall_every = \"90s\"").wall_every, 90.0);
  EXPECT_EQ(checkpoint("wall_every = \"10m\"").wall_every, 600.0);
  EXPECT_EQ(checkpoint("wall_every = \"1.5h\"").wall_every, 5400.0);
  EXPECT_EQ(checkpoint("wall_every = \"0\"").wall_every, 0.0);
  EXPECT_EQ(checkpoint("keep = 1").keep, 1u);
  EXPECT_EQ(checkpoint("directory = \"/tmp/x\"").directory, "/tmp/x");
  // An empty table changes nothing.
  const dsim::CheckpointSpec none = checkpoint("");
  EXPECT_EQ(none.every, 0.0);
  EXPECT_EQ(none.keep, 2u);
}

TEST_F(ConfigTest, CheckpointOverrides) {
  const std::string path = write("base.toml",
                                 "[simulation]\nend_time = 1.0\n[[entities]]\n"
                                 "name = \"a\"\ntype = \"plain\"\n");
  const dsim::ModelSpec spec =
      dsim::load_model(path, {"checkpoint.every=5", "checkpoint.wall_every=10m",
                              "checkpoint.directory=2024", "checkpoint.keep=3"});
  EXPECT_EQ(spec.checkpoint.every, 5.0);
  EXPECT_EQ(spec.checkpoint.wall_every, 600.0);
  EXPECT_EQ(spec.checkpoint.directory, "2024");  // the text, not the number
  EXPECT_EQ(spec.checkpoint.keep, 3u);
  EXPECT_EQ(dsim::load_model(path, {"checkpoint.wall_every=45"}).checkpoint.wall_every, 45.0);
  EXPECT_EQ(dsim::load_model(path, {"checkpoint.wall_every=\"2h\""}).checkpoint.wall_every, 7200.0);
}

TEST(ParseDurationTest, SecondsMinutesHours) {
  EXPECT_EQ(dsim::parse_duration("90"), 90.0);
  EXPECT_EQ(dsim::parse_duration("90s"), 90.0);
  EXPECT_EQ(dsim::parse_duration("10m"), 600.0);
  EXPECT_EQ(dsim::parse_duration("2h"), 7200.0);
  EXPECT_EQ(dsim::parse_duration("1.5h"), 5400.0);
  EXPECT_EQ(dsim::parse_duration("0.25"), 0.25);
  EXPECT_EQ(dsim::parse_duration(" 10 m "), 600.0);
  EXPECT_EQ(dsim::parse_duration("0"), 0.0);
  EXPECT_EQ(dsim::parse_duration("0s"), 0.0);
  for (const char* bad : {"", " ", "s", "h", "-5", "-5s", "+5", "5ms", "500ms", "1d", "10 min",
                          "10M", "1.5.2h", ".5h", "5.h", "1e3", "nan", "inf", "10mm", "5 s s",
                          "0x10", "1,5h"})
    EXPECT_FALSE(dsim::parse_duration(bad).has_value()) << '"' << bad << '"';
  // Beyond a double: not a duration.
  EXPECT_FALSE(dsim::parse_duration(std::string(400, '9') + "h").has_value());
}

TEST_F(ConfigTest, ParamsSubtableAndTopLevelPlugins) {
  write("liba.so", "");
  write("libb.so", "");
  const std::string path = write("sub.toml", R"toml(plugins = ["liba.so"]
[simulation]
end_time = 5.5
plugins = ["./libb.so"]

[[entities]]
name = "w"
type = "widget"
[entities.params]
loud = true
burst = -7
service = "uniform(1, 3)"

[[entities]]
name = "v"
type = "plain"

[[links]]
from = "w"
to = "v"
)toml");
  const dsim::ModelSpec spec = dsim::load_model(path);
  const auto& params = spec.groups[0].params;
  EXPECT_EQ(params.at("loud"), dsim::ParamValue(true));
  EXPECT_EQ(params.at("burst"), dsim::ParamValue(std::int64_t{-7}));
  EXPECT_EQ(params.at("service"), dsim::ParamValue(std::string("uniform(1, 3)")));
  EXPECT_EQ(spec.groups[0].param_locations.at("burst").str(), path + ":11:9");
  // [simulation].plugins first, then the top-level list.
  ASSERT_EQ(spec.plugins.size(), 2u);
  EXPECT_EQ(fs::path(spec.plugins[0]).filename(), "libb.so");
  EXPECT_EQ(fs::path(spec.plugins[1]).filename(), "liba.so");
  EXPECT_TRUE(fs::path(spec.plugins[0]).is_absolute());
  EXPECT_EQ(spec.links[0].topology.kind, "one_to_one");
}

TEST_F(ConfigTest, GroupsIsAnotherNameForEntities) {
  const std::string path = write("groups.toml", R"toml([simulation]
end_time = 1.0
[[groups]]
name = "g"
type = "plain"
count = 3
)toml");
  const dsim::ModelSpec spec = dsim::load_model(path, {"groups.g.count=5"});
  ASSERT_EQ(spec.groups.size(), 1u);
  EXPECT_EQ(spec.groups[0].count, 5u);
  EXPECT_EQ(dsim::load_model(path, {"entities.g.count=6"}).groups[0].count, 6u);
}

TEST_F(ConfigTest, MemoryLimitUnits) {
  auto limit = [&](const std::string& value) {
    const std::string path =
        write("mem.toml", "[simulation]\nend_time = 1.0\nmemory_limit = " + value +
                              "\n[[entities]]\nname = \"a\"\n"
                              "type = \"plain\"\n");
    return dsim::load_model(path).simulation.memory_limit;
  };
  EXPECT_EQ(limit("1000"), 1000u);
  EXPECT_EQ(limit("\"2GiB\""), 2ull * 1024 * 1024 * 1024);
  EXPECT_EQ(limit("\"512 MiB\""), 512ull * 1024 * 1024);
  EXPECT_EQ(limit("\"1.5GB\""), 1500000000u);
  EXPECT_EQ(limit("\"64kib\""), 65536u);
  EXPECT_EQ(limit("\"4096\""), 4096u);
  EXPECT_THROW(limit("\"2 gigs\""), dsim::Error);
  EXPECT_THROW(limit("\"GiB\""), dsim::Error);
  EXPECT_THROW(limit("-1"), dsim::Error);
}

TEST_F(ConfigTest, StateSavingKeys) {
  auto simulation = [&](const std::string& keys) {
    const std::string path = write("saving.toml", "[simulation]\nend_time = 1.0\n" + keys +
                                                      "\n[[entities]]\nname = \"a\"\n"
                                                      "type = \"plain\"\n");
    return dsim::load_model(path).simulation;
  };
  const dsim::SimulationSpec periodic =
      simulation("state_saving = \"periodic\"\nstate_saving_period = 16");
  EXPECT_EQ(periodic.state_saving, "periodic");
  EXPECT_EQ(periodic.state_saving_period, 16u);
  const dsim::SimulationSpec every = simulation("state_saving = \"every_event\"");
  EXPECT_EQ(every.state_saving, "every_event");
  EXPECT_EQ(every.state_saving_period, 8u);
  // The bounds are accepted.
  EXPECT_EQ(simulation("state_saving_period = 1").state_saving_period, 1u);
  EXPECT_EQ(simulation("state_saving_period = 1000000").state_saving_period, 1000000u);
  EXPECT_EQ(dsim::config::kStateSavings.size(), 2u);
}

TEST_F(ConfigTest, StateSavingOverrides) {
  const std::string path = write("base.toml",
                                 "[simulation]\nend_time = 1.0\n[[entities]]\n"
                                 "name = \"a\"\ntype = \"plain\"\n");
  // A bare word is a string, as for simulation.sync.
  const dsim::ModelSpec spec = dsim::load_model(
      path, {"simulation.state_saving=periodic", "simulation.state_saving_period=32"});
  EXPECT_EQ(spec.simulation.state_saving, "periodic");
  EXPECT_EQ(spec.simulation.state_saving_period, 32u);
  EXPECT_EQ(
      dsim::load_model(path, {"simulation.state_saving=\"every_event\""}).simulation.state_saving,
      "every_event");
}

constexpr const char* kOverrideBase = R"toml([simulation]
end_time = 2000.0
sync = "auto"

[[entities]]
name = "hosts"
type = "widget"
count = 8
params = { remote = 0.1 }

[[entities]]
name = "other"
type = "plain"

[[links]]
from = "hosts"
to = "hosts"
topology = "any"
lookahead = 1.0

[[links]]
from = "hosts"
to = "other"
topology = "all_to_all"
)toml";

TEST_F(ConfigTest, OverridesReachEveryKindOfPath) {
  const std::string path = write("base.toml", kOverrideBase);
  const dsim::ModelSpec spec = dsim::load_model(
      path, {"simulation.end_time=500", "simulation.sync=optimistic", "simulation.seed = 9",
             "output.directory=runs/a b", "entities.hosts.params.remote=0.5",
             "entities.hosts.params.fresh=true", "entities.hosts.count=10", "entities.1.count=3",
             "links.0.lookahead=0.5", "links.1.weight=4", "output.formats=[\"csv\"]",
             "simulation.partitioner=\"graph\""});
  EXPECT_EQ(spec.simulation.end_time, 500.0);
  EXPECT_EQ(spec.simulation.sync, "optimistic");
  EXPECT_EQ(spec.simulation.seed, 9u);
  EXPECT_EQ(spec.simulation.partitioner, "graph");
  EXPECT_EQ(spec.output.directory, "runs/a b");
  EXPECT_EQ(spec.output.formats, std::vector<std::string>{"csv"});
  EXPECT_EQ(spec.groups[0].count, 10u);
  EXPECT_EQ(spec.groups[1].count, 3u);
  EXPECT_EQ(spec.groups[0].params.at("remote"), dsim::ParamValue(0.5));
  EXPECT_EQ(spec.groups[0].params.at("fresh"), dsim::ParamValue(true));
  EXPECT_EQ(spec.links[0].lookahead, 0.5);
  EXPECT_EQ(spec.links[1].weight, 4.0);
  // Overridden values say where they came from.
  EXPECT_EQ(spec.groups[0].param_locations.at("remote").str(),
            path + " (--set entities.hosts.params.remote=0.5)");
  // Without overrides the file's values stand.
  const dsim::ModelSpec plain = dsim::load_model(path);
  EXPECT_EQ(plain.simulation.end_time, 2000.0);
  EXPECT_EQ(plain.groups[0].params.at("remote"), dsim::ParamValue(0.1));
  EXPECT_EQ(plain.groups[0].param_locations.at("remote").str(), path + ":9:21");
}

TEST_F(ConfigTest, LaterOverrideWins) {
  const std::string path = write("base.toml", kOverrideBase);
  const dsim::ModelSpec spec =
      dsim::load_model(path, {"simulation.end_time=10", "simulation.end_time=20.5"});
  EXPECT_EQ(spec.simulation.end_time, 20.5);
}

TEST_F(ConfigTest, OverrideCreatesMissingTables) {
  const std::string path = write("base.toml", kOverrideBase);
  const dsim::ModelSpec spec = dsim::load_model(path, {"output.sample_interval=2.5"});
  EXPECT_EQ(spec.output.sample_interval, 2.5);
  // A string key takes the override's text even when it reads as a number.
  EXPECT_EQ(dsim::load_model(path, {"output.directory=2024"}).output.directory, "2024");
  EXPECT_EQ(dsim::load_model(path, {"simulation.sync=\"sequential\""}).simulation.sync,
            "sequential");
}

TEST_F(ConfigTest, OverriddenValueIsCheckedAndReportedAsOverride) {
  const std::string path = write("base.toml", kOverrideBase);
  try {
    (void)dsim::load_model(path, {"entities.hosts.count=-2"});
    FAIL() << "expected an error";
  } catch (const dsim::Error& e) {
    EXPECT_EQ(std::string(e.what()), path +
                                         " (--set entities.hosts.count=-2): entities[0].count: "
                                         "must be >= 1 (got -2)");
  }
}

// A seed is any integer from 0 to 2^64-1; past TOML's 2^63-1 it is written as a
// string of digits, and --set passes such a number on as one.
TEST_F(ConfigTest, SeedTakesTheWholeUnsigned64BitRange) {
  const std::string path = write("base.toml", kOverrideBase);
  auto seed_of = [&](const std::string& set) {
    return dsim::load_model(path, {set}).simulation.seed;
  };
  EXPECT_EQ(seed_of("simulation.seed=0"), 0u);
  EXPECT_EQ(seed_of("simulation.seed=9223372036854775807"), 9223372036854775807u);
  EXPECT_EQ(seed_of("simulation.seed=9223372036854775808"), 9223372036854775808u);
  EXPECT_EQ(seed_of("simulation.seed=18446744073709551615"), 18446744073709551615u);
  EXPECT_EQ(seed_of("simulation.seed=\"18446744073709551615\""), 18446744073709551615u);
  EXPECT_EQ(seed_of("simulation.seed=\"42\""), 42u);
  const std::string quoted = write(
      "quoted.toml",
      std::string(kOverrideBase)
          .insert(std::string(kOverrideBase).find("sync"), "seed = \"12345678901234567890\"\n"));
  EXPECT_EQ(dsim::load_model(quoted).simulation.seed, 12345678901234567890u);
  // The resolved config (manifest.json) keeps it exact.
  EXPECT_NE(dsim::to_json(dsim::load_model(quoted)).find("12345678901234567890"),
            std::string::npos);

  auto message = [&](const std::string& set) {
    try {
      (void)dsim::load_model(path, {set});
    } catch (const dsim::Error& e) {
      EXPECT_EQ(e.kind(), dsim::Error::Kind::kInput);
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message("simulation.seed=-1"),
            path + " (--set simulation.seed=-1): simulation.seed: must be >= 0 (got -1)");
  EXPECT_EQ(message("simulation.seed=18446744073709551616"),
            path +
                " (--set simulation.seed=18446744073709551616): simulation.seed: expected an "
                "integer from 0 to 18446744073709551615 (above 9223372036854775807 also as a "
                "string of digits), got string \"18446744073709551616\"");
  for (const char* bad :
       {"simulation.seed=\"-1\"", "simulation.seed=\"+1\"", "simulation.seed=\" 1\"",
        "simulation.seed=\"\"", "simulation.seed=\"0x10\"", "simulation.seed=1.5"})
    EXPECT_NE(message(bad).find("simulation.seed: expected an integer from 0 to"),
              std::string::npos)
        << bad;
}

// ---- validate --------------------------------------------------------------

class ValidateTest : public ConfigTest {
 protected:
  void SetUp() override {
    ConfigTest::SetUp();
    registry_.add<Widget>("widget", "a test widget");
    registry_.add<Plain>("plain", "no parameters");
  }
  dsim::Registry registry_;
};

TEST_F(ValidateTest, FillsDefaultsAndWidensInts) {
  const std::string path = write("v.toml", R"toml([simulation]
end_time = 10.0
[[entities]]
name = "w"
type = "widget"
params = { servers = 4, rate = 2 }
[[entities]]
name = "p"
type = "plain"
)toml");
  dsim::ModelSpec spec = dsim::load_model(path);
  dsim::validate(spec, registry_);
  EXPECT_TRUE(spec.validated);
  const auto& params = spec.groups[0].params;
  ASSERT_EQ(params.size(), 6u);
  EXPECT_EQ(params.at("servers"), dsim::ParamValue(std::int64_t{4}));
  // An int given for a real parameter becomes a double.
  EXPECT_EQ(params.at("rate"), dsim::ParamValue(2.0));
  EXPECT_EQ(params.at("burst"), dsim::ParamValue(std::int64_t{3}));
  EXPECT_EQ(params.at("loud"), dsim::ParamValue(false));
  EXPECT_EQ(params.at("label"), dsim::ParamValue(std::string("w")));
  EXPECT_EQ(params.at("service"), dsim::ParamValue(std::string("exp(mean=1)")));
  EXPECT_TRUE(spec.groups[1].params.empty());

  // The resolved values read back through Params with their declared types.
  const dsim::Params p(params);
  EXPECT_EQ(p.get_int("servers"), 4);
  EXPECT_EQ(p.get_real("rate"), 2.0);
  EXPECT_FALSE(p.get_bool("loud"));
  EXPECT_EQ(p.get_string("label"), "w");
  EXPECT_EQ(p.get_distribution("service").mean(), 1.0);
}

TEST_F(ValidateTest, SpecBuiltInCode) {
  dsim::ModelSpec spec;
  spec.simulation.end_time = 5;
  spec.groups.push_back({});
  spec.groups[0].name = "w";
  spec.groups[0].type = "widget";
  spec.groups[0].params["servers"] = std::int64_t{1};
  dsim::validate(spec, registry_);
  EXPECT_TRUE(spec.validated);
  EXPECT_EQ(spec.groups[0].params.size(), 6u);

  spec.groups[0].params.erase("servers");
  try {
    dsim::validate(spec, registry_);
    FAIL() << "expected an error";
  } catch (const dsim::Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "<code>: entities[0].params: missing required parameter 'servers' (int: number of "
              "servers) of entity type 'widget'");
  }
}

TEST_F(ValidateTest, RejectsBadSpecsBuiltInCode) {
  auto base = [] {
    dsim::ModelSpec spec;
    spec.simulation.end_time = 5;
    spec.groups.push_back({});
    spec.groups[0].name = "p";
    spec.groups[0].type = "plain";
    return spec;
  };
  auto message = [&](dsim::ModelSpec spec) {
    try {
      dsim::validate(spec, registry_);
    } catch (const dsim::Error& e) {
      EXPECT_FALSE(spec.validated);
      return std::string(e.what());
    }
    return std::string("no error");
  };
  dsim::ModelSpec s = base();
  s.simulation.end_time = 0;
  EXPECT_EQ(message(s), "<code>: simulation.end_time: must be a finite number > 0 (got 0.0)");
  s = base();
  s.simulation.sync = "warp";
  EXPECT_NE(message(s).find("simulation.sync: unknown sync mode 'warp'"), std::string::npos);
  s = base();
  s.simulation.state_saving = "sometimes";
  EXPECT_EQ(message(s),
            "<code>: simulation.state_saving: unknown state saving mode 'sometimes' (expected "
            "every_event or periodic)");
  s = base();
  s.simulation.state_saving_period = 0;
  EXPECT_EQ(message(s),
            "<code>: simulation.state_saving_period: must be >= 1 and <= 1000000 (got 0)");
  s.simulation.state_saving_period = 2'000'000;
  EXPECT_EQ(message(s),
            "<code>: simulation.state_saving_period: must be >= 1 and <= 1000000 (got 2000000)");
  s = base();
  s.simulation.sync = "optimistic";
  s.simulation.state_saving = "periodic";
  s.simulation.state_saving_period = 1;
  EXPECT_EQ(message(s), "no error");
  s = base();
  s.groups[0].count = 0;
  EXPECT_NE(message(s).find("entities[0].count: must be >= 1"), std::string::npos);
  s = base();
  s.groups.push_back(s.groups[0]);
  EXPECT_NE(message(s).find("entities[1].name: duplicate group name 'p'"), std::string::npos);
  s = base();
  s.links.push_back({});
  s.links[0].from = "p";
  s.links[0].to = "q";
  s.links[0].topology.kind = "any";
  EXPECT_EQ(message(s), "<code>: links[0].to: no entity group named 'q'");
  s.links[0].to = "p";
  s.links[0].lookahead = -1.0;
  EXPECT_EQ(message(s), "<code>: links[0].lookahead: must be a finite number >= 0 (got -1.0)");
  s.links[0].lookahead = 0.0;
  EXPECT_EQ(message(s), "no error");
  s = base();
  s.checkpoint.every = -1;
  EXPECT_EQ(message(s), "<code>: checkpoint.every: must be a finite number >= 0 (got -1.0)");
  s = base();
  s.checkpoint.wall_every = std::numeric_limits<double>::infinity();
  EXPECT_EQ(message(s),
            "<code>: checkpoint.wall_every: must be a finite number of seconds >= 0 (got inf)");
  s = base();
  s.checkpoint.keep = 0;
  EXPECT_EQ(message(s), "<code>: checkpoint.keep: must be >= 1 (got 0)");
  s.checkpoint.keep = 1;
  EXPECT_EQ(message(s), "no error");
}

// ---- JSON ------------------------------------------------------------------

TEST_F(ValidateTest, JsonHoldsTheResolvedSpec) {
  fs::create_directories(dir_ / "plugins");
  fs::create_directories(dir_ / "data");
  write("plugins/libx.so", "");
  write("data/edges.csv", "0,1\n");
  const std::string path = write("model.toml", kFullConfig);
  dsim::ModelSpec spec = dsim::load_model(path);
  dsim::validate(spec, registry_);
  const std::string text = dsim::to_json(spec);
  EXPECT_EQ(text, dsim::to_json(spec));  // stable

  const nlohmann::json j = nlohmann::json::parse(text);
  EXPECT_EQ(j["file"], path);
  EXPECT_EQ(j["validated"], true);
  EXPECT_EQ(j["simulation"]["end_time"], 2000.0);
  EXPECT_EQ(j["simulation"]["seed"], 42);
  EXPECT_EQ(j["simulation"]["sync"], "conservative");
  EXPECT_EQ(j["simulation"]["threads"], 3);
  EXPECT_EQ(j["simulation"]["partitioner"], "round_robin");
  EXPECT_EQ(j["simulation"]["queue"], "quad_heap");
  EXPECT_EQ(j["simulation"]["memory_limit"], 512 * 1024 * 1024);
  EXPECT_EQ(j["simulation"]["state_saving"], "every_event");
  EXPECT_EQ(j["simulation"]["state_saving_period"], 8);
  EXPECT_EQ(j["plugins"].size(), 1u);
  ASSERT_EQ(j["entities"].size(), 2u);
  const auto& hosts = j["entities"][0];
  EXPECT_EQ(hosts["name"], "hosts");
  EXPECT_EQ(hosts["type"], "widget");
  EXPECT_EQ(hosts["count"], 16);
  EXPECT_EQ(hosts["params"]["rate"], 0.25);
  EXPECT_TRUE(hosts["params"]["rate"].is_number_float());
  EXPECT_EQ(hosts["params"]["servers"], 2);
  EXPECT_TRUE(hosts["params"]["servers"].is_number_integer());
  EXPECT_EQ(hosts["params"]["loud"], false);
  EXPECT_EQ(hosts["params"]["label"], "h");
  EXPECT_EQ(hosts["params"]["service"], "exp(mean=1)");
  EXPECT_EQ(hosts["params"]["burst"], 3);
  ASSERT_EQ(j["links"].size(), 4u);
  EXPECT_EQ(j["links"][0]["topology"]["kind"], "ring");
  EXPECT_EQ(j["links"][0]["topology"]["k"], 2);
  EXPECT_FALSE(j["links"][0]["topology"].contains("p"));
  EXPECT_EQ(j["links"][0]["lookahead"], 1.5);
  EXPECT_EQ(j["links"][0]["weight"], 2.0);
  EXPECT_TRUE(j["links"][1]["lookahead"].is_null());
  EXPECT_EQ(j["links"][1]["topology"]["degree"], 2);
  EXPECT_EQ(j["links"][2]["topology"]["symmetric"], true);
  EXPECT_EQ(fs::path(j["links"][2]["topology"]["file"].get<std::string>()).filename(), "edges.csv");
  EXPECT_EQ(j["links"][3]["topology"]["p"], 0.1);
  EXPECT_EQ(j["output"]["directory"], "out");
  EXPECT_EQ(j["output"]["sample_interval"], 10.0);
  EXPECT_EQ(j["output"]["formats"], nlohmann::json::array({"json"}));
  EXPECT_EQ(j["checkpoint"]["every"], 0.0);
  EXPECT_EQ(j["checkpoint"]["wall_every"], 0.0);
  EXPECT_EQ(j["checkpoint"]["directory"], "");
  EXPECT_EQ(j["checkpoint"]["keep"], 2);

  // Sections appear in a fixed order, not alphabetically.
  const auto pos = [&](const char* key) { return text.find(std::string("\"") + key + "\":"); };
  EXPECT_LT(pos("file"), pos("simulation"));
  EXPECT_LT(pos("simulation"), pos("entities"));
  EXPECT_LT(pos("entities"), pos("links"));
  EXPECT_LT(pos("links"), pos("output"));
  EXPECT_LT(pos("output"), pos("checkpoint"));
  EXPECT_LT(pos("end_time"), pos("seed"));
  EXPECT_LT(pos("memory_limit"), pos("state_saving"));
  EXPECT_LT(pos("state_saving"), pos("state_saving_period"));

  spec.simulation.state_saving = "periodic";
  spec.simulation.state_saving_period = 4;
  const nlohmann::json periodic = nlohmann::json::parse(dsim::to_json(spec));
  EXPECT_EQ(periodic["simulation"]["state_saving"], "periodic");
  EXPECT_EQ(periodic["simulation"]["state_saving_period"], 4);

  spec.checkpoint = {12.5, 30, "ckpts", 4, {}};
  const nlohmann::json checkpoint = nlohmann::json::parse(dsim::to_json(spec))["checkpoint"];
  EXPECT_EQ(checkpoint, nlohmann::json::parse(
                            R"({"every": 12.5, "wall_every": 30.0, "directory": "ckpts", "keep": 4})"));
}

// ---- parameters -------------------------------------------------------------

TEST(ParamSpecTest, DeclaresEachType) {
  dsim::ParamSpec p;
  p.add("b", true, "a bool")
      .add("i", 7, "an int")
      .add("r", 1.5, "a real")
      .add("s", "text", "a string")
      .add_distribution("d", "const(2)", "a distribution")
      .required<bool>("rb", "")
      .required<std::int64_t>("ri", "")
      .required<double>("rr", "")
      .required<std::string>("rs", "")
      .required<dsim::Distribution>("rd", "");
  ASSERT_EQ(p.decls().size(), 10u);
  const std::vector<dsim::ParamType> types = {dsim::ParamType::kBool, dsim::ParamType::kInt,
                                              dsim::ParamType::kReal, dsim::ParamType::kString,
                                              dsim::ParamType::kDistribution};
  for (std::size_t i = 0; i < 10; ++i) {
    EXPECT_EQ(p.decls()[i].type, types[i % 5]) << p.decls()[i].name;
    EXPECT_EQ(p.decls()[i].default_value.has_value(), i < 5) << p.decls()[i].name;
  }
  EXPECT_EQ(p.find("i")->default_value, dsim::ParamValue(std::int64_t{7}));
  EXPECT_EQ(p.find("s")->default_value, dsim::ParamValue(std::string("text")));
  EXPECT_EQ(p.find("r")->doc, "a real");
  EXPECT_EQ(p.find("nope"), nullptr);
}

TEST(ParamSpecTest, RejectsDuplicatesAndBadDefaults) {
  dsim::ParamSpec p;
  p.add("x", 1.0, "");
  try {
    p.add("x", 2, "");
    FAIL() << "expected an error";
  } catch (const dsim::Error& e) {
    EXPECT_EQ(std::string(e.what()), "parameter 'x' declared twice");
  }
  EXPECT_THROW(p.required<bool>("x", ""), dsim::Error);
  EXPECT_THROW(p.add_distribution("d", "bogus(1)", ""), dsim::Error);
  EXPECT_EQ(p.decls().size(), 1u);
}

TEST(ParamsTest, GettersCheckPresenceAndType) {
  dsim::Params p({{"b", true},
                  {"i", std::int64_t{3}},
                  {"r", 0.5},
                  {"s", std::string("hi")},
                  {"d", std::string("exp(mean=2)")},
                  {"bad", std::string("exp(")}});
  EXPECT_TRUE(p.contains("b"));
  EXPECT_FALSE(p.contains("zz"));
  EXPECT_TRUE(p.get_bool("b"));
  EXPECT_EQ(p.get_int("i"), 3);
  EXPECT_EQ(p.get_real("r"), 0.5);
  EXPECT_EQ(p.get_real("i"), 3.0);  // ints read as reals
  EXPECT_EQ(p.get_string("s"), "hi");
  EXPECT_EQ(p.get_distribution("d").mean(), 2.0);

  auto message = [](auto&& f) {
    try {
      f();
    } catch (const dsim::Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message([&] { (void)p.get_int("zz"); }), "parameter 'zz' is not set");
  EXPECT_EQ(message([&] { (void)p.get_int("r"); }), "parameter 'r' is a real (0.5), not a int");
  EXPECT_EQ(message([&] { (void)p.get_bool("s"); }),
            "parameter 's' is a string (\"hi\"), not a bool");
  EXPECT_EQ(message([&] { (void)p.get_real("b"); }), "parameter 'b' is a bool (true), not a real");
  EXPECT_EQ(message([&] { (void)p.get_string("i"); }), "parameter 'i' is a int (3), not a string");
  EXPECT_EQ(message([&] { (void)p.get_distribution("r"); }),
            "parameter 'r' is a real (0.5), not a distribution");
  EXPECT_EQ(
      message([&] { (void)p.get_distribution("bad"); }).rfind("parameter 'bad': \"exp(\": ", 0),
      0u);
  p.set("zz", std::int64_t{1});
  EXPECT_EQ(p.get_int("zz"), 1);
}

TEST(ParamsTest, TextOfValuesAndTypes) {
  EXPECT_EQ(dsim::to_string(dsim::ParamType::kBool), "bool");
  EXPECT_EQ(dsim::to_string(dsim::ParamType::kInt), "int");
  EXPECT_EQ(dsim::to_string(dsim::ParamType::kReal), "real");
  EXPECT_EQ(dsim::to_string(dsim::ParamType::kString), "string");
  EXPECT_EQ(dsim::to_string(dsim::ParamType::kDistribution), "distribution");
  EXPECT_EQ(dsim::to_string(dsim::ParamValue(false)), "false");
  EXPECT_EQ(dsim::to_string(dsim::ParamValue(std::int64_t{-12})), "-12");
  EXPECT_EQ(dsim::to_string(dsim::ParamValue(2.0)), "2.0");
  EXPECT_EQ(dsim::to_string(dsim::ParamValue(0.1)), "0.1");
  EXPECT_EQ(dsim::to_string(dsim::ParamValue(1e300)), "1e+300");
  EXPECT_EQ(dsim::to_string(dsim::ParamValue(std::string("a\"b"))), "\"a\\\"b\"");
}

TEST(SourceLocationTest, Text) {
  EXPECT_EQ((dsim::SourceLocation{"m.toml", 7, 9}).str(), "m.toml:7:9");
  EXPECT_EQ((dsim::SourceLocation{"m.toml", 7, 0}).str(), "m.toml:7");
  EXPECT_EQ((dsim::SourceLocation{"m.toml", 0, 0}).str(), "m.toml");
  EXPECT_EQ((dsim::SourceLocation{}).str(), "<code>");
}

TEST(SuggestTest, DidYouMean) {
  const std::vector<std::string_view> keys = {"end_time", "seed", "sync", "threads"};
  EXPECT_EQ(dsim::config::edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(dsim::config::edit_distance("", "abc"), 3u);
  EXPECT_EQ(dsim::config::edit_distance("phlod", "phold"), 1u);  // a swap
  EXPECT_EQ(dsim::config::edit_distance("abc", "abc"), 0u);
  EXPECT_EQ(dsim::config::did_you_mean("end_tme", keys), " (did you mean 'end_time'?)");
  EXPECT_EQ(dsim::config::did_you_mean("thread", keys), " (did you mean 'threads'?)");
  EXPECT_EQ(dsim::config::did_you_mean("colour", keys), "");
  EXPECT_EQ(dsim::config::did_you_mean("x", keys), "");
  EXPECT_EQ(dsim::config::join_names(keys), "end_time, seed, sync or threads");
  // A huge word gets no suggestion (and costs no huge distance table).
  EXPECT_EQ(dsim::config::did_you_mean(std::string(100'000'000, 'e'), keys), "");
  const std::string long_key(300, 'k');
  const std::vector<std::string_view> with_long = {long_key, "seed"};
  EXPECT_EQ(dsim::config::did_you_mean("sede", with_long), " (did you mean 'seed'?)");
}

TEST(ClipTest, CutsLongValuesAndSaysHowLong) {
  EXPECT_EQ(dsim::clip(""), "");
  EXPECT_EQ(dsim::clip(std::string(60, 'a')), std::string(60, 'a'));
  EXPECT_EQ(dsim::clip(std::string(61, 'a')), std::string(60, 'a') + "... (61 characters)");
  EXPECT_EQ(dsim::clip("abcdef", 3), "abc... (6 characters)");
  // Characters, not bytes: a multi-byte character is never cut in two.
  EXPECT_EQ(dsim::clip("\u00e9\u00e9\u00e9\u00e9", 2), "\u00e9\u00e9... (4 characters)");
  EXPECT_EQ(dsim::clip("\u00e9\u00e9\u00e9", 3), "\u00e9\u00e9\u00e9");
  EXPECT_EQ(dsim::clip(std::string(200'000'000, 'x')).size(),
            std::string(60, 'x').size() + std::string("... (200000000 characters)").size());
}

}  // namespace
