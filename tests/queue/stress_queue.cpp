// Stress tests for concur::queue (our loom: run them under ThreadSanitizer).
// Several producers and consumers hammer one queue with every put/get
// variant chosen at random and random yields between operations; the checks
// are on outcomes only (each item delivered exactly once, join() never
// returns early, shutdown loses or duplicates nothing), never on timing.
//
//   producers --put/put(t)/put_nowait--> [ queue ] --get/get(t)/get_nowait--> consumers
//        \                                  |                                 |
//         put_done++            observer: join() must see             seen[id]++,
//                               processed >= put_done before it       processed++,
//                                                                     task_done()
#include "concur/queue.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define QUEUE_STRESS_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define QUEUE_STRESS_SANITIZED 1
#endif
#endif
#if defined(CONCUR_SANITIZE_thread) || defined(CONCUR_SANITIZE_address)
#undef QUEUE_STRESS_SANITIZED
#define QUEUE_STRESS_SANITIZED 1
#endif

namespace {

using namespace std::chrono_literals;
using concur::queue::Empty;
using concur::queue::Full;
using concur::queue::ShutDown;

#ifdef QUEUE_STRESS_SANITIZED
constexpr int kItemsPerProducer = 6000;
#else
constexpr int kItemsPerProducer = 20000;
#endif
constexpr int kProducers = 4;
constexpr int kConsumers = 4;

using Rng = std::minstd_rand;

void maybe_yield(Rng& rng) {
    if (rng() % 8 == 0) std::this_thread::yield();
}

// Puts `item` with a randomly chosen put variant, retrying the ones that may
// give up. Returns false if the queue was shut down (the item was not put).
template <class Q>
bool random_put(Q& q, std::uint64_t item, Rng& rng) {
    try {
        switch (rng() % 4) {
            case 0:
                q.put(item);
                return true;
            case 1:
                for (;;) {
                    try {
                        q.put(item, 1ms);
                        return true;
                    } catch (const Full&) {
                    }
                }
            case 2:
                for (;;) {
                    try {
                        q.put_nowait(item);
                        return true;
                    } catch (const Full&) {
                        std::this_thread::yield();
                    }
                }
            default:
                for (;;) {
                    try {
                        q.put(item, true, 100us);
                        return true;
                    } catch (const Full&) {
                    }
                }
        }
    } catch (const ShutDown&) {
        return false;
    }
}

// Gets an item with a randomly chosen get variant, retrying the ones that may
// give up. Throws ShutDown when the queue is shut down and empty.
template <class Q>
std::uint64_t random_get(Q& q, Rng& rng) {
    switch (rng() % 4) {
        case 0:
            return q.get();
        case 1:
            for (;;) {
                try {
                    return q.get(1ms);
                } catch (const Empty&) {
                }
            }
        case 2:
            for (;;) {
                try {
                    return q.get_nowait();
                } catch (const Empty&) {
                    std::this_thread::yield();
                }
            }
        default:
            for (;;) {
                try {
                    return q.get(true, 100us);
                } catch (const Empty&) {
                }
            }
    }
}

template <class Q>
class QueueStress : public ::testing::Test {};

using QueueTypes =
    ::testing::Types<concur::queue::Queue<std::uint64_t>, concur::queue::LifoQueue<std::uint64_t>,
                     concur::queue::PriorityQueue<std::uint64_t>>;
TYPED_TEST_SUITE(QueueStress, QueueTypes);

// Shuts the queue down when the test body leaves early, so that no consumer
// thread is left parked in get() (which would hang the test, not fail it).
template <class Q>
struct ShutdownOnExit {
    Q& q;
    bool armed = true;
    ~ShutdownOnExit() {
        if (armed) q.shutdown(true);
    }
};

TYPED_TEST(QueueStress, EveryItemDeliveredOnceAndJoinNeverEarly) {
    for (std::ptrdiff_t maxsize : {3, 0}) {
        constexpr std::uint64_t kTotal = std::uint64_t{kProducers} * kItemsPerProducer;
        TypeParam q(maxsize);
        std::vector<std::atomic<int>> seen(kTotal);
        std::atomic<std::uint64_t> put_done{0};
        std::atomic<std::uint64_t> processed{0};
        std::atomic<bool> producers_finished{false};
        std::atomic<int> early_joins{0};
        {
            std::vector<std::jthread> consumers;
            for (int c = 0; c < kConsumers; ++c)
                consumers.emplace_back([&, c] {
                    Rng rng(1000 + c);
                    for (;;) {
                        std::uint64_t id;
                        try {
                            id = random_get(q, rng);
                        } catch (const ShutDown&) {
                            return;
                        }
                        seen[id].fetch_add(1);
                        maybe_yield(rng);
                        processed.fetch_add(1);
                        q.task_done();
                    }
                });
            ShutdownOnExit<TypeParam> guard{q};
            {
                // join() returning means every item whose put() had returned
                // when join() began has been task_done()'d.
                std::jthread observer([&] {
                    while (!producers_finished.load()) {
                        const auto before = put_done.load();
                        q.join();
                        if (processed.load() < before) early_joins.fetch_add(1);
                        std::this_thread::yield();
                    }
                });
                std::vector<std::jthread> producers;
                for (int p = 0; p < kProducers; ++p)
                    producers.emplace_back([&, p] {
                        Rng rng(static_cast<unsigned>(p + 1));
                        for (int i = 0; i < kItemsPerProducer; ++i) {
                            const auto id = std::uint64_t(p) * kItemsPerProducer + i;
                            ASSERT_TRUE(random_put(q, id, rng));
                            put_done.fetch_add(1);
                            maybe_yield(rng);
                        }
                    });
                for (auto& t : producers) t.join();
                producers_finished = true;
                q.join();
                EXPECT_EQ(processed.load(), kTotal) << "join() returned before every task_done()";
            }
            EXPECT_EQ(early_joins.load(), 0);
            EXPECT_TRUE(q.empty());
            EXPECT_EQ(q.unfinished_tasks(), 0u);
            q.shutdown();  // releases the consumers parked in get()
            guard.armed = false;
        }
        std::uint64_t wrong = 0;
        for (std::uint64_t id = 0; id < kTotal; ++id)
            if (seen[id].load() != 1) ++wrong;
        EXPECT_EQ(wrong, 0u) << "items not delivered exactly once, maxsize=" << maxsize;
    }
}

// Producers put until the queue is shut down; consumers get until ShutDown.
// Returns (ids put successfully, ids got), each sorted.
template <class Q>
std::pair<std::vector<std::uint64_t>, std::vector<std::uint64_t>> run_until_shutdown(
    Q& q, bool immediate) {
    std::mutex mutex;
    std::vector<std::uint64_t> put_ids, got_ids;
    std::atomic<std::uint64_t> processed{0};
    {
        std::vector<std::jthread> threads;
        ShutdownOnExit<Q> guard{q};
        for (int p = 0; p < kProducers; ++p)
            threads.emplace_back([&, p] {
                Rng rng(static_cast<unsigned>(7 * p + 3));
                std::vector<std::uint64_t> mine;
                for (std::uint64_t i = 0;; ++i) {
                    const auto id = (std::uint64_t(p) << 32) | i;
                    if (!random_put(q, id, rng)) break;
                    mine.push_back(id);
                    maybe_yield(rng);
                }
                std::lock_guard lock(mutex);
                put_ids.insert(put_ids.end(), mine.begin(), mine.end());
            });
        for (int c = 0; c < kConsumers; ++c)
            threads.emplace_back([&, c] {
                Rng rng(static_cast<unsigned>(11 * c + 5));
                std::vector<std::uint64_t> mine;
                for (;;) {
                    try {
                        mine.push_back(random_get(q, rng));
                    } catch (const ShutDown&) {
                        break;
                    }
                    maybe_yield(rng);
                    processed.fetch_add(1);
                    q.task_done();
                }
                std::lock_guard lock(mutex);
                got_ids.insert(got_ids.end(), mine.begin(), mine.end());
            });
        // Shut down mid-stream; how far the stream got does not matter.
        while (processed.load() < std::uint64_t{kItemsPerProducer}) std::this_thread::sleep_for(1ms);
        q.shutdown(immediate);
        guard.armed = false;
    }
    std::sort(put_ids.begin(), put_ids.end());
    std::sort(got_ids.begin(), got_ids.end());
    return {put_ids, got_ids};
}

TYPED_TEST(QueueStress, GracefulShutdownDeliversEveryItemPut) {
    TypeParam q(4);
    auto [put_ids, got_ids] = run_until_shutdown(q, false);
    EXPECT_GE(got_ids.size(), std::size_t{kItemsPerProducer});
    EXPECT_TRUE(put_ids == got_ids) << put_ids.size() << " put, " << got_ids.size() << " got";
    EXPECT_TRUE(q.empty());
    EXPECT_EQ(q.unfinished_tasks(), 0u);
    q.join();
}

TYPED_TEST(QueueStress, ImmediateShutdownNeverDuplicatesOrInvents) {
    TypeParam q(4);
    auto [put_ids, got_ids] = run_until_shutdown(q, true);
    EXPECT_TRUE(std::adjacent_find(got_ids.begin(), got_ids.end()) == got_ids.end())
        << "an item was delivered twice";
    EXPECT_TRUE(std::includes(put_ids.begin(), put_ids.end(), got_ids.begin(), got_ids.end()))
        << "an item was delivered that was never put";
    EXPECT_TRUE(q.empty());
    EXPECT_EQ(q.unfinished_tasks(), 0u);  // dropped items were counted as done
    q.join();
}

TEST(SimpleQueueStress, EveryItemDeliveredOnce) {
    constexpr std::uint64_t kTotal = std::uint64_t{kProducers} * kItemsPerProducer;
    constexpr std::uint64_t kSentinel = ~std::uint64_t{0};
    concur::queue::SimpleQueue<std::uint64_t> q;
    std::vector<std::atomic<int>> seen(kTotal);
    {
        std::vector<std::jthread> threads;
        for (int c = 0; c < kConsumers; ++c)
            threads.emplace_back([&, c] {
                Rng rng(static_cast<unsigned>(c + 100));
                for (;;) {
                    const std::uint64_t id = random_get(q, rng);
                    if (id == kSentinel) return;
                    seen[id].fetch_add(1);
                    maybe_yield(rng);
                }
            });
        std::vector<std::jthread> producers;
        for (int p = 0; p < kProducers; ++p)
            producers.emplace_back([&, p] {
                Rng rng(static_cast<unsigned>(p + 200));
                for (int i = 0; i < kItemsPerProducer; ++i) {
                    const auto id = std::uint64_t(p) * kItemsPerProducer + i;
                    if (rng() % 2 == 0)
                        q.put(id);
                    else
                        q.put_nowait(id);
                    maybe_yield(rng);
                }
            });
        for (auto& t : producers) t.join();
        for (int c = 0; c < kConsumers; ++c) q.put(kSentinel);
    }
    EXPECT_TRUE(q.empty());
    std::uint64_t wrong = 0;
    for (std::uint64_t id = 0; id < kTotal; ++id)
        if (seen[id].load() != 1) ++wrong;
    EXPECT_EQ(wrong, 0u) << "items not delivered exactly once";
}

}  // namespace
