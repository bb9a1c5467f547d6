// Stress: many tasks at once, and a cancellation storm fed from other
// threads through call_soon_threadsafe (run under ThreadSanitizer in CI).
//
//   4 std::threads --call_soon_threadsafe--> loop thread: each callback
//   creates tasks (sleep 0 / short sleep / "forever" / await a pool call)
//   and cancels a random live one; cancelled tasks re-create a successor
//   while the storm lasts. Every callback, task and done-callback is
//   counted, so a lost wake-up or a lost task shows as a mismatch (or a
//   hang).
#include <gtest/gtest.h>

#include <atomic>
#include <concur/futures.hpp>
#include <cstdint>
#include <random>
#include <thread>
#include <vector>

#include "support.hpp"

namespace asyncio = concur::asyncio;
using asyncio::CancelledError;
using asyncio::Task;
using namespace std::chrono_literals;

namespace {

#if defined(CONCUR_SANITIZE_thread) || defined(CONCUR_SANITIZE_address)
constexpr int kManyTasks = 100'000;  // sanitizers: same paths, less time
constexpr int kPostsPerThread = 3'000;
#else
constexpr int kManyTasks = 1'000'000;
constexpr int kPostsPerThread = 100'000;
#endif
constexpr int kThreads = 4;
constexpr int64_t kTotalPosts = int64_t{kThreads} * kPostsPerThread;

Task<int> identity(int i) { co_return i; }

}  // namespace

// test_tasks.py-scale: 1,000,000 tasks created and gathered; the values
// come back in order (checked through their sum) and nothing is left.
TEST(StressTasks, MillionTasksGathered) {
    auto main = []() -> Task<> {
        std::vector<Task<int>> ts;
        ts.reserve(kManyTasks);
        for (int i = 0; i < kManyTasks; ++i) ts.push_back(asyncio::create_task(identity(i)));
        EXPECT_EQ(asyncio::all_tasks().size(), static_cast<std::size_t>(kManyTasks) + 1);
        std::vector<int> r = co_await asyncio::gather(std::move(ts));
        CO_ASSERT_TRUE(r.size() == static_cast<std::size_t>(kManyTasks));
        int64_t sum = 0;
        bool ordered = true;
        for (int i = 0; i < kManyTasks; ++i) {
            sum += r[i];
            ordered &= r[i] == i;
        }
        EXPECT_TRUE(ordered);
        EXPECT_EQ(sum, int64_t{kManyTasks} * (kManyTasks - 1) / 2);
        EXPECT_EQ(asyncio::all_tasks().size(), 1u);
    };
    asyncio::testing::run(main());
}

namespace {

struct Storm {
    concur::futures::ThreadPoolExecutor* pool = nullptr;
    std::mt19937 rng{12345};  // loop thread only
    std::vector<Task<>> live;  // loop thread only
    bool raging = true;
    int64_t callbacks = 0, created = 0, finished = 0, cancelled = 0, completed = 0, recreated = 0;
    int64_t cancel_calls = 0;
    asyncio::Future<> all_callbacks_ran;
    asyncio::Future<> all_tasks_finished;
    bool draining = false;

    void spawn();
    void on_done(Task<>& t) {
        ++finished;
        if (t.cancelled()) ++cancelled; else ++completed;
        if (draining && finished == created && !all_tasks_finished.done()) all_tasks_finished.set_result();
    }
    void cancel_one() {
        if (live.empty()) return;
        std::size_t i = rng() % live.size();
        if (live[i].cancel()) ++cancel_calls;
        live[i] = std::move(live.back());
        live.pop_back();
    }
    void prune() {
        for (std::size_t i = 0; i < live.size();) {
            if (live[i].done()) {
                live[i] = std::move(live.back());
                live.pop_back();
            } else {
                ++i;
            }
        }
    }
};

Task<> storm_task(Storm* s, unsigned kind) {
    bool was_cancelled = false;
    try {
        switch (kind % 4) {
            case 0: co_await asyncio::sleep(0s); break;
            case 1: co_await asyncio::sleep(std::chrono::microseconds(kind % 300)); break;
            case 2: co_await asyncio::sleep(10s); break;  // ends only by cancel
            case 3: (void)co_await s->pool->submit([kind] { return kind * 2; }); break;
        }
    } catch (const CancelledError&) {
        was_cancelled = true;
    }
    if (was_cancelled) {
        // Re-created: a successor takes this one's place while the storm lasts.
        if (s->raging) {
            ++s->recreated;
            s->spawn();
        }
        throw CancelledError();
    }
}

void Storm::spawn() {
    auto t = asyncio::create_task(storm_task(this, static_cast<unsigned>(rng())));
    ++created;
    t.add_done_callback([this](Task<>& self) { on_done(self); });
    live.push_back(std::move(t));
}

}  // namespace

// Cancellation storm: tasks sleeping, awaiting pool calls, cancelled and
// re-created, while 4 threads hammer call_soon_threadsafe with callbacks
// that create and cancel tasks. Everything is counted.
TEST(StressTasks, CancellationStormWithThreadsafeCallbacks) {
    concur::futures::ThreadPoolExecutor pool({.max_workers = 2});
    auto main = [&]() -> Task<> {
        Storm s;
        s.pool = &pool;
        auto& loop = asyncio::get_running_loop();
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; ++t) {
            threads.emplace_back([&loop, &s, t] {
                std::mt19937 r(static_cast<unsigned>(t));
                for (int i = 0; i < kPostsPerThread; ++i) {
                    loop.call_soon_threadsafe([&s] {
                        ++s.callbacks;
                        s.spawn();
                        if (s.rng() % 2) s.spawn();
                        s.cancel_one();
                        if (s.callbacks % 1024 == 0) s.prune();
                        if (s.callbacks == kTotalPosts) s.all_callbacks_ran.set_result();
                    });
                    if (r() % 64 == 0) std::this_thread::yield();
                }
            });
        }
        // The loop keeps turning meanwhile: the main task cancels too.
        while (!s.all_callbacks_ran.done()) {
            co_await asyncio::sleep(0s);
            s.cancel_one();
        }
        for (auto& th : threads) th.join();
        EXPECT_EQ(s.callbacks, kTotalPosts);
        // On a loaded machine every posted callback may run before any storm
        // task took its first step (a task cancelled before it starts never
        // runs, so is not re-created). Rage on until one was cancelled in
        // the middle of an await and replaced.
        for (int spin = 0; s.recreated == 0 && spin < 1'000'000; ++spin) {
            if (s.live.size() < 8) s.spawn();
            co_await asyncio::sleep(0s);
            s.cancel_one();
        }
        // Calm down: no more successors; cancel whatever is left.
        s.raging = false;
        s.draining = true;
        for (auto& t : s.live) t.cancel();
        s.live.clear();
        if (s.finished != s.created) co_await s.all_tasks_finished;
        EXPECT_EQ(s.finished, s.created);
        EXPECT_EQ(s.cancelled + s.completed, s.created);
        EXPECT_GT(s.cancelled, 0);
        EXPECT_GT(s.completed, 0);
        EXPECT_GT(s.recreated, 0);
        co_await asyncio::sleep(0s);
        EXPECT_EQ(asyncio::all_tasks().size(), 1u);
    };
    asyncio::testing::run(main());
}
