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
#include <thread>

#include "dsim/experiment.hpp"
#include "dsim/output.hpp"
#include "dsim/simulation.hpp"

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
json value_json(double v) {
  if (std::isfinite(v)) return v;
  return std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf");
}
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

std::string run_line(const Record& r, std::uint64_t names_id) {
  json j = {{"p", r.point}, {"r", r.replication}, {"seed", r.seed}, {"ok", r.ok}};
  if (!r.ok) {
    j["error"] = r.error;
  } else {
    j["events"] = r.events;
    j["s"] = r.seconds;
    j["n"] = names_id;
    json v = json::array();
    for (double x : r.values) v.push_back(value_json(x));
    j["v"] = std::move(v);
  }
  return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
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

std::string csv_cell(std::string_view text) {
  if (text.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(text);
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// Writes `text` to dir/name through a temporary file, fsynced and renamed:
// the file is whole or absent. Throws dsim::Error (kRuntime).
void write_file(const fs::path& dir, const std::string& name, const std::string& text) {
  const fs::path final = dir / name;
  const fs::path tmp = dir / (name + ".tmp");
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  auto fail = [&](const char* what) {
    const int err = errno;
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    throw Error(fmt::format("{}: cannot {}: {}", final.string(), what, std::strerror(err)),
                Error::Kind::kRuntime);
  };
  if (fd < 0) fail("create");
  for (std::size_t at = 0; at < text.size();) {
    const ssize_t n = ::write(fd, text.data() + at, text.size() - at);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("write");
    }
    at += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) fail("sync");
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw Error(fmt::format("{}: cannot write: {}", final.string(), std::strerror(err)),
                Error::Kind::kRuntime);
  }
  if (::rename(tmp.c_str(), final.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw Error(fmt::format("{}: cannot rename into place: {}", final.string(), std::strerror(err)),
                Error::Kind::kRuntime);
  }
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
  void worker();
  Record execute(const Task& t, std::stop_source& stop);
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
  std::uint64_t executed_ = 0, discarded_ = 0, done_ = 0;
  std::uint32_t decided_ = 0;
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
      ModelSpec spec = load_model(e_.model, overrides);
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
  workers_ = options_.workers > 0 ? options_.workers
                                  : std::max(1u, std::thread::hardware_concurrency());
  window_ = std::max<std::uint32_t>(2, workers_);
  machine_ = Machine::detect();
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
  // Runs past the point's count are not needed: stop them.
  for (auto& [r, stop] : s.running)
    if (r >= *s.kept) stop->request_stop();
}

Record Runner::execute(const Task& t, std::stop_source& stop) {
  Record r;
  r.point = t.point;
  r.replication = t.replication;
  r.seed = run_seed(e_, base_seed_, t.point, t.replication);
  ModelSpec spec = specs_[t.point];
  spec.simulation.seed = r.seed;
  Environment env;
  env.machine = machine_;
  RunOptions options;
  options.stop = stop.get_token();
  try {
    Simulation sim(std::move(spec), registry_, env);
    const RunResult result = sim.run(options);
    r.events = result.figures.events_processed;
    r.seconds = result.figures.run_seconds;
    Names names;
    for (const StatResult& s : result.stats)
      for (const auto& [name, value] : s.fields) {
        names.push_back({s.group, s.stat, name});
        r.values.push_back(value);
      }
    std::lock_guard lock(mutex_);
    r.names = journal_->intern(std::move(names));
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

void Runner::worker() {
  std::unique_lock lock(mutex_);
  while (true) {
    if (error_ || options_.stop.stop_requested()) return;
    if (decided_ == state_.size()) return;
    std::optional<Task> task = next_task();
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
    PointState& s = state_[task->point];
    s.running.erase(task->replication);
    if (error) {
      if (!error_) error_ = error;
      changed_.notify_all();
      return;
    }
    if (!record) {  // stopped: not needed, or the experiment stops
      if (!s.kept) s.issued = std::min(s.issued, task->replication);
      ++discarded_;
      changed_.notify_all();
      continue;
    }
    ++executed_;
    if (s.kept && task->replication >= *s.kept) {
      ++discarded_;
      continue;
    }
    try {
      journal_->append(*record);
    } catch (...) {
      if (!error_) error_ = std::current_exception();
      changed_.notify_all();
      return;
    }
    s.done.emplace(task->replication, std::move(*record));
    ++done_;
    decide(task->point);
    if (options_.on_progress) {
      ExperimentProgress pr;
      pr.runs_done = done_;
      std::uint64_t expected = 0;
      for (const PointState& q : state_)
        expected += q.kept ? *q.kept
                           : std::max<std::uint64_t>(q.done.size(),
                                                     e_.precision ? e_.max_replications
                                                                  : e_.replications);
      pr.runs_expected = expected;
      pr.points_done = decided_;
      pr.points = static_cast<std::uint32_t>(state_.size());
      pr.wall_seconds = std::chrono::duration<double>(Clock::now() - start_).count();
      try {
        options_.on_progress(pr);
      } catch (...) {
      }
    }
    changed_.notify_all();
  }
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

ExperimentResult Runner::run() {
  prepare();
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
  state_.assign(points_.size(), PointState{});
  std::uint64_t from_journal = 0;
  for (Record& r : records) {
    if (r.point >= state_.size()) continue;
    if (!r.ok && options_.retry_failed) {
      state_[r.point].done.erase(r.replication);
      continue;
    }
    state_[r.point].done.insert_or_assign(r.replication, std::move(r));
  }
  for (std::uint32_t p = 0; p < state_.size(); ++p) {
    from_journal += state_[p].done.size();
    decide(p);
  }
  done_ = from_journal;
  std::vector<std::thread> threads;
  const std::uint32_t n = decided_ == state_.size() ? 0 : workers_;
  for (std::uint32_t i = 0; i < n; ++i) threads.emplace_back([this] { worker(); });
  for (std::thread& t : threads) t.join();
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
  ExperimentResult result;
  result.runs_executed = executed_;
  result.runs_discarded = discarded_;
  result.wall_seconds = std::chrono::duration<double>(Clock::now() - start_).count();
  write_results(result);
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
  write_file(options_.output, "runs.csv", runs_csv);
  write_file(options_.output, "summary.csv", summary_csv);
  // runs.json is compact (one line): it holds every run's every field.
  write_file(options_.output, "runs.json",
             json({{"experiment", experiment}, {"runs", std::move(runs)}})
                     .dump(-1, ' ', false, json::error_handler_t::replace) +
                 "\n");
  write_file(options_.output, "summary.json", dump(summary));
  write_file(options_.output, "manifest.json", dump(manifest));
}

}  // namespace

ExperimentResult run_experiment(const Experiment& experiment, const Registry& registry,
                                const ExperimentOptions& options) {
  return Runner(experiment, registry, options).run();
}

}  // namespace dsim
