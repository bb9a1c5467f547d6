// Soak: a million calls through workers that are replaced every 100 tasks,
// with nothing lost or duplicated (the soak test), and a storm of
// pools started and torn down while work runs.
#include <gtest/gtest.h>

#include <numeric>

#include "concur/futures/process.hpp"
#include "concur/multiprocessing.hpp"
#include "support.hpp"

namespace mp = concur::multiprocessing;
namespace futures = concur::futures;
using namespace std::chrono_literals;

namespace {
long long twice(long long x) { return 2 * x; }
}  // namespace

TEST(ProcessPoolSoak, AMillionTasksThroughShortLivedWorkersLoseNothing) {
    // chunksize 100: a chunk is one task, so each worker runs 100 chunks
    // (10,000 calls) before it is replaced -- 100 replacements in all.
    futures::ProcessPoolExecutor ex({.max_workers = 2, .mp_context = mp::get_context("forkserver"),
                                     .max_tasks_per_child = 100});
    const long long n = 1'000'000;
    std::vector<long long> xs(n);
    std::iota(xs.begin(), xs.end(), 0LL);
    long long i = 0;
    for (long long v : ex.map(twice, xs, futures::ProcessMapOptions{.chunksize = 100})) {
        ASSERT_EQ(v, 2 * i) << "at " << i;
        ++i;
    }
    EXPECT_EQ(i, n);
}

TEST(ProcessPoolSoak, ManySubmitsThroughReplacedWorkers) {
    // fork where the allocator is fork-safe (see pool_start_methods).
    const std::string method = mptest::pool_start_methods().front() == "fork" ? "fork" : "forkserver";
    futures::ProcessPoolExecutor ex({.max_workers = 2, .mp_context = mp::get_context(method),
                                     .max_tasks_per_child = 100});
    std::vector<futures::Future<long long>> fs;
    for (long long k = 0; k < 20000; ++k) fs.push_back(ex.submit(twice, k));
    for (long long k = 0; k < 20000; ++k) ASSERT_EQ(fs[k].result(120s), 2 * k);
}

TEST(ProcessPoolSoak, PoolsCreatedAndDestroyedWhileBusy) {
    for (int round = 0; round < 20; ++round) {
        std::string method = round % 2 ? mptest::pool_start_methods().front() : "forkserver";
        mp::Pool pool({.processes = 2, .context = mp::get_context(method)});
        auto r = pool.map_async(twice, std::vector<long long>(1000, 1));
        if (round % 3 == 0) {
            EXPECT_EQ(r.get(60s).size(), 1000u);
        }
        // Otherwise the destructor terminates the pool mid-work.
    }
}
