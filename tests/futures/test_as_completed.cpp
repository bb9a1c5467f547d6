// futures::as_completed, after CPython's
// Lib/test/test_concurrent_futures/test_as_completed.py.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "concur/futures.hpp"

using namespace concur;
using namespace concur::futures;
using namespace std::chrono_literals;

// CPython AsCompletedTests.test_no_timeout
TEST(AsCompleted, YieldsEveryFuture) {
    ThreadPoolExecutor ex{{.max_workers = 2}};
    std::vector<Future<int>> fs;
    for (int i = 0; i < 100; ++i) fs.push_back(ex.submit([i] { return i * i; }));
    long sum = 0;
    int n = 0;
    for (auto& f : as_completed(fs)) {
        EXPECT_TRUE(f.done());
        sum += f.result();
        ++n;
    }
    EXPECT_EQ(n, 100);
    long expect = 0;
    for (int i = 0; i < 100; ++i) expect += i * i;
    EXPECT_EQ(sum, expect);
}

TEST(AsCompleted, FinishedFirstThenCompletionOrder) {
    Promise<int> a, b, c;
    auto done = make_ready_future<int>(0);
    std::vector<Future<int>> fs{a.get_future(), b.get_future(), done, c.get_future()};
    std::thread t([&] {
        std::this_thread::sleep_for(10ms);
        c.set_result(3);
        std::this_thread::sleep_for(10ms);
        a.set_result(1);
        std::this_thread::sleep_for(10ms);
        b.set_result(2);
    });
    std::vector<int> order;
    for (auto& f : as_completed(fs)) order.push_back(f.result());
    t.join();
    EXPECT_EQ(order, (std::vector<int>{0, 3, 1, 2}));
}

// CPython AsCompletedTests.test_duplicate_futures
TEST(AsCompleted, DuplicatesYieldedOnce) {
    ThreadPoolExecutor ex{{.max_workers = 1}};
    auto f = ex.submit([] { return 1; });
    std::vector<Future<int>> fs{f, f, f};
    int n = 0;
    for (auto& x : as_completed(fs)) {
        (void)x;
        ++n;
    }
    EXPECT_EQ(n, 1);
}

// CPython AsCompletedTests.test_zero_timeout
TEST(AsCompleted, TimeoutThrowsAfterYieldingFinished) {
    Promise<int> never;
    std::vector<Future<int>> fs{make_ready_future<int>(1), never.get_future()};
    int yielded = 0;
    try {
        for (auto& f : as_completed(fs, 30ms)) {
            (void)f;
            ++yielded;
        }
        FAIL() << "expected TimeoutError";
    } catch (const TimeoutError& e) {
        EXPECT_NE(std::string(e.what()).find("1 (of 2) futures unfinished"), std::string::npos)
            << e.what();
    }
    EXPECT_EQ(yielded, 1);
}

TEST(AsCompleted, AbandonedIterationLeavesNoDanglingCallback) {
    Promise<int> p;
    {
        std::vector<Future<int>> fs{make_ready_future<int>(1), p.get_future()};
        auto range = as_completed(fs);
        auto it = range.begin();  // yields the finished one, registers on p
        (void)it;
    }
    p.set_result(1);  // must not call into the destroyed range (ASan checks)
}

TEST(AsCompleted, CancelledFuturesAreYielded) {
    Promise<int> p;
    auto f = p.get_future();
    std::thread t([&] {
        std::this_thread::sleep_for(10ms);
        f.cancel();
    });
    int n = 0;
    for (auto& x : as_completed(std::vector{f})) {
        EXPECT_TRUE(x.cancelled());
        ++n;
    }
    t.join();
    EXPECT_EQ(n, 1);
}
