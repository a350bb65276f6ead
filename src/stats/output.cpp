#include "dsim/output.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstring>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <system_error>
#include <thread>
#include <vector>

#include "dsim/message.hpp"
#include "stats/csv.hpp"
#include "stats/output_json.hpp"

namespace dsim::output {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

constexpr const char* kManifest = "manifest.json";
constexpr int kManifestFormat = 1;

using detail::csv_cell;

// 17 significant digits read back to the same double.
std::string number(double value) { return fmt::format("{:.17g}", value); }

// JSON has no NaN or infinity; those become null.
Json json_number(double value) { return std::isfinite(value) ? Json(value) : Json(nullptr); }

bool has_format(const ModelSpec& spec, std::string_view format) {
  const auto& f = spec.output.formats;
  return std::find(f.begin(), f.end(), format) != f.end();
}

// The data files a result directory holds, besides the manifest.
std::vector<std::string> data_files(const ModelSpec& spec, const RunResult& result) {
  std::vector<std::string> files;
  if (has_format(spec, "csv")) files.push_back("results.csv");
  if (has_format(spec, "json")) files.push_back("results.json");
  if (!result.series.empty()) files.push_back("series.csv");
  return files;
}

// A path in a message: long ones (a path can be 4 KiB) are cut.
std::string shown(const fs::path& path) { return clip(path.string(), 160); }

Error io_error(const std::string& what, const fs::path& path, int err) {
  return Error(fmt::format("cannot {} '{}': {}", what, shown(path), std::strerror(err)),
               Error::Kind::kRuntime);
}

// Writes `content` to a new file `path` and flushes it to the disk. Errors
// name `as`: the file's final place, not the temporary one it is written in.
void write_file(FileSystem& files, const fs::path& path, std::string_view content,
                const fs::path& as) {
  if (const int err = files.write_file(path, content); err != 0) throw io_error("write", as, err);
}

// Makes a directory's entries (new files, renames) durable. Errors name `as`.
void sync_directory(FileSystem& files, const fs::path& path, const fs::path& as) {
  if (const int err = files.sync_directory(path); err != 0)
    throw io_error("flush directory", as, err);
}

// The machine's own file system, through POSIX calls.
class LocalFileSystem final : public FileSystem {
 public:
  int write_file(const fs::path& path, std::string_view content) override {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return errno;
    const char* data = content.data();
    std::size_t left = content.size();
    while (left > 0) {
      const ssize_t n = ::write(fd, data, left);
      if (n < 0) {
        if (errno == EINTR) continue;
        const int err = errno;
        ::close(fd);
        return err;
      }
      data += n;
      left -= static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0) {
      const int err = errno;
      ::close(fd);
      return err;
    }
    return ::close(fd) != 0 ? errno : 0;
  }
  int sync_directory(const fs::path& path) override {
    const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return errno;
    const int rc = ::fsync(fd);
    const int err = errno;
    ::close(fd);
    // Some file systems cannot sync directories; that is not a write failure.
    return rc != 0 && err != EINVAL && err != ENOTSUP ? err : 0;
  }
  int create_directory(const fs::path& path) override {
    return ::mkdir(path.c_str(), 0777) != 0 ? errno : 0;
  }
  int create_directories(const fs::path& path) override {
    std::error_code ec;
    fs::create_directories(path, ec);
    return ec.value();
  }
  int remove_all(const fs::path& path) override {
    std::error_code ec;
    fs::remove_all(path, ec);
    return ec.value();
  }
  int rename(const fs::path& from, const fs::path& to) override {
    return ::rename(from.c_str(), to.c_str()) != 0 ? errno : 0;
  }
  int exchange(const fs::path& a, const fs::path& b) override {
    return ::renameat2(AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), RENAME_EXCHANGE) != 0 ? errno
                                                                                       : 0;
  }
};

// What is at `dir` before writing, and whether we may replace it.
enum class Existing { kNone, kEmpty, kPreviousResult };

Existing inspect_target(const fs::path& dir) {
  std::error_code ec;
  const auto status = fs::symlink_status(dir, ec);
  if (ec || status.type() == fs::file_type::not_found) return Existing::kNone;
  if (status.type() != fs::file_type::directory)
    throw Error(fmt::format("output directory '{}' exists and is not a directory", shown(dir)));

  std::vector<fs::path> entries;
  for (const auto& entry : fs::directory_iterator(dir, ec)) entries.push_back(entry.path());
  if (ec) throw io_error("read directory", dir, ec.value());
  if (entries.empty()) return Existing::kEmpty;

  // Replace only a directory that dsim wrote: a manifest saying so, and no
  // file the manifest does not list (nothing of the user's is ever removed).
  const auto not_ours = [&](const std::string& why) {
    return Error(fmt::format(
        "output directory '{}' exists and {}; remove it or choose another --out", shown(dir), why));
  };
  std::set<std::string> listed = {kManifest};
  {
    std::ifstream in(dir / kManifest);
    if (!in) throw not_ours("is not a dsim result directory (no manifest.json)");
    nlohmann::json manifest = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (!manifest.is_object() || !manifest.contains("dsim_version"))
      throw not_ours("its manifest.json was not written by dsim");
    if (manifest.contains("files") && manifest["files"].is_array())
      for (const auto& f : manifest["files"])
        if (f.is_string()) listed.insert(f.get<std::string>());
  }
  for (const auto& path : entries) {
    const auto name = path.filename().string();
    if (!listed.count(name) || !fs::is_regular_file(fs::symlink_status(path)))
      throw not_ours(fmt::format("holds '{}', which dsim did not write", clip(name)));
  }
  return Existing::kPreviousResult;
}

// Longest name of the result directory: room for the ".tmp-<pid>" and
// ".old-<pid>" of its temporary siblings.
constexpr std::size_t kMaxDirName = NAME_MAX - 16;
// Longest absolute path of the result directory: room for a temporary
// sibling's suffix and "/manifest.json".
constexpr std::size_t kMaxDirPath = PATH_MAX - 1 - 16 - 16;

// Refuses a path the system would refuse (ENAMETOOLONG), as bad input.
void check_path_length(const fs::path& dir, const fs::path& absolute) {
  const fs::path last =
      absolute.has_filename() ? absolute.filename() : absolute.parent_path().filename();
  for (const fs::path& part : absolute) {
    // The last name leaves room for the suffix of a temporary sibling.
    const std::size_t limit = part == last ? kMaxDirName : std::size_t{NAME_MAX};
    if (part.native().size() > limit)
      throw Error(
          fmt::format("output directory '{}': the name '{}' is too long ({} bytes, at most {})",
                      shown(dir), clip(part.native()), part.native().size(), limit));
  }
  if (absolute.native().size() > kMaxDirPath)
    throw Error(fmt::format(
        "output directory '{}': the path is too long ({} bytes as an absolute path, at most {})",
        shown(dir), absolute.native().size(), kMaxDirPath));
}

// The absolute target path, without a trailing separator, symlinks resolved.
fs::path resolve_target(const fs::path& dir) {
  std::error_code ec;
  const fs::path absolute = fs::absolute(dir, ec);
  if (ec) throw io_error("resolve", dir, ec.value());
  check_path_length(dir, absolute);
  fs::path target = fs::weakly_canonical(absolute, ec);
  if (ec) throw io_error("resolve", dir, ec.value());
  if (!target.has_filename()) target = target.parent_path();
  if (!target.has_filename() || target == target.root_path())
    throw Error(fmt::format("'{}' cannot be an output directory", shown(dir)));
  return target;
}

// Throws unless a directory can be created in the existing directory
// `parent`. Only trying tells: root passes every permission check (access()),
// yet /proc and /sys refuse new entries, and so do read-only mounts.
void probe_directory(const fs::path& dir, const fs::path& parent) {
  std::string probe = (parent / ".dsim-probe-XXXXXX").string();
  if (::mkdtemp(probe.data()) == nullptr)
    throw Error(
        fmt::format("cannot create output directory '{}': cannot create a directory in "
                    "'{}': {}",
                    shown(dir), shown(parent), std::strerror(errno)));
  ::rmdir(probe.c_str());
}

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return {};
  return buf;
}

}  // namespace

std::string_view kind_name(StatKind kind) {
  switch (kind) {
    case StatKind::kCounter:
      return "counter";
    case StatKind::kTally:
      return "tally";
    case StatKind::kGauge:
      return "gauge";
    case StatKind::kHistogram:
      return "histogram";
  }
  return "unknown";
}

std::string results_csv(const RunResult& result) {
  std::string out = "group,stat,kind,field,value\n";
  for (const auto& s : result.stats) {
    const std::string prefix =
        fmt::format("{},{},{},", csv_cell(s.group), csv_cell(s.stat), kind_name(s.kind));
    for (const auto& [field, value] : s.fields)
      out += fmt::format("{}{},{}\n", prefix, csv_cell(field), number(value));
    if (s.kind == StatKind::kHistogram) {
      out += fmt::format("{}lo,{}\n", prefix, number(s.lo));
      out += fmt::format("{}hi,{}\n", prefix, number(s.hi));
    }
  }
  return out;
}

std::string results_json(const RunResult& result) {
  Json stats = Json::array();
  for (const auto& s : result.stats) {
    Json fields = Json::object();
    for (const auto& [field, value] : s.fields) fields[field] = json_number(value);
    if (s.kind == StatKind::kHistogram) {
      fields["lo"] = json_number(s.lo);
      fields["hi"] = json_number(s.hi);
    }
    stats.push_back(Json{{"group", s.group},
                         {"stat", s.stat},
                         {"kind", kind_name(s.kind)},
                         {"fields", std::move(fields)}});
  }
  Json doc = {{"end_time", json_number(result.end_time)},
              {"seed", result.seed},
              {"stats", std::move(stats)}};
  return doc.dump(1) + "\n";
}

std::string series_csv(const RunResult& result) {
  std::string out = "group,stat,time,value\n";
  for (const auto& s : result.series) {
    if (s.times.size() != s.values.size())
      throw Error(fmt::format("series {}.{} has {} times but {} values", s.group, s.stat,
                              s.times.size(), s.values.size()),
                  Error::Kind::kRuntime);
    const std::string prefix = fmt::format("{},{},", csv_cell(s.group), csv_cell(s.stat));
    for (std::size_t i = 0; i < s.times.size(); ++i)
      out += fmt::format("{}{},{}\n", prefix, number(s.times[i]), number(s.values[i]));
  }
  return out;
}

std::string utc_timestamp() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Json figures_json(const RunFigures& f) {
  Json partitions = Json::array();
  for (const auto& p : f.partitions)
    partitions.push_back(Json{{"partition", p.partition},
                              {"rank", p.rank},
                              {"entities", p.entities},
                              {"events", p.events},
                              {"remote_sends", p.remote_sends},
                              {"busy_seconds", json_number(p.busy_seconds)},
                              {"blocked_seconds", json_number(p.blocked_seconds)},
                              {"rolled_back", p.rolled_back}});
  return {{"events_processed", f.events_processed},
          {"event_rate", json_number(f.event_rate)},
          {"init_seconds", json_number(f.init_seconds)},
          {"run_seconds", json_number(f.run_seconds)},
          {"wall_seconds", json_number(f.wall_seconds)},
          {"peak_rss_bytes", f.peak_rss_bytes},
          {"sync", f.sync},
          {"sync_reason", f.sync_reason},
          {"partitioner", f.partitioner},
          {"threads", f.threads},
          {"ranks", f.ranks},
          {"edge_cut", f.edge_cut},
          {"rank_edge_cut", f.rank_edge_cut},
          {"windows", f.windows},
          {"events_executed", f.events_executed},
          {"events_rolled_back", f.events_rolled_back},
          {"rollbacks_primary", f.rollbacks_primary},
          {"rollbacks_secondary", f.rollbacks_secondary},
          {"efficiency", json_number(f.efficiency)},
          {"gvt_rounds", f.gvt_rounds},
          {"peak_saved_bytes", f.peak_saved_bytes},
          {"memory_limit", f.memory_limit},
          {"throttled_rounds", f.throttled_rounds},
          {"state_saving", f.state_saving},
          {"rollback_checks", f.rollback_checks},
          {"checkpoints_written", f.checkpoints_written},
          {"checkpoints_failed", f.checkpoints_failed},
          {"checkpoint_pause_max", json_number(f.checkpoint_pause_max)},
          {"checkpoint_pause_total", json_number(f.checkpoint_pause_total)},
          {"checkpoint_bytes", f.checkpoint_bytes},
          {"checkpoint_write_seconds", json_number(f.checkpoint_write_seconds)},
          {"last_checkpoint", f.last_checkpoint},
          {"resumed_from", f.resumed_from},
          {"resumed_at", json_number(f.resumed_at)},
          {"restarts", f.restarts},
          {"partitions", std::move(partitions)}};
}

RunFigures figures_from_json(const nlohmann::ordered_json& j) {
  RunFigures f;
  const auto get = [&](const char* key, auto& field) {
    if (j.contains(key) && !j[key].is_null()) j[key].get_to(field);
  };
  get("events_processed", f.events_processed);
  get("event_rate", f.event_rate);
  get("init_seconds", f.init_seconds);
  get("run_seconds", f.run_seconds);
  get("wall_seconds", f.wall_seconds);
  get("peak_rss_bytes", f.peak_rss_bytes);
  get("sync", f.sync);
  get("sync_reason", f.sync_reason);
  get("partitioner", f.partitioner);
  get("threads", f.threads);
  get("ranks", f.ranks);
  get("edge_cut", f.edge_cut);
  get("rank_edge_cut", f.rank_edge_cut);
  get("windows", f.windows);
  get("events_executed", f.events_executed);
  get("events_rolled_back", f.events_rolled_back);
  get("rollbacks_primary", f.rollbacks_primary);
  get("rollbacks_secondary", f.rollbacks_secondary);
  get("efficiency", f.efficiency);
  get("gvt_rounds", f.gvt_rounds);
  get("peak_saved_bytes", f.peak_saved_bytes);
  get("memory_limit", f.memory_limit);
  get("throttled_rounds", f.throttled_rounds);
  get("state_saving", f.state_saving);
  get("rollback_checks", f.rollback_checks);
  get("checkpoints_written", f.checkpoints_written);
  get("checkpoints_failed", f.checkpoints_failed);
  get("checkpoint_pause_max", f.checkpoint_pause_max);
  get("checkpoint_pause_total", f.checkpoint_pause_total);
  get("checkpoint_bytes", f.checkpoint_bytes);
  get("checkpoint_write_seconds", f.checkpoint_write_seconds);
  get("last_checkpoint", f.last_checkpoint);
  get("resumed_from", f.resumed_from);
  get("resumed_at", f.resumed_at);
  get("restarts", f.restarts);
  if (auto e = engine_from_name(f.sync)) f.engine = *e;
  if (j.contains("partitions") && j["partitions"].is_array())
    for (const auto& p : j["partitions"]) {
      PartitionFigures& out = f.partitions.emplace_back();
      out.partition = p.value("partition", 0u);
      out.rank = p.value("rank", 0u);
      out.entities = p.value("entities", std::uint64_t{0});
      out.events = p.value("events", std::uint64_t{0});
      out.remote_sends = p.value("remote_sends", std::uint64_t{0});
      out.busy_seconds = p.value("busy_seconds", 0.0);
      out.blocked_seconds = p.value("blocked_seconds", 0.0);
      out.rolled_back = p.value("rolled_back", std::uint64_t{0});
    }
  return f;
}

std::string manifest_json(const ModelSpec& spec, const RunResult& result,
                          const std::string& version) {
  Json figures = figures_json(result.figures);

  Json config = Json::parse(to_json(spec), nullptr, /*allow_exceptions=*/false);
  if (config.is_discarded())
    throw Error("internal: the resolved config is not valid JSON", Error::Kind::kRuntime);

  Json manifest = {
      {"dsim_version", version},
      {"manifest_format", kManifestFormat},
      {"config_file", spec.file},
      {"seed", result.seed},
      {"end_time", json_number(result.end_time)},
      {"written_at", utc_timestamp()},
      {"host", {{"name", host_name()}, {"hardware_threads", std::thread::hardware_concurrency()}}},
      {"config", std::move(config)},
      {"run", std::move(figures)},
      {"files", data_files(spec, result)}};
  return manifest.dump(2) + "\n";
}

void check_output_directory(const fs::path& dir) {
  const fs::path target = resolve_target(dir);
  inspect_target(target);
  // The result is written beside the target and renamed onto it; missing
  // parents are created under the nearest existing ancestor.
  fs::path ancestor = target.parent_path();
  std::error_code ec;
  while (!fs::exists(ancestor, ec) && ancestor.has_relative_path())
    ancestor = ancestor.parent_path();
  if (!fs::is_directory(ancestor, ec))
    throw Error(fmt::format("cannot create output directory '{}': '{}' is not a directory",
                            shown(dir), shown(ancestor)));
  probe_directory(dir, ancestor);
}

void write_results(const fs::path& dir, const ModelSpec& spec, const RunResult& result,
                   const std::string& version, FileSystem& files) {
  // Everything is rendered before the first byte is written, so a bad result
  // fails without touching the disk.
  std::vector<std::pair<std::string, std::string>> contents;
  for (const auto& name : data_files(spec, result)) {
    if (name == "results.csv") contents.emplace_back(name, results_csv(result));
    if (name == "results.json") contents.emplace_back(name, results_json(result));
    if (name == "series.csv") contents.emplace_back(name, series_csv(result));
  }
  contents.emplace_back(kManifest, manifest_json(spec, result, version));

  const fs::path target = resolve_target(dir);
  const fs::path parent = target.parent_path();
  const Existing existing = inspect_target(target);

  if (const int err = files.create_directories(parent); err != 0)
    throw io_error("create directory", parent, err);

  // Errors name `dir` as the user wrote it, never the temporary directory.
  const fs::path tmp = fs::path(target.string() + ".tmp-" + std::to_string(::getpid()));
  files.remove_all(tmp);  // left by a crashed run whose pid we now have
  if (const int err = files.create_directory(tmp); err != 0)
    throw io_error("create output directory", dir, err);

  try {
    for (const auto& [name, content] : contents) write_file(files, tmp / name, content, dir / name);
    sync_directory(files, tmp, dir);

    if (existing == Existing::kPreviousResult) {
      // Swap atomically, so readers see the old or the new result, never none.
      const int err = files.exchange(tmp, target);
      if (err == 0) {
        sync_directory(files, parent, parent);
        files.remove_all(tmp);  // now holds the previous result
        return;
      }
      if (err != EINVAL && err != ENOSYS) throw io_error("replace", dir, err);
      // The file system cannot exchange: move the old result aside first.
      const fs::path old = fs::path(target.string() + ".old-" + std::to_string(::getpid()));
      files.remove_all(old);
      if (const int e = files.rename(target, old); e != 0) throw io_error("replace", dir, e);
      if (const int e = files.rename(tmp, target); e != 0) {
        files.rename(old, target);
        throw io_error("replace", dir, e);
      }
      sync_directory(files, parent, parent);
      files.remove_all(old);
      return;
    }
    // Also replaces an empty directory.
    if (const int err = files.rename(tmp, target); err != 0)
      throw io_error("create output directory", dir, err);
    sync_directory(files, parent, parent);
  } catch (...) {
    files.remove_all(tmp);
    throw;
  }
}

std::string byte_size(std::uint64_t b) {
  constexpr std::array<const char*, 5> kUnits = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(b);
  std::size_t unit = 0;
  while (value >= 1024 && unit + 1 < kUnits.size()) {
    value /= 1024;
    ++unit;
  }
  if (value == std::floor(value)) return fmt::format("{:.0f} {}", value, kUnits[unit]);
  return fmt::format("{:.1f} {}", value, kUnits[unit]);
}

namespace {

std::string short_number(double v) {
  if (!std::isfinite(v)) return fmt::format("{}", v);
  if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{:.0f}", v);
  return fmt::format("{:.6g}", v);
}

// "1.23M", "45.6k", "789".
std::string si(double v) {
  if (v >= 1e9) return fmt::format("{:.3g}G", v / 1e9);
  if (v >= 1e6) return fmt::format("{:.3g}M", v / 1e6);
  if (v >= 1e3) return fmt::format("{:.3g}k", v / 1e3);
  return fmt::format("{:.3g}", v);
}

// "12.345 s", "3.21 ms".
std::string seconds(double s) {
  if (s >= 1 || s <= 0) return fmt::format("{:.3f} s", s);
  return fmt::format("{:.3g} ms", s * 1e3);
}

std::string bytes(std::uint64_t b) {
  if (b >= (1ull << 30)) return fmt::format("{:.1f} GiB", b / double(1ull << 30));
  if (b >= (1ull << 20)) return fmt::format("{:.1f} MiB", b / double(1ull << 20));
  if (b >= (1ull << 10)) return fmt::format("{:.1f} KiB", b / double(1ull << 10));
  return fmt::format("{} B", b);
}

// "optimistic: 1.23M rolled back (0.8%), efficiency 99.2%, ...": what
// speculation cost.
std::string optimistic_line(const RunFigures& f) {
  const double executed = static_cast<double>(f.events_executed);
  const double share =
      executed > 0 ? 100.0 * static_cast<double>(f.events_rolled_back) / executed : 0.0;
  std::string line = fmt::format(
      "optimistic: {} rolled back ({:.1f}%), efficiency {:.1f}%, {} primary / {} secondary "
      "rollbacks, {} GVT rounds, peak saved state {}",
      si(static_cast<double>(f.events_rolled_back)), share, 100.0 * f.efficiency,
      f.rollbacks_primary, f.rollbacks_secondary, f.gvt_rounds, byte_size(f.peak_saved_bytes));
  if (f.memory_limit > 0) line += fmt::format(" of {} limit", byte_size(f.memory_limit));
  if (f.throttled_rounds > 0)
    line += fmt::format(", throttled in {} GVT rounds", f.throttled_rounds);
  if (!f.state_saving.empty()) line += fmt::format(", state saving ({})", f.state_saving);
  return line + "\n";
}

// The fields worth a glance, per kind; the files have all of them.
std::vector<std::string_view> main_fields(StatKind kind) {
  switch (kind) {
    case StatKind::kCounter:
      return {"total", "mean", "min", "max"};
    case StatKind::kTally:
      return {"count", "mean", "stddev", "min", "max"};
    case StatKind::kGauge:
      return {"mean", "total_mean", "min", "max", "final"};
    case StatKind::kHistogram:
      return {"count", "underflow", "overflow"};
  }
  return {};
}

}  // namespace

std::string summary_table(const RunResult& result) {
  std::vector<std::array<std::string, 4>> rows;
  rows.push_back({"group", "stat", "kind", "values"});
  for (const auto& s : result.stats) {
    std::string values;
    for (auto name : main_fields(s.kind)) {
      for (const auto& [field, value] : s.fields) {
        if (field != name) continue;
        if (!values.empty()) values += "  ";
        values += fmt::format("{}={}", field, short_number(value));
      }
    }
    if (s.kind == StatKind::kHistogram)
      values +=
          fmt::format("  bins={} over [{}, {})", s.bins, short_number(s.lo), short_number(s.hi));
    rows.push_back({s.group, s.stat, std::string(kind_name(s.kind)), values});
  }
  std::size_t w[3] = {0, 0, 0};
  for (const auto& r : rows)
    for (int i = 0; i < 3; ++i) w[i] = std::max(w[i], r[i].size());

  std::string out;
  for (const auto& r : rows)
    out += fmt::format("{:<{}}  {:<{}}  {:<{}}  {}\n", r[0], w[0], r[1], w[1], r[2], w[2], r[3]);

  const RunFigures& f = result.figures;
  out += fmt::format(
      "\nevents {} | {} events/s | wall {} (init {}, loop {}) | peak RSS {} | sync {} | "
      "threads {}",
      f.events_processed, si(f.event_rate), seconds(f.wall_seconds), seconds(f.init_seconds),
      seconds(f.run_seconds), bytes(f.peak_rss_bytes), f.sync.empty() ? "-" : f.sync, f.threads);
  // MPI runs: threads are per process; edges between processes are the dear ones.
  if (f.ranks > 1)
    out += fmt::format(" | ranks {} | rank cut {} (edge cut {})", f.ranks, f.rank_edge_cut,
                       f.edge_cut);
  out += "\n";
  // The reason can be a sentence; it gets a line of its own.
  if (!f.sync_reason.empty()) out += fmt::format("sync: {}\n", f.sync_reason);
  if (f.sync == "optimistic") out += optimistic_line(f);
  if (f.rollback_checks > 0)
    out += fmt::format("rollback check: {} events executed twice and compared, all equal\n",
                       f.rollback_checks);
  return out;
}

}  // namespace dsim::output

namespace dsim {

FileSystem& FileSystem::local() {
  static output::LocalFileSystem files;
  return files;
}

}  // namespace dsim
