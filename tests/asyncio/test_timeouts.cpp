// asyncio::timeout / timeout_at scopes and wait_for, after CPython's
// Lib/test/test_asyncio/test_timeouts.py and test_waitfor.py.
//
// Deadlines that must pass are short (10 ms) against sleeps that must not
// end (10 s), so a loaded machine cannot change an outcome.
#include <gtest/gtest.h>

#include <optional>
#include <stdexcept>
#include <string>

#include "support.hpp"

namespace asyncio = concur::asyncio;
using asyncio::CancelledError;
using asyncio::Clock;
using asyncio::Task;
using asyncio::TimeoutError;
using asyncio::testing::MyExc;
using namespace std::chrono_literals;

namespace {

Task<int> sleep_long(bool* saw_cancel = nullptr) {
    try {
        co_await asyncio::sleep(10s);
    } catch (const CancelledError&) {
        if (saw_cancel) *saw_cancel = true;
        throw;
    }
    co_return 0;
}

Task<int> after(int yields, int v) {
    co_await asyncio::testing::yield_n(yields);
    co_return v;
}

}  // namespace

// ---- timeout() ---------------------------------------------------------------

// test_timeouts.py: test_timeout_basic -- the deadline cancels the body; the
// CancelledError becomes TimeoutError at the scope's end.
TEST(Timeout, ExpiryRaisesTimeoutError) {
    bool saw_cancel = false;
    auto main = [&]() -> Task<> {
        EXPECT_THROW(co_await asyncio::timeout(10ms, sleep_long(&saw_cancel)), TimeoutError);
        EXPECT_EQ(asyncio::current_task().cancelling(), 0u);
    };
    asyncio::testing::run(main());
    EXPECT_TRUE(saw_cancel);
}

// test_timeouts.py: test_timeout_at_basic.
TEST(Timeout, TimeoutAtExpiry) {
    auto main = []() -> Task<> {
        bool expired = false;
        auto deadline = Clock::now() + 10ms;
        auto body = [&](asyncio::Timeout& cm) -> Task<> {
            EXPECT_EQ(cm.when(), std::optional<Clock::time_point>(deadline));
            co_await asyncio::sleep(10s);
        };
        try {
            co_await asyncio::timeout_at(deadline, body);
        } catch (const TimeoutError&) {
            expired = true;
        }
        EXPECT_TRUE(expired);
    };
    asyncio::testing::run(main());
}

// test_timeouts.py: test_timeout_not_called -- a body that finishes first
// gives its value; the timer is gone.
TEST(Timeout, NotExpiredGivesTheValue) {
    auto main = []() -> Task<> {
        int v = co_await asyncio::timeout(10s, after(2, 42));
        EXPECT_EQ(v, 42);
        auto body = [](asyncio::Timeout& cm) -> Task<int> {
            co_await asyncio::sleep(0s);
            EXPECT_FALSE(cm.expired());
            co_return 7;
        };
        EXPECT_EQ(co_await asyncio::timeout(10s, body), 7);
    };
    asyncio::testing::run(main());
}

// test_timeouts.py: test_timeout_disabled / test_timeout_at_disabled -- no
// deadline (None) never expires.
TEST(Timeout, DisabledNeverExpires) {
    auto main = []() -> Task<> {
        auto body = [](asyncio::Timeout& cm) -> Task<int> {
            EXPECT_FALSE(cm.when().has_value());
            co_await asyncio::sleep(1ms);
            co_return 1;
        };
        EXPECT_EQ(co_await asyncio::timeout_at(std::nullopt, body), 1);
        EXPECT_EQ(co_await asyncio::timeout_at(std::nullopt, after(1, 2)), 2);
    };
    asyncio::testing::run(main());
}

// test_timeouts.py: test_timeout_zero / test_timeout_in_the_past_sleep_zero --
// a deadline already past expires at the body's first suspension.
TEST(Timeout, ZeroOrPastDeadlineExpiresAtTheFirstSuspension) {
    auto main = []() -> Task<> {
        EXPECT_THROW(co_await asyncio::timeout(0s, sleep_long()), TimeoutError);
        EXPECT_THROW(co_await asyncio::timeout_at(Clock::now() - 1s, asyncio::testing::yield_n(1)), TimeoutError);
        // A body that never suspends is not interrupted.
        EXPECT_EQ(co_await asyncio::timeout(0s, after(0, 3)), 3);
    };
    asyncio::testing::run(main());
}

// test_timeouts.py: test_foreign_exception_passed -- other exceptions pass
// through unchanged.
TEST(Timeout, ForeignExceptionPassesThrough) {
    auto main = []() -> Task<> {
        EXPECT_THROW(co_await asyncio::timeout(10s, asyncio::testing::fail_after(1)), MyExc);
    };
    asyncio::testing::run(main());
}

// test_timeouts.py: test_foreign_cancel_doesnt_timeout_if_not_expired -- a
// cancel from outside stays a CancelledError.
TEST(Timeout, OuterCancelIsNotTurnedIntoTimeoutError) {
    auto body = []() -> Task<int> { co_return co_await asyncio::timeout(10s, sleep_long()); };
    auto main = [&]() -> Task<> {
        auto t = asyncio::create_task(body());
        co_await asyncio::sleep(0s);
        t.cancel();
        EXPECT_THROW(co_await t, CancelledError);
        EXPECT_TRUE(t.cancelled());
    };
    asyncio::testing::run(main());
}

// test_timeouts.py: test_cancel_in_timeout_after_cancellation-like: an outer
// cancel arriving with the expiry stays a CancelledError (the cancel count
// says someone else asked too).
TEST(Timeout, OuterCancelTogetherWithExpiryStaysCancelledError) {
    auto body = [](asyncio::Future<> armed) -> Task<int> {
        auto inner = [armed](asyncio::Timeout& cm) mutable -> Task<int> {
            cm.reschedule(Clock::now() - 1s);  // expires on the next iteration
            armed.set_result();
            co_return co_await sleep_long();
        };
        co_return co_await asyncio::timeout(10s, inner);
    };
    auto main = [&]() -> Task<> {
        asyncio::Future<> armed;
        auto t = asyncio::create_task(body(armed));
        co_await armed;
        t.cancel();  // before the timer fires
        EXPECT_THROW(co_await t, CancelledError);
        EXPECT_TRUE(t.cancelled());
    };
    asyncio::testing::run(main());
}

// test_timeouts.py: test_outer_task_is_not_cancelled -- after TimeoutError the
// task is not left cancelled: it awaits normally.
TEST(Timeout, TaskGoesOnAfterTimeoutError) {
    auto main = []() -> Task<> {
        EXPECT_THROW(co_await asyncio::timeout(10ms, sleep_long()), TimeoutError);
        EXPECT_EQ(asyncio::current_task().cancelling(), 0u);
        co_await asyncio::sleep(1ms);
        EXPECT_EQ(co_await after(1, 5), 5);
    };
    asyncio::testing::run(main());
}

// test_timeouts.py: test_nested_timeouts -- with both expired, the inner lets
// the CancelledError through (the outer asked too) and the outer turns it
// into TimeoutError.
TEST(Timeout, NestedBothExpire) {
    auto main = []() -> Task<> {
        bool inner_saw_cancel = false;
        bool outer_expired = false;
        auto outer = [&](asyncio::Timeout& cm1) -> Task<> {
            auto inner = [&](asyncio::Timeout&) -> Task<> { co_await asyncio::sleep(10s); };
            try {
                co_await asyncio::timeout(10ms, inner);
            } catch (const CancelledError&) {
                inner_saw_cancel = true;
                outer_expired = cm1.expired();
                throw;
            }
        };
        EXPECT_THROW(co_await asyncio::timeout(10ms, outer), TimeoutError);
        EXPECT_TRUE(inner_saw_cancel);
        EXPECT_TRUE(outer_expired);
        EXPECT_EQ(asyncio::current_task().cancelling(), 0u);
    };
    asyncio::testing::run(main());
}

// test_timeouts.py: test_nested_timeouts_concurrent-like: an inner deadline
// that expires alone raises TimeoutError inside; the outer scope goes on.
TEST(Timeout, NestedInnerExpiresAlone) {
    auto main = []() -> Task<> {
        auto outer = [](asyncio::Timeout& cm) -> Task<int> {
            bool inner_timed_out = false;
            try {
                co_await asyncio::timeout(10ms, sleep_long());
            } catch (const TimeoutError&) {
                inner_timed_out = true;
            }
            EXPECT_TRUE(inner_timed_out);
            EXPECT_FALSE(cm.expired());
            co_await asyncio::sleep(0s);
            co_return 1;
        };
        EXPECT_EQ(co_await asyncio::timeout(10s, outer), 1);
    };
    asyncio::testing::run(main());
}

// test_timeouts.py: test_reschedule -- a deadline can be set, moved and
// removed from inside the scope.
TEST(Timeout, Reschedule) {
    auto main = []() -> Task<> {
        // None -> soon: expires.
        auto arm = [](asyncio::Timeout& cm) -> Task<> {
            EXPECT_FALSE(cm.when().has_value());
            cm.reschedule(Clock::now() + 10ms);
            co_await asyncio::sleep(10s);
        };
        EXPECT_THROW(co_await asyncio::timeout_at(std::nullopt, arm), TimeoutError);
        // Soon -> None: never expires.
        auto disarm = [](asyncio::Timeout& cm) -> Task<int> {
            cm.reschedule(std::nullopt);
            co_await asyncio::sleep(30ms);
            co_return 2;
        };
        EXPECT_EQ(co_await asyncio::timeout(1ms, disarm), 2);
        // Soon -> later: does not expire at the first deadline.
        auto extend = [](asyncio::Timeout& cm) -> Task<int> {
            cm.reschedule(Clock::now() + 10s);
            co_await asyncio::sleep(30ms);
            co_return 3;
        };
        EXPECT_EQ(co_await asyncio::timeout(1ms, extend), 3);
    };
    asyncio::testing::run(main());
}

// test_timeouts.py: test_timeout_expiring? / Timeout.reschedule docs --
// rescheduling an expired timeout is a RuntimeError.
TEST(Timeout, RescheduleAfterExpiryIsARuntimeError) {
    auto main = []() -> Task<> {
        bool threw = false;
        auto body = [&](asyncio::Timeout& cm) -> Task<> {
            try {
                co_await asyncio::sleep(10s);
            } catch (const CancelledError&) {
                EXPECT_TRUE(cm.expired());
                try {
                    cm.reschedule(Clock::now() + 10s);
                } catch (const concur::RuntimeError&) {
                    threw = true;
                }
                throw;
            }
        };
        EXPECT_THROW(co_await asyncio::timeout(10ms, body), TimeoutError);
        EXPECT_TRUE(threw);
    };
    asyncio::testing::run(main());
}

// A body that catches the expiry's CancelledError and returns normally: the
// scope gives its value (Python's __aexit__ only converts a CancelledError
// that comes out).
TEST(Timeout, BodySwallowingTheCancellationGivesItsValue) {
    auto main = []() -> Task<> {
        auto body = [](asyncio::Timeout& cm) -> Task<int> {
            try {
                co_await asyncio::sleep(10s);
            } catch (const CancelledError&) {
            }
            EXPECT_TRUE(cm.expired());
            co_return 9;
        };
        EXPECT_EQ(co_await asyncio::timeout(10ms, body), 9);
        EXPECT_EQ(asyncio::current_task().cancelling(), 0u);
        co_await asyncio::sleep(0s);  // not cancelled
    };
    asyncio::testing::run(main());
}

// test_timeouts.py: test_timeout_after_cancellation -- a timeout used for
// cleanup after the task caught a CancelledError (cancelling() is still 1)
// still raises TimeoutError when it expires.
TEST(Timeout, AfterACaughtCancellation) {
    auto body = []() -> Task<> {
        try {
            asyncio::current_task().cancel();
            co_await asyncio::sleep(10s);
        } catch (const CancelledError&) {
        }
        EXPECT_EQ(asyncio::current_task().cancelling(), 1u);
        EXPECT_THROW(co_await asyncio::timeout(0s, sleep_long()), TimeoutError);
        EXPECT_EQ(asyncio::current_task().cancelling(), 1u);
    };
    auto main = [&]() -> Task<> { co_await asyncio::create_task(body()); };
    asyncio::testing::run(main());
}

// test_timeouts.py: test_cancel_in_timeout_after_cancellation -- ...and a new
// cancel inside that timeout stays a CancelledError.
TEST(Timeout, CancelInsideATimeoutAfterACaughtCancellation) {
    auto body = []() -> Task<> {
        try {
            asyncio::current_task().cancel();
            co_await asyncio::sleep(10s);
        } catch (const CancelledError&) {
        }
        auto cleanup = [](asyncio::Timeout&) -> Task<> {
            asyncio::current_task().cancel();
            co_await asyncio::sleep(10s);
        };
        EXPECT_THROW(co_await asyncio::timeout(10s, cleanup), CancelledError);
    };
    auto main = [&]() -> Task<> { co_await asyncio::create_task(body()); };
    asyncio::testing::run(main());
}

// test_timeouts.py: test_timeout_taskgroup -- a TaskGroup inside a timeout:
// the expiry cancels the body, a child fails while cancelled; the
// ExceptionGroup comes out (not TimeoutError) and the task is not left
// cancelled.
TEST(Timeout, AroundATaskGroup) {
    auto main = []() -> Task<> {
        auto child = []() -> Task<int> {
            try {
                co_await asyncio::sleep(10s);
            } catch (const CancelledError&) {
                throw MyExc("crash in cleanup");
            }
            co_return 0;
        };
        auto group = [&](asyncio::Timeout&) -> Task<> {
            co_await asyncio::task_group([&](asyncio::TaskGroup& tg) -> Task<> {
                (void)tg.create_task(child());
                co_await asyncio::sleep(10s);
            });
        };
        EXPECT_THROW(co_await asyncio::timeout(10ms, group), concur::ExceptionGroup);
        EXPECT_EQ(asyncio::current_task().cancelling(), 0u);
        co_await asyncio::sleep(0s);  // no CancelledError left behind
    };
    asyncio::testing::run(main());
}

// Python runs an expired timeout's handle in ready order: a task whose
// awaited result arrived on the previous turn resumes with it before the
// expiry can cancel it, even though the deadline has passed by then.
// (The callback spins past the deadline, so the race is forced, not timed.)
TEST(Timeout, AResultThatArrivedBeforeTheExpiryRunsWins) {
    auto main = []() -> Task<> {
        auto& loop = asyncio::get_running_loop();
        asyncio::Future<int> f;
        auto deadline = Clock::now() + 200ms;
        loop.call_soon([&] {
            f.set_result(7);  // wakes the body on the next turn...
            while (Clock::now() <= deadline) {
            }  // ...by which the deadline has passed
        });
        auto body = [&](asyncio::Timeout&) -> Task<int> { co_return co_await f; };
        EXPECT_EQ(co_await asyncio::timeout_at(deadline, body), 7);
        EXPECT_EQ(asyncio::current_task().cancelling(), 0u);
        co_await asyncio::sleep(0s);  // and nothing is left pending
    };
    asyncio::testing::run(main());
}

// ---- wait_for -------------------------------------------------------------------

// test_waitfor.py: test_wait_for -- finishing first gives the value.
TEST(WaitFor, GivesTheValue) {
    auto main = []() -> Task<> {
        EXPECT_EQ(co_await asyncio::wait_for(after(2, 4), 10s), 4);
        EXPECT_EQ(co_await asyncio::wait_for(after(1, 5), std::nullopt), 5);
    };
    asyncio::testing::run(main());
}

// test_waitfor.py: test_wait_for_race_condition -- an inner task that finished
// just before the deadline gives its value, even if the deadline has passed
// by the time the waiter runs.
TEST(WaitFor, ResultReadyAtTheDeadlineIsNotLost) {
    auto main = []() -> Task<> {
        auto& loop = asyncio::get_running_loop();
        asyncio::Future<int> f;
        auto inner = asyncio::create_task([](asyncio::Future<int> fut) -> Task<int> { co_return co_await fut; }(f));
        co_await asyncio::sleep(0s);  // inner waits on f
        auto start = Clock::now();
        loop.call_soon([&] {
            f.set_result(3);  // inner finishes on the next turn...
            loop.call_soon([&] {  // ...just before this, which runs past the deadline
                while (Clock::now() <= start + 300ms) {
                }
            });
        });
        // The waiter was woken before the deadline passed: it gets the value.
        EXPECT_EQ(co_await asyncio::wait_for(inner, 200ms), 3);
    };
    asyncio::testing::run(main());
}

// test_waitfor.py: test_wait_for_waits_for_task_cancellation -- on timeout
// the inner task is cancelled and waited for; TimeoutError comes after its
// cleanup.
TEST(WaitFor, TimeoutCancelsTheInnerAndWaitsForIt) {
    auto inner_body = [](bool* cleaned) -> Task<int> {
        bool cancelled = false;
        try {
            co_await asyncio::sleep(10s);
        } catch (const CancelledError&) {
            cancelled = true;
        }
        if (cancelled) {
            co_await asyncio::testing::yield_n(3);  // cleanup that takes a while
            *cleaned = true;
            throw CancelledError();
        }
        co_return 0;
    };
    auto main = [&]() -> Task<> {
        bool cleaned = false;
        auto inner = asyncio::create_task(inner_body(&cleaned));
        bool timed_out = false;
        try {
            co_await asyncio::wait_for(inner, 10ms);
        } catch (const TimeoutError&) {
            timed_out = true;
            EXPECT_TRUE(cleaned);
            EXPECT_TRUE(inner.done());
            EXPECT_TRUE(inner.cancelled());
        }
        EXPECT_TRUE(timed_out);
        EXPECT_EQ(asyncio::current_task().cancelling(), 0u);
    };
    asyncio::testing::run(main());
}

// test_waitfor.py: test_wait_for_cancel_suppressed (gh-86296) -- an inner
// task that swallows the cancellation and returns a value: wait_for gives
// that value.
TEST(WaitFor, InnerSuppressingCancellationGivesItsValue) {
    auto return_42 = []() -> Task<int> {
        try {
            co_await asyncio::sleep(10s);
        } catch (const CancelledError&) {
            co_return 42;
        }
        co_return 0;
    };
    auto main = [&]() -> Task<> { EXPECT_EQ(co_await asyncio::wait_for(return_42(), 10ms), 42); };
    asyncio::testing::run(main());
}

// test_waitfor.py: test_wait_for_reraises_exception_during_cancellation --
// an exception raised while handling the cancellation comes out as itself.
TEST(WaitFor, ExceptionDuringCancellationPassesThrough) {
    auto body = []() -> Task<int> {
        try {
            co_await asyncio::sleep(10s);
        } catch (const CancelledError&) {
            throw MyExc("while cancelling");
        }
        co_return 0;
    };
    auto main = [&]() -> Task<> { EXPECT_THROW(co_await asyncio::wait_for(body(), 10ms), MyExc); };
    asyncio::testing::run(main());
}

// test_waitfor.py: test_wait_for_timeout_less_then_0_or_0_coroutine_do_not_started.
TEST(WaitFor, ZeroTimeoutNeverStartsTheCoroutine) {
    bool ran = false;
    auto body = [](bool* flag) -> Task<int> {
        *flag = true;
        co_return 1;
    };
    auto main = [&]() -> Task<> {
        EXPECT_THROW(co_await asyncio::wait_for(body(&ran), 0s), TimeoutError);
        EXPECT_THROW(co_await asyncio::wait_for(body(&ran), -1s), TimeoutError);
    };
    asyncio::testing::run(main());
    EXPECT_FALSE(ran);
}

// test_waitfor.py: test_wait_for_timeout_less_then_0_or_0_future_done -- a task
// already done gives its result even with a zero timeout.
TEST(WaitFor, ZeroTimeoutOnADoneTaskGivesItsResult) {
    auto main = []() -> Task<> {
        auto t = asyncio::create_task(after(0, 8));
        co_await t;
        EXPECT_EQ(co_await asyncio::wait_for(t, 0s), 8);
    };
    asyncio::testing::run(main());
}

// test_waitfor.py: test_cancel_wait_for / test_cancel_blocking_wait_for --
// cancelling the waiting task cancels the inner one and raises
// CancelledError, not TimeoutError.
TEST(WaitFor, CancellingTheWaiterCancelsTheInner) {
    auto body = [](Task<int> inner) -> Task<int> { co_return co_await asyncio::wait_for(std::move(inner), 10s); };
    auto main = [&]() -> Task<> {
        auto inner = asyncio::create_task(sleep_long());
        auto t = asyncio::create_task(body(inner));
        co_await asyncio::testing::yield_n(2);
        t.cancel();
        EXPECT_THROW(co_await t, CancelledError);
        EXPECT_TRUE(t.cancelled());
        EXPECT_TRUE(inner.cancelled());
    };
    asyncio::testing::run(main());
}

// test_waitfor.py: test_wait_for_... -- the inner's own exception passes
// through.
TEST(WaitFor, InnerExceptionPassesThrough) {
    auto main = []() -> Task<> {
        EXPECT_THROW(co_await asyncio::wait_for(asyncio::testing::fail_after(1), 10s), MyExc);
    };
    asyncio::testing::run(main());
}
