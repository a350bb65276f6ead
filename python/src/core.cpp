// pydsim._core: the compiled half of pydsim, over the public C++ API only
// (include/dsim/). The Python half (python/pydsim/) turns what this returns
// into DataFrames, Datasets and plots.
//
// Every entry point takes the model as its source (a config path, or the
// JSON of a dict with a config's tables), the --set overrides in order, and
// the plugins to load: a model here is a recipe, built anew for each call,
// exactly as `dsim run` builds it from its command line. So a message is the
// CLI's, word for word.
//
// The engine runs on a thread of its own while the calling thread waits
// with the GIL released, looking every 50 ms for a signal (Ctrl-C): then the
// run is asked to stop, stops at its next quiet point, and the caller gets
// KeyboardInterrupt. Other Python threads run meanwhile.
//
// Numbers reach numpy without a copy per element: each column is a
// std::vector handed to numpy whole, owned by a capsule.
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "dsim/dsim.hpp"
#include "dsim/experiment.hpp"
#include "dsim/output.hpp"
#include "dsim/reference_models.hpp"
#include "types.hpp"

namespace py = pybind11;
namespace fs = std::filesystem;

namespace {

PyObject* g_error = nullptr;        // pydsim.Error
PyObject* g_input_error = nullptr;  // pydsim.InputError
PyObject* g_run_error = nullptr;    // pydsim.RunError
PyObject* g_run_stopped = nullptr;  // pydsim.RunStopped

// Raised from C++ code that holds the GIL: the Python error is set already.
struct PythonErrorSet {};

// The model a call builds: what `dsim run` reads from its command line.
struct Source {
  std::string path;  // a config file, or
  std::string json;  // a config's tables as JSON (a dict), named `name`
  std::string name;
  std::vector<std::string> overrides;
  std::vector<std::string> plugins;  // besides the config's own
};

Source source_from(const py::dict& d) {
  Source s;
  s.path = d["path"].cast<std::string>();
  s.json = d["json"].cast<std::string>();
  s.name = d["name"].cast<std::string>();
  s.overrides = d["overrides"].cast<std::vector<std::string>>();
  s.plugins = d["plugins"].cast<std::vector<std::string>>();
  return s;
}


// The built-in types, the reference models and the Python types registered
// so far; ".py" plugins load into it. REQUIRES: the GIL.
void base_registry(dsim::Registry& registry) {
  dsim::register_builtins(registry);
  dsim::register_reference_models(registry);
  pydsim::enable_python_types(registry);
}

// Load, plugins, validate: the spec `dsim run` would run.
dsim::ModelSpec prepare(const Source& source, dsim::Registry& registry) {
  base_registry(registry);
  dsim::ModelSpec spec = source.json.empty()
                             ? dsim::load_model(source.path, source.overrides)
                             : dsim::model_from_json(source.json, source.name, source.overrides);
  registry.load_plugins(spec.plugins, source.plugins);
  dsim::validate(spec, registry);
  return spec;
}

// ---- errors -------------------------------------------------------------------------

void set_python_error(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const dsim::RunStopped& e) {
    PyErr_SetString(g_run_stopped, e.what());
  } catch (const dsim::Error& e) {
    PyErr_SetString(e.kind() == dsim::Error::Kind::kInput ? g_input_error : g_run_error, e.what());
  } catch (const py::error_already_set& e) {
    py::error_already_set copy = e;
    copy.restore();
  } catch (const std::bad_alloc&) {
    PyErr_NoMemory();
  } catch (const std::exception& e) {
    PyErr_SetString(g_run_error, e.what());
  }
}

// Runs `body`, turning a dsim::Error into the matching Python exception.
template <class F>
auto translated(F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const py::error_already_set&) {
    throw;
  } catch (const py::builtin_exception&) {
    throw;
  } catch (const PythonErrorSet&) {
    throw py::error_already_set();
  } catch (...) {
    set_python_error(std::current_exception());
    throw py::error_already_set();
  }
}

// A Python function the engine calls from a thread of its own (progress
// observers): each call takes the GIL; the first exception it raises is
// kept and asks for a stop, and the rest of the calls are skipped. Copies
// share one state, dropped with the GIL held.
class PythonCallback {
 public:
  PythonCallback(py::object function, std::stop_source stop)
      : state_(pydsim::gil_shared(new State{std::move(function), std::move(stop)})) {}

  // Calls the function with what `argument()` makes (under the GIL).
  template <class MakeArgument>
  void operator()(MakeArgument&& argument) const {
    State& s = *state_;
    if (s.failed.load()) return;
    py::gil_scoped_acquire gil;
    try {
      s.function(argument());
    } catch (py::error_already_set& e) {
      s.failure.emplace(std::move(e));
      s.failed.store(true);
      s.stop.request_stop();
    }
  }
  // The exception it raised, once the run is over (REQUIRES: no more calls).
  const std::optional<py::error_already_set>& failure() const { return state_->failure; }

 private:
  struct State {
    py::object function;
    std::stop_source stop;
    std::optional<py::error_already_set> failure;
    std::atomic<bool> failed{false};
  };
  std::shared_ptr<State> state_;
};

// Runs `body` on a thread of its own while this one waits with the GIL
// released; a signal (Ctrl-C) on the way requests `stop` and, once `body`
// returned (stopped at a quiet point), is raised here. An exception of
// `callback` (it asked for the stop itself) is raised in place of the stop
// that followed.
template <class R>
R run_released(const std::function<R()>& body, std::stop_source& stop,
               const std::optional<PythonCallback>& callback = std::nullopt) {
  std::mutex mutex;
  std::condition_variable cv;
  bool done = false;
  std::optional<R> result;
  std::exception_ptr error;
  std::thread worker;
  {
    py::gil_scoped_release release;
    worker = std::thread([&] {
      try {
        result.emplace(body());
      } catch (...) {
        error = std::current_exception();
      }
      std::lock_guard lock(mutex);
      done = true;
      cv.notify_all();
    });
  }
  std::optional<py::error_already_set> signal;
  for (;;) {
    {
      py::gil_scoped_release release;
      std::unique_lock lock(mutex);
      if (cv.wait_for(lock, std::chrono::milliseconds(50), [&] { return done; })) break;
    }
    if (!signal && PyErr_CheckSignals() != 0) {
      signal.emplace();  // fetches KeyboardInterrupt (or what the handler raised)
      stop.request_stop();
    }
  }
  {
    py::gil_scoped_release release;
    worker.join();
  }
  if (signal) throw *signal;
  if (callback && callback->failure()) throw *callback->failure();
  if (error) {
    set_python_error(error);
    throw py::error_already_set();
  }
  return std::move(*result);
}

// ---- numpy columns ---------------------------------------------------------------------

template <class T>
py::array_t<T> to_numpy(std::vector<T>&& values) {
  auto* owned = new std::vector<T>(std::move(values));
  py::capsule owner(owned, [](void* p) { delete static_cast<std::vector<T>*>(p); });
  return py::array_t<T>({static_cast<py::ssize_t>(owned->size())}, {sizeof(T)}, owned->data(),
                        owner);
}

// One series: group, stat and its time and value columns.
py::dict series_dict(const std::string& group, const std::string& stat,
                     std::vector<double>&& times, std::vector<double>&& values) {
  py::dict one;
  one["group"] = group;
  one["stat"] = stat;
  one["time"] = to_numpy(std::move(times));
  one["value"] = to_numpy(std::move(values));
  return one;
}

// The statistics as results.csv holds them (group, stat, kind, field,
// value; histograms add lo and hi rows), and the series as columns.
py::dict result_columns(dsim::RunResult&& result) {
  std::vector<std::string> group, stat, kind, field;
  std::vector<double> value;
  for (const dsim::StatResult& s : result.stats) {
    const std::string k(dsim::output::kind_name(s.kind));
    auto row = [&](const std::string& f, double v) {
      group.push_back(s.group);
      stat.push_back(s.stat);
      kind.push_back(k);
      field.push_back(f);
      value.push_back(v);
    };
    for (const auto& [f, v] : s.fields) row(f, v);
    if (s.kind == dsim::StatKind::kHistogram) {
      row("lo", s.lo);
      row("hi", s.hi);
    }
  }
  py::dict stats;
  stats["group"] = group;
  stats["stat"] = stat;
  stats["kind"] = kind;
  stats["field"] = field;
  stats["value"] = to_numpy(std::move(value));
  py::list series;
  for (dsim::SeriesResult& s : result.series)
    series.append(series_dict(s.group, s.stat, std::move(s.times), std::move(s.values)));
  py::dict out;
  out["stats"] = std::move(stats);
  out["series"] = std::move(series);
  out["end_time"] = result.end_time;
  out["seed"] = result.seed;
  return out;
}

py::dict progress_dict(const dsim::Progress& p) {
  py::dict d;
  d["now"] = p.now;
  d["end_time"] = p.end_time;
  d["events"] = p.events;
  d["wall_seconds"] = p.wall_seconds;
  d["threads"] = p.threads;
  d["processes"] = p.processes;
  d["blocked_share"] = p.blocked_share;
  d["rolled_back"] = p.rolled_back;
  d["efficiency"] = p.efficiency;
  d["rollbacks"] = p.rollbacks;
  d["gvt_rounds"] = p.gvt_rounds;
  d["saved_bytes"] = p.saved_bytes;
  d["partition_events"] = p.partition_events;
  d["rss_bytes"] = p.rss_bytes;
  d["peak_rss_bytes"] = p.peak_rss_bytes;
  d["checkpoints_written"] = p.checkpoints_written;
  return d;
}

py::dict plan_dict(const dsim::RunPlan& plan) {
  py::dict d;
  d["sync"] = plan.sync;
  d["reason"] = plan.reason;
  d["partitioner"] = plan.partitioner;
  d["threads"] = plan.threads;
  d["ranks"] = plan.ranks;
  d["lookahead"] = plan.lookahead;
  d["edge_cut"] = plan.edge_cut;
  d["rank_edge_cut"] = plan.rank_edge_cut;
  d["partition_entities"] = plan.partition_entities;
  d["partition_of"] = to_numpy(std::vector<std::uint32_t>(plan.partition_of));
  d["memory_limit"] = plan.memory_limit;
  d["warnings"] = plan.warnings;
  return d;
}

std::shared_ptr<dsim::Communicator> communicator(std::uintptr_t mpi_comm_address) {
  if (mpi_comm_address == 0) return nullptr;
  return dsim::Communicator::from_mpi(reinterpret_cast<const void*>(mpi_comm_address));
}

// Every process's error, agreed (one process: rethrows its own).
void agree(const std::shared_ptr<dsim::Communicator>& world, std::exception_ptr error) {
  if (world)
    world->agree(error);
  else if (error)
    std::rethrow_exception(error);
}

// ---- entry points ----------------------------------------------------------------------

// The resolved model as JSON (to_json's), validated and built (its
// entities, links and partitions: what `dsim validate` checks).
std::string resolve(const py::dict& source_dict) {
  const Source source = source_from(source_dict);
  return translated([&] {
    dsim::Registry registry;
    dsim::ModelSpec spec = prepare(source, registry);
    std::string json = dsim::to_json(spec);
    py::gil_scoped_release release;
    dsim::Simulation simulation(std::move(spec), registry);
    simulation.plan();
    return json;
  });
}

py::dict plan(const py::dict& source_dict, std::uintptr_t mpi_comm) {
  const Source source = source_from(source_dict);
  return translated([&] {
    dsim::Registry registry;
    dsim::Environment env;
    env.communicator = communicator(mpi_comm);
    dsim::Simulation simulation(prepare(source, registry), registry, env);
    return plan_dict(simulation.plan());
  });
}

py::list statistics(const py::dict& source_dict) {
  const Source source = source_from(source_dict);
  return translated([&] {
    dsim::Registry registry;
    const dsim::Simulation simulation(prepare(source, registry), registry);
    py::list out;
    for (const auto& s : simulation.statistics()) {
      py::dict d;
      d["group"] = s.group;
      d["stat"] = s.decl.name;
      d["kind"] = std::string(dsim::output::kind_name(s.decl.kind));
      d["doc"] = s.decl.doc;
      out.append(std::move(d));
    }
    return out;
  });
}

py::dict run(const py::dict& source_dict, const std::string& out, py::object progress,
             double progress_interval, bool progress_series, bool check_rollback,
             std::uintptr_t mpi_comm, bool all_ranks, const std::string& version) {
  const Source source = source_from(source_dict);
  return translated([&]() -> py::dict {
    dsim::Registry registry;
    std::shared_ptr<dsim::Communicator> world = communicator(mpi_comm);
    const bool lead = !world || world->rank() == 0;
    std::optional<dsim::ModelSpec> spec;
    std::exception_ptr error;
    try {
      spec = prepare(source, registry);
      if (lead && !out.empty()) dsim::output::check_output_directory(out);
    } catch (...) {
      error = std::current_exception();
    }
    agree(world, error);
    std::unique_ptr<dsim::Simulation> simulation;
    {
      py::gil_scoped_release release;  // a collective under MPI
      try {
        dsim::Environment env;
        env.communicator = world;
        simulation = std::make_unique<dsim::Simulation>(std::move(*spec), registry, env);
        simulation->plan();
      } catch (...) {
        error = std::current_exception();
      }
      agree(world, error);
    }

    std::stop_source stop;
    dsim::RunOptions options;
    options.stop = stop.get_token();
    options.check_rollback = check_rollback;
    options.progress_interval = progress_interval;
    options.progress_series = progress_series;
    std::optional<PythonCallback> callback;
    if (!progress.is_none()) {
      callback.emplace(progress, stop);
      options.on_progress = [cb = *callback](const dsim::Progress& p) {
        cb([&] {
          py::dict d = progress_dict(p);
          if (!p.series.empty()) {
            py::list series;
            for (const auto& s : p.series)
              series.append(series_dict(s.group, s.stat, std::vector<double>(s.times),
                                        std::vector<double>(s.values)));
            d["series"] = std::move(series);
          }
          return d;
        });
      };
    }
    dsim::Simulation& sim = *simulation;
    std::function<dsim::RunResult()> body = [&] { return sim.run(options); };
    dsim::RunResult result = run_released(body, stop, callback);
    py::dict d;
    d["manifest"] = dsim::output::manifest_json(sim.spec(), result, version);
    if (lead && !out.empty()) {
      py::gil_scoped_release release;
      dsim::output::write_results(out, sim.spec(), result, version);
    }
    if (!lead && !all_ranks) return py::dict();
    py::dict columns = result_columns(std::move(result));
    for (auto item : d) columns[item.first] = item.second;
    return columns;
  });
}

py::dict read_results(const std::string& dir) {
  return translated([&] {
    dsim::output::ResultDirectory r = dsim::output::read_results(dir);
    py::dict d = result_columns(std::move(r.result));
    d["dsim_version"] = r.dsim_version;
    d["config_file"] = r.config_file;
    d["config_json"] = r.config_json;
    return d;
  });
}

py::list entity_types(const std::vector<std::string>& plugins) {
  return translated([&] {
    dsim::Registry registry;
    base_registry(registry);
    registry.load_plugins({}, plugins);
    py::list out;
    for (const dsim::EntityTypeInfo* info : registry.types()) {
      py::dict t;
      t["name"] = info->name;
      t["doc"] = info->doc;
      py::list params;
      for (const auto& decl : info->params.decls()) {
        py::dict p;
        p["name"] = decl.name;
        p["type"] = std::string(dsim::to_string(decl.type));
        p["default"] = decl.default_value ? py::cast(dsim::to_string(*decl.default_value))
                                          : py::object(py::none());
        p["doc"] = decl.doc;
        params.append(std::move(p));
      }
      t["params"] = std::move(params);
      out.append(std::move(t));
    }
    return out;
  });
}

// An experiment, as pydsim.experiment() describes it (a dict of the
// fields of dsim::Experiment and dsim::ExperimentOptions).
dsim::Experiment experiment_from(const py::dict& d, const Source& source) {
  dsim::Experiment e;
  e.model = source.json.empty() ? source.path : source.name;
  e.model_json = source.json;
  e.overrides = source.overrides;
  for (const py::handle& item : d["factors"].cast<py::list>()) {
    const py::dict f = item.cast<py::dict>();
    dsim::Factor factor;
    factor.key = f["key"].cast<std::string>();
    factor.values = f["values"].cast<std::vector<std::string>>();
    factor.range = f["range"].cast<bool>();
    factor.lo = f["lo"].cast<double>();
    factor.hi = f["hi"].cast<double>();
    factor.log = f["log"].cast<bool>();
    factor.integer = f["integer"].cast<bool>();
    factor.where = "vary: " + factor.key;
    e.factors.push_back(std::move(factor));
  }
  e.design = d["design"].cast<std::string>();
  e.points = d["points"].cast<std::uint32_t>();
  e.design_seed = d["design_seed"].cast<std::uint64_t>();
  e.replications = d["replications"].cast<std::uint32_t>();
  if (!d["precision"].is_none()) e.precision = dsim::parse_precision(d["precision"].cast<std::string>());
  e.confidence = d["confidence"].cast<double>();
  e.min_replications = d["min_replications"].cast<std::uint32_t>();
  e.max_replications = d["max_replications"].cast<std::uint32_t>();
  e.common_random_numbers = d["common_random_numbers"].cast<bool>();
  if (!d["seed"].is_none()) e.seed = d["seed"].cast<std::uint64_t>();
  return e;
}

// Series of one run, kept for the Python side.
struct RunSeries {
  std::uint32_t point = 0, replication = 0;
  std::vector<dsim::SeriesResult> series;
};

py::dict experiment(const py::dict& source_dict, const py::dict& spec, const std::string& output,
                    std::uint32_t workers, bool resume, bool retry_failed, bool keep_series,
                    py::object progress, std::uintptr_t mpi_comm, const std::string& version) {
  const Source source = source_from(source_dict);
  return translated([&]() -> py::dict {
    dsim::Registry registry;
    base_registry(registry);
    std::shared_ptr<dsim::Communicator> world = communicator(mpi_comm);
    dsim::Experiment e;
    std::exception_ptr error;
    try {
      e = experiment_from(spec, source);
      // The model's plugins: load it once to learn them.
      const dsim::ModelSpec probe = e.model_json.empty()
                                        ? dsim::load_model(e.model, e.overrides)
                                        : dsim::model_from_json(e.model_json, e.model, e.overrides);
      registry.load_plugins(probe.plugins, source.plugins);
    } catch (...) {
      error = std::current_exception();
    }
    agree(world, error);

    std::stop_source stop;
    dsim::ExperimentOptions options;
    options.output = output;
    options.workers = workers;
    options.resume = resume;
    options.retry_failed = retry_failed;
    options.stop = stop.get_token();
    options.version = version;
    options.environment.communicator = world;
    auto kept = std::make_shared<std::vector<RunSeries>>();
    auto kept_mutex = std::make_shared<std::mutex>();
    if (keep_series)
      options.on_run = [kept, kept_mutex](std::uint32_t point, std::uint32_t replication,
                                          const dsim::RunResult& r) {
        if (r.series.empty()) return;
        RunSeries s{point, replication, r.series};
        std::lock_guard lock(*kept_mutex);
        kept->push_back(std::move(s));
      };
    std::optional<PythonCallback> callback;
    if (!progress.is_none()) {
      callback.emplace(progress, stop);
      // Called while the workers wait: keep it short (the Python side does).
      options.on_progress = [cb = *callback](const dsim::ExperimentProgress& p) {
        cb([&] {
          py::dict d;
          d["runs_done"] = p.runs_done;
          d["runs_expected"] = p.runs_expected;
          d["points_done"] = p.points_done;
          d["points"] = p.points;
          d["wall_seconds"] = p.wall_seconds;
          return d;
        });
      };
    }
    std::function<dsim::ExperimentResult()> body = [&] {
      return dsim::run_experiment(e, registry, options);
    };
    const dsim::ExperimentResult r = run_released(body, stop, callback);
    py::dict d;
    d["runs"] = r.runs;
    d["runs_executed"] = r.runs_executed;
    d["runs_discarded"] = r.runs_discarded;
    d["wall_seconds"] = r.wall_seconds;
    py::list points;
    for (const dsim::PointSummary& p : r.points) {
      py::dict one;
      one["point"] = p.point;
      one["values"] = p.design.values;
      one["labels"] = p.design.labels;
      one["replications"] = p.replications;
      one["failed"] = p.failed;
      one["stopped"] = p.stopped;
      points.append(std::move(one));
    }
    d["points"] = std::move(points);
    py::list failures;
    for (const dsim::FailedRun& f : r.failures)
      failures.append(py::dict(py::arg("point") = f.point, py::arg("replication") = f.replication,
                               py::arg("seed") = f.seed, py::arg("message") = f.message));
    d["failures"] = std::move(failures);
    py::list series;
    std::sort(kept->begin(), kept->end(), [](const RunSeries& a, const RunSeries& b) {
      return std::pair(a.point, a.replication) < std::pair(b.point, b.replication);
    });
    for (RunSeries& run : *kept) {
      for (dsim::SeriesResult& s : run.series) {
        py::dict one = series_dict(s.group, s.stat, std::move(s.times), std::move(s.values));
        one["point"] = run.point;
        one["replication"] = run.replication;
        series.append(std::move(one));
      }
    }
    d["series"] = std::move(series);
    return d;
  });
}

}  // namespace

namespace pydsim {
PyObject* input_error_type() { return g_input_error; }
PyObject* run_error_type() { return g_run_error; }
}  // namespace pydsim

PYBIND11_MODULE(_core, m) {
  m.doc() = "The compiled half of pydsim (use the package pydsim, not this module).";
  g_error = PyErr_NewExceptionWithDoc("pydsim.Error", "Any error dsim reports.", PyExc_Exception,
                                      nullptr);
  g_input_error = PyErr_NewExceptionWithDoc(
      "pydsim.InputError",
      "Bad input: a config, key, value or file dsim cannot use (the CLI exits 2 for it).",
      g_error, nullptr);
  g_run_error = PyErr_NewExceptionWithDoc(
      "pydsim.RunError", "A run failed: a model error, an I/O failure (the CLI exits 1).",
      g_error, nullptr);
  g_run_stopped = PyErr_NewExceptionWithDoc(
      "pydsim.RunStopped", "A run was stopped at a quiet point before its end.", g_run_error,
      nullptr);
  m.add_object("Error", py::handle(g_error));
  m.add_object("InputError", py::handle(g_input_error));
  m.add_object("RunError", py::handle(g_run_error));
  m.add_object("RunStopped", py::handle(g_run_stopped));
  // dsim's errors raised inside a handler's calls (ctx.fail, a bad send)
  // reach Python as these, and go back to the engine as they were.
  py::register_exception_translator([](std::exception_ptr p) {
    if (!p) return;
    try {
      std::rethrow_exception(p);
    } catch (const dsim::Error&) {
      set_python_error(std::current_exception());
    }
  });
  pydsim::bind_types(m);
  m.attr("version") = DSIM_VERSION;
  m.attr("built_with_mpi") = dsim::built_with_mpi();

  m.def("resolve", &resolve, py::arg("source"));
  m.def("plan", &plan, py::arg("source"), py::arg("mpi_comm") = 0);
  m.def("statistics", &statistics, py::arg("source"));
  m.def("run", &run, py::arg("source"), py::arg("out"), py::arg("progress"),
        py::arg("progress_interval"), py::arg("progress_series"), py::arg("check_rollback"),
        py::arg("mpi_comm"), py::arg("all_ranks"), py::arg("version"));
  m.def("read_results", &read_results, py::arg("dir"));
  m.def("entity_types", &entity_types, py::arg("plugins"));
  m.def("experiment", &experiment, py::arg("source"), py::arg("spec"), py::arg("output"),
        py::arg("workers"), py::arg("resume"), py::arg("retry_failed"), py::arg("keep_series"),
        py::arg("progress"), py::arg("mpi_comm"), py::arg("version"));
  m.def("student_t_quantile", &dsim::student_t_quantile, py::arg("confidence"), py::arg("df"));
}
