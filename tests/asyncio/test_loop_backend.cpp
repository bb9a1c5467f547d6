// The loop runs on the backend CTest asked for, and the backends agree on
// the basics: callbacks in FIFO order, timers in deadline order,
// call_soon_threadsafe from another thread, add_reader on a pipe.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "support.hpp"

namespace asyncio = concur::asyncio;
using namespace std::chrono_literals;

TEST(Loop, UsesTheBackendCTestAskedFor) {
    asyncio::EventLoop loop;
    std::string want = asyncio::testing::expected_backend();
    if (!want.empty() && want != "auto") {
        EXPECT_EQ(loop.backend_name(), want);
    }
}

// On io_uring (Linux 6.0+) sockets skip readiness: the ring receives and
// sends for them. If this silently fell back, the suite would still pass
// on readiness and the echo benchmark would lose a third of its speed.
TEST(Loop, IoUringDoesSocketIoItself) {
    asyncio::EventLoop loop;
    if (loop.backend_name() != "io_uring") GTEST_SKIP() << "readiness only on " << loop.backend_name();
    const char* off = std::getenv("CONCUR_URING_SOCKET_IO");
    EXPECT_EQ(loop.socket_completions(), !(off && std::string(off) == "0"));
}

// CPython test_events: test_call_soon / FIFO order of call_soon.
TEST(Loop, CallSoonRunsInFifoOrder) {
    asyncio::EventLoop loop;
    std::vector<int> order;
    for (int i = 0; i < 5; ++i) loop.call_soon([&, i] { order.push_back(i); });
    loop.call_soon([&] { loop.stop(); });
    loop.run_forever();
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
}

// CPython test_events: test_call_later ordering; a cancelled handle never runs.
TEST(Loop, TimersFireInDeadlineOrderAndCancelledOnesDoNot) {
    asyncio::EventLoop loop;
    std::vector<int> order;
    // call_at from one reading of the clock: with call_later, a thread
    // preempted for 10 ms between two calls (TSan, a loaded machine) would
    // register them out of order.
    auto t0 = asyncio::EventLoop::now();
    loop.call_at(t0 + 30ms, [&] { order.push_back(3); loop.stop(); });
    loop.call_at(t0 + 10ms, [&] { order.push_back(1); });
    auto h = loop.call_at(t0 + 15ms, [&] { order.push_back(99); });
    loop.call_at(t0 + 20ms, [&] { order.push_back(2); });
    h.cancel();
    EXPECT_TRUE(h.cancelled());
    loop.run_forever();
    EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

// CPython test_events: test_run_in_executor / call_soon_threadsafe wakes a
// loop blocked in its I/O wait.
TEST(Loop, CallSoonThreadsafeWakesABlockedLoop) {
    asyncio::EventLoop loop;
    std::thread t([&] {
        std::this_thread::sleep_for(20ms);
        loop.call_soon_threadsafe([&] { loop.stop(); });
    });
    loop.run_forever();  // would block forever without the wake-up
    t.join();
    SUCCEED();
}

// CPython test_events: test_add_reader / test_remove_reader.
TEST(Loop, AddReaderSeesDataOnAPipe) {
    asyncio::EventLoop loop;
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    std::string got;
    loop.add_reader(p[0], [&] {
        char buf[16];
        ssize_t n = read(p[0], buf, sizeof buf);
        got.append(buf, n > 0 ? n : 0);
        EXPECT_TRUE(loop.remove_reader(p[0]));
        loop.stop();
    });
    loop.call_later(5ms, [&] { ASSERT_EQ(write(p[1], "hi", 2), 2); });
    loop.run_forever();
    EXPECT_EQ(got, "hi");
    EXPECT_FALSE(loop.remove_reader(p[0]));
    close(p[0]);
    close(p[1]);
}

TEST(Loop, RunInsideARunningLoopIsARuntimeError) {
    auto inner = []() -> asyncio::Task<> { co_return; };
    auto outer = [&]() -> asyncio::Task<> {
        EXPECT_THROW(asyncio::run(inner()), concur::RuntimeError);
        co_return;
    };
    asyncio::run(outer());
}

// A loop made on one thread and run on another (then on a third): an
// io_uring ring belongs to the thread that made it, so the backend must
// move its registrations to a new ring; timers, readers and wake-ups from
// other threads must all still work.
TEST(Loop, RunsOnAThreadOtherThanTheOneThatMadeIt) {
    asyncio::EventLoop loop;
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    int reads = 0;
    loop.add_reader(p[0], [&] {
        char c;
        if (read(p[0], &c, 1) == 1) ++reads;
        loop.stop();
    });
    for (int round = 0; round < 2; ++round) {
        std::thread runner([&] {
            loop.call_later(1ms, [&] { ASSERT_EQ(write(p[1], "x", 1), 1); });
            loop.run_forever();  // stopped by the reader
        });
        runner.join();
    }
    EXPECT_EQ(reads, 2);
    std::thread poster([&] { loop.call_soon_threadsafe([&] { loop.stop(); }); });
    std::thread runner([&] { loop.run_forever(); });
    poster.join();
    runner.join();
    loop.remove_reader(p[0]);
    close(p[0]);
    close(p[1]);
}

// CPython test_events: test_close / call_soon after close raises
// RuntimeError('Event loop is closed'): the callback would never run.
TEST(Loop, SchedulingOnAClosedLoopIsARuntimeError) {
    asyncio::EventLoop loop;
    loop.close();
    EXPECT_THROW(loop.call_soon([] {}), concur::RuntimeError);
    EXPECT_THROW(loop.call_later(1ms, [] {}), concur::RuntimeError);
    EXPECT_THROW(loop.call_soon_threadsafe([] {}), concur::RuntimeError);
}

// A sleep far beyond the clock's range waits (until cancelled) instead of
// overflowing into the past and returning at once.
TEST(Loop, AHugeSleepWaitsInsteadOfOverflowing) {
    auto main_ = []() -> asyncio::Task<bool> {
        auto sleeper = asyncio::create_task([]() -> asyncio::Task<> { co_await asyncio::sleep(std::chrono::hours::max()); }());
        for (int i = 0; i < 5; ++i) co_await asyncio::sleep(0s);
        bool still_sleeping = !sleeper.done();
        sleeper.cancel();
        try {
            co_await sleeper;
        } catch (const concur::CancelledError&) {
        }
        co_return still_sleeping;
    };
    EXPECT_TRUE(asyncio::run(main_()));
}

// Python coroutines have no add_done_callback; a concur coroutine that was
// never scheduled says what to do instead of crashing later.
TEST(Loop, AddDoneCallbackOnAnUnscheduledCoroutineIsAnError) {
    auto coro = []() -> asyncio::Task<> { co_return; }();
    EXPECT_THROW(coro.add_done_callback([] {}), concur::InvalidStateError);
}
