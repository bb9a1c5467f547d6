// threading::local<T>, ported from CPython's Lib/test/test_threading_local.py
// (BaseLocalTest) and the seed programs' `if not hasattr(local, "x")` idiom.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "concur/threading.hpp"

using namespace std::chrono_literals;
using concur::threading::Event;
using concur::threading::local;
using concur::threading::Thread;

namespace {

// Counts live instances, to prove each value is destroyed exactly once.
struct Tracked {
    static inline std::atomic<int> alive{0};
    static inline std::atomic<int> destroyed{0};
    int value = 0;
    Tracked() { ++alive; }
    explicit Tracked(int v) : value(v) { ++alive; }
    Tracked(const Tracked&) = delete;
    ~Tracked() {
        --alive;
        ++destroyed;
    }
};

struct NoDefault {
    explicit NoDefault(int v) : value(v) {}
    int value;
};

}  // namespace

// CPython test_threading_local.BaseLocalTest._local_refs
TEST(Local, EachThreadSeesItsOwnValue) {
    local<int> x;
    *x = 1;
    int seen_in_thread = -1;
    std::thread([&] {
        seen_in_thread = x.get();  // a fresh, default-constructed value
        x.get() = 2;
    }).join();
    EXPECT_EQ(seen_in_thread, 0);
    EXPECT_EQ(*x, 1);
}

TEST(Local, FactoryMakesEachThreadsFirstValue) {
    std::atomic<int> calls{0};
    local<std::string> s([&] {
        ++calls;
        return std::string("fresh");
    });
    EXPECT_EQ(*s, "fresh");
    s->append("!");
    EXPECT_EQ(*s, "fresh!");
    std::string in_thread;
    std::thread([&] { in_thread = *s; }).join();
    EXPECT_EQ(in_thread, "fresh");
    EXPECT_EQ(calls.load(), 2);
}

// The seeds' `if not hasattr(thread_local, "session"): thread_local.session = ...`
TEST(Local, HasValueEmplaceReset) {
    local<NoDefault> session;
    EXPECT_FALSE(session.has_value());
    EXPECT_THROW(session.get(), concur::RuntimeError);
    EXPECT_FALSE(session.has_value());
    session.emplace(5);
    EXPECT_TRUE(session.has_value());
    EXPECT_EQ(session->value, 5);
    session.emplace(6);  // replaces
    EXPECT_EQ(session->value, 6);
    bool other_has = true;
    std::thread([&] { other_has = session.has_value(); }).join();
    EXPECT_FALSE(other_has);
    session.reset();
    EXPECT_FALSE(session.has_value());
    session.reset();  // no value: a no-op
}

// CPython test_threading_local.BaseLocalTest.test_local_refs: values die
// with their thread.
TEST(Local, ValuesAreDestroyedWhenTheirThreadExits) {
    int destroyed_before = Tracked::destroyed.load();
    local<Tracked> x;
    constexpr int N = 8;
    std::vector<std::thread> threads;
    for (int i = 0; i < N; ++i) threads.emplace_back([&, i] { x.emplace(i); });
    for (auto& t : threads) t.join();
    EXPECT_EQ(Tracked::destroyed.load() - destroyed_before, N);
}

TEST(Local, ValuesAreDestroyedWithTheLocalWhileTheirThreadsLive) {
    int alive_before = Tracked::alive.load();
    auto x = std::make_unique<local<Tracked>>();
    Event have_value, local_gone;
    std::thread t([&] {
        x->emplace(1);
        have_value.set();
        local_gone.wait();  // the thread outlives the local
    });
    have_value.wait();
    (void)x->get();
    EXPECT_EQ(Tracked::alive.load() - alive_before, 2);
    x.reset();  // destroys both threads' values
    EXPECT_EQ(Tracked::alive.load(), alive_before);
    local_gone.set();
    t.join();  // the thread's exit must not destroy them again
    EXPECT_EQ(Tracked::alive.load(), alive_before);
}

TEST(Local, ThreadsExitingBeforeAndAfterTheLocalDies) {
    int alive_before = Tracked::alive.load();
    auto x = std::make_unique<local<Tracked>>();
    Event release_late;
    std::thread early([&] { x->emplace(1); });
    early.join();  // exits while the local lives
    std::vector<std::thread> late;
    std::atomic<int> ready{0};
    for (int i = 0; i < 4; ++i)
        late.emplace_back([&] {
            x->emplace(2);
            ++ready;
            release_late.wait();
        });
    while (ready.load() < 4) std::this_thread::sleep_for(1ms);
    x.reset();
    release_late.set();
    for (auto& t : late) t.join();
    EXPECT_EQ(Tracked::alive.load(), alive_before);
}

TEST(Local, ConcurrentThreadExitAndLocalDestruction) {
    int alive_before = Tracked::alive.load();
    for (int round = 0; round < 20; ++round) {
        auto x = std::make_unique<local<Tracked>>();
        Event go;
        std::vector<std::thread> threads;
        std::atomic<int> ready{0};
        for (int i = 0; i < 4; ++i)
            threads.emplace_back([&, i] {
                x->emplace(i);
                ++ready;
                go.wait();
            });
        while (ready.load() < 4) std::this_thread::yield();
        go.set();  // the threads exit while...
        x.reset();  // ...the local is destroyed
        for (auto& t : threads) t.join();
    }
    EXPECT_EQ(Tracked::alive.load(), alive_before);
}

// A value's destructor that uses other locals, and current_thread(), at exit.
TEST(Local, ValueDestructorMayUseOtherLocalsAtThreadExit) {
    static local<Tracked> other;
    static std::string name_at_exit;
    struct UsesOthers {
        ~UsesOthers() {
            other.emplace(3);  // created during the thread's cleanup
            name_at_exit = concur::threading::current_thread().name();
        }
    };
    int alive_before = Tracked::alive.load();
    local<UsesOthers> x;
    Thread t({.name = "cleanup"}, [&] { (void)x.get(); });
    t.start();
    t.join();
    EXPECT_EQ(Tracked::alive.load(), alive_before);  // `other`'s value was destroyed too
    EXPECT_EQ(name_at_exit, "cleanup");
}

TEST(Local, ManyShortLivedLocalsOnOneThread) {
    int alive_before = Tracked::alive.load();
    std::thread([&] {
        for (int i = 0; i < 2000; ++i) {
            local<Tracked> x;
            x.emplace(i);
            EXPECT_EQ(x->value, i);
        }
        local<Tracked> keep;
        keep.emplace(1);
        for (int i = 0; i < 200; ++i) {
            local<int> y;
            *y = i;
        }
        EXPECT_EQ(keep->value, 1);
    }).join();
    EXPECT_EQ(Tracked::alive.load(), alive_before);
}

TEST(Local, WorksWithConcurThreads) {
    local<int> counter;
    std::atomic<int> total{0};
    std::vector<std::unique_ptr<Thread>> threads;
    for (int i = 0; i < 4; ++i) {
        threads.push_back(std::make_unique<Thread>([&] {
            for (int j = 0; j < 100; ++j) ++*counter;
            total += *counter;
        }));
        threads.back()->start();
    }
    for (auto& t : threads) t->join();
    EXPECT_EQ(total.load(), 400);
    EXPECT_FALSE(counter.has_value());  // the main thread never touched it
}
