// The dsim program: argument parsing and the mapping of failures to exit
// codes. 0: success; 1: the run failed (model error, I/O); 2: bad input
// (arguments, config, parameters, output directory).
//
// Under mpirun every process runs main(). An error all processes agreed on
// (Communicator::agree) is printed once, by rank 0, and every process exits with
// its code; one that only this process met is printed with its rank and ends
// the whole job (MPI_Abort), so no process is left waiting for it.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <memory>
#include <new>
#include <optional>
#include <unistd.h>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cli/commands.hpp"
#include "cli/experiment.hpp"
#include "cli/plot.hpp"
#include "cli/report.hpp"
#include "cli/serve.hpp"
#include "cli/supervise.hpp"
#include "dsim/engine.hpp"
#include "dsim/environment.hpp"
#include "dsim/message.hpp"
#include "dsim/model_spec.hpp"
#include "dsim/types.hpp"

#ifndef DSIM_VERSION
#define DSIM_VERSION "unknown"
#endif

namespace {

constexpr int kExitRuntime = 1;
constexpr int kExitInput = 2;

// Longest line an error prints. Messages clip the values they quote
// (dsim::clip); this catches any that does not, keeping both ends of the line.
constexpr std::size_t kMaxLine = 2000;

// A message as one line: multi-line messages (parser diagnostics) are joined.
std::string one_line(const std::string& message) {
  if (message.size() > kMaxLine) {
    const std::size_t head = kMaxLine / 2, tail = kMaxLine / 4;
    return one_line(message.substr(0, head)) +
           fmt::format(" ... ({} characters left out) ... ", message.size() - head - tail) +
           one_line(message.substr(message.size() - tail));
  }
  std::string line;
  for (char c : message) {
    if (c == '\n') {
      while (!line.empty() && line.back() == ' ') line.pop_back();
      if (!line.empty()) line += "; ";
    } else if (c != '\r') {
      line += c;
    }
  }
  while (line.size() >= 2 && line.ends_with("; ")) line.resize(line.size() - 2);
  return line;
}

void print_error(const std::string& message) {
  std::fflush(stdout);
  std::fprintf(stderr, "dsim: %s\n", one_line(message).c_str());
}

// An error every process meets alike (the same arguments): printed by rank 0.
void print_once(const dsim::Communicator& world, const std::string& message) {
  if (world.rank() == 0) print_error(message);
}

// "a, b or c": the names of a table in dsim/engine.hpp.
std::string names_text(std::span<const std::string_view> names) {
  std::string text;
  for (std::size_t i = 0; i < names.size(); ++i)
    text += fmt::format("{}{}", i == 0 ? "" : i + 1 == names.size() ? " or " : ", ", names[i]);
  return text;
}

void add_model_options(CLI::App& cmd, dsim::cli::ModelOptions& o) {
  cmd.add_option("config", o.config, "model config (TOML)")->required()->type_name("CONFIG");
  cmd.add_option("--set", o.overrides,
                 "override a config value, e.g. --set simulation.end_time=500 (repeatable)")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false);
  cmd.add_option("--plugin", o.plugins, "load entity types from a plugin library (repeatable)")
      ->type_name("PATH")
      ->allow_extra_args(false);
}

// The layout and checkpoint flags `dsim run` and `dsim resume` share; each
// is sugar for a --set, applied after the --set options so it wins.
struct RunFlags {
  std::uint32_t threads = 0;
  std::string sync, partitioner;
  double end_time = 0;
  double checkpoint_every = 0;
  std::string checkpoint_wall, checkpoint_dir;
  std::uint32_t checkpoint_keep = 0;
  CLI::Option *threads_opt = nullptr, *sync_opt = nullptr, *part_opt = nullptr,
              *end_opt = nullptr, *every_opt = nullptr, *wall_opt = nullptr,
              *dir_opt = nullptr, *keep_opt = nullptr;

  void add(CLI::App& cmd, dsim::cli::RunCommandOptions& o) {
    cmd.add_option("-o,--out", o.out, "result directory (default: the config's output.directory)")
        ->type_name("DIR");
    threads_opt = cmd.add_option("-t,--threads", threads,
                                 "worker threads, 0 = one per core (= --set simulation.threads=N)")
                      ->type_name("N");
    sync_opt = cmd.add_option("--sync", sync,
                              fmt::format("{} (= --set simulation.sync=NAME)",
                                          names_text(dsim::kEngineNames)))
                   ->type_name("NAME");
    part_opt = cmd.add_option("--partitioner", partitioner,
                              fmt::format("{} (= --set simulation.partitioner=NAME)",
                                          names_text(dsim::kPartitioningNames)))
                   ->type_name("NAME");
    end_opt = cmd.add_option("--end-time", end_time,
                             "simulated end time (= --set simulation.end_time=T)")
                  ->type_name("T");
    every_opt = cmd.add_option("--checkpoint-every", checkpoint_every,
                               "write a checkpoint every T of simulated time (= --set "
                               "checkpoint.every=T)")
                    ->type_name("T");
    wall_opt = cmd.add_option("--checkpoint-wall", checkpoint_wall,
                              "write a checkpoint every DURATION of wall time: 90s, 10m, 2h (= "
                              "--set checkpoint.wall_every=DURATION)")
                   ->type_name("DURATION");
    dir_opt = cmd.add_option("--checkpoint-dir", checkpoint_dir,
                             "where checkpoints go (default: the result directory's path with "
                             ".checkpoints appended; = --set checkpoint.directory=DIR)")
                  ->type_name("DIR");
    keep_opt = cmd.add_option("--checkpoint-keep", checkpoint_keep,
                              "complete checkpoints to keep (default 2; = --set "
                              "checkpoint.keep=N)")
                   ->type_name("N");
    cmd.add_flag("-q,--quiet", o.quiet,
                 "print nothing but errors (no summary, no progress, no 'results written')");
    cmd.add_flag("--progress,!--no-progress", o.progress,
                 "show a progress line on stderr when it is a terminal (default: on)");
    cmd.add_flag("--charts,!--no-charts", o.charts,
                 "chart the series under the summary when stdout is a terminal (default: on)");
    cmd.add_flag("--resume-latest", o.resume_latest,
                 "continue from the latest valid checkpoint in the checkpoint directory when "
                 "there is one (what a supervisor's restart adds)");
    cmd.add_option("--restart-count", o.restarts, "restarts before this run (for manifest.json)")
        ->type_name("N");
    cmd.add_option("--dashboard", o.dashboard.address,
                   fmt::format("serve a live dashboard in the browser while the run goes on "
                               "(default {}; port 0: any free port; the URL goes to stderr)",
                               dsim::cli::kDashboardDefault))
        ->type_name("[ADDR:PORT]");
    cmd.add_flag("--dashboard-remote", o.dashboard.remote,
                 "allow --dashboard on an address other than loopback (every request then needs "
                 "the access token)");
    cmd.add_option("--dashboard-token", o.dashboard.token,
                   "the dashboard's access token (default: generated and printed with "
                   "--dashboard-remote)")
        ->type_name("TOKEN");
  }

  // Appends the --set equivalents of the flags given.
  void apply(std::vector<std::string>& sets) const {
    if (threads_opt->count()) sets.push_back(fmt::format("simulation.threads={}", threads));
    if (sync_opt->count()) sets.push_back(fmt::format("simulation.sync=\"{}\"", sync));
    if (part_opt->count())
      sets.push_back(fmt::format("simulation.partitioner=\"{}\"", partitioner));
    if (end_opt->count()) sets.push_back(fmt::format("simulation.end_time={:.17g}", end_time));
    if (every_opt->count())
      sets.push_back(fmt::format("checkpoint.every={:.17g}", checkpoint_every));
    if (wall_opt->count()) {
      const auto seconds = dsim::parse_duration(checkpoint_wall);
      if (!seconds)
        throw dsim::Error(fmt::format("--checkpoint-wall: not a duration: \"{}\" (write seconds "
                                      "as a number, or a number and a unit s, m or h, e.g. "
                                      "\"90s\", \"10m\", \"1.5h\")",
                                      dsim::clip(checkpoint_wall)));
      sets.push_back(fmt::format("checkpoint.wall_every={:.17g}", *seconds));
    }
    if (dir_opt->count()) sets.push_back("checkpoint.directory=" + toml_string(checkpoint_dir));
    if (keep_opt->count()) sets.push_back(fmt::format("checkpoint.keep={}", checkpoint_keep));
  }

  // `text` as a TOML basic string.
  static std::string toml_string(const std::string& text) {
    std::string quoted = "\"";
    for (char c : text) {
      if (c == '"' || c == '\\') quoted += '\\';
      quoted += c;
    }
    return quoted + "\"";
  }
};

// The arguments of this program without the supervisor's own options.
std::vector<std::string> child_command(int argc, char** argv) {
  std::vector<std::string> out;
  char self[4096] = {};
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  out.push_back(n > 0 ? std::string(self, static_cast<std::size_t>(n)) : std::string(argv[0]));
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--supervise") continue;
    if (a == "--max-restarts" || a == "--restart-delay") {
      ++i;
      continue;
    }
    if (a.starts_with("--max-restarts=") || a.starts_with("--restart-delay=")) continue;
    out.emplace_back(a);
  }
  return out;
}

int run(int argc, char** argv, const std::shared_ptr<dsim::Communicator>& world) {
  CLI::App app{"dsim " DSIM_VERSION " - parallel discrete-event simulation", "dsim"};
  app.set_version_flag("--version",
                       fmt::format("dsim {} ({})", DSIM_VERSION,
                                   dsim::built_with_mpi()
                                       ? "with MPI: runs under mpirun across processes"
                                       : "without MPI: one process"));
  app.require_subcommand(1);
  app.footer(
      "Examples:\n"
      "  dsim run models/queueing/mm1.toml --out results/mm1\n"
      "  dsim run models/phold/phold.toml --threads 2 --set simulation.end_time=100\n"
      "  dsim validate model.toml --plugin build/libmymodel.so\n"
      "  dsim list queue\n"
      "  dsim report results/mm1 results/mm1_rho09 -o report.html\n"
      "  dsim plot results/epidemic 'people.*'\n"
      "  dsim experiment models/queueing/mmc.toml --vary entities.queue.params.servers=3,4 "
      "--precision queue.wait.mean=0.05\n"
      "Run 'dsim COMMAND --help' for the options of a command.");

  // run
  dsim::cli::RunCommandOptions run_opts;
  std::string seed;  // checked here: CLI11 would take -1 as 2^64-1
  RunFlags run_flags;
  bool supervised = false;
  int max_restarts = 3;
  double restart_delay = 1;
  CLI::App* run_cmd = app.add_subcommand("run", "run a model and write its results");
  add_model_options(*run_cmd, run_opts.model);
  run_flags.add(*run_cmd, run_opts);
  auto* out_opt = run_cmd->get_option("--out");
  auto* seed_opt =
      run_cmd
          ->add_option("--seed", seed,
                       "random seed, 0 to 18446744073709551615 (= --set simulation.seed=N)")
          ->type_name("N");
  run_cmd->add_flag("--check-rollback", run_opts.check_rollback,
                    "execute every event, undo it, execute it again and compare state, sends "
                    "and statistics (checks reverse handlers and state saving; runs "
                    "sequentially)");
  run_cmd->add_flag("--supervise", supervised,
                    "run in a child process and restart it from the latest checkpoint when it "
                    "dies (not after an input error)");
  run_cmd->add_option("--max-restarts", max_restarts, "restarts --supervise allows (default 3)")
      ->type_name("N");
  run_cmd->add_option("--restart-delay", restart_delay,
                      "seconds before the first restart; doubles each time (default 1)")
      ->type_name("S");

  // resume
  dsim::cli::RunCommandOptions resume_opts;
  RunFlags resume_flags;
  CLI::App* resume_cmd = app.add_subcommand(
      "resume", "continue a run from a checkpoint (the latest valid one in a directory)");
  resume_cmd->add_option("checkpoint", resume_opts.resume, "a checkpoint, or a directory of them")
      ->required()
      ->type_name("PATH");
  resume_cmd
      ->add_option("--set", resume_opts.model.overrides,
                   "simulation.end_time=T extends the run; keys of how it runs (threads, sync, "
                   "partitioner, output, checkpoint) may change; the model may not")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false);
  resume_cmd->add_option("--plugin", resume_opts.model.plugins, "load entity types from a plugin")
      ->type_name("PATH")
      ->allow_extra_args(false);
  resume_flags.add(*resume_cmd, resume_opts);
  auto* resume_out_opt = resume_cmd->get_option("--out");

  // checkpoints
  std::string checkpoints_dir;
  CLI::App* checkpoints_cmd =
      app.add_subcommand("checkpoints", "list the checkpoints in a directory and check each");
  checkpoints_cmd->add_option("dir", checkpoints_dir, "a checkpoint directory")
      ->required()
      ->type_name("DIR");

  // supervise
  std::vector<std::string> supervised_command;
  int supervise_restarts = 3;
  double supervise_delay = 1;
  CLI::App* supervise_cmd = app.add_subcommand(
      "supervise", "run a command (e.g. mpirun ... dsim run ...) and restart it from the latest "
                   "checkpoint when it dies");
  supervise_cmd->add_option("--max-restarts", supervise_restarts, "restarts allowed (default 3)")
      ->type_name("N");
  supervise_cmd
      ->add_option("--restart-delay", supervise_delay,
                   "seconds before the first restart; doubles each time (default 1)")
      ->type_name("S");
  supervise_cmd->add_option("command", supervised_command, "the command, after --")
      ->required()
      ->type_name("-- COMMAND...");

  // validate
  dsim::cli::ModelOptions validate_opts;
  CLI::App* validate_cmd =
      app.add_subcommand("validate", "check a model config and print it resolved");
  add_model_options(*validate_cmd, validate_opts);

  // list
  std::string list_type;
  std::vector<std::string> list_plugins;
  CLI::App* list_cmd = app.add_subcommand("list", "list entity types with their parameters");
  list_cmd->add_option("type", list_type, "show only this type")->type_name("TYPE");
  list_cmd->add_option("--plugin", list_plugins, "also list the types of a plugin (repeatable)")
      ->type_name("PATH")
      ->allow_extra_args(false);

  // report
  dsim::cli::ReportCommandOptions report_opts;
  CLI::App* report_cmd = app.add_subcommand(
      "report", "write a self-contained HTML report (opens offline) of result directories");
  report_cmd->add_option("dirs", report_opts.dirs, "result directories (several: overlaid)")
      ->required()
      ->type_name("RESULTS_DIR...");
  report_cmd->add_option("-o,--output", report_opts.output, "the HTML file to write")
      ->required()
      ->type_name("FILE");
  report_cmd->add_option("--svg", report_opts.svg_dir, "also write every chart as DIR/NAME.svg")
      ->type_name("DIR");

  // plot
  dsim::cli::PlotOptions plot_opts;
  CLI::App* plot_cmd = app.add_subcommand(
      "plot", "chart a result directory's series, histograms and partition load in the terminal");
  plot_cmd->add_option("dir", plot_opts.dir, "a result directory")
      ->required()
      ->type_name("RESULTS_DIR");
  plot_cmd
      ->add_option("selectors", plot_opts.selectors,
                   "statistics to chart: group.stat, * matches any characters; 'partitions' is "
                   "the partition load (default: everything)")
      ->type_name("SELECTOR...");
  plot_cmd->add_flag("--ascii", plot_opts.ascii,
                     "pure ASCII (also when LC_ALL, LC_CTYPE or LANG is not UTF-8)");
  plot_cmd
      ->add_option("--width", plot_opts.width, "columns (default: $COLUMNS, the terminal's, 80)")
      ->type_name("N");
  plot_cmd->add_option("--height", plot_opts.height, "rows of each plot (default: from the width)")
      ->type_name("N");

  // serve
  dsim::cli::ServeOptions serve_opts;
  serve_opts.flags.address = dsim::cli::kDashboardDefault;
  CLI::App* serve_cmd = app.add_subcommand(
      "serve", "serve finished result directories on the live dashboard's page, until Ctrl-C");
  serve_cmd->add_option("dirs", serve_opts.dirs, "result directories")
      ->required()
      ->type_name("RESULTS_DIR...");
  serve_cmd
      ->add_option("--listen", serve_opts.flags.address,
                   fmt::format("address to serve on (default {}; port 0: any free port)",
                               dsim::cli::kDashboardDefault))
      ->type_name("ADDR:PORT");
  serve_cmd->add_flag("--dashboard-remote", serve_opts.flags.remote,
                      "allow an address other than loopback (every request then needs the "
                      "access token)");
  serve_cmd->add_option("--dashboard-token", serve_opts.flags.token,
                        "the access token (default: generated and printed with "
                        "--dashboard-remote)")
      ->type_name("TOKEN");

  // experiment
  dsim::cli::ExperimentCommandOptions exp_opts;
  exp_opts.version = DSIM_VERSION;
  std::uint32_t exp_replications = 0, exp_min = 0, exp_max = 0, exp_points = 0;
  double exp_confidence = 0;
  std::uint64_t exp_design_seed = 0, exp_seed = 0;
  CLI::App* experiment_cmd = app.add_subcommand(
      "experiment",
      "replications and parameter sweeps of a model, with confidence intervals");
  experiment_cmd->add_option("file", exp_opts.file, "an experiment file, or a model config")
      ->required()
      ->type_name("FILE.toml");
  experiment_cmd
      ->add_option("--vary", exp_opts.vary,
                   "a factor: KEY=V1,V2,... or KEY=FROM:TO:STEP (KEY as --set takes it; "
                   "repeatable)")
      ->type_name("KEY=VALUES");
  auto* exp_reps = experiment_cmd
                       ->add_option("--replications", exp_replications,
                                    "replications of every design point (default 10)")
                       ->type_name("N");
  experiment_cmd
      ->add_option("--precision", exp_opts.precision,
                   "stop a point's replications once the interval of GROUP.STAT[.FIELD] is "
                   "within REL of its mean, e.g. queue.wait.mean=0.01")
      ->type_name("STAT=REL");
  auto* exp_conf = experiment_cmd
                       ->add_option("--confidence", exp_confidence,
                                    "confidence of the intervals (default 0.95)")
                       ->type_name("C");
  auto* exp_min_opt = experiment_cmd
                          ->add_option("--min-replications", exp_min,
                                       "with --precision: at least N (default 5)")
                          ->type_name("N");
  auto* exp_max_opt = experiment_cmd
                          ->add_option("--max-replications", exp_max,
                                       "with --precision: at most N (default 100)")
                          ->type_name("N");
  experiment_cmd->add_option("--design", exp_opts.design, "factorial (default), lhs, random, or points (point k: every --vary's k-th value)")
      ->type_name("KIND");
  auto* exp_points_opt =
      experiment_cmd->add_option("--points", exp_points, "lhs and random designs: points")
          ->type_name("N");
  auto* exp_dseed_opt = experiment_cmd
                            ->add_option("--design-seed", exp_design_seed,
                                         "lhs and random designs: their seed (default 1)")
                            ->type_name("S");
  auto* exp_seed_opt = experiment_cmd
                           ->add_option("--seed", exp_seed,
                                        "the seed every run's seed derives from (default: the "
                                        "model's simulation.seed)")
                           ->type_name("S");
  experiment_cmd->add_flag("--independent-streams", exp_opts.independent_streams,
                           "give every design point its own seeds (default: replication r of "
                           "every point shares one: common random numbers)");
  experiment_cmd->add_option("--set", exp_opts.overrides, "override a config value in every run")
      ->type_name("KEY=VALUE");
  experiment_cmd->add_option("--plugin", exp_opts.plugins, "load entity types from a library")
      ->type_name("LIB.so");
  experiment_cmd
      ->add_option("--workers", exp_opts.workers, "runs at once (default: one per core)")
      ->type_name("N");
  experiment_cmd
      ->add_option("--out", exp_opts.out,
                   "output directory (default: the experiment's output, or the model's "
                   "output.directory with -experiment)")
      ->type_name("DIR");
  experiment_cmd->add_flag("--resume", exp_opts.resume,
                           "continue the experiment whose journal is in the output directory");
  experiment_cmd->add_flag("--retry-failed", exp_opts.retry_failed,
                           "with --resume: run the runs that failed again");
  experiment_cmd->add_flag("-q,--quiet", exp_opts.quiet, "print nothing on success");
  experiment_cmd->add_flag("--ask-tell", exp_opts.ask_tell,
                           "read design points as JSON lines on stdin ({\"factors\": {KEY: "
                           "VALUE}}) and answer each with its summary as a JSON line");

  const bool lead = world->rank() == 0;  // prints under mpirun
  // CLI11 would say "a subcommand is required"; name the culprit instead.
  if (argc > 1 && argv[1][0] != '-') {
    const std::string command = argv[1];
    if (command != "run" && command != "validate" && command != "list" &&
        command != "resume" && command != "checkpoints" && command != "supervise" &&
        command != "report" && command != "plot" && command != "serve" &&
        command != "experiment") {
      print_once(*world,
          fmt::format("unknown command '{}' (commands: run, resume, checkpoints, supervise, "
                      "experiment, validate, list, report, plot, serve; see 'dsim --help')",
                      dsim::clip(command)));
      return kExitInput;
    }
  }
  try {
    // A bare --dashboard takes its default address (not the next argument).
    std::vector<std::string> args(argv, argv + argc);
    args = dsim::cli::expand_dashboard_flag(args);
    std::vector<char*> pointers;
    for (auto& a : args) pointers.push_back(a.data());
    app.parse(static_cast<int>(pointers.size()), pointers.data());
  } catch (const CLI::CallForHelp& e) {
    return lead ? app.exit(e) : 0;
  } catch (const CLI::CallForAllHelp& e) {
    return lead ? app.exit(e) : 0;
  } catch (const CLI::CallForVersion& e) {
    return lead ? app.exit(e) : 0;
  } catch (const CLI::ParseError& e) {
    print_once(*world, fmt::format("{} (see 'dsim --help')", e.what()));
    return kExitInput;
  }

  if (run_cmd->parsed()) {
    if (out_opt->count() && run_opts.out.empty()) {
      print_once(*world,
          "--out: the output directory must not be empty (leave --out out to use the "
          "config's output.directory)");
      return kExitInput;
    }
    if (seed_opt->count()) {
      std::uint64_t value = 0;
      const auto [end, ec] = std::from_chars(seed.data(), seed.data() + seed.size(), value);
      if (seed.empty() || ec != std::errc{} || end != seed.data() + seed.size()) {
        print_once(*world, fmt::format("--seed: expected an integer from 0 to {}, got '{}'",
                               std::numeric_limits<std::uint64_t>::max(), dsim::clip(seed)));
        return kExitInput;
      }
    }
    if (supervised) {
      if (world->distributed()) {
        print_once(*world,
                   "--supervise: under mpirun, supervise the whole job instead: dsim supervise "
                   "-- mpirun -np N dsim run ...");
        return kExitInput;
      }
      dsim::cli::SuperviseOptions so;
      so.command = child_command(argc, argv);
      so.insert_at = 2;  // after "run": the subcommand is always the first argument
      so.max_restarts = max_restarts;
      so.restart_delay = restart_delay;
      return dsim::cli::supervise(so, stderr);
    }
    // The sugar flags come after --set, so they win.
    auto& sets = run_opts.model.overrides;
    if (seed_opt->count()) sets.push_back(fmt::format("simulation.seed={}", seed));
    run_flags.apply(sets);
    return dsim::cli::run_command(run_opts, world, stdout, stderr);
  }
  if (resume_cmd->parsed()) {
    if (resume_out_opt->count() && resume_opts.out.empty()) {
      print_once(*world, "--out: the output directory must not be empty");
      return kExitInput;
    }
    resume_flags.apply(resume_opts.model.overrides);
    return dsim::cli::run_command(resume_opts, world, stdout, stderr);
  }
  if (supervise_cmd->parsed()) {
    dsim::cli::SuperviseOptions so;
    so.command = supervised_command;
    so.insert_at = dsim::cli::restart_point(so.command);
    so.max_restarts = supervise_restarts;
    so.restart_delay = supervise_delay;
    return dsim::cli::supervise(so, stderr);
  }
  if (experiment_cmd->parsed()) {
    if (exp_reps->count()) exp_opts.replications = exp_replications;
    if (exp_min_opt->count()) exp_opts.min_replications = exp_min;
    if (exp_max_opt->count()) exp_opts.max_replications = exp_max;
    if (exp_points_opt->count()) exp_opts.points = exp_points;
    if (exp_conf->count()) exp_opts.confidence = exp_confidence;
    if (exp_dseed_opt->count()) exp_opts.design_seed = exp_design_seed;
    if (exp_seed_opt->count()) exp_opts.seed = exp_seed;
    return dsim::cli::experiment_command(exp_opts, world, stdout, stderr);
  }
  if (serve_cmd->parsed()) {
    if (world->distributed()) {
      print_once(*world, "serve: run it as one process, not under mpirun");
      return kExitInput;
    }
    return dsim::cli::serve_command(serve_opts, stderr);
  }
  // Under mpirun: rank 0 prints, and every process agrees on an error.
  dsim::Communicator& cluster = *world;
  std::FILE* out = cluster.rank() == 0 ? stdout : nullptr;
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> sink(nullptr, &std::fclose);
  if (out == nullptr) {
    sink.reset(std::fopen("/dev/null", "w"));
    out = sink.get();
  }
  auto agreed = [&](auto command) {
    std::exception_ptr error;
    int code = 0;
    try {
      code = command();
    } catch (...) {
      error = std::current_exception();
    }
    cluster.agree(error);
    return code;
  };
  if (validate_cmd->parsed())
    return agreed([&] { return dsim::cli::validate_command(validate_opts, world, out); });
  if (checkpoints_cmd->parsed())
    return agreed([&] { return dsim::cli::checkpoints_command(checkpoints_dir, out); });
  if (report_cmd->parsed())
    return agreed([&] { return dsim::cli::report_command(report_opts, out); });
  if (plot_cmd->parsed())
    return agreed([&] { return dsim::cli::plot_command(plot_opts, out); });
  if (list_cmd->parsed())
    return agreed([&] { return dsim::cli::list_command(list_type, list_plugins, out); });
  return kExitInput;  // unreachable: a subcommand is required
}

int exit_code(const dsim::Error& e) {
  return e.kind() == dsim::Error::Kind::kInput ? kExitInput : kExitRuntime;
}

// An error of this process alone: under mpirun it ends the whole job.
int fail(dsim::Communicator& world, const std::string& message, int code) {
  if (world.distributed()) world.abort(code, one_line(message));
  print_error(message);
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  // MPI_Init under mpirun (MPI_Finalize when it goes); one process otherwise.
  dsim::MpiSession mpi;
  dsim::Communicator& world = *mpi.world();
  try {
    return run(argc, argv, mpi.world());
  } catch (const dsim::AgreedError& e) {
    if (world.rank() == 0) print_error(e.what());
    return exit_code(e);
  } catch (const dsim::Error& e) {
    return fail(world, e.what(), exit_code(e));
  } catch (const std::bad_alloc&) {
    return fail(world, "out of memory", kExitRuntime);
  } catch (const std::exception& e) {
    return fail(world, fmt::format("internal error: {}", e.what()), kExitRuntime);
  }
}
