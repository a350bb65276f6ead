// Experiments: many runs of one model, over design points (factor values) and
// replications (seeds), summarised with confidence intervals.
//
//   dsim::Registry registry;
//   dsim::register_builtins(registry);
//   dsim::Experiment e = dsim::load_experiment("sweep.toml");   // or built in code
//   dsim::ExperimentOptions options;
//   options.output = "results/sweep";
//   dsim::ExperimentResult r = dsim::run_experiment(e, registry, options);
//
// An experiment file (docs/experiments.md):
//
//   [experiment]
//   model = "../models/queueing/mmc.toml"   # relative to this file
//   replications = 10                        # or a stopping rule:
//   precision = { stat = "queue.wait.mean", relative = 0.01 }
//   confidence = 0.95
//   [factors]
//   "entities.queue.params.servers" = [2, 3, 4]
//   "entities.arrivals.params.interarrival" = ["exp(rate=1)", "exp(rate=1.5)"]
//   "simulation.end_time" = { from = 1000, to = 3000, step = 1000 }
//
// Each run is a sequential simulation of the model with the point's values
// applied as --set overrides and its own seed. Replication r of every point
// uses the same seed (common random numbers) unless told otherwise; every
// seed is derived from the experiment's seed and recorded. Finished runs are
// appended to a journal in the output directory as they finish: an
// experiment that was killed continues with ExperimentOptions::resume, and
// the result files (runs.csv, summary.csv, runs.json, summary.json) are the
// same bit for bit whatever the number of workers, the order runs finished
// in, and interruptions.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "dsim/environment.hpp"
#include "dsim/export.hpp"
#include "dsim/model_spec.hpp"
#include "dsim/registry.hpp"
#include "dsim/results.hpp"

namespace dsim {

// One factor: a key that --set accepts and its values. Values are TOML
// literals as --set takes them ("3", "0.5", "\"exp(mean=1)\"", "true").
struct Factor {
  std::string key;
  // Full factorial: the values in order. Latin hypercube and random designs
  // pick among them, unless the factor is a range (below).
  std::vector<std::string> values;
  // A continuous range for lhs/random designs ({ from, to } without a step,
  // or linspace/logspace endpoints): lhs and random designs sample in
  // [lo, hi] (log-uniformly when `log`), rounding to integers when
  // `integer`. Factorial designs use `values`.
  bool range = false;
  double lo = 0, hi = 0;
  bool log = false;
  bool integer = false;
  std::string where;  // for messages: "sweep.toml: factors.\"servers\"" or "--vary servers"
};

// Stop a design point's replications once the confidence interval of `stat`
// (group.stat.field, e.g. "queue.wait.mean") has a half-width at most
// `relative` times the magnitude of its mean.
struct Precision {
  std::string group, stat, field;
  double relative = 0;
};

struct Experiment {
  std::string file;   // the experiment file ("" when built from the command line)
  std::string model;  // the model config (or, with model_json, its name in messages)
  // The model as JSON (to_json's form, or a config's tables as JSON objects),
  // read with model_from_json instead of the file `model` when not empty.
  // Its relative paths are relative to the current directory.
  std::string model_json;
  std::vector<std::string> overrides;  // --set for every run, before the factors
  std::vector<Factor> factors;
  // "factorial", "lhs", "random", or "points": the points given, point k
  // taking each factor's k-th value (every factor lists as many values).
  std::string design = "factorial";
  std::uint32_t points = 0;          // lhs and random: design points
  std::uint64_t design_seed = 1;     // lhs and random
  // A fixed number of replications per point; with `precision` the most
  // (then min_replications..max_replications, stopping at the precision).
  std::uint32_t replications = 10;
  std::optional<Precision> precision;
  double confidence = 0.95;
  std::uint32_t min_replications = 5;
  std::uint32_t max_replications = 100;
  bool common_random_numbers = true;
  // The seed every run's seed derives from; empty: the model's simulation.seed.
  std::optional<std::uint64_t> seed;
  std::string output;  // from the file: the output directory ("" : not given)
};

// Reads an experiment file (TOML with an [experiment] table). Throws
// dsim::Error naming the file and key.
DSIM_API Experiment load_experiment(const std::string& path);
// Whether `path` is an experiment file (has an [experiment] table) rather
// than a model config. Throws dsim::Error when it cannot be read or parsed.
DSIM_API bool is_experiment_file(const std::string& path);
// A factor from the command line: "KEY=V1,V2,..." or "KEY=FROM:TO:STEP".
// Throws dsim::Error naming the flag.
DSIM_API Factor parse_vary(const std::string& text);
// A precision from the command line: "GROUP.STAT.FIELD=REL" (FIELD may be
// left out: "mean"). Throws dsim::Error.
DSIM_API Precision parse_precision(const std::string& text);

// One design point: each factor's value (TOML literal) and its label (as the
// result files write it).
struct DesignPoint {
  std::vector<std::string> values;
  std::vector<std::string> labels;
};
// The experiment's design points, in order. Throws dsim::Error for an empty
// design.
DSIM_API std::vector<DesignPoint> design_points(const Experiment& experiment);
// The seed of replication `replication` of point `point`.
DSIM_API std::uint64_t run_seed(const Experiment& experiment, std::uint64_t base,
                                std::uint32_t point, std::uint32_t replication);

// A statistic field's summary over one point's replications.
struct FieldSummary {
  std::string group, stat, field;
  std::uint64_t n = 0;  // replications with a finite value
  double mean = 0, stddev = 0, ci_low = 0, ci_high = 0, half_width = 0;
};
struct PointSummary {
  std::uint32_t point = 0;
  DesignPoint design;
  std::uint32_t replications = 0;  // runs kept (successful or failed)
  std::uint32_t failed = 0;
  std::string stopped;  // "replications", "precision", "max_replications"
  std::vector<FieldSummary> fields;
};
struct FailedRun {
  std::uint32_t point = 0, replication = 0;
  std::uint64_t seed = 0;
  std::string message;
};
struct ExperimentResult {
  std::vector<PointSummary> points;
  std::vector<FailedRun> failures;
  std::uint64_t runs = 0;          // runs in the results
  std::uint64_t runs_executed = 0; // run by this call (not taken from the journal)
  std::uint64_t runs_discarded = 0;  // ran past a point's stopping rule
  double wall_seconds = 0;
};

struct ExperimentProgress {
  std::uint64_t runs_done = 0;
  std::uint64_t runs_expected = 0;  // a bound with a stopping rule
  std::uint32_t points_done = 0, points = 0;
  double wall_seconds = 0;
};

struct ExperimentOptions {
  std::filesystem::path output;  // required: the results and the journal go here
  std::uint32_t workers = 0;     // 0: one per core
  bool resume = false;           // continue the journal in `output`
  bool retry_failed = false;     // with resume: run the failed runs again
  std::stop_token stop;          // stop: finished runs stay in the journal
  // After every finished run, on the thread that finished it, while the
  // other workers wait: it must be quick (and thread-safe). Process 0 only.
  std::function<void(const ExperimentProgress&)> on_progress;
  // After every run this process executed that succeeded, on the worker
  // thread that ran it (several at once: must be thread-safe), with the
  // run's whole result (series too). Runs taken from the journal, runs of
  // other processes and failed runs are not seen.
  std::function<void(std::uint32_t point, std::uint32_t replication, const RunResult& result)>
      on_run;
  std::string version;           // written to the manifest
  // The processes that share the runs (a collective: each calls
  // run_experiment with the same experiment). Process 0 hands the runs out,
  // keeps the journal and writes the files; every process runs `workers`
  // (0: its share of the machine's cores) at once.
  Environment environment;
};

// Runs the experiment and writes runs.csv, summary.csv, runs.json,
// summary.json and manifest.json into options.output. Every design point is
// loaded and validated before any run starts (bad input: dsim::Error naming
// the file and key). Throws RunStopped-like dsim::Error (kRuntime) when
// stopped; the journal keeps what finished.
DSIM_API ExperimentResult run_experiment(const Experiment& experiment, const Registry& registry,
                                         const ExperimentOptions& options);

// The two-sided Student t quantile: P(|T| <= t) = confidence with `df`
// degrees of freedom (df = 0: the normal's).
DSIM_API double student_t_quantile(double confidence, double df);

}  // namespace dsim
