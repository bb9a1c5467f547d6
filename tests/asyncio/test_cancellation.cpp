// Task.cancel() and its bookkeeping (cancelling / uncancel, messages), after
// CPython's Lib/test/test_asyncio/test_tasks.py.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support.hpp"

namespace asyncio = concur::asyncio;
using asyncio::CancelledError;
using asyncio::Task;
using namespace std::chrono_literals;

namespace {

Task<int> sleep_long() {
    co_await asyncio::sleep(10s);
    co_return 1;
}

Task<int> await_task(Task<int> t) { co_return co_await t; }

Task<int> deep_sleep(int depth) {
    if (depth == 0) co_return co_await sleep_long();
    co_return co_await deep_sleep(depth - 1);
}

Task<> wait_future(asyncio::Future<> f) { co_await f; }

}  // namespace

// test_tasks.py: test_task_cancel_sleeping_task.
TEST(Cancellation, CancelASleepingTask) {
    auto main = []() -> Task<> {
        auto t = asyncio::create_task(sleep_long());
        co_await asyncio::sleep(0s);
        EXPECT_TRUE(t.cancel());
        EXPECT_FALSE(t.done());  // it ends on its next step
        EXPECT_THROW(co_await t, CancelledError);
        EXPECT_TRUE(t.cancelled());
        EXPECT_THROW(t.result(), CancelledError);
        EXPECT_THROW(t.exception(), CancelledError);
    };
    asyncio::testing::run(main());
}

// test_tasks.py: test_cancel -- cancel() of a done task is false.
TEST(Cancellation, CancelOfAFinishedTaskIsFalse) {
    auto main = []() -> Task<> {
        auto t = asyncio::create_task(asyncio::testing::yield_n(0));
        co_await t;
        EXPECT_FALSE(t.cancel());
        EXPECT_FALSE(t.cancelled());
        EXPECT_EQ(t.cancelling(), 0u);
    };
    asyncio::testing::run(main());
}

// test_tasks.py: test_cancel -- a task cancelled before its first step never
// runs its body.
TEST(Cancellation, CancelBeforeTheFirstStepMeansItNeverRuns) {
    bool ran = false;
    auto body = [](bool* flag) -> Task<> {
        *flag = true;
        co_return;
    };
    auto main = [&]() -> Task<> {
        auto t = asyncio::create_task(body(&ran));
        EXPECT_TRUE(t.cancel());
        EXPECT_THROW(co_await t, CancelledError);
        EXPECT_TRUE(t.cancelled());
    };
    asyncio::testing::run(main());
    EXPECT_FALSE(ran);
}

// test_tasks.py: test_cancel_inner_future -- cancelling a task cancels the
// future it awaits.
TEST(Cancellation, CancelPassesDownToTheAwaitedFuture) {
    auto main = []() -> Task<> {
        asyncio::Future<> f;
        auto t = asyncio::create_task(wait_future(f));
        co_await asyncio::sleep(0s);
        EXPECT_TRUE(t.cancel());
        EXPECT_TRUE(f.cancelled());
        EXPECT_THROW(co_await t, CancelledError);
        EXPECT_TRUE(t.cancelled());
    };
    asyncio::testing::run(main());
}

// test_tasks.py: test_cancel_both_task_and_inner_future.
TEST(Cancellation, CancelBothTaskAndInnerFuture) {
    auto main = []() -> Task<> {
        asyncio::Future<> f;
        auto t = asyncio::create_task(wait_future(f));
        co_await asyncio::sleep(0s);
        EXPECT_TRUE(f.cancel());
        EXPECT_TRUE(t.cancel());
        EXPECT_THROW(co_await t, CancelledError);
        EXPECT_TRUE(t.cancelled());
    };
    asyncio::testing::run(main());
}

// test_tasks.py: test_cancel_awaited_task -- cancelling a task that awaits
// another task cancels that one too.
TEST(Cancellation, CancelPassesDownToTheAwaitedTask) {
    auto main = []() -> Task<> {
        auto inner = asyncio::create_task(sleep_long());
        auto outer = asyncio::create_task(await_task(inner));
        co_await asyncio::sleep(0s);
        EXPECT_TRUE(outer.cancel());
        EXPECT_THROW(co_await outer, CancelledError);
        EXPECT_TRUE(outer.cancelled());
        EXPECT_TRUE(inner.cancelled());
    };
    asyncio::testing::run(main());
}

// Cancellation reaches a sleep several inline awaits deep (Python's `await
// coro` chain shares its task).
TEST(Cancellation, CancelReachesTheInnermostInlineAwait) {
    auto main = []() -> Task<> {
        auto t = asyncio::create_task(deep_sleep(5));
        co_await asyncio::sleep(0s);
        t.cancel();
        EXPECT_THROW(co_await t, CancelledError);
        EXPECT_TRUE(t.cancelled());
    };
    asyncio::testing::run(main());
}

// test_tasks.py: test_cancel_task_catching -- a coroutine may catch
// CancelledError, clean up, and return a value: the task then is not
// cancelled.
TEST(Cancellation, CatchingCancelledErrorAndReturningAValue) {
    bool cleaned = false;
    auto body = [](bool* flag) -> Task<int> {
        bool cancelled = false;
        try {
            co_await asyncio::sleep(10s);
        } catch (const CancelledError&) {
            cancelled = true;  // (C++ cannot co_await inside a handler)
        }
        if (!cancelled) co_return 0;
        co_await asyncio::sleep(0s);  // cleanup may await
        *flag = true;
        co_return 42;
    };
    auto main = [&]() -> Task<> {
        auto t = asyncio::create_task(body(&cleaned));
        co_await asyncio::sleep(0s);
        EXPECT_TRUE(t.cancel());
        EXPECT_EQ(co_await t, 42);
        EXPECT_FALSE(t.cancelled());
        EXPECT_EQ(t.cancelling(), 1u);
    };
    asyncio::testing::run(main());
    EXPECT_TRUE(cleaned);
}

// test_tasks.py: test_cancel_task_ignoring -- after catching CancelledError
// the coroutine goes on awaiting normally.
TEST(Cancellation, IgnoringCancellationThenAwaitingAgain) {
    auto body = [](asyncio::Future<int> f2, asyncio::Future<int> f3) -> Task<int> {
        try {
            co_await f2;
        } catch (const CancelledError&) {
        }
        co_return co_await f3;
    };
    auto main = [&]() -> Task<> {
        asyncio::Future<int> f2, f3;
        auto t = asyncio::create_task(body(f2, f3));
        co_await asyncio::sleep(0s);
        t.cancel();
        co_await asyncio::sleep(0s);
        EXPECT_TRUE(f2.cancelled());
        EXPECT_FALSE(t.done());
        f3.set_result(42);
        EXPECT_EQ(co_await t, 42);
        EXPECT_FALSE(t.cancelled());
    };
    asyncio::testing::run(main());
}

// A task whose awaited task swallows the cancellation and returns gets that
// value: the cancel went to the inner task, not to it.
TEST(Cancellation, InnerTaskSuppressingCancellationGivesTheOuterItsValue) {
    auto inner_body = []() -> Task<int> {
        try {
            co_await asyncio::sleep(10s);
        } catch (const CancelledError&) {
            co_return 7;
        }
        co_return 0;
    };
    auto main = [&]() -> Task<> {
        auto inner = asyncio::create_task(inner_body());
        auto outer = asyncio::create_task(await_task(inner));
        co_await asyncio::sleep(0s);
        outer.cancel();
        EXPECT_EQ(co_await outer, 7);
        EXPECT_FALSE(outer.cancelled());
    };
    asyncio::testing::run(main());
}

// test_tasks.py: test_cancel_current_task -- a task that cancels itself gets
// CancelledError at its next suspension point.
TEST(Cancellation, CancelTheCurrentTask) {
    auto body = []() -> Task<int> {
        asyncio::current_task().cancel();
        co_await asyncio::sleep(10s);  // raises at once
        co_return 12;
    };
    auto main = [&]() -> Task<> {
        auto t = asyncio::create_task(body());
        EXPECT_THROW(co_await t, CancelledError);
        EXPECT_TRUE(t.cancelled());
    };
    asyncio::testing::run(main());
}

// test_tasks.py: test_cancel_at_end -- a task cancelled just before its
// coroutine returns ends cancelled, not with the value.
TEST(Cancellation, CancelRightBeforeTheCoroutineReturns) {
    auto body = []() -> Task<int> {
        asyncio::current_task().cancel();
        co_return 12;
    };
    auto main = [&]() -> Task<> {
        auto t = asyncio::create_task(body());
        EXPECT_THROW(co_await t, CancelledError);
        EXPECT_TRUE(t.done());
        EXPECT_TRUE(t.cancelled());
        EXPECT_FALSE(t.cancel());
    };
    asyncio::testing::run(main());
}

// test_tasks.py: test_cancel_yield -- a cancel that arrives after the awaited
// thing finished, but before the task ran again, still raises CancelledError.
TEST(Cancellation, CancelAfterTheWakeUpStillRaises) {
    auto main = []() -> Task<> {
        asyncio::Future<> f;
        auto t = asyncio::create_task(wait_future(f));
        co_await asyncio::sleep(0s);
        f.set_result();   // t is now scheduled to resume
        EXPECT_TRUE(t.cancel());
        EXPECT_THROW(co_await t, CancelledError);
        EXPECT_TRUE(t.cancelled());
    };
    asyncio::testing::run(main());
}

// Two cancel() calls while a task waits raise CancelledError in it once;
// cancelling() counts both requests.
TEST(Cancellation, CancellingTwiceRaisesOnce) {
    auto body = []() -> Task<int> {
        int caught = 0;
        try {
            co_await asyncio::sleep(10s);
        } catch (const CancelledError&) {
            ++caught;
        }
        co_await asyncio::sleep(0s);  // not cancelled again
        co_return caught;
    };
    auto main = [&]() -> Task<> {
        auto t = asyncio::create_task(body());
        co_await asyncio::sleep(0s);
        EXPECT_TRUE(t.cancel());
        EXPECT_TRUE(t.cancel());
        EXPECT_EQ(t.cancelling(), 2u);
        EXPECT_EQ(co_await t, 1);
    };
    asyncio::testing::run(main());
}

// test_tasks.py: test_cancel_with_message_then_future_result -- the message
// given to cancel(msg) is the CancelledError's, for the task itself and for
// whoever awaits it.
TEST(Cancellation, CancelMessageReachesTheTaskAndItsAwaiters) {
    auto body = [](std::string* seen) -> Task<int> {
        try {
            co_await asyncio::sleep(10s);
        } catch (const CancelledError& e) {
            *seen = e.what();
            throw;
        }
        co_return 0;
    };
    std::string seen;
    auto main = [&]() -> Task<> {
        auto t = asyncio::create_task(body(&seen));
        co_await asyncio::sleep(0s);
        t.cancel("my message");
        try {
            co_await t;
            ADD_FAILURE() << "no CancelledError";
        } catch (const CancelledError& e) {
            EXPECT_STREQ(e.what(), "my message");
        }
        try {
            t.result();
        } catch (const CancelledError& e) {
            EXPECT_STREQ(e.what(), "my message");
        }
    };
    asyncio::testing::run(main());
    EXPECT_EQ(seen, "my message");
}

// test_tasks.py: test_cancel_with_message_before_starting_task.
TEST(Cancellation, CancelMessageBeforeTheTaskStarts) {
    auto main = []() -> Task<> {
        auto t = asyncio::create_task(sleep_long());
        t.cancel("early");
        try {
            co_await t;
            ADD_FAILURE() << "no CancelledError";
        } catch (const CancelledError& e) {
            EXPECT_STREQ(e.what(), "early");
        }
    };
    asyncio::testing::run(main());
}

// The message travels down to an awaited task and back up.
TEST(Cancellation, CancelMessagePassesThroughAnAwaitedTask) {
    auto main = []() -> Task<> {
        auto inner = asyncio::create_task(sleep_long());
        auto outer = asyncio::create_task(await_task(inner));
        co_await asyncio::sleep(0s);
        outer.cancel("down");
        try {
            co_await outer;
        } catch (const CancelledError& e) {
            EXPECT_STREQ(e.what(), "down");
        }
        try {
            inner.result();
        } catch (const CancelledError& e) {
            EXPECT_STREQ(e.what(), "down");
        }
    };
    asyncio::testing::run(main());
}

// test_tasks.py: test_cancelling / test_uncancel_basic -- cancelling() counts
// cancel requests not yet taken back; uncancel() takes one back.
TEST(Cancellation, CancellingAndUncancel) {
    auto main = []() -> Task<> {
        auto t = asyncio::create_task(sleep_long());
        co_await asyncio::sleep(0s);
        EXPECT_EQ(t.cancelling(), 0u);
        t.cancel();
        EXPECT_EQ(t.cancelling(), 1u);
        t.cancel();
        EXPECT_EQ(t.cancelling(), 2u);
        EXPECT_EQ(t.uncancel(), 1u);
        EXPECT_EQ(t.uncancel(), 0u);
        EXPECT_EQ(t.uncancel(), 0u);  // never below zero
        // The CancelledError already sent into the task still arrives.
        EXPECT_THROW(co_await t, CancelledError);
    };
    asyncio::testing::run(main());
}

// test_tasks.py: test_uncancel_structured_blocks -- uncancel() before the
// task reached a suspension point withdraws a pending cancellation.
TEST(Cancellation, UncancelWithdrawsAPendingSelfCancel) {
    auto body = []() -> Task<int> {
        auto me = asyncio::current_task();
        me.cancel();
        EXPECT_EQ(me.cancelling(), 1u);
        EXPECT_EQ(me.uncancel(), 0u);
        co_await asyncio::sleep(0s);  // no CancelledError
        co_return 5;
    };
    auto main = [&]() -> Task<> {
        auto t = asyncio::create_task(body());
        EXPECT_EQ(co_await t, 5);
        EXPECT_FALSE(t.cancelled());
    };
    asyncio::testing::run(main());
}

// Awaiting a task that was cancelled raises CancelledError in the awaiter,
// which itself is not being cancelled.
TEST(Cancellation, AwaitingACancelledTaskDoesNotCancelTheAwaiter) {
    auto main = []() -> Task<> {
        auto t = asyncio::create_task(sleep_long());
        co_await asyncio::sleep(0s);
        t.cancel();
        EXPECT_THROW(co_await t, CancelledError);
        EXPECT_EQ(asyncio::current_task().cancelling(), 0u);
        co_await asyncio::sleep(0s);  // and goes on normally
    };
    asyncio::testing::run(main());
}
