// threading::Timer, ported from CPython's Lib/test/test_threading.py
// (TimerTests).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "concur/threading.hpp"

using namespace std::chrono_literals;
using concur::threading::Event;
using concur::threading::Thread;
using concur::threading::Timer;
using Clock = std::chrono::steady_clock;

// CPython test_threading.TimerTests.test_init_immutable_default_args (the
// call itself), and the interval: it never fires early.
TEST(Timer, FiresAfterTheIntervalWithArguments) {
    std::atomic<int> got{0};
    Clock::time_point fired{};
    auto t0 = Clock::now();
    Timer t(
        50ms,
        [&](int x) {
            fired = Clock::now();
            got = x;
        },
        7);
    t.start();
    t.join();
    EXPECT_EQ(got.load(), 7);
    EXPECT_GE(fired - t0, 50ms);
}

// CPython test_threading.TimerTests: cancel() before the interval ends.
TEST(Timer, CancelledTimerNeverFires) {
    std::atomic<bool> fired{false};
    Timer t(60s, [&] { fired = true; });
    t.start();
    EXPECT_TRUE(t.cancel());
    auto t0 = Clock::now();
    t.join();  // cancel() ends the wait at once
    EXPECT_LT(Clock::now() - t0, 30s);
    EXPECT_FALSE(fired.load());
    EXPECT_FALSE(t.cancel());  // already cancelled
}

TEST(Timer, CancelBeforeStart) {
    std::atomic<bool> fired{false};
    Timer t(0s, [&] { fired = true; });
    EXPECT_TRUE(t.cancel());
    t.start();
    t.join();
    EXPECT_FALSE(fired.load());
}

TEST(Timer, CancelAfterFiringReturnsFalse) {
    std::atomic<int> calls{0};
    Timer t(0s, [&] { ++calls; });
    t.start();
    t.join();
    EXPECT_EQ(calls.load(), 1);
    EXPECT_FALSE(t.cancel());
    EXPECT_EQ(calls.load(), 1);
}

// The fate of a timer is decided once: when cancel() races with the end of
// the interval, either cancel() returns true and f never runs, or f runs and
// cancel() returns false.
TEST(Timer, CancelRacingWithExpiry) {
    constexpr int N = 200;
    std::atomic<int> calls{0}, cancelled{0};
    for (int i = 0; i < N; ++i) {
        Timer t(std::chrono::microseconds(i % 50), [&] { ++calls; });
        t.start();
        if (i % 3) std::this_thread::yield();
        if (t.cancel()) ++cancelled;
        t.join();
    }
    EXPECT_EQ(calls.load() + cancelled.load(), N);
}

TEST(Timer, NegativeIntervalFiresAtOnce) {
    std::atomic<bool> fired{false};
    Timer t(-5s, [&] { fired = true; });
    t.start();
    t.join();
    EXPECT_TRUE(fired.load());
}

TEST(Timer, IsAThread) {
    Event release;
    Timer t(0s, [&] { release.wait(); });
    Thread& as_thread = t;
    as_thread.name("my-timer");
    as_thread.daemon(true);
    t.start();
    EXPECT_TRUE(as_thread.is_alive());
    EXPECT_EQ(t.name(), "my-timer");
    EXPECT_TRUE(t.ident().has_value());
    release.set();
    as_thread.join();
    EXPECT_FALSE(t.is_alive());
}

TEST(Timer, DestroyingAnUnfiredNonDaemonTimerWaitsForIt) {
    std::atomic<bool> fired{false};
    {
        Timer t(20ms, [&] { fired = true; });
        t.start();
    }
    EXPECT_TRUE(fired.load());
}

TEST(Timer, DestroyingACancelledDaemonTimerIsQuick) {
    auto fired = std::make_shared<std::atomic<bool>>(false);
    auto t0 = Clock::now();
    {
        Timer t(60s, [fired] { *fired = true; });
        t.daemon(true);
        t.start();
        t.cancel();
    }
    EXPECT_LT(Clock::now() - t0, 30s);
    EXPECT_FALSE(fired->load());
}
