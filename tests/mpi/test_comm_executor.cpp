// MPICommExecutor: run by tests/mpi/CMakeLists.txt as `mpirun -n 3`. Every
// rank runs every test; in each, the executor's constructor is where ranks 1
// and 2 serve (and return false), so only rank 0 goes on into the body.
#include <gtest/gtest.h>

#include <numeric>
#include <set>
#include <vector>

#include "concur/futures.hpp"
#include "concur/mpi.hpp"
#include "support.hpp"

namespace mpi = concur::mpi;
namespace futures = concur::futures;
using namespace mpitest;

TEST(MPICommExecutor, RootIsTheClientAndTheOtherRanksServe) {
    ASSERT_EQ(mpi::world_size(), 3) << "run under mpirun -n 3";
    mpi::MPICommExecutor ex(MPI_COMM_WORLD, 0);
    if (!ex) {
        EXPECT_NE(mpi::world_rank(), 0);
        EXPECT_THROW(ex.submit(square, 1L), concur::RuntimeError);
        return;
    }
    EXPECT_EQ(mpi::world_rank(), 0);
    EXPECT_EQ(ex.max_workers(), 2);
    std::vector<futures::Future<int>> fs;
    for (int i = 0; i < 50; ++i) fs.push_back(ex.submit(rank_of_worker));
    std::set<int> ranks;
    for (auto& f : fs) ranks.insert(f.result());
    EXPECT_FALSE(ranks.count(0));
    EXPECT_TRUE(ranks.count(1) || ranks.count(2));
    EXPECT_EQ(ex.submit(add, 2L, 3L).result(), 5);
}

TEST(MPICommExecutor, AnotherRootWorksToo) {
    mpi::MPICommExecutor ex(MPI_COMM_WORLD, 2);
    if (!ex) return;
    EXPECT_EQ(mpi::world_rank(), 2);
    std::set<int> ranks;
    for (int i = 0; i < 20; ++i) ranks.insert(ex.submit(rank_of_worker).result());
    EXPECT_FALSE(ranks.count(2));
}

TEST(MPICommExecutor, MapOfTenThousandIsRightAndInOrder) {
    mpi::MPICommExecutor ex;
    if (!ex) return;
    std::vector<long> xs(10000);
    std::iota(xs.begin(), xs.end(), 0L);
    for (std::size_t chunksize : {std::size_t{0}, std::size_t{1}, std::size_t{1000}}) {
        std::vector<long> got = ex.map(square, xs, mpi::MapOptions{.chunksize = chunksize}).list();
        ASSERT_EQ(got.size(), xs.size());
        for (std::size_t i = 0; i < xs.size(); ++i) ASSERT_EQ(got[i], xs[i] * xs[i]) << "chunksize " << chunksize;
    }
}

TEST(MPICommExecutor, WorkerExceptionsComeBackTyped) {
    mpi::MPICommExecutor ex;
    if (!ex) return;
    EXPECT_THROW(ex.submit(throws_invalid, 1).result(), std::invalid_argument);
    try {
        ex.submit(throws_custom, "xyz").result();
        FAIL() << "no exception";
    } catch (const concur::RemoteError& e) {
        EXPECT_EQ(e.type_name(), "mpitest::ParseError");
        EXPECT_EQ(e.message(), "cannot parse xyz");
    }
    EXPECT_EQ(ex.submit(add, 1L, 1L).result(), 2);
}

TEST(MPICommExecutor, InitializerRunsOnEveryWorker) {
    mpi::MPICommExecutor ex(MPI_COMM_WORLD, 0, {.initializer = {set_greeting, "hi"}});
    if (!ex) return;
    for (int i = 0; i < 10; ++i) EXPECT_EQ(ex.submit(get_greeting).result(), "hi");
}

TEST(MPICommExecutor, FailingInitializerBreaksTheExecutor) {
    mpi::MPICommExecutor ex(MPI_COMM_WORLD, 0, {.initializer = failing_initializer});
    if (!ex) return;
    std::vector<futures::Future<long>> fs;
    try {
        for (int i = 0; i < 10; ++i) fs.push_back(ex.submit(square, 2L));
    } catch (const mpi::BrokenMPIExecutor&) {
    }
    for (auto& f : fs) {
        try {
            f.result();
            FAIL() << "a call ran after its worker's initializer failed";
        } catch (const futures::BrokenExecutor& e) {
            EXPECT_NE(std::string(e.what()).find("no database here"), std::string::npos) << e.what();
        }
    }
    EXPECT_THROW(ex.submit(square, 2L), mpi::BrokenMPIExecutor);
}

TEST(MPICommExecutor, ShutdownCancelsPendingAndCompletesRunning) {
    mpi::MPICommExecutor ex;
    if (!ex) return;
    expect_shutdown_completes_or_cancels(ex);
}

TEST(MPICommExecutor, ShutdownWithoutWaitStillCompletesEverything) {
    std::vector<futures::Future<long>> fs;
    {
        mpi::MPICommExecutor ex;
        if (!ex) return;
        for (long i = 0; i < 200; ++i) fs.push_back(ex.submit(square, i));
        ex.shutdown(false);
        EXPECT_THROW(ex.submit(square, 1L), concur::RuntimeError);
    }  // the destructor waits
    for (long i = 0; i < 200; ++i) EXPECT_EQ(fs[static_cast<std::size_t>(i)].result(), i * i);
}

TEST(MPICommExecutor, BadRootIsAValueErrorOnEveryRank) {
    EXPECT_THROW(mpi::MPICommExecutor(MPI_COMM_WORLD, 7), concur::ValueError);
    EXPECT_THROW(mpi::MPICommExecutor(MPI_COMM_SELF, 0), concur::ValueError);  // one rank: no worker
}
