#include "cli/commands.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <utility>

#include "cli/interrupt.hpp"
#include "cli/plot.hpp"
#include "cli/progress.hpp"
#include "cli/python_plugins.hpp"
#include "dsim/checkpoint.hpp"
#include "dsim/message.hpp"
#include "dsim/model_spec.hpp"
#include "dsim/output.hpp"
#include "dsim/reference_models.hpp"
#include "dsim/registry.hpp"
#include "dsim/simulation.hpp"

#ifndef DSIM_VERSION
#define DSIM_VERSION "unknown"
#endif

namespace dsim::cli {
namespace {

namespace fs = std::filesystem;

void print(std::FILE* out, std::string_view text) { std::fwrite(text.data(), 1, text.size(), out); }

// Load, plugins, validate: what run and validate share. `recorded`: the
// model a checkpoint recorded (dsim resume) instead of the config file.
ModelSpec prepare(const ModelOptions& options, Registry& registry,
                  const checkpoint::RecordedModel* recorded = nullptr) {
  register_builtins(registry);
  register_reference_models(registry);
  enable_python_plugins(registry);
  ModelSpec spec =
      recorded != nullptr
          ? model_from_json(recorded->config_json,
                            fmt::format("{} (the model it recorded)", recorded->checkpoint.string()),
                            options.overrides)
          : load_model(options.config, options.overrides);
  registry.load_plugins(spec.plugins, options.plugins);
  validate(spec, registry);
  return spec;
}

// DIR.checkpoints for the output directory DIR (trailing separators off).
fs::path default_checkpoint_directory(fs::path out) {
  std::string text = out.lexically_normal().string();
  while (text.size() > 1 && text.back() == '/') text.pop_back();
  return fs::path(text + ".checkpoints");
}

// Whether `dir` holds a valid checkpoint (any model's: the run checks it).
bool has_valid_checkpoint(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return false;
  try {
    checkpoint::find_latest_checkpoint(dir);
    return true;
  } catch (const Error&) {
    return false;
  }
}

std::string topology_text(const TopologyOptions& t) {
  std::string text = t.kind;
  auto opt = [&](const char* name, const auto& value) {
    if (value) text += fmt::format(" {}={}", name, *value);
  };
  opt("k", t.k);
  opt("degree", t.degree);
  opt("m", t.m);
  opt("edges", t.edges);
  opt("rows", t.rows);
  opt("cols", t.cols);
  opt("p", t.p);
  if (!t.file.empty()) text += fmt::format(" file={}", t.file);
  if (t.symmetric) text += " symmetric";
  return text;
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += sep;
    out += item;
  }
  return out;
}

// Pads every column but the last to its widest cell.
std::string table(const std::vector<std::vector<std::string>>& rows, std::string_view indent) {
  std::vector<std::size_t> width;
  for (const auto& row : rows)
    for (std::size_t i = 0; i + 1 < row.size(); ++i) {
      if (width.size() <= i) width.resize(i + 1, 0);
      width[i] = std::max(width[i], row[i].size());
    }
  std::string out;
  for (const auto& row : rows) {
    std::string line(indent);
    for (std::size_t i = 0; i < row.size(); ++i)
      line += i + 1 < row.size() ? fmt::format("{:<{}}  ", row[i], width[i]) : row[i];
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

// The lines `dsim validate` adds for an optimistic plan: the memory cap and
// how entity state is saved (groups whose type has reverse handlers use them).
std::string optimistic_plan_text(const RunPlan& plan, const ModelSpec& spec,
                                 const Registry& registry) {
  const SimulationSpec& sim = spec.simulation;
  std::string saving =
      sim.state_saving == "periodic"
          ? fmt::format("periodic (every {} events, coast-forward)", sim.state_saving_period)
          : sim.state_saving;
  std::vector<std::string> reversed;
  for (const auto& g : spec.groups)
    if (const EntityTypeInfo* info = registry.find(g.type); info != nullptr && info->reversible)
      reversed.push_back(g.name);
  if (!reversed.empty()) saving += fmt::format("; reverse handlers for {}", join(reversed, ", "));
  std::string limit =
      plan.memory_limit > 0 ? output::byte_size(plan.memory_limit) : std::string("auto");
  if (sim.memory_limit == 0 && plan.memory_limit > 0) limit += " (the default)";
  return fmt::format("optimistic  memory_limit={} state_saving={}\n", limit, saving);
}

// Loads and validates the model (then runs `check` on it), and builds its
// Simulation over `world`. Bad input may show on one process only (a file
// missing on one machine), and building is a collective (it duplicates the
// communicator): so every process learns whether any failed before building,
// and again before planning the run.
std::unique_ptr<Simulation> build(const ModelOptions& options, Registry& registry,
                                  const std::shared_ptr<Communicator>& world,
                                  const std::function<void(const ModelSpec&)>& check = {},
                                  const checkpoint::RecordedModel* recorded = nullptr) {
  std::optional<ModelSpec> spec;
  Environment env;
  env.communicator = world;
  std::exception_ptr error;
  try {
    spec = prepare(options, registry, recorded);
    if (check) check(*spec);
    if (const char* progress = std::getenv("DSIM_MPI_PROGRESS"); progress && *progress) {
      env.mpi_progress = progress;
      if (env.mpi_progress != "worker" && env.mpi_progress != "thread")
        throw Error(fmt::format("environment variable DSIM_MPI_PROGRESS: '{}' is neither "
                                "'worker' (the default) nor 'thread'",
                                env.mpi_progress));
    }
  } catch (...) {
    error = std::current_exception();
  }
  world->agree(error);
  std::unique_ptr<Simulation> simulation;
  try {
    simulation = std::make_unique<Simulation>(std::move(*spec), registry, env);
    simulation->plan();
  } catch (...) {
    error = std::current_exception();
  }
  world->agree(error);
  return simulation;
}

// Starts the dashboard of `options.dashboard` for `simulation`'s run.
void start_dashboard(const RunCommandOptions& options, Simulation& simulation,
                     std::shared_ptr<viz::DashboardState>& board,
                     std::unique_ptr<viz::DashboardServer>& server, std::FILE* err) {
  const viz::DashboardServerOptions server_options =
      dashboard_options(options.dashboard, "--dashboard");
  const RunPlan& plan = simulation.plan();
  viz::DashboardRun run;
  run.name = options.resume.empty() ? options.model.config : options.resume;
  run.sync = plan.sync;
  run.threads = plan.threads;
  run.ranks = plan.ranks;
  if (plan.ranks > 1)
    run.note = fmt::format(
        "{} MPI processes of {} threads: every figure is the whole job's, pooled at quiet "
        "points; memory is summed over the processes.",
        plan.ranks, plan.threads);
  board = std::make_shared<viz::DashboardState>(std::move(run));
  server = std::make_unique<viz::DashboardServer>(
      server_options, std::vector<std::shared_ptr<viz::DashboardState>>{board});
  std::fprintf(err, "dsim: dashboard at %s\n", server->url().c_str());
  std::fflush(err);
}

}  // namespace

int run_command(const RunCommandOptions& options, const std::shared_ptr<Communicator>& world,
                std::FILE* out, std::FILE* err) {
  // Under mpirun every process runs this; rank 0 alone writes and prints.
  Communicator& cluster = *world;
  const bool lead = cluster.rank() == 0;
  // The registry holds the plugins' code, so it outlives the simulation.
  Registry registry;
  fs::path out_dir, checkpoint_dir;
  // dsim resume: the model the checkpoint recorded (every process reads it).
  std::optional<checkpoint::RecordedModel> recorded;
  if (!options.resume.empty()) {
    std::exception_ptr error;
    try {
      recorded = checkpoint::recorded_model(options.resume);
    } catch (...) {
      error = std::current_exception();
    }
    world->agree(error);
  }
  std::unique_ptr<Simulation> simulation = build(
      options.model, registry, world,
      [&](const ModelSpec& spec) {
        out_dir = options.out.empty() ? fs::path(spec.output.directory) : fs::path(options.out);
        checkpoint_dir = spec.checkpoint.directory.empty()
                             ? default_checkpoint_directory(out_dir)
                             : fs::path(spec.checkpoint.directory);
        if (lead) output::check_output_directory(out_dir);  // before the run, not after
      },
      recorded ? &*recorded : nullptr);
  const ModelSpec& spec = simulation->spec();

  const auto warn = [lead, err, &cluster](const std::string& message) {
    if (lead)
      std::fprintf(err, "dsim: warning: %s\n", message.c_str());
    else
      std::fprintf(err, "dsim: rank %u: warning: %s\n", cluster.rank(), message.c_str());
    std::fflush(err);
  };
  if (lead && !options.quiet)
    for (const auto& warning : simulation->plan().warnings) warn(warning);

  RunOptions run_options;
  run_options.check_rollback = options.check_rollback;
  run_options.on_warning = warn;
  auto requests = std::make_shared<CheckpointRequests>();
  run_options.checkpoint.directory = checkpoint_dir;
  run_options.checkpoint.every = spec.checkpoint.every;
  run_options.checkpoint.wall_every = spec.checkpoint.wall_every;
  run_options.checkpoint.keep = spec.checkpoint.keep;
  run_options.checkpoint.requests = requests;
  if (recorded) {
    run_options.resume = recorded->checkpoint;
    if (lead)
      for (const auto& r : recorded->refused)
        warn(fmt::format("passed over checkpoint {}: {}", r.path.string(), r.problem));
  }
  // A restart continues from the run's own latest checkpoint, if it has one.
  if (options.resume_latest) {
    if (has_valid_checkpoint(checkpoint_dir)) {
      run_options.resume = checkpoint_dir;
      if (lead && !options.quiet)
        std::fprintf(err, "dsim: resuming from the latest valid checkpoint in %s\n",
                     checkpoint_dir.string().c_str());
    } else if (!recorded && lead && !options.quiet) {
      std::fprintf(err, "dsim: no valid checkpoint in %s: starting from the beginning\n",
                   checkpoint_dir.string().c_str());
    }
  }
  StopOnInterrupt interrupt(lead ? err : nullptr, requests);
  run_options.stop = interrupt.token();
  std::unique_ptr<ProgressBar> bar;
  if (lead && !options.quiet && options.progress && is_terminal(err)) {
    bar = std::make_unique<ProgressBar>(err);
    run_options.on_progress = [&bar](const Progress& p) { bar->update(p); };
  }
  // --dashboard: rank 0 serves it (the run never waits for a viewer).
  std::shared_ptr<viz::DashboardState> board;
  std::unique_ptr<viz::DashboardServer> server;
  if (!options.dashboard.address.empty()) {
    std::exception_ptr error;
    if (lead) {
      try {
        start_dashboard(options, *simulation, board, server, err);
      } catch (...) {
        error = std::current_exception();
      }
    }
    world->agree(error);
    if (board) {
      run_options.progress_series = true;
      run_options.on_progress = [&bar, board](const Progress& p) {
        if (bar) bar->update(p);
        board->update(p);
      };
    }
  }
  std::optional<RunResult> result;
  try {
    result = simulation->run(run_options);
  } catch (const RunStopped& stopped) {
    bar.reset();
    if (board) board->end("stopped", stopped.what());
    server.reset();
    if (requests->stop_asked()) {  // SIGTERM, with a checkpoint directory
      if (lead)
        std::fprintf(err,
                     "dsim: terminated: %s after writing a checkpoint; no results were written; "
                     "continue with: dsim resume %s\n",
                     stopped.what(), checkpoint_dir.string().c_str());
      return kExitCheckpointed;
    }
    if (lead)
      std::fprintf(err, "dsim: %s: %s; no results were written\n",
                   interrupt.terminated() ? "terminated" : "interrupted", stopped.what());
    return interrupt.terminated() ? kExitTerminated : kExitInterrupted;
  } catch (const std::exception& e) {
    if (board) board->end("failed", e.what());
    throw;
  }
  bar.reset();  // clears the line
  if (board) board->finish(*result);
  server.reset();  // open pages keep the final state
  if (!lead) return 0;
  result->figures.restarts = options.restarts;

  output::write_results(out_dir, simulation->spec(), *result, DSIM_VERSION);
  if (options.quiet) return 0;
  print(out, output::summary_table(*result));
  if (options.charts && is_terminal(out))
    print(out, run_charts(*result, terminal_width(out), utf8_locale()));
  if (result->figures.checkpoints_written > 0)
    print(out, fmt::format("checkpoints: {} written, the last {}\n",
                           result->figures.checkpoints_written, result->figures.last_checkpoint));
  print(out, fmt::format("results written to {}\n", out_dir.string()));
  std::fflush(out);
  return 0;
}

int validate_command(const ModelOptions& options, const std::shared_ptr<Communicator>& world,
                     std::FILE* out) {
  Registry registry;
  // Building the simulation generates the link graph and partitions it, so
  // layout errors (a zero-lookahead link between partitions under
  // conservative sync) are caught here, not only when the run starts.
  const std::unique_ptr<Simulation> simulation = build(options, registry, world);
  const RunPlan& plan = simulation->plan();
  const ModelSpec& spec = simulation->spec();
  const SimulationSpec& sim = spec.simulation;

  std::uint64_t entities = 0;
  std::vector<std::vector<std::string>> groups;
  for (const auto& g : spec.groups) {
    entities += g.count;
    std::vector<std::string> params;
    for (const auto& [name, value] : g.params)
      params.push_back(fmt::format("{}={}", name, to_string(value)));
    groups.push_back({g.name, g.type, fmt::format("x{}", g.count), join(params, " ")});
  }
  std::vector<std::vector<std::string>> links;
  for (const auto& l : spec.links)
    links.push_back(
        {l.from, "->", l.to, topology_text(l.topology),
         fmt::format("lookahead={}{}",
                     l.lookahead ? fmt::format("{}", *l.lookahead) : std::string("none"),
                     l.weight != 1.0 ? fmt::format(" weight={}", l.weight) : "")});

  std::string text =
      fmt::format("model       {}\n", spec.file.empty() ? options.config : spec.file);
  text +=
      fmt::format("simulation  end_time={} seed={} sync={} threads={} partitioner={} queue={}\n",
                  sim.end_time, sim.seed, sim.sync,
                  sim.threads == 0 ? std::string("0 (one per core)") : std::to_string(sim.threads),
                  sim.partitioner, sim.queue);
  text += fmt::format("groups      {}\n", spec.groups.size());
  text += table(groups, "  ");
  text += fmt::format("links       {}\n", spec.links.size());
  text += table(links, "  ");
  text += fmt::format("entities    {}\n", entities);
  std::string series = spec.output.sample_interval > 0
                           ? fmt::format(", series every {}", spec.output.sample_interval)
                           : std::string();
  text += fmt::format("output      {} ({}{})\n", spec.output.directory,
                      join(spec.output.formats, ", "), series);
  if (!spec.plugins.empty()) text += fmt::format("plugins     {}\n", join(spec.plugins, " "));
  std::vector<std::string> sizes;
  for (auto n : plan.partition_entities) sizes.push_back(std::to_string(n));
  std::string ranks;
  if (plan.ranks > 1)
    ranks = fmt::format("ranks={} rank_edge_cut={} ", plan.ranks, plan.rank_edge_cut);
  text += fmt::format("plan        sync={} {}threads={} partitioner={} edge_cut={} partitions=[{}]\n",
                      plan.sync, ranks, plan.threads, plan.partitioner, plan.edge_cut,
                      join(sizes, " "));
  text += fmt::format("            {}\n", plan.reason);
  for (const auto& warning : plan.warnings) text += fmt::format("  warning: {}\n", warning);
  if (plan.engine == dsim::Engine::kOptimistic) text += optimistic_plan_text(plan, spec, registry);
  text += fmt::format("valid: {} groups, {} links, {} entities\n", spec.groups.size(),
                      spec.links.size(), entities);
  print(out, text);
  return 0;
}

int checkpoints_command(const std::string& dir, std::FILE* out) {
  const auto all = checkpoint::list_checkpoints(dir);
  if (all.empty()) {
    print(out, fmt::format("no checkpoints in {}\n", dir));
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"checkpoint", "time", "events", "size", "layout", "written", "status"});
  for (const auto& c : all) {
    const bool known = c.ranks > 0;
    rows.push_back(
        {c.path.filename().string(), known ? fmt::format("{}", c.safe_time) : "?",
         known ? std::to_string(c.events) : "?", output::byte_size(c.bytes),
         known ? fmt::format("{} ranks x {} threads, {}, {}", c.ranks, c.threads, c.sync,
                             c.partitioner)
               : "?",
         c.written_at.empty() ? "?" : c.written_at,
         c.valid ? "valid" : fmt::format("INVALID: {}", c.problem)});
  }
  print(out, table(rows, ""));
  return 0;
}

int list_command(const std::string& type, const std::vector<std::string>& plugins, std::FILE* out) {
  Registry registry;
  register_builtins(registry);
  register_reference_models(registry);
  enable_python_plugins(registry);
  registry.load_plugins({}, plugins);

  std::vector<const EntityTypeInfo*> types;
  if (type.empty()) {
    types = registry.types();
  } else if (const EntityTypeInfo* info = registry.find(type)) {
    types.push_back(info);
  } else {
    std::vector<std::string> known;
    for (const auto* t : registry.types()) known.push_back(t->name);
    throw Error(fmt::format("unknown entity type '{}' (known: {})", type, join(known, ", ")));
  }

  std::string text;
  for (const auto* info : types) {
    if (!text.empty()) text += "\n";
    text +=
        fmt::format("{}\n  {}\n", info->name, info->doc.empty() ? "(no description)" : info->doc);
    const auto& decls = info->params.decls();
    if (decls.empty()) {
      text += "  parameters: none\n";
      continue;
    }
    text += "  parameters:\n";
    std::vector<std::vector<std::string>> rows;
    rows.push_back({"name", "type", "default", "description"});
    for (const auto& d : decls)
      rows.push_back({d.name, std::string(to_string(d.type)),
                      d.default_value ? to_string(*d.default_value) : "(required)", d.doc});
    text += table(rows, "    ");
  }
  print(out, text);
  return 0;
}

}  // namespace dsim::cli
