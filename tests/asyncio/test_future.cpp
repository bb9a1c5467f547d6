// asyncio::Future<T>, after CPython's Lib/test/test_asyncio/test_futures.py.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support.hpp"

namespace asyncio = concur::asyncio;
using asyncio::CancelledError;
using asyncio::InvalidStateError;
using asyncio::Task;
using asyncio::testing::HandlerLog;
using asyncio::testing::MyExc;
using asyncio::testing::what;
using namespace std::chrono_literals;

namespace {
Task<std::string> await_future(asyncio::Future<std::string> f) { co_return co_await f; }
}  // namespace

// test_futures.py: test_initial_state.
TEST(Future, InitialState) {
    auto main = []() -> Task<> {
        asyncio::Future<int> f;
        EXPECT_FALSE(f.done());
        EXPECT_FALSE(f.cancelled());
        EXPECT_TRUE(f.cancel());
        EXPECT_TRUE(f.done());
        EXPECT_TRUE(f.cancelled());
        co_return;
    };
    asyncio::testing::run(main());
}

// test_futures.py: test_constructor_without_loop -- a Future belongs to the
// running loop; there must be one.
TEST(Future, NeedsARunningLoop) { EXPECT_THROW(asyncio::Future<int>(), concur::RuntimeError); }

// test_futures.py: test_result -- result() before done is InvalidStateError;
// set_result settles once.
TEST(Future, Result) {
    auto main = []() -> Task<> {
        asyncio::Future<int> f;
        EXPECT_THROW(f.result(), InvalidStateError);
        EXPECT_THROW(f.exception(), InvalidStateError);
        f.set_result(42);
        EXPECT_TRUE(f.done());
        EXPECT_FALSE(f.cancelled());
        EXPECT_EQ(f.result(), 42);
        EXPECT_EQ(f.exception(), nullptr);
        EXPECT_THROW(f.set_result(1), InvalidStateError);
        EXPECT_THROW(f.set_exception(std::make_exception_ptr(MyExc())), InvalidStateError);
        EXPECT_FALSE(f.cancel());
        co_return;
    };
    asyncio::testing::run(main());
}

// test_futures.py: test_exception.
TEST(Future, Exception) {
    auto main = []() -> Task<> {
        asyncio::Future<int> f;
        f.set_exception(std::make_exception_ptr(MyExc("bad")));
        EXPECT_TRUE(f.done());
        EXPECT_THROW(f.result(), MyExc);
        EXPECT_EQ(what(f.exception()), "bad");
        EXPECT_THROW(f.set_result(1), InvalidStateError);
        EXPECT_FALSE(f.cancel());
        co_return;
    };
    asyncio::testing::run(main());
}

// test_futures.py: test_cancel / test_future_cancel_message_getter -- a
// cancelled future raises CancelledError (with the message) from result()
// and exception().
TEST(Future, Cancel) {
    auto main = []() -> Task<> {
        asyncio::Future<int> f;
        EXPECT_TRUE(f.cancel("why"));
        EXPECT_FALSE(f.cancel());
        try {
            (void)f.result();
            ADD_FAILURE() << "no CancelledError";
        } catch (const CancelledError& e) {
            EXPECT_STREQ(e.what(), "why");
        }
        EXPECT_THROW(f.exception(), CancelledError);
        EXPECT_THROW(f.set_result(1), InvalidStateError);
        co_return;
    };
    asyncio::testing::run(main());
}

// test_futures.py: test_await -- awaiting suspends until the result is set;
// every awaiter gets it (a copy).
TEST(Future, AwaitingFromSeveralTasks) {
    auto main = []() -> Task<> {
        asyncio::Future<std::string> f;
        auto a = asyncio::create_task(await_future(f));
        auto b = asyncio::create_task(await_future(f));
        co_await asyncio::sleep(0s);
        EXPECT_FALSE(a.done());
        f.set_result("hello");
        EXPECT_EQ(co_await a, "hello");
        EXPECT_EQ(co_await b, "hello");
        EXPECT_EQ(f.result(), "hello");
        EXPECT_EQ(co_await f, "hello");  // done: at once
    };
    asyncio::testing::run(main());
}

// Awaiting a future that fails raises its exception; awaiting a cancelled
// one raises CancelledError with its message.
TEST(Future, AwaitingAFailedOrCancelledFuture) {
    auto main = []() -> Task<> {
        asyncio::Future<std::string> f, g;
        auto a = asyncio::create_task(await_future(f));
        auto b = asyncio::create_task(await_future(g));
        co_await asyncio::sleep(0s);
        f.set_exception(std::make_exception_ptr(MyExc("x")));
        g.cancel("gone");
        EXPECT_THROW(co_await a, MyExc);
        try {
            co_await b;
            ADD_FAILURE() << "no CancelledError";
        } catch (const CancelledError& e) {
            EXPECT_STREQ(e.what(), "gone");
        }
    };
    asyncio::testing::run(main());
}

// test_tasks.py: test_cancel_inner_future -- cancelling a task awaiting a
// future cancels the future, so its other awaiters see CancelledError too.
TEST(Future, CancellingAnAwaiterCancelsTheFuture) {
    auto main = []() -> Task<> {
        asyncio::Future<std::string> f;
        auto a = asyncio::create_task(await_future(f));
        auto b = asyncio::create_task(await_future(f));
        co_await asyncio::sleep(0s);
        a.cancel("stop");
        EXPECT_TRUE(f.cancelled());
        EXPECT_THROW(co_await a, CancelledError);
        EXPECT_THROW(co_await b, CancelledError);
        EXPECT_TRUE(a.cancelled());
    };
    asyncio::testing::run(main());
}

// A void future.
TEST(Future, Void) {
    auto main = []() -> Task<> {
        asyncio::Future<> f;
        auto waiter = [](asyncio::Future<> fut) -> Task<int> {
            co_await fut;
            co_return 1;
        };
        auto t = asyncio::create_task(waiter(f));
        co_await asyncio::sleep(0s);
        f.set_result();
        EXPECT_EQ(co_await t, 1);
        f.result();
    };
    asyncio::testing::run(main());
}

// Copies of a Future share one state, as Python's references do.
TEST(Future, CopiesShareTheState) {
    auto main = []() -> Task<> {
        asyncio::Future<int> f;
        asyncio::Future<int> g = f;
        g.set_result(3);
        EXPECT_TRUE(f.done());
        EXPECT_EQ(f.result(), 3);
        co_return;
    };
    asyncio::testing::run(main());
}

// test_futures.py: test_callbacks_invoked_on_set_result /
// test_callbacks_invoked_on_set_exception -- done-callbacks are scheduled
// with call_soon, in the order added, with the future as argument.
TEST(Future, DoneCallbacks) {
    auto main = []() -> Task<> {
        std::vector<std::string> seen;
        asyncio::Future<int> f;
        f.add_done_callback([&](asyncio::Future<int>& self) { seen.push_back(std::to_string(self.result())); });
        f.add_done_callback([&] { seen.push_back("second"); });
        f.set_result(7);
        EXPECT_TRUE(seen.empty());  // not inline
        co_await asyncio::sleep(0s);
        EXPECT_EQ(seen, (std::vector<std::string>{"7", "second"}));
        f.add_done_callback([&] { seen.push_back("late"); });  // already done: soon
        EXPECT_EQ(seen.size(), 2u);
        co_await asyncio::sleep(0s);
        EXPECT_EQ(seen.back(), "late");
        asyncio::Future<int> g;
        g.add_done_callback([&](asyncio::Future<int>& self) { seen.push_back(what(self.exception())); });
        g.set_exception(std::make_exception_ptr(MyExc("err")));
        co_await asyncio::sleep(0s);
        EXPECT_EQ(seen.back(), "err");
    };
    asyncio::testing::run(main());
}

// test_futures.py: test_tb_logger_exception_unretrieved -- a future whose
// exception nobody looked at reports it when the last copy goes.
TEST(Future, UnretrievedExceptionIsReported) {
    HandlerLog log;
    auto main = [&]() -> Task<> {
        log.install();
        {
            asyncio::Future<int> f;
            f.set_exception(std::make_exception_ptr(MyExc("lost")));
        }
        EXPECT_EQ(log.count("Future exception was never retrieved"), 1u);
        co_return;
    };
    asyncio::testing::run(main());
    ASSERT_EQ(log.errors.size(), 1u);
    EXPECT_EQ(what(log.errors[0]), "lost");
}

// test_futures.py: test_tb_logger_exception_retrieved /
// test_tb_logger_result_unretrieved -- nothing to report.
TEST(Future, RetrievedExceptionOrUnreadResultIsNotReported) {
    HandlerLog log;
    auto main = [&]() -> Task<> {
        log.install();
        {
            asyncio::Future<int> f;
            f.set_exception(std::make_exception_ptr(MyExc()));
            (void)f.exception();
        }
        {
            asyncio::Future<int> f;
            f.set_result(1);
        }
        {
            asyncio::Future<int> f;
            f.cancel();
        }
        co_return;
    };
    asyncio::testing::run(main());
    EXPECT_TRUE(log.messages.empty());
}
