// Cluster outside mpirun: one process, every collective the identity, and
// agree() hands back the process's own error unchanged. (Under mpirun the
// collectives are tested by tests/scripts/mpi_*.sh.)
#include <gtest/gtest.h>

#include <cstddef>
#include <stdexcept>
#include <vector>

#include "transport/cluster.hpp"

namespace dsim::detail {
namespace {

TEST(ClusterAlone, IsOneProcess) {
  Cluster c;
  EXPECT_EQ(c.rank(), 0u);
  EXPECT_EQ(c.size(), 1u);
  EXPECT_FALSE(c.distributed());
  EXPECT_EQ(c.local_size(), 1u);
  EXPECT_NE(c.describe().find("rank 0 of 1"), std::string::npos);
}

TEST(ClusterAlone, CollectivesAreTheIdentity) {
  Cluster c;
  const std::vector<std::uint64_t> v{1, 2, 3};
  EXPECT_EQ(c.sum(v), v);
  EXPECT_EQ(c.gather(v), v);
  EXPECT_TRUE(c.gather(std::vector<std::uint64_t>{}).empty());
  const std::vector<std::byte> bytes{std::byte{7}, std::byte{9}};
  const auto all = c.allgather(bytes);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0], bytes);
  const auto back = c.alltoall({bytes});
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0], bytes);
}

TEST(ClusterAlone, AgreeRethrowsTheOwnErrorUnchanged) {
  Cluster c;
  EXPECT_NO_THROW(c.agree(nullptr));
  try {
    c.agree(std::make_exception_ptr(Error("bad key", Error::Kind::kInput)));
    FAIL() << "agree() returned";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "bad key");
    EXPECT_EQ(e.kind(), Error::Kind::kInput);
  }
  EXPECT_THROW(c.agree(std::make_exception_ptr(std::runtime_error("x"))), std::runtime_error);
}

}  // namespace
}  // namespace dsim::detail

namespace dsim {
namespace {

TEST(Environment, LocalCommunicatorIsOneProcess) {
  auto c = Communicator::local();
  EXPECT_EQ(c->rank(), 0u);
  EXPECT_EQ(c->size(), 1u);
  EXPECT_FALSE(c->distributed());
  EXPECT_NO_THROW(c->agree(nullptr));
  EXPECT_THROW(c->agree(std::make_exception_ptr(Error("x"))), Error);
}

// Outside mpirun nothing initialised MPI: handing dsim a communicator is a
// clear error, not a crash (in a build without MPI, a clear error too).
TEST(Environment, CommunicatorWithoutMpiIsAnError) {
  const int fake = 0;
  try {
    Communicator::from_mpi(&fake);
    FAIL() << "from_mpi() returned";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("MPI"), std::string::npos) << e.what();
  }
}

TEST(Environment, MachineIsDetectedAndShared) {
  const Machine one = Machine::detect();
  EXPECT_GE(one.cores, 1u);
  EXPECT_GT(one.memory_bytes, 0u);
  const Machine half = Machine::detect(2);
  EXPECT_EQ(half.memory_bytes, one.memory_bytes / 2);
  EXPECT_GE(half.cores, 1u);
}

}  // namespace
}  // namespace dsim
