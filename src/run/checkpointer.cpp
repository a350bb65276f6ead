#include "run/checkpointer.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <span>
#include <utility>
#include <vector>

#include "checkpoint/checkpoint_header.hpp"

#ifndef DSIM_VERSION
#define DSIM_VERSION "unknown"
#endif

namespace dsim::detail {
namespace {

using Json = nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

// One process's outcome of writing its shard, as the others receive it.
std::string encode_outcome(const checkpoint::ShardRecord& r, const std::string& failure) {
  return Json{{"failure", failure},      {"rank", r.rank},
              {"file", r.file},          {"bytes", r.bytes},
              {"checksum", r.checksum},  {"entities", r.entities},
              {"pending", r.pending},    {"safe_time", r.safe_time},
              {"quiet_point", r.quiet_point}, {"events", r.events}}
      .dump();
}

void decode_outcome(std::span<const std::byte> bytes, checkpoint::ShardRecord& r,
                    std::string& failure) {
  const Json j = Json::parse(std::string_view(reinterpret_cast<const char*>(bytes.data()),
                                              bytes.size()));
  failure = j.at("failure").get<std::string>();
  r.rank = j.at("rank").get<std::uint32_t>();
  r.file = j.at("file").get<std::string>();
  r.bytes = j.at("bytes").get<std::uint64_t>();
  r.checksum = j.at("checksum").get<std::uint64_t>();
  r.entities = j.at("entities").get<std::uint64_t>();
  r.pending = j.at("pending").get<std::uint64_t>();
  r.safe_time = j.at("safe_time").get<double>();
  r.quiet_point = j.at("quiet_point").get<std::uint64_t>();
  r.events = j.at("events").get<std::uint64_t>();
}

}  // namespace

Checkpointer::Checkpointer(Setup setup, checkpoint::ModelIdentity model, const Cluster& cluster)
    : setup_(std::move(setup)),
      model_(std::move(model)),
      writers_(cluster.duplicate()),
      files_(setup_.options.files != nullptr ? *setup_.options.files : FileSystem::local()),
      background_(writers_->concurrent()),
      last_wall_(SteadyClock::now()) {
  // Process 0 numbers the checkpoints; the others learn its number.
  std::vector<std::uint64_t> mine;
  if (cluster.rank() == 0) mine.push_back(checkpoint::next_checkpoint_number(setup_.options.directory));
  next_number_ = writers_->gather(mine).front();
  if (setup_.options.every > 0)
    next_multiple_ = static_cast<std::uint64_t>(std::floor(setup_.resumed_at / setup_.options.every)) + 1;
  if (setup_.writes && background_) writer_ = std::thread([this] { loop(); });
}

Checkpointer::~Checkpointer() { finish(); }

RunControl::Decision Checkpointer::at_quiet_point(const QuietPoint& point) {
  const Decision inner =
      setup_.inner != nullptr ? setup_.inner->at_quiet_point(point) : Decision::kContinue;
  if (inner == Decision::kStop) return inner;
  if (stop_after_ > 0 && taken_ >= stop_after_) return Decision::kStop;
  const CheckpointOptions& o = setup_.options;
  bool want = inner == Decision::kSnapshot;
  if (o.every > 0 && point.safe_time >= static_cast<double>(next_multiple_) * o.every) {
    want = true;
    next_multiple_ = static_cast<std::uint64_t>(std::floor(point.safe_time / o.every)) + 1;
  }
  if (o.wall_every > 0 && setup_.shard == 0 &&
      std::chrono::duration<double>(SteadyClock::now() - last_wall_).count() >= o.wall_every) {
    want = true;
    last_wall_ = SteadyClock::now();
  }
  if (o.requests != nullptr) {
    if (o.requests->take()) want = true;
    if (o.requests->stop_asked() && stop_after_ == 0) stop_after_ = taken_ + 1;
  }
  if (asked_) return Decision::kContinue;  // the one asked for is still coming
  if (want) asked_ = true;
  return want ? Decision::kSnapshot : Decision::kContinue;
}

Time Checkpointer::next_wanted_time() const {
  Time t = setup_.inner != nullptr ? setup_.inner->next_wanted_time() : kTimeInfinity;
  if (setup_.options.every > 0)
    t = std::min(t, static_cast<double>(next_multiple_) * setup_.options.every);
  return t;
}

void Checkpointer::keep_snapshot(Snapshot&& snapshot) {
  if (setup_.inner != nullptr) setup_.inner->on_snapshot(snapshot);
  asked_ = false;
  ++taken_;
  if (!setup_.writes) return;
  Job job{std::move(snapshot), next_number_++};
  if (!background_) {
    write(job);
    return;
  }
  std::unique_lock lock(mutex_);
  cv_.wait(lock, [&] { return !job_ && !busy_; });  // the previous one is written
  job_ = std::move(job);
  cv_.notify_all();
}

Snapshot Checkpointer::reusable_snapshot() {
  if (setup_.inner != nullptr) {
    // A host's control may have memory of its own to give.
    Snapshot theirs = setup_.inner->reusable_snapshot();
    if (!theirs.blocks.empty() || theirs.pending.capacity() > 0) return theirs;
  }
  std::lock_guard lock(mutex_);
  return std::move(spare_);
}

void Checkpointer::prepare(Shape shape) {
  if (!setup_.writes || !background_) return;  // no thread to do it off the pause
  {
    std::lock_guard lock(mutex_);
    shape_ = std::move(shape);
  }
  cv_.notify_all();
}

namespace {

// A snapshot of `shape` whose memory is mapped and touched: its parts sized
// as the export sizes them, its pending list empty with room to spare.
Snapshot spare_of(const Checkpointer::Shape& shape) {
  Snapshot s;
  for (const auto& [entities, block_bytes] : shape.parts) {
    SnapshotBlocks& part = s.blocks.emplace_back();
    part.block_bytes = block_bytes;
    part.ids.resize(entities);
    part.bytes.resize(entities * block_bytes);
  }
  s.pending.resize(shape.pending + shape.pending / 8);
  s.pending.clear();
  return s;
}

}  // namespace

void Checkpointer::loop() {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [&] { return job_.has_value() || shape_.has_value() || closing_; });
      if (shape_ && !job_ && !closing_) {
        const Shape shape = std::move(*shape_);
        shape_.reset();
        lock.unlock();
        Snapshot ready = spare_of(shape);
        lock.lock();
        // Unless a snapshot was taken meanwhile (its memory is the spare now).
        if (spare_.blocks.empty() && spare_.pending.capacity() == 0) spare_ = std::move(ready);
        continue;
      }
      shape_.reset();
      if (!job_) return;  // closing, nothing left
      job = std::move(*job_);
      job_.reset();
      busy_ = true;
    }
    write(job);
    {
      std::lock_guard lock(mutex_);
      busy_ = false;
    }
    cv_.notify_all();
  }
}

void Checkpointer::write(Job& job) {
  const auto start = SteadyClock::now();
  const CheckpointOptions& o = setup_.options;
  checkpoint::CheckpointMeta meta;
  meta.number = job.number;
  meta.rank = setup_.shard;
  meta.layout = setup_.layout;
  meta.dsim_version = DSIM_VERSION;
  meta.end_time = setup_.end_time;
  meta.figures = setup_.figures;
  meta.figures.events_processed = job.snapshot.events;
  const Time safe_time = job.snapshot.safe_time;

  checkpoint::ShardRecord mine;
  std::string failure;
  try {
    checkpoint::WriteOptions w;
    w.level = o.compression_level;
    mine = checkpoint::write_shard(files_, o.directory, model_, meta, job.snapshot, w);
  } catch (const std::exception& e) {
    failure = e.what();
  }
  {
    std::lock_guard lock(mutex_);
    spare_ = std::move(job.snapshot);
  }

  // Every writing process learns every other's outcome.
  std::vector<checkpoint::ShardRecord> records;
  std::string why = failure;
  if (setup_.shards > 1) {
    const std::string text = encode_outcome(mine, failure);
    const auto all = writers_->allgather(std::as_bytes(std::span(text.data(), text.size())));
    for (std::uint32_t r = 0; r < all.size(); ++r) {
      checkpoint::ShardRecord record;
      std::string theirs;
      try {
        decode_outcome(all[r], record, theirs);
      } catch (const std::exception& e) {
        theirs = fmt::format("its outcome could not be read ({})", e.what());
      }
      if (!theirs.empty() && why.empty()) why = fmt::format("process {}: {}", r, theirs);
      if (theirs.empty()) records.push_back(std::move(record));
    }
  } else if (failure.empty()) {
    records.push_back(mine);
  }
  if (why.empty() && setup_.shard == 0) {
    try {
      checkpoint::write_index(files_, o.directory, model_, meta, records);
      last_ = checkpoint::checkpoint_path(o.directory, job.number).string();
      ++written_;
      for (const auto& r : records) bytes_ += r.bytes;
    } catch (const std::exception& e) {
      why = e.what();
    }
    if (why.empty() && o.keep > 0) {
      try {
        checkpoint::prune_checkpoints(files_, o.directory, o.keep);
      } catch (const std::exception& e) {
        if (setup_.warn)
          setup_.warn(fmt::format("old checkpoints could not be removed: {}", e.what()));
      }
    }
  }
  if (!why.empty()) {
    ++failed_;
    // One process says it (process 0 knows every outcome; a process alone: it).
    if (setup_.warn && (setup_.shard == 0 || !failure.empty()))
      setup_.warn(fmt::format(
          "checkpoint {} at simulated time {} was not written: {}; the run goes on{}",
          checkpoint::checkpoint_name(job.number), safe_time, why,
          last_.empty() ? std::string()
                        : fmt::format(" and {} stays the latest", last_)));
  }
  write_seconds_ += std::chrono::duration<double>(SteadyClock::now() - start).count();
}

void Checkpointer::finish() {
  if (!writer_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
  }
  cv_.notify_all();
  writer_.join();
  spare_ = Snapshot{};  // no more checkpoints: its memory goes back
}

void Checkpointer::add_figures(RunFigures& figures) const {
  figures.checkpoints_written = written_;
  figures.checkpoints_failed = failed_;
  figures.checkpoint_bytes = bytes_;
  figures.checkpoint_write_seconds = write_seconds_;
  figures.last_checkpoint = last_;
}

}  // namespace dsim::detail
