// futures::wait, after CPython's Lib/test/test_concurrent_futures/test_wait.py.
#include <gtest/gtest.h>

#include <stdexcept>
#include <thread>
#include <vector>

#include "concur/futures.hpp"

using namespace concur;
using namespace concur::futures;
using namespace std::chrono_literals;

namespace {
Future<int> failed_future() {
    Promise<int> p;
    p.set_exception(std::make_exception_ptr(std::runtime_error("boom")));
    return p.get_future();
}
Future<int> cancelled_future() {
    Promise<int> p;
    auto f = p.get_future();
    f.cancel();
    return f;
}
}  // namespace

// CPython WaitTests.test_first_completed
TEST(Wait, FirstCompleted) {
    ThreadPoolExecutor ex{{.max_workers = 2}};
    Promise<int> never;
    auto fast = ex.submit([] { return 1; });
    auto pending = never.get_future();
    auto r = wait(std::vector{fast, pending}, FIRST_COMPLETED);
    ASSERT_EQ(r.done.size(), 1u);
    EXPECT_TRUE(r.done[0] == fast);
    ASSERT_EQ(r.not_done.size(), 1u);
    EXPECT_TRUE(r.not_done[0] == pending);
}

TEST(Wait, FirstCompletedReturnsAtOnceIfOneIsDone) {
    Promise<int> never;
    auto r = wait(std::vector{make_ready_future<int>(1), never.get_future()}, 10s, FIRST_COMPLETED);
    EXPECT_EQ(r.done.size(), 1u);
    EXPECT_EQ(r.not_done.size(), 1u);
}

// CPython WaitTests.test_first_exception
TEST(Wait, FirstException) {
    Promise<int> slow, never;
    auto bad = failed_future();
    std::thread t([&] {
        std::this_thread::sleep_for(10ms);
        slow.set_result(1);
    });
    auto r = wait(std::vector{slow.get_future(), bad, never.get_future()}, FIRST_EXCEPTION);
    t.join();
    EXPECT_GE(r.done.size(), 1u);
    EXPECT_TRUE(std::find(r.done.begin(), r.done.end(), bad) != r.done.end());
    EXPECT_EQ(r.done.size() + r.not_done.size(), 3u);
}

// CPython WaitTests.test_first_exception_some_already_complete: a cancelled
// future is not an exception, so FIRST_EXCEPTION waits for the failure.
TEST(Wait, FirstExceptionIgnoresCancellation) {
    Promise<int> later;
    auto c = cancelled_future();
    std::thread t([&] {
        std::this_thread::sleep_for(20ms);
        later.set_exception(std::make_exception_ptr(std::runtime_error("late")));
    });
    auto r = wait(std::vector{c, later.get_future()}, FIRST_EXCEPTION);
    t.join();
    EXPECT_EQ(r.done.size(), 2u);
    EXPECT_TRUE(r.not_done.empty());
}

TEST(Wait, FirstExceptionWithoutExceptionsWaitsForAll) {
    ThreadPoolExecutor ex{{.max_workers = 2}};
    std::vector<Future<int>> fs;
    for (int i = 0; i < 20; ++i) fs.push_back(ex.submit([i] { return i; }));
    auto r = wait(fs, FIRST_EXCEPTION);
    EXPECT_EQ(r.done.size(), 20u);
    EXPECT_TRUE(r.not_done.empty());
}

// CPython WaitTests.test_all_completed
TEST(Wait, AllCompleted) {
    ThreadPoolExecutor ex{{.max_workers = 2}};
    std::vector<Future<int>> fs{failed_future(), cancelled_future()};
    for (int i = 0; i < 50; ++i) fs.push_back(ex.submit([i] { return i; }));
    auto r = wait(fs);
    EXPECT_EQ(r.done.size(), fs.size());
    EXPECT_TRUE(r.not_done.empty());
}

// CPython WaitTests.test_timeout
TEST(Wait, TimeoutReturnsNotDone) {
    Promise<int> never;
    auto done = make_ready_future<int>(1);
    auto t0 = std::chrono::steady_clock::now();
    auto r = wait(std::vector{done, never.get_future()}, 50ms);
    EXPECT_GE(std::chrono::steady_clock::now() - t0, 50ms);
    EXPECT_EQ(r.done.size(), 1u);
    EXPECT_EQ(r.not_done.size(), 1u);
}

TEST(Wait, TimeoutWithFirstCompleted) {
    Promise<int> never;
    auto r = wait(std::vector{never.get_future()}, 20ms, FIRST_COMPLETED);
    EXPECT_TRUE(r.done.empty());
    EXPECT_EQ(r.not_done.size(), 1u);
}

TEST(Wait, DuplicatesAppearOnce) {
    auto f = make_ready_future<int>(1);
    auto r = wait(std::vector{f, f, f});
    EXPECT_EQ(r.done.size(), 1u);
}

TEST(Wait, EmptyInputReturnsAtOnce) {
    std::vector<Future<int>> none;
    auto r = wait(none, FIRST_COMPLETED);
    EXPECT_TRUE(r.done.empty());
    EXPECT_TRUE(r.not_done.empty());
}
