#include "cli/experiment.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/interrupt.hpp"
#include "cli/python_plugins.hpp"
#include "experiment/values.hpp"
#include "dsim/model_spec.hpp"
#include "dsim/reference_models.hpp"
#include "dsim/registry.hpp"

namespace dsim::cli {
namespace {

namespace fs = std::filesystem;

std::string duration(double seconds) {
  if (!(seconds >= 0) || !std::isfinite(seconds)) return "?";
  if (seconds < 10) return fmt::format("{:.2f} s", seconds);
  if (seconds < 60) return fmt::format("{:.1f} s", seconds);
  if (seconds < 3600) return fmt::format("{:.0f} min {:02.0f} s", std::floor(seconds / 60),
                                         std::fmod(seconds, 60));
  return fmt::format("{:.0f} h {:02.0f} min", std::floor(seconds / 3600),
                     std::fmod(seconds / 60, 60));
}

// A factor value from JSON, as --set takes it.
std::string literal_of(const nlohmann::json& v) {
  using experiment_detail::float_literal;
  using experiment_detail::string_literal;
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number_integer()) return fmt::format("{}", v.get<std::int64_t>());
  if (v.is_number_unsigned()) return fmt::format("{}", v.get<std::uint64_t>());
  if (v.is_number_float()) return float_literal(v.get<double>());
  if (v.is_string()) return string_literal(v.get<std::string>());
  throw Error("a factor value must be a number, a string or a boolean");
}

nlohmann::json summary_json(const PointSummary& p) {
  using nlohmann::json;
  auto number = [](double v) { return std::isfinite(v) ? json(v) : json(nullptr); };
  json stats = json::array();
  json means = json::object();  // "group.stat.field": mean, for optimisers
  for (const FieldSummary& f : p.fields) {
    means[f.group + "." + f.stat + "." + f.field] = number(f.mean);
    stats.push_back({{"group", f.group}, {"stat", f.stat}, {"field", f.field}, {"n", f.n},
                     {"mean", number(f.mean)}, {"stddev", number(f.stddev)},
                     {"ci_low", number(f.ci_low)}, {"ci_high", number(f.ci_high)},
                     {"half_width", number(f.half_width)}});
  }
  return {{"replications", p.replications}, {"failed", p.failed}, {"stopped", p.stopped},
          {"means", std::move(means)}, {"stats", std::move(stats)}};
}

}  // namespace

int ask_tell(const Experiment& base, const Registry& registry, const ExperimentOptions& options,
             std::FILE* in, std::FILE* out) {
  using nlohmann::json;
  std::string line;
  std::uint64_t asked = 0;
  for (;;) {
    line.clear();
    int c;
    while ((c = std::fgetc(in)) != EOF && c != '\n') line += static_cast<char>(c);
    if (c == EOF && line.empty()) break;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::uint64_t index = asked++;
    json answer;
    json id;
    try {
      json ask;
      try {
        ask = json::parse(line);
      } catch (const json::exception&) {
        throw Error("not a JSON line");
      }
      if (!ask.is_object()) throw Error("expected an object {\"factors\": {KEY: VALUE, ...}}");
      if (ask.contains("id")) id = ask["id"];
      const json& values = ask.contains("factors") ? ask["factors"] : ask;
      if (!values.is_object()) throw Error("\"factors\" must be an object {KEY: VALUE, ...}");
      Experiment e = base;
      e.factors.clear();
      e.design = "factorial";
      for (const auto& [key, value] : values.items()) {
        if (key == "id" && !ask.contains("factors")) continue;
        Factor f;
        f.key = key;
        f.where = "ask " + std::to_string(index) + ": " + key;
        f.values = {literal_of(value)};
        e.factors.push_back(std::move(f));
      }
      // Independent streams: each ask its own.
      if (!e.common_random_numbers)
        e.seed = run_seed(e, e.seed.value_or(0) ^ 0x5bd1e995u, static_cast<std::uint32_t>(index), 0);
      ExperimentOptions o = options;
      o.output = options.output / fmt::format("ask-{:06}", index);
      o.on_progress = nullptr;
      const ExperimentResult r = run_experiment(e, registry, o);
      answer = summary_json(r.points.at(0));
      json factors = json::object();
      for (std::size_t f = 0; f < e.factors.size(); ++f)
        factors[e.factors[f].key] = r.points[0].design.labels[f];
      answer["factors"] = std::move(factors);
      answer["output"] = o.output.string();
    } catch (const Error& error) {
      if (options.stop.stop_requested()) throw;
      answer = {{"error", error.what()}};
    }
    answer["ask"] = index;
    if (!id.is_null()) answer["id"] = id;
    const std::string text = answer.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
    std::fwrite(text.data(), 1, text.size(), out);
    std::fflush(out);
    if (c == EOF) break;
  }
  return 0;
}

int experiment_command(const ExperimentCommandOptions& options,
                       const std::shared_ptr<Communicator>& world, std::FILE* out, std::FILE* err) {
  const bool lead = world->rank() == 0;
  Experiment e;
  if (is_experiment_file(options.file)) {
    e = load_experiment(options.file);
  } else {
    e.model = options.file;
  }
  // The command line adds to (or overrides) what the file says.
  for (const std::string& s : options.overrides) e.overrides.push_back(s);
  for (const std::string& v : options.vary) {
    Factor f = parse_vary(v);
    const auto same = std::find_if(e.factors.begin(), e.factors.end(),
                                   [&](const Factor& g) { return g.key == f.key; });
    if (same != e.factors.end()) *same = std::move(f);
    else e.factors.push_back(std::move(f));
  }
  if (!options.precision.empty()) {
    e.precision = parse_precision(options.precision);
    if (options.replications)
      throw Error("--replications and --precision: give one (with --precision, "
                  "--min-replications and --max-replications bound the count)");
  }
  if (options.replications) {
    if (*options.replications < 1) throw Error("--replications: must be at least 1");
    e.replications = *options.replications;
    e.precision.reset();
  }
  if (options.min_replications) e.min_replications = *options.min_replications;
  if (options.max_replications) e.max_replications = *options.max_replications;
  if ((options.min_replications || options.max_replications) && !e.precision)
    throw Error("--min-replications/--max-replications: only with a precision");
  if (e.precision && e.min_replications < 2)
    throw Error("--min-replications: must be at least 2 (an interval needs two values)");
  if (e.min_replications > e.max_replications)
    throw Error(fmt::format("--min-replications ({}) is above --max-replications ({})",
                            e.min_replications, e.max_replications));
  if (options.confidence) {
    if (!(*options.confidence > 0 && *options.confidence < 1))
      throw Error("--confidence: must be between 0 and 1 (exclusive), e.g. 0.95");
    e.confidence = *options.confidence;
  }
  if (!options.design.empty()) {
    if (options.design != "factorial" && options.design != "lhs" && options.design != "random" &&
        options.design != "points")
      throw Error(
          fmt::format("--design: '{}' is none of factorial, lhs, random, points", options.design));
    e.design = options.design;
  }
  if (options.points) e.points = *options.points;
  if (options.design_seed) e.design_seed = *options.design_seed;
  if ((e.design == "lhs" || e.design == "random") && e.points == 0)
    throw Error(fmt::format("--design {}: needs --points N", e.design));
  if (options.seed) e.seed = *options.seed;
  if (options.independent_streams) e.common_random_numbers = false;

  Registry registry;
  register_builtins(registry);
  enable_python_plugins(registry);
  register_reference_models(registry);
  const ModelSpec base = load_model(e.model, e.overrides);
  registry.load_plugins(base.plugins, options.plugins);

  ExperimentOptions run;
  if (!options.out.empty()) run.output = options.out;
  else if (!e.output.empty()) run.output = e.output;
  else run.output = base.output.directory + "-experiment";
  run.workers = options.workers;
  run.resume = options.resume;
  run.retry_failed = options.retry_failed;
  run.version = options.version;
  if (world->distributed()) run.environment.communicator = world;
  if (options.retry_failed && !options.resume)
    throw Error("--retry-failed: only with --resume (it reruns the failed runs of a journal)");

  StopOnInterrupt interrupt(lead ? err : nullptr);
  run.stop = interrupt.token();
  if (options.ask_tell) {
    if (world->distributed())
      throw Error("--ask-tell: run it as one process (it reads design points on stdin); "
                  "--workers N uses the machine's cores");
    return ask_tell(e, registry, run, stdin, out);
  }
  const bool bar = lead && !options.quiet && isatty(fileno(err));
  std::mutex print;
  auto last = std::chrono::steady_clock::now() - std::chrono::seconds(1);
  if (bar)
    run.on_progress = [&](const ExperimentProgress& p) {
      std::lock_guard lock(print);
      // At most 10 lines a second (the callback comes after every run).
      const auto now = std::chrono::steady_clock::now();
      if (now - last < std::chrono::milliseconds(100) && p.points_done < p.points) return;
      last = now;
      const double per_run = p.runs_done > 0 ? p.wall_seconds / static_cast<double>(p.runs_done) : 0;
      const double left = per_run * static_cast<double>(p.runs_expected - std::min(p.runs_expected, p.runs_done));
      std::fprintf(err, "\r\033[Kexperiment: %llu of %s%llu runs, %u of %u points done, %s, ~%s left",
                   static_cast<unsigned long long>(p.runs_done),
                   e.precision ? "at most " : "",
                   static_cast<unsigned long long>(p.runs_expected), p.points_done, p.points,
                   duration(p.wall_seconds).c_str(), duration(left).c_str());
      std::fflush(err);
    };
  ExperimentResult result;
  try {
    result = run_experiment(e, registry, run);
  } catch (const Error& error) {
    if (bar) std::fputs("\r\033[K", err);
    if (interrupt.token().stop_requested()) {
      if (lead) std::fprintf(err, "dsim: interrupted: %s\n", error.what());
      return interrupt.terminated() ? kExitTerminated : kExitInterrupted;
    }
    throw;
  }
  if (bar) std::fputs("\r\033[K", err);
  if (options.quiet || !lead) return 0;
  std::uint64_t failed = result.failures.size();
  std::fprintf(out, "experiment: %zu design point%s, %llu runs kept (%llu failed), %s; results in %s\n",
               result.points.size(), result.points.size() == 1 ? "" : "s",
               static_cast<unsigned long long>(result.runs + failed),
               static_cast<unsigned long long>(failed), duration(result.wall_seconds).c_str(),
               run.output.string().c_str());
  // One line per point: its factors, replications and the precision
  // statistic (or the first statistic) with its interval.
  for (const PointSummary& p : result.points) {
    std::string factors;
    for (std::size_t f = 0; f < p.design.labels.size(); ++f)
      factors += fmt::format("{}{}={}", f ? " " : "", e.factors[f].key, p.design.labels[f]);
    const FieldSummary* shown = nullptr;
    for (const FieldSummary& f : p.fields)
      if (e.precision ? (f.group == e.precision->group && f.stat == e.precision->stat &&
                         f.field == e.precision->field)
                      : true) {
        shown = &f;
        break;
      }
    std::string value;
    if (shown != nullptr)
      value = fmt::format("  {}.{}.{} = {:.6g} ± {:.3g}", shown->group, shown->stat, shown->field,
                          shown->mean, shown->half_width);
    std::fprintf(out, "  point %u%s%s: %u replications (%s)%s%s\n", p.point,
                 factors.empty() ? "" : " ", factors.c_str(), p.replications, p.stopped.c_str(),
                 p.failed ? fmt::format(", {} failed", p.failed).c_str() : "", value.c_str());
  }
  if (failed > 0)
    std::fprintf(out, "%llu run%s failed (manifest.json names them; rerun them with --resume "
                      "--retry-failed)\n",
                 static_cast<unsigned long long>(failed), failed == 1 ? "" : "s");
  return 0;
}

}  // namespace dsim::cli
