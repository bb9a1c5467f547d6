// MPIPoolExecutor: workers spawned with MPI_Comm_spawn (run under mpirun -n 1
// by tests/mpi/CMakeLists.txt, or as a singleton).
//
// The tests share one executor (MPIPool below), spawned once: Open MPI 4.1.4
// with an external PMIx 4.x -- Debian's pairing -- now and then hangs inside
// MPI_Comm_spawn (a child never gets through PMIx_Init; openpmix/openpmix#2735,
// open-mpi/ompi#9713), about once in 40 spawns under TSan here. What does not
// depend on how the workers were started (a failing initializer, shutdown
// with pending work) is tested on MPICommExecutor (test_comm_executor.cpp),
// which runs the same client and worker code without spawning.
#include <gtest/gtest.h>

#include <memory>
#include <numeric>
#include <set>
#include <unistd.h>
#include <vector>

#include "concur/futures.hpp"
#include "concur/mpi.hpp"
#include "support.hpp"

namespace mpi = concur::mpi;
namespace futures = concur::futures;
using namespace mpitest;

class MPIPool : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        shared_ = std::make_unique<mpi::MPIPoolExecutor>(
            mpi::MPIPoolOptions{.max_workers = 2, .initializer = {set_greeting, "hello"}});
    }
    static void TearDownTestSuite() { shared_.reset(); }
    static inline std::unique_ptr<mpi::MPIPoolExecutor> shared_;
    mpi::MPIPoolExecutor& ex = *shared_;
};

TEST_F(MPIPool, SubmitRunsInASpawnedWorker) {
    EXPECT_EQ(ex.max_workers(), 2);
    auto f = ex.submit(square, 12L);
    EXPECT_EQ(f.result(), 144);
    auto g = ex.submit([](int a, std::string b) { return b + std::to_string(a); }, 7, "x");
    EXPECT_EQ(g.result(), "x7");
    auto pid = ex.submit([] { return static_cast<long>(::getpid()); });
    EXPECT_NE(pid.result(), static_cast<long>(::getpid()));
}

// While one worker is in a long call, a burst of short ones all runs on the
// other: none is queued behind the long call (workers hold a second call
// ahead, but not one that is silent well past the calls' mean time).
TEST_F(MPIPool, ShortCallsDoNotWaitBehindALongOne) {
    auto slow = ex.submit(sleep_then, 1500L);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // running by now
    std::vector<futures::Future<long>> fs;
    for (int i = 0; i < 6; ++i) fs.push_back(ex.submit(sleep_then, 10L));
    for (auto& f : fs) EXPECT_EQ(f.result(), 10);
    EXPECT_FALSE(slow.done());
    EXPECT_EQ(slow.result(), 1500);
}

TEST_F(MPIPool, MapOfTenThousandIsRightAndInOrder) {
    std::vector<long> xs(10000);
    std::iota(xs.begin(), xs.end(), 0L);
    for (std::size_t chunksize : {std::size_t{0}, std::size_t{1}, std::size_t{333}}) {
        std::vector<long> got = ex.map(square, xs, mpi::MapOptions{.chunksize = chunksize}).list();
        ASSERT_EQ(got.size(), xs.size()) << "chunksize " << chunksize;
        for (std::size_t i = 0; i < xs.size(); ++i) ASSERT_EQ(got[i], xs[i] * xs[i]) << "chunksize " << chunksize;
    }
    std::vector<long> ys(5000, 1);
    std::vector<long> sums = ex.map(add, xs, ys).list();  // zips, stops at the shortest
    ASSERT_EQ(sums.size(), 5000u);
    EXPECT_EQ(sums[4999], 5000);
}

TEST_F(MPIPool, UnorderedMapYieldsEveryResult) {
    std::vector<long> xs(1000);
    std::iota(xs.begin(), xs.end(), 0L);
    std::multiset<long> want, got;
    for (long x : xs) want.insert(x * x);
    for (long r : ex.map(square, xs, {.chunksize = 10, .unordered = true})) got.insert(r);
    EXPECT_EQ(got, want);
}

TEST_F(MPIPool, WorkerExceptionsComeBackTyped) {
    auto f = ex.submit(throws_invalid, 3);
    EXPECT_THROW(f.result(), std::invalid_argument);
    EXPECT_EQ(ex.submit(throws_invalid, -1).result(), -1);  // the worker lives on
    try {
        ex.submit(throws_custom, "abc").result();
        FAIL() << "no exception";
    } catch (const concur::RemoteError& e) {
        EXPECT_EQ(e.type_name(), "mpitest::ParseError");
        EXPECT_EQ(e.message(), "cannot parse abc");
    }
    std::vector<int> xs = {-2, -1, 5, -3};
    auto results = ex.map(throws_invalid, xs, mpi::MapOptions{.chunksize = 1});
    auto it = results.begin();
    EXPECT_EQ(*it, -2);
    ++it;
    EXPECT_EQ(*it, -1);
    EXPECT_THROW(++it, std::invalid_argument);
}

TEST_F(MPIPool, InitializerRunsOnEveryWorker) {
    std::vector<futures::Future<std::string>> fs;
    for (int i = 0; i < 20; ++i) fs.push_back(ex.submit(get_greeting));
    for (auto& f : fs) EXPECT_EQ(f.result(), "hello");
}

TEST_F(MPIPool, FuturesWorkWithAsCompletedAndWait) {
    std::vector<futures::Future<long>> fs;
    for (long i = 1; i <= 6; ++i) fs.push_back(ex.submit(sleep_then, i * 5));
    std::set<long> seen;
    for (auto& f : futures::as_completed(fs)) seen.insert(f.result());
    EXPECT_EQ(seen, (std::set<long>{5, 10, 15, 20, 25, 30}));
    auto [done, not_done] = futures::wait(fs);
    EXPECT_EQ(done.size(), 6u);
}

TEST_F(MPIPool, MapTimeoutThrowsTimeoutError) {
    std::vector<long> xs = {1500};  // cannot be done before 1.5 s, however fast the machine
    auto results = ex.map(sleep_then, xs, {.timeout = std::chrono::milliseconds(100), .chunksize = 1});
    EXPECT_THROW(results.begin(), concur::TimeoutError);
}  // the call runs on; the shared executor's shutdown waits for it

TEST_F(MPIPool, DoneCallbacksRunAndMaySubmit) {
    futures::Promise<long> chained;
    auto chained_future = chained.get_future();
    auto f = ex.submit(square, 3L);
    f.add_done_callback([&pool = ex, &chained](futures::Future<long>& done) {
        pool.submit(square, done.result()).add_done_callback([&chained](futures::Future<long>& g) {
            chained.set_result(g.result());
        });
    });
    EXPECT_EQ(chained_future.result(), 81);
}

// A map's results come back whole whatever their type: integers and floating
// point as blocks of bytes that list() or the iterator decodes, other types as
// arrays; list() after iterating has begun returns the rest.
TEST_F(MPIPool, MapResultsOfEveryKindComeBackWhole) {
    std::vector<long> xs(3000);
    std::iota(xs.begin(), xs.end(), -1500L);
    std::vector<long> negated = ex.map(negate, xs, {.chunksize = 100}).list();
    ASSERT_EQ(negated.size(), xs.size());
    for (std::size_t i = 0; i < xs.size(); ++i) ASSERT_EQ(negated[i], -xs[i]);
    std::vector<double> halves = ex.map(half, xs, {.chunksize = 64}).list();
    ASSERT_EQ(halves.size(), xs.size());
    for (std::size_t i = 0; i < xs.size(); ++i) ASSERT_EQ(halves[i], static_cast<double>(xs[i]) / 2);
    std::size_t i = 0;
    for (const std::string& s : ex.map(decimal, xs, {.chunksize = 33})) ASSERT_EQ(s, std::to_string(xs[i++]));
    EXPECT_EQ(i, xs.size());
    auto squares = ex.map(square, xs, {.chunksize = 7});
    auto it = squares.begin();
    EXPECT_EQ(*it, xs[0] * xs[0]);
    ++it;
    EXPECT_EQ(*it, xs[1] * xs[1]);
    std::vector<long> rest = squares.list();
    ASSERT_EQ(rest.size(), xs.size() - 2);
    for (std::size_t k = 0; k < rest.size(); ++k) ASSERT_EQ(rest[k], xs[k + 2] * xs[k + 2]);
}

// Open MPI yields the CPU in every idle progress call once ranks outnumber
// cores; a spawned worker polls with its own sleeps, so it is spawned with
// that off unless the user set it (src/mpi/executors.cpp, spawn_info).
TEST_F(MPIPool, SpawnedWorkersDoNotYieldInsideMPI) {
    if (std::getenv("OMPI_MCA_mpi_yield_when_idle")) GTEST_SKIP() << "set by the caller, and left as it is";
    char version[MPI_MAX_LIBRARY_VERSION_STRING];
    int length = 0;
    MPI_Get_library_version(version, &length);
    std::string v(version, static_cast<std::size_t>(length));
    if (v.rfind("Open MPI v4", 0) != 0) GTEST_SKIP() << "not Open MPI 4: " << v.substr(0, 40);
    EXPECT_EQ(ex.submit(env_of, std::string("OMPI_MCA_mpi_yield_when_idle")).result(), "0");
    EXPECT_EQ(env_of("OMPI_MCA_mpi_yield_when_idle"), "<unset>");  // the client's own MPI is untouched
}

TEST(MPIPoolExecutor, BadArgumentsAreTypedErrors) {
    EXPECT_THROW(mpi::MPIPoolExecutor({.max_workers = 0}), concur::ValueError);
    // Info keys MPI_Info_set would refuse (aborting the job through
    // MPI_COMM_WORLD's handler): refused before anything is spawned.
    EXPECT_THROW(mpi::MPIPoolExecutor({.max_workers = 1, .info = {{"host", ""}}}), concur::ValueError);
    EXPECT_THROW(mpi::MPIPoolExecutor({.max_workers = 1, .info = {{"env", std::string(MPI_MAX_INFO_VAL + 1, 'x')}}}),
                 concur::ValueError);
    EXPECT_THROW(mpi::MPIPoolExecutor({.max_workers = 1, .info = {{"", "x"}}}), concur::ValueError);
}

// Last of its suite (GoogleTest runs a suite's tests in the order they are
// defined): shuts the shared executor down with work pending.
TEST_F(MPIPool, ShutdownWithPendingWorkCompletesOrCancelsEveryFuture) {
    expect_shutdown_completes_or_cancels(ex);
}
