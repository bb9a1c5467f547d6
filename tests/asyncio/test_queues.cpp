// asyncio's Queue, LifoQueue and PriorityQueue, one behaviour per test,
// ported from CPython's Lib/test/test_asyncio/test_queues.py (the test each
// one follows is named above it). Tasks are sequenced with sleep(0) (one
// loop step: Python's `await asyncio.sleep(0)`) and events, never with
// wall-clock delays.
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <new>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "support.hpp"

#include "allocation_counter.hpp"

using concur::asyncio::testing::AllocationCounter;

namespace asyncio = concur::asyncio;
using asyncio::Task;
using namespace std::chrono_literals;

namespace {

// Python's `await asyncio.sleep(0)`: every task ready now runs one step.
auto step() { return asyncio::sleep(0s); }

const int kOneThreeTwo[] = {1, 3, 2};

// Python's asyncio.create_task(q.put(x)) / create_task(q.get()).
template <class Q, class T>
Task<> put(Q& q, T item) {
    co_await q.put(std::move(item));
}
template <class Q>
Task<typename Q::value_type> get(Q& q) {
    co_return co_await q.get();
}

}  // namespace

// ---- basics -------------------------------------------------------------------

// CPython QueueBasicTests.test_empty / test_full
TEST(Queue, EmptyAndFull) {
    auto main = []() -> Task<> {
        asyncio::Queue<int> q;
        EXPECT_TRUE(q.empty());
        EXPECT_FALSE(q.full());  // unbounded: never full
        co_await q.put(1);
        EXPECT_FALSE(q.empty());
        EXPECT_EQ(co_await q.get(), 1);
        EXPECT_TRUE(q.empty());

        asyncio::Queue<int> bounded(1);
        co_await bounded.put(1);
        EXPECT_TRUE(bounded.full());
        EXPECT_EQ(bounded.qsize(), 1u);
        EXPECT_EQ(bounded.maxsize(), 1);
    };
    asyncio::testing::run(main());
}

// CPython QueueBasicTests.test_order
TEST(Queue, GivesItemsFirstInFirstOut) {
    auto main = []() -> Task<> {
        asyncio::Queue<int> q;
        for (int i : kOneThreeTwo) co_await q.put(i);
        std::vector<int> items;
        for (int i = 0; i < 3; ++i) items.push_back(co_await q.get());
        EXPECT_EQ(items, (std::vector<int>{1, 3, 2}));
    };
    asyncio::testing::run(main());
}

// CPython LifoQueueTests.test_order
TEST(Queue, LifoQueueGivesTheNewestFirst) {
    auto main = []() -> Task<> {
        asyncio::LifoQueue<int> q;
        for (int i : kOneThreeTwo) co_await q.put(i);
        std::vector<int> items;
        for (int i = 0; i < 3; ++i) items.push_back(co_await q.get());
        EXPECT_EQ(items, (std::vector<int>{2, 3, 1}));
    };
    asyncio::testing::run(main());
}

// CPython PriorityQueueTests.test_order
TEST(Queue, PriorityQueueGivesTheSmallestFirst) {
    auto main = []() -> Task<> {
        asyncio::PriorityQueue<int> q;
        for (int i : kOneThreeTwo) co_await q.put(i);
        std::vector<int> items;
        for (int i = 0; i < 3; ++i) items.push_back(co_await q.get());
        EXPECT_EQ(items, (std::vector<int>{1, 2, 3}));
    };
    asyncio::testing::run(main());
}

TEST(Queue, PriorityQueueTakesAComparator) {
    asyncio::PriorityQueue<int, std::greater<int>> q;
    for (int i : kOneThreeTwo) q.put_nowait(i);
    EXPECT_EQ(q.get_nowait(), 3);
    EXPECT_EQ(q.get_nowait(), 2);
    EXPECT_EQ(q.get_nowait(), 1);
}

// The ring buffer behind Queue keeps FIFO order across growth and wrap-around.
TEST(Queue, KeepsOrderAcrossGrowthAndWrapAround) {
    asyncio::Queue<int> q;
    int next_in = 0;
    int next_out = 0;
    for (int round = 0; round < 50; ++round) {
        for (int i = 0; i < 7 + round; ++i) q.put_nowait(next_in++);
        for (int i = 0; i < 5 + round / 2; ++i) EXPECT_EQ(q.get_nowait(), next_out++);
    }
    while (!q.empty()) EXPECT_EQ(q.get_nowait(), next_out++);
    EXPECT_EQ(next_out, next_in);
}

// CPython QueueBasicTests.test_maxsize
TEST(Queue, PutSuspendsWhileTheQueueIsFull) {
    auto main = []() -> Task<> {
        asyncio::Queue<int> q(2);
        EXPECT_EQ(q.maxsize(), 2);
        std::vector<int> have_been_put;
        auto putter = [&]() -> Task<bool> {
            for (int i = 0; i < 3; ++i) {
                co_await q.put(i);
                have_been_put.push_back(i);
            }
            co_return true;
        };
        auto t = asyncio::create_task(putter());
        co_await step();
        co_await step();
        EXPECT_EQ(have_been_put, (std::vector<int>{0, 1}));  // blocked on the third
        EXPECT_EQ(co_await q.get(), 0);
        co_await step();
        EXPECT_EQ(have_been_put, (std::vector<int>{0, 1, 2}));
        EXPECT_EQ(co_await q.get(), 1);
        EXPECT_EQ(co_await q.get(), 2);
        EXPECT_TRUE(t.done() && t.result());
    };
    asyncio::testing::run(main());
}

// Uncontended put and get are part of the contract: they do not suspend.
TEST(Queue, UncontendedPutAndGetDoNotSuspend) {
    bool other_ran = false;
    auto other = [&]() -> Task<> {
        other_ran = true;
        co_return;
    };
    auto main = [&]() -> Task<> {
        asyncio::Queue<int> q(4);
        auto t = asyncio::create_task(other());
        for (int i = 0; i < 3; ++i) {
            co_await q.put(i);
            EXPECT_EQ(co_await q.get(), i);
            q.task_done();
        }
        co_await q.join();
        EXPECT_FALSE(other_ran);
        co_await t;
    };
    asyncio::testing::run(main());
}

// Nor do they allocate: the ring grows only when full, and waiters live in
// coroutine frames.
TEST(Queue, UncontendedPutAndGetDoNotAllocate) {
#if defined(CONCUR_SANITIZE_thread)
    GTEST_SKIP() << "ThreadSanitizer's runtime owns operator new: allocations cannot be counted here";
#endif
    auto main = []() -> Task<long> {
        asyncio::Queue<int> q(8);
        asyncio::LifoQueue<int> lifo(8);
        asyncio::PriorityQueue<int> heap(8);
        // Each store's first buffer.
        q.put_nowait(0);
        (void)q.get_nowait();
        q.task_done();
        lifo.put_nowait(0);
        (void)lifo.get_nowait();
        heap.put_nowait(0);
        (void)heap.get_nowait();
        AllocationCounter count;
        for (int i = 0; i < 100; ++i) {
            co_await q.put(i);
            (void)co_await q.get();
            co_await lifo.put(i);
            (void)co_await lifo.get();
            co_await heap.put(i);
            (void)co_await heap.get();
            q.task_done();
        }
        co_await q.join();
        co_return count.stop();
    };
    EXPECT_EQ(asyncio::testing::run(main()), 0);
}

// ---- get ----------------------------------------------------------------------

// CPython QueueGetTests.test_nonblocking_get / test_nonblocking_get_exception
TEST(Queue, GetNowaitOnAnEmptyQueueThrowsQueueEmpty) {
    asyncio::Queue<int> q;
    EXPECT_THROW(q.get_nowait(), asyncio::QueueEmpty);
    q.put_nowait(1);
    EXPECT_EQ(q.get_nowait(), 1);
}

// CPython QueueGetTests.test_blocking_get_wait
TEST(Queue, GetSuspendsUntilAnItemArrives) {
    auto main = []() -> Task<> {
        asyncio::Queue<int> q;
        asyncio::Event started;
        bool finished = false;
        auto queue_get = [&]() -> Task<int> {
            started.set();
            int res = co_await q.get();
            finished = true;
            co_return res;
        };
        auto t = asyncio::create_task(queue_get());
        co_await started.wait();
        EXPECT_FALSE(finished);
        asyncio::get_running_loop().call_soon([&] { q.put_nowait(1); });
        EXPECT_EQ(co_await t, 1);
        EXPECT_TRUE(finished);
    };
    asyncio::testing::run(main());
}

// CPython QueueGetTests.test_get_with_putters
TEST(Queue, GetWakesAWaitingPutter) {
    auto main = []() -> Task<> {
        asyncio::Queue<int> q(1);
        co_await q.put(1);
        auto putter = asyncio::create_task(put(q, 2));
        co_await step();
        EXPECT_FALSE(putter.done());
        EXPECT_EQ(co_await q.get(), 1);
        co_await putter;
        EXPECT_EQ(q.get_nowait(), 2);
    };
    asyncio::testing::run(main());
}

// CPython QueueGetTests.test_get_cancelled_race
TEST(Queue, AnItemSkipsAGetterCancelledBeforeIt) {
    auto main = []() -> Task<> {
        asyncio::Queue<std::string> q;
        auto t1 = asyncio::create_task(get(q));
        auto t2 = asyncio::create_task(get(q));
        co_await step();
        t1.cancel();
        co_await step();
        EXPECT_TRUE(t1.done());
        co_await q.put("a");
        co_await step();
        EXPECT_EQ(co_await t2, "a");
    };
    asyncio::testing::run(main());
}

// CPython QueueGetTests.test_get_with_waiting_putters
TEST(Queue, WaitingPuttersGetInInOrder) {
    auto main = []() -> Task<> {
        asyncio::Queue<std::string> q(1);
        auto a = asyncio::create_task(put(q, std::string("a")));
        auto b = asyncio::create_task(put(q, std::string("b")));
        EXPECT_EQ(co_await q.get(), "a");
        EXPECT_EQ(co_await q.get(), "b");
        co_await a;
        co_await b;
    };
    asyncio::testing::run(main());
}

// CPython QueueGetTests.test_why_are_getters_waiting
TEST(Queue, ProducerAndConsumerThroughASingleSlot) {
    auto main = []() -> Task<> {
        asyncio::Queue<int> q(1);
        std::vector<int> got;
        auto consumer = [&](int n) -> Task<> {
            for (int i = 0; i < n; ++i) got.push_back(co_await q.get());
        };
        auto producer = [&](int n) -> Task<> {
            for (int i = 0; i < n; ++i) co_await q.put(i);
        };
        std::vector<Task<>> tasks;
        tasks.push_back(asyncio::create_task(producer(5)));
        tasks.push_back(asyncio::create_task(consumer(5)));
        co_await asyncio::gather(std::move(tasks));
        EXPECT_EQ(got, (std::vector<int>{0, 1, 2, 3, 4}));
    };
    asyncio::testing::run(main());
}

// CPython QueueGetTests.test_cancelled_getters_not_being_held_in_self_getters
TEST(Queue, ACancelledGetterIsForgotten) {
    auto main = []() -> Task<> {
        asyncio::Queue<int> q(5);
        auto t = asyncio::create_task(get(q));
        co_await step();
        t.cancel();
        EXPECT_THROW(co_await t, asyncio::CancelledError);
        // Were it still queued, this item would be handed to it and lost.
        q.put_nowait(1);
        co_await step();
        EXPECT_EQ(q.qsize(), 1u);
        EXPECT_EQ(q.get_nowait(), 1);
    };
    asyncio::testing::run(main());
}

// CPython QueuePutTests.test_get_cancel_drop_one_pending_reader
TEST(Queue, AGetterCancelledAfterItsWakeUpLosesNoItem) {
    auto main = []() -> Task<> {
        asyncio::Queue<int> q;
        auto reader = asyncio::create_task(get(q));
        co_await step();
        q.put_nowait(1);  // wakes the reader...
        q.put_nowait(2);
        reader.cancel();  // ...which is cancelled before it runs
        EXPECT_THROW(co_await reader, asyncio::CancelledError);
        EXPECT_EQ(co_await q.get(), 1);  // 2 would mean 1 was dropped
        EXPECT_EQ(q.qsize(), 1u);
    };
    asyncio::testing::run(main());
}

// CPython QueuePutTests.test_get_cancel_drop_many_pending_readers
TEST(Queue, AGetterCancelledAfterItsWakeUpPassesItOn) {
    auto main = []() -> Task<> {
        asyncio::Queue<int> q;
        auto reader1 = asyncio::create_task(get(q));
        auto reader2 = asyncio::create_task(get(q));
        auto reader3 = asyncio::create_task(get(q));
        co_await step();
        q.put_nowait(1);  // wakes reader1
        q.put_nowait(2);  // wakes reader2
        reader1.cancel();
        EXPECT_THROW(co_await reader1, asyncio::CancelledError);
        int r2 = co_await reader2;
        int r3 = co_await reader3;  // woken by reader1 in its place
        EXPECT_EQ((std::set<int>{r2, r3}), (std::set<int>{1, 2}));
    };
    asyncio::testing::run(main());
}

// A getter woken for an item that a newcomer takes first waits again, at
// the tail (Python's `while self.empty()` loop in get()).
TEST(Queue, AWokenGetterWhoseItemWasTakenWaitsAgain) {
    auto main = []() -> Task<> {
        asyncio::Queue<int> q;
        auto reader = asyncio::create_task(get(q));
        co_await step();
        q.put_nowait(1);                // wakes the reader...
        EXPECT_EQ(q.get_nowait(), 1);   // ...but the item goes to us
        co_await step();
        EXPECT_FALSE(reader.done());    // it waits again
        q.put_nowait(2);
        EXPECT_EQ(co_await reader, 2);
    };
    asyncio::testing::run(main());
}

// ---- put ----------------------------------------------------------------------

// CPython QueuePutTests.test_nonblocking_put_exception
TEST(Queue, PutNowaitOnAFullQueueThrowsQueueFull) {
    asyncio::Queue<int> q(1);
    q.put_nowait(1);
    EXPECT_THROW(q.put_nowait(2), asyncio::QueueFull);
}

// CPython QueuePutTests.test_blocking_put_wait
TEST(Queue, PutResumesWhenASlotFrees) {
    auto main = []() -> Task<> {
        asyncio::Queue<int> q(1);
        asyncio::Event started;
        bool finished = false;
        auto queue_put = [&]() -> Task<> {
            started.set();
            co_await q.put(1);
            co_await q.put(2);
            finished = true;
        };
        auto t = asyncio::create_task(queue_put());
        co_await started.wait();
        co_await step();
        EXPECT_FALSE(finished);
        asyncio::get_running_loop().call_soon([&] { (void)q.get_nowait(); });
        co_await t;
        EXPECT_TRUE(finished);
    };
    asyncio::testing::run(main());
}

// CPython QueuePutTests.test_put_cancel_drop
TEST(Queue, APutterCancelledAfterItsWakeUpPutsNothing) {
    auto main = []() -> Task<> {
        asyncio::Queue<int> q(1);
        q.put_nowait(1);
        auto writer = asyncio::create_task(put(q, 2));
        co_await step();
        EXPECT_EQ(q.get_nowait(), 1);  // wakes the writer...
        writer.cancel();               // ...which is cancelled before it runs
        EXPECT_THROW(co_await writer, asyncio::CancelledError);
        EXPECT_EQ(q.qsize(), 0u);
        co_await q.put(2);
        EXPECT_EQ(q.get_nowait(), 2);
        EXPECT_EQ(q.qsize(), 0u);
    };
    asyncio::testing::run(main());
}

// CPython QueuePutTests.test_put_cancelled_race
TEST(Queue, ASlotSkipsAPutterCancelledBeforeIt) {
    auto main = []() -> Task<> {
        asyncio::Queue<std::string> q(1);
        auto put_a = asyncio::create_task(put(q, std::string("a")));
        auto put_b = asyncio::create_task(put(q, std::string("b")));
        auto put_c = asyncio::create_task(put(q, std::string("X")));
        co_await step();
        EXPECT_TRUE(put_a.done());
        EXPECT_FALSE(put_b.done());
        put_c.cancel();
        co_await step();
        EXPECT_TRUE(put_c.done());
        EXPECT_EQ(q.get_nowait(), "a");
        co_await step();
        EXPECT_EQ(q.get_nowait(), "b");
        co_await put_b;
    };
    asyncio::testing::run(main());
}

// CPython QueuePutTests.test_put_with_waiting_getters
TEST(Queue, PutWakesAWaitingGetter) {
    auto main = []() -> Task<> {
        asyncio::Queue<std::string> q;
        auto t = asyncio::create_task(get(q));
        co_await step();
        co_await q.put("a");
        EXPECT_EQ(co_await t, "a");
    };
    asyncio::testing::run(main());
}

// CPython QueuePutTests.test_why_are_putters_waiting
TEST(Queue, PuttersBlockedOnAFullQueueAllGetIn) {
    auto main = []() -> Task<> {
        asyncio::Queue<int> q(2);
        auto getter = [&]() -> Task<> {
            co_await step();
            std::size_t n = q.qsize();
            for (std::size_t i = 0; i < n; ++i) (void)q.get_nowait();
        };
        std::vector<Task<>> tasks;
        tasks.push_back(asyncio::create_task(getter()));
        for (int i = 0; i < 4; ++i) tasks.push_back(asyncio::create_task(put(q, i)));
        co_await asyncio::gather(std::move(tasks));
        EXPECT_EQ(q.qsize(), 2u);
    };
    asyncio::testing::run(main());
}

// CPython QueuePutTests.test_cancelled_puts_not_being_held_in_self_putters
TEST(Queue, ACancelledPutterIsForgotten) {
    auto main = []() -> Task<> {
        asyncio::Queue<int> q(1);
        q.put_nowait(1);
        auto t = asyncio::create_task(put(q, 2));
        co_await step();
        t.cancel();
        EXPECT_THROW(co_await t, asyncio::CancelledError);
        // Were it still queued, the freed slot would be handed to it.
        EXPECT_EQ(q.get_nowait(), 1);
        co_await step();
        EXPECT_TRUE(q.empty());
    };
    asyncio::testing::run(main());
}

// CPython QueuePutTests.test_cancelled_put_silence_value_error_exception
TEST(Queue, CancelAfterTheSlotWasHandedOverThrowsCancelledError) {
    auto main = []() -> Task<> {
        asyncio::Queue<int> q(1);
        q.put_nowait(1);
        auto t = asyncio::create_task(put(q, 1));
        co_await step();
        (void)q.get_nowait();  // unlinks the putter and wakes it
        t.cancel();
        EXPECT_THROW(co_await t, asyncio::CancelledError);
    };
    asyncio::testing::run(main());
}

// ---- move-only items ------------------------------------------------------------

TEST(Queue, MoveOnlyItemsGoThroughEveryKindOfQueue) {
    using Item = std::unique_ptr<int>;
    auto main = []() -> Task<> {
        asyncio::Queue<Item> fifo(1);
        auto item = std::make_unique<int>(1);
        co_await fifo.put(std::move(item));
        auto putter = asyncio::create_task(put(fifo, std::make_unique<int>(2)));
        co_await step();  // suspended: the queue is full
        Item a = co_await fifo.get();
        Item b = co_await fifo.get();
        EXPECT_EQ(*a, 1);
        EXPECT_EQ(*b, 2);
        co_await putter;

        asyncio::LifoQueue<Item> lifo;
        lifo.put_nowait(std::make_unique<int>(1));
        lifo.put_nowait(std::make_unique<int>(2));
        EXPECT_EQ(*lifo.get_nowait(), 2);

        auto by_value = [](const Item& x, const Item& y) { return *x < *y; };
        asyncio::PriorityQueue<Item, decltype(by_value)> heap(by_value);
        heap.put_nowait(std::make_unique<int>(3));
        heap.put_nowait(std::make_unique<int>(1));
        EXPECT_EQ(*(co_await heap.get()), 1);
    };
    asyncio::testing::run(main());
}

// A put that throws leaves the caller's item in place (C++-specific).
TEST(Queue, AFailedPutLeavesAMoveOnlyItemWithTheCaller) {
    auto main = []() -> Task<> {
        asyncio::Queue<std::unique_ptr<int>> q(1);
        q.put_nowait(std::make_unique<int>(1));
        auto item = std::make_unique<int>(2);
        EXPECT_THROW(q.put_nowait(std::move(item)), asyncio::QueueFull);
        EXPECT_NE(item, nullptr);
        q.shutdown();
        EXPECT_THROW(co_await q.put(std::move(item)), asyncio::QueueShutDown);
        EXPECT_NE(item, nullptr);
    };
    asyncio::testing::run(main());
}

// ---- task_done / join -----------------------------------------------------------

// CPython _QueueJoinTestMixin.test_task_done_underflow
TEST(Queue, TaskDoneCalledTooOftenIsAValueError) {
    asyncio::Queue<int> q;
    EXPECT_THROW(q.task_done(), concur::ValueError);
    asyncio::LifoQueue<int> lifo;
    EXPECT_THROW(lifo.task_done(), concur::ValueError);
    asyncio::PriorityQueue<int> heap;
    EXPECT_THROW(heap.task_done(), concur::ValueError);
}

// CPython _QueueJoinTestMixin.test_task_done
TEST(Queue, JoinReturnsOnceEveryItemIsDone) {
    auto main = []() -> Task<> {
        asyncio::Queue<int> q;
        for (int i = 0; i < 100; ++i) q.put_nowait(i);
        int accumulator = 0;
        bool running = true;
        auto worker = [&]() -> Task<> {
            while (running) {
                int item = co_await q.get();
                accumulator += item;
                q.task_done();
            }
        };
        std::vector<Task<>> workers;
        workers.push_back(asyncio::create_task(worker()));
        workers.push_back(asyncio::create_task(worker()));
        co_await q.join();
        EXPECT_EQ(accumulator, 4950);
        running = false;
        for (std::size_t i = 0; i < workers.size(); ++i) q.put_nowait(0);
        co_await asyncio::gather(std::move(workers));
    };
    asyncio::testing::run(main());
}

// CPython _QueueJoinTestMixin.test_join_empty_queue
TEST(Queue, JoinOnAnEmptyQueueReturnsAtOnce) {
    auto main = []() -> Task<> {
        asyncio::Queue<int> q;
        co_await q.join();
        co_await q.join();
        asyncio::PriorityQueue<int> heap;
        co_await heap.join();
    };
    asyncio::testing::run(main());
}

// ---- shutdown (Python 3.13) -----------------------------------------------------

// CPython _QueueShutdownTestMixin.test_shutdown_empty
TEST(Queue, ShutdownEmptyQueueRefusesPutAndGet) {
    auto main = []() -> Task<> {
        asyncio::Queue<std::string> q;
        q.shutdown();
        EXPECT_THROW(co_await q.put("data"), asyncio::QueueShutDown);
        EXPECT_THROW(q.put_nowait("data"), asyncio::QueueShutDown);
        EXPECT_THROW(co_await q.get(), asyncio::QueueShutDown);
        EXPECT_THROW(q.get_nowait(), asyncio::QueueShutDown);
    };
    asyncio::testing::run(main());
}

// CPython _QueueShutdownTestMixin.test_shutdown_nonempty
TEST(Queue, ShutdownQueueStillGivesItsItems) {
    auto main = []() -> Task<> {
        asyncio::Queue<std::string> q;
        q.put_nowait("data");
        q.shutdown();
        EXPECT_EQ(co_await q.get(), "data");
        EXPECT_THROW(co_await q.get(), asyncio::QueueShutDown);
    };
    asyncio::testing::run(main());
}

// CPython _QueueShutdownTestMixin.test_shutdown_immediate
TEST(Queue, ShutdownImmediateDropsTheItems) {
    auto main = []() -> Task<> {
        asyncio::LifoQueue<std::string> q;
        q.put_nowait("data");
        q.shutdown(true);
        EXPECT_TRUE(q.empty());
        EXPECT_THROW(co_await q.get(), asyncio::QueueShutDown);
    };
    asyncio::testing::run(main());
}

// CPython _QueueShutdownTestMixin.test_shutdown_immediate_with_unfinished
TEST(Queue, ShutdownImmediateCountsDroppedItemsAsDone) {
    auto main = []() -> Task<> {
        asyncio::PriorityQueue<int> q;
        q.put_nowait(1);
        q.put_nowait(2);
        (void)co_await q.get();
        q.shutdown(true);  // drops one: one unfinished task left
        EXPECT_THROW(co_await q.get(), asyncio::QueueShutDown);
        q.task_done();
        EXPECT_THROW(q.task_done(), concur::ValueError);
        co_await q.join();
    };
    asyncio::testing::run(main());
}

// CPython _QueueShutdownTestMixin.test_shutdown_pending_get
TEST(Queue, ShutdownWakesAPendingGetterWithQueueShutDown) {
    auto main = []() -> Task<> {
        asyncio::Queue<int> q;
        auto getter = asyncio::create_task(get(q));
        co_await step();
        q.shutdown();
        EXPECT_THROW(co_await getter, asyncio::QueueShutDown);
    };
    asyncio::testing::run(main());
}

// CPython _QueueShutdownTestMixin.test_shutdown_putters_deque
TEST(Queue, ShutdownWakesAPendingPutterWithQueueShutDown) {
    for (bool immediate : {false, true}) {
        auto main = [immediate]() -> Task<> {
            asyncio::Queue<std::string> q(2);
            co_await q.put("E");
            co_await q.put("W");
            auto t = asyncio::create_task(put(q, std::string("Y")));
            co_await step();
            q.shutdown(immediate);
            EXPECT_THROW(co_await t, asyncio::QueueShutDown);
            EXPECT_EQ(q.qsize(), immediate ? 0u : 2u);
        };
        asyncio::testing::run(main());
    }
}

// CPython _QueueShutdownTestMixin.test_shutdown_getters_deque: a getter
// that already has its item is not disturbed by shutdown().
TEST(Queue, ShutdownLetsAWokenGetterTakeItsItem) {
    auto main = []() -> Task<> {
        asyncio::Queue<std::string> q(1);
        auto t = asyncio::create_task(get(q));
        co_await step();
        q.put_nowait("Y");  // wakes t
        q.shutdown();
        EXPECT_EQ(co_await t, "Y");
    };
    asyncio::testing::run(main());
}

// CPython _QueueShutdownTestMixin.test_shutdown_get_task_done_join
TEST(Queue, ShutdownLetsConsumersFinishAndJoinReturn) {
    auto main = []() -> Task<> {
        asyncio::Queue<std::string> q(2);
        asyncio::Event go;
        co_await q.put("Y");
        co_await q.put("D");
        auto get_task_done = [&]() -> Task<std::string> {
            co_await go.wait();
            std::string msg = co_await q.get();
            q.task_done();
            co_return msg;
        };
        auto join = [&]() -> Task<> { co_await q.join(); };
        auto t0 = asyncio::create_task(get_task_done());
        auto t1 = asyncio::create_task(get_task_done());
        auto j0 = asyncio::create_task(join());
        auto j1 = asyncio::create_task(join());
        co_await step();
        q.shutdown();
        go.set();
        std::string r0 = co_await t0;
        std::string r1 = co_await t1;
        co_await j0;
        co_await j1;
        EXPECT_EQ((std::set<std::string>{r0, r1}), (std::set<std::string>{"Y", "D"}));
    };
    asyncio::testing::run(main());
}

// CPython _QueueShutdownTestMixin.test_shutdown_immediate_put_and_join
TEST(Queue, ShutdownImmediateReleasesJoin) {
    auto main = []() -> Task<> {
        asyncio::Queue<std::string> q(2);
        co_await q.put("Y");
        co_await q.put("D");
        auto join = [&]() -> Task<> { co_await q.join(); };
        auto j = asyncio::create_task(join());
        auto p = asyncio::create_task(put(q, std::string("E")));
        co_await step();
        EXPECT_FALSE(j.done());
        q.shutdown(true);
        EXPECT_THROW(co_await p, asyncio::QueueShutDown);
        co_await j;
    };
    asyncio::testing::run(main());
}

// CPython _QueueShutdownTestMixin.test_shutdown_all_methods_in_one_task
TEST(Queue, ShutdownAllMethodsInOneTask) {
    for (bool immediate : {false, true}) {
        auto main = [immediate]() -> Task<> {
            asyncio::Queue<std::string> q;
            co_await q.put("L");
            q.put_nowait("O");
            q.shutdown(immediate);
            EXPECT_THROW(co_await q.put("E"), asyncio::QueueShutDown);
            EXPECT_THROW(q.put_nowait("W"), asyncio::QueueShutDown);
            if (immediate) {
                EXPECT_THROW(co_await q.get(), asyncio::QueueShutDown);
                EXPECT_THROW(q.get_nowait(), asyncio::QueueShutDown);
                EXPECT_THROW(q.task_done(), concur::ValueError);  // both were dropped
                co_await q.join();
            } else {
                EXPECT_EQ(co_await q.get(), "L");
                q.task_done();
                EXPECT_EQ(q.get_nowait(), "O");
                q.task_done();
                co_await q.join();
                EXPECT_THROW(co_await q.get(), asyncio::QueueShutDown);
                EXPECT_THROW(q.get_nowait(), asyncio::QueueShutDown);
            }
        };
        asyncio::testing::run(main());
    }
}

// A getter woken but not yet run when its loop closes: the loop drops the
// pending wake-up before destroying the task, and the queue keeps no trace.
TEST(Queue, ALoopClosedWithAGetterInTransitLeavesTheQueueConsistent) {
    asyncio::Queue<int> q;
    {
        asyncio::EventLoop loop;
        auto main = [&]() -> Task<> {
            auto t = asyncio::create_task(get(q));
            co_await step();
            q.put_nowait(1);  // wakes the getter; main ends before it runs
        };
        loop.run_until_complete(main());
    }
    q.put_nowait(2);  // would reach the destroyed getter if it were still linked
    EXPECT_EQ(q.qsize(), 2u);
}

// A getter whose loop closed while a handle keeps its task (so its waiter)
// alive is not woken: its task can never run again, and the item stays.
TEST(Queue, AGetterAbandonedByItsClosedLoopIsSkipped) {
    asyncio::Queue<int> q;
    Task<int> getter;  // keeps the abandoned task's frame alive
    {
        asyncio::EventLoop loop;
        auto main = [&]() -> Task<> {
            getter = asyncio::create_task(get(q));
            co_await step();
        };
        loop.run_until_complete(main());
    }
    EXPECT_TRUE(getter.cancelled());
    q.put_nowait(1);
    EXPECT_EQ(q.qsize(), 1u);
}

// ---- loops ----------------------------------------------------------------------

// CPython's _LoopBoundMixin: a queue waited on from one loop cannot be waited
// on from another.
TEST(Queue, WaitingFromASecondLoopIsARuntimeError) {
    asyncio::Queue<int> q;
    auto wait_for_one = [&]() -> Task<> {
        auto getter = asyncio::create_task(get(q));
        co_await step();
        q.put_nowait(1);
        EXPECT_EQ(co_await getter, 1);
    };
    asyncio::EventLoop loop1;
    asyncio::EventLoop loop2;
    loop1.run_until_complete(wait_for_one());
    EXPECT_THROW(loop2.run_until_complete(wait_for_one()), concur::RuntimeError);
}
