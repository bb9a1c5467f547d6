// threading::RLock, ported from CPython's Lib/test/lock_tests.py
// (BaseLockTests, RLockTests).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "concur/threading.hpp"
#include "support.hpp"

using namespace std::chrono_literals;
using concur::threading::RLock;
using Clock = std::chrono::steady_clock;

using concur_test::kSettle;

namespace {


bool held_elsewhere(RLock& lock) {
    bool got = false;
    std::thread([&] {
        got = lock.acquire(false);
        if (got) lock.release();
    }).join();
    return !got;
}

}  // namespace

// CPython lock_tests.BaseLockTests.test_acquire_release
TEST(RLock, AcquireRelease) {
    RLock lock;
    EXPECT_FALSE(lock.locked());
    EXPECT_TRUE(lock.acquire());
    EXPECT_TRUE(lock.locked());
    lock.release();
    EXPECT_FALSE(lock.locked());
}

// CPython lock_tests.RLockTests.test_reacquire
TEST(RLock, ReacquireByOwner) {
    RLock lock;
    lock.acquire();
    lock.acquire();
    EXPECT_TRUE(lock.acquire(false));
    EXPECT_TRUE(lock.acquire(1ms));
    lock.release();
    lock.release();
    lock.release();
    EXPECT_TRUE(held_elsewhere(lock));
    lock.release();
    EXPECT_FALSE(lock.locked());
    EXPECT_FALSE(held_elsewhere(lock));
}

// CPython lock_tests.RLockTests.test_release_unacquired
TEST(RLock, ReleaseUnacquiredIsRuntimeError) {
    RLock lock;
    try {
        lock.release();
        FAIL() << "release() of a free RLock did not throw";
    } catch (const concur::RuntimeError& e) {
        EXPECT_STREQ(e.what(), "cannot release un-acquired lock");
    }
    lock.acquire();
    lock.acquire();
    lock.release();
    lock.acquire();
    lock.release();
    lock.release();
    EXPECT_THROW(lock.release(), concur::RuntimeError);
}

// CPython lock_tests.RLockTests.test_different_thread
TEST(RLock, ReleaseByNonOwnerIsRuntimeError) {
    RLock lock;
    std::atomic<bool> acquired{false}, done{false};
    std::thread t([&] {
        lock.acquire();
        acquired = true;
        while (!done) std::this_thread::sleep_for(1ms);
        lock.release();
    });
    while (!acquired) std::this_thread::sleep_for(1ms);
    EXPECT_THROW(lock.release(), concur::RuntimeError);
    EXPECT_TRUE(lock.locked());
    done = true;
    t.join();
    EXPECT_FALSE(lock.locked());
}

// CPython lock_tests.BaseLockTests.test_acquire_contended
TEST(RLock, OtherThreadWaitsForFullRelease) {
    RLock lock;
    lock.acquire();
    lock.acquire();
    std::atomic<bool> got{false};
    std::thread t([&] {
        lock.acquire();
        got = true;
        lock.release();
    });
    lock.release();  // still held once
    std::this_thread::sleep_for(kSettle);
    EXPECT_FALSE(got.load());
    lock.release();
    t.join();
    EXPECT_TRUE(got.load());
}

// CPython lock_tests.BaseLockTests.test_timeout
TEST(RLock, TimedAcquireGivesUpAfterTimeout) {
    RLock lock;
    lock.acquire();
    bool got = true;
    Clock::duration took{};
    std::thread([&] {
        auto t0 = Clock::now();
        got = lock.acquire(50ms);
        took = Clock::now() - t0;
    }).join();
    EXPECT_FALSE(got);
    EXPECT_GE(took, 50ms);
    lock.release();
}

TEST(RLock, NegativeTimeoutIsValueErrorEvenWhenOwned) {
    RLock lock;
    EXPECT_THROW(lock.acquire(-1s), concur::ValueError);
    lock.acquire();
    EXPECT_THROW(lock.acquire(-1s), concur::ValueError);
    lock.release();
    EXPECT_FALSE(lock.locked());
}

// CPython lock_tests.BaseLockTests.test_with
TEST(RLock, NestedUniqueLocks) {
    RLock lock;
    {
        std::unique_lock a(lock);
        std::unique_lock b(lock);
        std::lock_guard c(lock);
        EXPECT_TRUE(held_elsewhere(lock));
    }
    EXPECT_FALSE(lock.locked());
}

TEST(RLock, TryLockForFromOtherThread) {
    RLock lock;
    lock.acquire();
    std::thread([&] {
        std::unique_lock lk(lock, std::defer_lock);
        EXPECT_FALSE(lk.try_lock_for(10ms));
    }).join();
    lock.release();
}

TEST(RLock, MutualExclusionWithRecursion) {
    RLock lock;
    long counter = 0;
    constexpr int kThreads = 4, kIters = 10000;
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i)
        threads.emplace_back([&] {
            for (int j = 0; j < kIters; ++j) {
                std::lock_guard outer(lock);
                std::lock_guard inner(lock);
                ++counter;
            }
        });
    for (auto& t : threads) t.join();
    EXPECT_EQ(counter, long{kThreads} * kIters);
}
