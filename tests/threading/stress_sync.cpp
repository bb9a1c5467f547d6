// Stress tests for the threading primitives: many threads, many iterations,
// randomized yields, checked invariants. Run under ThreadSanitizer they are
// this project's model checker (see STYLE.md, tokio's loom): TSan reports
// any data race on the plain variables that the primitives guard.
//
// A watchdog turns a deadlock or a lost wake-up into a failure with a
// message instead of a hung test.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <functional>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "concur/threading.hpp"

using namespace std::chrono_literals;
namespace threading = concur::threading;

namespace {

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

// Iterations: full in optimized builds, half under sanitizers (which
// serialize much of the work on a 2-core machine).
int iters(int full) { return kSanitized ? full / 2 : full; }

// Per-thread randomness for yields and choices.
class Chaos {
public:
    explicit Chaos(unsigned seed) : rng_(seed * 7919u + 17u) {}
    unsigned next(unsigned n) { return std::uniform_int_distribution<unsigned>(0, n - 1)(rng_); }
    // Sometimes yield, sometimes spin a little, mostly go on.
    void pause() {
        unsigned r = next(16);
        if (r == 0) {
            std::this_thread::yield();
        } else if (r == 1) {
            for (int i = 0; i < 50; ++i) spin_.fetch_add(1, std::memory_order_relaxed);
        }
    }

private:
    std::minstd_rand rng_;
    std::atomic<unsigned> spin_{0};  // a side effect the optimizer keeps
};

// Runs body(i) on n threads; fails loudly if they are not done in time.
void run_threads(const char* what, int n, const std::function<void(int)>& body) {
    threading::Event done;
    std::thread watchdog([&] {
        if (!done.wait(kSanitized ? 240s : 60s)) {
            std::fprintf(stderr, "stress_sync: %s: deadlock or lost wake-up\n", what);
            std::abort();
        }
    });
    std::vector<std::thread> threads;
    for (int i = 0; i < n; ++i) threads.emplace_back(body, i);
    for (auto& t : threads) t.join();
    done.set();
    watchdog.join();
}

}  // namespace

TEST(StressSync, LockMutualExclusionAllAcquireForms) {
    threading::Lock lock;
    long counter = 0;  // guarded by lock
    constexpr int kThreads = 8;
    const int n = iters(20000);
    run_threads("Lock", kThreads, [&](int id) {
        Chaos chaos(id);
        for (int i = 0; i < n; ++i) {
            switch (chaos.next(4)) {
                case 0: lock.acquire(); break;
                case 1: while (!lock.acquire(false)) chaos.pause(); break;
                case 2: while (!lock.acquire(std::chrono::microseconds(chaos.next(50)))) {} break;
                default: lock.lock(); break;
            }
            long seen = counter;
            chaos.pause();
            counter = seen + 1;
            lock.release();
            chaos.pause();
        }
    });
    EXPECT_EQ(counter, long{kThreads} * n);
    EXPECT_FALSE(lock.locked());
}

// Locks released by the other thread: Python's Lock as a binary signal.
TEST(StressSync, LockPingPongAcrossThreads) {
    threading::Lock ping, pong;
    ping.acquire();
    pong.acquire();
    int value = 0;  // handed back and forth under the protocol
    const int n = iters(20000);
    run_threads("Lock ping-pong", 2, [&](int id) {
        Chaos chaos(id);
        for (int i = 0; i < n; ++i) {
            if (id == 0) {
                value = 2 * i;
                chaos.pause();
                ping.release();
                pong.acquire();
                ASSERT_EQ(value, 2 * i + 1);
            } else {
                ping.acquire();
                ASSERT_EQ(value, 2 * i);
                value = 2 * i + 1;
                chaos.pause();
                pong.release();
            }
        }
    });
    EXPECT_TRUE(ping.locked());
    EXPECT_TRUE(pong.locked());
}

TEST(StressSync, RLockRecursion) {
    threading::RLock lock;
    long counter = 0;
    constexpr int kThreads = 6;
    const int n = iters(10000);
    run_threads("RLock", kThreads, [&](int id) {
        Chaos chaos(id);
        for (int i = 0; i < n; ++i) {
            unsigned depth = 1 + chaos.next(4);
            for (unsigned d = 0; d < depth; ++d) {
                if (d % 2)
                    ASSERT_TRUE(lock.acquire(0ms));  // already owned: never fails
                else
                    while (!lock.try_lock_for(std::chrono::microseconds(chaos.next(100)))) {}
            }
            long seen = counter;
            chaos.pause();
            counter = seen + 1;
            for (unsigned d = 0; d < depth; ++d) lock.release();
            chaos.pause();
        }
    });
    EXPECT_EQ(counter, long{kThreads} * n);
    EXPECT_FALSE(lock.locked());
}

// A bounded buffer on two Conditions sharing a Lock, with timed and untimed
// waits, notify and notify_all mixed.
TEST(StressSync, ConditionBoundedBuffer) {
    threading::Lock lock;
    threading::Condition not_empty(lock), not_full(lock);
    std::deque<long> items;  // guarded by lock
    constexpr std::size_t kCap = 4;
    constexpr int kProducers = 4, kConsumers = 4;
    const int per_producer = iters(10000);
    const long total = long{kProducers} * per_producer;
    long consumed = 0, sum = 0;  // guarded by lock
    run_threads("Condition buffer", kProducers + kConsumers, [&](int id) {
        Chaos chaos(id);
        if (id < kProducers) {
            for (int i = 0; i < per_producer; ++i) {
                std::lock_guard g(lock);
                auto room = [&] { return items.size() < kCap; };
                if (chaos.next(2))
                    not_full.wait_for(room);
                else
                    while (!not_full.wait_for(room, std::chrono::microseconds(chaos.next(200)))) {}
                items.push_back(i);
                chaos.next(8) ? not_empty.notify() : not_empty.notify_all();
            }
        } else {
            for (;;) {
                std::lock_guard g(lock);
                auto ready = [&] { return !items.empty() || consumed == total; };
                if (chaos.next(2))
                    not_empty.wait_for(ready);
                else
                    while (!not_empty.wait_for(ready, std::chrono::microseconds(chaos.next(200)))) {}
                if (items.empty()) {  // everything consumed: wake the others to stop
                    not_empty.notify_all();
                    return;
                }
                sum += items.front();
                items.pop_front();
                if (++consumed == total) not_empty.notify_all();
                not_full.notify();
            }
        }
    });
    EXPECT_EQ(consumed, total);
    EXPECT_EQ(sum, long{kProducers} * per_producer * (per_producer - 1) / 2);
}

// Tokens handed out one notify(1) each, to waiters whose tiny timeouts race
// with the notifications: a notification swallowed by a timing-out waiter
// would strand a token while the untimed waiters sleep (caught by the
// watchdog).
TEST(StressSync, ConditionNotifyRacingTimeouts) {
    threading::Condition cond;  // over its own RLock
    long tokens = 0, taken = 0;  // guarded by cond
    constexpr int kWaiters = 6;
    const long total = iters(20000);
    run_threads("Condition timeouts", kWaiters + 1, [&](int id) {
        Chaos chaos(id);
        if (id == kWaiters) {
            for (long i = 0; i < total; ++i) {
                std::lock_guard g(cond);
                ++tokens;
                cond.notify(1);
                if (chaos.next(4) == 0) {
                    cond.release();  // let waiters in, keeping the guard balanced
                    chaos.pause();
                    cond.acquire();
                }
            }
            return;
        }
        for (;;) {
            std::lock_guard g(cond);
            std::lock_guard again(cond);  // recursion: wait() must release both
            while (tokens == 0 && taken < total) {
                if (id % 2)
                    cond.wait();
                else
                    cond.wait(std::chrono::microseconds(chaos.next(30)));
            }
            if (taken == total) {
                cond.notify_all();
                return;
            }
            --tokens;
            if (++taken == total) cond.notify_all();
        }
    });
    EXPECT_EQ(taken, total);
    EXPECT_EQ(tokens, 0);
}

TEST(StressSync, SemaphoreBoundsConcurrency) {
    threading::BoundedSemaphore sem(3);
    std::atomic<int> inside{0}, most{0};
    constexpr int kThreads = 8;
    const int n = iters(10000);
    run_threads("Semaphore", kThreads, [&](int id) {
        Chaos chaos(id);
        for (int i = 0; i < n; ++i) {
            switch (chaos.next(3)) {
                case 0: sem.acquire(); break;
                case 1: while (!sem.acquire(false)) chaos.pause(); break;
                default: while (!sem.acquire(std::chrono::microseconds(chaos.next(50)))) {} break;
            }
            int now = ++inside;
            int m = most.load();
            while (now > m && !most.compare_exchange_weak(m, now)) {}
            chaos.pause();
            --inside;
            sem.release();
        }
    });
    EXPECT_LE(most.load(), 3);
    int available = 0;
    while (sem.acquire(false)) ++available;
    EXPECT_EQ(available, 3);
}

// Every round, each thread records its round number; the action checks that
// all have arrived and none has left early.
TEST(StressSync, BarrierRounds) {
    constexpr int kThreads = 6;
    const int rounds = iters(3000);
    std::vector<int> at(kThreads, -1);  // at[i]: last round thread i arrived for
    int current = 0;                    // written by the action only
    std::atomic<int> bad{0};
    threading::Barrier barrier(kThreads, [&] {
        for (int v : at)
            if (v != current) ++bad;
        ++current;
    });
    std::atomic<int> zeros{0};
    run_threads("Barrier", kThreads, [&](int id) {
        Chaos chaos(id);
        for (int r = 0; r < rounds; ++r) {
            chaos.pause();
            at[id] = r;  // ordered against the action by the barrier's lock
            if (barrier.wait() == 0) ++zeros;
            if (current != r + 1) ++bad;
        }
    });
    EXPECT_EQ(bad.load(), 0);
    EXPECT_EQ(current, rounds);
    EXPECT_EQ(zeros.load(), rounds);  // exactly one index 0 per round
    EXPECT_FALSE(barrier.broken());
}

// Repeatedly break a barrier mid-round (abort or reset) and check that every
// waiter of that round gets BrokenBarrierError and that it works afterwards.
TEST(StressSync, BarrierAbortAndReset) {
    constexpr int kParties = 4;
    const int rounds = iters(300);
    threading::Barrier barrier(kParties);
    for (int r = 0; r < rounds; ++r) {
        std::atomic<int> broken{0};
        run_threads("Barrier abort/reset", kParties, [&](int id) {
            if (id == kParties - 1) {
                while (barrier.n_waiting() < kParties - 1) std::this_thread::yield();
                if (r % 2)
                    barrier.abort();
                else
                    barrier.reset();
                return;
            }
            try {
                barrier.wait();
            } catch (const threading::BrokenBarrierError&) {
                ++broken;
            }
        });
        ASSERT_EQ(broken.load(), kParties - 1) << "round " << r;
        barrier.reset();
        std::atomic<int> passed{0};
        run_threads("Barrier after reset", kParties, [&](int) {
            barrier.wait();
            ++passed;
        });
        ASSERT_EQ(passed.load(), kParties);
    }
}

// One setter, many waiters: every round's set() is seen by every waiter, with
// clear()/set() flickers racing with the wake-ups.
TEST(StressSync, EventRounds) {
    constexpr int kWaiters = 5;
    const int rounds = iters(2000);
    threading::Event go;
    threading::Barrier arrived(kWaiters + 1), cleared(kWaiters + 1);
    std::atomic<int> seen{0};
    run_threads("Event", kWaiters + 1, [&](int id) {
        Chaos chaos(id);
        for (int r = 0; r < rounds; ++r) {
            if (id == kWaiters) {
                chaos.pause();
                go.set();
                if (chaos.next(2)) {  // a flicker racing with the wake-ups
                    go.clear();
                    chaos.pause();
                    go.set();
                }
                arrived.wait();
                go.clear();
                cleared.wait();
            } else {
                if (chaos.next(2))
                    go.wait();
                else
                    while (!go.wait(std::chrono::microseconds(chaos.next(100)))) {}
                ++seen;
                arrived.wait();
                cleared.wait();
            }
        }
    });
    EXPECT_EQ(seen.load(), kWaiters * rounds);
}

// Threads started, named, counted, given local<T> values and joined in bulk.
TEST(StressSync, ThreadChurnWithLocals) {
    std::size_t baseline = threading::active_count();
    threading::local<std::vector<int>> scratch;
    std::atomic<long> sum{0};
    const int batches = iters(100);
    for (int b = 0; b < batches; ++b) {
        std::deque<threading::Thread> threads;
        for (int i = 0; i < 8; ++i)
            threads.emplace_back([&, i] {
                scratch->push_back(i);
                sum += scratch->front() + static_cast<long>(threading::current_thread().name().size() > 0);
            });
        for (auto& t : threads) t.start();
        if (b % 2)
            for (auto& t : threads) t.join();
        // else: the destructors join
    }
    EXPECT_EQ(sum.load(), batches * (28L + 8));
    EXPECT_EQ(threading::active_count(), baseline);
}
