// The `dsim` subcommands, apart from argument parsing (main.cpp). Each
// returns the process exit status and throws dsim::Error for anything the
// user can fix; main() turns that into one line on stderr.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli/serve.hpp"
#include "dsim/environment.hpp"
#include "dsim/registry.hpp"

namespace dsim::cli {

struct ModelOptions {
  std::string config;
  std::vector<std::string> overrides;  // "key.path=value", applied in order
  std::vector<std::string> plugins;    // --plugin, relative to the current directory
};

struct RunCommandOptions {
  ModelOptions model;  // model.config is empty for `dsim resume`
  // dsim resume PATH: the checkpoint (or directory of them) to continue from;
  // the model is the one it recorded (model.overrides may move the end time
  // and change how the run goes, nothing else).
  std::string resume;
  // --resume-latest (what a supervisor's restart adds): continue from the
  // latest valid checkpoint in the run's checkpoint directory, when there is
  // one; otherwise start as asked.
  bool resume_latest = false;
  // --restart-count: the restarts before this run, for manifest.json.
  std::uint32_t restarts = 0;
  std::string out;       // empty: the config's output.directory (main refuses an empty --out)
  bool quiet = false;    // print nothing on success
  bool progress = true;  // still only on a terminal
  bool charts = true;    // charts of the series under the summary, still only on a terminal
  // Run the rollback checker (RunOptions::check_rollback) instead of a plain run.
  bool check_rollback = false;
  // --dashboard and its flags (cli/serve.hpp): serve the live dashboard
  // while the run goes on (rank 0 under mpirun); address empty: none.
  DashboardFlags dashboard;
};

// dsim run: load, validate, run, write the result directory, print a summary.
// Under mpirun `world` spans every process; rank 0 writes and prints.
int run_command(const RunCommandOptions& options, const std::shared_ptr<Communicator>& world,
                std::FILE* out, std::FILE* err);

// dsim checkpoints DIR: every checkpoint in DIR with its simulated time,
// size, the layout that wrote it and whether it is valid. Exit 0 when the
// listing worked, whatever it shows.
int checkpoints_command(const std::string& dir, std::FILE* out);

// dsim validate: load and validate, print the resolved model in short.
int validate_command(const ModelOptions& options, const std::shared_ptr<Communicator>& world,
                     std::FILE* out);

// dsim list: entity types (all, or the one named) with their parameters.
int list_command(const std::string& type, const std::vector<std::string>& plugins, std::FILE* out);

}  // namespace dsim::cli
