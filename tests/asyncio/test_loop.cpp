// asyncio::run / run_until_complete, the loop's scheduling calls
// (call_soon, call_later, call_at, call_soon_threadsafe), its exception
// handler, signals, and work handed to threads (to_thread, run_in_executor,
// co_await of a concurrent Future). After CPython's
// Lib/test/test_asyncio/test_runners.py, test_events.py, test_base_events.py.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <concur/futures.hpp>
#include <concur/threading.hpp>
#include <string>
#include <thread>
#include <vector>

#include "support.hpp"

namespace asyncio = concur::asyncio;
using asyncio::CancelledError;
using asyncio::Clock;
using asyncio::Task;
using asyncio::testing::HandlerLog;
using asyncio::testing::MyExc;
using asyncio::testing::what;
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

}  // namespace

// ---- run / run_until_complete ---------------------------------------------------------

// test_runners.py: test_asyncio_run_return.
TEST(Run, ReturnsMainsValue) {
    auto main = []() -> Task<std::string> {
        co_await asyncio::sleep(0s);
        co_return "hi";
    };
    EXPECT_EQ(asyncio::testing::run(main()), "hi");
}

// test_runners.py: test_asyncio_run_raises.
TEST(Run, RaisesMainsException) {
    auto main = []() -> Task<> {
        co_await asyncio::sleep(0s);
        throw MyExc("spam");
    };
    EXPECT_THROW(asyncio::testing::run(main()), MyExc);
}

// test_runners.py: test_asyncio_run_cancel_hang -- tasks still pending when main
// returns are cancelled and waited for before run() returns.
TEST(Run, CancelsLeftoverTasksAtTheEnd) {
    bool saw_cancel = false;
    asyncio::Task<int> leftover;
    auto main = [&]() -> Task<> {
        leftover = asyncio::create_task(sleep_long(&saw_cancel));
        co_await asyncio::sleep(0s);
    };
    asyncio::testing::run(main());
    EXPECT_TRUE(saw_cancel);
    EXPECT_TRUE(leftover.done());
    EXPECT_TRUE(leftover.cancelled());
}

// test_runners.py: test_asyncio_run_reports_hanging_tasks_errors -- a leftover
// task that fails while being cancelled is reported to the exception handler.
TEST(Run, ReportsErrorsOfLeftoverTasks) {
    HandlerLog log;
    auto leftover = []() -> Task<> {
        try {
            co_await asyncio::sleep(10s);
        } catch (const CancelledError&) {
            throw MyExc("during shutdown");
        }
    };
    auto main = [&]() -> Task<> {
        log.install();
        (void)asyncio::create_task(leftover());
        co_await asyncio::sleep(0s);
    };
    asyncio::testing::run(main());
    ASSERT_EQ(log.messages.size(), 1u);
    EXPECT_EQ(log.messages[0], "unhandled exception during asyncio::run() shutdown");
    EXPECT_EQ(what(log.errors[0]), "during shutdown");
}

// test_runners.py: test_asyncio_run_from_running_loop (also for
// run_until_complete on the running loop).
TEST(Run, InsideARunningLoopIsARuntimeError) {
    auto main = []() -> Task<> {
        EXPECT_THROW(asyncio::run(asyncio::testing::yield_n(0)), concur::RuntimeError);
        EXPECT_THROW(asyncio::get_running_loop().run_until_complete(asyncio::testing::yield_n(0)),
                     concur::RuntimeError);
        co_return;
    };
    asyncio::testing::run(main());
}

// test_runners.py-like: run() on several threads at once, each with its own
// loop (and no SIGINT handling off the main thread).
TEST(Run, OnSeveralThreadsAtOnce) {
    auto main = [](int base) -> Task<int> {
        std::vector<Task<int>> ts;
        for (int i = 0; i < 200; ++i) {
            ts.push_back(asyncio::create_task([](int v) -> Task<int> {
                co_await asyncio::sleep(0s);
                co_return v;
            }(base + i)));
        }
        auto vs = co_await asyncio::gather(std::move(ts));
        int sum = 0;
        for (int v : vs) sum += v;
        co_return sum;
    };
    std::vector<int> sums(4);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] { sums[t] = asyncio::testing::run(main(t * 1000)); });
    }
    for (auto& th : threads) th.join();
    for (int t = 0; t < 4; ++t) EXPECT_EQ(sums[t], 200 * t * 1000 + 199 * 200 / 2);
}

// test_events.py: get_running_loop outside a loop is a RuntimeError.
TEST(Run, GetRunningLoopOutsideALoop) { EXPECT_THROW(asyncio::get_running_loop(), concur::RuntimeError); }

// test_runners.py: test_signal_handler-like (Runner's SIGINT handling) -- SIGINT
// during run() cancels main; run() raises KeyboardInterrupt and puts the
// default SIGINT disposition back.
TEST(Run, SigintCancelsMainAndRaisesKeyboardInterrupt) {
    bool saw_cancel = false;
    auto main = [&]() -> Task<> {
        asyncio::get_running_loop().call_later(1ms, [] { ::raise(SIGINT); });
        co_await sleep_long(&saw_cancel);
    };
    EXPECT_THROW(asyncio::testing::run(main()), concur::KeyboardInterrupt);
    EXPECT_TRUE(saw_cancel);
    struct sigaction now{};
    sigaction(SIGINT, nullptr, &now);
    EXPECT_EQ(now.sa_handler, SIG_DFL);
}

// test_base_events.py: test_run_until_complete_loop / test_events.py
// test_run_until_complete -- run_until_complete on a loop made by hand.
TEST(RunUntilComplete, ReturnsTheValueAndCanBeCalledAgain) {
    asyncio::EventLoop loop;
    auto work = [](int v) -> Task<int> {
        co_await asyncio::sleep(1ms);
        co_return v;
    };
    EXPECT_EQ(loop.run_until_complete(work(1)), 1);
    auto t = work(2);
    EXPECT_EQ(loop.run_until_complete(t), 2);
    // A task already done: the loop turns once and returns its result.
    EXPECT_EQ(loop.run_until_complete(t), 2);
    loop.close();
    EXPECT_TRUE(loop.is_closed());
    EXPECT_THROW(loop.run_until_complete(work(3)), concur::RuntimeError);
}

// test_events.py: test_run_until_complete_stopped -- stop() before the task is
// done: RuntimeError.
TEST(RunUntilComplete, StoppedBeforeTheTaskIsDone) {
    asyncio::EventLoop loop;
    auto main = [](asyncio::EventLoop* l) -> Task<> {
        l->stop();
        co_await asyncio::sleep(10s);
    };
    EXPECT_THROW(loop.run_until_complete(main(&loop)), concur::RuntimeError);
}

// test_base_events.py: test_run_forever_pre_stopped -- stop() before
// run_forever() still runs the callbacks already scheduled, once.
TEST(RunForever, PreStoppedRunsOneIteration) {
    asyncio::EventLoop loop;
    int ran = 0;
    loop.call_soon([&] { ++ran; });
    loop.stop();
    loop.run_forever();
    EXPECT_EQ(ran, 1);
    EXPECT_FALSE(loop.is_running());
}

// Closing a loop with a task asleep drops the task (it ends cancelled) and
// leaves nothing behind (ASan: the sleep's timer lived in the task's frame).
TEST(LoopClose, CloseWithPendingTasks) {
    bool saw_cancel = false;  // a task dropped by close() does not run again
    asyncio::Task<int> sleeper;
    {
        asyncio::EventLoop loop;
        auto main = [&]() -> Task<> {
            sleeper = asyncio::create_task(sleep_long(&saw_cancel));
            (void)asyncio::create_task(sleep_long());  // no handle left
            co_await asyncio::sleep(0s);
        };
        loop.run_until_complete(main());
        EXPECT_FALSE(sleeper.done());
        loop.close();
        EXPECT_TRUE(sleeper.cancelled());
        EXPECT_THROW(loop.run_forever(), concur::RuntimeError);
        EXPECT_THROW(loop.call_soon_threadsafe([] {}), concur::RuntimeError);
    }
    EXPECT_FALSE(saw_cancel);
    sleeper = {};
}

// Closing a loop while a TaskGroup waits for its children: the group's
// references to them are dropped with it (LeakSanitizer would see the frames).
TEST(LoopClose, CloseWithAPendingTaskGroup) {
    asyncio::EventLoop loop;
    auto group = []() -> Task<> {
        co_await asyncio::task_group([](asyncio::TaskGroup& g) -> Task<> {
            (void)g.create_task(sleep_long());
            (void)g.create_task(sleep_long());
            co_return;
        });
    };
    auto main = [&]() -> Task<> {
        (void)asyncio::create_task(group());
        co_await asyncio::testing::yield_n(2);
        EXPECT_EQ(asyncio::all_tasks().size(), 4u);
    };
    loop.run_until_complete(main());
    loop.close();
}

// ---- call_soon / call_later / call_at -------------------------------------------------

// test_base_events.py: test_call_soon / test_handle_cancel -- callbacks run
// later, not inline; a cancelled handle never runs.
TEST(Callbacks, CallSoonRunsLaterAndCanBeCancelled) {
    auto main = []() -> Task<> {
        auto& loop = asyncio::get_running_loop();
        std::vector<int> order;
        loop.call_soon([&] { order.push_back(1); });
        auto h = loop.call_soon([&] { order.push_back(2); });
        loop.call_soon([&] { order.push_back(3); });
        EXPECT_TRUE(order.empty());
        h.cancel();
        EXPECT_TRUE(h.cancelled());
        co_await asyncio::sleep(0s);
        EXPECT_EQ(order, (std::vector<int>{1, 3}));
    };
    asyncio::testing::run(main());
}

// test_base_events.py: test_call_later / test_call_at -- a timer never fires
// before its deadline; call_at takes the loop's clock.
TEST(Callbacks, CallLaterAndCallAtFireAtOrAfterTheirDeadline) {
    auto main = []() -> Task<> {
        auto& loop = asyncio::get_running_loop();
        asyncio::Future<> a, b;
        Clock::time_point fired_a{}, fired_b{};
        auto start = Clock::now();
        auto ha = loop.call_later(20ms, [&] {
            fired_a = Clock::now();
            a.set_result();
        });
        auto when = Clock::now() + 10ms;
        auto hb = loop.call_at(when, [&] {
            fired_b = Clock::now();
            b.set_result();
        });
        EXPECT_EQ(hb.when(), when);
        EXPECT_GE(ha.when(), start + 20ms);
        co_await a;
        co_await b;
        EXPECT_GE(fired_a, start + 20ms);
        EXPECT_GE(fired_b, when);
        EXPECT_GE(loop.time(), std::chrono::duration<double>(when.time_since_epoch()).count());
    };
    asyncio::testing::run(main());
}

// test_base_events.py: test_call_later_negative_delays -- negative delays run
// as soon as possible, in the order of their deadlines. The delays differ by
// a second, as CPython's do: each deadline is taken from the clock when
// call_later runs, and on a loaded machine (or under TSan) more than a
// millisecond can pass between the two calls.
TEST(Callbacks, NegativeDelaysRunAtOnceInDeadlineOrder) {
    auto main = []() -> Task<> {
        auto& loop = asyncio::get_running_loop();
        std::vector<int> order;
        loop.call_later(-1s, [&] { order.push_back(2); });
        loop.call_later(-2s, [&] { order.push_back(1); });
        co_await asyncio::testing::yield_n(2);
        EXPECT_EQ(order, (std::vector<int>{1, 2}));
    };
    asyncio::testing::run(main());
}

// test_events.py: test_call_later -- a cancelled timer never fires.
TEST(Callbacks, CancelledTimerNeverFires) {
    auto main = []() -> Task<> {
        auto& loop = asyncio::get_running_loop();
        bool fired = false;
        auto h = loop.call_later(1ms, [&] { fired = true; });
        h.cancel();
        co_await asyncio::sleep(20ms);
        EXPECT_FALSE(fired);
    };
    asyncio::testing::run(main());
}

// test_events.py: test_call_soon_threadsafe -- callbacks posted from several
// threads all run, on the loop's thread, each thread's in its order.
TEST(Callbacks, CallSoonThreadsafeFromManyThreads) {
    constexpr int kThreads = 4, kEach = 2000;
    auto main = []() -> Task<> {
        auto& loop = asyncio::get_running_loop();
        auto loop_thread = std::this_thread::get_id();
        asyncio::Future<> all;
        int count = 0;
        bool wrong_thread = false, out_of_order = false;
        std::vector<int> last(kThreads, -1);
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; ++t) {
            threads.emplace_back([&, t] {
                for (int i = 0; i < kEach; ++i) {
                    loop.call_soon_threadsafe([&, t, i] {
                        wrong_thread |= std::this_thread::get_id() != loop_thread;
                        out_of_order |= last[t] != i - 1;
                        last[t] = i;
                        if (++count == kThreads * kEach) all.set_result();
                    });
                }
            });
        }
        co_await all;
        for (auto& th : threads) th.join();
        EXPECT_FALSE(wrong_thread);
        EXPECT_FALSE(out_of_order);
        EXPECT_EQ(count, kThreads * kEach);
    };
    asyncio::testing::run(main());
}

// test_events.py: test_call_soon_threadsafe_handle_cancel -- a handle from
// call_soon_threadsafe may be cancelled (from any thread) before it runs.
TEST(Callbacks, CallSoonThreadsafeHandleCancel) {
    auto main = []() -> Task<> {
        auto& loop = asyncio::get_running_loop();
        bool ran = false;
        asyncio::Handle h;
        std::thread th([&] {
            h = loop.call_soon_threadsafe([&] { ran = true; });
            h.cancel();
        });
        th.join();
        co_await asyncio::testing::yield_n(3);
        EXPECT_FALSE(ran);
        EXPECT_TRUE(h.cancelled());
    };
    asyncio::testing::run(main());
}

// ---- exception handler ------------------------------------------------------------------

// test_base_events.py: test_set_exc_handler_custom / test_default_exc_handler_callback
// -- an exception escaping a callback goes to the handler; the loop goes on.
TEST(ExceptionHandler, ReceivesCallbackErrors) {
    HandlerLog log;
    auto main = [&]() -> Task<> {
        log.install();
        auto& loop = asyncio::get_running_loop();
        loop.call_soon([] { throw MyExc("in callback"); });
        loop.call_later(0ms, [] { throw MyExc("in timer"); });
        co_await asyncio::testing::yield_n(3);
        asyncio::ExceptionContext ctx;
        ctx.message = "custom";
        loop.call_exception_handler(ctx);
    };
    asyncio::testing::run(main());
    ASSERT_EQ(log.messages.size(), 3u);
    EXPECT_EQ(log.messages[0], "Exception in callback");
    EXPECT_EQ(what(log.errors[0]), "in callback");
    EXPECT_EQ(what(log.errors[1]), "in timer");
    EXPECT_EQ(log.messages[2], "custom");
}

// test_base_events.py: test_set_exc_handler_broken -- a handler that throws
// falls back to the default handler; the loop goes on.
TEST(ExceptionHandler, BrokenHandlerFallsBackToTheDefault) {
    int calls = 0;
    auto main = [&]() -> Task<> {
        auto& loop = asyncio::get_running_loop();
        loop.set_exception_handler([&](asyncio::EventLoop&, const asyncio::ExceptionContext&) {
            ++calls;
            throw MyExc("handler broke");
        });
        loop.call_soon([] { throw MyExc("in callback"); });
        co_await asyncio::testing::yield_n(2);
        co_return;
    };
    testing::internal::CaptureStderr();
    asyncio::testing::run(main());
    std::string err = testing::internal::GetCapturedStderr();
    EXPECT_EQ(calls, 1);
    EXPECT_NE(err.find("Unhandled error in exception handler"), std::string::npos) << err;
}

// ---- signals ---------------------------------------------------------------------------------

// test_events.py: test_add_signal_handler -- the handler runs on the loop's
// thread after the signal; remove_signal_handler() says whether there was one.
TEST(Signals, AddSignalHandlerRunsOnTheLoop) {
    auto main = []() -> Task<> {
        auto& loop = asyncio::get_running_loop();
        auto loop_thread = std::this_thread::get_id();
        asyncio::Future<> got;
        bool on_loop_thread = false;
        loop.add_signal_handler(SIGUSR1, [&] {
            on_loop_thread = std::this_thread::get_id() == loop_thread;
            got.set_result();
        });
        loop.call_soon([] { ::raise(SIGUSR1); });
        co_await got;
        EXPECT_TRUE(on_loop_thread);
        EXPECT_TRUE(loop.remove_signal_handler(SIGUSR1));
        EXPECT_FALSE(loop.remove_signal_handler(SIGUSR1));
        struct sigaction now{};
        sigaction(SIGUSR1, nullptr, &now);
        EXPECT_EQ(now.sa_handler, SIG_DFL);
    };
    asyncio::testing::run(main());
}

// test_unix_events.py: test_add_signal_handler_... -- invalid signals.
TEST(Signals, InvalidSignalsAreValueErrors) {
    auto main = []() -> Task<> {
        auto& loop = asyncio::get_running_loop();
        EXPECT_THROW(loop.add_signal_handler(SIGKILL, [] {}), concur::ValueError);
        EXPECT_THROW(loop.add_signal_handler(0, [] {}), concur::ValueError);
        EXPECT_THROW(loop.add_signal_handler(100000, [] {}), concur::ValueError);
        co_return;
    };
    asyncio::testing::run(main());
}

// ---- threads -----------------------------------------------------------------------------------

// test_threads.py: test_to_thread -- the call runs on another thread; its
// value (or exception) comes back to the awaiting task.
TEST(Threads, ToThread) {
    auto main = []() -> Task<> {
        auto loop_thread = std::this_thread::get_id();
        auto id = co_await asyncio::to_thread([] { return std::this_thread::get_id(); });
        EXPECT_NE(id, loop_thread);
        int sum = co_await asyncio::to_thread([](int a, int b) { return a + b; }, 2, 3);
        EXPECT_EQ(sum, 5);
        EXPECT_THROW(co_await asyncio::to_thread([] { throw MyExc("in thread"); }), MyExc);
        co_await asyncio::to_thread([] {});  // void
    };
    asyncio::testing::run(main());
}

// test_events.py: test_run_in_executor -- the default executor (null) and a
// given one.
TEST(Threads, RunInExecutor) {
    concur::futures::ThreadPoolExecutor pool({.max_workers = 2});
    auto main = [&]() -> Task<> {
        int a = co_await asyncio::run_in_executor(nullptr, [] { return 1; });
        int b = co_await asyncio::run_in_executor(&pool, [](int x) { return x * 2; }, 21);
        EXPECT_EQ(a, 1);
        EXPECT_EQ(b, 42);
    };
    asyncio::testing::run(main());
}

// co_await of a concur::futures::Future from any executor: the task resumes on
// the loop's thread; a Future already done gives its value at once.
TEST(Threads, AwaitAConcurrentFuture) {
    concur::futures::ThreadPoolExecutor pool({.max_workers = 2});
    auto main = [&]() -> Task<> {
        auto loop_thread = std::this_thread::get_id();
        std::vector<concur::futures::Future<int>> fs;
        for (int i = 0; i < 20; ++i) fs.push_back(pool.submit([i] { return i * i; }));
        int sum = 0;
        for (auto& f : fs) {
            sum += co_await f;
            EXPECT_EQ(std::this_thread::get_id(), loop_thread);
        }
        EXPECT_EQ(sum, 2470);
        concur::futures::Promise<std::string> p;
        p.set_result("ready");
        EXPECT_EQ(co_await p.get_future(), "ready");
    };
    asyncio::testing::run(main());
}

// asyncio.to_thread docs / wrap_future: cancelling the awaiting task while the
// call runs ends the wait at once with CancelledError; the call goes on.
TEST(Threads, CancellingTheAwaiterWhileTheCallRuns) {
    concur::threading::Event started, release;
    std::atomic<bool> finished{false};
    auto waiter = [&]() -> Task<int> {
        co_return co_await asyncio::to_thread([&] {
            started.set();
            release.wait();
            finished = true;
            return 1;
        });
    };
    auto main = [&]() -> Task<> {
        auto t = asyncio::create_task(waiter());
        co_await asyncio::to_thread([&] { started.wait(); });
        EXPECT_TRUE(t.cancel());
        EXPECT_THROW(co_await t, CancelledError);
        EXPECT_TRUE(t.cancelled());
        EXPECT_FALSE(finished.load());
        release.set();
    };
    asyncio::testing::run(main());
    EXPECT_TRUE(finished.load());  // run() shut the executor down after it
}

// Cancelling the awaiter before the call started cancels the call too.
TEST(Threads, CancellingTheAwaiterBeforeTheCallStarts) {
    concur::futures::ThreadPoolExecutor pool({.max_workers = 1});
    concur::threading::Event release;
    std::atomic<bool> ran{false};
    auto main = [&]() -> Task<> {
        auto busy = pool.submit([&] { release.wait(); });
        auto queued = pool.submit([&] { ran = true; });
        auto waiter = [](concur::futures::Future<void> f) -> Task<> { co_await f; };
        auto t = asyncio::create_task(waiter(queued));
        co_await asyncio::sleep(0s);
        t.cancel();
        EXPECT_THROW(co_await t, CancelledError);
        EXPECT_TRUE(queued.cancelled());
        release.set();
        co_await busy;
    };
    asyncio::testing::run(main());
    pool.shutdown(true);
    EXPECT_FALSE(ran.load());
}

// A task cancelled before it awaits a concurrent future (it cancelled
// itself) does not wait for the call to finish.
TEST(Threads, PendingCancelInterruptsTheAwaitAtOnce) {
    concur::futures::ThreadPoolExecutor pool({.max_workers = 1});
    concur::threading::Event started, release;
    auto main = [&]() -> Task<> {
        auto running = pool.submit([&] {
            started.set();
            release.wait();
        });
        co_await asyncio::to_thread([&] { started.wait(); });
        auto body = [](concur::futures::Future<void> f) -> Task<> {
            asyncio::current_task().cancel();
            co_await f;  // raises CancelledError without waiting for the call
        };
        auto t = asyncio::create_task(body(running));
        std::vector<Task<>> ts;
        ts.push_back(t);
        auto r = co_await asyncio::wait(std::move(ts), 10s);
        EXPECT_EQ(r.done.size(), 1u);
        EXPECT_TRUE(t.cancelled());
        release.set();
        co_await running;
    };
    asyncio::testing::run(main());
}
