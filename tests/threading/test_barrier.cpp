// threading::Barrier, ported from CPython's Lib/test/lock_tests.py
// (BarrierTests).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "concur/threading.hpp"
#include "support.hpp"

using namespace std::chrono_literals;
using concur::threading::Barrier;
using concur::threading::BrokenBarrierError;
using Clock = std::chrono::steady_clock;

using concur_test::eventually;
using concur_test::kSettle;

namespace {

constexpr int N = 5;

// CPython's Bunch: runs f(i) on n threads and joins them.
void run_threads(int n, const std::function<void(int)>& f) {
    std::vector<std::thread> threads;
    for (int i = 0; i < n; ++i) threads.emplace_back(f, i);
    for (auto& t : threads) t.join();
}

}  // namespace

TEST(Barrier, PartiesMustBePositive) {
    EXPECT_THROW(Barrier(0), concur::ValueError);
    EXPECT_THROW(Barrier(-1), concur::ValueError);
    EXPECT_THROW(Barrier(2, {}, std::chrono::nanoseconds(-1)), concur::ValueError);
    Barrier b(3);
    EXPECT_EQ(b.parties(), 3);
    EXPECT_EQ(b.n_waiting(), 0);
    EXPECT_FALSE(b.broken());
}

// CPython lock_tests.BarrierTests.test_barrier / _test_barrier
TEST(Barrier, NobodyPassesUntilAllArrive) {
    Barrier b(N);
    constexpr int kRounds = 5;
    std::mutex mu;
    std::vector<int> arrived(kRounds, 0), left(kRounds, 0);
    run_threads(N, [&](int) {
        for (int r = 0; r < kRounds; ++r) {
            {
                std::lock_guard g(mu);
                ++arrived[r];
            }
            b.wait();
            std::lock_guard g(mu);
            EXPECT_EQ(arrived[r], N);  // everyone arrived before anyone left
            ++left[r];
        }
    });
    for (int r = 0; r < kRounds; ++r) EXPECT_EQ(left[r], N);
    EXPECT_EQ(b.n_waiting(), 0);
    EXPECT_FALSE(b.broken());
}

// CPython lock_tests.BarrierTests.test_wait_return
TEST(Barrier, WaitReturnsEachArrivalIndexOnce) {
    Barrier b(N);
    std::mutex mu;
    std::multiset<int> indices;
    run_threads(N, [&](int) {
        int i = b.wait();
        std::lock_guard g(mu);
        indices.insert(i);
    });
    EXPECT_EQ(indices, (std::multiset<int>{0, 1, 2, 3, 4}));
}

// CPython lock_tests.BarrierTests.test_action
TEST(Barrier, ActionRunsOnceBeforeRelease) {
    std::atomic<int> actions{0};
    Barrier b(N, [&] { ++actions; });
    run_threads(N, [&](int) {
        b.wait();
        EXPECT_EQ(actions.load(), 1);
    });
    EXPECT_EQ(actions.load(), 1);
}

// CPython lock_tests.BarrierTests.test_abort
TEST(Barrier, AbortBreaksItForEveryone) {
    Barrier b(N);
    std::atomic<int> broken{0};
    run_threads(N, [&](int i) {
        try {
            if (i == N - 1) {
                // wait until the others are waiting, then give up
                eventually([&] { return b.n_waiting() == N - 1; });
                b.abort();
            } else {
                b.wait();
            }
        } catch (const BrokenBarrierError&) {
            ++broken;
        }
    });
    EXPECT_EQ(broken.load(), N - 1);
    EXPECT_TRUE(b.broken());
    EXPECT_THROW(b.wait(), BrokenBarrierError);  // and stays broken
}

// CPython lock_tests.BarrierTests.test_reset
TEST(Barrier, ResetWhileWaitingBreaksTheWaitersThenWorksAgain) {
    Barrier b(N);
    std::atomic<int> broken{0}, passed{0};
    run_threads(N, [&](int i) {
        if (i == N - 1) {
            eventually([&] { return b.n_waiting() == N - 1; });
            b.reset();
        } else {
            try {
                b.wait();
            } catch (const BrokenBarrierError&) {
                ++broken;
            }
        }
    });
    EXPECT_EQ(broken.load(), N - 1);
    EXPECT_FALSE(b.broken());
    run_threads(N, [&](int) {
        b.wait();
        ++passed;
    });
    EXPECT_EQ(passed.load(), N);
}

// CPython lock_tests.BarrierTests.test_abort_and_reset
TEST(Barrier, AbortThenReset) {
    Barrier b(N);
    b.abort();
    EXPECT_TRUE(b.broken());
    EXPECT_THROW(b.wait(), BrokenBarrierError);
    b.reset();
    EXPECT_FALSE(b.broken());
    std::atomic<int> passed{0};
    run_threads(N, [&](int) {
        b.wait();
        ++passed;
    });
    EXPECT_EQ(passed.load(), N);
}

// CPython lock_tests.BarrierTests.test_action_exception
TEST(Barrier, ThrowingActionBreaksTheBarrier) {
    Barrier b(N, [] { throw std::logic_error("action failed"); });
    std::atomic<int> action_errors{0}, broken{0};
    run_threads(N, [&](int) {
        try {
            b.wait();
        } catch (const BrokenBarrierError&) {
            ++broken;
        } catch (const std::logic_error&) {
            ++action_errors;
        }
    });
    EXPECT_EQ(action_errors.load(), 1);
    EXPECT_EQ(broken.load(), N - 1);
    EXPECT_TRUE(b.broken());
}

// CPython lock_tests.BarrierTests.test_timeout
TEST(Barrier, TimeoutBreaksTheBarrier) {
    Barrier b(N);
    std::atomic<int> broken{0};
    std::atomic<bool> timed_out_late_enough{false};
    run_threads(N - 1, [&](int i) {  // one party short
        try {
            if (i == 0) {
                auto t0 = Clock::now();
                try {
                    b.wait(50ms);
                } catch (const BrokenBarrierError&) {
                    timed_out_late_enough = Clock::now() - t0 >= 50ms;
                    throw;
                }
            } else {
                b.wait();
            }
        } catch (const BrokenBarrierError&) {
            ++broken;
        }
    });
    EXPECT_EQ(broken.load(), N - 1);
    EXPECT_TRUE(timed_out_late_enough.load());
    EXPECT_TRUE(b.broken());
}

// CPython lock_tests.BarrierTests.test_default_timeout
TEST(Barrier, DefaultTimeout) {
    Barrier b(2, {}, 50ms);
    auto t0 = Clock::now();
    EXPECT_THROW(b.wait(), BrokenBarrierError);
    EXPECT_GE(Clock::now() - t0, 50ms);
    EXPECT_TRUE(b.broken());
}

// CPython lock_tests.BarrierTests.test_single_thread
TEST(Barrier, SinglePartyNeverBlocks) {
    Barrier b(1);
    int actions = 0;
    Barrier with_action(1, [&] { ++actions; });
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(b.wait(), 0);
        EXPECT_EQ(with_action.wait(1s), 0);
    }
    EXPECT_EQ(actions, 3);
    EXPECT_EQ(b.wait(std::chrono::hours::max()), 0);  // "forever", no overflow
}

TEST(Barrier, NWaitingCountsTheCurrentRound) {
    Barrier b(3);
    std::thread t1([&] { b.wait(); }), t2;
    eventually([&] { return b.n_waiting() == 1; });
    t2 = std::thread([&] { b.wait(); });
    eventually([&] { return b.n_waiting() == 2; });
    EXPECT_EQ(b.wait(), 2);
    t1.join();
    t2.join();
    EXPECT_EQ(b.n_waiting(), 0);
}

TEST(Barrier, NegativeWaitTimeoutIsValueError) {
    Barrier b(2);
    EXPECT_THROW(b.wait(-1ms), concur::ValueError);
    EXPECT_FALSE(b.broken());
    EXPECT_EQ(b.n_waiting(), 0);
}
