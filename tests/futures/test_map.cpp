// Executor::map, after CPython's Lib/test/test_concurrent_futures/executor.py
// (ExecutorTest.test_map, test_map_exception, test_map_timeout,
// test_map_submits_without_iteration).
#include <gtest/gtest.h>

#include <atomic>
#include <list>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "concur/futures.hpp"

using namespace concur;
using namespace concur::futures;
using namespace std::chrono_literals;

TEST(Map, YieldsInInputOrder) {
    ThreadPoolExecutor ex{{.max_workers = 4}};
    std::vector<int> xs(200);
    for (int i = 0; i < 200; ++i) xs[i] = i;
    std::vector<int> out;
    for (int v : ex.map([](int x) { return x * x; }, xs)) out.push_back(v);
    ASSERT_EQ(out.size(), 200u);
    for (int i = 0; i < 200; ++i) EXPECT_EQ(out[i], i * i);
}

TEST(Map, ZipsSeveralRangesToTheShortest) {
    ThreadPoolExecutor ex{{.max_workers = 2}};
    std::vector<int> a{1, 2, 3, 4};
    std::list<std::string> b{"a", "b", "c"};
    auto out = ex.map([](int n, const std::string& s) { return s + std::to_string(n); }, a, b).list();
    EXPECT_EQ(out, (std::vector<std::string>{"a1", "b2", "c3"}));
}

TEST(Map, ChunksizeGivesTheSameResults) {
    ThreadPoolExecutor ex{{.max_workers = 2}};
    std::vector<int> xs(1000);
    for (int i = 0; i < 1000; ++i) xs[i] = i;
    auto out = ex.map([](int x) { return x + 1; }, xs, {.chunksize = 64}).list();
    ASSERT_EQ(out.size(), 1000u);
    for (int i = 0; i < 1000; ++i) EXPECT_EQ(out[i], i + 1);
    EXPECT_THROW(ex.map([](int x) { return x; }, xs, {.chunksize = 0}), ValueError);
}

TEST(Map, VoidFunctionYieldsNone) {
    ThreadPoolExecutor ex{{.max_workers = 2}};
    std::atomic<int> sum{0};
    auto out = ex.map([&](int x) { sum += x; }, std::vector<int>{1, 2, 3}).list();
    EXPECT_EQ(out.size(), 3u);
    EXPECT_EQ(sum.load(), 6);
}

// CPython ExecutorTest.test_map_exception
TEST(Map, ExceptionRaisedWhenItsResultIsReached) {
    ThreadPoolExecutor ex{{.max_workers = 2}};
    auto results = ex.map(
        [](int x) {
            if (x == 2) throw std::domain_error("two");
            return x;
        },
        std::vector<int>{0, 1, 2, 3});
    auto it = results.begin();
    EXPECT_EQ(*it, 0);
    ++it;
    EXPECT_EQ(*it, 1);
    EXPECT_THROW(++it, std::domain_error);
}

// CPython ExecutorTest.test_map_timeout
TEST(Map, TimeoutWhenAResultIsLate) {
    ThreadPoolExecutor ex{{.max_workers = 2}};
    std::atomic<bool> release{false};
    auto results = ex.map(
        [&](int x) {
            if (x == 1)
                while (!release) std::this_thread::sleep_for(1ms);
            return x;
        },
        std::vector<int>{0, 1}, {.timeout = 50ms});
    std::vector<int> got;
    try {
        for (int v : results) got.push_back(v);
        FAIL() << "expected TimeoutError";
    } catch (const TimeoutError&) {
    }
    EXPECT_EQ(got, std::vector<int>{0});
    release = true;
}

// CPython ThreadPoolExecutorTest.test_map_submits_without_iteration
TEST(Map, SubmitsWithoutIteration) {
    std::atomic<int> ran{0};
    {
        ThreadPoolExecutor ex{{.max_workers = 2}};
        ex.map([&](int) { ran++; }, std::vector<int>{1, 2, 3, 4, 5});
    }
    EXPECT_EQ(ran.load(), 5);
}

TEST(Map, AbandonedIterationCancelsTheRest) {
    ThreadPoolExecutor ex{{.max_workers = 1}};
    std::atomic<bool> release{false};
    std::atomic<int> ran{0};
    {
        auto results = ex.map(
            [&](int x) {
                if (x == 0)
                    while (!release) std::this_thread::sleep_for(1ms);
                ran++;
                return x;
            },
            std::vector<int>{0, 1, 2, 3}, {.timeout = 10ms});
        EXPECT_THROW(results.begin(), TimeoutError);
    }  // the generator is closed: calls 1..3 are cancelled
    release = true;
    ex.shutdown();
    EXPECT_EQ(ran.load(), 1);
}

TEST(Map, AfterShutdownThrows) {
    ThreadPoolExecutor ex;
    ex.shutdown();
    EXPECT_THROW(ex.map([](int x) { return x; }, std::vector<int>{1}), RuntimeError);
}
