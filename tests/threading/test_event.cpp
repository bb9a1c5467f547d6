// threading::Event, ported from CPython's Lib/test/lock_tests.py (EventTests).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "concur/threading.hpp"
#include "support.hpp"

using namespace std::chrono_literals;
using concur::threading::Event;
using Clock = std::chrono::steady_clock;

using concur_test::kSettle;


// CPython lock_tests.EventTests.test_is_set
TEST(Event, SetAndClear) {
    Event e;
    EXPECT_FALSE(e.is_set());
    e.set();
    EXPECT_TRUE(e.is_set());
    e.set();
    EXPECT_TRUE(e.is_set());
    e.clear();
    EXPECT_FALSE(e.is_set());
    e.clear();
    EXPECT_FALSE(e.is_set());
}

// CPython lock_tests.EventTests.test_notify
TEST(Event, SetWakesAllWaiters) {
    Event e;
    constexpr int N = 5;
    std::atomic<int> returned_true{0}, returned{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < N; ++i)
        threads.emplace_back([&] {
            if (e.wait()) ++returned_true;
            ++returned;
        });
    std::this_thread::sleep_for(kSettle);
    EXPECT_EQ(returned.load(), 0);
    e.set();
    for (auto& t : threads) t.join();
    EXPECT_EQ(returned_true.load(), N);
}

// CPython lock_tests.EventTests.test_timeout
TEST(Event, WaitTimesOut) {
    Event e;
    auto t0 = Clock::now();
    EXPECT_FALSE(e.wait(50ms));
    EXPECT_GE(Clock::now() - t0, 50ms);
    EXPECT_FALSE(e.wait(0ms));
    EXPECT_FALSE(e.wait_until(Clock::now() - 1s));
    EXPECT_THROW(e.wait(-1ms), concur::ValueError);
    e.set();
    EXPECT_TRUE(e.wait(0ms));
    EXPECT_TRUE(e.wait(60s));
    EXPECT_TRUE(e.wait_until(std::chrono::system_clock::now() - 1s));
}

TEST(Event, TimedWaitWokenBySet) {
    Event e;
    std::atomic<int> result{-1};
    std::thread t([&] { result = e.wait(60s) ? 1 : 0; });
    std::this_thread::sleep_for(kSettle);
    EXPECT_EQ(result.load(), -1);
    e.set();
    t.join();
    EXPECT_EQ(result.load(), 1);
}

// CPython lock_tests.EventTests.test_set_and_clear: waiters woken by a set()
// report true even if clear() came before they could look.
TEST(Event, WaitersSeeASetFollowedByClear) {
    Event e;
    constexpr int N = 5;
    std::atomic<int> started{0}, true_results{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < N; ++i)
        threads.emplace_back([&] {
            ++started;
            if (e.wait(60s)) ++true_results;
        });
    while (started.load() < N) std::this_thread::sleep_for(1ms);
    std::this_thread::sleep_for(kSettle);  // let them reach the wait
    e.set();
    e.clear();
    for (auto& t : threads) t.join();
    EXPECT_EQ(true_results.load(), N);
    EXPECT_FALSE(e.is_set());
}

TEST(Event, ReusableAfterClear) {
    Event e;
    for (int round = 0; round < 50; ++round) {
        std::thread t([&] { EXPECT_TRUE(e.wait()); });
        e.set();
        t.join();
        e.clear();
        EXPECT_FALSE(e.wait(0ms));
    }
}
