// PriorityQueue: ordering and comparators. The behaviour shared with Queue
// (bounds, timeouts, task_done/join, blocking, shutdown) is covered by the
// typed tests in test_queue.cpp and test_shutdown.cpp, which run on
// PriorityQueue<int> too.
#include "concur/queue.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;
using concur::queue::PriorityQueue;

template <class Q>
std::vector<typename Q::value_type> drain(Q& q) {
    std::vector<typename Q::value_type> out;
    while (!q.empty()) out.push_back(q.get());
    return out;
}

// CPython test_queue.BaseQueueTestMixin.basic_queue_test (PriorityQueue order)
TEST(PriorityQueue, SmallestFirstByDefault) {
    PriorityQueue<int> q;
    for (int x : {5, 1, 4, 2, 3}) q.put(x);
    EXPECT_EQ(drain(q), (std::vector<int>{1, 2, 3, 4, 5}));
}

TEST(PriorityQueue, RandomInputComesOutSorted) {
    PriorityQueue<int> q;
    std::mt19937 rng(12345);
    std::vector<int> input(1000);
    for (int& x : input) x = static_cast<int>(rng() % 100);  // many duplicates
    for (int x : input) q.put(x);
    std::sort(input.begin(), input.end());
    EXPECT_EQ(drain(q), input);
}

// Python's idiom: (priority, data) tuples.
TEST(PriorityQueue, PairsOrderByPriorityThenData) {
    PriorityQueue<std::pair<int, std::string>> q;
    q.put({2, "code"});
    q.put({1, "eat"});
    q.put({3, "sleep"});
    q.put({1, "drink"});
    EXPECT_EQ(q.get(), (std::pair<int, std::string>{1, "drink"}));
    EXPECT_EQ(q.get(), (std::pair<int, std::string>{1, "eat"}));
    EXPECT_EQ(q.get().second, "code");
    EXPECT_EQ(q.get().second, "sleep");
}

TEST(PriorityQueue, GreaterComparatorGivesLargestFirst) {
    PriorityQueue<int, std::greater<int>> q;
    for (int x : {5, 1, 4, 2, 3}) q.put(x);
    EXPECT_EQ(drain(q), (std::vector<int>{5, 4, 3, 2, 1}));
}

// A comparator object with state, passed to the constructor.
TEST(PriorityQueue, StatefulComparatorPassedToConstructor) {
    int pivot = 10;  // not const: the lambda must carry it as state
    auto closer = [pivot](int a, int b) { return std::abs(a - pivot) < std::abs(b - pivot); };
    PriorityQueue<int, decltype(closer)> q(closer);
    EXPECT_EQ(q.maxsize(), 0);
    for (int x : {0, 25, 9, 14, 10}) q.put(x);
    EXPECT_EQ(drain(q), (std::vector<int>{10, 9, 14, 0, 25}));
}

TEST(PriorityQueue, BoundedWithComparator) {
    auto by_length = [](const std::string& a, const std::string& b) {
        return a.size() < b.size();
    };
    PriorityQueue<std::string, decltype(by_length)> q(2, by_length);
    EXPECT_EQ(q.maxsize(), 2);
    q.put("three");
    q.put("a");
    EXPECT_TRUE(q.full());
    EXPECT_THROW(q.put_nowait("xx"), concur::queue::Full);
    EXPECT_EQ(q.get(), "a");
    EXPECT_EQ(q.get(), "three");
}

TEST(PriorityQueue, MoveOnlyItemsWithComparator) {
    struct ByPointee {
        bool operator()(const std::unique_ptr<int>& a, const std::unique_ptr<int>& b) const {
            return *a < *b;
        }
    };
    PriorityQueue<std::unique_ptr<int>, ByPointee> q;
    for (int x : {3, 1, 2}) q.put(std::make_unique<int>(x));
    EXPECT_EQ(*q.get(), 1);
    EXPECT_EQ(*q.get(), 2);
    EXPECT_EQ(*q.get(), 3);
}

// The comparator is called on the queue's own copy: its state is kept.
TEST(PriorityQueue, ComparatorCopyIsUsed) {
    struct Counting {
        std::shared_ptr<int> calls = std::make_shared<int>(0);
        bool operator()(int a, int b) const {
            ++*calls;
            return a < b;
        }
    };
    Counting cmp;
    PriorityQueue<int, Counting> q(cmp);
    for (int x : {3, 1, 2, 5, 4}) q.put(x);
    EXPECT_EQ(drain(q), (std::vector<int>{1, 2, 3, 4, 5}));
    EXPECT_GT(*cmp.calls, 0);
}

TEST(PriorityQueue, BlockedGetterReceivesItem) {
    PriorityQueue<int> q;
    std::atomic<bool> started{false};
    int got = 0;
    {
        std::jthread trigger([&] {
            std::this_thread::sleep_for(100ms);
            started = true;
            q.put(7);
        });
        got = q.get(10s);
        EXPECT_TRUE(started.load()) << "get() on an empty PriorityQueue appeared not to block";
    }
    EXPECT_EQ(got, 7);
}

// Items put while a consumer runs still come out in order relative to what
// is queued at each get().
TEST(PriorityQueue, EachGetReturnsSmallestQueuedNow) {
    PriorityQueue<int> q;
    q.put(5);
    q.put(3);
    EXPECT_EQ(q.get(), 3);
    q.put(1);
    q.put(4);
    EXPECT_EQ(q.get(), 1);
    EXPECT_EQ(q.get(), 4);
    EXPECT_EQ(q.get(), 5);
}

}  // namespace
