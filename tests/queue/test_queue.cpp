// Queue, LifoQueue and PriorityQueue share CPython's BaseQueueTestMixin here
// (typed tests), followed by what only Queue (FIFO) shows: order, move-only
// and throwing items. Blocking tests follow CPython's do_blocking_test: a
// trigger thread pauses, sets `started`, then unblocks the call; a call that
// returns with `started` still false did not block. The pause only makes the
// check meaningful; a correct queue passes however the threads are scheduled.
#include "concur/queue.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <numeric>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;
using concur::queue::Empty;
using concur::queue::Full;
using Clock = std::chrono::steady_clock;

constexpr int kQueueSize = 5;  // CPython's QUEUE_SIZE

// CPython's BlockingTestMixin.do_blocking_test: returns block()'s result.
template <class Block, class Trigger>
auto do_blocking_test(Block block, Trigger trigger) {
    std::atomic<bool> started{false};
    std::jthread thread([&] {
        std::this_thread::sleep_for(100ms);
        started = true;
        trigger();
    });
    if constexpr (std::is_void_v<decltype(block())>) {
        block();
        EXPECT_TRUE(started.load()) << "blocking call appeared not to block";
    } else {
        auto result = block();
        EXPECT_TRUE(started.load()) << "blocking call appeared not to block";
        return result;
    }
}

template <class Q>
class BaseQueueTest : public ::testing::Test {};

using QueueTypes = ::testing::Types<concur::queue::Queue<int>, concur::queue::LifoQueue<int>,
                                    concur::queue::PriorityQueue<int>>;
TYPED_TEST_SUITE(BaseQueueTest, QueueTypes);

// Fills a bounded queue of maxsize kQueueSize.
template <class Q>
void fill(Q& q) {
    for (int i = 0; i < kQueueSize; ++i) q.put(i);
}

// CPython test_queue.BaseQueueTestMixin.basic_queue_test (the start)
TYPED_TEST(BaseQueueTest, NewQueueIsEmptyAndNotFull) {
    TypeParam q(kQueueSize);
    EXPECT_TRUE(q.empty());
    EXPECT_FALSE(q.full());
    EXPECT_EQ(q.qsize(), 0u);
    EXPECT_EQ(q.unfinished_tasks(), 0u);
    EXPECT_FALSE(q.is_shutdown());
}

// CPython test_queue.BaseQueueTestMixin.basic_queue_test (target_order)
TYPED_TEST(BaseQueueTest, OrderMatchesQueueKind) {
    TypeParam q(kQueueSize);
    q.put(111);
    q.put(333);
    q.put(222);
    std::vector<int> actual{q.get(), q.get(), q.get()};
    std::vector<int> expected;
    if constexpr (std::is_same_v<TypeParam, concur::queue::Queue<int>>)
        expected = {111, 333, 222};
    else if constexpr (std::is_same_v<TypeParam, concur::queue::LifoQueue<int>>)
        expected = {222, 333, 111};
    else
        expected = {111, 222, 333};
    EXPECT_EQ(actual, expected);
}

// CPython test_queue.BaseQueueTestMixin.basic_queue_test (qfull)
TYPED_TEST(BaseQueueTest, FullOnceMaxsizeItemsAreQueued) {
    TypeParam q(kQueueSize);
    for (int i = 0; i < kQueueSize - 1; ++i) {
        q.put(i);
        EXPECT_EQ(q.qsize(), static_cast<std::size_t>(i + 1));
    }
    EXPECT_FALSE(q.full());
    q.put(10);
    EXPECT_TRUE(q.full());
    EXPECT_FALSE(q.empty());
    EXPECT_EQ(q.maxsize(), kQueueSize);
}

TYPED_TEST(BaseQueueTest, ZeroOrNegativeMaxsizeIsUnbounded) {
    for (std::ptrdiff_t maxsize : {0, -1}) {
        TypeParam q(maxsize);
        EXPECT_EQ(q.maxsize(), maxsize);
        for (int i = 0; i < 1000; ++i) q.put_nowait(i);
        EXPECT_FALSE(q.full());
        EXPECT_EQ(q.qsize(), 1000u);
    }
}

// CPython test_queue.BaseQueueTestMixin.basic_queue_test (put block=0)
TYPED_TEST(BaseQueueTest, NonBlockingPutOnFullQueueThrowsFull) {
    TypeParam q(kQueueSize);
    fill(q);
    EXPECT_THROW(q.put(99, false), Full);
    EXPECT_EQ(q.qsize(), static_cast<std::size_t>(kQueueSize));
    EXPECT_EQ(q.unfinished_tasks(), static_cast<std::size_t>(kQueueSize));
}

// CPython test_queue.BaseQueueTestMixin.basic_queue_test (put timeout=0.01)
TYPED_TEST(BaseQueueTest, TimedPutOnFullQueueThrowsFullAfterTimeout) {
    TypeParam q(kQueueSize);
    fill(q);
    auto start = Clock::now();
    EXPECT_THROW(q.put(99, 50ms), Full);
    EXPECT_GE(Clock::now() - start, 50ms);
    start = Clock::now();
    EXPECT_THROW(q.put(99, true, 50ms), Full);
    EXPECT_GE(Clock::now() - start, 50ms);
}

TYPED_TEST(BaseQueueTest, FloatingPointTimeoutIsHonoured) {
    TypeParam q(kQueueSize);
    auto start = Clock::now();
    EXPECT_THROW(q.get(std::chrono::duration<double>(0.05)), Empty);
    EXPECT_GE(Clock::now() - start, 50ms);
}

TYPED_TEST(BaseQueueTest, ZeroTimeoutFailsAtOnce) {
    TypeParam q(1);
    EXPECT_THROW(q.get(0ms), Empty);
    q.put(1, 0ms);  // room: a zero timeout still puts
    EXPECT_THROW(q.put(2, 0ms), Full);
    EXPECT_EQ(q.get(0ms), 1);
}

// CPython test_queue.BaseQueueTestMixin.basic_queue_test (do_blocking_test(q.put, (full,), q.get, ()))
TYPED_TEST(BaseQueueTest, BlockingPutIsWokenByGet) {
    TypeParam q(kQueueSize);
    fill(q);
    do_blocking_test([&] { q.put(99); }, [&] { q.get(); });
    EXPECT_TRUE(q.full());
    EXPECT_EQ(q.unfinished_tasks(), static_cast<std::size_t>(kQueueSize + 1));
}

// CPython test_queue.BaseQueueTestMixin.basic_queue_test (q.put, (full, True, 10))
TYPED_TEST(BaseQueueTest, TimedBlockingPutIsWokenByGet) {
    TypeParam q(kQueueSize);
    fill(q);
    do_blocking_test([&] { q.put(99, true, 10s); }, [&] { q.get(); });
    EXPECT_TRUE(q.full());
}

// CPython test_queue.BaseQueueTestMixin.basic_queue_test (get block=0)
TYPED_TEST(BaseQueueTest, NonBlockingGetOnEmptyQueueThrowsEmpty) {
    TypeParam q(kQueueSize);
    EXPECT_THROW(q.get(false), Empty);
}

// CPython test_queue.BaseQueueTestMixin.basic_queue_test (get timeout=0.01)
TYPED_TEST(BaseQueueTest, TimedGetOnEmptyQueueThrowsEmptyAfterTimeout) {
    TypeParam q(kQueueSize);
    auto start = Clock::now();
    EXPECT_THROW(q.get(50ms), Empty);
    EXPECT_GE(Clock::now() - start, 50ms);
    start = Clock::now();
    EXPECT_THROW(q.get(true, 50ms), Empty);
    EXPECT_GE(Clock::now() - start, 50ms);
}

// CPython test_queue.BaseQueueTestMixin.basic_queue_test (do_blocking_test(q.get, (), q.put, ('empty',)))
TYPED_TEST(BaseQueueTest, BlockingGetIsWokenByPut) {
    TypeParam q(kQueueSize);
    EXPECT_EQ(do_blocking_test([&] { return q.get(); }, [&] { q.put(42); }), 42);
    EXPECT_TRUE(q.empty());
}

// CPython test_queue.BaseQueueTestMixin.basic_queue_test (q.get, (True, 10))
TYPED_TEST(BaseQueueTest, TimedBlockingGetIsWokenByPut) {
    TypeParam q(kQueueSize);
    EXPECT_EQ(do_blocking_test([&] { return q.get(true, 10s); }, [&] { q.put(42); }), 42);
}

TYPED_TEST(BaseQueueTest, HugeTimeoutBlocksUntilWoken) {
    TypeParam q(kQueueSize);
    EXPECT_EQ(do_blocking_test([&] { return q.get(std::chrono::hours::max()); },
                               [&] { q.put(7); }),
              7);
}

// CPython test_queue.BaseQueueTestMixin.test_nowait
TYPED_TEST(BaseQueueTest, NowaitThrowsFullAndEmpty) {
    TypeParam q(kQueueSize);
    for (int i = 0; i < kQueueSize; ++i) q.put_nowait(1);
    EXPECT_THROW(q.put_nowait(1), Full);
    for (int i = 0; i < kQueueSize; ++i) EXPECT_EQ(q.get_nowait(), 1);
    EXPECT_THROW(q.get_nowait(), Empty);
}

TYPED_TEST(BaseQueueTest, BlockFalseIsNowait) {
    TypeParam q(1);
    q.put(1, false);
    EXPECT_THROW(q.put(2, false), Full);
    EXPECT_EQ(q.get(false), 1);
    EXPECT_THROW(q.get(false), Empty);
}

// CPython test_queue.BaseQueueTestMixin.test_negative_timeout_raises_exception
TYPED_TEST(BaseQueueTest, NegativeTimeoutThrowsValueError) {
    TypeParam q(kQueueSize);
    EXPECT_THROW(q.put(1, -1s), concur::ValueError);
    EXPECT_THROW(q.get(true, -1s), concur::ValueError);
    q.put(1);
    // Python checks the timeout before looking for an item.
    EXPECT_THROW(q.get(-1ms), concur::ValueError);
    EXPECT_EQ(q.qsize(), 1u);
}

// Python ignores the timeout when block is false, and an unbounded put never
// looks at it.
TYPED_TEST(BaseQueueTest, NegativeTimeoutIsIgnoredWhereNeverUsed) {
    TypeParam bounded(kQueueSize);
    bounded.put(1, false, -1s);
    EXPECT_EQ(bounded.get(false, -1s), 1);
    TypeParam unbounded;
    unbounded.put(2, -1s);
    EXPECT_EQ(unbounded.get(), 2);
}

// CPython test_queue.BaseQueueTestMixin.test_queue_task_done
TYPED_TEST(BaseQueueTest, TaskDoneTooManyTimesThrowsValueError) {
    TypeParam q;
    try {
        q.task_done();
        FAIL() << "task_done() on a fresh queue did not throw";
    } catch (const concur::ValueError& e) {
        EXPECT_STREQ(e.what(), "task_done() called too many times");
    }
    q.put(1);
    q.get();
    q.task_done();
    EXPECT_THROW(q.task_done(), concur::ValueError);
    EXPECT_EQ(q.unfinished_tasks(), 0u);
}

TYPED_TEST(BaseQueueTest, UnfinishedTasksCountsPutsUntilTaskDone) {
    TypeParam q;
    q.put(1);
    q.put(2);
    EXPECT_EQ(q.unfinished_tasks(), 2u);
    q.get();
    EXPECT_EQ(q.unfinished_tasks(), 2u);  // get() alone does not finish a task
    q.task_done();
    EXPECT_EQ(q.unfinished_tasks(), 1u);
}

TYPED_TEST(BaseQueueTest, JoinOnQueueWithNoTasksReturnsAtOnce) {
    TypeParam q;
    q.join();
    q.put(1);
    q.get();
    q.task_done();
    q.join();
    SUCCEED();
}

TYPED_TEST(BaseQueueTest, JoinBlocksUntilLastTaskDone) {
    TypeParam q;
    q.put(1);
    q.put(2);
    q.get();
    q.get();
    q.task_done();
    do_blocking_test([&] { q.join(); }, [&] { q.task_done(); });
    EXPECT_EQ(q.unfinished_tasks(), 0u);
}

// CPython test_queue.BaseQueueTestMixin.test_queue_join (queue_join_test, twice)
TYPED_TEST(BaseQueueTest, JoinWaitsForWorkersToFinishEveryItem) {
    TypeParam q;
    for (int round = 0; round < 2; ++round) {
        std::mutex cum_lock;
        int cum = 0;
        auto worker = [&] {
            for (;;) {
                int x = q.get();
                if (x < 0) {
                    q.task_done();
                    return;
                }
                {
                    std::lock_guard lock(cum_lock);
                    cum += x;
                }
                q.task_done();
            }
        };
        std::vector<std::jthread> threads;
        for (int i = 0; i < 2; ++i) threads.emplace_back(worker);
        for (int i = 0; i < 100; ++i) q.put(i);
        q.join();
        {
            std::lock_guard lock(cum_lock);
            EXPECT_EQ(cum, 4950) << "join() did not block until all tasks were done";
        }
        for (int i = 0; i < 2; ++i) q.put(-1);  // tell the workers to stop
        q.join();                               // join twice
    }
    EXPECT_THROW(q.task_done(), concur::ValueError);
}

// Each notify_one must reach a getter that takes the item: no item is left
// queued while a getter sleeps.
TYPED_TEST(BaseQueueTest, EveryBlockedGetterReceivesAnItem) {
    constexpr int kGetters = 8;
    TypeParam q;
    std::atomic<int> sum{0};
    {
        std::vector<std::jthread> getters;
        for (int i = 0; i < kGetters; ++i) getters.emplace_back([&] { sum += q.get(); });
        std::this_thread::sleep_for(50ms);  // let most of them park (not required)
        for (int i = 1; i <= kGetters; ++i) q.put(i);
    }
    EXPECT_EQ(sum.load(), kGetters * (kGetters + 1) / 2);
    EXPECT_TRUE(q.empty());
}

TYPED_TEST(BaseQueueTest, EveryBlockedPutterGetsASlot) {
    constexpr int kPutters = 8;
    TypeParam q(1);
    q.put(0);
    int sum = 0;
    {
        std::vector<std::jthread> putters;
        for (int i = 1; i <= kPutters; ++i) putters.emplace_back([&q, i] { q.put(i); });
        std::this_thread::sleep_for(50ms);  // let most of them park (not required)
        for (int i = 0; i <= kPutters; ++i) sum += q.get();
    }
    EXPECT_EQ(sum, kPutters * (kPutters + 1) / 2);
    EXPECT_TRUE(q.empty());
    EXPECT_EQ(q.unfinished_tasks(), static_cast<std::size_t>(kPutters + 1));
}

// ---- Queue only ------------------------------------------------------------

TEST(Queue, SingleProducerSingleConsumerKeepsOrder) {
    concur::queue::Queue<int> q(3);
    std::vector<int> got;
    {
        std::jthread consumer([&] {
            for (int i = 0; i < 1000; ++i) got.push_back(q.get());
        });
        for (int i = 0; i < 1000; ++i) q.put(i);
    }
    std::vector<int> expected(1000);
    std::iota(expected.begin(), expected.end(), 0);
    EXPECT_EQ(got, expected);
}

TEST(Queue, MoveOnlyItems) {
    concur::queue::Queue<std::unique_ptr<int>> q(2);
    q.put(std::make_unique<int>(1));
    q.put_nowait(std::make_unique<int>(2));
    std::unique_ptr<int> a = q.get();
    std::unique_ptr<int> b = q.get_nowait();
    ASSERT_TRUE(a && b);
    EXPECT_EQ(*a, 1);
    EXPECT_EQ(*b, 2);
}

TEST(Queue, MoveOnlyItemCrossesThreads) {
    concur::queue::Queue<std::unique_ptr<std::string>> q;
    auto got = do_blocking_test([&] { return q.get(); },
                                [&] { q.put(std::make_unique<std::string>("hi")); });
    ASSERT_TRUE(got);
    EXPECT_EQ(*got, "hi");
}

// A put that throws leaves its argument with the caller, so a move-only item
// is not destroyed by a Full.
TEST(Queue, FailedPutLeavesMoveOnlyItemWithCaller) {
    concur::queue::Queue<std::unique_ptr<int>> q(1);
    q.put(std::make_unique<int>(1));
    auto item = std::make_unique<int>(2);
    EXPECT_THROW(q.put_nowait(std::move(item)), Full);
    ASSERT_TRUE(item);  // NOLINT(bugprone-use-after-move): the point of the test
    EXPECT_THROW(q.put(std::move(item), 10ms), Full);
    ASSERT_TRUE(item);  // NOLINT(bugprone-use-after-move)
    EXPECT_EQ(*item, 2);
}

TEST(Queue, PutAcceptsBracedAndConvertibleValues) {
    concur::queue::Queue<std::pair<int, std::string>> pairs;
    pairs.put({1, "one"});
    pairs.put({2, "two"}, 1s);
    EXPECT_EQ(pairs.get().second, "one");
    EXPECT_EQ(pairs.get().second, "two");
    concur::queue::Queue<std::string> strings;
    strings.put("literal");
    const std::string lvalue = "copied";
    strings.put(lvalue);
    EXPECT_EQ(strings.get(), "literal");
    EXPECT_EQ(strings.get(), "copied");
    EXPECT_EQ(lvalue, "copied");
}

// An item whose copy or move can be made to throw, as CPython's FailingQueue
// makes _put/_get throw.
struct Fragile {
    static inline bool fail_copy = false;
    static inline bool fail_move = false;
    int value;
    explicit Fragile(int v) : value(v) {}
    Fragile(const Fragile& other) : value(other.value) {
        if (fail_copy) throw std::runtime_error("copy failed");
    }
    Fragile(Fragile&& other) : value(other.value) {
        if (fail_move) throw std::runtime_error("move failed");
    }
    Fragile& operator=(const Fragile&) = default;
    Fragile& operator=(Fragile&&) = default;
};

// CPython test_queue.FailingQueueTest.test_failing_queue (failing put)
TEST(Queue, PutWhoseItemThrowsLeavesQueueUnchanged) {
    concur::queue::Queue<Fragile> q(kQueueSize);
    q.put(Fragile(1));
    const Fragile f(2);
    Fragile::fail_copy = true;
    EXPECT_THROW(q.put(f), std::runtime_error);
    EXPECT_THROW(q.put(f, false), std::runtime_error);
    EXPECT_THROW(q.put(f, 100ms), std::runtime_error);
    Fragile::fail_copy = false;
    EXPECT_EQ(q.qsize(), 1u);
    EXPECT_EQ(q.unfinished_tasks(), 1u);
    q.put(f);
    EXPECT_EQ(q.get().value, 1);
    EXPECT_EQ(q.get().value, 2);
}

// CPython test_queue.FailingQueueTest.test_failing_queue (failing get)
TEST(Queue, GetWhoseItemThrowsLeavesItemQueued) {
    concur::queue::Queue<Fragile> q(kQueueSize);
    q.put(Fragile(1));
    Fragile::fail_move = true;
    EXPECT_THROW(q.get(), std::runtime_error);
    EXPECT_THROW(q.get(100ms), std::runtime_error);
    Fragile::fail_move = false;
    EXPECT_EQ(q.qsize(), 1u);
    EXPECT_EQ(q.get().value, 1);
    EXPECT_TRUE(q.empty());
}

TEST(Queue, ExceptionsDeriveFromConcurError) {
    concur::queue::Queue<int> q(1);
    q.put(1);
    EXPECT_THROW(q.put_nowait(2), concur::Error);
    q.get();
    EXPECT_THROW(q.get_nowait(), concur::Error);
}

}  // namespace
