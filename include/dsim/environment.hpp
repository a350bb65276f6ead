// The environment a run is handed (DESIGN.md inv. 9): which processes it
// spans, and the facts of the machine it runs on. The library reads no
// process-wide state of its own: a host (the dsim program, Python, a test)
// says what there is.
//
//   // One process (the default):
//   dsim::Simulation sim(spec, registry);
//
//   // Under mpirun, in a program that owns the process:
//   dsim::MpiSession mpi;  // MPI_Init when launched by mpirun, MPI_Finalize at exit
//   dsim::Environment env;
//   env.communicator = mpi.world();
//   dsim::Simulation sim(spec, registry, env);
//
//   // A host that initialised MPI itself (e.g. mpi4py, C code with its own
//   // communicators): hand over the address of an MPI_Comm.
//   env.communicator = dsim::Communicator::from_mpi(&my_comm);
#pragma once

#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <string_view>

#include "dsim/export.hpp"
#include "dsim/types.hpp"

namespace dsim {

namespace detail {
class Cluster;
}

// An error every process of a run agreed on (Communicator::agree): every
// process throws it, so one (rank 0) reports it.
class DSIM_API AgreedError : public Error {
 public:
  using Error::Error;
};

// The processes of a run. Each Simulation works on a duplicate of it, so
// runs on one Communicator never mix their messages with each other's or the
// host's; two Simulations may run at the same time on different
// communicators (with MPI_THREAD_MULTIPLE; below it, dsim serialises its MPI
// calls process-wide, and concurrent runs under MPI can deadlock).
//
// Thread safety: agree() and abort() are collectives / process-wide; call
// them from one thread, in the same order on every process.
class DSIM_API Communicator {
 public:
  // One process: every collective is the identity.
  static std::shared_ptr<Communicator> local();
  // The processes of `*mpi_comm` (the address of an MPI_Comm the host made;
  // it is duplicated here, a collective). REQUIRES: MPI initialised by the
  // host at MPI_THREAD_SERIALIZED or above. Throws Error in a build without
  // MPI, or when MPI is not initialised.
  static std::shared_ptr<Communicator> from_mpi(const void* mpi_comm);
  ~Communicator();
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  std::uint32_t rank() const;
  std::uint32_t size() const;
  bool distributed() const { return size() > 1; }
  // Processes of this communicator on this machine.
  std::uint32_t local_size() const;

  // Every process's exception (or none), agreed: when any process failed,
  // every one throws the same AgreedError (prefixed "rank R: " unless every
  // process failed alike); returns when none did. One process: rethrows.
  void agree(std::exception_ptr error);
  // For an error this process alone met: prints "dsim: rank R: <message>"
  // (one line; "dsim: <message>" in one process) to stderr and ends every
  // process of the run with `code`.
  [[noreturn]] void abort(int code, std::string_view message);

  // The implementation, for the library itself.
  detail::Cluster& cluster() const { return *cluster_; }

 private:
  explicit Communicator(std::unique_ptr<detail::Cluster> cluster);
  std::unique_ptr<detail::Cluster> cluster_;
};

// MPI for a program that owns its process: initialises MPI (asking for
// MPI_THREAD_MULTIPLE) when a launcher (mpirun) started the process and dsim
// was built with MPI, and finalises it when destroyed. Make one, first thing
// in main(), and no more; a library host whose process is owned by someone
// else (Python with mpi4py) makes none and uses Communicator::from_mpi.
class DSIM_API MpiSession {
 public:
  MpiSession();
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
  // MPI_COMM_WORLD when MPI was initialised here, else one process.
  std::shared_ptr<Communicator> world() const { return world_; }

 private:
  struct Process;
  std::unique_ptr<Process> process_;
  std::shared_ptr<Communicator> world_;
};

// The machine a process runs on, as far as planning a run cares.
struct Machine {
  std::uint32_t cores = 1;            // cores this process may use
  std::uint64_t memory_bytes = 0;     // memory this process may use
  // This machine's cores and memory (the cgroup's limit when lower), shared
  // out evenly among `processes` processes of one run on it.
  DSIM_API static Machine detect(std::uint32_t processes = 1);
};

// Whether this build can run across processes (built with MPI).
DSIM_API bool built_with_mpi();

struct Environment {
  // The processes of the run; null: one process.
  std::shared_ptr<Communicator> communicator;
  // Facts of the machine; cores == 0: detected (Machine::detect, shared
  // among the communicator's processes on this machine).
  Machine machine{0, 0};
  // How MPI messages of optimistic runs progress: "worker" (workers poll
  // between event batches; the default) or "thread" (a communication thread).
  // The dsim program takes it from DSIM_MPI_PROGRESS.
  std::string mpi_progress = "worker";
};

}  // namespace dsim
