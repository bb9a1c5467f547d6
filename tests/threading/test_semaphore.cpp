// threading::Semaphore and BoundedSemaphore, ported from CPython's
// Lib/test/lock_tests.py (BaseSemaphoreTests, SemaphoreTests,
// BoundedSemaphoreTests).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "concur/threading.hpp"
#include "support.hpp"

using namespace std::chrono_literals;
using concur::threading::BoundedSemaphore;
using concur::threading::Semaphore;
using Clock = std::chrono::steady_clock;

using concur_test::eventually;
using concur_test::kSettle;

namespace {



// How many units can be taken right now (then puts them back).
int available(Semaphore& s) {
    int n = 0;
    while (s.acquire(false)) ++n;
    if (n > 0) s.release(n);
    return n;
}

}  // namespace

// CPython lock_tests.BaseSemaphoreTests.test_constructor
TEST(Semaphore, NegativeValueIsValueError) {
    EXPECT_THROW(Semaphore(-1), concur::ValueError);
    EXPECT_THROW(BoundedSemaphore(-1), concur::ValueError);
    EXPECT_THROW(Semaphore(1LL << 40), concur::ValueError);
    Semaphore zero(0);
    EXPECT_EQ(available(zero), 0);
}

// CPython lock_tests.BaseSemaphoreTests.test_default_value
TEST(Semaphore, DefaultValueIsOne) {
    Semaphore s;
    EXPECT_EQ(available(s), 1);
}

// CPython lock_tests.BaseSemaphoreTests.test_acquire
TEST(Semaphore, AcquireCountsDown) {
    Semaphore s(2);
    EXPECT_TRUE(s.acquire());
    EXPECT_TRUE(s.acquire(false));
    EXPECT_FALSE(s.acquire(false));
    s.release();
    s.release();
    EXPECT_EQ(available(s), 2);
}

// CPython lock_tests.BaseSemaphoreTests.test_acquire_contended
TEST(Semaphore, ReleaseLetsThatManyThroughAtATime) {
    Semaphore s(0);
    constexpr int N = 6;
    std::atomic<int> through{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < N; ++i)
        threads.emplace_back([&] {
            s.acquire();
            ++through;
        });
    std::this_thread::sleep_for(kSettle);
    EXPECT_EQ(through.load(), 0);
    s.release();
    s.release();
    eventually([&] { return through.load() == 2; });
    std::this_thread::sleep_for(kSettle);
    EXPECT_EQ(through.load(), 2);
    s.release(N - 2);
    for (auto& t : threads) t.join();
    EXPECT_EQ(through.load(), N);
    EXPECT_EQ(available(s), 0);
}

// CPython lock_tests.BaseSemaphoreTests.test_multirelease
TEST(Semaphore, MultiRelease) {
    Semaphore s(0);
    constexpr int N = 4;
    std::atomic<int> through{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < N; ++i)
        threads.emplace_back([&] {
            s.acquire();
            ++through;
        });
    s.release(N + 1);
    for (auto& t : threads) t.join();
    EXPECT_EQ(through.load(), N);
    EXPECT_EQ(available(s), 1);
}

TEST(Semaphore, ReleaseOfZeroIsValueError) {
    Semaphore s(0);
    EXPECT_THROW(s.release(0), concur::ValueError);
    EXPECT_THROW(s.release(-3), concur::ValueError);
    EXPECT_EQ(available(s), 0);
}

// CPython lock_tests.BaseSemaphoreTests.test_try_acquire_contended
TEST(Semaphore, TryAcquireContended) {
    Semaphore s(4);
    for (int i = 0; i < 4; ++i) s.acquire();
    bool got = true;
    std::thread([&] { got = s.acquire(false); }).join();
    EXPECT_FALSE(got);
    s.release(4);
}

// CPython lock_tests.BaseSemaphoreTests.test_acquire_timeout
TEST(Semaphore, AcquireTimeout) {
    Semaphore s(2);
    EXPECT_THROW(s.acquire(-1ms), concur::ValueError);
    EXPECT_TRUE(s.acquire(0ms));
    EXPECT_TRUE(s.acquire(10ms));
    EXPECT_FALSE(s.acquire(0ms));
    auto t0 = Clock::now();
    EXPECT_FALSE(s.acquire(50ms));
    EXPECT_GE(Clock::now() - t0, 50ms);
    s.release();
    EXPECT_TRUE(s.acquire(60s));
}

TEST(Semaphore, TimedAcquireWokenByRelease) {
    Semaphore s(0);
    std::atomic<bool> got{false};
    std::thread t([&] { got = s.acquire(60s); });
    std::this_thread::sleep_for(kSettle);
    EXPECT_FALSE(got.load());
    s.release();
    t.join();
    EXPECT_TRUE(got.load());
}

// CPython lock_tests.BaseSemaphoreTests.test_with
TEST(Semaphore, LockGuardHoldsOneUnit) {
    Semaphore s(2);
    {
        std::lock_guard g(s);
        EXPECT_EQ(available(s), 1);
    }
    EXPECT_EQ(available(s), 2);
}

// CPython lock_tests.SemaphoreTests.test_release_unacquired
TEST(Semaphore, UnboundedMayBeReleasedPastItsInitialValue) {
    Semaphore s(1);
    s.release();
    s.release(3);
    EXPECT_EQ(available(s), 5);
}

// CPython lock_tests.BoundedSemaphoreTests.test_release_unacquired
TEST(BoundedSemaphore, ReleasedTooManyTimesIsValueError) {
    BoundedSemaphore s(2);
    try {
        s.release();
        FAIL() << "release() past the initial value did not throw";
    } catch (const concur::ValueError& e) {
        EXPECT_STREQ(e.what(), "Semaphore released too many times");
    }
    s.acquire();
    s.acquire();
    EXPECT_THROW(s.release(3), concur::ValueError);  // all or nothing
    EXPECT_EQ(available(s), 0);
    s.release(2);
    EXPECT_THROW(s.release(), concur::ValueError);
    EXPECT_EQ(available(s), 2);
}

TEST(Semaphore, BoundsConcurrency) {
    BoundedSemaphore s(3);
    std::atomic<int> inside{0}, most{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i)
        threads.emplace_back([&] {
            for (int j = 0; j < 500; ++j) {
                std::lock_guard g(s);
                int now = ++inside;
                int m = most.load();
                while (now > m && !most.compare_exchange_weak(m, now)) {
                }
                std::this_thread::yield();
                --inside;
            }
        });
    for (auto& t : threads) t.join();
    EXPECT_LE(most.load(), 3);
    EXPECT_GE(most.load(), 1);
    EXPECT_EQ(available(s), 3);
}
