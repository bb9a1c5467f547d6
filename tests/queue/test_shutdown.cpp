// Python 3.13's Queue.shutdown(), ported from CPython's test_queue
// (BaseQueueTestMixin.test_shutdown_*), typed over Queue, LifoQueue and
// PriorityQueue. Threads that should be blocked when shutdown() runs are
// given a pause to park first; every assertion holds whether or not they
// managed to, so no test depends on the scheduler.
#include "concur/queue.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using concur::queue::Empty;
using concur::queue::Full;
using concur::queue::ShutDown;

// A one-shot gate, as CPython's threading.Event `go`.
class Gate {
public:
    void open() {
        {
            std::lock_guard lock(mutex_);
            open_ = true;
        }
        cv_.notify_all();
    }
    void wait() {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [this] { return open_; });
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    bool open_ = false;
};

// Thread-safe list of outcomes, as CPython's `results` list.
class Results {
public:
    void append(bool ok) {
        std::lock_guard lock(mutex_);
        values_.push_back(ok);
    }
    std::vector<bool> sorted() {
        std::lock_guard lock(mutex_);
        auto v = values_;
        std::sort(v.begin(), v.end());
        return v;
    }

private:
    std::mutex mutex_;
    std::vector<bool> values_;
};

void let_threads_park() { std::this_thread::sleep_for(50ms); }

template <class Q>
class Shutdown : public ::testing::Test {};

using QueueTypes = ::testing::Types<concur::queue::Queue<std::string>,
                                    concur::queue::LifoQueue<std::string>,
                                    concur::queue::PriorityQueue<std::string>>;
TYPED_TEST_SUITE(Shutdown, QueueTypes);

// CPython test_queue.BaseQueueTestMixin.test_shutdown_empty
TYPED_TEST(Shutdown, EmptyQueueRefusesPutAndGet) {
    TypeParam q;
    q.shutdown();
    EXPECT_THROW(q.put("data"), ShutDown);
    EXPECT_THROW(q.get(), ShutDown);
}

// CPython test_queue.BaseQueueTestMixin.test_shutdown_nonempty
TYPED_TEST(Shutdown, QueuedItemsCanStillBeTaken) {
    TypeParam q;
    q.put("data");
    q.shutdown();
    EXPECT_EQ(q.get(), "data");
    EXPECT_THROW(q.get(), ShutDown);
}

// CPython test_queue.BaseQueueTestMixin.test_shutdown_immediate
TYPED_TEST(Shutdown, ImmediateDropsQueuedItems) {
    TypeParam q;
    q.put("data");
    q.shutdown(true);
    EXPECT_TRUE(q.empty());
    EXPECT_THROW(q.get(), ShutDown);
}

// CPython test_queue.BaseQueueTestMixin.test_shutdown_allowed_transitions
TYPED_TEST(Shutdown, AllowedTransitions) {
    TypeParam q;
    EXPECT_FALSE(q.is_shutdown());
    q.shutdown();
    EXPECT_TRUE(q.is_shutdown());
    q.shutdown(true);
    EXPECT_TRUE(q.is_shutdown());
    q.shutdown(false);
    EXPECT_TRUE(q.is_shutdown());
}

// A later shutdown(true) still drops what a shutdown(false) left queued.
TYPED_TEST(Shutdown, ImmediateAfterGracefulDropsLeftovers) {
    TypeParam q;
    q.put("a");
    q.put("b");
    q.shutdown();
    EXPECT_EQ(q.qsize(), 2u);
    q.shutdown(true);
    EXPECT_EQ(q.qsize(), 0u);
    EXPECT_EQ(q.unfinished_tasks(), 0u);
    q.join();
}

// CPython test_queue.BaseQueueTestMixin.test_shutdown_all_methods_in_one_thread
TYPED_TEST(Shutdown, AllMethodsInOneThread) {
    TypeParam q(2);
    q.put("L");
    q.put_nowait("O");
    q.shutdown(false);
    EXPECT_THROW(q.put("E"), ShutDown);
    EXPECT_THROW(q.put_nowait("W"), ShutDown);
    for (int i = 0; i < 2; ++i) {
        auto item = q.get();
        EXPECT_TRUE(item == "L" || item == "O") << item;
        q.task_done();
    }
    q.join();
    EXPECT_THROW(q.get(), ShutDown);
    EXPECT_THROW(q.get_nowait(), ShutDown);
    EXPECT_THROW(q.get(true, 1s), ShutDown);
}

// CPython test_queue.BaseQueueTestMixin.test_shutdown_immediate_all_methods_in_one_thread
TYPED_TEST(Shutdown, ImmediateAllMethodsInOneThread) {
    TypeParam q(2);
    q.put("L");
    q.put_nowait("O");
    q.shutdown(true);
    EXPECT_THROW(q.put("E"), ShutDown);
    EXPECT_THROW(q.put_nowait("W"), ShutDown);
    EXPECT_THROW(q.get(), ShutDown);
    EXPECT_THROW(q.get_nowait(), ShutDown);
    EXPECT_THROW(q.task_done(), concur::ValueError);  // drained items count as done
    q.join();
}

// CPython checks shut-down before full, empty or a bad timeout.
TYPED_TEST(Shutdown, ShutDownIsReportedBeforeOtherErrors) {
    TypeParam q(1);
    q.put("x");
    q.shutdown();
    EXPECT_THROW(q.put_nowait("y"), ShutDown);      // not Full
    EXPECT_THROW(q.put("y", -1s), ShutDown);        // not ValueError
    EXPECT_EQ(q.get(), "x");
    EXPECT_THROW(q.get(-1s), ShutDown);             // not ValueError
    EXPECT_THROW(q.get(false), ShutDown);           // not Empty
}

TYPED_TEST(Shutdown, TaskDoneStillWorksAfterShutdown) {
    TypeParam q;
    q.put("a");
    q.get();
    q.shutdown();
    q.task_done();
    q.join();
    EXPECT_THROW(q.task_done(), concur::ValueError);
}

// CPython test_queue.BaseQueueTestMixin.test_shutdown_get: three getters,
// two items; one getter must see ShutDown.
TYPED_TEST(Shutdown, GracefulGettersTakeLeftoversThenShutDown) {
    TypeParam q(2);
    q.put("Y");
    q.put("D");
    Results results;
    Gate go;
    {
        std::vector<std::jthread> threads;
        for (int i = 0; i < 3; ++i)
            threads.emplace_back([&] {
                go.wait();
                try {
                    q.get();
                    results.append(true);
                } catch (const ShutDown&) {
                    results.append(false);
                }
            });
        q.shutdown(false);
        go.open();
    }
    EXPECT_EQ(results.sorted(), (std::vector<bool>{false, true, true}));
}

// CPython test_queue.BaseQueueTestMixin.test_shutdown_immediate_get
TYPED_TEST(Shutdown, ImmediateGettersAllShutDown) {
    TypeParam q(2);
    q.put("Y");
    q.put("D");
    Results results;
    Gate go;
    {
        std::vector<std::jthread> threads;
        for (int i = 0; i < 2; ++i)
            threads.emplace_back([&] {
                go.wait();
                try {
                    q.get();
                    results.append(false);
                } catch (const ShutDown&) {
                    results.append(true);
                }
            });
        q.shutdown(true);
        go.open();
    }
    EXPECT_EQ(results.sorted(), (std::vector<bool>{true, true}));
}

// Getters parked on an empty queue are all woken by either kind of shutdown.
// CPython test_queue.BaseQueueTestMixin.test_shutdown_pending_get, with many
// getters and timed ones among them.
TYPED_TEST(Shutdown, BlockedGettersAreWokenWithShutDown) {
    for (bool immediate : {false, true}) {
        TypeParam q;
        Results results;
        {
            std::vector<std::jthread> threads;
            for (int i = 0; i < 4; ++i)
                threads.emplace_back([&, i] {
                    try {
                        if (i % 2 == 0)
                            q.get();
                        else
                            q.get(std::chrono::hours(1));
                        results.append(false);
                    } catch (const ShutDown&) {
                        results.append(true);
                    } catch (const Empty&) {
                        results.append(false);
                    }
                });
            let_threads_park();
            q.shutdown(immediate);
        }
        EXPECT_EQ(results.sorted(), (std::vector<bool>(4, true))) << "immediate=" << immediate;
    }
}

// CPython test_queue.BaseQueueTestMixin.test_shutdown_put and
// test_shutdown_immediate_put: putters parked on a full queue are woken and
// throw ShutDown, in both modes (unlike getters, they never wait for room).
TYPED_TEST(Shutdown, BlockedPuttersAreWokenWithShutDown) {
    for (bool immediate : {false, true}) {
        TypeParam q(2);
        q.put("Y");
        q.put("D");
        Results results;
        {
            std::vector<std::jthread> threads;
            for (int i = 0; i < 4; ++i)
                threads.emplace_back([&, i] {
                    try {
                        if (i % 2 == 0)
                            q.put("E");
                        else
                            q.put("W", std::chrono::hours(1));
                        results.append(false);
                    } catch (const ShutDown&) {
                        results.append(true);
                    } catch (const Full&) {
                        results.append(false);
                    }
                });
            let_threads_park();
            q.shutdown(immediate);
        }
        EXPECT_EQ(results.sorted(), (std::vector<bool>(4, true))) << "immediate=" << immediate;
        EXPECT_EQ(q.qsize(), immediate ? 0u : 2u);
    }
}

// A timed get parked when shutdown() runs throws ShutDown, not Empty, and
// does not wait out its timeout (a test that can fail: 1 h timeout).
TYPED_TEST(Shutdown, TimedGetIsWokenByShutdownNotTimeout) {
    TypeParam q;
    std::atomic<bool> started{false};
    {
        std::jthread trigger([&] {
            std::this_thread::sleep_for(100ms);
            started = true;
            q.shutdown();
        });
        EXPECT_THROW(q.get(std::chrono::hours(1)), ShutDown);
        EXPECT_TRUE(started.load()) << "get() on an empty queue appeared not to block";
    }
}

// CPython test_queue.BaseQueueTestMixin.test_shutdown_join and
// test_shutdown_immediate_join
TYPED_TEST(Shutdown, JoinersReturnOnceItemsAreDoneOrDropped) {
    for (bool immediate : {false, true}) {
        TypeParam q;
        q.put("Y");
        Results results;
        Gate go;
        {
            std::vector<std::jthread> threads;
            for (int i = 0; i < 2; ++i)
                threads.emplace_back([&] {
                    q.join();
                    results.append(true);
                });
            if (!immediate)
                threads.emplace_back([&] {
                    go.wait();
                    q.get();
                    q.task_done();
                });
            q.shutdown(immediate);
            go.open();
        }
        EXPECT_EQ(results.sorted(), (std::vector<bool>{true, true})) << "immediate=" << immediate;
        EXPECT_EQ(q.unfinished_tasks(), 0u);
    }
}

// CPython test_queue.BaseQueueTestMixin.test_shutdown_put_join and
// test_shutdown_immediate_put_join
TYPED_TEST(Shutdown, PutAndJoinAroundShutdown) {
    for (bool immediate : {false, true}) {
        TypeParam q(2);
        q.put("Y");
        Results results;
        Gate go;
        {
            std::vector<std::jthread> threads;
            threads.emplace_back([&] {
                go.wait();
                try {
                    q.put("E");
                    results.append(false);
                } catch (const ShutDown&) {
                    results.append(true);
                }
            });
            threads.emplace_back([&] {
                q.join();
                results.append(true);
            });
            EXPECT_EQ(q.unfinished_tasks(), 1u);
            q.shutdown(immediate);
            go.open();
            if (immediate) {
                EXPECT_THROW(q.get_nowait(), ShutDown);
            } else {
                EXPECT_EQ(q.get(), "Y");
                q.task_done();
            }
        }
        EXPECT_EQ(results.sorted(), (std::vector<bool>{true, true})) << "immediate=" << immediate;
    }
}

// CPython test_queue.BaseQueueTestMixin.test_shutdown_get_task_done_join
TYPED_TEST(Shutdown, GetTaskDoneJoinAcrossGracefulShutdown) {
    TypeParam q(2);
    q.put("Y");
    q.put("D");
    EXPECT_EQ(q.unfinished_tasks(), q.qsize());
    Results results;
    Gate go;
    {
        std::vector<std::jthread> threads;
        for (int i = 0; i < 2; ++i)
            threads.emplace_back([&] {
                go.wait();
                try {
                    q.get();
                    q.task_done();
                    results.append(true);
                } catch (const ShutDown&) {
                    results.append(false);
                }
            });
        for (int i = 0; i < 2; ++i)
            threads.emplace_back([&] {
                q.join();
                results.append(true);
            });
        go.open();
        q.shutdown(false);
    }
    EXPECT_EQ(results.sorted(), (std::vector<bool>(4, true)));
}

// shutdown(true) subtracts only the dropped items: an item already taken by
// get() still holds join() until its task_done().
TYPED_TEST(Shutdown, ImmediateJoinStillWaitsForTakenItems) {
    TypeParam q;
    q.put("taken");
    q.put("dropped1");
    q.put("dropped2");
    q.get();
    q.shutdown(true);
    EXPECT_EQ(q.unfinished_tasks(), 1u);
    std::atomic<bool> started{false};
    {
        std::jthread trigger([&] {
            std::this_thread::sleep_for(100ms);
            started = true;
            q.task_done();
        });
        q.join();
        EXPECT_TRUE(started.load()) << "join() returned before the taken item was done";
    }
    EXPECT_EQ(q.unfinished_tasks(), 0u);
}

// CPython test_queue.BaseQueueTestMixin.test_shutdown_all_methods_in_many_threads
// and test_shutdown_immediate_all_methods_in_many_threads (smaller): writers
// put until one of them shuts the queue down; readers drain until ShutDown.
TYPED_TEST(Shutdown, AllMethodsInManyThreads) {
    for (bool immediate : {false, true}) {
        constexpr int kWriters = 4, kReaders = 6, kJoiners = 2;
        constexpr int kPerWriter = 2048, kShutdownAt = kPerWriter / 2;
        TypeParam q;
        std::atomic<bool> shutdown_done{false};
        std::atomic<int> readers_shut{0};
        std::atomic<int> writers_refused{0};
        {
            std::vector<std::jthread> threads;
            for (int w = 0; w < kWriters; ++w)
                threads.emplace_back([&] {
                    for (int i = 0; i < kPerWriter; ++i) {
                        try {
                            q.put("item");
                        } catch (const ShutDown&) {
                            ++writers_refused;
                            return;
                        }
                        if (i == kShutdownAt && !shutdown_done.exchange(true))
                            q.shutdown(immediate);
                    }
                });
            for (int r = 0; r < kReaders; ++r)
                threads.emplace_back([&] {
                    for (;;) {
                        try {
                            q.get(false);
                            q.task_done();
                        } catch (const ShutDown&) {
                            ++readers_shut;
                            return;
                        } catch (const Empty&) {
                            std::this_thread::yield();
                        }
                    }
                });
            if (immediate)
                for (int j = 0; j < kJoiners; ++j) threads.emplace_back([&] { q.join(); });
        }
        EXPECT_TRUE(shutdown_done.load());
        EXPECT_EQ(readers_shut.load(), kReaders);
        EXPECT_TRUE(q.empty());
        EXPECT_EQ(q.unfinished_tasks(), 0u);
        q.join();
    }
}

// Dropped items are destroyed after the queue's mutex is released, so an
// item's destructor may call back into the queue (it would deadlock if not).
TEST(ShutdownImmediate, DroppedItemDestructorMayUseQueue) {
    struct Reentrant;
    using Q = concur::queue::Queue<Reentrant>;
    struct Reentrant {
        Q* q = nullptr;
        int* destroyed = nullptr;
        Reentrant(Q* queue, int* counter) : q(queue), destroyed(counter) {}
        Reentrant(Reentrant&& other) noexcept : q(other.q), destroyed(other.destroyed) {
            other.q = nullptr;
        }
        Reentrant& operator=(Reentrant&&) = delete;
        ~Reentrant() {
            if (q != nullptr) {
                (void)q->qsize();
                ++*destroyed;
            }
        }
    };
    int destroyed = 0;
    Q q;
    q.put(Reentrant(&q, &destroyed));
    q.put(Reentrant(&q, &destroyed));
    q.shutdown(true);
    EXPECT_EQ(destroyed, 2);
}

}  // namespace
