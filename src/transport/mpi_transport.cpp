// Events between processes, over MPI.
//
// MpiTransport is a ThreadTransport for the process's own partitions plus
// two ways across processes:
//  - Conservative windows: exchange() runs in the window barrier's
//    completion step. One MPI_Alltoall(v) moves every event sent in the last
//    window to its process, together with each process's round state, so a
//    window costs one collective, not a collective per message.
//  - Optimistic (Time Warp): post() appends events and anti-messages for
//    other processes to one buffer per destination rank; progress() sends
//    the buffers with MPI_Isend and receives what arrived with
//    MPI_Iprobe/MPI_Recv into the local inboxes. Workers call progress()
//    when they post or look at their inbox, if no other thread is in MPI at
//    that moment (try-lock), so no worker ever waits for the network. With
//    DSIM_MPI_PROGRESS=thread a communication thread calls it instead.
//    GVT: quiesce() (after barrier A) flushes and polls until the counts of
//    messages sent and received, summed over processes, agree; then no
//    event is in flight, and reduce() (after barrier B) all-gathers the
//    processes' round states. A process that wants a round tells the others
//    with a small message (want_round), so rounds start together.
// Messages between two ranks are not overtaken (MPI's ordering for one
// communicator and tag), so an anti-message never arrives before its event.
// Events travel as their 64 raw bytes: every process must run the same
// binary on the same architecture.
//
// Thread safety: every MPI call is made under Cluster::lock() (the library
// runs at MPI_THREAD_SERIALIZED). The per-rank send buffers have their own
// spin locks; counters are touched under the MPI lock only.
#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <string_view>
#include <type_traits>

#include "transport/cluster.hpp"
#include "transport/transport.hpp"

#ifdef DSIM_WITH_MPI
#include <mpi.h>
#endif

namespace dsim::detail {

#ifdef DSIM_WITH_MPI
namespace {

static_assert(std::is_trivially_copyable_v<Event>, "events travel as raw bytes");

constexpr int kTagEvents = 1;  // [u32 events][u32 antis][events][antis]
constexpr int kTagRound = 2;   // [u64 round wanted]

class MpiTransport final : public ThreadTransport {
 public:
  MpiTransport(std::vector<std::unique_ptr<Partition>>& partitions, const Layout& layout,
               std::uint32_t per_rank, Cluster& cluster, bool progress_thread)
      : ThreadTransport(partitions),
        layout_(layout),
        cluster_(cluster),
        per_rank_(per_rank),
        total_(layout.partitions()),
        me_(cluster.rank()),
        arrived_(partitions.size()),
        outgoing_(cluster.size()),
        scratch_(partitions.size()),
        use_thread_(progress_thread) {}

  ~MpiTransport() override {
    if (progress_thread_.joinable()) {
      progress_thread_.request_stop();
      progress_thread_.join();
    }
  }

  void deliver(Partition& to, unsigned bank) override {
    ThreadTransport::deliver(to, bank);
    auto& in = arrived_[to.id() - first_];
    for (const Event& e : in) to.enqueue(e);
    in.clear();
  }

  void post(Partition& from) override {
    ThreadTransport::post(from);
    for (std::uint32_t r = 0; r < outgoing_.size(); ++r) {
      if (r == me_) continue;
      const auto [first, last] = partitions_of(r, per_rank_, total_);
      for (std::uint32_t q = first; q < last; ++q) {
        auto& events = from.outbox(q, 0);
        auto& antis = from.antibox(q);
        if (events.empty() && antis.empty()) continue;
        Outgoing& out = outgoing_[r];
        out.lock();
        out.events.insert(out.events.end(), events.begin(), events.end());
        out.antis.insert(out.antis.end(), antis.begin(), antis.end());
        out.unlock();
        events.clear();
        antis.clear();
      }
    }
    if (!progress_thread_.joinable()) progress(false);
  }

  bool receive(Partition& to) override {
    if (!progress_thread_.joinable()) progress(false);
    return ThreadTransport::receive(to);
  }

  RoundState exchange(unsigned bank, const RoundState& local) override {
    const std::uint32_t ranks = cluster_.size();
    std::vector<std::vector<std::byte>> out(ranks);
    for (std::uint32_t r = 0; r < ranks; ++r) {
      auto& buf = out[r];
      append(buf, &local, sizeof local);
      if (r == me_) continue;
      const auto [first, last] = partitions_of(r, per_rank_, total_);
      for (auto& p : partitions_)
        for (std::uint32_t q = first; q < last; ++q) {
          auto& box = p->outbox(q, bank);
          append(buf, box.data(), box.size() * sizeof(Event));
          box.clear();
        }
    }
    const auto in = cluster_.alltoall(out);
    RoundState global = local;
    for (std::uint32_t r = 0; r < ranks; ++r) {
      if (r == me_) continue;
      RoundState s;
      std::memcpy(&s, in[r].data(), sizeof s);
      merge(global, s);
      const std::size_t n = (in[r].size() - sizeof s) / sizeof(Event);
      const std::byte* data = in[r].data() + sizeof s;
      for (std::size_t k = 0; k < n; ++k) {
        Event e;
        std::memcpy(&e, data + k * sizeof(Event), sizeof(Event));
        arrived_[local_index(e)].push_back(e);
      }
    }
    return global;
  }

  void quiesce() override {
    std::lock_guard guard(cluster_.lock());
    for (;;) {
      send_pending();
      poll();
      std::uint64_t counts[2] = {sent_, received_};
      MPI_Allreduce(MPI_IN_PLACE, counts, 2, MPI_UINT64_T, MPI_SUM, comm());
      if (counts[0] == counts[1]) break;
    }
    reap(false);
  }

  RoundState reduce(const RoundState& local) override {
    std::lock_guard guard(cluster_.lock());
    send_pending();
    std::vector<RoundState> all(cluster_.size());
    MPI_Allgather(&local, sizeof local, MPI_BYTE, all.data(), sizeof local, MPI_BYTE,
                  comm());
    RoundState global = all[0];
    for (std::size_t r = 1; r < all.size(); ++r) merge(global, all[r]);
    rounds_done_.fetch_add(1, std::memory_order_release);
    return global;
  }

  void want_round() override {
    const std::uint64_t round = rounds_done_.load(std::memory_order_acquire) + 1;
    if (requested_.load(std::memory_order_acquire) >= round) return;
    std::lock_guard guard(cluster_.lock());
    if (requested_.load(std::memory_order_relaxed) >= round) return;
    requested_.store(round, std::memory_order_release);
    for (std::uint32_t r = 0; r < cluster_.size(); ++r) {
      if (r == me_) continue;
      std::vector<std::byte> buf(sizeof round);
      std::memcpy(buf.data(), &round, sizeof round);
      isend(r, kTagRound, std::move(buf));
    }
  }

  // Called once, before the optimistic workers start (the only engine that
  // sends point to point, so the only one a communication thread serves).
  void watch_rounds(std::atomic<bool>* flag) override {
    {
      std::lock_guard guard(cluster_.lock());
      round_flag_ = flag;
    }
    if (use_thread_ && !progress_thread_.joinable()) {
      progress_thread_ = std::jthread([this](std::stop_token stop) {
        while (!stop.stop_requested()) {
          progress(false);
          std::this_thread::sleep_for(std::chrono::microseconds(5));
        }
      });
    }
  }

  void finish() override {
    if (progress_thread_.joinable()) {
      progress_thread_.request_stop();
      progress_thread_.join();
    }
    quiesce();
    std::lock_guard guard(cluster_.lock());
    reap(true);
  }

 private:
  // Events and anti-messages for one rank, guarded by the spin lock.
  struct alignas(64) Outgoing : SpinLock {
    std::vector<Event> events, antis;
  };
  struct InFlight {
    MPI_Request request;
    std::vector<std::byte> data;
  };

  std::uint32_t local_index(const Event& e) const {
    return layout_.partition_of(e.dst) - first_;
  }
  static void append(std::vector<std::byte>& buf, const void* data, std::size_t bytes) {
    const auto* p = static_cast<const std::byte*>(data);
    buf.insert(buf.end(), p, p + bytes);
  }

  // Sends, receives and completes what it can without waiting; returns at
  // once if another thread is in MPI (`wait`: waits for it instead).
  void progress(bool wait) {
    std::unique_lock guard(cluster_.lock(), std::defer_lock);
    if (wait) {
      guard.lock();
    } else if (!guard.try_lock()) {
      return;
    }
    send_pending();
    poll();
    reap(false);
  }

  // REQUIRES: the MPI lock.
  void send_pending() {
    for (std::uint32_t r = 0; r < outgoing_.size(); ++r) {
      if (r == me_) continue;
      Outgoing& out = outgoing_[r];
      out.lock();
      if (out.events.empty() && out.antis.empty()) {
        out.unlock();
        continue;
      }
      const std::uint32_t counts[2] = {static_cast<std::uint32_t>(out.events.size()),
                                       static_cast<std::uint32_t>(out.antis.size())};
      std::vector<std::byte> buf;
      buf.reserve(sizeof counts + (out.events.size() + out.antis.size()) * sizeof(Event));
      append(buf, counts, sizeof counts);
      append(buf, out.events.data(), out.events.size() * sizeof(Event));
      append(buf, out.antis.data(), out.antis.size() * sizeof(Event));
      out.events.clear();
      out.antis.clear();
      out.unlock();
      isend(r, kTagEvents, std::move(buf));
    }
  }

  // REQUIRES: the MPI lock.
  void isend(std::uint32_t rank, int tag, std::vector<std::byte> data) {
    in_flight_.push_back(InFlight{MPI_REQUEST_NULL, std::move(data)});
    InFlight& f = in_flight_.back();
    MPI_Isend(f.data.data(), static_cast<int>(f.data.size()), MPI_BYTE, static_cast<int>(rank),
              tag, comm(), &f.request);
    ++sent_;
  }

  // Frees the buffers of completed sends (all of them, waiting, if `all`).
  // REQUIRES: the MPI lock.
  void reap(bool all) {
    while (!in_flight_.empty()) {
      int done = 0;
      if (all) {
        MPI_Wait(&in_flight_.front().request, MPI_STATUS_IGNORE);
        done = 1;
      } else {
        MPI_Test(&in_flight_.front().request, &done, MPI_STATUS_IGNORE);
      }
      if (!done) break;
      in_flight_.pop_front();
    }
  }

  // Receives every message that has arrived. REQUIRES: the MPI lock.
  void poll() {
    for (;;) {
      int flag = 0;
      MPI_Status status;
      MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, comm(), &flag, &status);
      if (!flag) break;
      int bytes = 0;
      MPI_Get_count(&status, MPI_BYTE, &bytes);
      buffer_.resize(static_cast<std::size_t>(bytes));
      MPI_Recv(buffer_.data(), bytes, MPI_BYTE, status.MPI_SOURCE, status.MPI_TAG,
               comm(), MPI_STATUS_IGNORE);
      ++received_;
      if (status.MPI_TAG == kTagRound) {
        std::uint64_t round = 0;
        std::memcpy(&round, buffer_.data(), sizeof round);
        if (round > requested_.load(std::memory_order_relaxed))
          requested_.store(round, std::memory_order_release);
        if (round > rounds_done_.load(std::memory_order_acquire) && round_flag_ != nullptr)
          round_flag_->store(true, std::memory_order_release);
        continue;
      }
      std::uint32_t counts[2];
      std::memcpy(counts, buffer_.data(), sizeof counts);
      const std::byte* data = buffer_.data() + sizeof counts;
      // Sort by receiver, then hand each its share under one inbox lock.
      for (auto& s : scratch_) s.events.clear(), s.antis.clear();
      for (std::uint32_t k = 0; k < counts[0] + counts[1]; ++k) {
        Event e;
        std::memcpy(&e, data + std::size_t{k} * sizeof(Event), sizeof(Event));
        auto& s = scratch_[local_index(e)];
        (k < counts[0] ? s.events : s.antis).push_back(e);
      }
      for (std::uint32_t i = 0; i < scratch_.size(); ++i) {
        const auto& s = scratch_[i];
        if (!s.events.empty() || !s.antis.empty())
          push(i, s.events.data(), s.events.size(), s.antis.data(), s.antis.size());
      }
    }
  }

  const Layout& layout_;
  MPI_Comm comm() const { return *static_cast<const MPI_Comm*>(cluster_.mpi_comm()); }

  Cluster& cluster_;
  const std::uint32_t per_rank_, total_, me_;
  // Conservative: events from other processes for each local partition,
  // handed over by deliver().
  std::vector<std::vector<Event>> arrived_;
  std::vector<Outgoing> outgoing_;  // per destination rank
  struct Sorted {
    std::vector<Event> events, antis;
  };
  std::vector<Sorted> scratch_;  // poll(): per local partition
  std::vector<std::byte> buffer_;
  std::deque<InFlight> in_flight_;
  std::uint64_t sent_ = 0, received_ = 0;  // messages, for quiesce()
  std::atomic<std::uint64_t> rounds_done_{0};
  std::atomic<std::uint64_t> requested_{0};  // the latest round asked for
  std::atomic<bool>* round_flag_ = nullptr;  // guarded by the MPI lock
  bool use_thread_;  // a communication thread (Environment::mpi_progress)
  std::jthread progress_thread_;
};

}  // namespace
#endif

std::unique_ptr<Transport> make_transport(std::vector<std::unique_ptr<Partition>>& partitions,
                                          const Layout& layout, std::uint32_t partitions_per_rank,
                                          Cluster& cluster, bool progress_thread) {
#ifdef DSIM_WITH_MPI
  if (cluster.distributed())
    return std::make_unique<MpiTransport>(partitions, layout, partitions_per_rank, cluster,
                                          progress_thread);
#endif
  (void)layout;
  (void)partitions_per_rank;
  (void)cluster;
  (void)progress_thread;
  return std::make_unique<ThreadTransport>(partitions);
}

}  // namespace dsim::detail
