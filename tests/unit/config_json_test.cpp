// model_from_json(): a spec's JSON form read back through the config loader.
// The round trip over every reference config, typed values (integers stay
// integers), --set on a recorded model, relative paths, and JSON that is not
// a model (every mistake a dsim::Error naming the key, never a crash).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "checkpoint/model_identity.hpp"
#include "dsim/dsim.hpp"
#include "dsim/reference_models.hpp"

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

class ModelFromJson : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           (std::string("dsim_config_json_test_") + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    dsim::register_builtins(registry_);
    dsim::register_reference_models(registry_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) {
    const fs::path p = dir_ / name;
    std::ofstream(p) << text;
    return p.string();
  }

  // to_json of the validated spec, without "file" (the one key a round trip
  // changes: it becomes the name given to model_from_json).
  std::string resolved(dsim::ModelSpec spec) {
    dsim::validate(spec, registry_);
    Json j = Json::parse(dsim::to_json(spec));
    j.erase("file");
    return j.dump(2);
  }

  // The message of the dsim::Error that `f` throws, checking its kind.
  template <class F>
  static std::string message(F&& f) {
    try {
      f();
    } catch (const dsim::Error& e) {
      EXPECT_EQ(e.kind(), dsim::Error::Kind::kInput) << e.what();
      return e.what();
    } catch (const std::exception& e) {
      return std::string("not a dsim::Error: ") + e.what();
    }
    return "no error";
  }

  static std::string message_of(const std::string& json,
                                const std::vector<std::string>& overrides = {}) {
    return message([&] { (void)dsim::model_from_json(json, "rec", overrides); });
  }

  fs::path dir_;
  dsim::Registry registry_;
};

// A spec's JSON (integers as integers, floats as floats: the dump tells 2 from
// 2.0) is the same after model_from_json and validate, for every config in
// models/.
TEST_F(ModelFromJson, RoundTripOverEveryReferenceConfig) {
  std::vector<fs::path> configs;
  for (const auto& entry : fs::recursive_directory_iterator(fs::path(DSIM_SOURCE_DIR) / "models"))
    if (entry.is_regular_file() && entry.path().extension() == ".toml")
      configs.push_back(entry.path());
  ASSERT_GE(configs.size(), 10u);
  for (const fs::path& path : configs) {
    SCOPED_TRACE(path.string());
    dsim::ModelSpec spec = dsim::load_model(path.string());
    dsim::validate(spec, registry_);
    const std::string json = dsim::to_json(spec);
    const dsim::ModelSpec back = dsim::model_from_json(json, "x");
    EXPECT_EQ(back.file, "x");
    EXPECT_FALSE(back.validated);
    EXPECT_EQ(resolved(back), resolved(spec));
  }
}

// Every key of the schema away from its default, every topology option, a
// seed above TOML's integers, and the parameters' types.
constexpr const char* kEveryKey = R"toml(
[simulation]
end_time = 100.0
seed = 7
sync = "optimistic"
threads = 2
partitioner = "round_robin"
queue = "quad_heap"
memory_limit = "1GiB"
state_saving = "periodic"
state_saving_period = 4

[[entities]]
name = "a"
type = "phold"
count = 16
params = { remote = 0.25, start_events = 2, mean = 3 }

[[entities]]
name = "q"
type = "queue"
count = 4
params = { servers = 2, service = "exp(mean=0.5)" }

[[links]]
from = "a"
to = "a"
topology = "ring"
k = 2
lookahead = 0.5
weight = 2.5

[[links]]
from = "a"
to = "a"
topology = "grid"
rows = 4
cols = 4

[[links]]
from = "a"
to = "a"
topology = "small_world"
k = 4
p = 0.1

[[links]]
from = "a"
to = "a"
topology = "erdos_renyi"
edges = 20

[[links]]
from = "a"
to = "a"
topology = "edge_list"
file = "edges.csv"
symmetric = true

[[links]]
from = "a"
to = "q"
topology = "random"
degree = 2
lookahead = 0

[[links]]
from = "q"
to = "q"
topology = "all_to_all"

[output]
directory = "out"
sample_interval = 5
formats = ["json"]

[checkpoint]
every = 25
wall_every = "1.5h"
directory = "ck"
keep = 3
)toml";

TEST_F(ModelFromJson, RoundTripOfEveryKey) {
  write("edges.csv", "0,1\n1,2\n2,3,0.5\n");
  const std::string path = write("every.toml", kEveryKey);
  for (const std::vector<std::string>& sets :
       {std::vector<std::string>{}, {"simulation.seed=18446744073709551615"}}) {
    dsim::ModelSpec spec = dsim::load_model(path, sets);
    dsim::validate(spec, registry_);
    const std::string json = dsim::to_json(spec);
    const dsim::ModelSpec back = dsim::model_from_json(json, "x");
    EXPECT_EQ(resolved(back), resolved(spec));

    EXPECT_EQ(back.simulation.seed, spec.simulation.seed);
    EXPECT_EQ(back.groups[0].params.at("start_events"), dsim::ParamValue(std::int64_t{2}));
    EXPECT_EQ(back.groups[0].params.at("mean"), dsim::ParamValue(3.0));
    EXPECT_EQ(back.groups[1].params.at("servers"), dsim::ParamValue(std::int64_t{2}));
    EXPECT_EQ(back.links[0].lookahead, 0.5);
    EXPECT_FALSE(back.links[1].lookahead.has_value());
    EXPECT_EQ(back.links[5].lookahead, 0.0);
    EXPECT_EQ(back.links[4].topology.file, spec.links[4].topology.file);
    EXPECT_TRUE(back.links[4].topology.symmetric);
    EXPECT_EQ(back.checkpoint.every, 25.0);
    EXPECT_EQ(back.checkpoint.wall_every, 5400.0);
    EXPECT_EQ(back.checkpoint.directory, "ck");
    EXPECT_EQ(back.checkpoint.keep, 3u);
  }
}

TEST_F(ModelFromJson, OverridesApplyAsOnAConfig) {
  dsim::ModelSpec spec = dsim::load_model(std::string(DSIM_SOURCE_DIR) + "/models/phold/phold.toml");
  dsim::validate(spec, registry_);
  const std::string json = dsim::to_json(spec);

  const dsim::ModelSpec longer = dsim::model_from_json(json, "x", {"simulation.end_time=50"});
  EXPECT_EQ(longer.simulation.end_time, 50.0);
  EXPECT_EQ(longer.simulation.seed, spec.simulation.seed);
  const dsim::ModelSpec more = dsim::model_from_json(
      json, "x",
      {"entities.phold.params.remote=0.5", "links.0.lookahead=2", "checkpoint.every=5",
       "checkpoint.wall_every=10m", "output.directory=elsewhere"});
  EXPECT_EQ(more.groups[0].params.at("remote"), dsim::ParamValue(0.5));
  EXPECT_EQ(more.links[0].lookahead, 2.0);
  EXPECT_EQ(more.checkpoint.every, 5.0);
  EXPECT_EQ(more.checkpoint.wall_every, 600.0);
  EXPECT_EQ(more.output.directory, "elsewhere");
  EXPECT_EQ(more.groups[0].param_locations.at("remote").str(),
            "x (--set entities.phold.params.remote=0.5)");

  // A bad override gets the loader's usual message, with the name for the file.
  const std::string name = "ckpt-000003 (recorded model)";
  auto bad = [&](const std::string& set) {
    return message([&] { (void)dsim::model_from_json(json, name, {set}); });
  };
  EXPECT_EQ(bad("simulation.end_time=soon"),
            name +
                " (--set simulation.end_time=soon): simulation.end_time: expected a float, got "
                "string \"soon\"");
  EXPECT_EQ(bad("entities.phol.count=3"),
            name +
                ": --set entities.phol.count=3: no entity group named 'phol' (did you mean "
                "'phold'?)");
  EXPECT_EQ(bad("checkpoint.keep=0"),
            name + " (--set checkpoint.keep=0): checkpoint.keep: must be >= 1 (got 0)");
  EXPECT_EQ(bad("simulation.end_time"), name + ": --set simulation.end_time: expected key.path=value");
}

// The [checkpoint] keys say how a run goes: a resume may change them, so they
// are not part of the model a checkpoint records (its canonical text).
TEST_F(ModelFromJson, CheckpointKeysAreNotPartOfTheModel) {
  const std::string phold = std::string(DSIM_SOURCE_DIR) + "/models/phold/phold.toml";
  auto canonical = [&](const std::vector<std::string>& sets) {
    dsim::ModelSpec spec = dsim::load_model(phold, sets);
    dsim::validate(spec, registry_);
    return dsim::checkpoint::canonical_text(spec);
  };
  const std::string base = canonical({});
  EXPECT_EQ(canonical({"checkpoint.every=5", "checkpoint.wall_every=10m",
                       "checkpoint.directory=elsewhere", "checkpoint.keep=9"}),
            base);
  EXPECT_EQ(base.find("checkpoint"), std::string::npos) << base;
}

// Paths stay as recorded: a relative one is taken relative to the current
// directory (not to any config's).
TEST_F(ModelFromJson, RelativePathsAreRelativeToTheCurrentDirectory) {
  write("edges.csv", "0,1\n");
  const std::string relative = fs::relative(dir_ / "edges.csv", fs::current_path()).string();
  ASSERT_TRUE(fs::path(relative).is_relative()) << relative;
  auto model = [](const std::string& file) {
    Json j = {{"simulation", {{"end_time", 10.0}}},
              {"entities", {{{"name", "a"}, {"type", "phold"}, {"count", 4}}}},
              {"links",
               {{{"from", "a"},
                 {"to", "a"},
                 {"topology", {{"kind", "edge_list"}, {"file", file}, {"symmetric", false}}},
                 {"lookahead", nullptr},
                 {"weight", 1.0}}}},
              {"checkpoint", {{"directory", "ckpts/run"}}},
              {"output", {{"directory", "out/run"}}}};
    return j.dump();
  };
  const dsim::ModelSpec spec = dsim::model_from_json(model(relative), "rec");
  EXPECT_EQ(fs::path(spec.links[0].topology.file),
            fs::absolute(dir_ / "edges.csv").lexically_normal());
  EXPECT_FALSE(spec.links[0].lookahead.has_value());
  // Directories are kept as written, as from a config.
  EXPECT_EQ(spec.output.directory, "out/run");
  EXPECT_EQ(spec.checkpoint.directory, "ckpts/run");

  const std::string missing = message_of(model("no/such/edges.csv"));
  EXPECT_EQ(missing, "rec: links[0].file: edge list file \"no/such/edges.csv\" not found (looked "
                     "for " +
                         (fs::current_path() / "no/such/edges.csv").lexically_normal().string() +
                         ")");
}

TEST_F(ModelFromJson, EmptyCheckpointDirectoryIsTheDefault) {
  const std::string json =
      R"({"simulation": {"end_time": 1}, "entities": [{"name": "a", "type": "phold"}],
          "checkpoint": {"every": 0, "wall_every": 0, "directory": "", "keep": 2}})";
  const dsim::ModelSpec spec = dsim::model_from_json(json, "rec");
  EXPECT_EQ(spec.checkpoint.directory, "");
  EXPECT_EQ(spec.checkpoint.keep, 2u);
  // The config form of the same JSON works too (a topology kind as a string).
  const dsim::ModelSpec plain = dsim::model_from_json(
      R"({"simulation": {"end_time": 1}, "entities": [{"name": "a", "type": "phold", "count": 3}],
          "links": [{"from": "a", "to": "a", "topology": "ring", "k": 1}]})",
      "rec");
  EXPECT_EQ(plain.links[0].topology.kind, "ring");
  EXPECT_EQ(plain.links[0].topology.k, 1);
}

// JSON that is not a model: one dsim::Error naming the name and, where there
// is one, the key.
TEST_F(ModelFromJson, NotAModelIsAnErrorNamingTheKey) {
  const std::string base_entities = R"("entities": [{"name": "a", "type": "phold"}])";
  auto with = [&](const std::string& simulation) {
    return "{\"simulation\": " + simulation + ", " + base_entities + "}";
  };
  EXPECT_EQ(message_of("").rfind("rec: not a model in JSON: parse error at line 1, column 1", 0),
            0u)
      << message_of("");
  EXPECT_EQ(message_of("{").rfind("rec: not a model in JSON: parse error at line 1, column 2", 0),
            0u)
      << message_of("{");
  EXPECT_EQ(message_of("not json").rfind("rec: not a model in JSON: parse error", 0), 0u);
  EXPECT_EQ(message_of("{\"simulation\": {\"end_time\": 1}} trailing")
                .rfind("rec: not a model in JSON: parse error", 0),
            0u);
  EXPECT_EQ(message_of("[1, 2]"), "rec: expected a model as a JSON object, got an array");
  EXPECT_EQ(message_of("42"), "rec: expected a model as a JSON object, got a number");
  EXPECT_EQ(message_of("{}"),
            "rec: simulation: missing required table [simulation] (it needs end_time)");
  EXPECT_EQ(message_of("{\"simulation\": 5}"), "rec: simulation: expected a table, got integer 5");
  EXPECT_EQ(message_of(with("{\"end_time\": \"soon\"}")),
            "rec: simulation.end_time: expected a float, got string \"soon\"");
  EXPECT_EQ(message_of(with("{\"end_time\": 1, \"bogus\": 1}")),
            "rec: simulation.bogus: unknown key (known keys: end_time, seed, sync, threads, "
            "partitioner, queue, memory_limit, state_saving, state_saving_period, plugins, "
            "topology_seed)");
  EXPECT_EQ(message_of(with("{\"end_time\": 1, \"threads\": 18446744073709551615}")),
            "rec: simulation.threads: 18446744073709551615 is too large (at most "
            "9223372036854775807)");
  EXPECT_EQ(message_of(with("{\"end_time\": 1, \"seed\": -1}")),
            "rec: simulation.seed: must be >= 0 (got -1)");
  EXPECT_EQ(message_of(with("{\"end_time\": 1}").insert(1, "\"plugins\": [null], ")),
            "rec: plugins[0]: expected a value, got null");
  EXPECT_EQ(message_of(with("{\"end_time\": 1}").insert(1, "\"checkpoint\": {\"keep\": 0}, ")),
            "rec: checkpoint.keep: must be >= 1 (got 0)");
  EXPECT_EQ(message_of(with("{\"end_time\": 1}").insert(1, "\"checkpoint\": {\"wall_every\": \"1d\"}, ")),
            "rec: checkpoint.wall_every: not a duration: \"1d\" (write seconds as a number, or a "
            "number and a unit s, m or h, e.g. \"90s\", \"10m\", \"1.5h\")");

  const std::string link_head = R"({"simulation": {"end_time": 1},
    "entities": [{"name": "a", "type": "phold", "count": 4}], "links": [)";
  EXPECT_EQ(message_of(link_head + R"({"from": "a", "to": "a", "topology": {"k": 1}}]})"),
            "rec: links[0].topology.kind: expected the topology's kind as a string");
  EXPECT_EQ(message_of(link_head +
                       R"({"from": "a", "to": "a", "k": 2, "topology": {"kind": "ring", "k": 1}}]})"),
            "rec: links[0].topology.k: given both in the topology and in the link as 'k'");
  EXPECT_EQ(message_of(link_head +
                       R"({"from": "a", "to": "a", "topology": {"kind": "ring", "p": 0.5}}]})"),
            "rec: links[0].p: option 'p' does not apply to topology 'ring' (it takes k)");
  EXPECT_EQ(message_of(link_head + R"(5]})"), "rec: links[0]: expected a table, got integer 5");

  // Deep nesting is refused, not recursed into.
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_EQ(message_of(deep), "rec: expected a model as a JSON object, got an array");
  const std::string nested =
      R"({"simulation": {"end_time": 1}, "entities": [{"name": "a", "type": "phold",
          "params": {"p": )" +
      std::string(100000, '[') + std::string(100000, ']') + "}}]}";
  EXPECT_EQ(message_of(nested).rfind("rec: entities[0].params.p", 0), 0u) << message_of(nested);
  EXPECT_NE(message_of(nested).find("nested deeper than any model's values"), std::string::npos);
  // A parameter that is a table: the loader's message.
  EXPECT_EQ(message_of(R"({"simulation": {"end_time": 1}, "entities": [{"name": "a",
                          "type": "phold", "params": {"p": {"x": 1}}}]})"),
            "rec: entities[0].params.p: a parameter is a boolean, integer, float or string, got "
            "table");
}

}  // namespace
