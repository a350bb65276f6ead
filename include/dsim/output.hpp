// Result writers: the files a run leaves behind, and the terminal summary.
// What the `dsim` program does with a RunResult, for any host that wants the
// same files:
//
//   dsim::Simulation sim(dsim::load_model("models/queueing/mm1.toml"), registry);
//   dsim::output::check_output_directory(sim.spec().output.directory);  // fail early
//   const dsim::RunResult result = sim.run();
//   dsim::output::write_results(sim.spec().output.directory, sim.spec(), result, "my-host 1.0");
//   std::fputs(dsim::output::summary_table(result).c_str(), stdout);
//
// A result directory holds
//   manifest.json  what ran and how: dsim version, config file, seed, end time,
//                  the resolved config, the run figures (timings, memory,
//                  per-partition work, host; for optimistic runs also
//                  rollbacks, efficiency, GVT rounds and saved-state memory),
//                  and the list of data files.
//   results.csv    tidy table `group,stat,kind,field,value`, one row per field
//                  of every statistic, in result order (histograms add `lo`
//                  and `hi` rows after their fields).
//   results.json   the same statistics as JSON:
//                  {"end_time":..,"seed":..,"stats":[{"group","stat","kind","fields":{..}}]}
//   series.csv     `group,stat,time,value`, written when the run sampled series.
// `spec.output.formats` picks results.csv ("csv") and results.json ("json");
// manifest.json is always written, series.csv whenever there are series.
//
// Only manifest.json holds facts about this particular run (wall time, host,
// threads actually used). The data files depend only on the config and seed,
// so for a given config and seed they are bit-identical from run to run
// (DESIGN.md invariant 1). Numbers are printed so that they read back to the
// same double: CSV with `{:.17g}` ("nan", "inf", "-inf" for non-finite
// values), JSON in shortest round-trip form (non-finite values as null).
//
// Ownership: the functions read their arguments during the call and keep
// nothing; text comes back as a new std::string.
//
// Errors: dsim::Error, as each function says; the message names the path.
//
// Thread safety: the functions share no state; two calls may run at once as
// long as they write to different directories.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "dsim/export.hpp"
#include "dsim/file_system.hpp"
#include "dsim/model_spec.hpp"
#include "dsim/results.hpp"

namespace dsim::output {

// Writes the result directory `dir` all at once: the files go into the
// temporary sibling `DIR.tmp-<pid>`, each is fsynced, then the temporary
// directory is renamed to `dir` (atomically exchanged with it if `dir` holds
// the result of an earlier run, which is then removed). Missing parent
// directories are created. `version` is recorded in manifest.json as the
// version of the program that wrote the results.
//
// Throws dsim::Error (kind kInput) if `dir` exists and is not an empty
// directory or an earlier dsim result directory (a manifest.json written by
// dsim and only the files it lists), naming `dir` and leaving it untouched.
// Throws dsim::Error (kind kRuntime) naming the path and the system's reason
// on an I/O failure (full disk, no permission); the temporary directory is
// then removed and `dir` is left as it was: never a partial result.
// Every write, flush, rename and removal goes through `files` (the real file
// system unless a test injects failures).
DSIM_API void write_results(const std::filesystem::path& dir, const ModelSpec& spec,
                            const RunResult& result, const std::string& version,
                            FileSystem& files = FileSystem::local());

// Throws the dsim::Error write_results() would throw for what is at `dir`
// now (a file, or a directory dsim did not write); nothing is written. Lets a
// caller refuse a bad output directory before a long run rather than after.
DSIM_API void check_output_directory(const std::filesystem::path& dir);

// The file contents, as write_results() writes them.
DSIM_API std::string manifest_json(const ModelSpec& spec, const RunResult& result,
                                   const std::string& version);
DSIM_API std::string results_csv(const RunResult& result);
DSIM_API std::string results_json(const RunResult& result);
DSIM_API std::string series_csv(const RunResult& result);

// "counter", "tally", "gauge", "histogram".
DSIM_API std::string_view kind_name(StatKind kind);

// A table for the terminal: one aligned row per statistic (group, stat, kind
// and its main fields), then one line of run figures (events, events/s, wall
// time, peak RSS, sync engine, threads) and the reason for the sync engine.
// Optimistic runs add a line on what speculation cost (events rolled back,
// efficiency, rollbacks, GVT rounds, peak saved state against the memory
// limit); --check-rollback runs add a line with the number of events checked.
// Ends with a newline.
DSIM_API std::string summary_table(const RunResult& result);

// A byte count for people, in binary units: "512 B", "2 GiB", "12.3 MiB"
// (a whole number of units without decimals, otherwise one decimal).
DSIM_API std::string byte_size(std::uint64_t bytes);

// A result directory read back: what write_results() wrote.
struct ResultDirectory {
  std::filesystem::path path;
  // Statistics (results.csv, or results.json when only it was written:
  // non-finite values then read back as NaN), series (series.csv), end time
  // and seed, and the run figures (manifest.json's "run").
  RunResult result;
  std::string dsim_version;
  std::string config_file;
  std::string config_json;  // the resolved config, as manifest.json holds it
};

// Reads the result directory `dir`. Throws dsim::Error (kind kInput) naming
// the directory or the file (and line) when it is not a dsim result
// directory or a file of it is missing or malformed.
DSIM_API ResultDirectory read_results(const std::filesystem::path& dir);

}  // namespace dsim::output
