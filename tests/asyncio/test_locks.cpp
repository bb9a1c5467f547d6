// asyncio's Lock, Event, Condition, Semaphore, BoundedSemaphore and Barrier,
// one behaviour per test, ported from CPython's
// Lib/test/test_asyncio/test_locks.py (the test each one follows is named
// above it). Tasks are sequenced with sleep(0) (one loop step: Python's
// `await asyncio.sleep(0)`) and events, never with wall-clock delays.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <new>
#include <string>
#include <vector>

#include "support.hpp"

#include "allocation_counter.hpp"

using concur::asyncio::testing::AllocationCounter;

namespace asyncio = concur::asyncio;
using asyncio::Task;
using namespace std::chrono_literals;

namespace {

// Python's `await asyncio.sleep(0)`: every task ready now runs one step.
auto step() { return asyncio::sleep(0s); }

// Python's loop.call_soon(task.cancel).
template <class T>
void cancel_soon(Task<T> t) {
    asyncio::get_running_loop().call_soon([t]() mutable { t.cancel(); });
}

// N tasks running make(), gathered (Python's BarrierTests.gather_tasks).
template <class F>
auto gather_tasks(int n, F& make) {
    std::vector<decltype(make())> tasks;
    for (int i = 0; i < n; ++i) tasks.push_back(asyncio::create_task(make()));
    return asyncio::gather(std::move(tasks));
}

}  // namespace

// ---- Lock ---------------------------------------------------------------------

// CPython LockTests.test_release_no_waiters
TEST(Lock, AcquireAndReleaseWithoutWaiters) {
    asyncio::Lock lock;
    auto main = [&]() -> Task<> {
        EXPECT_FALSE(lock.locked());
        EXPECT_TRUE(co_await lock.acquire());
        EXPECT_TRUE(lock.locked());
        lock.release();
        EXPECT_FALSE(lock.locked());
    };
    asyncio::testing::run(main());
}

// CPython LockTests.test_release_not_acquired
TEST(Lock, ReleaseOfAnUnlockedLockIsARuntimeError) {
    asyncio::Lock lock;
    EXPECT_THROW(lock.release(), concur::RuntimeError);
}

// CPython LockTests.test_acquire
TEST(Lock, WaitersAcquireInFifoOrder) {
    asyncio::Lock lock;
    std::vector<int> result;
    auto c = [&](int tag) -> Task<bool> {
        if (co_await lock.acquire()) result.push_back(tag);
        co_return true;
    };
    auto main = [&]() -> Task<> {
        EXPECT_TRUE(co_await lock.acquire());
        auto t1 = asyncio::create_task(c(1));
        auto t2 = asyncio::create_task(c(2));
        co_await step();
        EXPECT_TRUE(result.empty());

        lock.release();
        co_await step();
        EXPECT_EQ(result, (std::vector<int>{1}));
        co_await step();
        EXPECT_EQ(result, (std::vector<int>{1}));

        auto t3 = asyncio::create_task(c(3));
        lock.release();
        co_await step();
        EXPECT_EQ(result, (std::vector<int>{1, 2}));

        lock.release();
        co_await step();
        EXPECT_EQ(result, (std::vector<int>{1, 2, 3}));
        EXPECT_TRUE(t1.done() && t1.result());
        EXPECT_TRUE(t2.done() && t2.result());
        EXPECT_TRUE(t3.done() && t3.result());
    };
    asyncio::testing::run(main());
}

// CPython LockTests.test_acquire_cancel
TEST(Lock, CancelledAcquireThrowsAndLeavesNoWaiter) {
    asyncio::Lock lock;
    auto acquire = [&]() -> Task<> { co_await lock.acquire(); };
    auto main = [&]() -> Task<> {
        co_await lock.acquire();
        auto task = asyncio::create_task(acquire());
        cancel_soon(task);
        EXPECT_THROW(co_await task, asyncio::CancelledError);
        EXPECT_TRUE(task.cancelled());
        // No waiter is left: once released, the lock is free to take at once.
        lock.release();
        co_await lock.acquire();
        EXPECT_TRUE(lock.locked());
    };
    asyncio::testing::run(main());
}

// CPython LockTests.test_cancel_race
TEST(Lock, ReleaseSkipsAWaiterCancelledAtTheSameTime) {
    asyncio::Lock lock;
    asyncio::Event unblock_a;
    auto lockit = [&](asyncio::Event* blocker) -> Task<> {
        co_await lock.acquire();
        if (blocker) co_await blocker->wait();
        lock.release();
    };
    auto main = [&]() -> Task<> {
        auto ta = asyncio::create_task(lockit(&unblock_a));
        co_await step();
        EXPECT_TRUE(lock.locked());
        auto tb = asyncio::create_task(lockit(nullptr));
        co_await step();
        auto tc = asyncio::create_task(lockit(nullptr));
        co_await step();

        unblock_a.set();  // A releases on its next step...
        tb.cancel();      // ...while B's wait is being cancelled
        co_await step();
        EXPECT_FALSE(lock.locked());
        EXPECT_TRUE(ta.done());
        EXPECT_TRUE(tb.cancelled());
        co_await tc;  // C got the lock in B's place
    };
    asyncio::testing::run(main());
}

// CPython LockTests.test_cancel_release_race (bpo-32734)
TEST(Lock, CancelThenReleaseLetsExactlyOneWaiterIn) {
    asyncio::Lock lock;
    int lock_count = 0;
    int call_count = 0;
    auto lockit = [&]() -> Task<> {
        ++call_count;
        co_await lock.acquire();
        ++lock_count;
    };
    auto main = [&]() -> Task<> {
        co_await lock.acquire();
        auto t1 = asyncio::create_task(lockit());
        auto t2 = asyncio::create_task(lockit());
        auto t3 = asyncio::create_task(lockit());
        co_await step();

        asyncio::get_running_loop().call_soon([&] {
            t1.cancel();
            lock.release();
        });
        EXPECT_THROW(co_await t1, asyncio::CancelledError);
        EXPECT_EQ(lock_count, 1);
        EXPECT_EQ(call_count, 3);
        EXPECT_TRUE(t1.cancelled() && t2.done());

        t3.cancel();
        co_await step();
        EXPECT_TRUE(t3.cancelled());
    };
    asyncio::testing::run(main());
}

// CPython LockTests.test_finished_waiter_cancelled
TEST(Lock, AWaiterWokenThenCancelledPassesTheLockOn) {
    asyncio::Lock lock;
    auto acquire = [&]() -> Task<> { co_await lock.acquire(); };
    auto main = [&]() -> Task<> {
        co_await lock.acquire();
        auto tb = asyncio::create_task(acquire());
        co_await step();
        auto tc = asyncio::create_task(acquire());
        tb.cancel();
        lock.release();
        co_await step();
        EXPECT_TRUE(lock.locked());  // taken by C
        EXPECT_TRUE(tb.cancelled());
        co_await tc;
    };
    asyncio::testing::run(main());
}

// CPython 3.13 Lock.acquire fairness (the _wake_up_first rework): between a
// release and the woken waiter's turn, a newcomer queues behind it.
TEST(Lock, ANewcomerDoesNotBargeAheadOfAWokenWaiter) {
    asyncio::Lock lock;
    std::vector<std::string> order;
    auto waiter = [&]() -> Task<> {
        co_await lock.acquire();
        order.push_back("waiter");
        lock.release();
    };
    auto main = [&]() -> Task<> {
        co_await lock.acquire();
        auto t = asyncio::create_task(waiter());
        co_await step();
        lock.release();          // wakes the waiter, which has not run yet
        EXPECT_FALSE(lock.locked());
        co_await lock.acquire();  // must not take the fast path
        order.push_back("main");
        lock.release();
        co_await t;
    };
    asyncio::testing::run(main());
    EXPECT_EQ(order, (std::vector<std::string>{"waiter", "main"}));
}

// A woken waiter cancelled before it ran hands the lock to the next one
// (CPython test_finished_waiter_cancelled, with the wake-up before the cancel).
TEST(Lock, AWaiterCancelledAfterItsWakeUpPassesItOn) {
    asyncio::Lock lock;
    std::vector<int> got;
    auto acquire = [&](int tag) -> Task<> {
        co_await lock.acquire();
        got.push_back(tag);
        lock.release();
    };
    auto main = [&]() -> Task<> {
        co_await lock.acquire();
        auto t1 = asyncio::create_task(acquire(1));
        auto t2 = asyncio::create_task(acquire(2));
        co_await step();
        lock.release();  // wakes t1...
        t1.cancel();     // ...which is cancelled before it runs
        EXPECT_THROW(co_await t1, asyncio::CancelledError);
        co_await t2;
    };
    asyncio::testing::run(main());
    EXPECT_EQ(got, (std::vector<int>{2}));
}

// CPython LockTests.test_context_manager
TEST(Lock, AcquireGuardReleasesAtScopeEnd) {
    asyncio::Lock lock;
    auto main = [&]() -> Task<> {
        {
            auto held = co_await lock.acquire_guard();
            EXPECT_TRUE(held.owns());
            EXPECT_TRUE(lock.locked());
        }
        EXPECT_FALSE(lock.locked());
    };
    asyncio::testing::run(main());
}

TEST(Lock, AcquireGuardReleasesOnAnExceptionAndEarlyOnRequest) {
    asyncio::Lock lock;
    auto main = [&]() -> Task<> {
        try {
            auto held = co_await lock.acquire_guard();
            throw std::runtime_error("boom");
        } catch (const std::runtime_error&) {
        }
        EXPECT_FALSE(lock.locked());
        auto held = co_await lock.acquire_guard();
        held.release();
        EXPECT_FALSE(held.owns());
        EXPECT_FALSE(lock.locked());
    };
    asyncio::testing::run(main());
}

// Not suspending is part of the contract: a free lock is taken in place.
TEST(Lock, UncontendedAcquireDoesNotSuspend) {
    asyncio::Lock lock;
    bool other_ran = false;
    auto other = [&]() -> Task<> {
        other_ran = true;
        co_return;
    };
    auto main = [&]() -> Task<> {
        auto t = asyncio::create_task(other());
        for (int i = 0; i < 3; ++i) {
            co_await lock.acquire();
            lock.release();
        }
        EXPECT_FALSE(other_ran);
        co_await t;
    };
    asyncio::testing::run(main());
}

// The uncontended paths neither suspend (see UncontendedAcquireDoesNotSuspend)
// nor allocate: the waiter machinery costs nothing until a task must wait.
TEST(Lock, UncontendedPathsDoNotAllocate) {
#if defined(CONCUR_SANITIZE_thread)
    GTEST_SKIP() << "ThreadSanitizer's runtime owns operator new: allocations cannot be counted here";
#endif
    asyncio::Lock lock;
    asyncio::Semaphore sem(2);
    asyncio::BoundedSemaphore bounded(1);
    asyncio::Event ev;
    asyncio::Condition cond;
    ev.set();
    auto main = [&]() -> Task<long> {
        AllocationCounter count;
        for (int i = 0; i < 100; ++i) {
            co_await lock.acquire();
            lock.release();
            {
                auto held = co_await sem.acquire_guard();
                auto held2 = co_await bounded.acquire_guard();
                auto held3 = co_await cond.acquire_guard();
            }
            co_await ev.wait();
        }
        co_return count.stop();
    };
    EXPECT_EQ(asyncio::testing::run(main()), 0);
}

// CPython ConditionTests.test_ambiguous_loops (Lock half): a lock waited on
// from one loop cannot be waited on from another.
TEST(Lock, WaitingFromASecondLoopIsARuntimeError) {
    asyncio::Lock lock;
    auto contend = [&]() -> Task<> {
        co_await lock.acquire();
        auto waiter = [&]() -> Task<> { co_await lock.acquire(); };
        auto t = asyncio::create_task(waiter());
        co_await step();
        lock.release();
        co_await t;
        lock.release();
    };
    asyncio::EventLoop loop1;
    asyncio::EventLoop loop2;
    loop1.run_until_complete(contend());
    EXPECT_THROW(loop2.run_until_complete(contend()), concur::RuntimeError);
}

// A task still waiting when its loop closes is destroyed mid-wait (as
// Python's close() drops pending tasks); its waiter unlinks itself, so the
// lock is left consistent.
TEST(Lock, ALoopClosedWithATaskWaitingLeavesTheLockConsistent) {
    asyncio::Lock lock;
    {
        asyncio::EventLoop loop;
        auto waiter = [&]() -> Task<> { co_await lock.acquire(); };
        auto main = [&]() -> Task<> {
            co_await lock.acquire();
            auto t = asyncio::create_task(waiter());
            co_await step();
        };
        loop.run_until_complete(main());
    }
    lock.release();  // would wake the destroyed waiter if it were still linked
    EXPECT_FALSE(lock.locked());
}

// ---- Event --------------------------------------------------------------------

// CPython EventTests.test_wait
TEST(Event, SetWakesEveryWaiter) {
    asyncio::Event ev;
    std::vector<int> result;
    auto c = [&](int tag) -> Task<> {
        if (co_await ev.wait()) result.push_back(tag);
    };
    auto main = [&]() -> Task<> {
        EXPECT_FALSE(ev.is_set());
        auto t1 = asyncio::create_task(c(1));
        auto t2 = asyncio::create_task(c(2));
        co_await step();
        EXPECT_TRUE(result.empty());
        auto t3 = asyncio::create_task(c(3));  // starts after set(): no wait
        ev.set();
        co_await step();
        EXPECT_EQ(result, (std::vector<int>{3, 1, 2}));
        EXPECT_TRUE(t1.done() && t2.done() && t3.done());
    };
    asyncio::testing::run(main());
}

// CPython EventTests.test_wait_on_set
TEST(Event, WaitOnASetEventReturnsAtOnce) {
    asyncio::Event ev;
    ev.set();
    auto main = [&]() -> Task<bool> { co_return co_await ev.wait(); };
    EXPECT_TRUE(asyncio::testing::run(main()));
}

// CPython EventTests.test_wait_cancel
TEST(Event, CancelledWaitThrowsAndLeavesNoWaiter) {
    asyncio::Event ev;
    auto wait = [&]() -> Task<> { co_await ev.wait(); };
    auto main = [&]() -> Task<> {
        auto t = asyncio::create_task(wait());
        cancel_soon(t);
        EXPECT_THROW(co_await t, asyncio::CancelledError);
        ev.set();  // nobody left to wake
    };
    asyncio::testing::run(main());
}

// CPython EventTests.test_clear
TEST(Event, ClearResetsTheFlag) {
    asyncio::Event ev;
    ev.set();
    EXPECT_TRUE(ev.is_set());
    ev.clear();
    EXPECT_FALSE(ev.is_set());
}

// CPython EventTests.test_clear_with_waiters
TEST(Event, AWaiterWokenBySetReturnsEvenIfClearFollows) {
    asyncio::Event ev;
    std::vector<int> result;
    auto c = [&]() -> Task<bool> {
        if (co_await ev.wait()) result.push_back(1);
        co_return true;
    };
    auto main = [&]() -> Task<> {
        auto t = asyncio::create_task(c());
        co_await step();
        EXPECT_TRUE(result.empty());
        ev.set();
        ev.clear();
        EXPECT_FALSE(ev.is_set());
        ev.set();
        ev.set();
        co_await step();
        EXPECT_EQ(result, (std::vector<int>{1}));
        EXPECT_TRUE(t.done() && t.result());
    };
    asyncio::testing::run(main());
}

// ---- Condition ----------------------------------------------------------------

// CPython ConditionTests.test_wait
TEST(Condition, NotifiedWaitersResumeOneByOneAsTheLockFrees) {
    asyncio::Condition cond;
    std::vector<int> result;
    auto c = [&](int tag) -> Task<bool> {
        co_await cond.acquire();
        if (co_await cond.wait()) result.push_back(tag);
        co_return true;
    };
    auto main = [&]() -> Task<> {
        auto t1 = asyncio::create_task(c(1));
        auto t2 = asyncio::create_task(c(2));
        auto t3 = asyncio::create_task(c(3));
        co_await step();
        EXPECT_TRUE(result.empty());
        EXPECT_FALSE(cond.locked());

        EXPECT_TRUE(co_await cond.acquire());
        cond.notify();
        co_await step();
        EXPECT_TRUE(result.empty());  // woken, but the lock is still ours
        EXPECT_TRUE(cond.locked());

        cond.release();
        co_await step();
        EXPECT_EQ(result, (std::vector<int>{1}));
        EXPECT_TRUE(cond.locked());  // t1 holds it now

        cond.notify(2);
        co_await step();
        EXPECT_EQ(result, (std::vector<int>{1}));
        EXPECT_TRUE(cond.locked());

        cond.release();
        co_await step();
        EXPECT_EQ(result, (std::vector<int>{1, 2}));
        EXPECT_TRUE(cond.locked());

        cond.release();
        co_await step();
        EXPECT_EQ(result, (std::vector<int>{1, 2, 3}));
        EXPECT_TRUE(cond.locked());
        EXPECT_TRUE(t1.done() && t1.result());
        EXPECT_TRUE(t2.done() && t2.result());
        EXPECT_TRUE(t3.done() && t3.result());
    };
    asyncio::testing::run(main());
}

// CPython ConditionTests.test_wait_cancel
TEST(Condition, CancelledWaitReacquiresTheLockBeforeThrowing) {
    asyncio::Condition cond;
    auto main = [&]() -> Task<> {
        co_await cond.acquire();
        auto wait = asyncio::create_task(cond.wait());
        cancel_soon(wait);
        EXPECT_THROW(co_await wait, asyncio::CancelledError);
        EXPECT_TRUE(cond.locked());
    };
    asyncio::testing::run(main());
}

// CPython ConditionTests.test_wait_cancel_contested
TEST(Condition, CancelAfterNotifyWhileTheLockIsContestedStillReacquires) {
    asyncio::Condition cond;
    auto main = [&]() -> Task<> {
        co_await cond.acquire();
        EXPECT_TRUE(cond.locked());
        auto wait_task = asyncio::create_task(cond.wait());
        co_await step();
        EXPECT_FALSE(cond.locked());

        co_await cond.acquire();  // contest the lock, then notify and cancel
        EXPECT_TRUE(cond.locked());
        cond.notify();
        cancel_soon(wait_task);
        asyncio::get_running_loop().call_soon([&] { cond.release(); });
        try {
            co_await wait_task;
        } catch (const asyncio::CancelledError&) {
        }
        EXPECT_TRUE(cond.locked());
    };
    asyncio::testing::run(main());
}

// CPython ConditionTests.test_wait_cancel_after_notify (bpo-32841)
TEST(Condition, CancelWhileReacquiringEndsTheTaskCancelled) {
    asyncio::Condition cond;
    bool waited = false;
    auto wait_on_cond = [&]() -> Task<> {
        auto held = co_await cond.acquire_guard();
        waited = true;
        co_await cond.wait();
    };
    auto main = [&]() -> Task<> {
        auto waiter = asyncio::create_task(wait_on_cond());
        co_await step();  // it waits
        co_await cond.acquire();
        cond.notify();
        co_await step();  // it queues for the lock
        waiter.cancel();
        co_await step();  // the cancellation reaches it
        cond.release();
        co_await step();  // it takes the lock and ends
        EXPECT_TRUE(waiter.cancelled());
        EXPECT_TRUE(waited);
        EXPECT_FALSE(cond.locked());  // its guard released the lock
    };
    asyncio::testing::run(main());
}

// CPython ConditionTests.test_wait_unacquired
TEST(Condition, WaitWithoutTheLockIsARuntimeError) {
    asyncio::Condition cond;
    auto main = [&]() -> Task<> { EXPECT_THROW(co_await cond.wait(), concur::RuntimeError); };
    asyncio::testing::run(main());
}

// CPython ConditionTests.test_wait_for
TEST(Condition, WaitForReturnsOnceThePredicateHolds) {
    asyncio::Condition cond;
    bool presult = false;
    std::vector<int> result;
    auto c = [&]() -> Task<bool> {
        co_await cond.acquire();
        if (co_await cond.wait_for([&] { return presult; })) {
            result.push_back(1);
            cond.release();
        }
        co_return true;
    };
    auto main = [&]() -> Task<> {
        auto t = asyncio::create_task(c());
        co_await step();
        EXPECT_TRUE(result.empty());

        co_await cond.acquire();
        cond.notify();
        cond.release();
        co_await step();
        EXPECT_TRUE(result.empty());  // woken, predicate false: waits again

        presult = true;
        co_await cond.acquire();
        cond.notify();
        cond.release();
        co_await step();
        EXPECT_EQ(result, (std::vector<int>{1}));
        EXPECT_TRUE(t.done() && t.result());
    };
    asyncio::testing::run(main());
}

// CPython ConditionTests.test_wait_for_unacquired
TEST(Condition, WaitForGivesATruePredicateValueWithoutTheLock) {
    asyncio::Condition cond;
    auto main = [&]() -> Task<> {
        int v = co_await cond.wait_for([] { return 7; });
        EXPECT_EQ(v, 7);
        EXPECT_THROW(co_await cond.wait_for([] { return false; }), concur::RuntimeError);
    };
    asyncio::testing::run(main());
}

// CPython ConditionTests.test_notify
TEST(Condition, NotifyWakesAtMostNWaitersInOrder) {
    asyncio::Condition cond;
    std::vector<int> result;
    auto c = [&](int tag) -> Task<> {
        co_await cond.acquire();
        if (co_await cond.wait()) {
            result.push_back(tag);
            cond.release();
        }
    };
    auto main = [&]() -> Task<> {
        auto t1 = asyncio::create_task(c(1));
        auto t2 = asyncio::create_task(c(2));
        auto t3 = asyncio::create_task(c(3));
        co_await step();
        EXPECT_TRUE(result.empty());

        co_await cond.acquire();
        cond.notify(1);
        cond.release();
        co_await step();
        EXPECT_EQ(result, (std::vector<int>{1}));

        co_await cond.acquire();
        cond.notify(1);
        cond.notify(2048);
        cond.release();
        co_await step();
        EXPECT_EQ(result, (std::vector<int>{1, 2, 3}));
        EXPECT_TRUE(t1.done() && t2.done() && t3.done());
    };
    asyncio::testing::run(main());
}

// CPython ConditionTests.test_notify_all
TEST(Condition, NotifyAllWakesEveryWaiter) {
    asyncio::Condition cond;
    std::vector<int> result;
    auto c = [&](int tag) -> Task<> {
        co_await cond.acquire();
        if (co_await cond.wait()) {
            result.push_back(tag);
            cond.release();
        }
    };
    auto main = [&]() -> Task<> {
        auto t1 = asyncio::create_task(c(1));
        auto t2 = asyncio::create_task(c(2));
        co_await step();
        co_await cond.acquire();
        cond.notify_all();
        cond.release();
        co_await step();
        EXPECT_EQ(result, (std::vector<int>{1, 2}));
        EXPECT_TRUE(t1.done() && t2.done());
    };
    asyncio::testing::run(main());
}

// CPython ConditionTests.test_notify_unacquired / test_notify_all_unacquired
TEST(Condition, NotifyWithoutTheLockIsARuntimeError) {
    asyncio::Condition cond;
    EXPECT_THROW(cond.notify(), concur::RuntimeError);
    EXPECT_THROW(cond.notify_all(), concur::RuntimeError);
}

// CPython ConditionTests.test_explicit_lock / test_context_manager
TEST(Condition, ASharedLockIsTheConditionsLock) {
    asyncio::Lock lock;
    asyncio::Condition cond(lock);
    auto main = [&]() -> Task<> {
        EXPECT_FALSE(cond.locked());
        {
            auto held = co_await cond.acquire_guard();
            EXPECT_TRUE(lock.locked());
            EXPECT_TRUE(cond.locked());
        }
        EXPECT_FALSE(lock.locked());
        {
            auto held = co_await lock.acquire_guard();
            EXPECT_TRUE(cond.locked());
        }
        EXPECT_FALSE(cond.locked());
    };
    asyncio::testing::run(main());
}

// CPython ConditionTests.test_cancelled_error_wakeup
TEST(Condition, CancelWhileWaitingRethrowsTheSameCancelledError) {
    asyncio::Condition cond;
    const void* raised = nullptr;
    auto func = [&]() -> Task<> {
        auto held = co_await cond.acquire_guard();
        try {
            co_await cond.wait_for([] { return false; });
        } catch (const asyncio::CancelledError& e) {
            raised = &e;
            throw;
        }
    };
    auto main = [&]() -> Task<> {
        auto task = asyncio::create_task(func());
        co_await step();
        task.cancel("foo");
        try {
            co_await task;
            ADD_FAILURE() << "no CancelledError";
        } catch (const asyncio::CancelledError& e) {
            EXPECT_STREQ(e.what(), "foo");
            EXPECT_EQ(&e, raised);
        }
    };
    asyncio::testing::run(main());
}

// CPython ConditionTests.test_cancelled_error_re_aquire
TEST(Condition, CancelWhileReacquiringRethrowsTheSameCancelledError) {
    asyncio::Condition cond;
    bool wake = false;
    const void* raised = nullptr;
    auto func = [&]() -> Task<> {
        auto held = co_await cond.acquire_guard();
        try {
            co_await cond.wait_for([&] { return wake; });
        } catch (const asyncio::CancelledError& e) {
            raised = &e;
            throw;
        }
    };
    auto main = [&]() -> Task<> {
        auto task = asyncio::create_task(func());
        co_await step();
        co_await cond.acquire();
        wake = true;
        cond.notify();
        co_await step();  // it now waits for the lock
        task.cancel("foo");
        cond.release();
        try {
            co_await task;
            ADD_FAILURE() << "no CancelledError";
        } catch (const asyncio::CancelledError& e) {
            EXPECT_STREQ(e.what(), "foo");
            EXPECT_EQ(&e, raised);
        }
    };
    asyncio::testing::run(main());
}

namespace {
// The consumers of CPython's test_cancelled_wakeup(_relock): take one unit of
// `state` per wake-up, return when it goes negative.
struct Consumers {
    asyncio::Condition condition;
    int state = 0;
    Task<> consumer() {
        auto held = co_await condition.acquire_guard();
        for (;;) {
            co_await condition.wait_for([this] { return state != 0; });
            if (state < 0) co_return;
            --state;
        }
    }
};
}  // namespace

// CPython ConditionTests.test_cancelled_wakeup
TEST(Condition, AWaiterCancelledRightAfterNotifyPassesTheWakeUpOn) {
    Consumers s;
    auto main = [&]() -> Task<> {
        auto c0 = asyncio::create_task(s.consumer());
        auto c1 = asyncio::create_task(s.consumer());
        co_await step();
        {
            auto held = co_await s.condition.acquire_guard();
            ++s.state;
            s.condition.notify(1);
            c0.cancel();  // before it could run: its wake-up must not be lost
        }
        for (int i = 0; i < 10 && s.state != 0; ++i) co_await step();
        EXPECT_EQ(s.state, 0);
        EXPECT_TRUE(c0.cancelled());
        {
            auto held = co_await s.condition.acquire_guard();
            s.state = -1;
            s.condition.notify_all();
        }
        co_await c1;
    };
    asyncio::testing::run(main());
}

// CPython ConditionTests.test_cancelled_wakeup_relock
TEST(Condition, AWaiterCancelledWhileRelockingPassesTheWakeUpOn) {
    Consumers s;
    auto main = [&]() -> Task<> {
        auto c0 = asyncio::create_task(s.consumer());
        auto c1 = asyncio::create_task(s.consumer());
        co_await step();
        {
            auto held = co_await s.condition.acquire_guard();
            ++s.state;
            s.condition.notify(1);
            co_await step();  // c0 wakes and queues for the lock
            c0.cancel();
        }
        for (int i = 0; i < 10 && s.state != 0; ++i) co_await step();
        EXPECT_EQ(s.state, 0);
        EXPECT_TRUE(c0.cancelled());
        {
            auto held = co_await s.condition.acquire_guard();
            s.state = -1;
            s.condition.notify_all();
        }
        co_await c1;
    };
    asyncio::testing::run(main());
}

// ---- Semaphore, BoundedSemaphore ---------------------------------------------

// CPython SemaphoreTests.test_initial_value_zero / test_semaphore
TEST(Semaphore, LockedOnlyWhenNoUnitIsLeft) {
    asyncio::Semaphore zero(0);
    EXPECT_TRUE(zero.locked());
    asyncio::Semaphore one;
    EXPECT_FALSE(one.locked());
}

// CPython SemaphoreTests.test_semaphore_value
TEST(Semaphore, NegativeInitialValueIsAValueError) {
    EXPECT_THROW(asyncio::Semaphore(-1), concur::ValueError);
    EXPECT_THROW(asyncio::BoundedSemaphore(-1), concur::ValueError);
}

// CPython SemaphoreTests.test_acquire
TEST(Semaphore, ReleasesWakeWaitersInOrder) {
    asyncio::Semaphore sem(3);
    std::vector<int> result;
    auto c = [&](int tag) -> Task<bool> {
        co_await sem.acquire();
        result.push_back(tag);
        co_return true;
    };
    auto main = [&]() -> Task<> {
        EXPECT_TRUE(co_await sem.acquire());
        EXPECT_TRUE(co_await sem.acquire());
        EXPECT_FALSE(sem.locked());
        auto t1 = asyncio::create_task(c(1));
        auto t2 = asyncio::create_task(c(2));
        auto t3 = asyncio::create_task(c(3));
        co_await step();
        EXPECT_EQ(result, (std::vector<int>{1}));
        EXPECT_TRUE(sem.locked());

        auto t4 = asyncio::create_task(c(4));
        sem.release();
        sem.release();
        co_await step();
        EXPECT_EQ(result, (std::vector<int>{1, 2, 3}));  // FIFO: t4 still waits
        EXPECT_TRUE(sem.locked());
        EXPECT_FALSE(t4.done());

        sem.release();
        co_await t4;
        EXPECT_EQ(result, (std::vector<int>{1, 2, 3, 4}));
        EXPECT_TRUE(t1.done() && t2.done() && t3.done());
    };
    asyncio::testing::run(main());
}

// CPython SemaphoreTests.test_acquire_cancel
TEST(Semaphore, CancelledAcquireTakesNoUnit) {
    asyncio::Semaphore sem;
    auto acquire = [&]() -> Task<> { co_await sem.acquire(); };
    auto main = [&]() -> Task<> {
        co_await sem.acquire();
        auto t = asyncio::create_task(acquire());
        cancel_soon(t);
        EXPECT_THROW(co_await t, asyncio::CancelledError);
        sem.release();
        EXPECT_FALSE(sem.locked());
    };
    asyncio::testing::run(main());
}

// CPython SemaphoreTests.test_acquire_cancel_before_awoken
TEST(Semaphore, CancelledWaitersAreSkippedByRelease) {
    asyncio::Semaphore sem(0);
    auto acquire = [&]() -> Task<> { co_await sem.acquire(); };
    auto main = [&]() -> Task<> {
        auto t1 = asyncio::create_task(acquire());
        auto t2 = asyncio::create_task(acquire());
        auto t3 = asyncio::create_task(acquire());
        auto t4 = asyncio::create_task(acquire());
        co_await step();
        t1.cancel();
        t2.cancel();
        sem.release();
        co_await step();
        co_await step();
        EXPECT_TRUE(t3.done());
        EXPECT_FALSE(t4.done());
        t3.cancel();
        t4.cancel();
        co_await step();
    };
    asyncio::testing::run(main());
}

// CPython SemaphoreTests.test_acquire_hang
TEST(Semaphore, ReleaseAfterACancelReachesTheNextWaiter) {
    asyncio::Semaphore sem(0);
    auto acquire = [&]() -> Task<> { co_await sem.acquire(); };
    auto main = [&]() -> Task<> {
        auto t1 = asyncio::create_task(acquire());
        auto t2 = asyncio::create_task(acquire());
        co_await step();
        t1.cancel();
        sem.release();
        co_await step();
        co_await step();
        EXPECT_TRUE(sem.locked());
        EXPECT_TRUE(t2.done());
    };
    asyncio::testing::run(main());
}

// CPython SemaphoreTests.test_acquire_no_hang
TEST(Semaphore, CancellingAWaiterLosesNoUnit) {
    asyncio::Semaphore sem(1);
    Task<> t2;
    auto c1 = [&]() -> Task<> {
        auto held = co_await sem.acquire_guard();
        co_await step();
        t2.cancel();  // while t2 waits for our unit
    };
    auto c2 = [&]() -> Task<> {
        auto held = co_await sem.acquire_guard();
        ADD_FAILURE() << "c2 should have been cancelled";
    };
    auto main = [&]() -> Task<> {
        auto t1 = asyncio::create_task(c1());
        t2 = asyncio::create_task(c2());
        std::vector<Task<>> both;
        both.push_back(t1);
        both.push_back(t2);
        auto r = co_await asyncio::gather(std::move(both), asyncio::return_exceptions);
        EXPECT_TRUE(r[0].ok());
        EXPECT_FALSE(r[1].ok());
        EXPECT_FALSE(sem.locked());  // the unit is back: acquire cannot hang
        co_await sem.acquire();
    };
    asyncio::testing::run(main());
}

// The Semaphore half of CPython's bpo-90155 fix: a waiter handed a unit but
// cancelled before it ran gives the unit to the next waiter.
TEST(Semaphore, AWaiterWokenThenCancelledPassesItsUnitOn) {
    asyncio::Semaphore sem(0);
    auto acquire = [&]() -> Task<> { co_await sem.acquire(); };
    auto main = [&]() -> Task<> {
        auto t1 = asyncio::create_task(acquire());
        auto t2 = asyncio::create_task(acquire());
        co_await step();
        sem.release();  // hands the unit to t1...
        t1.cancel();    // ...which is cancelled before it runs
        EXPECT_THROW(co_await t1, asyncio::CancelledError);
        co_await t2;
        EXPECT_TRUE(sem.locked());
    };
    asyncio::testing::run(main());
}

// CPython SemaphoreTests.test_release_not_acquired
TEST(Semaphore, BoundedSemaphoreReleasedTooOftenIsAValueError) {
    asyncio::BoundedSemaphore sem;
    EXPECT_THROW(sem.release(), concur::ValueError);
    asyncio::BoundedSemaphore two(2);
    auto main = [&]() -> Task<> {
        co_await two.acquire();
        two.release();
        EXPECT_THROW(two.release(), concur::ValueError);
    };
    asyncio::testing::run(main());
}

// CPython SemaphoreTests.test_release_no_waiters
TEST(Semaphore, ReleaseWithoutWaitersUnlocks) {
    asyncio::Semaphore sem;
    auto main = [&]() -> Task<> {
        co_await sem.acquire();
        EXPECT_TRUE(sem.locked());
        sem.release();
        EXPECT_FALSE(sem.locked());
    };
    asyncio::testing::run(main());
}

// CPython SemaphoreTests.test_acquire_fifo_order
TEST(Semaphore, TasksAcquireInFifoOrderRoundAfterRound) {
    asyncio::Semaphore sem(1);
    std::vector<std::string> result;
    auto coro = [&](std::string tag) -> Task<> {
        co_await sem.acquire();
        result.push_back(tag + "_1");
        co_await step();
        sem.release();
        co_await sem.acquire();
        result.push_back(tag + "_2");
        co_await step();
        sem.release();
    };
    auto main = [&]() -> Task<> {
        std::vector<Task<>> tasks;
        tasks.push_back(asyncio::create_task(coro("c1")));
        tasks.push_back(asyncio::create_task(coro("c2")));
        tasks.push_back(asyncio::create_task(coro("c3")));
        co_await asyncio::gather(std::move(tasks));
    };
    asyncio::testing::run(main());
    EXPECT_EQ(result, (std::vector<std::string>{"c1_1", "c2_1", "c3_1", "c1_2", "c2_2", "c3_2"}));
}

// CPython SemaphoreTests.test_acquire_fifo_order_2
TEST(Semaphore, AReleasingTaskRequeuesBehindTheOthers) {
    asyncio::Semaphore sem(1);
    std::vector<int> result;
    auto c1 = [&]() -> Task<> {
        co_await sem.acquire();
        result.push_back(1);
    };
    auto c2 = [&]() -> Task<> {
        co_await sem.acquire();
        result.push_back(2);
        sem.release();
        co_await sem.acquire();
        result.push_back(4);
    };
    auto c3 = [&]() -> Task<> {
        co_await sem.acquire();
        result.push_back(3);
    };
    auto main = [&]() -> Task<> {
        std::vector<Task<>> tasks;
        tasks.push_back(asyncio::create_task(c1()));
        tasks.push_back(asyncio::create_task(c2()));
        tasks.push_back(asyncio::create_task(c3()));
        co_await step();
        sem.release();
        sem.release();
        co_await asyncio::gather(std::move(tasks));
    };
    asyncio::testing::run(main());
    EXPECT_EQ(result, (std::vector<int>{1, 2, 3, 4}));
}

// CPython SemaphoreTests.test_acquire_fifo_order_3
TEST(Semaphore, ACancelledWaiterDoesNotTakeAUnit) {
    asyncio::Semaphore sem(0);
    std::vector<int> result;
    auto c = [&](int tag) -> Task<> {
        co_await sem.acquire();
        result.push_back(tag);
    };
    auto main = [&]() -> Task<> {
        std::vector<Task<>> tasks;
        tasks.push_back(asyncio::create_task(c(1)));
        tasks.push_back(asyncio::create_task(c(2)));
        tasks.push_back(asyncio::create_task(c(3)));
        co_await step();
        tasks[0].cancel();
        co_await step();
        sem.release();
        sem.release();
        co_await asyncio::gather(std::move(tasks), asyncio::return_exceptions);
    };
    asyncio::testing::run(main());
    EXPECT_EQ(result, (std::vector<int>{2, 3}));
}

// CPython SemaphoreTests.test_acquire_fifo_order_4
TEST(Semaphore, ASuccessfulAcquireWakesTheWaitersFifoOrderHeldBack) {
    asyncio::Semaphore sem(0);
    std::vector<int> result;
    Task<> t4;
    auto c4 = [&]() -> Task<> {
        result.push_back(4);
        co_return;
    };
    auto c1 = [&]() -> Task<> {
        co_await sem.acquire();
        t4 = asyncio::create_task(c4());  // must run after c3, not c2
        result.push_back(1);
    };
    auto c2 = [&]() -> Task<> {
        sem.release();
        sem.release();
        sem.release();
        EXPECT_TRUE(sem.locked());  // c1 has not resumed yet
        co_await sem.acquire();
        result.push_back(2);
    };
    auto c3 = [&]() -> Task<> {
        co_await sem.acquire();
        EXPECT_TRUE(sem.locked());
        result.push_back(3);
    };
    auto main = [&]() -> Task<> {
        std::vector<Task<>> tasks;
        tasks.push_back(asyncio::create_task(c1()));
        tasks.push_back(asyncio::create_task(c2()));
        tasks.push_back(asyncio::create_task(c3()));
        co_await step();
        co_await step();
        co_await asyncio::gather(std::move(tasks));
        co_await t4;
    };
    asyncio::testing::run(main());
    EXPECT_EQ(result, (std::vector<int>{1, 2, 3, 4}));
}

// CPython LockTests.test_lock_by_with_statement (Semaphore, BoundedSemaphore)
TEST(Semaphore, AcquireGuardGivesTheUnitBack) {
    asyncio::Semaphore sem;
    asyncio::BoundedSemaphore bounded;
    auto main = [&]() -> Task<> {
        {
            auto a = co_await sem.acquire_guard();
            auto b = co_await bounded.acquire_guard();
            EXPECT_TRUE(sem.locked());
            EXPECT_TRUE(bounded.locked());
        }
        EXPECT_FALSE(sem.locked());
        EXPECT_FALSE(bounded.locked());
    };
    asyncio::testing::run(main());
}

// ---- Barrier ------------------------------------------------------------------

// CPython BarrierTests.test_barrier_parties
TEST(Barrier, PartiesBelowOneIsAValueError) {
    EXPECT_THROW(asyncio::Barrier(0), concur::ValueError);
    EXPECT_THROW(asyncio::Barrier(-4), concur::ValueError);
    EXPECT_EQ(asyncio::Barrier(5).parties(), 5);
}

// CPython BarrierTests.test_context_manager
TEST(Barrier, EachTaskGetsADistinctArrivalIndex) {
    asyncio::Barrier barrier(3);
    auto coro = [&]() -> Task<int> { co_return co_await barrier.wait(); };
    auto main = [&]() -> Task<> {
        auto indices = co_await gather_tasks(3, coro);
        std::sort(indices.begin(), indices.end());
        EXPECT_EQ(indices, (std::vector<int>{0, 1, 2}));
        EXPECT_EQ(barrier.n_waiting(), 0);
        EXPECT_FALSE(barrier.broken());
    };
    asyncio::testing::run(main());
}

// CPython BarrierTests.test_filling_one_task / test_filling_one_task_twice
TEST(Barrier, OnePartyNeverWaits) {
    asyncio::Barrier barrier(1);
    auto main = [&]() -> Task<> {
        EXPECT_EQ(co_await barrier.wait(), 0);
        EXPECT_EQ(co_await barrier.wait(), 0);
        EXPECT_EQ(barrier.n_waiting(), 0);
        EXPECT_FALSE(barrier.broken());
    };
    asyncio::testing::run(main());
}

// CPython BarrierTests.test_filling_task_by_task
TEST(Barrier, NWaitingCountsTheArrivedTasks) {
    asyncio::Barrier barrier(3);
    auto main = [&]() -> Task<> {
        auto t1 = asyncio::create_task(barrier.wait());
        co_await step();
        EXPECT_EQ(barrier.n_waiting(), 1);
        auto t2 = asyncio::create_task(barrier.wait());
        co_await step();
        EXPECT_EQ(barrier.n_waiting(), 2);
        auto t3 = asyncio::create_task(barrier.wait());
        co_await t1;
        co_await t2;
        co_await t3;
        EXPECT_EQ(barrier.n_waiting(), 0);
        EXPECT_FALSE(barrier.broken());
    };
    asyncio::testing::run(main());
}

// CPython BarrierTests.test_filling_tasks_wait_twice
TEST(Barrier, IsReusableRoundAfterRound) {
    constexpr int kN = 5;
    asyncio::Barrier barrier(kN);
    std::vector<bool> results;
    auto coro = [&]() -> Task<> {
        co_await barrier.wait();
        results.push_back(true);
        co_await barrier.wait();
        results.push_back(false);
    };
    auto main = [&]() -> Task<> { co_await gather_tasks(kN, coro); };
    asyncio::testing::run(main());
    EXPECT_EQ(std::count(results.begin(), results.end(), true), kN);
    EXPECT_EQ(std::count(results.begin(), results.end(), false), kN);
    // Every first-round entry precedes every second-round one.
    EXPECT_TRUE(std::is_partitioned(results.begin(), results.end(), [](bool b) { return b; }));
    EXPECT_EQ(barrier.n_waiting(), 0);
}

// CPython BarrierTests.test_blocking_tasks_while_draining
TEST(Barrier, TasksArrivingWhileItDrainsWaitForTheNextRound) {
    constexpr int kN = 5;
    constexpr int kRewait = 2;
    asyncio::Barrier barrier(kN);
    asyncio::Barrier others(kN - kRewait);
    int rewait = kRewait;
    auto coro = [&]() -> Task<> {
        co_await barrier.wait();
        if (rewait > 0) {
            --rewait;
            co_await barrier.wait();  // arrives while the round drains
        } else {
            co_await others.wait();
            co_await barrier.wait();
        }
    };
    auto main = [&]() -> Task<> { co_await gather_tasks(kN, coro); };
    asyncio::testing::run(main());
    EXPECT_EQ(barrier.n_waiting(), 0);
    EXPECT_FALSE(barrier.broken());
}

// CPython BarrierTests.test_filling_tasks_cancel_one
TEST(Barrier, ACancelledWaiterLeavesTheRound) {
    asyncio::Barrier barrier(3);
    int passed = 0;
    auto coro = [&]() -> Task<> {
        co_await barrier.wait();
        ++passed;
    };
    auto main = [&]() -> Task<> {
        auto t1 = asyncio::create_task(coro());
        co_await step();
        EXPECT_EQ(barrier.n_waiting(), 1);
        auto t2 = asyncio::create_task(coro());
        co_await step();
        EXPECT_EQ(barrier.n_waiting(), 2);

        t1.cancel();
        co_await step();
        EXPECT_EQ(barrier.n_waiting(), 1);
        EXPECT_THROW(co_await t1, asyncio::CancelledError);

        auto t3 = asyncio::create_task(coro());
        co_await step();
        EXPECT_EQ(barrier.n_waiting(), 2);
        auto t4 = asyncio::create_task(coro());
        co_await t2;
        co_await t3;
        co_await t4;
        EXPECT_EQ(passed, 3);
        EXPECT_EQ(barrier.n_waiting(), 0);
        EXPECT_FALSE(barrier.broken());
    };
    asyncio::testing::run(main());
}

// CPython BarrierTests.test_reset_barrier
TEST(Barrier, ResetOfAnIdleBarrierKeepsItUsable) {
    asyncio::Barrier barrier(1);
    auto main = [&]() -> Task<> {
        co_await barrier.reset();
        EXPECT_EQ(barrier.n_waiting(), 0);
        EXPECT_FALSE(barrier.broken());
        EXPECT_EQ(co_await barrier.wait(), 0);
    };
    asyncio::testing::run(main());
}

// CPython BarrierTests.test_reset_barrier_while_tasks_waiting
TEST(Barrier, ResetBreaksTheCurrentWaitersOnly) {
    constexpr int kN = 5;
    asyncio::Barrier barrier(kN);
    int broken = 0;
    auto coro = [&]() -> Task<> {
        try {
            co_await barrier.wait();
        } catch (const asyncio::BrokenBarrierError&) {
            ++broken;
        }
    };
    auto main = [&]() -> Task<> {
        std::vector<Task<>> tasks;
        for (int i = 0; i < kN - 1; ++i) tasks.push_back(asyncio::create_task(coro()));
        co_await step();
        auto reset = asyncio::create_task(barrier.reset());
        co_await asyncio::gather(std::move(tasks));
        co_await reset;
        EXPECT_EQ(broken, kN - 1);
        EXPECT_EQ(barrier.n_waiting(), 0);
        EXPECT_FALSE(barrier.broken());
    };
    asyncio::testing::run(main());
}

// CPython BarrierTests.test_reset_barrier_while_tasks_waiting_and_waiting_again
TEST(Barrier, TasksBrokenByResetCanWaitAgain) {
    constexpr int kN = 5;
    asyncio::Barrier barrier(kN);
    int broken = 0;
    int passed = 0;
    auto coro1 = [&]() -> Task<> {
        try {
            co_await barrier.wait();
        } catch (const asyncio::BrokenBarrierError&) {
            ++broken;
        }
        co_await barrier.wait();
        ++passed;
    };
    auto coro2 = [&]() -> Task<> {
        co_await barrier.wait();
        ++passed;
    };
    auto main = [&]() -> Task<> {
        std::vector<Task<>> tasks;
        for (int i = 0; i < kN - 1; ++i) tasks.push_back(asyncio::create_task(coro1()));
        auto reset = asyncio::create_task(barrier.reset());
        co_await step();
        auto last = asyncio::create_task(coro2());
        co_await asyncio::gather(std::move(tasks));
        co_await last;
        co_await reset;
    };
    asyncio::testing::run(main());
    EXPECT_EQ(broken, kN - 1);
    EXPECT_EQ(passed, kN);
    EXPECT_FALSE(barrier.broken());
    EXPECT_EQ(barrier.n_waiting(), 0);
}

// CPython BarrierTests.test_abort_barrier
TEST(Barrier, AbortBreaksIt) {
    asyncio::Barrier barrier(1);
    auto main = [&]() -> Task<> {
        co_await barrier.abort();
        EXPECT_EQ(barrier.n_waiting(), 0);
        EXPECT_TRUE(barrier.broken());
        EXPECT_THROW(co_await barrier.wait(), asyncio::BrokenBarrierError);
    };
    asyncio::testing::run(main());
}

// CPython BarrierTests.test_abort_barrier_when_exception
TEST(Barrier, AbortWakesEveryWaiterWithBrokenBarrierError) {
    constexpr int kN = 5;
    asyncio::Barrier barrier(kN);
    int passed = 0;
    int broken = 0;
    auto coro = [&]() -> Task<> {
        bool failed = false;
        try {
            int i = co_await barrier.wait();
            if (i == kN / 2) throw std::runtime_error("this task fails");
            co_await barrier.wait();
            ++passed;
        } catch (const asyncio::BrokenBarrierError&) {
            ++broken;
        } catch (const std::runtime_error&) {
            failed = true;
        }
        if (failed) co_await barrier.abort();
    };
    auto main = [&]() -> Task<> { co_await gather_tasks(kN, coro); };
    asyncio::testing::run(main());
    EXPECT_TRUE(barrier.broken());
    EXPECT_EQ(passed, 0);
    EXPECT_EQ(broken, kN - 1);
    EXPECT_EQ(barrier.n_waiting(), 0);
}

// CPython BarrierTests.test_abort_barrier_when_exception_then_resetting
TEST(Barrier, ResetAfterAbortMakesItUsableAgain) {
    constexpr int kN = 5;
    asyncio::Barrier barrier1(kN);
    asyncio::Barrier barrier2(kN);
    int passed1 = 0;
    int broken = 0;
    int passed3 = 0;
    auto coro = [&]() -> Task<> {
        bool failed = false;
        try {
            int i = co_await barrier1.wait();
            if (i == kN / 2) throw std::runtime_error("this task fails");
            co_await barrier1.wait();
            ++passed1;
        } catch (const asyncio::BrokenBarrierError&) {
            ++broken;
        } catch (const std::runtime_error&) {
            failed = true;
        }
        if (failed) co_await barrier1.abort();
        // Everyone leaves barrier1 before the reset, nobody enters it before.
        int i = co_await barrier2.wait();
        if (i == kN / 2) co_await barrier1.reset();
        co_await barrier2.wait();
        co_await barrier1.wait();
        ++passed3;
    };
    auto main = [&]() -> Task<> { co_await gather_tasks(kN, coro); };
    asyncio::testing::run(main());
    EXPECT_FALSE(barrier1.broken());
    EXPECT_EQ(passed1, 0);
    EXPECT_EQ(broken, kN - 1);
    EXPECT_EQ(passed3, kN);
    EXPECT_EQ(barrier1.n_waiting(), 0);
}
