// threading::Condition, ported from CPython's Lib/test/lock_tests.py
// (ConditionTests).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "concur/threading.hpp"
#include "support.hpp"

using namespace std::chrono_literals;
using concur::threading::Condition;
using concur::threading::Lock;
using concur::threading::RLock;
using Clock = std::chrono::steady_clock;

using concur_test::eventually;
using concur_test::kSettle;

// CPython lock_tests.ConditionTests.test_acquire
TEST(Condition, DefaultLockIsReentrant) {
    Condition cond;
    cond.acquire();
    cond.acquire();
    cond.release();
    cond.release();
    Lock lock;
    Condition over_lock(lock);
    EXPECT_TRUE(over_lock.acquire(false));
    EXPECT_FALSE(over_lock.acquire(false));
    EXPECT_TRUE(lock.locked());
    over_lock.release();
    EXPECT_FALSE(lock.locked());
    RLock rlock;
    Condition over_rlock(rlock);
    EXPECT_TRUE(over_rlock.acquire(false));
    EXPECT_TRUE(over_rlock.acquire(false));
    over_rlock.release();
    over_rlock.release();
    EXPECT_FALSE(rlock.locked());
}

// CPython lock_tests.ConditionTests.test_unacquired_wait
TEST(Condition, WaitWithoutLockIsRuntimeError) {
    Condition cond;
    try {
        cond.wait();
        FAIL() << "wait() without the lock did not throw";
    } catch (const concur::RuntimeError& e) {
        EXPECT_STREQ(e.what(), "cannot wait on un-acquired lock");
    }
    Lock lock;
    Condition over_lock(lock);
    EXPECT_THROW(over_lock.wait(1ms), concur::RuntimeError);
}

// CPython lock_tests.ConditionTests.test_unacquired_notify
TEST(Condition, NotifyWithoutLockIsRuntimeError) {
    Condition cond;
    try {
        cond.notify();
        FAIL() << "notify() without the lock did not throw";
    } catch (const concur::RuntimeError& e) {
        EXPECT_STREQ(e.what(), "cannot notify on un-acquired lock");
    }
    EXPECT_THROW(cond.notify_all(), concur::RuntimeError);
}

TEST(Condition, NotifyByAnotherThreadThanTheOwnerOfAnRLock) {
    Condition cond;
    cond.acquire();
    bool threw = false;
    std::thread([&] {
        try {
            cond.notify();
        } catch (const concur::RuntimeError&) {
            threw = true;
        }
    }).join();
    EXPECT_TRUE(threw);
    cond.release();
}

// CPython lock_tests.ConditionTests.test_notify
TEST(Condition, NotifyWakesExactlyN) {
    Condition cond;
    constexpr int N = 5;
    int waiting = 0;  // guarded by cond
    std::atomic<int> woken{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < N; ++i)
        threads.emplace_back([&] {
            std::unique_lock lk(cond);
            ++waiting;
            while (!cond.wait()) {
            }
            ++woken;
        });
    eventually([&] {
        std::lock_guard g(cond);
        return waiting == N;
    });
    EXPECT_EQ(woken.load(), 0);
    {
        std::lock_guard g(cond);
        cond.notify(3);
    }
    eventually([&] { return woken.load() == 3; });
    std::this_thread::sleep_for(kSettle);
    EXPECT_EQ(woken.load(), 3);
    {
        std::lock_guard g(cond);
        cond.notify_all();
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(woken.load(), N);
}

TEST(Condition, NotifyWithoutWaitersIsANoOp) {
    Condition cond;
    std::lock_guard g(cond);
    cond.notify();
    cond.notify(0);
    cond.notify_all();
    EXPECT_FALSE(cond.wait(0ms));
}

// Python's Condition keeps a deque of waiters: notify() wakes the oldest.
TEST(Condition, NotifyWakesInFifoOrder) {
    Lock lock;
    Condition cond(lock);
    constexpr int N = 6;
    int entered = 0;          // guarded by lock
    std::vector<int> order;   // guarded by lock
    std::vector<std::thread> threads;
    for (int i = 0; i < N; ++i) {
        threads.emplace_back([&, i] {
            std::lock_guard g(cond);
            ++entered;
            cond.wait();  // enqueued before `entered` is visible to others
            order.push_back(i);
        });
        // Waiter i holds the lock from ++entered until it waits: once we see
        // the count, it is in the queue, behind waiters 0..i-1.
        eventually([&] {
            std::lock_guard g(cond);
            return entered == i + 1;
        });
    }
    for (int i = 0; i < N; ++i) {
        {
            std::lock_guard g(cond);
            cond.notify(1);
        }
        eventually([&] {
            std::lock_guard g(cond);
            return static_cast<int>(order.size()) == i + 1;
        });
    }
    for (auto& t : threads) t.join();
    std::vector<int> expected{0, 1, 2, 3, 4, 5};
    EXPECT_EQ(order, expected);
}

// CPython lock_tests.ConditionTests.test_timeout
TEST(Condition, WaitTimesOutHoldingTheLock) {
    Lock lock;
    Condition cond(lock);
    std::lock_guard g(cond);
    auto t0 = Clock::now();
    EXPECT_FALSE(cond.wait(50ms));
    EXPECT_GE(Clock::now() - t0, 50ms);
    EXPECT_TRUE(lock.locked());
    EXPECT_THROW(cond.wait(-1ms), concur::ValueError);
}

TEST(Condition, WaitReleasesALock) {
    Lock lock;
    Condition cond(lock);
    std::unique_lock lk(cond);
    bool ready = false;
    std::thread t([&] {
        std::lock_guard g(lock);  // possible only while main waits
        ready = true;
        cond.notify();
    });
    EXPECT_TRUE(cond.wait_for([&] { return ready; }, 60s));
    lk.unlock();
    t.join();
}

// CPython lock_tests.RLockTests / Condition._release_save: waiting releases an
// RLock held recursively, and restores the recursion count.
TEST(Condition, WaitFullyReleasesAndRestoresRLock) {
    RLock rlock;
    Condition cond(rlock);
    rlock.acquire();
    rlock.acquire();
    rlock.acquire();
    std::atomic<bool> other_got_it{false};
    std::thread t([&] {
        std::lock_guard g(rlock);
        other_got_it = true;
        cond.notify();
    });
    EXPECT_TRUE(cond.wait_for([&] { return other_got_it.load(); }, 60s));
    t.join();
    // Still owned three times: three releases work, a fourth does not.
    rlock.release();
    rlock.release();
    EXPECT_TRUE(rlock.locked());
    rlock.release();
    EXPECT_FALSE(rlock.locked());
    EXPECT_THROW(rlock.release(), concur::RuntimeError);
}

// CPython lock_tests.ConditionTests.test_waitfor
TEST(Condition, WaitForPredicate) {
    Condition cond;
    int state = 0;  // guarded by cond
    std::thread t([&] {
        for (int i = 0; i < 4; ++i) {
            std::this_thread::sleep_for(1ms);
            std::lock_guard g(cond);
            ++state;
            cond.notify();
        }
    });
    std::unique_lock lk(cond);
    EXPECT_TRUE(cond.wait_for([&] { return state == 4; }));
    EXPECT_EQ(state, 4);
    lk.unlock();
    t.join();
}

// CPython lock_tests.ConditionTests.test_waitfor_timeout
TEST(Condition, WaitForTimesOutWithLastValue) {
    Condition cond;
    std::unique_lock lk(cond);
    int calls = 0;
    auto t0 = Clock::now();
    int result = cond.wait_for(
        [&] {
            ++calls;
            return 0;
        },
        50ms);
    EXPECT_EQ(result, 0);
    EXPECT_GE(Clock::now() - t0, 50ms);
    EXPECT_GE(calls, 2);  // before waiting and after the timeout
}

TEST(Condition, WaitForReturnsThePredicatesValue) {
    Condition cond;
    std::lock_guard g(cond);
    int x = 7;
    int* p = cond.wait_for([&] { return &x; }, 1s);
    EXPECT_EQ(p, &x);
    EXPECT_EQ(cond.wait_for([] { return 42; }), 42);
}

TEST(Condition, TwoConditionsShareOneLock) {
    Lock lock;
    Condition not_empty(lock), not_full(lock);
    std::vector<int> items;  // guarded by lock
    constexpr int kCap = 2, kItems = 200;
    std::thread producer([&] {
        for (int i = 0; i < kItems; ++i) {
            std::lock_guard g(lock);
            not_full.wait_for([&] { return items.size() < kCap; });
            items.push_back(i);
            not_empty.notify();
        }
    });
    long sum = 0;
    for (int i = 0; i < kItems; ++i) {
        std::lock_guard g(lock);
        not_empty.wait_for([&] { return !items.empty(); });
        sum += items.front();
        items.erase(items.begin());
        not_full.notify();
    }
    producer.join();
    EXPECT_EQ(sum, long{kItems} * (kItems - 1) / 2);
}
