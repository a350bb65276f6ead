#include "transport/cluster.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <stdexcept>
#include <thread>

#include "dsim/types.hpp"

#ifdef DSIM_WITH_MPI
#include <mpi.h>

#include "transport/mpi_wait.hpp"
#endif

namespace dsim::detail {
namespace {

#ifndef DSIM_WITH_MPI
std::uint32_t env_number(const char* name, std::uint32_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  char* end = nullptr;
  const unsigned long n = std::strtoul(v, &end, 10);
  return end != v && n > 0 ? static_cast<std::uint32_t>(n) : fallback;
}
#endif

// Whether a launcher (mpirun, or a PMI-speaking one) started this process.
bool launched_by_mpirun() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "PMI_RANK"})
    if (std::getenv(name) != nullptr) return true;
  return false;
}

// A failure as (kind, message), the way the dsim program prints it.
std::pair<Error::Kind, std::string> failure_text(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const Error& e) {
    return {e.kind(), e.what()};
  } catch (const std::bad_alloc&) {
    return {Error::Kind::kRuntime, "out of memory"};
  } catch (const std::exception& e) {
    return {Error::Kind::kRuntime, fmt::format("internal error: {}", e.what())};
  } catch (...) {
    return {Error::Kind::kRuntime, "internal error: unknown exception"};
  }
}

// What one rank says in agree(): whether it failed, the failure's key, kind
// and message.
struct Verdict {
  std::uint8_t failed = 0;
  std::uint8_t kind = 0;
  Event key{};
};

}  // namespace


#ifdef DSIM_WITH_MPI
struct Cluster::Mpi {
  MPI_Comm comm = MPI_COMM_NULL;
  bool multiple = false;  // MPI_THREAD_MULTIPLE: this Cluster's own lock will do
};

namespace {
// Below MPI_THREAD_MULTIPLE, every Cluster of the process shares one lock:
// MPI then allows one call at a time in the whole process.
std::mutex& process_mpi_lock() {
  static std::mutex lock;
  return lock;
}
}  // namespace
#else
struct Cluster::Mpi {};
#endif

Cluster::Cluster() = default;

Cluster::Cluster(const void* mpi_comm) {
#ifdef DSIM_WITH_MPI
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (!initialized || finalized)
    throw Error("an MPI communicator was handed to dsim, but MPI is not initialised (the host "
                "program initialises it, e.g. with mpi4py or MPI_Init_thread)",
                Error::Kind::kRuntime);
  int level = MPI_THREAD_SINGLE;
  MPI_Query_thread(&level);
  if (level < MPI_THREAD_SERIALIZED)
    throw Error(fmt::format("MPI was initialised at thread level {}; dsim needs "
                            "MPI_THREAD_SERIALIZED or MPI_THREAD_MULTIPLE (threads within a rank)",
                            level),
                Error::Kind::kRuntime);
  auto mpi = std::make_unique<Mpi>();
  mpi->multiple = level >= MPI_THREAD_MULTIPLE;
  {
    std::lock_guard guard(level < MPI_THREAD_MULTIPLE ? process_mpi_lock() : mutex_);
    MPI_Comm_dup(*static_cast<const MPI_Comm*>(mpi_comm), &mpi->comm);
    int rank = 0, size = 1;
    MPI_Comm_rank(mpi->comm, &rank);
    MPI_Comm_size(mpi->comm, &size);
    rank_ = static_cast<std::uint32_t>(rank);
    size_ = static_cast<std::uint32_t>(size);
    MPI_Comm local;
    MPI_Comm_split_type(mpi->comm, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &local);
    int local_size = 1;
    MPI_Comm_size(local, &local_size);
    MPI_Comm_free(&local);
    local_size_ = static_cast<std::uint32_t>(local_size);
  }
  mpi_ = std::move(mpi);
#else
  static_cast<void>(mpi_comm);
  throw Error("an MPI communicator was handed to dsim, but this dsim was built without MPI "
              "(-DDSIM_WITH_MPI=OFF)",
              Error::Kind::kRuntime);
#endif
}

Cluster::~Cluster() {
#ifdef DSIM_WITH_MPI
  if (mpi_) {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) {
      std::lock_guard guard(lock());
      MPI_Comm_free(&mpi_->comm);
    }
  }
#endif
}

std::unique_ptr<Cluster> Cluster::duplicate() const {
  if (!mpi_) return std::make_unique<Cluster>();
  return std::make_unique<Cluster>(mpi_comm());
}

const void* Cluster::mpi_comm() const {
#ifdef DSIM_WITH_MPI
  if (mpi_) return &mpi_->comm;
#endif
  return nullptr;
}

bool Cluster::concurrent() const {
#ifdef DSIM_WITH_MPI
  if (mpi_ && !mpi_->multiple) return false;
#endif
  return true;
}

std::mutex& Cluster::lock() {
#ifdef DSIM_WITH_MPI
  if (mpi_ && !mpi_->multiple) return process_mpi_lock();
#endif
  return mutex_;
}

std::string Cluster::describe() const {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return fmt::format("rank {} of {} on {}", rank_, size_, host);
}

std::vector<std::vector<std::byte>> Cluster::allgather(std::span<const std::byte> mine) {
#ifdef DSIM_WITH_MPI
  if (!mpi_) return {std::vector<std::byte>(mine.begin(), mine.end())};
  std::lock_guard guard(lock());
  const int n = static_cast<int>(size_);
  int my_size = static_cast<int>(mine.size());
  std::vector<int> sizes(n), offsets(n);
  MPI_Request request;
  MPI_Iallgather(&my_size, 1, MPI_INT, sizes.data(), 1, MPI_INT, mpi_->comm, &request);
  wait_patiently(request);
  std::size_t total = 0;
  for (int r = 0; r < n; ++r) {
    offsets[r] = static_cast<int>(total);
    total += static_cast<std::size_t>(sizes[r]);
  }
  std::vector<std::byte> all(total);
  MPI_Iallgatherv(mine.data(), my_size, MPI_BYTE, all.data(), sizes.data(), offsets.data(),
                  MPI_BYTE, mpi_->comm, &request);
  wait_patiently(request);
  std::vector<std::vector<std::byte>> out(n);
  for (int r = 0; r < n; ++r)
    out[r].assign(all.begin() + offsets[r], all.begin() + offsets[r] + sizes[r]);
  return out;
#else
  return {std::vector<std::byte>(mine.begin(), mine.end())};
#endif
}

std::vector<std::vector<std::byte>> Cluster::alltoall(
    const std::vector<std::vector<std::byte>>& out) {
#ifdef DSIM_WITH_MPI
  if (!mpi_) return out;
  std::lock_guard guard(lock());
  const int n = static_cast<int>(size_);
  std::vector<int> send_sizes(n), send_off(n), recv_sizes(n), recv_off(n);
  std::vector<std::byte> send;
  for (int r = 0; r < n; ++r) {
    send.insert(send.end(), out[r].begin(), out[r].end());
    // MPI counts are ints. The other ranks are already waiting in this
    // collective (called where nothing may throw): end the job.
    if (send.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
      abort(1,
            "more than 2 GiB of events to send in one exchange; use more processes or a "
            "smaller lookahead");
    send_sizes[r] = static_cast<int>(out[r].size());
    send_off[r] = static_cast<int>(send.size() - out[r].size());
  }
  MPI_Request request;
  MPI_Ialltoall(send_sizes.data(), 1, MPI_INT, recv_sizes.data(), 1, MPI_INT, mpi_->comm,
                &request);
  wait_patiently(request);
  std::size_t total = 0;
  for (int r = 0; r < n; ++r) {
    recv_off[r] = static_cast<int>(total);
    total += static_cast<std::size_t>(recv_sizes[r]);
  }
  std::vector<std::byte> recv(total);
  MPI_Ialltoallv(send.data(), send_sizes.data(), send_off.data(), MPI_BYTE, recv.data(),
                 recv_sizes.data(), recv_off.data(), MPI_BYTE, mpi_->comm, &request);
  wait_patiently(request);
  std::vector<std::vector<std::byte>> in(n);
  for (int r = 0; r < n; ++r)
    in[r].assign(recv.begin() + recv_off[r], recv.begin() + recv_off[r] + recv_sizes[r]);
  return in;
#else
  return out;
#endif
}

#ifdef DSIM_WITH_MPI
struct Cluster::Outgoing::Request {
  MPI_Request request = MPI_REQUEST_NULL;
};
#else
struct Cluster::Outgoing::Request {};
#endif

Cluster::Outgoing::Outgoing(Cluster& cluster, std::vector<std::byte> bytes)
    : cluster_(cluster), bytes_(std::move(bytes)), request_(std::make_unique<Request>()) {}

Cluster::Outgoing::~Outgoing() { wait(); }

bool Cluster::Outgoing::done() {
#ifdef DSIM_WITH_MPI
  if (done_) return true;
  int flag = 0;
  {
    std::lock_guard guard(cluster_.lock());
    MPI_Test(&request_->request, &flag, MPI_STATUS_IGNORE);
  }
  done_ = flag != 0;
#else
  done_ = true;
#endif
  return done_;
}

void Cluster::Outgoing::wait() {
  // Polled as send() polls: the lock is taken only for each test.
  for (auto nap = std::chrono::microseconds(5); !done();) {
    std::this_thread::sleep_for(nap);
    nap = std::min(nap * 2, std::chrono::microseconds(50));
  }
}

std::unique_ptr<Cluster::Outgoing> Cluster::start_send(std::uint32_t rank, int tag,
                                                       std::vector<std::byte> bytes) {
#ifdef DSIM_WITH_MPI
  if (!mpi_) throw std::logic_error("Cluster::start_send in one process");
  if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
    throw Error("a message of more than 2 GiB", Error::Kind::kRuntime);
  std::unique_ptr<Outgoing> out(new Outgoing(*this, std::move(bytes)));
  std::lock_guard guard(lock());
  MPI_Isend(out->bytes_.data(), static_cast<int>(out->bytes_.size()), MPI_BYTE,
            static_cast<int>(rank), tag, mpi_->comm, &out->request_->request);
  return out;
#else
  (void)rank;
  (void)tag;
  (void)bytes;
  throw std::logic_error("Cluster::start_send in one process");
#endif
}

bool Cluster::try_receive(int tag, std::uint32_t& from, std::vector<std::byte>& bytes) {
#ifdef DSIM_WITH_MPI
  if (!mpi_) return false;
  std::lock_guard guard(lock());
  int flag = 0;
  MPI_Status status;
  MPI_Iprobe(MPI_ANY_SOURCE, tag, mpi_->comm, &flag, &status);
  if (!flag) return false;
  int count = 0;
  MPI_Get_count(&status, MPI_BYTE, &count);
  bytes.resize(static_cast<std::size_t>(count));
  MPI_Recv(bytes.data(), count, MPI_BYTE, status.MPI_SOURCE, tag, mpi_->comm, MPI_STATUS_IGNORE);
  from = static_cast<std::uint32_t>(status.MPI_SOURCE);
  return true;
#else
  (void)tag;
  (void)from;
  (void)bytes;
  return false;
#endif
}

std::vector<std::uint64_t> Cluster::sum(std::vector<std::uint64_t> values) {
#ifdef DSIM_WITH_MPI
  if (mpi_) {
    std::lock_guard guard(lock());
    MPI_Request request;
    MPI_Iallreduce(MPI_IN_PLACE, values.data(), static_cast<int>(values.size()), MPI_UINT64_T,
                   MPI_SUM, mpi_->comm, &request);
    wait_patiently(request);
  }
#endif
  return values;
}

void Cluster::agree(std::exception_ptr error, const Event& key) {
  if (!distributed()) {
    if (error) std::rethrow_exception(error);
    return;
  }
  Verdict v;
  std::string message;
  if (error) {
    auto [kind, text] = failure_text(error);
    v.failed = 1;
    v.kind = kind == Error::Kind::kInput ? 0 : 1;
    v.key = key;
    message = std::move(text);
  }
  std::vector<std::byte> mine(sizeof v + message.size());
  std::memcpy(mine.data(), &v, sizeof v);
  std::memcpy(mine.data() + sizeof v, message.data(), message.size());
  const auto all = allgather(mine);

  int winner = -1;
  Verdict best;
  std::string best_message;
  bool all_same = true;  // every rank failed, with one message
  for (std::size_t r = 0; r < all.size(); ++r) {
    Verdict w;
    std::memcpy(&w, all[r].data(), sizeof w);
    std::string text(reinterpret_cast<const char*>(all[r].data()) + sizeof w,
                     all[r].size() - sizeof w);
    if (!w.failed) {
      all_same = false;
      continue;
    }
    if (winner >= 0 && text != best_message) all_same = false;
    if (winner < 0 || key_less(w.key, best.key)) {
      winner = static_cast<int>(r);
      best = w;
      best_message = std::move(text);
    }
  }
  if (winner < 0) return;
  const Error::Kind kind = best.kind == 0 ? Error::Kind::kInput : Error::Kind::kRuntime;
  if (all_same) throw AgreedError(best_message, kind);
  throw AgreedError(fmt::format("rank {}: {}", winner, best_message), kind);
}

void Cluster::abort(int code, std::string_view message) {
  std::fflush(stdout);
  const std::string line = distributed() ? fmt::format("dsim: rank {}: {}\n", rank_, message)
                                         : fmt::format("dsim: {}\n", message);
  std::fputs(line.c_str(), stderr);
  std::fflush(stderr);
#ifdef DSIM_WITH_MPI
  if (mpi_) MPI_Abort(mpi_->comm, code);
#endif
  std::exit(code);
}

}  // namespace dsim::detail

// --- The public face: Communicator and MpiSession -------------------------

namespace dsim {

bool built_with_mpi() {
#ifdef DSIM_WITH_MPI
  return true;
#else
  return false;
#endif
}

Communicator::Communicator(std::unique_ptr<detail::Cluster> cluster)
    : cluster_(std::move(cluster)) {}
Communicator::~Communicator() = default;

std::shared_ptr<Communicator> Communicator::local() {
  return std::shared_ptr<Communicator>(new Communicator(std::make_unique<detail::Cluster>()));
}

std::shared_ptr<Communicator> Communicator::from_mpi(const void* mpi_comm) {
  return std::shared_ptr<Communicator>(
      new Communicator(std::make_unique<detail::Cluster>(mpi_comm)));
}

std::uint32_t Communicator::rank() const { return cluster_->rank(); }
std::uint32_t Communicator::size() const { return cluster_->size(); }
std::uint32_t Communicator::local_size() const { return cluster_->local_size(); }
void Communicator::agree(std::exception_ptr error) { cluster_->agree(std::move(error)); }
void Communicator::abort(int code, std::string_view message) { cluster_->abort(code, message); }

struct MpiSession::Process {
  bool initialized = false;
};

MpiSession::MpiSession() : process_(std::make_unique<Process>()) {
#ifdef DSIM_WITH_MPI
  if (detail::launched_by_mpirun()) {
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided);
    process_->initialized = true;
    if (provided < MPI_THREAD_SERIALIZED) {
      std::fprintf(stderr,
                   "dsim: this MPI library does not support MPI_THREAD_SERIALIZED (it offers "
                   "level %d); dsim needs it for threads within a rank\n",
                   provided);
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
    MPI_Comm world = MPI_COMM_WORLD;
    world_ = Communicator::from_mpi(&world);
    return;
  }
#else
  // Started by mpirun but built without MPI: every process would run the
  // whole model alone and write the same results. Say so once per process.
  if (detail::launched_by_mpirun() && detail::env_number("OMPI_COMM_WORLD_SIZE", 1) > 1)
    std::fprintf(stderr,
                 "dsim: warning: started by mpirun, but this dsim was built without MPI "
                 "(-DDSIM_WITH_MPI=OFF); each process runs the whole model alone\n");
#endif
  world_ = Communicator::local();
}

MpiSession::~MpiSession() {
  world_.reset();  // frees its communicator while MPI is still up
#ifdef DSIM_WITH_MPI
  if (process_->initialized) {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
  }
#endif
}

}  // namespace dsim
