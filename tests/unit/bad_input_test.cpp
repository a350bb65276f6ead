// Bad configs and bad --set overrides: each must fail with ONE dsim::Error of
// kind kInput whose single-line message names the file, the line (where the
// mistake has one) and the key, and says what is wrong.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "dsim/dsim.hpp"

namespace {

namespace fs = std::filesystem;

struct Gadget {
  struct State {
    int n = 0;
  };
  struct Nudge {
    static constexpr std::string_view dsim_name = "gadget.nudge";
  };
  using Events = dsim::Events<Nudge>;
  static void declare(dsim::ParamSpec& p) {
    p.add("remote", 0.1, "probability of a remote send");
    p.add("burst", 1, "events per burst");
    p.add("verbose", false, "chatty");
    p.add_distribution("service", "exp(mean=1)", "service time");
    p.required<std::int64_t>("servers", "number of servers");
  }
  explicit Gadget(dsim::Setup&) {}
  void on(State& s, const Nudge&, dsim::Context&) const { ++s.n; }
};

struct Bare {
  struct State {
    int n = 0;
  };
  struct Nudge {
    static constexpr std::string_view dsim_name = "bare.nudge";
  };
  using Events = dsim::Events<Nudge>;
  explicit Bare(dsim::Setup&) {}
  void on(State&, const Nudge&, dsim::Context&) const {}
};

// A valid config every case starts from; lines are numbered on the right.
constexpr const char* kGood = R"toml([simulation]
end_time = 100.0
seed = 1

[[entities]]
name = "hosts"
type = "gadget"
count = 16
params = { servers = 2 }

[[entities]]
name = "sinks"
type = "bare"

[[links]]
from = "hosts"
to = "hosts"
topology = "ring"
k = 2
lookahead = 1.0
)toml";
//  1 [simulation]          8 count = 16              15 [[links]]
//  2 end_time = 100.0      9 params = {...}          16 from = "hosts"
//  3 seed = 1             10                         17 to = "hosts"
//  4                      11 [[entities]]            18 topology = "ring"
//  5 [[entities]]         12 name = "sinks"          19 k = 2
//  6 name = "hosts"       13 type = "bare"           20 lookahead = 1.0
//  7 type = "gadget"      14

struct BadCase {
  const char* name;
  std::string config;                  // file text (the case's file is "<name>.toml")
  std::vector<std::string> overrides;  // --set texts
  // Substrings the message must contain, after "<file>" (e.g. ":8:9: entities[0].count: ").
  std::vector<std::string> expect;
  bool needs_registry = false;  // the mistake is found by validate(), not load_model()
};

std::string replace(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  if (at == std::string::npos) throw std::logic_error("fixture text not found: " + from);
  return text.replace(at, from.size(), to);
}
std::string good() { return kGood; }
std::string with(const std::string& from, const std::string& to) {
  return replace(kGood, from, to);
}

std::vector<BadCase> cases() {
  return {
      // ---- TOML itself and the file ----
      {"toml_syntax", with("seed = 1", "seed = = 1"), {}, {":3:8: "}},
      {"toml_duplicate_key", with("seed = 1", "seed = 1\nseed = 2"), {}, {":4:", "seed"}},
      {"toml_unterminated_string", with("\"gadget\"", "\"gadget"), {}, {":7:"}},
      // ---- unknown keys ----
      {"unknown_top_key",
       with("[simulation]", "[simulaton]"),
       {},
       {":1:2: simulaton: unknown key (did you mean 'simulation'?)"}},
      {"unknown_simulation_key",
       with("seed = 1", "sed = 1"),
       {},
       {":3:1: simulation.sed: unknown key (did you mean 'seed'?)"}},
      {"unknown_group_key",
       with("count = 16", "cont = 16"),
       {},
       {":8:1: entities[0].cont: unknown key (did you mean 'count'?)"}},
      {"unknown_link_key",
       with("k = 2", "kk = 2"),
       {},
       {":19:1: links[0].kk: unknown key (did you mean 'k'?)"}},
      {"unknown_output_key",
       good() + "[output]\ndirectroy = \"x\"\n",
       {},
       {":22:1: output.directroy: unknown key (did you mean 'directory'?)"}},
      {"unknown_key_far_from_any",
       with("seed = 1", "colour = 1"),
       {},
       {":3:1: simulation.colour: unknown key (known keys: end_time, seed, "}},
      // ---- [simulation] ----
      {"simulation_missing",
       with("[simulation]\nend_time = 100.0\nseed = 1\n", ""),
       {},
       {": simulation: missing required table [simulation]"}},
      {"end_time_missing",
       with("end_time = 100.0", ""),
       {},
       {":1:1: simulation: missing required key 'end_time'"}},
      {"end_time_zero",
       with("end_time = 100.0", "end_time = 0"),
       {},
       {":2:12: simulation.end_time: must be > 0 (got 0.0)"}},
      {"end_time_negative",
       with("end_time = 100.0", "end_time = -5.5"),
       {},
       {":2:12: simulation.end_time: must be > 0 (got -5.5)"}},
      {"end_time_infinite",
       with("end_time = 100.0", "end_time = inf"),
       {},
       {":2:12: simulation.end_time: must be a finite number (got inf)"}},
      {"end_time_wrong_type",
       with("end_time = 100.0", "end_time = \"soon\""),
       {},
       {":2:12: simulation.end_time: expected a float, got string \"soon\""}},
      {"seed_negative",
       with("seed = 1", "seed = -1"),
       {},
       {":3:8: simulation.seed: must be >= 0 (got -1)"}},
      {"seed_float",
       with("seed = 1", "seed = 1.5"),
       {},
       {":3:8: simulation.seed: expected an integer from 0 to 18446744073709551615 (above "
        "9223372036854775807 also as a string of digits), got float 1.5"}},
      {"seed_text",
       with("seed = 1", "seed = \"lucky\""),
       {},
       {":3:8: simulation.seed: expected an integer from 0 to 18446744073709551615",
        "got string \"lucky\""}},
      {"seed_above_64_bits",
       with("seed = 1", "seed = \"18446744073709551616\""),
       {},
       {":3:8: simulation.seed: expected an integer", "got string \"18446744073709551616\""}},
      {"override_seed_negative",
       good(),
       {"simulation.seed=-1"},
       {" (--set simulation.seed=-1): simulation.seed: must be >= 0 (got -1)"}},
      {"unknown_sync",
       with("seed = 1", "sync = \"optimstic\""),
       {},
       {":3:8: simulation.sync: unknown sync mode 'optimstic' (did you mean 'optimistic'?) "
        "(expected auto, sequential, conservative or optimistic)"}},
      {"unknown_partitioner",
       with("seed = 1", "partitioner = \"metis\""),
       {},
       {":3:15: simulation.partitioner: unknown partitioner 'metis' (expected block, "
        "round_robin or graph)"}},
      {"unknown_queue",
       with("seed = 1", "queue = \"calendar\""),
       {},
       {":3:9: simulation.queue: unknown event queue 'calendar'"}},
      {"threads_negative",
       with("seed = 1", "threads = -4"),
       {},
       {":3:11: simulation.threads: must be >= 0 (got -4)"}},
      {"threads_wrong_type",
       with("seed = 1", "threads = \"many\""),
       {},
       {":3:11: simulation.threads: expected an integer, got string \"many\""}},
      {"memory_limit_bad_size",
       with("seed = 1", "memory_limit = \"2 gigs\""),
       {},
       {":3:16: simulation.memory_limit: not a size: \"2 gigs\""}},
      {"state_saving_unknown",
       with("seed = 1", "state_saving = \"every_other\""),
       {},
       {":3:16: simulation.state_saving: unknown state saving mode 'every_other' (expected "
        "every_event or periodic)"}},
      {"state_saving_typo",
       with("seed = 1", "state_saving = \"periodc\""),
       {},
       {":3:16: simulation.state_saving: unknown state saving mode 'periodc' (did you mean "
        "'periodic'?)"}},
      {"state_saving_wrong_type",
       with("seed = 1", "state_saving = 1"),
       {},
       {":3:16: simulation.state_saving: expected a string, got integer 1"}},
      {"state_saving_period_zero",
       with("seed = 1", "state_saving_period = 0"),
       {},
       {":3:23: simulation.state_saving_period: must be >= 1 (got 0)"}},
      {"state_saving_period_negative",
       with("seed = 1", "state_saving_period = -8"),
       {},
       {":3:23: simulation.state_saving_period: must be >= 1 (got -8)"}},
      {"state_saving_period_too_large",
       with("seed = 1", "state_saving_period = 1000001"),
       {},
       {":3:23: simulation.state_saving_period: must be <= 1000000 (got 1000001)"}},
      {"state_saving_period_float",
       with("seed = 1", "state_saving_period = 2.5"),
       {},
       {":3:23: simulation.state_saving_period: expected an integer, got float 2.5"}},
      {"state_saving_period_string",
       with("seed = 1", "state_saving_period = \"often\""),
       {},
       {":3:23: simulation.state_saving_period: expected an integer, got string \"often\""}},
      {"plugin_not_found",
       with("seed = 1", "plugins = [\"libnothere.so\"]"),
       {},
       {":3:12: simulation.plugins[0]: plugin file \"libnothere.so\" not found"}},
      // ---- [[entities]] ----
      {"entities_missing", "[simulation]\nend_time = 1.0\n", {}, {": entities: no entity groups"}},
      {"entities_not_tables",
       "entities = 5\n[simulation]\nend_time = 1.0\n",
       {},
       {":1:12: entities: expected an array of tables ([[entities]]), got integer"}},
      {"group_name_missing",
       with("name = \"sinks\"\n", ""),
       {},
       {":11:1: entities[1]: missing required key 'name'"}},
      {"group_type_missing",
       with("type = \"bare\"\n", ""),
       {},
       {":11:1: entities[1]: missing required key 'type'"}},
      {"group_name_not_identifier",
       with("name = \"sinks\"", "name = \"2sinks\""),
       {},
       {":12:8: entities[1].name: group name \"2sinks\" is not an identifier"}},
      {"duplicate_group",
       with("name = \"sinks\"", "name = \"hosts\""),
       {},
       {":12:8: entities[1].name: duplicate group name 'hosts' (first defined at ", ":5:1)"}},
      {"count_negative",
       with("count = 16", "count = -3"),
       {},
       {":8:9: entities[0].count: must be >= 1 (got -3)"}},
      {"count_zero",
       with("count = 16", "count = 0"),
       {},
       {":8:9: entities[0].count: must be >= 1 (got 0)"}},
      {"count_float",
       with("count = 16", "count = 2.5"),
       {},
       {":8:9: entities[0].count: expected an integer, got float 2.5"}},
      {"count_too_large",
       with("count = 16", "count = 4294967295"),
       {},
       {":8:9: entities[0].count: must be < 4294967295 (got 4294967295)"}},
      {"params_nested_table",
       with("params = { servers = 2 }", "params = { servers = { n = 2 } }"),
       {},
       {":9:22: entities[0].params.servers: a parameter is a boolean, integer, float or "
        "string, got table"}},
      {"params_not_table",
       with("params = { servers = 2 }", "params = 2"),
       {},
       {":9:10: entities[0].params: expected a table, got integer 2"}},
      // ---- [[links]] ----
      {"link_unknown_group",
       with("to = \"hosts\"", "to = \"hots\""),
       {},
       {":17:6: links[0].to: no entity group named 'hots' (did you mean 'hosts'?)"}},
      {"link_unknown_group_lists_groups",
       with("from = \"hosts\"", "from = \"routers\""),
       {},
       {":16:8: links[0].from: no entity group named 'routers' (groups: hosts, sinks)"}},
      {"link_missing_from",
       with("from = \"hosts\"\n", ""),
       {},
       {":15:1: links[0]: missing required key 'from'"}},
      {"unknown_topology",
       with("\"ring\"", "\"rings\""),
       {},
       {":18:12: links[0].topology: unknown topology 'rings' (did you mean 'ring'?)"}},
      {"option_not_applicable",
       with("topology = \"ring\"", "topology = \"all_to_all\""),
       {},
       {":19:5: links[0].k: option 'k' does not apply to topology 'all_to_all' (it takes no "
        "options)"}},
      {"option_for_another_kind",
       with("k = 2", "degree = 2"),
       {},
       {":19:10: links[0].degree: option 'degree' does not apply to topology 'ring' (it takes "
        "k)"}},
      {"p_out_of_range",
       with("topology = \"ring\"\nk = 2", "topology = \"erdos_renyi\"\np = 1.5"),
       {},
       {":19:5: links[0].p: must be in [0, 1] (got 1.5)"}},
      {"topology_check_fails", with("k = 2", "k = 0"), {}, {":15:1: links[0]: "}},
      {"edge_file_missing",
       with("topology = \"ring\"\nk = 2", "topology = \"edge_list\"\nfile = \"nothere.csv\""),
       {},
       {":19:8: links[0].file: edge list file \"nothere.csv\" not found (looked for "}},
      {"edge_file_not_given",
       with("topology = \"ring\"\nk = 2", "topology = \"edge_list\""),
       {},
       {":15:1: links[0]: missing required key 'file'"}},
      {"lookahead_negative",
       with("lookahead = 1.0", "lookahead = -0.5"),
       {},
       {":20:13: links[0].lookahead: must be >= 0 (got -0.5)"}},
      {"lookahead_nan",
       with("lookahead = 1.0", "lookahead = nan"),
       {},
       {":20:13: links[0].lookahead: must be a finite number (got nan)"}},
      {"weight_zero",
       with("lookahead = 1.0", "weight = 0"),
       {},
       {":20:10: links[0].weight: must be > 0 (got 0.0)"}},
      // ---- [output] ----
      {"output_unknown_format",
       good() + "[output]\nformats = [\"csv\", \"xml\"]\n",
       {},
       {":22:19: output.formats[1]: unknown output format 'xml' (expected csv or json)"}},
      {"output_format_not_string",
       good() + "[output]\nformats = [1]\n",
       {},
       {":22:12: output.formats[0]: expected a string, got integer 1"}},
      {"output_sample_interval_negative",
       good() + "[output]\nsample_interval = -1\n",
       {},
       {":22:19: output.sample_interval: must be >= 0 (got -1.0)"}},
      // ---- [checkpoint] ----
      {"checkpoint_unknown_key",
       good() + "[checkpoint]\nevry = 5\n",
       {},
       {":22:1: checkpoint.evry: unknown key (did you mean 'every'?)"}},
      {"checkpoint_unknown_key_far_from_any",
       good() + "[checkpoint]\nretain = 5\n",
       {},
       {":22:1: checkpoint.retain: unknown key (known keys: every, wall_every, directory, "
        "keep)"}},
      {"checkpoint_not_a_table",
       good(),
       {"checkpoint=5"},
       {" (--set checkpoint=5): checkpoint: expected a table, got integer 5"}},
      {"checkpoint_every_negative",
       good() + "[checkpoint]\nevery = -1\n",
       {},
       {":22:9: checkpoint.every: must be >= 0 (got -1.0)"}},
      {"checkpoint_every_string",
       good() + "[checkpoint]\nevery = \"10\"\n",
       {},
       {":22:9: checkpoint.every: expected a float, got string \"10\""}},
      {"checkpoint_every_infinite",
       good() + "[checkpoint]\nevery = inf\n",
       {},
       {":22:9: checkpoint.every: must be a finite number (got inf)"}},
      {"checkpoint_wall_every_unit",
       good() + "[checkpoint]\nwall_every = \"500ms\"\n",
       {},
       {":22:14: checkpoint.wall_every: not a duration: \"500ms\" (write seconds as a number, "
        "or a number and a unit s, m or h, e.g. \"90s\", \"10m\", \"1.5h\")"}},
      {"checkpoint_wall_every_negative",
       good() + "[checkpoint]\nwall_every = -5\n",
       {},
       {":22:14: checkpoint.wall_every: must be >= 0 (got -5)"}},
      {"checkpoint_wall_every_nan",
       good() + "[checkpoint]\nwall_every = nan\n",
       {},
       {":22:14: checkpoint.wall_every: must be a finite number (got nan)"}},
      {"checkpoint_wall_every_boolean",
       good() + "[checkpoint]\nwall_every = true\n",
       {},
       {":22:14: checkpoint.wall_every: expected a number of seconds or a duration string, got "
        "boolean true"}},
      {"checkpoint_directory_empty",
       good() + "[checkpoint]\ndirectory = \"\"\n",
       {},
       {":22:13: checkpoint.directory: must not be empty (leave it out for the output directory "
        "+ \".checkpoints\")"}},
      {"checkpoint_directory_not_string",
       good() + "[checkpoint]\ndirectory = [\"a\"]\n",
       {},
       {":22:13: checkpoint.directory: expected a string, got array [ 'a' ]"}},
      {"checkpoint_keep_zero",
       good() + "[checkpoint]\nkeep = 0\n",
       {},
       {":22:8: checkpoint.keep: must be >= 1 (got 0)"}},
      {"checkpoint_keep_float",
       good() + "[checkpoint]\nkeep = 1.5\n",
       {},
       {":22:8: checkpoint.keep: expected an integer, got float 1.5"}},
      {"checkpoint_keep_too_large",
       good() + "[checkpoint]\nkeep = 4294967296\n",
       {},
       {":22:8: checkpoint.keep: too large (got 4294967296)"}},
      {"override_checkpoint_keep_zero",
       good(),
       {"checkpoint.keep=0"},
       {" (--set checkpoint.keep=0): checkpoint.keep: must be >= 1 (got 0)"}},
      {"override_checkpoint_wall_every_words",
       good(),
       {"checkpoint.wall_every=10 minutes"},
       {" (--set checkpoint.wall_every=10 minutes): checkpoint.wall_every: not a duration: "
        "\"10 minutes\""}},
      {"override_checkpoint_unknown_key",
       good(),
       {"checkpoint.evrey=5"},
       {" (--set checkpoint.evrey=5): checkpoint.evrey: unknown key (did you mean 'every'?)"}},
      // ---- found by validate() ----
      {"unknown_entity_type",
       with("type = \"bare\"", "type = \"gadgett\""),
       {},
       {":11:1: entities[1].type: unknown entity type 'gadgett' (did you mean 'gadget'?) "
        "(known types: bare, gadget)"},
       true},
      {"unknown_entity_type_lists_known",
       with("type = \"bare\"", "type = \"router\""),
       {},
       {":11:1: entities[1].type: unknown entity type 'router' (known types: bare, gadget)"},
       true},
      {"unknown_param",
       with("params = { servers = 2 }", "params = { servers = 2, remot = 0.5 }"),
       {},
       {":9:33: entities[0].params.remot: unknown parameter 'remot' for entity type 'gadget' "
        "(did you mean 'remote'?)"},
       true},
      {"param_wrong_type",
       with("params = { servers = 2 }", "params = { servers = \"two\" }"),
       {},
       {":9:22: entities[0].params.servers: expected an int, got string \"two\""},
       true},
      {"param_float_for_int",
       with("params = { servers = 2 }", "params = { servers = 2.0 }"),
       {},
       {":9:22: entities[0].params.servers: expected an int, got real 2.0"},
       true},
      {"param_bool_for_real",
       with("params = { servers = 2 }", "params = { servers = 2, remote = true }"),
       {},
       {":9:34: entities[0].params.remote: expected a real, got bool true"},
       true},
      {"param_required_missing",
       with("params = { servers = 2 }", "params = { burst = 2 }"),
       {},
       {":5:1: entities[0].params: missing required parameter 'servers' (int: number of "
        "servers) of entity type 'gadget'"},
       true},
      {"param_bad_distribution",
       with("params = { servers = 2 }", "params = { servers = 2, service = \"exp(mena=1)\" }"),
       {},
       {":9:35: entities[0].params.service: bad distribution \"exp(mena=1)\": "},
       true},
      {"param_distribution_not_string",
       with("params = { servers = 2 }", "params = { servers = 2, service = 3 }"),
       {},
       {":9:35: entities[0].params.service: expected a distribution string"},
       true},
      {"param_unknown_for_parameterless_type",
       with("type = \"bare\"", "type = \"bare\"\nparams = { x = 1 }"),
       {},
       {":14:16: entities[1].params.x: unknown parameter 'x' for entity type 'bare' (it takes "
        "no parameters)"},
       true},
      // ---- overrides ----
      {"override_unknown_group",
       good(),
       {"entities.nope.count=1"},
       {": --set entities.nope.count=1: no entity group named 'nope'"}},
      {"override_link_index",
       good(),
       {"links.3.lookahead=0.5"},
       {": --set links.3.lookahead=0.5: no link with index 3 (the config has 1)"}},
      {"override_without_value",
       good(),
       {"simulation.end_time"},
       {": --set simulation.end_time: expected key.path=value"}},
      {"override_empty_component",
       good(),
       {"simulation..seed=3"},
       {": --set simulation..seed=3: empty component in key 'simulation..seed'"}},
      {"override_through_a_value",
       good(),
       {"simulation.seed.x=3"},
       {": --set simulation.seed.x=3: 'simulation.seed' is not a table (it is an integer)"}},
      {"override_unknown_key",
       good(),
       {"simulation.end_tim=3"},
       {" (--set simulation.end_tim=3): simulation.end_tim: unknown key (did you mean "
        "'end_time'?)"}},
      {"override_bad_value",
       good(),
       {"simulation.end_time=soon"},
       {" (--set simulation.end_time=soon): simulation.end_time: expected a float, got string "
        "\"soon\""}},
      {"override_bad_param",
       good(),
       {"entities.hosts.params.servers=many"},
       {" (--set entities.hosts.params.servers=many): entities[0].params.servers: expected an "
        "int, got string \"many\""},
       true},
      {"override_state_saving",
       good(),
       {"simulation.state_saving=sometimes"},
       {" (--set simulation.state_saving=sometimes): simulation.state_saving: unknown state "
        "saving mode 'sometimes' (expected every_event or periodic)"}},
      {"override_state_saving_period_zero",
       good(),
       {"simulation.state_saving_period=0"},
       {" (--set simulation.state_saving_period=0): simulation.state_saving_period: must be "
        ">= 1 (got 0)"}},
      {"override_state_saving_period_word",
       good(),
       {"simulation.state_saving_period=often"},
       {" (--set simulation.state_saving_period=often): simulation.state_saving_period: "
        "expected an integer, got string \"often\""}},
      {"override_count_zero",
       good(),
       {"entities.sinks.count=0"},
       {" (--set entities.sinks.count=0): entities[1].count: must be >= 1 (got 0)"}},
  };
}

class BadInput : public ::testing::TestWithParam<BadCase> {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           (std::string("dsim_bad_input_") + std::to_string(::getpid()) + "_" + GetParam().name);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    registry_.add<Gadget>("gadget", "test type with parameters");
    registry_.add<Bare>("bare", "test type without parameters");
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
  dsim::Registry registry_;
};

TEST_P(BadInput, FailsWithOneMessageNamingFileLineAndKey) {
  const BadCase& c = GetParam();
  const fs::path path = dir_ / (std::string(c.name) + ".toml");
  std::ofstream(path) << c.config;

  std::string message;
  bool loaded = false;
  try {
    dsim::ModelSpec spec = dsim::load_model(path.string(), c.overrides);
    loaded = true;
    dsim::validate(spec, registry_);
    FAIL() << "no error for " << c.name << "; spec:\n" << dsim::to_json(spec);
  } catch (const dsim::Error& e) {
    EXPECT_EQ(e.kind(), dsim::Error::Kind::kInput);
    message = e.what();
  }
  EXPECT_EQ(loaded, c.needs_registry) << message;
  // The message starts with the file's path and is one line.
  EXPECT_EQ(message.rfind(path.string(), 0), 0u) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  for (const std::string& part : c.expect)
    EXPECT_NE(message.find(part), std::string::npos)
        << "message:  " << message << "\nexpected: " << part;
}

INSTANTIATE_TEST_SUITE_P(Configs, BadInput, ::testing::ValuesIn(cases()),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(BadInputFile, MissingFile) {
  const std::string path = "/nonexistent/dir/model.toml";
  try {
    (void)dsim::load_model(path);
    FAIL() << "expected an error";
  } catch (const dsim::Error& e) {
    EXPECT_EQ(std::string(e.what()), path + ": cannot read config file: no such file");
  }
}

TEST(BadInputFile, Directory) {
  try {
    (void)dsim::load_model(fs::temp_directory_path().string());
    FAIL() << "expected an error";
  } catch (const dsim::Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot read config file: it is a directory"),
              std::string::npos);
  }
}

// The first mistake in a file is reported the same way every time.
TEST(BadInputFile, MessageIsDeterministic) {
  const fs::path path =
      fs::temp_directory_path() / ("dsim_bad_input_det_" + std::to_string(::getpid()) + ".toml");
  std::ofstream(path) << with("count = 16", "count = -3\nzzz = 1");
  std::string first;
  for (int i = 0; i < 3; ++i) {
    try {
      (void)dsim::load_model(path.string());
    } catch (const dsim::Error& e) {
      if (i == 0) first = e.what();
      EXPECT_EQ(first, e.what());
    }
  }
  EXPECT_NE(first.find("zzz: unknown key"), std::string::npos) << first;
  fs::remove(path);
}

// A huge value (a 200 MB --set) is repeated cut to a readable length, saying
// how long it was, wherever it is quoted: the --set text, the value, the key.
TEST(BadInputHugeValue, MessagesClipTheValue) {
  const fs::path path =
      fs::temp_directory_path() / ("dsim_bad_input_huge_" + std::to_string(::getpid()) + ".toml");
  std::ofstream(path) << kGood;
  const std::string huge(10'000'000, 'z');
  const std::string long_name = "n" + std::string(9'999'999, 'z');
  dsim::Registry registry;
  registry.add<Gadget>("gadget", "test type with parameters");
  registry.add<Bare>("bare", "test type without parameters");
  const std::vector<std::string> overrides = {
      "simulation.seed=" + huge,
      "simulation.end_time=" + huge,
      "simulation.sync=" + huge,
      "simulation." + huge + "=1",
      "entities." + huge + ".count=1",
      "entities.hosts.name=" + huge,
      "entities.hosts.name=" + long_name,
      "entities.hosts.type=" + huge,
      "entities.hosts.params.remote=" + huge,
      "entities.hosts.params.service=" + huge,
      "entities.hosts.params." + huge + "=1",
      "links.0.from=" + huge,
      "output.formats=[\"" + huge + "\"]",
      huge,
  };
  for (const std::string& set : overrides) {
    SCOPED_TRACE(set.substr(0, 40));
    std::string message;
    try {
      dsim::ModelSpec spec = dsim::load_model(path.string(), {set});
      dsim::validate(spec, registry);
    } catch (const dsim::Error& e) {
      EXPECT_EQ(e.kind(), dsim::Error::Kind::kInput);
      message = e.what();
    }
    EXPECT_FALSE(message.empty());
    EXPECT_LT(message.size(), 600u) << message.substr(0, 600);
    EXPECT_NE(message.find(" characters)"), std::string::npos) << message.substr(0, 600);
  }
  fs::remove(path);
}

}  // namespace
