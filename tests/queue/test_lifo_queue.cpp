// LifoQueue: what differs from Queue. The behaviour shared with Queue (bounds,
// timeouts, task_done/join, blocking) is covered by the typed tests in
// test_queue.cpp and test_shutdown.cpp, which run on LifoQueue too.
#include "concur/queue.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using concur::queue::LifoQueue;

// CPython test_queue.BaseQueueTestMixin.basic_queue_test (LifoQueue order)
TEST(LifoQueue, GetReturnsMostRecentlyPutFirst) {
    LifoQueue<int> q;
    for (int i = 0; i < 5; ++i) q.put(i);
    std::vector<int> got;
    while (!q.empty()) got.push_back(q.get());
    EXPECT_EQ(got, (std::vector<int>{4, 3, 2, 1, 0}));
}

TEST(LifoQueue, InterleavedPutsAndGets) {
    LifoQueue<std::string> q;
    q.put("a");
    q.put("b");
    EXPECT_EQ(q.get(), "b");
    q.put("c");
    EXPECT_EQ(q.get(), "c");
    EXPECT_EQ(q.get(), "a");
    EXPECT_THROW(q.get_nowait(), concur::queue::Empty);
}

TEST(LifoQueue, BoundedLifoRefusesWhenFull) {
    LifoQueue<int> q(2);
    q.put(1);
    q.put(2);
    EXPECT_TRUE(q.full());
    EXPECT_THROW(q.put_nowait(3), concur::queue::Full);
    EXPECT_EQ(q.get(), 2);  // the refused item did not displace the top
}

TEST(LifoQueue, MoveOnlyItems) {
    LifoQueue<std::unique_ptr<int>> q(2);
    q.put(std::make_unique<int>(1));
    q.put(std::make_unique<int>(2));
    auto item = std::make_unique<int>(3);
    EXPECT_THROW(q.put_nowait(std::move(item)), concur::queue::Full);
    ASSERT_TRUE(item);  // NOLINT(bugprone-use-after-move): a failed put keeps it
    EXPECT_EQ(*q.get(), 2);
    EXPECT_EQ(*q.get(), 1);
}

// A getter parked on an empty LifoQueue is woken by put() and gets the item.
TEST(LifoQueue, BlockedGetterReceivesPushedItem) {
    LifoQueue<int> q;
    std::atomic<bool> started{false};
    int got = 0;
    {
        std::jthread trigger([&] {
            std::this_thread::sleep_for(100ms);
            started = true;
            q.put(7);
        });
        got = q.get();
        EXPECT_TRUE(started.load()) << "get() on an empty LifoQueue appeared not to block";
    }
    EXPECT_EQ(got, 7);
}

TEST(LifoQueue, TaskAccountingMatchesQueue) {
    LifoQueue<int> q;
    q.put(1);
    q.put(2);
    q.get();
    q.task_done();
    EXPECT_EQ(q.unfinished_tasks(), 1u);
    q.get();
    q.task_done();
    q.join();
    EXPECT_THROW(q.task_done(), concur::ValueError);
}

}  // namespace
