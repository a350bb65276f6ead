// dsim experiment: replications and sweeps of one model
// (include/dsim/experiment.hpp), from an experiment file or a model config
// with --vary; the command line adds to what a file says.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dsim/environment.hpp"
#include "dsim/experiment.hpp"

namespace dsim::cli {

struct ExperimentCommandOptions {
  std::string file;  // an experiment file, or a model config
  std::vector<std::string> vary;       // --vary KEY=V1,V2 | KEY=FROM:TO:STEP
  std::vector<std::string> overrides;  // --set, for every run
  std::vector<std::string> plugins;
  std::optional<std::uint32_t> replications, min_replications, max_replications, points;
  std::string precision;  // --precision GROUP.STAT[.FIELD]=REL
  std::optional<double> confidence;
  std::string design;
  std::optional<std::uint64_t> design_seed, seed;
  bool independent_streams = false;  // --independent-streams: no common random numbers
  std::uint32_t workers = 0;
  std::string out;
  bool resume = false, retry_failed = false, quiet = false;
  // --ask-tell: design points come as JSON lines on stdin ({"factors":
  // {KEY: VALUE, ...}, "id": anything}); each is answered with its summary
  // as a JSON line on stdout (its runs in OUT/ask-NNNNNN).
  bool ask_tell = false;
  std::string version;
};

// Under mpirun `world` spans every process: they share the runs, rank 0
// writes the files and prints.
// --ask-tell on `in` and `out` (see ExperimentCommandOptions::ask_tell):
// `base` with each ask's factors instead of its own. A bad ask is answered
// {"error": ...} and the next is read; returns 0 at the end of `in`.
int ask_tell(const Experiment& base, const Registry& registry, const ExperimentOptions& options,
             std::FILE* in, std::FILE* out);

int experiment_command(const ExperimentCommandOptions& options,
                       const std::shared_ptr<Communicator>& world, std::FILE* out, std::FILE* err);

}  // namespace dsim::cli
