// SimpleQueue, ported from CPython's test_queue.BaseSimpleQueueTest.
#include "concur/queue.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using concur::queue::Empty;
using concur::queue::SimpleQueue;
using Clock = std::chrono::steady_clock;

// CPython test_queue.BaseSimpleQueueTest.test_basic
TEST(SimpleQueue, Basic) {
    SimpleQueue<int> q;
    EXPECT_TRUE(q.empty());
    EXPECT_EQ(q.qsize(), 0u);
    q.put(1);
    EXPECT_FALSE(q.empty());
    EXPECT_EQ(q.qsize(), 1u);
    q.put(2);
    q.put_nowait(3);
    q.put(4);
    EXPECT_EQ(q.qsize(), 4u);

    EXPECT_EQ(q.get(), 1);
    EXPECT_EQ(q.qsize(), 3u);
    EXPECT_EQ(q.get_nowait(), 2);
    EXPECT_EQ(q.get(false), 3);
    EXPECT_EQ(q.get(100ms), 4);
    EXPECT_TRUE(q.empty());

    EXPECT_THROW(q.get(false), Empty);
    EXPECT_THROW(q.get(1ms), Empty);
    EXPECT_THROW(q.get_nowait(), Empty);
    EXPECT_TRUE(q.empty());
    EXPECT_EQ(q.qsize(), 0u);
}

// CPython test_queue.BaseSimpleQueueTest.test_negative_timeout_raises_exception
TEST(SimpleQueue, NegativeTimeoutThrowsValueErrorEvenWithItems) {
    SimpleQueue<int> q;
    q.put(1);
    EXPECT_THROW(q.get(-1s), concur::ValueError);
    EXPECT_THROW(q.get(true, -1ms), concur::ValueError);
    EXPECT_EQ(q.qsize(), 1u);
}

// As CPython's _queue: the timeout is ignored when block is false.
TEST(SimpleQueue, NegativeTimeoutIgnoredWhenNotBlocking) {
    SimpleQueue<int> q;
    q.put(1);
    EXPECT_EQ(q.get(false, -1s), 1);
    EXPECT_THROW(q.get(false, -1s), Empty);
}

TEST(SimpleQueue, TimedGetOnEmptyThrowsEmptyAfterTimeout) {
    SimpleQueue<int> q;
    auto start = Clock::now();
    EXPECT_THROW(q.get(50ms), Empty);
    EXPECT_GE(Clock::now() - start, 50ms);
    start = Clock::now();
    EXPECT_THROW(q.get(true, 50ms), Empty);
    EXPECT_GE(Clock::now() - start, 50ms);
}

TEST(SimpleQueue, ZeroTimeoutFailsAtOnce) {
    SimpleQueue<int> q;
    EXPECT_THROW(q.get(0s), Empty);
    q.put(5);
    EXPECT_EQ(q.get(0s), 5);
}

// CPython BlockingTestMixin.do_blocking_test on SimpleQueue.get
TEST(SimpleQueue, BlockingGetIsWokenByPut) {
    for (bool timed : {false, true}) {
        SimpleQueue<int> q;
        std::atomic<bool> started{false};
        int got = 0;
        {
            std::jthread trigger([&] {
                std::this_thread::sleep_for(100ms);
                started = true;
                q.put(42);
            });
            got = timed ? q.get(10s) : q.get();
            EXPECT_TRUE(started.load()) << "get() on an empty SimpleQueue appeared not to block";
        }
        EXPECT_EQ(got, 42);
    }
}

// CPython test_queue.BaseSimpleQueueTest.test_references (the item is moved
// out, not copied: a move-only item works and is destroyed once).
TEST(SimpleQueue, MoveOnlyItems) {
    SimpleQueue<std::unique_ptr<int>> q;
    auto shared = std::make_shared<int>(7);
    std::weak_ptr<int> watch = shared;
    SimpleQueue<std::shared_ptr<int>> refs;
    refs.put(std::move(shared));
    q.put(std::make_unique<int>(1));
    q.put_nowait(std::make_unique<int>(2));
    EXPECT_EQ(*q.get(), 1);
    EXPECT_EQ(*q.get_nowait(), 2);
    EXPECT_FALSE(watch.expired());
    refs.get();  // the queue holds no copy once the item is taken
    EXPECT_TRUE(watch.expired());
}

// Helpers for CPython's run_threads: feeders put inputs then one sentinel
// each; consumers stop at a sentinel.
constexpr int kSentinel = -1;

enum class Consume { blocking, nonblocking, timeout };

std::vector<int> run_threads(int n_threads, const std::vector<int>& inputs, Consume how) {
    SimpleQueue<int> q;
    std::mutex mutex;
    std::vector<int> seq(inputs.rbegin(), inputs.rend());  // popped from the back
    std::vector<int> results;
    auto feed = [&](unsigned seed) {
        std::minstd_rand rng(seed);
        for (;;) {
            std::optional<int> val;
            {
                std::lock_guard lock(mutex);
                if (!seq.empty()) {
                    val = seq.back();
                    seq.pop_back();
                }
            }
            if (!val) {
                q.put(kSentinel);
                return;
            }
            q.put(*val);
            if (rng() % 2 == 0) std::this_thread::yield();
        }
    };
    auto next = [&]() -> int {
        switch (how) {
            case Consume::blocking:
                return q.get();
            case Consume::nonblocking:
                for (;;) {
                    try {
                        return q.get(false);
                    } catch (const Empty&) {
                        std::this_thread::yield();
                    }
                }
            case Consume::timeout:
                for (;;) {
                    try {
                        return q.get(10us);
                    } catch (const Empty&) {
                    }
                }
        }
        return kSentinel;
    };
    auto consume = [&] {
        for (int val = next(); val != kSentinel; val = next()) {
            std::lock_guard lock(mutex);
            results.push_back(val);
        }
    };
    {
        std::vector<std::jthread> threads;
        for (int i = 0; i < n_threads; ++i) threads.emplace_back(feed, 42u + i);
        for (int i = 0; i < n_threads; ++i) threads.emplace_back(consume);
    }
    EXPECT_TRUE(q.empty());
    EXPECT_EQ(q.qsize(), 0u);
    return results;
}

std::vector<int> range(int n) {
    std::vector<int> v(n);
    std::iota(v.begin(), v.end(), 0);
    return v;
}

// CPython test_queue.BaseSimpleQueueTest.test_order
TEST(SimpleQueue, OneProducerOneConsumerKeepsOrder) {
    auto inputs = range(100);
    EXPECT_EQ(run_threads(1, inputs, Consume::blocking), inputs);
}

// CPython test_queue.BaseSimpleQueueTest.test_many_threads
TEST(SimpleQueue, ManyThreadsDeliverEveryItemOnce) {
    auto inputs = range(10000);
    auto results = run_threads(16, inputs, Consume::blocking);
    std::sort(results.begin(), results.end());
    EXPECT_EQ(results, inputs);
}

// CPython test_queue.BaseSimpleQueueTest.test_many_threads_nonblock
TEST(SimpleQueue, ManyThreadsNonBlockingGet) {
    auto inputs = range(10000);
    auto results = run_threads(16, inputs, Consume::nonblocking);
    std::sort(results.begin(), results.end());
    EXPECT_EQ(results, inputs);
}

// CPython test_queue.BaseSimpleQueueTest.test_many_threads_timeout
TEST(SimpleQueue, ManyThreadsTimedGet) {
    auto inputs = range(10000);
    auto results = run_threads(16, inputs, Consume::timeout);
    std::sort(results.begin(), results.end());
    EXPECT_EQ(results, inputs);
}

TEST(SimpleQueue, PutAcceptsConvertibleValues) {
    SimpleQueue<std::string> q;
    q.put("literal");
    const std::string lvalue = "copied";
    q.put_nowait(lvalue);
    EXPECT_EQ(q.get(), "literal");
    EXPECT_EQ(q.get(), "copied");
}

}  // namespace
