// multiprocessing's Lock, RLock, Semaphore, BoundedSemaphore, Event,
// Condition and Barrier: Python's semantics in one process, the same across
// fork()ed processes, and the codecs that send them to another process.
// Ideas from CPython's Lib/test/_test_multiprocessing.py (_TestLock,
// _TestSemaphore, _TestCondition, _TestEvent, _TestBarrier).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "concur/multiprocessing/process.hpp"
#include "concur/multiprocessing/sharedctypes.hpp"
#include "concur/multiprocessing/synchronize.hpp"
#include "concur/wire/handles.hpp"
#include "support.hpp"

namespace mp = concur::multiprocessing;
using namespace std::chrono_literals;

namespace {

// Generous: only a hang takes this long; nothing here depends on speed.
constexpr auto kLong = 60s;

// Runs `body` in a fork()ed child that exits 0 if its EXPECTs passed (an
// alarm kills a child that hangs).
using mptest::fork_child;

int exit_status(pid_t pid) { return mptest::wait_child(pid); }

std::size_t dev_shm_entries() {
    std::size_t n = 0;
    for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator("/dev/shm")) ++n;
    return n;
}

// Encodes `v` as a message to another process would, then decodes it from
// dup()ed descriptors, as the receiving transport hands them over.
template <class T>
T round_trip(const T& v) {
    msgpack::sbuffer buf;
    std::vector<int> fds;
    {
        concur::wire::EncodeHandles scope(fds);
        concur::wire::Packer pk(buf);
        pk.pack(v);
    }
    std::vector<int> received;
    for (int fd : fds) received.push_back(dup(fd));
    T out = [&] {
        concur::wire::DecodeHandles scope(received);
        auto oh = msgpack::unpack(buf.data(), buf.size());
        return oh.get().as<T>();
    }();
    for (int fd : received)
        if (fd >= 0) close(fd);  // what the decoder did not take
    return out;
}

}  // namespace

// ---- Lock ----------------------------------------------------------------

TEST(MpLock, PythonSemanticsInOneProcess) {
    mp::Lock lock;
    EXPECT_FALSE(lock.locked());
    EXPECT_TRUE(lock.acquire());
    EXPECT_TRUE(lock.locked());
    EXPECT_FALSE(lock.acquire(false));
    EXPECT_FALSE(lock.acquire(0s));
    EXPECT_FALSE(lock.acquire(20ms));
    EXPECT_THROW(lock.acquire(-1s), concur::ValueError);
    lock.release();
    EXPECT_FALSE(lock.locked());
    // Python's multiprocessing.Lock: ValueError, not threading's RuntimeError.
    EXPECT_THROW(lock.release(), concur::ValueError);
    { std::lock_guard g(lock); EXPECT_TRUE(lock.locked()); }
    EXPECT_FALSE(lock.locked());
    mp::Lock copy = lock;  // a handle: the same lock
    copy.acquire();
    EXPECT_TRUE(lock.locked());
    lock.release();  // any thread, any handle
    EXPECT_FALSE(copy.locked());
}

TEST(MpLock, AnotherThreadMayRelease) {
    mp::Lock lock;
    lock.acquire();
    std::thread([&] { lock.release(); }).join();
    EXPECT_FALSE(lock.locked());
}

TEST(MpLock, NothingAppearsInDevShm) {
    std::size_t before = dev_shm_entries();
    std::vector<mp::Lock> locks(20);
    mp::Condition c;
    mp::Barrier b(2);
    EXPECT_EQ(dev_shm_entries(), before);
}

TEST(MpLock, ProtectsACounterAcrossProcesses) {
    mp::Lock lock;
    mp::Value<long> counter(0, /*lock=*/false);
    constexpr int kTimes = 10'000;
    auto work = [&] {
        for (int i = 0; i < kTimes; ++i) {
            std::lock_guard g(lock);
            counter.get_obj() += 1;  // a non-atomic read-modify-write
        }
    };
    pid_t a = fork_child(work);
    pid_t b = fork_child(work);
    work();
    EXPECT_EQ(exit_status(a), 0);
    EXPECT_EQ(exit_status(b), 0);
    EXPECT_EQ(counter.get_obj(), 3 * kTimes);
    EXPECT_FALSE(lock.locked());
}

TEST(MpLock, HeldInAChildBlocksTheParentUntilReleased) {
    mp::Lock lock;
    mp::Event held, go;
    pid_t child = fork_child([&] {
        lock.acquire();
        held.set();
        EXPECT_TRUE(go.wait(kLong));
        lock.release();
    });
    ASSERT_TRUE(held.wait(kLong));
    EXPECT_TRUE(lock.locked());
    EXPECT_FALSE(lock.acquire(false));
    EXPECT_FALSE(lock.acquire(30ms));  // times out: false, as Python
    go.set();
    EXPECT_TRUE(lock.acquire(kLong));  // woken by the child's release
    lock.release();
    EXPECT_EQ(exit_status(child), 0);
}

// ---- RLock ---------------------------------------------------------------

TEST(MpRLock, RecursionAndOwnerChecks) {
    mp::RLock r;
    EXPECT_THROW(r.release(), concur::RuntimeError);
    EXPECT_TRUE(r.acquire());
    EXPECT_TRUE(r.acquire(false));
    EXPECT_TRUE(r.acquire(10ms));
    EXPECT_THROW(r.acquire(-1s), concur::ValueError);
    EXPECT_TRUE(r.locked());
    std::thread([&] {
        EXPECT_THROW(r.release(), concur::RuntimeError);  // not the owner thread
        EXPECT_FALSE(r.acquire(false));
        EXPECT_FALSE(r.acquire(20ms));
    }).join();
    r.release();
    r.release();
    EXPECT_TRUE(r.locked());
    r.release();
    EXPECT_FALSE(r.locked());
    EXPECT_THROW(r.release(), concur::RuntimeError);
}

TEST(MpRLock, OwnerIsProcessAndThread) {
    mp::RLock r;
    mp::Event checked, held, go;
    r.acquire();
    // The forked child's thread is another owner, though it is a copy of ours.
    pid_t child = fork_child([&] {
        EXPECT_THROW(r.release(), concur::RuntimeError);
        EXPECT_FALSE(r.acquire(false));
        checked.set();
        EXPECT_TRUE(r.acquire(kLong));  // once the parent lets go
        EXPECT_TRUE(r.acquire(false));  // recursion in the child
        held.set();
        EXPECT_TRUE(go.wait(kLong));
        r.release();
        r.release();
    });
    ASSERT_TRUE(checked.wait(kLong));
    r.release();
    ASSERT_TRUE(held.wait(kLong));
    EXPECT_THROW(r.release(), concur::RuntimeError);  // the child owns it
    EXPECT_FALSE(r.acquire(20ms));
    go.set();
    EXPECT_TRUE(r.acquire(kLong));
    r.release();
    EXPECT_EQ(exit_status(child), 0);
}

// ---- Semaphore, BoundedSemaphore ----------------------------------------

TEST(MpSemaphore, CountsAndTimesOut) {
    mp::Semaphore s(2);
    EXPECT_EQ(s.get_value(), 2);
    EXPECT_TRUE(s.acquire());
    EXPECT_TRUE(s.acquire(false));
    EXPECT_EQ(s.get_value(), 0);
    EXPECT_FALSE(s.acquire(false));
    EXPECT_FALSE(s.acquire(20ms));
    EXPECT_THROW(s.acquire(-1ms), concur::ValueError);
    s.release();
    s.release();
    s.release();  // unbounded: above the initial value is fine
    EXPECT_EQ(s.get_value(), 3);
    EXPECT_THROW(mp::Semaphore(-1), concur::ValueError);
    mp::Semaphore zero(0);
    EXPECT_FALSE(zero.acquire(0s));
}

TEST(MpSemaphore, BoundedOverReleaseIsValueError) {
    mp::BoundedSemaphore b(1);
    EXPECT_THROW(b.release(), concur::ValueError);
    b.acquire();
    b.release();
    EXPECT_EQ(b.get_value(), 1);
    // From another process too: the bound lives in the shared state.
    pid_t child = fork_child([&] {
        EXPECT_THROW(b.release(), concur::ValueError);
        EXPECT_TRUE(b.acquire(kLong));
    });
    EXPECT_EQ(exit_status(child), 0);
    EXPECT_EQ(b.get_value(), 0);
    b.release();
}

TEST(MpSemaphore, LimitsConcurrencyAcrossProcesses) {
    mp::Semaphore sem(2);
    mp::Value<int> inside(0), most(0);
    auto work = [&] {
        for (int i = 0; i < 200; ++i) {
            std::lock_guard g(sem);
            {
                std::lock_guard l(inside.get_lock());
                int now = ++inside.get_obj();
                if (now > most.value()) most.value(now);
            }
            if (i % 16 == 0) std::this_thread::yield();
            std::lock_guard l(inside.get_lock());
            --inside.get_obj();
        }
    };
    std::vector<pid_t> children;
    for (int i = 0; i < 4; ++i) children.push_back(fork_child(work));
    for (pid_t c : children) EXPECT_EQ(exit_status(c), 0);
    EXPECT_LE(most.value(), 2);
    EXPECT_GE(most.value(), 1);
    EXPECT_EQ(inside.value(), 0);
    EXPECT_EQ(sem.get_value(), 2);
}

TEST(MpSemaphore, ReleaseInAChildWakesAWaiter) {
    mp::Semaphore s(0);
    pid_t child = fork_child([&] { s.release(); });
    EXPECT_TRUE(s.acquire(kLong));
    EXPECT_EQ(exit_status(child), 0);
}

// ---- Event ---------------------------------------------------------------

TEST(MpEvent, SetClearWait) {
    mp::Event e;
    EXPECT_FALSE(e.is_set());
    EXPECT_FALSE(e.wait(0s));
    EXPECT_FALSE(e.wait(20ms));
    EXPECT_THROW(e.wait(-1s), concur::ValueError);
    e.set();
    EXPECT_TRUE(e.is_set());
    EXPECT_TRUE(e.wait());
    EXPECT_TRUE(e.wait(0s));
    e.clear();
    EXPECT_FALSE(e.is_set());
}

TEST(MpEvent, WakesWaitersInOtherProcesses) {
    mp::Event ready, go;
    mp::Semaphore waiting(0);
    std::vector<pid_t> children;
    for (int i = 0; i < 3; ++i)
        children.push_back(fork_child([&] {
            waiting.release();
            EXPECT_TRUE(go.wait(kLong));
        }));
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(waiting.acquire(kLong));
    go.set();
    for (pid_t c : children) EXPECT_EQ(exit_status(c), 0);

    pid_t setter = fork_child([&] { ready.set(); });
    EXPECT_TRUE(ready.wait(kLong));
    EXPECT_EQ(exit_status(setter), 0);
}

// ---- Condition -----------------------------------------------------------

TEST(MpCondition, MustHoldTheLock) {
    mp::Condition c;
    EXPECT_THROW(c.wait(), concur::RuntimeError);
    EXPECT_THROW(c.wait(10ms), concur::RuntimeError);
    EXPECT_THROW(c.notify(), concur::RuntimeError);
    EXPECT_THROW(c.notify_all(), concur::RuntimeError);
    mp::Lock lock;
    mp::Condition over_lock(lock);
    lock.acquire();
    std::thread([&] {  // held, but by another thread
        EXPECT_THROW(over_lock.notify(), concur::RuntimeError);
        EXPECT_THROW(over_lock.wait(1ms), concur::RuntimeError);
    }).join();
    over_lock.notify();  // no waiters: nothing happens
    lock.release();
}

TEST(MpCondition, WaitTimesOutAndReacquires) {
    mp::RLock r;
    mp::Condition c(r);
    std::unique_lock lk(c);
    r.acquire();  // depth 2: wait() frees it whole and restores the depth
    EXPECT_FALSE(c.wait(20ms));
    EXPECT_THROW(c.wait(-1s), concur::ValueError);
    EXPECT_FALSE(c.wait_for([] { return false; }, 20ms));
    EXPECT_EQ(c.wait_for([] { return 7; }, 0s), 7);
    r.release();
    EXPECT_TRUE(r.locked());  // still held once, by lk
}

TEST(MpCondition, NotifyAcrossProcesses) {
    for (bool over_lock : {false, true}) {
        mp::Condition c = over_lock ? mp::Condition(mp::Lock()) : mp::Condition();
        mp::Value<int> state(0, false);  // guarded by c's lock
        pid_t child = fork_child([&] {
            std::unique_lock lk(c);
            state.get_obj() = 1;
            c.notify();
            EXPECT_TRUE(c.wait_for([&] { return state.get_obj() == 2; }, kLong));
            state.get_obj() = 3;
            c.notify_all();
        });
        std::unique_lock lk(c);
        EXPECT_TRUE(c.wait_for([&] { return state.get_obj() == 1; }, kLong));
        state.get_obj() = 2;
        c.notify();
        EXPECT_TRUE(c.wait_for([&] { return state.get_obj() == 3; }, kLong));
        lk.unlock();
        EXPECT_EQ(exit_status(child), 0);
    }
}

TEST(MpCondition, NotifyAllWakesEveryProcess) {
    mp::Condition c;
    mp::Value<int> waiting(0, false), go(0, false);  // guarded by c's lock
    std::vector<pid_t> children;
    for (int i = 0; i < 3; ++i)
        children.push_back(fork_child([&] {
            std::unique_lock lk(c);
            ++waiting.get_obj();
            c.notify_all();
            EXPECT_TRUE(c.wait_for([&] { return go.get_obj() == 1; }, kLong));
        }));
    {
        std::unique_lock lk(c);
        ASSERT_TRUE(c.wait_for([&] { return waiting.get_obj() == 3; }, kLong));
        go.get_obj() = 1;
        c.notify_all();
    }
    for (pid_t ch : children) EXPECT_EQ(exit_status(ch), 0);
}

// ---- Barrier -------------------------------------------------------------

namespace {
std::optional<mp::Value<int>> g_actions;  // set before fork: every process sees it
void count_action() { ++g_actions->get_obj(); }
}  // namespace

TEST(MpBarrier, ThreeProcessesAndAnAction) {
    g_actions.emplace(0, false);
    mp::Barrier b(3, count_action);
    mp::Array<int> seen(3);  // seen[index] = 1
    constexpr int kRounds = 5;
    auto party = [&] {
        for (int round = 0; round < kRounds; ++round) {
            int i = b.wait(kLong);
            std::lock_guard g(seen.get_lock());
            ++seen[static_cast<std::size_t>(i)];
        }
    };
    pid_t a = fork_child(party);
    pid_t c = fork_child(party);
    party();
    EXPECT_EQ(exit_status(a), 0);
    EXPECT_EQ(exit_status(c), 0);
    // Every round handed out 0, 1 and 2 once each, and ran the action once.
    for (int i = 0; i < 3; ++i) EXPECT_EQ(seen[static_cast<std::size_t>(i)], kRounds);
    EXPECT_EQ(g_actions->get_obj(), kRounds);
    EXPECT_EQ(b.n_waiting(), 0);
    EXPECT_FALSE(b.broken());
    g_actions.reset();
}

TEST(MpBarrier, AbortTimeoutAndReset) {
    EXPECT_THROW(mp::Barrier(0), concur::ValueError);
    mp::Barrier b(2);
    EXPECT_EQ(b.parties(), 2);
    EXPECT_THROW(b.wait(20ms), mp::BrokenBarrierError);  // a timeout breaks it
    EXPECT_TRUE(b.broken());
    EXPECT_THROW(b.wait(), mp::BrokenBarrierError);
    b.reset();
    EXPECT_FALSE(b.broken());

    // abort() in another process breaks a waiter here.
    pid_t child = fork_child([&] {
        for (int i = 0; i < 100000 && b.n_waiting() == 0; ++i) std::this_thread::sleep_for(1ms);
        b.abort();
    });
    EXPECT_THROW(b.wait(kLong), mp::BrokenBarrierError);
    EXPECT_EQ(exit_status(child), 0);
    EXPECT_TRUE(b.broken());
    b.reset();

    // The default timeout from the constructor.
    mp::Barrier timed(2, nullptr, 20ms);
    EXPECT_THROW(timed.wait(), mp::BrokenBarrierError);
}

// ---- codecs --------------------------------------------------------------

TEST(MpCodec, RoundTripSharesState) {
    mp::Lock lock;
    mp::Lock lock2 = round_trip(lock);
    lock2.acquire();
    EXPECT_TRUE(lock.locked());
    lock.release();
    EXPECT_FALSE(lock2.locked());

    mp::RLock r;
    mp::RLock r2 = round_trip(r);
    r.acquire();
    EXPECT_TRUE(r2.acquire(false));  // the same owner: recursion through either handle
    r2.release();
    r.release();
    EXPECT_FALSE(r2.locked());

    mp::Semaphore s(3);
    mp::Semaphore s2 = round_trip(s);
    s2.acquire();
    EXPECT_EQ(s.get_value(), 2);

    mp::BoundedSemaphore bs(1);
    mp::BoundedSemaphore bs2 = round_trip(bs);
    EXPECT_THROW(bs2.release(), concur::ValueError);
    bs.acquire();
    EXPECT_EQ(bs2.get_value(), 0);

    mp::Event e;
    mp::Event e2 = round_trip(e);
    e.set();
    EXPECT_TRUE(e2.is_set());

    mp::Lock cl;
    mp::Condition c(cl);
    mp::Condition c2 = round_trip(c);
    c2.acquire();
    EXPECT_TRUE(cl.locked());
    c.notify();  // held through c2: the same lock, the same owner
    c.release();

    g_actions.emplace(0, false);
    mp::Barrier b(1, count_action);
    mp::Barrier b2 = round_trip(b);
    EXPECT_EQ(b2.parties(), 1);
    EXPECT_EQ(b2.wait(), 0);  // runs the action, found again by its code address
    EXPECT_EQ(g_actions->get_obj(), 1);
    b2.abort();
    EXPECT_TRUE(b.broken());
    g_actions.reset();
}

TEST(MpCodec, CrossesAProcessAsADescriptor) {
    // What a transport does: the descriptors travel to a process that did
    // not inherit the memory (here: a child that decodes only).
    mp::Event e;
    msgpack::sbuffer buf;
    std::vector<int> fds;
    {
        concur::wire::EncodeHandles scope(fds);
        concur::wire::Packer(buf).pack(e);
    }
    std::vector<int> received{dup(fds.at(0))};
    pid_t child = fork_child([&] {
        concur::wire::DecodeHandles scope(received);
        auto oh = msgpack::unpack(buf.data(), buf.size());
        oh.get().as<mp::Event>().set();
    });
    EXPECT_TRUE(e.wait(kLong));
    EXPECT_EQ(exit_status(child), 0);
    close(received[0]);
}

TEST(MpCodec, MisuseIsAClearError) {
    mp::Lock lock;
    msgpack::sbuffer buf;
    EXPECT_THROW(concur::wire::Packer(buf).pack(lock), concur::wire::EncodeError);  // no transport

    std::vector<int> fds;
    msgpack::sbuffer buf2;
    {
        concur::wire::EncodeHandles scope(fds);
        concur::wire::Packer(buf2).pack(lock);
    }
    std::vector<int> received{dup(fds.at(0))};
    concur::wire::DecodeHandles scope(received);
    auto oh = msgpack::unpack(buf2.data(), buf2.size());
    EXPECT_THROW(oh.get().as<mp::Event>(), concur::wire::DecodeError);  // another type
    EXPECT_THROW(oh.get().as<mp::Lock>(), concur::wire::DecodeError);   // descriptor already taken
}

// ---- through multiprocessing::Process, every start method ----------------
// The primitives travel as arguments (their codecs), so "spawn" and
// "forkserver" children, which inherit nothing, still share them.

namespace {

void check(bool ok, const char* what) {
    if (!ok) throw std::runtime_error(what);
}

void add_under_lock(mp::Lock lock, mp::Value<long> counter, int times) {
    for (int i = 0; i < times; ++i) {
        std::lock_guard g(lock);
        counter.get_obj() += 1;
    }
}

void rlock_partner(mp::RLock r, mp::Event checked, mp::Event held, mp::Event go) {
    check(!r.acquire(false), "acquired an RLock another process holds");
    try {
        r.release();
        check(false, "released an RLock another process owns");
    } catch (const concur::RuntimeError&) {
    }
    checked.set();
    check(r.acquire(kLong) && r.acquire(false), "RLock not acquired once free");
    held.set();
    check(go.wait(kLong), "go not set");
    r.release();
    r.release();
}

void semaphore_partner(mp::Semaphore s, mp::BoundedSemaphore b) {
    try {
        b.release();
        check(false, "BoundedSemaphore released past its bound");
    } catch (const concur::ValueError&) {
    }
    s.release();
}

void event_partner(mp::Event in, mp::Event out) {
    check(in.wait(kLong), "event not set");
    out.set();
}

void condition_partner(mp::Condition c, mp::Value<int> state) {
    std::unique_lock lk(c);
    state.get_obj() = 1;
    c.notify();
    check(c.wait_for([&] { return state.get_obj() == 2; }, kLong), "not notified");
    state.get_obj() = 3;
    c.notify_all();
}

void barrier_noop() {}

void barrier_party(mp::Barrier b, mp::Array<int> seen, int rounds) {
    for (int round = 0; round < rounds; ++round) {
        int i = b.wait(kLong);
        std::lock_guard g(seen.get_lock());
        ++seen[static_cast<std::size_t>(i)];
    }
}

class MpThroughProcess : public ::testing::TestWithParam<std::string> {
protected:
    mp::Context ctx() const { return mp::get_context(GetParam()); }
    static void finish(mp::Process& p) {
        EXPECT_TRUE(p.join(kLong));
        EXPECT_EQ(p.exitcode(), 0);
    }
};

}  // namespace

TEST_P(MpThroughProcess, LockProtectsACounter) {
    mp::Lock lock;
    mp::Value<long> counter(0, false);
    constexpr int kTimes = 10'000;
    mp::Process a(ctx(), add_under_lock, lock, counter, kTimes);
    mp::Process b(ctx(), add_under_lock, lock, counter, kTimes);
    a.start();
    b.start();
    add_under_lock(lock, counter, kTimes);
    finish(a);
    finish(b);
    EXPECT_EQ(counter.get_obj(), 3 * kTimes);
}

TEST_P(MpThroughProcess, RLockOwnerAcrossProcesses) {
    mp::RLock r;
    mp::Event checked, held, go;
    r.acquire();
    mp::Process p(ctx(), rlock_partner, r, checked, held, go);
    p.start();
    ASSERT_TRUE(checked.wait(kLong));
    r.release();
    ASSERT_TRUE(held.wait(kLong));
    EXPECT_THROW(r.release(), concur::RuntimeError);
    go.set();
    EXPECT_TRUE(r.acquire(kLong));
    r.release();
    finish(p);
}

TEST_P(MpThroughProcess, SemaphoreAndBoundedSemaphore) {
    mp::Semaphore s(0);
    mp::BoundedSemaphore b(2);
    mp::Process p(ctx(), semaphore_partner, s, b);
    p.start();
    EXPECT_TRUE(s.acquire(kLong));
    finish(p);
}

TEST_P(MpThroughProcess, EventBothWays) {
    mp::Event in, out;
    mp::Process p(ctx(), event_partner, in, out);
    p.start();
    in.set();
    EXPECT_TRUE(out.wait(kLong));
    finish(p);
}

TEST_P(MpThroughProcess, ConditionNotifyBothWays) {
    mp::Condition c;
    mp::Value<int> state(0, false);
    mp::Process p(ctx(), condition_partner, c, state);
    p.start();
    {
        std::unique_lock lk(c);
        EXPECT_TRUE(c.wait_for([&] { return state.get_obj() == 1; }, kLong));
        state.get_obj() = 2;
        c.notify();
        EXPECT_TRUE(c.wait_for([&] { return state.get_obj() == 3; }, kLong));
    }
    finish(p);
}

TEST_P(MpThroughProcess, BarrierOfThreeProcesses) {
    mp::Barrier b(3, barrier_noop);
    mp::Array<int> seen(3);
    constexpr int kRounds = 5;
    mp::Process x(ctx(), barrier_party, b, seen, kRounds);
    mp::Process y(ctx(), barrier_party, b, seen, kRounds);
    x.start();
    y.start();
    barrier_party(b, seen, kRounds);
    finish(x);
    finish(y);
    for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(seen[i], kRounds);
}

INSTANTIATE_TEST_SUITE_P(StartMethods, MpThroughProcess, ::testing::Values("fork", "spawn", "forkserver"),
                         [](const auto& info) { return info.param; });
