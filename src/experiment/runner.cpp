// run_experiment (include/dsim/experiment.hpp): workers run replications
// (each a sequential Simulation with its own seed), a journal keeps every
// finished run, and the result files are written from the kept runs in
// (point, replication) order once every point is decided.
//
// Determinism: which replications a point keeps depends only on their
// values. With a stopping rule, the rule is checked on the replications
// 0..k-1 for k = min_replications, min_replications + 1, ... in order, using
// only runs that finished; the first k that meets it is the point's count.
// Workers may run replications past it meanwhile (at most a window ahead):
// those are stopped or discarded. So the files are the same for any number
// of workers, any finishing order and any interruption.
//
// Thread safety: the scheduler and the journal are guarded by one mutex;
// each worker builds and runs its own Simulation.
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <system_error>
#include <thread>

#include "dsim/experiment.hpp"
#include "dsim/file_system.hpp"
#include "dsim/output.hpp"
#include "dsim/simulation.hpp"
#include "stats/csv.hpp"
#include "transport/cluster.hpp"

namespace dsim {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr const char* kJournal = "runs.journal";
constexpr const char* kResultFiles[] = {"runs.csv", "summary.csv", "runs.json", "summary.json",
                                        "manifest.json"};

// A run's statistic fields are (group, stat, field) names, shared by every
// run with the same list, and the values in that order.
struct Name {
  std::string group, stat, field;
  bool operator==(const Name&) const = default;
  auto operator<=>(const Name&) const = default;
};
using Names = std::vector<Name>;

struct Record {
  std::uint32_t point = 0, replication = 0;
  std::uint64_t seed = 0;
  bool ok = true;
  std::string error;
  std::uint64_t events = 0;
  double seconds = 0;
  std::shared_ptr<const Names> names;
  std::vector<double> values;
};

// Values in the journal: JSON numbers (read back to the same bits), or
// "nan", "inf", "-inf".
double value_of(const json& j) {
  if (j.is_number()) return j.get<double>();
  const std::string s = j.get<std::string>();
  if (s == "inf") return std::numeric_limits<double>::infinity();
  if (s == "-inf") return -std::numeric_limits<double>::infinity();
  if (s == "nan") return std::numeric_limits<double>::quiet_NaN();
  throw std::runtime_error("not a value");
}

// Journal lines: the header, name lists ({"id": k, "names": [...]}, written
// before the first run that uses them) and runs ({"p", "r", "seed", "ok",
// "events", "s", "n": names id, "v": values} or {..., "ok": false, "error"}).
std::string names_line(std::uint64_t id, const Names& names) {
  json list = json::array();
  for (const Name& n : names) list.push_back({n.group, n.stat, n.field});
  return json({{"id", id}, {"names", std::move(list)}})
             .dump(-1, ' ', false, json::error_handler_t::replace) +
         "\n";
}

// (Written with fmt: a run's line is on the hot path of tiny runs. "{}"
// gives the shortest text that reads back as the same double.)
std::string run_line(const Record& r, std::uint64_t names_id) {
  std::string line;
  auto out = std::back_inserter(line);
  fmt::format_to(out, "{{\"p\":{},\"r\":{},\"seed\":{},\"ok\":{}", r.point, r.replication,
                 r.seed, r.ok);
  if (!r.ok) {
    fmt::format_to(out, ",\"error\":{}}}\n",
                   json(r.error).dump(-1, ' ', false, json::error_handler_t::replace));
    return line;
  }
  fmt::format_to(out, ",\"events\":{},\"s\":{},\"n\":{},\"v\":[", r.events,
                 std::isfinite(r.seconds) ? r.seconds : 0.0, names_id);
  for (std::size_t i = 0; i < r.values.size(); ++i) {
    const double v = r.values[i];
    if (i > 0) line += ',';
    if (v == 0 && std::signbit(v)) line += "-0.0";  // "-0" would read back as +0
    else if (std::isfinite(v)) fmt::format_to(out, "{}", v);
    else line += std::isnan(v) ? "\"nan\"" : (v > 0 ? "\"inf\"" : "\"-inf\"");
  }
  line += "]}\n";
  return line;
}

// Reads one journal line into `records` (a run) or `names` (a name list).
void read_line(const json& j, std::map<std::uint64_t, std::shared_ptr<const Names>>& names,
               std::vector<Record>& records) {
  if (j.contains("names")) {
    auto list = std::make_shared<Names>();
    for (const json& n : j.at("names"))
      list->push_back({n.at(0).get<std::string>(), n.at(1).get<std::string>(),
                       n.at(2).get<std::string>()});
    names[j.at("id").get<std::uint64_t>()] = std::move(list);
    return;
  }
  Record r;
  r.point = j.at("p").get<std::uint32_t>();
  r.replication = j.at("r").get<std::uint32_t>();
  r.seed = j.at("seed").get<std::uint64_t>();
  r.ok = j.at("ok").get<bool>();
  if (!r.ok) {
    r.error = j.at("error").get<std::string>();
  } else {
    r.events = j.at("events").get<std::uint64_t>();
    r.seconds = j.at("s").get<double>();
    r.names = names.at(j.at("n").get<std::uint64_t>());
    for (const json& v : j.at("v")) r.values.push_back(value_of(v));
    if (r.values.size() != r.names->size()) throw std::runtime_error("values do not match names");
  }
  records.push_back(std::move(r));
}

// The fields a statistic kind has (results.hpp); histograms also bin_<i>.
bool has_field(StatKind kind, std::string_view field) {
  static const std::map<StatKind, std::set<std::string_view>> fields = {
      {StatKind::kCounter, {"total", "mean", "min", "max"}},
      {StatKind::kTally, {"count", "mean", "stddev", "variance", "min", "max", "sum"}},
      {StatKind::kGauge, {"mean", "total_mean", "min", "max", "final"}},
      {StatKind::kHistogram, {"count", "underflow", "overflow"}}};
  if (kind == StatKind::kHistogram && field.starts_with("bin_")) return true;
  return fields.at(kind).contains(field);
}

std::string number(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return fmt::format("{}", v);
}
json number_json(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

using detail::csv_cell;

// Writes the files into `dir` as a whole or not at all: each into a
// temporary file (written, fsynced), then, once all are there, each renamed
// into place in order (the manifest last) and the directory synced. A
// failure removes the temporaries and any file already renamed, so nothing
// half-written looks like a result. Throws dsim::Error (kRuntime) naming the
// file.
void write_files(const fs::path& dir, const std::vector<std::pair<std::string, std::string>>& files) {
  std::vector<fs::path> written;  // temporaries
  auto undo = [&](std::size_t renamed) {
    for (std::size_t i = 0; i < written.size(); ++i)
      ::unlink((i < renamed ? dir / files[i].first : written[i]).c_str());
  };
  auto fail = [&](const fs::path& file, const char* what, int err, std::size_t renamed) {
    undo(renamed);
    throw Error(fmt::format("{}: cannot {}: {}", file.string(), what, std::strerror(err)),
                Error::Kind::kRuntime);
  };
  for (const auto& [name, text] : files) {
    const fs::path final = dir / name;
    const fs::path tmp = dir / (name + ".tmp");
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) fail(final, "create", errno, 0);
    written.push_back(tmp);
    for (std::size_t at = 0; at < text.size();) {
      const ssize_t n = ::write(fd, text.data() + at, text.size() - at);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        const int err = errno;
        ::close(fd);
        fail(final, "write", err, 0);
      }
      at += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0) {
      const int err = errno;
      ::close(fd);
      fail(final, "write", err, 0);
    }
    if (::close(fd) != 0) fail(final, "write", errno, 0);
  }
  for (std::size_t i = 0; i < files.size(); ++i)
    if (::rename(written[i].c_str(), (dir / files[i].first).c_str()) != 0)
      fail(dir / files[i].first, "rename into place", errno, i);
  if (const int err = FileSystem::local().sync_directory(dir); err != 0)
    fail(dir, "flush", err, files.size());
}

// Mean, sample standard deviation and the t interval of `values` (in order).
FieldSummary summarize(std::vector<double> values, double confidence) {
  FieldSummary s;
  s.n = values.size();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (s.n == 0) {
    s.mean = s.stddev = s.ci_low = s.ci_high = s.half_width = nan;
    return s;
  }
  // Two passes, in replication order: the same bits every time.
  double sum = 0;
  for (double v : values) sum += v;
  const double mean = sum / static_cast<double>(s.n);
  double m2 = 0;
  for (double v : values) m2 += (v - mean) * (v - mean);
  s.mean = mean;
  if (s.n < 2) {
    s.stddev = s.ci_low = s.ci_high = s.half_width = nan;
    return s;
  }
  s.stddev = std::sqrt(m2 / static_cast<double>(s.n - 1));
  s.half_width = student_t_quantile(confidence, static_cast<double>(s.n - 1)) * s.stddev /
                 std::sqrt(static_cast<double>(s.n));
  s.ci_low = mean - s.half_width;
  s.ci_high = mean + s.half_width;
  return s;
}

class Journal {
 public:
  // Opens dir/runs.journal: reads what it holds when resuming (a last line
  // cut short, by a kill mid-write, is cut off), or starts it afresh.
  // Throws dsim::Error naming the file and line for a journal of another
  // experiment or a corrupt line.
  Journal(const fs::path& dir, const std::string& identity, bool resume,
          std::vector<Record>& records) {
    path_ = dir / kJournal;
    std::error_code ec;
    if (!resume || !fs::exists(path_, ec)) {
      fresh(identity);
      return;
    }
    std::ifstream in(path_, std::ios::binary);
    std::string line;
    std::uint64_t good = 0, number = 0;
    std::map<std::uint64_t, std::shared_ptr<const Names>> names;
    while (std::getline(in, line)) {
      ++number;
      if (in.eof()) break;  // no '\n': a line cut short (the last one)
      try {
        const json j = json::parse(line);
        if (number == 1) {
          if (!j.contains("dsim_experiment_journal"))
            throw Error(fmt::format("{}: not an experiment journal", path_.string()));
          if (j.at("identity").get<std::string>() != identity)
            throw Error(fmt::format(
                "{}: the journal is of another experiment (the model, the design points or "
                "the seeds changed); use another output directory, or remove it to start "
                "again",
                path_.string()));
        } else {
          read_line(j, names, records);
        }
      } catch (const Error&) {
        throw;
      } catch (const std::exception& e) {
        throw Error(fmt::format("{}:{}: a corrupt journal line ({}); remove the line, or the "
                                "journal to start again",
                                path_.string(), number, e.what()));
      }
      good += line.size() + 1;
    }
    in.close();
    if (good == 0) {  // not even the header: nothing was recorded
      fresh(identity);
      return;
    }
    for (const auto& [id, list] : names) lists_.emplace_back(list, id);
    next_id_ = first_new_id_ = names.empty() ? 0 : names.rbegin()->first + 1;
    if (::truncate(path_.c_str(), static_cast<off_t>(good)) != 0) fail("truncate");
    fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd_ < 0) fail("open");
  }
  ~Journal() {
    if (fd_ >= 0) {
      ::fdatasync(fd_);
      ::close(fd_);
    }
  }
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // The shared copy of a name list equal to `names`.
  std::shared_ptr<const Names> intern(Names names) {
    for (const auto& [list, id] : lists_)
      if (*list == names) return list;
    auto list = std::make_shared<const Names>(std::move(names));
    lists_.emplace_back(list, next_id_++);
    return list;
  }

  // Appends a run (after its name list, the first time): one write, so a
  // kill leaves it whole or cut short at the end. Synced to disk at most
  // every half second, and at sync().
  void append(const Record& r) {
    std::string text;
    std::uint64_t id = 0;
    if (r.ok) {
      const auto it = std::find_if(lists_.begin(), lists_.end(),
                                   [&](const auto& l) { return l.first == r.names; });
      id = it->second;
      if (!written_.contains(id) && !read_ids_contains(id)) {
        text += names_line(id, *r.names);
        written_.insert(id);
      }
    }
    text += run_line(r, id);
    if (batching_) {
      pending_ += text;
      return;
    }
    write(text);
    if (Clock::now() - synced_ > std::chrono::milliseconds(500)) sync();
  }
  // Between these, appends gather and go in one write (a batch of runs from
  // another rank).
  void begin_batch() { batching_ = true; }
  void end_batch() {
    batching_ = false;
    std::string text = std::move(pending_);
    pending_.clear();
    if (text.empty()) return;
    write(text);
    if (Clock::now() - synced_ > std::chrono::milliseconds(500)) sync();
  }
  void sync() {
    if (::fdatasync(fd_) != 0) fail("sync");
    synced_ = Clock::now();
  }

 private:
  bool read_ids_contains(std::uint64_t id) const { return id < first_new_id_; }
  void write(const std::string& text) {
    std::size_t at = 0;
    while (at < text.size()) {
      const ssize_t n = ::write(fd_, text.data() + at, text.size() - at);
      if (n < 0) {
        if (errno == EINTR) continue;
        fail("append to");
      }
      at += static_cast<std::size_t>(n);
    }
  }
  void fresh(const std::string& identity) {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (fd_ < 0) fail("create");
    write(json({{"dsim_experiment_journal", 1}, {"identity", identity}}).dump() + "\n");
    sync();
  }
  [[noreturn]] void fail(const char* what) const {
    throw Error(fmt::format("{}: cannot {} the journal: {}", path_.string(), what,
                            std::strerror(errno)),
                Error::Kind::kRuntime);
  }
  fs::path path_;
  int fd_ = -1;
  Clock::time_point synced_ = Clock::now();
  std::vector<std::pair<std::shared_ptr<const Names>, std::uint64_t>> lists_;
  std::uint64_t next_id_ = 0;
  std::uint64_t first_new_id_ = 0;  // lists below it are in the journal already
  std::set<std::uint64_t> written_;
  bool batching_ = false;
  std::string pending_;
};

struct PointState {
  std::map<std::uint32_t, Record> done;  // by replication
  std::uint32_t issued = 0;              // replications below it were issued (or done)
  std::uint32_t prefix = 0;              // replications 0..prefix-1 are all done
  std::uint32_t checked = 0;             // the stopping rule was checked up to here
  std::optional<std::uint32_t> kept;     // decided: replications 0..kept-1
  std::string stopped;
  std::map<std::uint32_t, std::stop_source*> running;
};

struct Task {
  std::uint32_t point, replication;
};

class Runner {
 public:
  Runner(const Experiment& e, const Registry& registry, const ExperimentOptions& options)
      : e_(e), registry_(registry), options_(options) {}

  ExperimentResult run();

 private:
  void prepare();
  std::optional<Task> next_task();  // under mutex_
  void decide(std::uint32_t p);      // under mutex_
  bool precise(const PointState& s, std::uint32_t k) const;
  std::shared_ptr<const Names> intern(Names names);  // under mutex_
  bool finished() const;                             // under mutex_
  std::optional<Task> take();                        // under mutex_
  void complete(const Task& task, std::optional<Record> record);  // under mutex_
  void worker();
  void remote_worker(std::uint32_t index);
  void serve_remote(std::uint32_t remote_workers);
  Record execute(const Task& t, std::stop_source& stop);
  void open_output();
  void write_results(ExperimentResult& result);

  const Experiment& e_;
  const Registry& registry_;
  const ExperimentOptions& options_;
  std::vector<DesignPoint> points_;
  std::vector<ModelSpec> specs_;  // validated, one per point
  std::uint64_t base_seed_ = 1;
  std::uint32_t workers_ = 1;
  std::uint32_t window_ = 2;
  Machine machine_;

  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<PointState> state_;
  std::unique_ptr<Journal> journal_;
  std::exception_ptr error_;
  std::atomic<std::uint64_t> executed_ = 0;
  std::uint64_t discarded_ = 0, done_ = 0;
  std::uint32_t decided_ = 0;
  bool stopping_ = false;  // another rank was interrupted
  std::vector<std::shared_ptr<const Names>> names_;  // without a journal (ranks > 0)
  std::unique_ptr<detail::Cluster> cluster_;
  // Each point's Simulation, built once, reseeded for every run; dropped
  // when the point is decided.
  std::mutex templates_mutex_;
  std::vector<std::shared_ptr<const Simulation>> templates_;
  Clock::time_point start_ = Clock::now();
};

void Runner::prepare() {
  if (options_.output.empty()) throw Error("an experiment needs an output directory");
  points_ = design_points(e_);
  if (points_.empty()) throw Error(fmt::format("{}: the design has no points", e_.file));
  // Every point's model, loaded and validated before any run.
  const std::string where = e_.file.empty() ? std::string("the command line") : e_.file;
  for (std::size_t p = 0; p < points_.size(); ++p) {
    std::vector<std::string> overrides = e_.overrides;
    for (std::size_t f = 0; f < e_.factors.size(); ++f)
      overrides.push_back(e_.factors[f].key + "=" + points_[p].values[f]);
    try {
      ModelSpec spec = e_.model_json.empty() ? load_model(e_.model, overrides)
                                             : model_from_json(e_.model_json, e_.model, overrides);
      validate(spec, registry_);
      spec.simulation.sync = "sequential";
      spec.simulation.threads = 1;
      specs_.push_back(std::move(spec));
    } catch (const Error& error) {
      std::string factors;
      for (std::size_t f = 0; f < e_.factors.size(); ++f)
        factors += fmt::format("{}{}={}", f ? ", " : "", e_.factors[f].key, points_[p].labels[f]);
      throw Error(fmt::format("{}: design point {}{}: {}", where, p,
                              factors.empty() ? "" : " (" + factors + ")", error.what()));
    }
  }
  base_seed_ = e_.seed ? *e_.seed : specs_.front().simulation.seed;
  // The precision statistic must be one the model records.
  if (e_.precision) {
    const Precision& pr = *e_.precision;
    const Simulation probe(specs_.front(), registry_);
    bool group = false;
    std::optional<StatKind> kind;
    std::string known;
    for (const auto& s : probe.statistics()) {
      known += fmt::format("{}{}.{}", known.empty() ? "" : ", ", s.group, s.decl.name);
      if (s.group != pr.group) continue;
      group = true;
      if (s.decl.name == pr.stat) kind = s.decl.kind;
    }
    const std::string name = fmt::format("{}.{}.{}", pr.group, pr.stat, pr.field);
    const std::string origin = e_.file.empty() ? std::string("--precision") : e_.file + ": experiment.precision.stat";
    if (!group)
      throw Error(fmt::format("{}: '{}': no group '{}' in {} (statistics: {})", origin, name,
                              pr.group, e_.model, known.empty() ? "none" : known));
    if (!kind)
      throw Error(fmt::format("{}: '{}': group '{}' records no statistic '{}' (statistics: {})",
                              origin, name, pr.group, pr.stat, known));
    if (!has_field(*kind, pr.field))
      throw Error(fmt::format("{}: '{}': a {} has no field '{}'", origin, name,
                              output::kind_name(*kind), pr.field));
  }
  templates_.assign(points_.size(), nullptr);
  // This process's share of the machine (several processes under mpirun).
  machine_ = Machine::detect(cluster_ ? cluster_->local_size() : 1);
  workers_ = options_.workers > 0 ? options_.workers : std::max(1u, machine_.cores);
  constexpr std::uint32_t kMaxWorkers = 1024;
  if (workers_ > kMaxWorkers)
    throw Error(fmt::format("workers: {} is more than {} (each is a thread running one run at a "
                            "time; this machine has {} cores)",
                            workers_, kMaxWorkers, std::thread::hardware_concurrency()));
  machine_.cores = 1;
}

std::optional<Task> Runner::next_task() {
  const bool fixed = !e_.precision;
  const std::uint32_t cap = fixed ? e_.replications : e_.max_replications;
  std::optional<std::uint32_t> best;
  for (std::uint32_t p = 0; p < state_.size(); ++p) {
    PointState& s = state_[p];
    if (s.kept) continue;
    while (s.issued < cap && s.done.contains(s.issued)) ++s.issued;
    if (s.issued >= cap) continue;
    if (!fixed && s.issued >= e_.min_replications && s.issued - s.prefix >= window_) continue;
    if (fixed) {  // depth first: points finish in order
      best = p;
      break;
    }
    if (!best || s.issued < state_[*best].issued) best = p;  // breadth first
  }
  if (!best) return std::nullopt;
  return Task{*best, state_[*best].issued++};
}

bool Runner::precise(const PointState& s, std::uint32_t k) const {
  const Precision& pr = *e_.precision;
  std::vector<double> values;
  for (std::uint32_t r = 0; r < k; ++r) {
    const Record& rec = s.done.at(r);
    if (!rec.ok) continue;
    const Names& names = *rec.names;
    for (std::size_t i = 0; i < names.size(); ++i)
      if (names[i].group == pr.group && names[i].stat == pr.stat && names[i].field == pr.field) {
        if (std::isfinite(rec.values[i])) values.push_back(rec.values[i]);
        break;
      }
  }
  if (values.size() < 2) return false;
  const FieldSummary sum = summarize(std::move(values), e_.confidence);
  return std::isfinite(sum.half_width) && sum.half_width <= pr.relative * std::abs(sum.mean);
}

void Runner::decide(std::uint32_t p) {
  PointState& s = state_[p];
  if (s.kept) return;
  while (s.done.contains(s.prefix)) ++s.prefix;
  if (!e_.precision) {
    if (s.prefix >= e_.replications) {
      s.kept = e_.replications;
      s.stopped = "replications";
    }
  } else {
    for (std::uint32_t k = std::max(s.checked + 1, e_.min_replications); k <= s.prefix; ++k) {
      if (precise(s, k)) {
        s.kept = k;
        s.stopped = "precision";
        break;
      }
      if (k >= e_.max_replications) {
        s.kept = e_.max_replications;
        s.stopped = "max_replications";
        break;
      }
    }
    s.checked = std::max(s.checked, s.prefix);
  }
  if (!s.kept) return;
  ++decided_;
  {
    std::lock_guard lock(templates_mutex_);
    if (p < templates_.size()) templates_[p].reset();
  }
  // Runs past the point's count are not needed: stop them.
  for (auto& [r, stop] : s.running)
    if (r >= *s.kept) stop->request_stop();
}

Record Runner::execute(const Task& t, std::stop_source& stop) {
  Record r;
  r.point = t.point;
  r.replication = t.replication;
  r.seed = run_seed(e_, base_seed_, t.point, t.replication);
  RunOptions options;
  options.stop = stop.get_token();
  try {
    // The point's model is built once; each run is a reseeded copy, which
    // shares its network unless the network depends on the seed.
    std::shared_ptr<const Simulation> model;
    {
      std::lock_guard lock(templates_mutex_);
      model = templates_[t.point];
      if (!model) {
        Environment env;
        env.machine = machine_;
        auto built = std::make_shared<Simulation>(specs_[t.point], registry_, env);
        built->plan();
        templates_[t.point] = model = std::move(built);
      }
    }
    const std::unique_ptr<Simulation> sim = model->reseeded(r.seed);
    const RunResult result = sim->run(options);
    if (options_.on_run) options_.on_run(t.point, t.replication, result);
    r.events = result.figures.events_processed;
    r.seconds = result.figures.run_seconds;
    Names names;
    for (const StatResult& s : result.stats)
      for (const auto& [name, value] : s.fields) {
        names.push_back({s.group, s.stat, name});
        r.values.push_back(value);
      }
    std::lock_guard lock(mutex_);
    r.names = intern(std::move(names));
  } catch (const RunStopped&) {
    throw;
  } catch (const Error& error) {
    r.ok = false;
    r.error = error.what();
  } catch (const std::exception& error) {
    r.ok = false;
    r.error = error.what();
  }
  return r;
}

std::shared_ptr<const Names> Runner::intern(Names names) {
  if (journal_) return journal_->intern(std::move(names));
  for (const auto& list : names_)
    if (*list == names) return list;
  names_.push_back(std::make_shared<const Names>(std::move(names)));
  return names_.back();
}

bool Runner::finished() const {
  return error_ != nullptr || stopping_ || options_.stop.stop_requested() ||
         decided_ == state_.size();
}

std::optional<Task> Runner::take() {
  if (finished()) return std::nullopt;
  return next_task();
}

void Runner::complete(const Task& task, std::optional<Record> record) {
  PointState& s = state_[task.point];
  s.running.erase(task.replication);
  changed_.notify_all();
  if (!record) {  // stopped: not needed, or the experiment stops
    if (!s.kept) s.issued = std::min(s.issued, task.replication);
    ++discarded_;
    return;
  }
  ++executed_;
  if (s.kept && task.replication >= *s.kept) {
    ++discarded_;
    return;
  }
  try {
    journal_->append(*record);
  } catch (...) {
    if (!error_) error_ = std::current_exception();
    return;
  }
  s.done.emplace(task.replication, std::move(*record));
  ++done_;
  decide(task.point);
  if (!options_.on_progress) return;
  ExperimentProgress pr;
  pr.runs_done = done_;
  for (const PointState& q : state_)
    pr.runs_expected += q.kept ? *q.kept
                               : std::max<std::uint64_t>(q.done.size(), e_.precision
                                                                            ? e_.max_replications
                                                                            : e_.replications);
  pr.points_done = decided_;
  pr.points = static_cast<std::uint32_t>(state_.size());
  pr.wall_seconds = std::chrono::duration<double>(Clock::now() - start_).count();
  try {
    options_.on_progress(pr);
  } catch (...) {
  }
}

void Runner::worker() {
  std::unique_lock lock(mutex_);
  while (!finished()) {
    std::optional<Task> task = take();
    if (!task) {
      changed_.wait_for(lock, std::chrono::milliseconds(100));
      continue;
    }
    std::stop_source stop;
    std::stop_callback forward(options_.stop, [&stop] { stop.request_stop(); });
    state_[task->point].running[task->replication] = &stop;
    lock.unlock();
    std::optional<Record> record;
    std::exception_ptr error;
    try {
      record = execute(*task, stop);
    } catch (const RunStopped&) {
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    if (error && !error_) error_ = error;
    complete(*task, std::move(record));
  }
  changed_.notify_all();
}

// --- Under MPI: rank 0 hands out the runs; every rank's workers run them ---
//
// A worker of another rank sends rank 0 (tag kAsk) its reply tag, how many
// runs it wants, the runs it finished (a run stopped comes back without a
// record) and whether its rank was interrupted; rank 0 answers on the reply
// tag with {"tasks": [[p, r]...]}, {"wait": true} (nothing to hand out now)
// or {"done": true} (then the worker ends). Records travel with their names; rank 0 journals them like
// its own workers' runs, so the files are the same on any layout.

constexpr int kAsk = 1;
constexpr int kReplyBase = 16;
// A remote worker asks for batches worth about this much of its time, and
// for the next one halfway through the current one; so rank 0 answers in
// time if it looks for asks every few milliseconds: its server thread naps
// up to kServeNap between looks (each look wakes a thread on a core that
// also runs a worker), and a remote worker looks for the answer, and lets
// its ask move on, at most every kRemotePoll of its runs' time.
constexpr double kBatchSeconds = 0.05;
constexpr auto kServeNap = std::chrono::microseconds(1000);
constexpr auto kRemotePoll = std::chrono::microseconds(200);

// The asks travel as bytes (a remote run's values are copied, not printed).
struct Writer {
  std::vector<std::byte> out;
  template <class T>
  void put(const T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    const auto* b = reinterpret_cast<const std::byte*>(&v);
    out.insert(out.end(), b, b + sizeof v);
  }
  void put(std::string_view text) {
    put(static_cast<std::uint32_t>(text.size()));
    const auto* b = reinterpret_cast<const std::byte*>(text.data());
    out.insert(out.end(), b, b + text.size());
  }
};
struct Reader {
  std::span<const std::byte> in;
  template <class T>
  T take() {
    static_assert(std::is_trivially_copyable_v<T>);
    if (in.size() < sizeof(T)) throw std::runtime_error("a short message from another rank");
    T v;
    std::memcpy(&v, in.data(), sizeof v);
    in = in.subspan(sizeof v);
    return v;
  }
  std::string text() {
    const auto n = take<std::uint32_t>();
    if (in.size() < n) throw std::runtime_error("a short message from another rank");
    std::string s(reinterpret_cast<const char*>(in.data()), n);
    in = in.subspan(n);
    return s;
  }
};

json parse_json(const std::vector<std::byte>& bytes) {
  return json::parse(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

json receive_json(detail::Cluster& cluster, int tag, std::uint32_t& from) {
  std::vector<std::byte> bytes;
  auto idle = std::chrono::microseconds(20);
  while (!cluster.try_receive(tag, from, bytes)) {
    std::this_thread::sleep_for(idle);
    idle = std::min(idle * 2, std::chrono::microseconds(500));
  }
  return parse_json(bytes);
}

// An ask: [i32 reply tag][u8 stop][u32 want][u32 results] then each result
// [u32 point][u32 replication][u8 has record] and the record: [u64 seed]
// [u8 ok] then [text error] or [u64 events][f64 seconds][u32 names id]
// [u8 names follow][u32 count][f64 values...] and, the first time a name
// list is used, [text group][text stat][text field] per value.
void Runner::remote_worker(std::uint32_t index) {
  detail::Cluster& cluster = *cluster_;
  const int tag = kReplyBase + static_cast<int>(index);
  // Runs are handed out in batches worth kBatchSeconds of work, so a run
  // of a tenth of a millisecond does not wait for a message each.
  double run_seconds = 0;  // mean wall time of a run here, so far
  std::uint64_t runs = 0;
  std::vector<std::shared_ptr<const Names>> sent;  // name lists sent, by id
  Writer results;
  std::uint32_t count = 0;
  // The last ask, until it has left; the answer to it, once here. Between
  // runs the worker lets the ask move (a large one moves only while this
  // process is inside MPI) and takes the answer as soon as it came, so
  // rank 0's reply never waits for the end of the batch to leave.
  std::unique_ptr<detail::Cluster::Outgoing> asking;
  std::optional<json> answer;
  bool awaiting = false;
  auto last_poll = Clock::now();
  auto poll = [&] {
    if (Clock::now() - last_poll < kRemotePoll) return;
    last_poll = Clock::now();
    if (asking && asking->done()) asking.reset();
    std::vector<std::byte> bytes;
    std::uint32_t from = 0;
    if (awaiting && cluster.try_receive(tag, from, bytes)) {
      answer = parse_json(bytes);
      awaiting = false;
    }
  };
  // Sends the finished runs and asks for more.
  auto ask_more = [&] {
    Writer ask;
    ask.put(static_cast<std::int32_t>(tag));
    bool failed = false;
    {
      std::lock_guard lock(mutex_);
      failed = error_ != nullptr;
    }
    ask.put(static_cast<std::uint8_t>(options_.stop.stop_requested() || failed));
    ask.put(static_cast<std::uint32_t>(
        runs == 0 ? 1
                  : std::clamp<std::uint64_t>(
                        static_cast<std::uint64_t>(kBatchSeconds / std::max(run_seconds, 1e-6)),
                        1, 1024)));
    ask.put(count);
    ask.out.insert(ask.out.end(), results.out.begin(), results.out.end());
    if (asking) asking->wait();  // asks leave in order
    asking = cluster.start_send(0, kAsk, std::move(ask.out));
    awaiting = true;
    results.out.clear();
    count = 0;
  };
  // Halfway through a batch the worker asks for the next one, so the answer
  // is there when the batch ends (the second half's runs go with the next
  // ask; after a "done" they are not needed: every point is decided, or the
  // experiment stops).
  ask_more();
  while (true) {
    std::uint32_t from = 0;
    const json reply = answer ? std::move(*answer) : receive_json(cluster, tag, from);
    answer.reset();
    awaiting = false;
    if (asking) asking->wait();  // answered, so it has left: this only frees it
    asking.reset();
    if (reply.contains("done")) return;
    if (reply.contains("wait")) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      ask_more();
      continue;
    }
    const json& batch = reply.at("tasks");
    bool asked = false;
    std::size_t ran = 0;
    for (const json& t : batch) {
      if (!asked && batch.size() >= 2 && ran == (batch.size() + 1) / 2) {
        ask_more();
        asked = true;
      }
      ++ran;
      poll();
      const Task task{t.at(0).get<std::uint32_t>(), t.at(1).get<std::uint32_t>()};
      results.put(task.point);
      results.put(task.replication);
      ++count;
      std::stop_source stop;
      std::stop_callback forward(options_.stop, [&stop] { stop.request_stop(); });
      const auto start = Clock::now();
      std::optional<Record> record;
      try {
        record = execute(task, stop);
        ++executed_;
      } catch (const RunStopped&) {
      } catch (...) {
        // Not a model error (those are records): this rank cannot go on.
        // Its next asks say stop, so rank 0 winds the experiment down; the
        // error is agreed at the end.
        std::lock_guard lock(mutex_);
        if (!error_) error_ = std::current_exception();
      }
      const double took = std::chrono::duration<double>(Clock::now() - start).count();
      run_seconds += (took - run_seconds) / static_cast<double>(++runs);
      results.put(static_cast<std::uint8_t>(record.has_value()));
      if (!record) continue;
      results.put(record->seed);
      results.put(static_cast<std::uint8_t>(record->ok));
      if (!record->ok) {
        results.put(std::string_view(record->error));
        continue;
      }
      results.put(record->events);
      results.put(record->seconds);
      auto it = std::find(sent.begin(), sent.end(), record->names);
      const bool fresh = it == sent.end();
      results.put(static_cast<std::uint32_t>(it - sent.begin()));
      results.put(static_cast<std::uint8_t>(fresh));
      if (fresh) sent.push_back(record->names);
      results.put(static_cast<std::uint32_t>(record->values.size()));
      for (double v : record->values) results.put(v);
      if (fresh)
        for (const Name& n : *record->names) {
          results.put(std::string_view(n.group));
          results.put(std::string_view(n.stat));
          results.put(std::string_view(n.field));
        }
    }
    if (!asked) ask_more();
  }
}

void Runner::serve_remote(std::uint32_t remote_workers) {
  detail::Cluster& cluster = *cluster_;
  std::vector<std::byte> bytes;
  // Polls, backing off to kServeNap while nothing comes (a remote worker
  // asks halfway through a batch worth kBatchSeconds of its time). Replies
  // leave in the background: a large one moves only when its receiver is
  // inside MPI, which a worker running its batch is only now and then.
  auto idle = std::chrono::microseconds(20);
  std::vector<std::unique_ptr<detail::Cluster::Outgoing>> replies;
  // Replies whose sending finished are dropped at each look.
  auto sweep = [&replies] {
    std::erase_if(replies, [](const auto& r) { return r->done(); });
  };
  // The name lists each remote worker sent, by (rank, reply tag, its id).
  std::map<std::tuple<std::uint32_t, int, std::uint32_t>, std::shared_ptr<const Names>> names;
  while (remote_workers > 0) {
    std::uint32_t from = 0;
    sweep();
    if (!cluster.try_receive(kAsk, from, bytes)) {
      std::this_thread::sleep_for(idle);
      idle = std::min(idle * 2, kServeNap);
      continue;
    }
    idle = std::chrono::microseconds(20);
    json reply;
    int tag = 0;
    try {
      Reader in{bytes};
      tag = in.take<std::int32_t>();
      const bool stop = in.take<std::uint8_t>() != 0;
      const std::uint32_t want = in.take<std::uint32_t>();
      const std::uint32_t count = in.take<std::uint32_t>();
      // Decoded before taking the lock: rank 0's own workers wait less.
      std::vector<std::pair<Task, std::optional<Record>>> done;
      for (std::uint32_t i = 0; i < count; ++i) {
        const Task task{in.take<std::uint32_t>(), in.take<std::uint32_t>()};
        std::optional<Record> record;
        if (in.take<std::uint8_t>() != 0) {
          Record& r = record.emplace();
          r.point = task.point;
          r.replication = task.replication;
          r.seed = in.take<std::uint64_t>();
          r.ok = in.take<std::uint8_t>() != 0;
          if (!r.ok) {
            r.error = in.text();
          } else {
            r.events = in.take<std::uint64_t>();
            r.seconds = in.take<double>();
            const auto id = in.take<std::uint32_t>();
            const bool fresh = in.take<std::uint8_t>() != 0;
            r.values.resize(in.take<std::uint32_t>());
            for (double& v : r.values) v = in.take<double>();
            const auto key = std::make_tuple(from, tag, id);
            if (fresh) {
              Names list(r.values.size());
              for (Name& n : list) {
                n.group = in.text();
                n.stat = in.text();
                n.field = in.text();
              }
              std::lock_guard lock(mutex_);
              names[key] = intern(std::move(list));  // shared with rank 0's runs
            }
            r.names = names.at(key);
            if (r.names->size() != r.values.size())
              throw std::runtime_error("a run's values do not match its names");
          }
        }
        done.emplace_back(task, std::move(record));
      }
      std::lock_guard lock(mutex_);
      if (stop) stopping_ = true;
      journal_->begin_batch();
      for (auto& [task, record] : done) complete(task, std::move(record));
      try {
        journal_->end_batch();
      } catch (...) {
        if (!error_) error_ = std::current_exception();
      }
      // Near the end, smaller batches: at most a worker's share of the runs
      // left, so no rank goes on long after the others ran out.
      const std::uint32_t cap = e_.precision ? e_.max_replications : e_.replications;
      std::uint64_t left = 0;
      for (const PointState& q : state_)
        if (!q.kept) left += cap - std::min(cap, q.issued);
      const std::uint64_t batch =
          std::min<std::uint64_t>(want, std::max<std::uint64_t>(1, left / window_));
      json tasks = json::array();
      while (tasks.size() < batch && !finished()) {
        const std::optional<Task> task = take();
        if (!task) break;
        tasks.push_back({task->point, task->replication});
      }
      if (finished() && tasks.empty()) {
        reply = {{"done", true}};
        --remote_workers;
      } else if (tasks.empty()) {
        reply = {{"wait", true}};
      } else {
        reply = {{"tasks", std::move(tasks)}};
      }
    } catch (...) {
      std::lock_guard lock(mutex_);
      if (!error_) error_ = std::current_exception();
      reply = {{"done", true}};
      --remote_workers;
    }
    if (tag > 0) {
      const std::string text = reply.dump(-1, ' ', false, json::error_handler_t::replace);
      const auto* b = reinterpret_cast<const std::byte*>(text.data());
      replies.push_back(cluster.start_send(from, tag, std::vector<std::byte>(b, b + text.size())));
    }
    changed_.notify_all();
  }
  replies.clear();  // each waits until its reply has left
}

std::string identity_of(const Experiment& e, const std::vector<ModelSpec>& specs,
                        std::uint64_t base_seed) {
  XXH64_state_t* h = XXH64_createState();
  XXH64_reset(h, 0);
  auto add = [&](std::string_view text) {
    XXH64_update(h, text.data(), text.size());
    XXH64_update(h, "\n", 1);
  };
  add(fmt::format("seed {} crn {}", base_seed, e.common_random_numbers));
  for (const ModelSpec& spec : specs) {
    ModelSpec s = spec;
    s.simulation.seed = 0;  // each run's own
    add(to_json(s));
  }
  const std::uint64_t v = XXH64_digest(h);
  XXH64_freeState(h);
  return fmt::format("{:016x}", v);
}

void Runner::open_output() {
  std::error_code ec;
  fs::create_directories(options_.output, ec);
  if (ec)
    throw Error(fmt::format("{}: cannot create the output directory: {}",
                            options_.output.string(), ec.message()),
                Error::Kind::kRuntime);
  if (!options_.resume && fs::exists(options_.output / kJournal))
    throw Error(fmt::format("{}: holds an experiment's journal already: continue it with "
                            "--resume, or choose another output directory",
                            options_.output.string()));
  // Results of an earlier experiment there must not look like this one's.
  for (const char* name : kResultFiles) fs::remove(options_.output / name, ec);
  std::vector<Record> records;
  journal_ = std::make_unique<Journal>(options_.output, identity_of(e_, specs_, base_seed_),
                                       options_.resume, records);
  for (Record& r : records) {
    if (r.point >= state_.size()) continue;
    if (!r.ok && options_.retry_failed) {
      state_[r.point].done.erase(r.replication);
      continue;
    }
    state_[r.point].done.insert_or_assign(r.replication, std::move(r));
  }
  for (std::uint32_t p = 0; p < state_.size(); ++p) {
    done_ += state_[p].done.size();
    decide(p);
  }
}

ExperimentResult Runner::run() {
  if (options_.environment.communicator)
    cluster_ = options_.environment.communicator->cluster().duplicate();
  else
    cluster_ = std::make_unique<detail::Cluster>();
  detail::Cluster& cluster = *cluster_;
  const bool lead = cluster.rank() == 0;
  // Every rank loads and checks the design; rank 0 opens the output. All
  // agree before any run starts.
  std::exception_ptr error;
  try {
    prepare();
    state_.assign(points_.size(), PointState{});
    if (lead) open_output();
  } catch (...) {
    error = std::current_exception();
  }
  cluster.agree(error);
  const std::vector<std::uint64_t> workers =
      cluster.gather(std::vector<std::uint64_t>{workers_});
  std::uint32_t remote = 0;
  for (std::size_t r = 1; r < workers.size(); ++r) remote += static_cast<std::uint32_t>(workers[r]);
  // Runs handed out past a point's first undecided replication: enough to
  // keep every worker busy.
  window_ = std::max<std::uint32_t>(2, workers_ + remote);

  std::vector<std::thread> threads;
  try {
    if (lead) {
      // The server first: remote workers must hear "done" whatever happens here.
      if (remote > 0) threads.emplace_back([this, remote] { serve_remote(remote); });
      const std::uint32_t n = decided_ == state_.size() ? 0 : workers_;
      for (std::uint32_t i = 0; i < n; ++i) threads.emplace_back([this] { worker(); });
    } else {
      for (std::uint32_t i = 0; i < workers_; ++i)
        threads.emplace_back([this, i] { remote_worker(i); });
    }
  } catch (const std::system_error& e) {  // the system would not start another thread
    std::lock_guard lock(mutex_);
    if (!error_)
      error_ = std::make_exception_ptr(
          Error(fmt::format("cannot start worker thread {} of {}: {}", threads.size() + 1,
                            workers_, e.what()),
                Error::Kind::kRuntime));
    stopping_ = true;
  }
  for (std::thread& t : threads) t.join();

  ExperimentResult result;
  result.runs_executed = executed_;
  if (!lead && error_) error = error_;
  if (lead) {
    try {
      journal_->sync();
      if (error_) std::rethrow_exception(error_);
      if (decided_ != state_.size()) {
        std::uint64_t finished = 0;
        for (const PointState& s : state_) finished += s.done.size();
        throw Error(fmt::format("the experiment was stopped: {} runs are in the journal ({}); "
                                "continue with --resume",
                                finished, (options_.output / kJournal).string()),
                    Error::Kind::kRuntime);
      }
      result.runs_discarded = discarded_;
      result.wall_seconds = std::chrono::duration<double>(Clock::now() - start_).count();
      write_results(result);
    } catch (...) {
      error = std::current_exception();
    }
  }
  cluster.agree(error);
  return result;
}

void Runner::write_results(ExperimentResult& result) {
  // runs.csv, runs.json: every kept successful run's fields.
  std::string factor_header;
  for (const Factor& f : e_.factors) factor_header += csv_cell(f.key) + ",";
  std::string runs_csv = "point," + factor_header + "replication,seed,group,stat,field,value\n";
  std::string summary_csv = "point," + factor_header +
                            "group,stat,field,n,mean,stddev,ci_low,ci_high,half_width\n";
  json runs = json::array();
  json summary_points = json::array();
  for (std::uint32_t p = 0; p < state_.size(); ++p) {
    const PointState& s = state_[p];
    const DesignPoint& d = points_[p];
    std::string factors;
    json factor_json = json::object();
    for (std::size_t f = 0; f < d.labels.size(); ++f) {
      factors += csv_cell(d.labels[f]) + ",";
      factor_json[e_.factors[f].key] = d.labels[f];
    }
    PointSummary ps;
    ps.point = p;
    ps.design = d;
    ps.replications = *s.kept;
    ps.stopped = s.stopped;
    // The fields in the order they first appear, each one's values in
    // replication order.
    std::vector<Name> order;
    std::map<Name, std::vector<double>> values;
    for (std::uint32_t r = 0; r < *s.kept; ++r) {
      const Record& rec = s.done.at(r);
      if (!rec.ok) {
        ++ps.failed;
        result.failures.push_back({p, r, rec.seed, rec.error});
        continue;
      }
      ++result.runs;
      json stats = json::object();  // group -> stat -> field -> value
      for (std::size_t i = 0; i < rec.values.size(); ++i) {
        const Name& f = (*rec.names)[i];
        const double v = rec.values[i];
        runs_csv += fmt::format("{},{}{},{},{},{},{},{}\n", p, factors, r, rec.seed,
                                csv_cell(f.group), csv_cell(f.stat), csv_cell(f.field), number(v));
        stats[f.group][f.stat][f.field] = number_json(v);
        auto [it, fresh] = values.try_emplace(f);
        if (fresh) order.push_back(f);
        if (std::isfinite(v)) it->second.push_back(v);
      }
      runs.push_back({{"point", p},
                      {"factors", factor_json},
                      {"replication", r},
                      {"seed", rec.seed},
                      {"events", rec.events},
                      {"stats", std::move(stats)}});
    }
    json stats = json::array();
    for (const auto& key : order) {
      FieldSummary f = summarize(values[key], e_.confidence);
      f.group = key.group;
      f.stat = key.stat;
      f.field = key.field;
      summary_csv += fmt::format("{},{}{},{},{},{},{},{},{},{},{}\n", p, factors,
                                 csv_cell(f.group), csv_cell(f.stat), csv_cell(f.field), f.n,
                                 number(f.mean), number(f.stddev), number(f.ci_low),
                                 number(f.ci_high), number(f.half_width));
      stats.push_back({{"group", f.group}, {"stat", f.stat}, {"field", f.field}, {"n", f.n},
                       {"mean", number_json(f.mean)}, {"stddev", number_json(f.stddev)},
                       {"ci_low", number_json(f.ci_low)}, {"ci_high", number_json(f.ci_high)},
                       {"half_width", number_json(f.half_width)}});
      ps.fields.push_back(std::move(f));
    }
    summary_points.push_back({{"point", p},
                              {"factors", factor_json},
                              {"replications", ps.replications},
                              {"failed", ps.failed},
                              {"stopped", ps.stopped},
                              {"stats", std::move(stats)}});
    result.points.push_back(std::move(ps));
  }
  json factor_list = json::array();
  for (const Factor& f : e_.factors) {
    json values = json::array();
    for (const std::string& v : f.values) values.push_back(v);
    factor_list.push_back({{"key", f.key}, {"values", values}, {"range", f.range}});
  }
  json experiment = {{"file", e_.file},
                     {"model", e_.model},
                     {"set", e_.overrides},
                     {"factors", factor_list},
                     {"design", e_.design},
                     {"points", points_.size()},
                     {"design_seed", e_.design_seed},
                     {"seed", base_seed_},
                     {"common_random_numbers", e_.common_random_numbers},
                     {"confidence", e_.confidence}};
  if (e_.precision) {
    experiment["precision"] = {
        {"stat", fmt::format("{}.{}.{}", e_.precision->group, e_.precision->stat,
                             e_.precision->field)},
        {"relative", e_.precision->relative}};
    experiment["min_replications"] = e_.min_replications;
    experiment["max_replications"] = e_.max_replications;
  } else {
    experiment["replications"] = e_.replications;
  }
  json failures = json::array();
  for (const FailedRun& f : result.failures)
    failures.push_back({{"point", f.point},
                        {"replication", f.replication},
                        {"seed", f.seed},
                        {"message", f.message}});
  const json summary = {{"experiment", experiment},
                        {"confidence", e_.confidence},
                        {"points", std::move(summary_points)}};
  const json manifest = {
      {"dsim_version", options_.version},
      {"experiment", experiment},
      {"runs", result.runs},
      {"failures", failures},
      {"files", {"runs.csv", "summary.csv", "runs.json", "summary.json"}},
      // What differs between runs of one experiment (the rest is the same
      // bit for bit): how long it took and how it was run.
      {"timing",
       {{"wall_seconds", result.wall_seconds},
        {"workers", workers_},
        {"runs_executed", result.runs_executed},
        {"runs_discarded", result.runs_discarded}}}};
  auto dump = [](const json& j) {
    return j.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
  };
  // runs.json is compact (one line): it holds every run's every field.
  write_files(options_.output,
              {{"runs.csv", std::move(runs_csv)},
               {"summary.csv", std::move(summary_csv)},
               {"runs.json", json({{"experiment", experiment}, {"runs", std::move(runs)}})
                                     .dump(-1, ' ', false, json::error_handler_t::replace) +
                                 "\n"},
               {"summary.json", dump(summary)},
               {"manifest.json", dump(manifest)}});
}

}  // namespace

ExperimentResult run_experiment(const Experiment& experiment, const Registry& registry,
                                const ExperimentOptions& options) {
  return Runner(experiment, registry, options).run();
}

}  // namespace dsim
