// asyncio::Task<T>: scheduling, inline await vs task await, results and
// errors, names, current_task / all_tasks, done-callbacks, sleep, and the
// "Task exception was never retrieved" report. After CPython's
// Lib/test/test_asyncio/test_tasks.py.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "support.hpp"

namespace asyncio = concur::asyncio;
using asyncio::Task;
using asyncio::testing::HandlerLog;
using asyncio::testing::MyExc;
using namespace std::chrono_literals;

namespace {

Task<int> mark_and_return(bool* ran, int v) {
    *ran = true;
    co_return v;
}

Task<int> sleep_then(std::chrono::milliseconds d, int v) {
    co_await asyncio::sleep(d);
    co_return v;
}

Task<std::unique_ptr<int>> make_ptr(int v) {
    co_await asyncio::sleep(0s);
    co_return std::make_unique<int>(v);
}

Task<> append_after_yield(std::vector<int>* out, int a, int b) {
    out->push_back(a);
    co_await asyncio::sleep(0s);
    out->push_back(b);
}

Task<> wait_on(asyncio::Future<> f) { co_await f; }

Task<asyncio::detail::TaskBase*> current_base() { co_return asyncio::current_task().base(); }

}  // namespace

// test_tasks.py: test_task_basics / create_task docs -- the task is
// scheduled, not run: its first step comes on a later loop iteration.
TEST(Tasks, CreateTaskStartsOnALaterIteration) {
    bool ran = false;
    auto main = [&]() -> Task<> {
        auto t = asyncio::create_task(mark_and_return(&ran, 7));
        EXPECT_FALSE(ran);
        EXPECT_FALSE(t.done());
        EXPECT_TRUE(t.is_task());
        co_await asyncio::sleep(0s);
        EXPECT_TRUE(ran);
        EXPECT_TRUE(t.done());
        EXPECT_EQ(t.result(), 7);
    };
    asyncio::testing::run(main());
}

// test_tasks.py: test_task_basics -- `await coro` runs the coroutine at once
// inside the awaiting task (no new task, no trip round the loop).
TEST(Tasks, AwaitingACoroutineRunsItInlineInTheSameTask) {
    auto main = []() -> Task<> {
        bool ran = false;
        auto coro = mark_and_return(&ran, 5);
        EXPECT_FALSE(ran);  // a coroutine does nothing until awaited
        EXPECT_FALSE(coro.is_task());
        int v = co_await std::move(coro);
        EXPECT_TRUE(ran);
        EXPECT_EQ(v, 5);
        auto* inner = co_await current_base();
        EXPECT_EQ(inner, asyncio::current_task().base());
        EXPECT_EQ(asyncio::all_tasks().size(), 1u);
    };
    asyncio::testing::run(main());
}

// test_tasks.py: test_task_basics -- `await task` suspends until the task is
// done; a task may be awaited any number of times.
TEST(Tasks, AwaitingATaskWaitsForItAndCanBeRepeated) {
    auto main = []() -> Task<> {
        auto t = asyncio::create_task(sleep_then(1ms, 42));
        int a = co_await t;
        EXPECT_TRUE(t.done());
        int b = co_await t;
        EXPECT_EQ(a, 42);
        EXPECT_EQ(b, 42);
        EXPECT_EQ(t.result(), 42);
    };
    asyncio::testing::run(main());
}

// test_futures.py: test_result / test_exception -- result() and exception()
// of a pending task raise InvalidStateError.
TEST(Tasks, ResultAndExceptionBeforeDoneRaiseInvalidStateError) {
    auto main = []() -> Task<> {
        auto t = asyncio::create_task(sleep_then(1ms, 1));
        EXPECT_THROW(t.result(), asyncio::InvalidStateError);
        EXPECT_THROW(t.exception(), asyncio::InvalidStateError);
        co_await t;
        EXPECT_EQ(t.exception(), nullptr);
    };
    asyncio::testing::run(main());
}

// test_tasks.py: test_exception_... -- a task's exception is kept and
// rethrown as itself by await, result() and exception().
TEST(Tasks, ExceptionOfATaskIsRethrownAsItself) {
    auto main = []() -> Task<> {
        auto t = asyncio::create_task(asyncio::testing::fail_after(1, "boom"));
        EXPECT_THROW(co_await t, MyExc);
        EXPECT_TRUE(t.done());
        EXPECT_FALSE(t.cancelled());
        EXPECT_THROW(t.result(), MyExc);
        auto e = t.exception();
        EXPECT_NE(e, nullptr);
        EXPECT_EQ(asyncio::testing::what(e), "boom");
    };
    asyncio::testing::run(main());
}

// Move-only results: an rvalue task (or an inline coroutine) gives its value
// by move.
TEST(Tasks, MoveOnlyResults) {
    auto main = []() -> Task<> {
        std::unique_ptr<int> a = co_await make_ptr(1);
        EXPECT_EQ(*a, 1);
        auto t = asyncio::create_task(make_ptr(2));
        std::unique_ptr<int> b = co_await std::move(t);
        EXPECT_EQ(*b, 2);
        auto u = asyncio::create_task(make_ptr(3));
        co_await asyncio::testing::yield_n(2);
        EXPECT_TRUE(u.done());
        std::unique_ptr<int> c = std::move(u).result();
        EXPECT_EQ(*c, 3);
    };
    asyncio::testing::run(main());
}

// A Task<void> runs, can be awaited, and has a void result().
TEST(Tasks, VoidTasks) {
    auto main = []() -> Task<> {
        std::vector<int> order;
        auto t = asyncio::create_task(append_after_yield(&order, 1, 2));
        co_await t;
        t.result();
        EXPECT_EQ(order, (std::vector<int>{1, 2}));
    };
    asyncio::testing::run(main());
}

// Coroutine reuse: "coroutine is being awaited already" (RuntimeError) and
// create_task of a coroutine already started.
TEST(Tasks, ACoroutineCanOnlyBeStartedOnce) {
    auto main = []() -> Task<> {
        asyncio::Future<> gate;
        Task<> coro = wait_on(gate);
        auto first = [](Task<> c) -> Task<> { co_await c; };
        auto t1 = asyncio::create_task(first(coro));
        co_await asyncio::sleep(0s);  // t1 now awaits coro inline
        EXPECT_THROW(co_await coro, concur::RuntimeError);
        EXPECT_THROW((void)asyncio::create_task(coro), concur::RuntimeError);
        gate.set_result();
        co_await t1;
        auto t = asyncio::create_task(asyncio::testing::yield_n(1));
        EXPECT_THROW((void)asyncio::create_task(t), concur::RuntimeError);
        co_await t;
    };
    asyncio::testing::run(main());
}

// test_tasks.py: test_await_itself? / Task.__step -- "Task cannot await on
// itself" is a RuntimeError, not a hang.
TEST(Tasks, ATaskAwaitingItselfIsARuntimeError) {
    auto body = [](Task<int>* self) -> Task<int> {
        co_await asyncio::sleep(0s);
        bool refused = false;
        try {
            co_await *self;
        } catch (const concur::RuntimeError&) {
            refused = true;
        }
        co_return refused ? 1 : 0;
    };
    auto main = [&]() -> Task<> {
        Task<int> t;
        t = asyncio::create_task(body(&t));
        EXPECT_EQ(co_await t, 1);
    };
    asyncio::testing::run(main());
}

// test_tasks.py: test_create_task_... -- create_task needs a running loop.
TEST(Tasks, CreateTaskOutsideALoopIsARuntimeError) {
    EXPECT_THROW((void)asyncio::create_task(asyncio::testing::yield_n(1)), concur::RuntimeError);
}

// test_tasks.py: test_task_set_name / test_task_repr -- default names are
// Task-N, create_task(coro, name) and set_name() rename.
TEST(Tasks, Names) {
    auto main = []() -> Task<> {
        auto a = asyncio::create_task(asyncio::testing::yield_n(1));
        auto b = asyncio::create_task(asyncio::testing::yield_n(1), "yolo");
        EXPECT_EQ(a.get_name().rfind("Task-", 0), 0u) << a.get_name();
        EXPECT_EQ(b.get_name(), "yolo");
        a.set_name("renamed");
        EXPECT_EQ(a.get_name(), "renamed");
        co_await a;
        co_await b;
    };
    asyncio::testing::run(main());
}

// test_tasks.py: test_current_task -- current_task() is the running task,
// and empty outside any task (in a plain callback).
TEST(Tasks, CurrentTask) {
    auto main = []() -> Task<> {
        auto self = asyncio::current_task();
        EXPECT_TRUE(self);
        auto t = asyncio::create_task(current_base());
        auto* seen = co_await t;
        EXPECT_EQ(seen, static_cast<asyncio::TaskRef>(t).base());
        EXPECT_NE(seen, self.base());
        bool empty_in_callback = false;
        asyncio::get_running_loop().call_soon([&] { empty_in_callback = !asyncio::current_task(); });
        co_await asyncio::sleep(0s);
        EXPECT_TRUE(empty_in_callback);
    };
    asyncio::testing::run(main());
    EXPECT_FALSE(asyncio::current_task());
}

// test_tasks.py: test_current_task_with_interleaving_tasks.
TEST(Tasks, CurrentTaskFollowsInterleavingTasks) {
    auto main = []() -> Task<> {
        asyncio::Future<> f1, f2, done;
        auto coro = [](asyncio::Future<> wait, asyncio::Future<> wake) -> Task<bool> {
            auto me = asyncio::current_task();
            co_await wait;
            bool same = asyncio::current_task() == me;
            if (!wake.done()) wake.set_result();
            co_return same;
        };
        auto t1 = asyncio::create_task(coro(f1, f2));
        auto t2 = asyncio::create_task(coro(f2, done));
        co_await asyncio::sleep(0s);
        f1.set_result();
        EXPECT_TRUE(co_await t1);
        EXPECT_TRUE(co_await t2);
    };
    asyncio::testing::run(main());
}

// test_tasks.py: test_all_tasks -- the loop's tasks not yet done, the
// current one included.
TEST(Tasks, AllTasksListsPendingTasksOnly) {
    auto main = []() -> Task<> {
        EXPECT_EQ(asyncio::all_tasks().size(), 1u);
        asyncio::Future<> gate;
        auto a = asyncio::create_task(wait_on(gate));
        auto b = asyncio::create_task(asyncio::testing::yield_n(0));
        auto all = asyncio::all_tasks();
        EXPECT_EQ(all.size(), 3u);
        co_await b;
        all = asyncio::all_tasks();
        EXPECT_EQ(all.size(), 2u);
        bool has_a = false, has_self = false;
        for (auto& t : all) {
            has_a |= t == static_cast<asyncio::TaskRef>(a);
            has_self |= t == asyncio::current_task();
        }
        EXPECT_TRUE(has_a);
        EXPECT_TRUE(has_self);
        gate.set_result();
        co_await a;
        EXPECT_EQ(asyncio::all_tasks().size(), 1u);
    };
    asyncio::testing::run(main());
}

// test_futures.py: test_callbacks_invoked_on_set_result -- done-callbacks run
// through call_soon after the task is done, in the order added; one added
// to a done task is scheduled at once.
TEST(Tasks, DoneCallbacks) {
    auto main = []() -> Task<> {
        std::vector<int> order;
        auto t = asyncio::create_task(sleep_then(0ms, 3));
        t.add_done_callback([&](Task<int>& self) { order.push_back(self.result()); });
        t.add_done_callback([&] { order.push_back(10); });
        co_await t;  // our wake-up was scheduled after the two callbacks
        EXPECT_EQ(order, (std::vector<int>{3, 10}));
        t.add_done_callback([&] { order.push_back(11); });
        EXPECT_EQ(order.size(), 2u);  // scheduled with call_soon, not run inline
        co_await asyncio::sleep(0s);
        EXPECT_EQ(order.back(), 11);
    };
    asyncio::testing::run(main());
}

// asyncio.sleep docs: sleep(0) only yields, letting the other ready tasks
// run one step each.
TEST(Tasks, SleepZeroYieldsToOtherTasks) {
    std::vector<int> order;
    auto main = [&]() -> Task<> {
        auto a = asyncio::create_task(append_after_yield(&order, 1, 3));
        auto b = asyncio::create_task(append_after_yield(&order, 2, 4));
        co_await a;
        co_await b;
    };
    asyncio::testing::run(main());
    EXPECT_EQ(order, (std::vector<int>{1, 2, 3, 4}));
}

namespace {
Task<> sleep_until_and_record(asyncio::Clock::time_point until, std::vector<int>* out, int id) {
    co_await asyncio::sleep(until - asyncio::Clock::now());
    out->push_back(id);
}
}  // namespace

// test_tasks.py: test_sleep -- sleepers wake in deadline order (deadlines
// from one base time, so the order does not depend on scheduling delays).
TEST(Tasks, SleepersWakeInDeadlineOrder) {
    std::vector<int> order;
    auto main = [&]() -> Task<> {
        auto base = asyncio::Clock::now();
        std::vector<Task<>> ts;
        ts.push_back(asyncio::create_task(sleep_until_and_record(base + 30ms, &order, 3)));
        ts.push_back(asyncio::create_task(sleep_until_and_record(base + 10ms, &order, 1)));
        ts.push_back(asyncio::create_task(sleep_until_and_record(base + 20ms, &order, 2)));
        for (auto& t : ts) co_await t;
    };
    asyncio::testing::run(main());
    EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

// test_tasks.py: test_sleep -- sleep(delay, result) gives the result back.
TEST(Tasks, SleepWithAResult) {
    auto main = []() -> Task<std::string> { co_return co_await asyncio::sleep(1ms, std::string("done")); };
    EXPECT_EQ(asyncio::testing::run(main()), "done");
}

// test_futures.py: test_tb_logger_exception_unretrieved -- a task that failed
// and that nobody awaited or asked reports "Task exception was never
// retrieved" to the loop's exception handler when its last handle goes.
TEST(Tasks, UnretrievedExceptionIsReportedToTheExceptionHandler) {
    HandlerLog log;
    auto main = [&]() -> Task<> {
        log.install();
        (void)asyncio::create_task(asyncio::testing::fail_after(0, "lost"));
        co_await asyncio::testing::yield_n(2);
    };
    asyncio::testing::run(main());
    ASSERT_EQ(log.count("Task exception was never retrieved"), 1u);
    EXPECT_EQ(asyncio::testing::what(log.errors.at(0)), "lost");
}

// ...and the report comes when the last handle is dropped, after the task
// failed.
TEST(Tasks, UnretrievedExceptionIsReportedWhenTheLastHandleGoes) {
    HandlerLog log;
    auto main = [&]() -> Task<> {
        log.install();
        {
            auto t = asyncio::create_task(asyncio::testing::fail_after(0));
            co_await asyncio::testing::yield_n(2);
            EXPECT_TRUE(t.done());
            EXPECT_TRUE(log.messages.empty());
        }
        EXPECT_EQ(log.count("Task exception was never retrieved"), 1u);
    };
    asyncio::testing::run(main());
    EXPECT_EQ(log.messages.size(), 1u);
}

// test_futures.py: test_tb_logger_exception_retrieved -- no report once the
// exception was awaited, or asked for with result() / exception().
TEST(Tasks, RetrievedExceptionIsNotReported) {
    HandlerLog log;
    auto main = [&]() -> Task<> {
        log.install();
        auto a = asyncio::create_task(asyncio::testing::fail_after(0));
        auto b = asyncio::create_task(asyncio::testing::fail_after(0));
        auto c = asyncio::create_task(asyncio::testing::fail_after(0));
        EXPECT_THROW(co_await a, MyExc);
        co_await asyncio::testing::yield_n(1);
        EXPECT_THROW(b.result(), MyExc);
        EXPECT_NE(c.exception(), nullptr);
    };
    asyncio::testing::run(main());
    EXPECT_TRUE(log.messages.empty()) << log.messages.at(0);
}

// A task that ended cancelled has nothing to report either.
TEST(Tasks, CancelledTaskIsNotReported) {
    HandlerLog log;
    auto main = [&]() -> Task<> {
        log.install();
        auto t = asyncio::create_task(sleep_then(10s, 1));
        co_await asyncio::sleep(0s);
        t.cancel();
        co_await asyncio::testing::yield_n(1);
        EXPECT_TRUE(t.cancelled());
    };
    asyncio::testing::run(main());
    EXPECT_TRUE(log.messages.empty());
}
