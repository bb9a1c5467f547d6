// gather, wait, shield and as_completed, after CPython's
// Lib/test/test_asyncio/test_tasks.py (GatherTestsBase, test_wait_*,
// test_shield_*, test_as_completed_*).
#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <vector>

#include "support.hpp"

namespace asyncio = concur::asyncio;
using asyncio::CancelledError;
using asyncio::Task;
using asyncio::testing::HandlerLog;
using asyncio::testing::MyExc;
using asyncio::testing::what;
using namespace std::chrono_literals;

namespace {

Task<int> value_of(asyncio::Future<int> f) { co_return co_await f; }

Task<int> raise_when(asyncio::Future<> gate, std::string msg) {
    co_await gate;
    throw MyExc(msg);
}

Task<int> after(int yields, int v) {
    co_await asyncio::testing::yield_n(yields);
    co_return v;
}

Task<int> sleep_long(bool* cancelled = nullptr) {
    try {
        co_await asyncio::sleep(10s);
    } catch (const CancelledError&) {
        if (cancelled) *cancelled = true;
        throw;
    }
    co_return 0;
}

Task<> void_after(int yields) { co_await asyncio::testing::yield_n(yields); }

}  // namespace

// ---- gather -------------------------------------------------------------------

// test_tasks.py GatherTestsBase: test_result_exception_success -- results come
// in argument order whatever order the tasks finish in.
TEST(Gather, VariadicResultsComeInArgumentOrder) {
    auto main = []() -> Task<> {
        asyncio::Future<int> a, b, c;
        auto g = asyncio::create_task(asyncio::gather(value_of(a), value_of(b), value_of(c)));
        co_await asyncio::sleep(0s);
        c.set_result(3);
        co_await asyncio::sleep(0s);
        b.set_result(2);
        co_await asyncio::sleep(0s);
        EXPECT_FALSE(g.done());
        a.set_result(1);
        auto r = co_await g;
        EXPECT_EQ(r, std::make_tuple(1, 2, 3));
    };
    asyncio::testing::run(main());
}

// The same over a vector of tasks.
TEST(Gather, RangeResultsComeInInputOrder) {
    auto main = []() -> Task<> {
        std::vector<Task<int>> ts;
        for (int i = 0; i < 10; ++i) ts.push_back(after(10 - i, i));
        std::vector<int> r = co_await asyncio::gather(std::move(ts));
        std::vector<int> want;
        for (int i = 0; i < 10; ++i) want.push_back(i);
        EXPECT_EQ(r, want);
    };
    asyncio::testing::run(main());
}

// Void tasks contribute None (std::monostate); mixed with values.
TEST(Gather, VoidTasksGiveNone) {
    auto main = []() -> Task<> {
        auto r = co_await asyncio::gather(void_after(1), after(0, 5));
        EXPECT_EQ(std::get<1>(r), 5);
        std::vector<Task<>> ts;
        ts.push_back(void_after(2));
        ts.push_back(void_after(0));
        auto v = co_await asyncio::gather(std::move(ts));
        EXPECT_EQ(v.size(), 2u);
    };
    asyncio::testing::run(main());
}

// test_tasks.py GatherTestsBase: test_constructor_empty_sequence -- gather of
// nothing is an empty list at once.
TEST(Gather, OfNothingIsEmpty) {
    auto main = []() -> Task<> {
        std::vector<int> r = co_await asyncio::gather(std::vector<Task<int>>());
        EXPECT_TRUE(r.empty());
    };
    asyncio::testing::run(main());
}

// Coroutines given to gather become tasks and run concurrently.
TEST(Gather, ChildrenRunConcurrently) {
    std::vector<int> order;
    auto child = [](std::vector<int>* out, int id) -> Task<int> {
        out->push_back(id);
        co_await asyncio::sleep(0s);
        out->push_back(id + 10);
        co_return id;
    };
    auto main = [&]() -> Task<> {
        auto r = co_await asyncio::gather(child(&order, 1), child(&order, 2));
        EXPECT_EQ(r, std::make_tuple(1, 2));
    };
    asyncio::testing::run(main());
    EXPECT_EQ(order, (std::vector<int>{1, 2, 11, 12}));
}

// test_tasks.py GatherTestsBase: test_one_exception -- the first exception is
// raised at once; the other children are not cancelled and keep running.
TEST(Gather, FirstExceptionIsRaisedAndTheOthersKeepRunning) {
    auto main = []() -> Task<> {
        asyncio::Future<> gate;
        asyncio::Future<int> slow;
        auto other = asyncio::create_task(value_of(slow));
        auto failing = raise_when(gate, "first");
        auto g = asyncio::create_task(asyncio::gather(std::move(failing), Task<int>(other)));
        co_await asyncio::sleep(0s);
        gate.set_result();
        try {
            co_await g;
            ADD_FAILURE() << "gather did not raise";
        } catch (const MyExc& e) {
            EXPECT_STREQ(e.what(), "first");
        }
        EXPECT_FALSE(other.done());
        EXPECT_FALSE(other.cancelled());
        slow.set_result(9);
        EXPECT_EQ(co_await other, 9);
    };
    asyncio::testing::run(main());
}

// Python's gather raises the exception of the child that failed first in
// time, not the first in argument order.
TEST(Gather, FirstExceptionIsTheFirstInCompletionOrder) {
    auto main = []() -> Task<> {
        asyncio::Future<> ga, gb;
        auto g = asyncio::create_task(asyncio::gather(raise_when(ga, "a"), raise_when(gb, "b")));
        co_await asyncio::testing::yield_n(2);  // gather started, then a and b
        gb.set_result();  // b wakes (and fails) first, in the same iteration as a
        ga.set_result();
        try {
            co_await g;
            ADD_FAILURE() << "gather did not raise";
        } catch (const MyExc& e) {
            EXPECT_STREQ(e.what(), "b");
        }
        std::vector<Task<int>> ts;
        asyncio::Future<> gc, gd;
        ts.push_back(raise_when(gc, "c"));
        ts.push_back(raise_when(gd, "d"));
        auto g2 = asyncio::create_task(asyncio::gather(std::move(ts)));
        co_await asyncio::testing::yield_n(2);
        gd.set_result();
        gc.set_result();
        try {
            co_await g2;
            ADD_FAILURE() << "gather did not raise";
        } catch (const MyExc& e) {
            EXPECT_STREQ(e.what(), "d");
        }
    };
    asyncio::testing::run(main());
}

// test_tasks.py GatherTestsBase: test_return_exceptions -- with
// return_exceptions every child is waited for and failures are results.
TEST(Gather, ReturnExceptions) {
    auto main = []() -> Task<> {
        asyncio::Future<> gate;
        gate.set_result();
        std::vector<Task<int>> ts;
        ts.push_back(after(2, 1));
        ts.push_back(raise_when(gate, "x"));
        ts.push_back(after(0, 3));
        auto r = co_await asyncio::gather(std::move(ts), asyncio::return_exceptions);
        EXPECT_EQ(r.size(), 3u);
        EXPECT_TRUE(r[0].ok());
        EXPECT_EQ(r[0].value(), 1);
        EXPECT_FALSE(r[1].ok());
        EXPECT_EQ(what(r[1].exception()), "x");
        EXPECT_THROW(r[1].value(), MyExc);
        EXPECT_EQ(r[2].value(), 3);
        auto v = co_await asyncio::gather(asyncio::return_exceptions, after(1, 7), raise_when(gate, "y"));
        EXPECT_EQ(std::get<0>(v).value(), 7);
        EXPECT_EQ(what(std::get<1>(v).exception()), "y");
    };
    asyncio::testing::run(main());
}

// test_tasks.py: test_cancellation_broadcast -- cancelling the task that
// awaits gather cancels every child; gather raises CancelledError.
TEST(Gather, CancellingGatherCancelsTheChildren) {
    bool c1 = false, c2 = false;
    auto outer_body = [](bool* a, bool* b) -> Task<> {
        co_await asyncio::gather(sleep_long(a), sleep_long(b));
    };
    auto main = [&]() -> Task<> {
        auto t = asyncio::create_task(outer_body(&c1, &c2));
        co_await asyncio::testing::yield_n(2);
        EXPECT_TRUE(t.cancel());
        EXPECT_THROW(co_await t, CancelledError);
        EXPECT_TRUE(t.cancelled());
    };
    asyncio::testing::run(main());
    EXPECT_TRUE(c1);
    EXPECT_TRUE(c2);
}

// test_tasks.py GatherTestsBase: test_one_cancellation -- a child that is
// cancelled makes gather raise CancelledError; the awaiting task itself was
// not cancelled.
TEST(Gather, ACancelledChildMakesGatherRaiseCancelledError) {
    auto main = []() -> Task<> {
        auto a = asyncio::create_task(sleep_long());
        auto b = asyncio::create_task(after(0, 2));
        auto g = asyncio::create_task(asyncio::gather(Task<int>(a), Task<int>(b)));
        co_await asyncio::sleep(0s);
        a.cancel();
        EXPECT_THROW(co_await g, CancelledError);
        // (g is a task whose coroutine let CancelledError out: it ends
        // cancelled, as in Python; but nobody cancelled it or us.)
        EXPECT_EQ(g.cancelling(), 0u);
        EXPECT_EQ(asyncio::current_task().cancelling(), 0u);
        EXPECT_EQ(co_await b, 2);
    };
    asyncio::testing::run(main());
}

// test_tasks.py GatherTestsBase: test_result_exception_one_cancellation --
// with return_exceptions a cancelled child gives a CancelledError result.
TEST(Gather, ReturnExceptionsWithACancelledChild) {
    auto main = []() -> Task<> {
        auto a = asyncio::create_task(sleep_long());
        std::vector<Task<int>> ts;
        ts.push_back(a);
        ts.push_back(after(1, 2));
        auto g = asyncio::create_task(asyncio::gather(std::move(ts), asyncio::return_exceptions));
        co_await asyncio::sleep(0s);
        a.cancel();
        auto r = co_await g;
        EXPECT_FALSE(r[0].ok());
        EXPECT_THROW(r[0].value(), CancelledError);
        EXPECT_EQ(r[1].value(), 2);
    };
    asyncio::testing::run(main());
}

// test_tasks.py: test_cancel_gather_2 -- cancelling a task awaiting
// gather(..., return_exceptions) still raises CancelledError (with the
// message) in that task.
TEST(Gather, CancellingGatherWithReturnExceptionsRaisesCancelledError) {
    auto body = []() -> Task<> {
        for (;;) {
            std::vector<Task<int>> ts;
            ts.push_back(sleep_long());
            co_await asyncio::gather(std::move(ts), asyncio::return_exceptions);
        }
    };
    auto main = [&]() -> Task<> {
        auto t = asyncio::create_task(body());
        co_await asyncio::testing::yield_n(2);
        t.cancel("my message");
        try {
            co_await t;
            ADD_FAILURE() << "no CancelledError";
        } catch (const CancelledError& e) {
            EXPECT_STREQ(e.what(), "my message");
        }
        EXPECT_TRUE(t.cancelled());
    };
    asyncio::testing::run(main());
}

// test_tasks.py: test_exception_marking -- gather looks at every child's
// exception, so none is reported as never retrieved, not even one that
// fails after gather already raised.
TEST(Gather, ExceptionsOfTheOtherChildrenAreMarkedRetrieved) {
    HandlerLog log;
    auto main = [&]() -> Task<> {
        log.install();
        asyncio::Future<> g1, g2;
        {
            auto g = asyncio::create_task(asyncio::gather(raise_when(g1, "first"), raise_when(g2, "later")));
            co_await asyncio::sleep(0s);
            g1.set_result();
            EXPECT_THROW(co_await g, MyExc);
        }
        g2.set_result();  // the second child fails now, unobserved
        co_await asyncio::testing::yield_n(3);
    };
    asyncio::testing::run(main());
    EXPECT_TRUE(log.messages.empty()) << log.messages.at(0);
}

// ---- wait -----------------------------------------------------------------------

// test_tasks.py: test_wait_first_completed.
TEST(Wait, FirstCompleted) {
    auto main = []() -> Task<> {
        asyncio::Future<int> fa, fb;
        std::vector<Task<int>> ts;
        ts.push_back(value_of(fa));
        ts.push_back(value_of(fb));
        ts.push_back(after(1, 3));
        auto r = co_await asyncio::wait(std::move(ts), std::nullopt, asyncio::FIRST_COMPLETED);
        CO_ASSERT_TRUE(r.done.size() == 1u);
        EXPECT_EQ(r.done[0].result(), 3);
        EXPECT_EQ(r.pending.size(), 2u);
        for (auto& t : r.pending) EXPECT_FALSE(t.done());
        fa.set_result(1);
        fb.set_result(2);
        for (auto& t : r.pending) co_await t;
    };
    asyncio::testing::run(main());
}

// test_tasks.py: test_wait_first_exception -- returns at the first task that
// raises; others stay pending.
TEST(Wait, FirstException) {
    auto main = []() -> Task<> {
        asyncio::Future<> gate;
        asyncio::Future<int> slow;
        std::vector<Task<int>> ts;
        ts.push_back(after(0, 1));  // a plain completion does not end the wait
        ts.push_back(raise_when(gate, "x"));
        ts.push_back(value_of(slow));
        auto w = asyncio::create_task(asyncio::wait(std::move(ts), std::nullopt, asyncio::FIRST_EXCEPTION));
        co_await asyncio::testing::yield_n(3);
        EXPECT_FALSE(w.done());
        gate.set_result();
        auto r = co_await w;
        EXPECT_EQ(r.done.size(), 2u);
        EXPECT_EQ(r.pending.size(), 1u);
        slow.set_result(0);
        co_await r.pending[0];
        for (auto& t : r.done) (void)t.exception();
    };
    asyncio::testing::run(main());
}

// asyncio.wait docs: FIRST_EXCEPTION with no exception is ALL_COMPLETED; a
// cancelled task is not an exception for wait.
TEST(Wait, FirstExceptionWithoutAnyWaitsForAll) {
    auto main = []() -> Task<> {
        auto c = asyncio::create_task(sleep_long());
        std::vector<Task<int>> ts;
        ts.push_back(after(2, 1));
        ts.push_back(c);
        auto w = asyncio::create_task(asyncio::wait(std::move(ts), std::nullopt, asyncio::FIRST_EXCEPTION));
        co_await asyncio::sleep(0s);
        c.cancel();
        co_await asyncio::sleep(0s);
        EXPECT_FALSE(w.done());
        auto r = co_await w;
        EXPECT_EQ(r.done.size(), 2u);
        EXPECT_TRUE(r.pending.empty());
    };
    asyncio::testing::run(main());
}

// test_tasks.py: test_wait -- ALL_COMPLETED (the default).
TEST(Wait, AllCompleted) {
    auto main = []() -> Task<> {
        std::vector<Task<int>> ts;
        for (int i = 0; i < 5; ++i) ts.push_back(after(i, i));
        auto r = co_await asyncio::wait(std::move(ts));
        EXPECT_EQ(r.done.size(), 5u);
        EXPECT_TRUE(r.pending.empty());
        int sum = 0;
        for (auto& t : r.done) sum += t.result();
        EXPECT_EQ(sum, 10);
    };
    asyncio::testing::run(main());
}

// test_tasks.py: test_wait_with_exception -- wait never raises the tasks'
// exceptions.
TEST(Wait, DoesNotRaiseTheTasksExceptions) {
    auto main = []() -> Task<> {
        asyncio::Future<> gate;
        gate.set_result();
        std::vector<Task<int>> ts;
        ts.push_back(raise_when(gate, "x"));
        ts.push_back(after(1, 2));
        auto r = co_await asyncio::wait(std::move(ts));
        EXPECT_EQ(r.done.size(), 2u);
        int failed = 0;
        for (auto& t : r.done) failed += t.exception() != nullptr;
        EXPECT_EQ(failed, 1);
    };
    asyncio::testing::run(main());
}

// test_tasks.py: test_wait_with_timeout -- on timeout wait returns, leaving
// the unfinished tasks pending and not cancelled.
TEST(Wait, TimeoutReturnsPendingWithoutCancelling) {
    auto main = []() -> Task<> {
        std::vector<Task<int>> ts;
        ts.push_back(after(0, 1));
        ts.push_back(sleep_long());
        auto r = co_await asyncio::wait(std::move(ts), 10ms);
        EXPECT_EQ(r.done.size(), 1u);
        CO_ASSERT_TRUE(r.pending.size() == 1u);
        co_await asyncio::sleep(0s);
        EXPECT_FALSE(r.pending[0].done());
        EXPECT_FALSE(r.pending[0].cancelled());
        r.pending[0].cancel();
    };
    asyncio::testing::run(main());
}

// asyncio.wait docs: cancelling the waiting task ends the wait with
// CancelledError but does not cancel the tasks waited for.
TEST(Wait, CancellingTheWaiterLeavesTheTasksRunning) {
    auto main = []() -> Task<> {
        auto inner = asyncio::create_task(sleep_long());
        std::vector<Task<int>> ts;
        ts.push_back(inner);
        auto w = asyncio::create_task(asyncio::wait(std::move(ts)));
        co_await asyncio::sleep(0s);
        w.cancel();
        EXPECT_THROW(co_await w, CancelledError);
        co_await asyncio::sleep(0s);
        EXPECT_FALSE(inner.done());
        inner.cancel();
    };
    asyncio::testing::run(main());
}

// test_tasks.py: test_wait_errors -- an empty set is a ValueError.
TEST(Wait, EmptyIsAValueError) {
    auto main = []() -> Task<> {
        EXPECT_THROW(co_await asyncio::wait(std::vector<Task<int>>()), concur::ValueError);
    };
    asyncio::testing::run(main());
}

// ---- shield --------------------------------------------------------------------

// test_tasks.py: test_shield_result.
TEST(Shield, PassesTheResultThrough) {
    auto main = []() -> Task<> { EXPECT_EQ(co_await asyncio::shield(after(1, 42)), 42); };
    asyncio::testing::run(main());
}

// test_tasks.py: test_shield_exception.
TEST(Shield, PassesTheExceptionThrough) {
    auto main = []() -> Task<> {
        asyncio::Future<> gate;
        gate.set_result();
        EXPECT_THROW(co_await asyncio::shield(raise_when(gate, "x")), MyExc);
    };
    asyncio::testing::run(main());
}

// test_tasks.py: test_shield_cancel_inner -- a cancelled inner task cancels
// the shield's awaiter too.
TEST(Shield, CancelledInnerRaisesCancelledError) {
    auto main = []() -> Task<> {
        auto inner = asyncio::create_task(sleep_long());
        auto outer = asyncio::create_task(asyncio::shield(Task<int>(inner)));
        co_await asyncio::sleep(0s);
        inner.cancel();
        EXPECT_THROW(co_await outer, CancelledError);
    };
    asyncio::testing::run(main());
}

// test_tasks.py: test_shield_cancel_outer / test_shield_effect -- cancelling
// the task awaiting shield() raises CancelledError there; the inner task
// goes on and finishes.
TEST(Shield, CancellingTheOuterLeavesTheInnerRunning) {
    auto body = [](Task<int> inner) -> Task<int> { co_return co_await asyncio::shield(std::move(inner)); };
    auto main = [&]() -> Task<> {
        asyncio::Future<int> f;
        auto inner = asyncio::create_task(value_of(f));
        auto outer = asyncio::create_task(body(inner));
        co_await asyncio::sleep(0s);
        EXPECT_TRUE(outer.cancel());
        EXPECT_THROW(co_await outer, CancelledError);
        EXPECT_TRUE(outer.cancelled());
        EXPECT_FALSE(inner.done());
        EXPECT_FALSE(f.cancelled());
        f.set_result(5);
        EXPECT_EQ(co_await inner, 5);
    };
    asyncio::testing::run(main());
}

// test_tasks.py: test_shield_cancel_outer_exception -- an inner task that
// fails after its shield's awaiter was cancelled is not reported as never
// retrieved.
TEST(Shield, InnerFailureAfterTheOuterWasCancelledIsNotReported) {
    HandlerLog log;
    auto body = [](Task<int> inner) -> Task<int> { co_return co_await asyncio::shield(std::move(inner)); };
    auto main = [&]() -> Task<> {
        log.install();
        asyncio::Future<> gate;
        auto outer = asyncio::create_task(body(asyncio::create_task(raise_when(gate, "late"))));
        co_await asyncio::sleep(0s);
        outer.cancel();
        EXPECT_THROW(co_await outer, CancelledError);
        gate.set_result();
        co_await asyncio::testing::yield_n(3);
    };
    asyncio::testing::run(main());
    EXPECT_TRUE(log.messages.empty()) << log.messages.at(0);
}

// ---- as_completed -----------------------------------------------------------------

// test_tasks.py: test_as_completed -- values come in completion order.
TEST(AsCompleted, GivesCompletionOrder) {
    auto main = []() -> Task<> {
        asyncio::Future<int> f0, f1, f2;
        std::vector<Task<int>> ts;
        ts.push_back(value_of(f0));
        ts.push_back(value_of(f1));
        ts.push_back(value_of(f2));
        auto it = asyncio::as_completed(std::move(ts));
        EXPECT_EQ(it.size(), 3u);
        co_await asyncio::sleep(0s);
        f1.set_result(1);
        EXPECT_EQ(co_await it.next(), 1);
        f2.set_result(2);
        EXPECT_EQ(co_await it.next(), 2);
        f0.set_result(0);
        EXPECT_TRUE(it.has_next());
        EXPECT_EQ(co_await it.next(), 0);
        EXPECT_FALSE(it.has_next());
    };
    asyncio::testing::run(main());
}

// test_tasks.py: test_as_completed_concurrent -- tasks that finish in one
// loop iteration still come out in the order they finished.
TEST(AsCompleted, OrderWithinOneIteration) {
    auto main = []() -> Task<> {
        asyncio::Future<int> f0, f1, f2;
        std::vector<Task<int>> ts;
        ts.push_back(value_of(f0));
        ts.push_back(value_of(f1));
        ts.push_back(value_of(f2));
        auto it = asyncio::as_completed(std::move(ts));
        co_await asyncio::sleep(0s);
        f2.set_result(2);  // the three tasks wake, and finish, in this order
        f0.set_result(0);
        f1.set_result(1);
        std::vector<int> got;
        while (it.has_next()) got.push_back(co_await it.next());
        EXPECT_EQ(got, (std::vector<int>{2, 0, 1}));
    };
    asyncio::testing::run(main());
}

// as_completed's next() raises the task's exception; next_task() gives the
// finished task itself (3.13's form).
TEST(AsCompleted, ExceptionsAndNextTask) {
    auto main = []() -> Task<> {
        asyncio::Future<> gate;
        gate.set_result();
        std::vector<Task<int>> ts;
        ts.push_back(raise_when(gate, "x"));
        ts.push_back(after(3, 4));
        auto it = asyncio::as_completed(std::move(ts));
        EXPECT_THROW(co_await it.next(), MyExc);
        Task<int> t = co_await it.next_task();
        EXPECT_TRUE(t.done());
        EXPECT_EQ(t.result(), 4);
        EXPECT_THROW(co_await it.next(), concur::RuntimeError);
    };
    asyncio::testing::run(main());
}

// test_tasks.py: test_as_completed_with_timeout -- once the timeout passes the
// remaining results raise TimeoutError; the tasks are not cancelled.
TEST(AsCompleted, Timeout) {
    auto main = []() -> Task<> {
        auto slow = asyncio::create_task(sleep_long());
        std::vector<Task<int>> ts;
        ts.push_back(after(0, 1));
        ts.push_back(slow);
        auto it = asyncio::as_completed(std::move(ts), 10ms);
        EXPECT_EQ(co_await it.next(), 1);
        EXPECT_THROW(co_await it.next(), asyncio::TimeoutError);
        EXPECT_THROW(co_await it.next(), asyncio::TimeoutError);
        EXPECT_FALSE(slow.done());
        slow.cancel();
    };
    asyncio::testing::run(main());
}
