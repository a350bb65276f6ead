// A model as declared: what a TOML config says, or what a program builds in
// code. load_model() reads a config; validate() checks it against a Registry
// (types, parameters, links) and resolves defaults. Simulation runs a
// validated spec.
//
//   dsim::Registry registry;
//   dsim::register_builtins(registry);
//   dsim::register_reference_models(registry);  // dsim/reference_models.hpp
//   dsim::ModelSpec spec = dsim::load_model("models/phold/phold.toml", {"simulation.end_time=500"});
//   dsim::validate(spec, registry);
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dsim/export.hpp"
#include "dsim/params.hpp"
#include "dsim/types.hpp"

namespace dsim {

class Registry;

// Where a value came from, for error messages: "model.toml:12:5".
struct SourceLocation {
  std::string file;  // empty for specs built in code
  int line = 0;
  int column = 0;
  DSIM_API std::string str() const;  // "file:line:column", "file", or "<code>"
};

struct SimulationSpec {
  Time end_time = 0;  // events with time < end_time are processed; required, > 0
  std::uint64_t seed = 1;
  // The seed of the random topologies (erdos_renyi, random_regular,
  // small_world, scale_free, random links); empty: `seed`. With it set the
  // topology stays the same when `seed` changes (replications of one
  // network), and Simulation::reseeded() shares it instead of building it.
  std::optional<std::uint64_t> topology_seed;
  // "auto", "sequential", "conservative", "optimistic".
  std::string sync = "auto";
  // Worker threads (= partitions per process); 0: one per core.
  std::uint32_t threads = 0;
  // "block", "round_robin", "graph".
  std::string partitioner = "block";
  // Event queue implementation: "binary_heap" (the default: fastest in the
  // PHOLD benchmarks, docs/benchmarks.md) or "quad_heap" (4-ary).
  std::string queue = "binary_heap";
  // Cap on optimistic-engine memory in bytes; 0: a fraction of RAM.
  std::uint64_t memory_limit = 0;
  // Optimistic engine: "every_event" (copy the entity's state before each
  // event) or "periodic" (every `state_saving_period`-th event of an entity;
  // a rollback restores the last copy and re-executes forward to the
  // straggler, "coast-forward"). Types with reverse handlers use them instead.
  std::string state_saving = "every_event";
  std::uint32_t state_saving_period = 8;
  SourceLocation location;
};

struct GroupSpec {
  std::string name;
  std::string type;
  std::uint64_t count = 1;
  // Values as written, then (after validate) every declared parameter, typed.
  std::map<std::string, ParamValue, std::less<>> params;
  std::map<std::string, SourceLocation, std::less<>> param_locations;
  SourceLocation location;
};

// Options of the topology generators; which ones apply depends on `kind`.
//   one_to_one      from i -> to i (equal counts)
//   all_to_all      every from -> every to (no self-loops within a group)
//   any             no edges: declares that from may send to any member of to
//   ring            within a group: k nearest on each side (default k = 1)
//   grid, torus     within a group: rows x cols (default square), 4-neighbour
//   complete        within a group: all pairs
//   erdos_renyi     within a group: each pair with probability p, or exactly `edges`
//   random_regular  within a group: every node has `degree` neighbours
//   small_world     within a group: Watts-Strogatz, mean degree k (even), rewiring p
//   scale_free      within a group: Barabasi-Albert, m edges per new node
//   random          between groups: each from-entity gets `degree` distinct targets
//   edge_list       CSV file `file` of "from,to[,weight]" group-local indices;
//                   `symmetric = true` adds the reverse of each edge
// Generators within a group produce undirected graphs: both directions listed.
struct TopologyOptions {
  std::string kind;
  std::optional<std::int64_t> k;
  std::optional<std::int64_t> degree;
  std::optional<std::int64_t> m;
  std::optional<std::int64_t> edges;
  std::optional<std::int64_t> rows;
  std::optional<std::int64_t> cols;
  std::optional<double> p;
  std::string file;  // resolved against the config file's directory
  bool symmetric = false;
};

struct LinkSpec {
  std::string from;
  std::string to;
  TopologyOptions topology;
  // Minimum delay of any event sent along this link (>= 0). Absent: 0, which
  // sequential and optimistic runs accept and conservative runs reject.
  std::optional<Time> lookahead;
  double weight = 1.0;  // weight of every edge of this link (routing)
  SourceLocation location;
};

struct OutputSpec {
  std::string directory = "results";
  // Sample counters and gauges every `sample_interval` of simulated time into
  // series.csv; 0 disables time series.
  Time sample_interval = 0;
  // Any of "csv", "json".
  std::vector<std::string> formats = {"csv", "json"};
  SourceLocation location;
};

// When a run writes checkpoints (consistent cuts at quiet points, which `dsim
// resume` continues from; docs/config.md). With neither `every` nor
// `wall_every` set, a run writes one only when asked (SIGUSR1, SIGTERM).
struct CheckpointSpec {
  Time every = 0;         // simulated time between checkpoints (> 0); 0: none by simulated time
  double wall_every = 0;  // seconds of wall time between checkpoints (> 0); 0: none by wall time
  // Where checkpoints go, as written (a relative path is relative to the
  // current directory, like output.directory); empty: the output directory's
  // path with ".checkpoints" appended.
  std::string directory;
  std::uint32_t keep = 2;  // complete checkpoints to keep, >= 1
  SourceLocation location;
};

struct ModelSpec {
  std::string file;  // the config file ("" if built in code)
  SimulationSpec simulation;
  std::vector<GroupSpec> groups;
  std::vector<LinkSpec> links;
  OutputSpec output;
  CheckpointSpec checkpoint;
  std::vector<std::string> plugins;  // resolved against the config's directory
  bool validated = false;
};

// Reads a TOML config and applies `overrides` ("key.path=value", as given to
// --set). Throws dsim::Error naming file, line and key for any mistake that
// does not need the registry (syntax, unknown key, wrong type, bad count,
// unknown group in a link, bad topology options).
DSIM_API ModelSpec load_model(const std::string& path,
                              const std::vector<std::string>& overrides = {});

// A spec from its JSON form (to_json's; e.g. the model a checkpoint recorded),
// with `overrides` applied as load_model applies --set. The JSON is turned into
// the config's tables (a link's "topology" object becomes `topology = KIND`
// and its options; "file", "validated" and null lookaheads are dropped) and
// checked exactly as a config file is. Paths stay as recorded: a relative one
// is relative to the current directory. `name` stands for the file in messages
// and becomes the spec's `file` ("ckpt-000003 (recorded model)"). The result
// is not validated. Throws dsim::Error naming the key, also for text that is
// not JSON.
//
//   dsim::ModelSpec spec = dsim::model_from_json(recorded, "ckpt-000003 (recorded model)",
//                                                {"simulation.end_time=2000"});
//   dsim::validate(spec, registry);
DSIM_API ModelSpec model_from_json(std::string_view json, const std::string& name,
                                   const std::vector<std::string>& overrides = {});

// Checks `spec` against `registry`: known entity types, parameters present and
// well typed (distributions parsed), lookaheads >= 0. Fills in defaults so
// every declared parameter is present with its declared type. Throws
// dsim::Error naming the file, line and key.
DSIM_API void validate(ModelSpec& spec, const Registry& registry);

// The resolved spec as JSON text (for manifests, checkpoints and `dsim
// validate`); model_from_json reads it back.
DSIM_API std::string to_json(const ModelSpec& spec);

// A wall-clock duration in seconds: a number (seconds) optionally followed by
// a unit, "s", "m" or "h", with or without a space: "90", "90s", "10m", "2h",
// "1.5h". Any finite value >= 0 (callers decide whether 0 means off); nullopt
// for anything else ("500ms", "1d", "-5s", "h", "").
DSIM_API std::optional<double> parse_duration(std::string_view text);

}  // namespace dsim
