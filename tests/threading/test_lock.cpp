// threading::Lock, ported from CPython's Lib/test/lock_tests.py
// (BaseLockTests, LockTests).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "concur/threading.hpp"
#include "support.hpp"

using namespace std::chrono_literals;
using concur::threading::Lock;
using Clock = std::chrono::steady_clock;

using concur_test::eventually;
using concur_test::kSettle;

// CPython lock_tests.BaseLockTests.test_constructor
TEST(Lock, StartsUnlocked) {
    Lock lock;
    EXPECT_FALSE(lock.locked());
}

// CPython lock_tests.BaseLockTests.test_acquire_release
TEST(Lock, AcquireRelease) {
    Lock lock;
    EXPECT_TRUE(lock.acquire());
    EXPECT_TRUE(lock.locked());
    lock.release();
    EXPECT_FALSE(lock.locked());
}

// CPython lock_tests.BaseLockTests.test_try_acquire
TEST(Lock, TryAcquireIsNotReentrant) {
    Lock lock;
    EXPECT_TRUE(lock.acquire(false));
    EXPECT_FALSE(lock.acquire(false));
    EXPECT_FALSE(lock.try_lock());
    lock.release();
    EXPECT_TRUE(lock.try_lock());
    lock.unlock();
}

// CPython lock_tests.BaseLockTests.test_try_acquire_contended
TEST(Lock, TryAcquireContended) {
    Lock lock;
    lock.acquire();
    bool got = true;
    std::thread([&] { got = lock.acquire(false); }).join();
    EXPECT_FALSE(got);
    lock.release();
}

// CPython lock_tests.BaseLockTests.test_acquire_contended
TEST(Lock, AcquireContendedBlocksUntilRelease) {
    Lock lock;
    lock.acquire();
    constexpr int N = 5;
    std::atomic<int> finished{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < N; ++i)
        threads.emplace_back([&] {
            lock.acquire();
            lock.release();
            ++finished;
        });
    std::this_thread::sleep_for(kSettle);
    EXPECT_EQ(finished.load(), 0);
    lock.release();
    for (auto& t : threads) t.join();
    EXPECT_EQ(finished.load(), N);
    EXPECT_FALSE(lock.locked());
}

// CPython lock_tests.BaseLockTests.test_with
TEST(Lock, LockGuardReleasesOnException) {
    Lock lock;
    try {
        std::lock_guard g(lock);
        EXPECT_TRUE(lock.locked());
        throw std::runtime_error("boom");
    } catch (const std::runtime_error&) {
    }
    EXPECT_FALSE(lock.locked());
}

// CPython lock_tests.BaseLockTests.test_timeout
TEST(Lock, NegativeTimeoutIsValueError) {
    Lock lock;
    EXPECT_THROW(lock.acquire(-1ms), concur::ValueError);
    EXPECT_FALSE(lock.locked());
}

// CPython lock_tests.BaseLockTests.test_timeout
TEST(Lock, TimedAcquireGivesUpAfterTimeout) {
    Lock lock;
    lock.acquire();
    bool zero = true, timed = true;
    Clock::duration took{};
    std::thread([&] {
        zero = lock.acquire(0ms);
        auto t0 = Clock::now();
        timed = lock.acquire(50ms);
        took = Clock::now() - t0;
    }).join();
    EXPECT_FALSE(zero);
    EXPECT_FALSE(timed);
    EXPECT_GE(took, 50ms);
    lock.release();
}

TEST(Lock, TimedAcquireSucceedsWhenReleasedInTime) {
    Lock lock;
    lock.acquire();
    std::atomic<bool> got{false};
    std::thread t([&] { got = lock.acquire(60s); });
    std::this_thread::sleep_for(kSettle);
    EXPECT_FALSE(got.load());
    lock.release();
    t.join();
    EXPECT_TRUE(got.load());
    EXPECT_TRUE(lock.locked());
    lock.release();
    EXPECT_TRUE(lock.acquire(std::chrono::hours::max()));  // "forever", no overflow
    lock.release();
}

// CPython lock_tests.LockTests.test_reacquire
TEST(Lock, ReacquireBlocksUntilAnotherThreadReleases) {
    Lock lock;
    std::atomic<int> phase{0};
    std::thread t([&] {
        lock.acquire();
        phase = 1;
        lock.acquire();  // blocks: a Lock is not reentrant
        phase = 2;
    });
    eventually([&] { return phase.load() == 1; });
    std::this_thread::sleep_for(kSettle);
    EXPECT_EQ(phase.load(), 1);
    lock.release();  // by another thread than the acquirer, as Python allows
    t.join();
    EXPECT_EQ(phase.load(), 2);
    lock.release();
}

// CPython lock_tests.LockTests.test_different_thread
TEST(Lock, ReleasedByAnotherThread) {
    Lock lock;
    std::thread([&] { lock.acquire(); }).join();
    EXPECT_TRUE(lock.locked());
    lock.release();
    EXPECT_FALSE(lock.locked());
}

// CPython lock_tests.LockTests.test_state_after_timeout
TEST(Lock, StateAfterTimeout) {
    Lock lock;
    lock.acquire();
    std::thread([&] { EXPECT_FALSE(lock.acquire(10ms)); }).join();
    EXPECT_TRUE(lock.locked());
    lock.release();
    EXPECT_FALSE(lock.locked());
    EXPECT_TRUE(lock.acquire(false));
    lock.release();
}

// CPython test_thread.LockTests / _thread.LockType.release
TEST(Lock, ReleaseUnlockedIsRuntimeError) {
    Lock lock;
    try {
        lock.release();
        FAIL() << "release() of a free lock did not throw";
    } catch (const concur::RuntimeError& e) {
        EXPECT_STREQ(e.what(), "release unlocked lock");
    }
    EXPECT_FALSE(lock.locked());
}

TEST(Lock, UniqueLockTryLockFor) {
    Lock lock;
    lock.acquire();
    std::thread([&] {
        std::unique_lock lk(lock, std::defer_lock);
        EXPECT_FALSE(lk.try_lock_for(10ms));
        EXPECT_FALSE(lk.try_lock_until(Clock::now() + 10ms));
        EXPECT_FALSE(lk.try_lock_for(-5ms));  // std: negative means "don't wait"
    }).join();
    lock.release();
    std::unique_lock lk(lock, 1s);
    EXPECT_TRUE(lk.owns_lock());
}

TEST(Lock, ScopedLockTakesTwoWithoutDeadlock) {
    Lock a, b;
    std::atomic<int> rounds{0};
    auto worker = [&](bool flip) {
        for (int i = 0; i < 2000; ++i) {
            if (flip) {
                std::scoped_lock g(b, a);
                ++rounds;
            } else {
                std::scoped_lock g(a, b);
                ++rounds;
            }
        }
    };
    std::thread t1(worker, false), t2(worker, true);
    t1.join();
    t2.join();
    EXPECT_EQ(rounds.load(), 4000);
    EXPECT_FALSE(a.locked());
    EXPECT_FALSE(b.locked());
}

TEST(Lock, MutualExclusion) {
    Lock lock;
    long counter = 0;  // plain: TSan reports a race if the lock fails
    constexpr int kThreads = 4, kIters = 20000;
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i)
        threads.emplace_back([&] {
            for (int j = 0; j < kIters; ++j) {
                std::lock_guard g(lock);
                ++counter;
            }
        });
    for (auto& t : threads) t.join();
    EXPECT_EQ(counter, long{kThreads} * kIters);
}
