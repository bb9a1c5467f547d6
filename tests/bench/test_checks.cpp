// The result checks: every method's checksum is compared with the
// sequential one, so a fast wrong answer is flagged rather than timed; the
// race rows count exactly (lock, atomic) or show lost updates (unprotected).
#include <gtest/gtest.h>

#include "cpu_experiment.hpp"
#include "race_experiment.hpp"
#include "workload.hpp"

using namespace concur_bench;

namespace {
Row row(const std::string& method, uint64_t checksum) {
    Row r;
    r.method = method;
    r.wall_s = {1.0};
    r.checksum = checksum;
    r.python_peer = method;
    return r;
}
PythonRow python_row(const std::string& method, uint64_t checksum) {
    PythonRow p;
    p.method = method;
    p.wall_s = {2.0};
    p.checksum = checksum;
    return p;
}
}  // namespace

TEST(BenchChecks, EqualChecksumsAreOkADifferentOneIsWrong) {
    Result r;
    r.rows = {row("sequential", 7), row("threads", 7), row("processes", 8)};
    EXPECT_FALSE(r.check_rows());
    EXPECT_EQ(r.rows[0].check, Check::ok);
    EXPECT_EQ(r.rows[1].check, Check::ok);
    EXPECT_EQ(r.rows[2].check, Check::wrong);
    EXPECT_FALSE(r.all_ok());
}

TEST(BenchChecks, ARowWhoseRepetitionsDisagreeIsWrong) {
    Result r;
    r.rows = {row("sequential", 7), row("threads", 7)};
    r.rows[1].consistent = false;
    EXPECT_FALSE(r.check_rows());
    EXPECT_EQ(r.rows[1].check, Check::wrong);
}

TEST(BenchChecks, TheUnprotectedRaceRowShowsLostUpdatesNotAnError) {
    Result r;
    r.rows = {row("sequential", 500000), row("unprotected", 499000), row("lock", 500000)};
    r.rows[1].expect_mismatch = true;
    EXPECT_TRUE(r.check_rows());
    EXPECT_EQ(r.rows[1].check, Check::lost_updates);
    EXPECT_EQ(r.rows[2].check, Check::ok);
}

TEST(BenchChecks, PythonRowsAreCheckedAgainstTheCppBaseline) {
    Result r;
    r.rows = {row("sequential", 7), row("threads", 7)};
    r.python.push_back(python_row("sequential", 7));
    r.python.push_back(python_row("threads", 9));
    EXPECT_FALSE(r.check_rows());
    EXPECT_EQ(r.python[0].check, Check::ok);
    EXPECT_EQ(r.python[1].check, Check::wrong);
}

TEST(BenchChecks, CpuWorkloadWrapsLikePythonModulo2To64) {
    // sum(i*i for i in range(10)) == 285; and a size that overflows 64 bits
    // must still agree between methods (the Python side reports % 2**64).
    EXPECT_EQ(cpu_bound(10), 285u);
    EXPECT_EQ(cpu_bound(0), 0u);
    auto numbers = numbers_from(3000, 8);
    EXPECT_EQ(cpu_thread_pool(numbers, 3), cpu_sequential(numbers));
}

TEST(BenchChecks, FibIsTheSeedsOneIndexedFib) {
    EXPECT_EQ(fib(1), 0u);
    EXPECT_EQ(fib(2), 1u);
    EXPECT_EQ(fib(3), 1u);
    EXPECT_EQ(fib(10), 34u);
    EXPECT_EQ(fib(25), 46368u);
}

TEST(BenchChecks, LockAndAtomicCountEveryUpdate) {
    RaceSize size{.calls = 64, .increments = 100};
    EXPECT_EQ(race_lock(size), 6400u);
    EXPECT_EQ(race_atomic(size), 6400u);
    // Unprotected may lose updates (never gain any): at most the full count.
    EXPECT_LE(race_unprotected(size), 6400u);
}
