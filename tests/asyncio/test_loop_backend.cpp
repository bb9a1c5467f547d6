// The loop runs on the backend CTest asked for, and the backends agree on
// the basics: callbacks in FIFO order, timers in deadline order,
// call_soon_threadsafe from another thread, add_reader on a pipe.
#include <gtest/gtest.h>
#include <unistd.h>

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
    loop.call_later(30ms, [&] { order.push_back(3); loop.stop(); });
    loop.call_later(10ms, [&] { order.push_back(1); });
    auto h = loop.call_later(15ms, [&] { order.push_back(99); });
    loop.call_later(20ms, [&] { order.push_back(2); });
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
