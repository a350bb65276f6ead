// MpiPath: the transport's path between processes, over MPI.
//
// Sends queue batches in one buffer per destination process, each batch
// behind a header slot (sender, receiver, channel, count; one Event's size, so
// the events stay aligned and travel as their raw bytes). Two ways move them:
//  - Point to point: progress() sends each non-empty buffer as one
//    MPI_Isend and receives what arrived with MPI_Iprobe/MPI_Recv, pushing
//    its batches into the receivers' inboxes. It is called by whichever
//    thread sends or drains, if no other thread is in MPI at that moment
//    (try-lock), so no worker ever waits for the network; or, after
//    start_progress() on a path made with a progress thread, by that thread.
//  - Collectively: quiesce_and_allgather() carries every queued buffer,
//    with each process's value and message counts, in one MPI_Alltoallv
//    (after an MPI_Alltoall of sizes): one exchange, not a message per batch.
// Quiescence counts messages: every process knows how many it sent and
// received; when the sums over processes agree, nothing is in flight.
// quiesce() sends what is queued and polls until they agree;
// quiesce_and_allgather() needs no polling unless point-to-point messages
// were in flight, and then delivers those before the collective's batches,
// which were sent after them.
// Flags: raise_flag() sends a small message (the epoch, i.e. the number of
// reductions finished, plus one) to every other process, at most once per
// epoch per process; a receiver raises its flag unless it already finished
// that epoch's reduction.
// Order: MPI does not let messages between two processes on one communicator
// and tag overtake each other, a buffer keeps its batches in send order, and
// the receiver pushes them in that order: batches from one partition to
// another arrive in the order sent, whichever channel. Events travel as raw
// bytes: every process must run the same binary on the same architecture.
//
// Thread safety: every MPI call is made under Cluster::lock() (the library
// runs at MPI_THREAD_SERIALIZED); the message counters, in-flight sends, the
// receive buffer and the flag pointer are touched under it only. Each
// destination's buffer has its own spin lock, so senders never wait for MPI.
#include <chrono>
#include <cstring>
#include <deque>
#include <limits>
#include <mutex>
#include <thread>
#include <type_traits>

#include "dsim/types.hpp"
#include "transport/cluster.hpp"
#include "transport/remote_path.hpp"

#ifdef DSIM_WITH_MPI
#include <mpi.h>

#include "transport/mpi_wait.hpp"
#endif

namespace dsim::detail {

#ifdef DSIM_WITH_MPI
namespace {

static_assert(std::is_trivially_copyable_v<Event>, "events travel as raw bytes");

constexpr int kTagBatches = 1;  // [header slot][events] ...
constexpr int kTagFlag = 2;     // [u64 epoch]

// The slot before each batch's events.
struct BatchHeader {
  std::uint32_t from, to, channel, count;
};
static_assert(sizeof(BatchHeader) <= sizeof(Event));

// What opens each process's block in quiesce_and_allgather(), followed by its
// value; padded to whole slots.
struct Prelude {
  std::uint64_t sent, received;  // the sender's messages, point to point
};

constexpr std::size_t kSlot = sizeof(Event);
constexpr std::size_t kMaxBytes = static_cast<std::size_t>(std::numeric_limits<int>::max());
// Spare send buffers kept for reuse.
constexpr std::size_t kMaxSpareBuffers = 64;

class MpiPath final : public RemotePath {
 public:
  MpiPath(Cluster& cluster, Inboxes& inboxes, std::uint32_t first, bool progress_thread)
      : cluster_(cluster),
        inboxes_(inboxes),
        first_(first),
        me_(cluster.rank()),
        ranks_(cluster.size()),
        outgoing_(cluster.size()),
        send_bytes_(cluster.size()),
        send_offsets_(cluster.size()),
        recv_bytes_(cluster.size()),
        recv_offsets_(cluster.size()),
        use_thread_(progress_thread) {}

  ~MpiPath() override { stop_thread(); }

  void send(std::uint32_t rank, std::uint32_t from, std::uint32_t to, Channel channel,
            std::span<const Event> events) override {
    Event header{};
    const BatchHeader h{from, to, static_cast<std::uint32_t>(channel),
                        static_cast<std::uint32_t>(events.size())};
    std::memcpy(static_cast<void*>(&header), &h, sizeof h);
    Outgoing& out = outgoing_[rank];
    out.lock();
    out.events.push_back(header);
    out.events.insert(out.events.end(), events.begin(), events.end());
    out.unlock();
  }

  void progress() override {
    if (!threaded_) step();
  }

  void start_progress() override {
    if (!use_thread_ || progress_thread_.joinable()) return;
    threaded_ = true;
    progress_thread_ = std::jthread([this](std::stop_token stop) {
      while (!stop.stop_requested()) {
        step();
        std::this_thread::sleep_for(std::chrono::microseconds(5));
      }
    });
  }

  void quiesce() override {
    std::lock_guard guard(cluster_.lock());
    send_queued();
    wait_until_delivered();
    reap(false);
  }

  void allgather(std::span<const std::byte> mine, std::span<std::byte> all) override {
    std::lock_guard guard(cluster_.lock());
    send_queued();
    MPI_Request request;
    MPI_Iallgather(mine.data(), static_cast<int>(mine.size()), MPI_BYTE, all.data(),
                   static_cast<int>(mine.size()), MPI_BYTE, comm(), &request);
    wait_patiently(request);
    epoch_.fetch_add(1, std::memory_order_release);
  }

  void quiesce_and_allgather(std::span<const std::byte> mine, std::span<std::byte> all) override {
    std::lock_guard guard(cluster_.lock());
    // Every process's block: its counts and value, then the batches queued
    // for the receiver.
    const std::size_t prelude = (sizeof(Prelude) + mine.size() + kSlot - 1) / kSlot;
    const Prelude counts{sent_, received_};
    send_buffer_.clear();
    for (std::uint32_t r = 0; r < ranks_; ++r) {
      const std::size_t at = send_buffer_.size();
      send_buffer_.resize(at + prelude);
      auto* block = reinterpret_cast<std::byte*>(send_buffer_.data() + at);
      std::memcpy(block, &counts, sizeof counts);
      std::memcpy(block + sizeof counts, mine.data(), mine.size());
      if (r != me_) {
        Outgoing& out = outgoing_[r];
        out.lock();
        send_buffer_.insert(send_buffer_.end(), out.events.begin(), out.events.end());
        out.events.clear();
        out.unlock();
      }
      // MPI counts are ints. The other processes are already waiting in this
      // collective (called where nothing may throw): end the job.
      if (send_buffer_.size() * kSlot > kMaxBytes)
        cluster_.abort(1,
                       "more than 2 GiB of events to send in one exchange; use more processes "
                       "or a smaller lookahead");
      send_offsets_[r] = static_cast<int>(at * kSlot);
      send_bytes_[r] = static_cast<int>((send_buffer_.size() - at) * kSlot);
    }
    MPI_Request request;
    MPI_Ialltoall(send_bytes_.data(), 1, MPI_INT, recv_bytes_.data(), 1, MPI_INT, comm(),
                  &request);
    wait_patiently(request);
    std::size_t total = 0;
    for (std::uint32_t r = 0; r < ranks_; ++r) {
      recv_offsets_[r] = static_cast<int>(total);
      total += static_cast<std::size_t>(recv_bytes_[r]);
      if (total > kMaxBytes)
        cluster_.abort(1,
                       "more than 2 GiB of events to receive in one exchange; use more "
                       "processes or a smaller lookahead");
    }
    recv_buffer_.resize(total / kSlot);
    MPI_Ialltoallv(send_buffer_.data(), send_bytes_.data(), send_offsets_.data(), MPI_BYTE,
                   recv_buffer_.data(), recv_bytes_.data(), recv_offsets_.data(), MPI_BYTE,
                   comm(), &request);
    wait_patiently(request);
    std::uint64_t sent = 0, received = 0;
    for (std::uint32_t r = 0; r < ranks_; ++r) {
      const auto* block = reinterpret_cast<const std::byte*>(recv_buffer_.data()) +
                          recv_offsets_[r];
      Prelude theirs;
      std::memcpy(&theirs, block, sizeof theirs);
      sent += theirs.sent;
      received += theirs.received;
      std::memcpy(all.data() + std::size_t{r} * mine.size(), block + sizeof theirs, mine.size());
    }
    // Point-to-point messages still in flight were sent before the batches
    // of this exchange: they go into the inboxes first.
    if (sent != received) wait_until_delivered();
    for (std::uint32_t r = 0; r < ranks_; ++r) {
      if (r == me_) continue;
      const std::size_t first = static_cast<std::size_t>(recv_offsets_[r]) / kSlot + prelude;
      const std::size_t last =
          static_cast<std::size_t>(recv_offsets_[r] + recv_bytes_[r]) / kSlot;
      deliver(std::span<const Event>(recv_buffer_).subspan(first, last - first));
    }
    reap(false);
    epoch_.fetch_add(1, std::memory_order_release);
  }

  // Called once, before the workers start.
  void watch_flag(std::atomic<bool>* flag) override {
    std::lock_guard guard(cluster_.lock());
    flag_ = flag;
  }

  void raise_flag() override {
    const std::uint64_t epoch = epoch_.load(std::memory_order_acquire) + 1;
    if (raised_.load(std::memory_order_acquire) >= epoch) return;
    std::lock_guard guard(cluster_.lock());
    if (raised_.load(std::memory_order_relaxed) >= epoch) return;
    raised_.store(epoch, std::memory_order_release);
    for (std::uint32_t r = 0; r < ranks_; ++r)
      if (r != me_) isend_word(r, kTagFlag, epoch);
  }

  void finish() override {
    stop_thread();
    quiesce();
    std::lock_guard guard(cluster_.lock());
    reap(true);
  }

 private:
  // Batches for one process, guarded by the spin lock.
  struct alignas(64) Outgoing : SpinLock {
    std::vector<Event> events;
  };
  struct InFlight {
    MPI_Request request = MPI_REQUEST_NULL;
    std::vector<Event> events;  // kTagBatches
    std::uint64_t word = 0;     // kTagFlag
  };

  MPI_Comm comm() const { return *static_cast<const MPI_Comm*>(cluster_.mpi_comm()); }

  void stop_thread() {
    if (progress_thread_.joinable()) {
      progress_thread_.request_stop();
      progress_thread_.join();
    }
  }

  // Sends, receives and completes what it can without waiting; returns at
  // once if another thread is in MPI.
  void step() {
    std::unique_lock guard(cluster_.lock(), std::try_to_lock);
    if (!guard.owns_lock()) return;
    send_queued();
    poll();
    reap(false);
  }

  // Polls until the messages sent and received, summed over processes,
  // agree. REQUIRES: the MPI lock; every process calls it together.
  void wait_until_delivered() {
    for (;;) {
      poll();
      std::uint64_t counts[2] = {sent_, received_};
      MPI_Request request;
      MPI_Iallreduce(MPI_IN_PLACE, counts, 2, MPI_UINT64_T, MPI_SUM, comm(), &request);
      wait_patiently(request);
      if (counts[0] == counts[1]) return;
    }
  }

  // Sends each non-empty buffer as one message. REQUIRES: the MPI lock.
  void send_queued() {
    for (std::uint32_t r = 0; r < ranks_; ++r) {
      if (r == me_) continue;
      Outgoing& out = outgoing_[r];
      std::vector<Event> fresh;
      if (!spare_.empty()) {
        fresh = std::move(spare_.back());
        spare_.pop_back();
      }
      out.lock();
      if (out.events.empty()) {
        out.unlock();
        if (fresh.capacity() != 0) spare_.push_back(std::move(fresh));
        continue;
      }
      std::swap(fresh, out.events);
      out.unlock();
      in_flight_.push_back(InFlight{});
      InFlight& f = in_flight_.back();
      f.events = std::move(fresh);
      MPI_Isend(f.events.data(), static_cast<int>(f.events.size() * kSlot), MPI_BYTE,
                static_cast<int>(r), kTagBatches, comm(), &f.request);
      ++sent_;
    }
  }

  // REQUIRES: the MPI lock.
  void isend_word(std::uint32_t rank, int tag, std::uint64_t word) {
    in_flight_.push_back(InFlight{});
    InFlight& f = in_flight_.back();
    f.word = word;
    MPI_Isend(&f.word, sizeof f.word, MPI_BYTE, static_cast<int>(rank), tag, comm(), &f.request);
    ++sent_;
  }

  // Frees the completed sends, oldest first (all of them, waiting, if
  // `all`); keeps a few of their buffers for reuse. REQUIRES: the MPI lock.
  void reap(bool all) {
    while (!in_flight_.empty()) {
      InFlight& f = in_flight_.front();
      int done = 0;
      if (all) {
        MPI_Wait(&f.request, MPI_STATUS_IGNORE);
        done = 1;
      } else {
        MPI_Test(&f.request, &done, MPI_STATUS_IGNORE);
      }
      if (!done) break;
      if (f.events.capacity() != 0 && spare_.size() < kMaxSpareBuffers) {
        f.events.clear();
        spare_.push_back(std::move(f.events));
      }
      in_flight_.pop_front();
    }
  }

  // Receives every message that has arrived. REQUIRES: the MPI lock.
  void poll() {
    for (;;) {
      int flag = 0;
      MPI_Status status;
      MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, comm(), &flag, &status);
      if (!flag) return;
      int bytes = 0;
      MPI_Get_count(&status, MPI_BYTE, &bytes);
      ++received_;
      if (status.MPI_TAG == kTagFlag) {
        std::uint64_t epoch = 0;
        MPI_Recv(&epoch, sizeof epoch, MPI_BYTE, status.MPI_SOURCE, kTagFlag, comm(),
                 MPI_STATUS_IGNORE);
        if (epoch > raised_.load(std::memory_order_relaxed))
          raised_.store(epoch, std::memory_order_release);
        if (epoch > epoch_.load(std::memory_order_acquire) && flag_ != nullptr)
          flag_->store(true, std::memory_order_release);
        continue;
      }
      message_.resize(static_cast<std::size_t>(bytes) / kSlot);
      MPI_Recv(message_.data(), bytes, MPI_BYTE, status.MPI_SOURCE, status.MPI_TAG, comm(),
               MPI_STATUS_IGNORE);
      deliver(message_);
    }
  }

  // Pushes the batches of `message` into the inboxes, in order.
  void deliver(std::span<const Event> message) {
    for (std::size_t i = 0; i < message.size();) {
      BatchHeader h;
      std::memcpy(&h, static_cast<const void*>(&message[i]), sizeof h);
      inboxes_.push(h.to - first_, h.from, static_cast<Channel>(h.channel),
                    message.subspan(i + 1, h.count));
      i += 1 + std::size_t{h.count};
    }
  }

  Cluster& cluster_;
  Inboxes& inboxes_;
  const std::uint32_t first_;  // the inboxes' first partition
  const std::uint32_t me_, ranks_;
  std::vector<Outgoing> outgoing_;  // per destination process
  // Guarded by the MPI lock:
  std::deque<InFlight> in_flight_;  // (deque: elements stay put while it grows)
  std::vector<std::vector<Event>> spare_;
  std::vector<Event> send_buffer_, recv_buffer_;  // quiesce_and_allgather()
  std::vector<Event> message_;                    // poll()
  std::vector<int> send_bytes_, send_offsets_, recv_bytes_, recv_offsets_;
  std::uint64_t sent_ = 0, received_ = 0;  // messages, point to point
  std::atomic<bool>* flag_ = nullptr;
  // The reductions finished, and the latest epoch a flag was raised for
  // (by this process or heard from another).
  std::atomic<std::uint64_t> epoch_{0}, raised_{0};
  const bool use_thread_;
  bool threaded_ = false;  // set before the workers start
  std::jthread progress_thread_;
};

}  // namespace

std::unique_ptr<RemotePath> make_mpi_path(Cluster& cluster, Inboxes& inboxes, std::uint32_t first,
                                          bool progress_thread) {
  return std::make_unique<MpiPath>(cluster, inboxes, first, progress_thread);
}

#else

std::unique_ptr<RemotePath> make_mpi_path(Cluster&, Inboxes&, std::uint32_t, bool) {
  throw Error("this dsim was built without MPI (-DDSIM_WITH_MPI=OFF)", Error::Kind::kRuntime);
}

#endif

}  // namespace dsim::detail
