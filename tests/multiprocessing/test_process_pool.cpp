// futures::ProcessPoolExecutor on every start method. Ideas ported from
// CPython's Lib/test/test_concurrent_futures (test_process_pool.py,
// test_shutdown.py, test_init.py, test_deadlock.py: a worker that crashes,
// exits or is killed breaks the pool instead of hanging it).
#include <gtest/gtest.h>
#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <fstream>
#include <set>
#include <string>
#include <thread>

#include "concur/futures/process.hpp"
#include "concur/futures/wait.hpp"
#include "concur/multiprocessing.hpp"
#include "support.hpp"

namespace mp = concur::multiprocessing;
namespace futures = concur::futures;
using namespace std::chrono_literals;

namespace {

int square(int x) { return x * x; }
int add(int a, int b) { return a + b; }
std::string whoami() { return mp::current_process().name(); }
int my_pid() { return static_cast<int>(::getpid()); }
int fail_with(std::string message) { throw std::invalid_argument(message); }
int die_by(int how) {
    if (how == 0) ::raise(SIGKILL);
    if (how == 1) std::abort();
    if (how == 2) std::exit(3);
    if (how == 3) {
        volatile int* p = nullptr;
        return *p;  // a segfault, on purpose
    }
    return 0;
}
int sleep_ms(int ms) {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    return ms;
}

std::string g_init_value = "unset";
void init_global(std::string v) { g_init_value = v; }
std::string read_global() { return g_init_value; }
void init_throws() { throw std::runtime_error("initializer failed on purpose"); }

int count_fds() {
    int n = 0;
    if (DIR* d = ::opendir("/proc/self/fd")) {
        while (::readdir(d)) ++n;
        ::closedir(d);
    }
    return n;
}

// A value whose decoding fails for negative numbers, to inject a malformed
// message into one call without touching the stream's framing.
struct Fragile {
    int v = 0;
};
}  // namespace
template <>
struct concur::wire::codec<Fragile> {
    static void pack(Packer& p, const Fragile& f) { p.pack(f.v); }
    static Fragile unpack(const msgpack::object& o) {
        int v = o.as<int>();
        if (v < 0) throw concur::wire::DecodeError("Fragile: negative value on the wire");
        return Fragile{v};
    }
};
namespace {
Fragile fragile_echo(Fragile f) { return Fragile{f.v - 10}; }

// Whether pid is gone: no such process, or a zombie nobody reaps yet (the
// init of a container may be slow to reap orphans).
bool process_gone(pid_t pid) {
    if (::kill(pid, 0) == -1 && errno == ESRCH) return true;
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string all((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    auto close = all.rfind(')');
    return close == std::string::npos || (close + 2 < all.size() && all[close + 2] == 'Z');
}

class ProcessPool : public ::testing::TestWithParam<std::string> {
protected:
    futures::ProcessPoolOptions opts(int workers = 2) const {
        return {.max_workers = workers, .mp_context = mp::get_context(GetParam())};
    }
};

}  // namespace

TEST_P(ProcessPool, SubmitRunsInAWorkerProcess) {
    futures::ProcessPoolExecutor ex(opts());
    auto f = ex.submit(square, 12);
    EXPECT_EQ(f.result(60s), 144);
    EXPECT_NE(ex.submit(my_pid).result(60s), ::getpid());
    EXPECT_EQ(ex.submit([](std::string a, std::vector<int> v) { return a + std::to_string(v.size()); }, "n=",
                        std::vector<int>{1, 2, 3})
                  .result(60s),
              "n=3");
    std::string prefix = GetParam() == "fork" ? "Fork" : GetParam() == "spawn" ? "Spawn" : "ForkServer";
    EXPECT_EQ(ex.submit(whoami).result(60s).rfind(prefix + "Process-", 0), 0u);
}

TEST_P(ProcessPool, ExceptionsCrossAsTheirOwnType) {
    futures::ProcessPoolExecutor ex(opts());
    auto f = ex.submit(fail_with, std::string("bad input"));
    try {
        f.result(60s);
        FAIL() << "expected invalid_argument";
    } catch (const std::invalid_argument& e) {
        EXPECT_STREQ(e.what(), "bad input");
    }
    EXPECT_EQ(ex.submit(square, 3).result(60s), 9);  // the pool is still usable
}

TEST_P(ProcessPool, MapKeepsInputOrderWithAutomaticChunks) {
    futures::ProcessPoolExecutor ex(opts());
    std::vector<int> xs(10000);
    for (int i = 0; i < 10000; ++i) xs[i] = i;
    std::vector<int> got = ex.map(square, xs).list();
    ASSERT_EQ(got.size(), xs.size());
    for (int i = 0; i < 10000; ++i) ASSERT_EQ(got[i], i * i);
    std::vector<int> a{1, 2, 3}, b{10, 20, 30, 40};
    EXPECT_EQ(ex.map(add, a, b).list(), (std::vector<int>{11, 22, 33}));  // zip stops at the shorter
    EXPECT_EQ(ex.map(square, std::vector<int>{4, 5}, futures::ProcessMapOptions{.chunksize = 1}).list(),
              (std::vector<int>{16, 25}));
}

TEST_P(ProcessPool, InitializerRunsInEveryWorker) {
    auto o = opts();
    o.initializer = {init_global, std::string("ready")};
    futures::ProcessPoolExecutor ex(o);
    std::vector<futures::Future<std::string>> fs;
    for (int i = 0; i < 20; ++i) fs.push_back(ex.submit(read_global));
    for (auto& f : fs) EXPECT_EQ(f.result(60s), "ready");
}

TEST_P(ProcessPool, FailingInitializerBreaksThePool) {
    auto o = opts();
    o.initializer = {init_throws};
    futures::ProcessPoolExecutor ex(o);
    auto f = ex.submit(square, 2);
    EXPECT_THROW(f.result(60s), futures::BrokenProcessPool);
    EXPECT_THROW(ex.submit(square, 2), futures::BrokenProcessPool);
}

TEST_P(ProcessPool, AWorkerThatDiesBreaksThePoolAndFailsEveryFuture) {
    for (int how : {0, 1, 2, 3}) {
        futures::ProcessPoolExecutor ex(opts());
        std::vector<futures::Future<int>> pending;
        for (int i = 0; i < 4; ++i) pending.push_back(ex.submit(sleep_ms, 200));
        auto killer = ex.submit(die_by, how);
        auto start = std::chrono::steady_clock::now();
        EXPECT_THROW(killer.result(60s), futures::BrokenProcessPool) << "how=" << how;
        for (auto& f : pending) {
            // Finished before the crash, or failed with it: never left pending.
            ASSERT_TRUE(f.wait(60s));
            if (f.exception()) {
                EXPECT_THROW(f.result(), futures::BrokenProcessPool);
            }
        }
        EXPECT_LT(std::chrono::steady_clock::now() - start, 30s);  // generous: "within 1 s" is measured in bench
        EXPECT_THROW(ex.submit(square, 1), futures::BrokenProcessPool);
    }
}

TEST_P(ProcessPool, KilledFromOutsideBreaksThePool) {
    futures::ProcessPoolExecutor ex(opts());
    auto slow = ex.submit(sleep_ms, 60000);
    ASSERT_EQ(ex.submit(square, 1).result(60s), 1);
    auto pids = ex.worker_pids();
    ASSERT_FALSE(pids.empty());
    ::kill(pids[0], SIGKILL);
    EXPECT_THROW(ex.submit(sleep_ms, 60000).result(60s), futures::BrokenProcessPool);
    EXPECT_THROW(slow.result(60s), futures::BrokenProcessPool);
}

TEST_P(ProcessPool, ShutdownSemantics) {
    futures::ProcessPoolExecutor ex(opts(1));
    auto running = ex.submit(sleep_ms, 300);
    for (int i = 0; i < 60000 && !running.running(); ++i) std::this_thread::sleep_for(1ms);
    ASSERT_TRUE(running.running());  // sent to the worker: no longer cancellable
    std::vector<futures::Future<int>> queued;
    for (int i = 0; i < 50; ++i) queued.push_back(ex.submit(sleep_ms, 100));
    ex.shutdown(true, true);  // cancel_futures: what had not started is cancelled
    EXPECT_EQ(running.result(), 300);
    int cancelled = 0;
    for (auto& f : queued) {
        ASSERT_TRUE(f.done());
        cancelled += f.cancelled();
    }
    EXPECT_GT(cancelled, 0);
    EXPECT_THROW(ex.submit(square, 1), concur::RuntimeError);
    ex.shutdown();  // idempotent
}

TEST_P(ProcessPool, MaxTasksPerChildReplacesWorkers) {
    auto o = opts(1);
    o.max_tasks_per_child = 3;
    futures::ProcessPoolExecutor ex(o);
    std::set<int> pids;
    for (int i = 0; i < 9; ++i) pids.insert(ex.submit(my_pid).result(60s));
    EXPECT_EQ(pids.size(), 3u);
}

TEST_P(ProcessPool, NoLeakedDescriptorsOrChildren) {
    mp::get_context(GetParam());
    {
        futures::ProcessPoolExecutor warm(opts(1));  // starts the fork server, kept for the process
        warm.submit(square, 1).result(60s);
    }
    int before = count_fds();
    std::vector<pid_t> workers;
    {
        futures::ProcessPoolExecutor ex(opts());
        EXPECT_EQ(ex.map(square, std::vector<int>{1, 2, 3}).list(), (std::vector<int>{1, 4, 9}));
        workers = ex.worker_pids();
    }
    {
        futures::ProcessPoolExecutor ex(opts());
        ex.submit(square, 1).result(60s);
        for (pid_t p : ex.worker_pids()) workers.push_back(p);
        auto f = ex.submit(die_by, 0);
        EXPECT_THROW(f.result(60s), futures::BrokenProcessPool);
    }
    EXPECT_EQ(count_fds(), before);
    ASSERT_FALSE(workers.empty());
    for (pid_t p : workers) {
        // Reaped, not a zombie: the pid no longer exists at all. (The fork
        // server reaps its own children a moment after they exit.)
        bool gone = false;
        for (int i = 0; i < 30000 && !gone; ++i) {
            gone = ::kill(p, 0) == -1 && errno == ESRCH;
            if (!gone) std::this_thread::sleep_for(1ms);
        }
        EXPECT_TRUE(gone) << "worker " << p << " is still in the process table";
    }
}

TEST_P(ProcessPool, AMessageThatFailsToDecodeFailsOnlyItsFuture) {
    futures::ProcessPoolExecutor ex(opts(1));
    // The argument cannot be decoded in the worker.
    EXPECT_THROW(ex.submit(fragile_echo, Fragile{-1}).result(60s), concur::wire::DecodeError);
    // The result cannot be decoded here (20 - 10 is fine, 5 - 10 is not).
    EXPECT_EQ(ex.submit(fragile_echo, Fragile{20}).result(60s).v, 10);
    EXPECT_THROW(ex.submit(fragile_echo, Fragile{5}).result(60s), concur::wire::DecodeError);
    EXPECT_EQ(ex.submit(square, 6).result(60s), 36);  // still usable
}

TEST_P(ProcessPool, WorkersExitWhenTheirParentIsKilled) {
    int report[2];
    ASSERT_EQ(::pipe(report), 0);
    pid_t parent = ::fork();
    ASSERT_GE(parent, 0);
    if (parent == 0) {
        // The pool's owner: starts busy and idle workers, says who they are, waits to be killed.
        ::close(report[0]);
        futures::ProcessPoolExecutor ex(opts(2));
        ex.submit(square, 1).result(60s);
        auto busy = ex.submit(sleep_ms, 600000);
        std::vector<pid_t> pids = ex.worker_pids();
        (void)!::write(report[1], pids.data(), pids.size() * sizeof(pid_t));
        ::close(report[1]);
        for (;;) ::pause();
    }
    ::close(report[1]);
    std::vector<pid_t> workers(2);
    ssize_t n = ::read(report[0], workers.data(), workers.size() * sizeof(pid_t));
    ::close(report[0]);
    ASSERT_EQ(n, static_cast<ssize_t>(2 * sizeof(pid_t)));
    ::kill(parent, SIGKILL);
    ::waitpid(parent, nullptr, 0);
    for (pid_t w : workers) {
        bool gone = false;
        for (int i = 0; i < 30000 && !gone; ++i) {
            gone = process_gone(w);
            if (!gone) std::this_thread::sleep_for(1ms);
        }
        EXPECT_TRUE(gone) << "worker " << w << " outlived its parent";
    }
}

// A thread waiting for a short call reads the worker's outcome from its
// mailbox itself (src/multiprocessing/mailbox.hpp); outcomes that arrive
// while nobody polls, or while the mailbox is full, go by the channel. Every
// mix of the two must keep each outcome with its own future.
TEST_P(ProcessPool, ShortCallsKeepTheirOutcomesWhetherPolledOrNot) {
    futures::ProcessPoolExecutor ex(opts(2));
    for (int i = 0; i < 3000; ++i) ASSERT_EQ(ex.submit(square, i).result(60s), i * i) << "round trip " << i;
    // Many in flight: the first outcomes may be polled, the rest queue in the channel.
    for (int round = 0; round < 5; ++round) {
        std::vector<futures::Future<int>> fs;
        for (int i = 0; i < 2000; ++i) fs.push_back(ex.submit(add, round, i));
        for (int i = 0; i < 2000; ++i) ASSERT_EQ(fs[static_cast<std::size_t>(i)].result(60s), round + i);
    }
    // Two waiting threads: one polls, the other parks until it is settled for it.
    auto trips = [&ex](int base) {
        for (int i = 0; i < 1500; ++i)
            if (ex.submit(add, base, i).result(60s) != base + i) return false;
        return true;
    };
    auto other = std::async(std::launch::async, trips, 1000000);
    EXPECT_TRUE(trips(0));
    EXPECT_TRUE(other.get());
}

// The thread that polls settles the futures it finds, and settling runs
// done-callbacks; one that waits for a call of a pool that thread was polling
// must not find that pool's mailboxes deserted. (The call is another pool's:
// a callback that the pool's own result handler runs cannot wait for the
// same pool, in Python as here, since that thread is the one that reads it.)
TEST_P(ProcessPool, ADoneCallbackMayWaitForACallOfAnotherPool) {
    futures::ProcessPoolExecutor first(opts(1)), second(opts(1));
    for (int i = 0; i < 200; ++i) {  // short calls: waits poll both pools
        first.submit(square, i).result(60s);
        second.submit(square, i).result(60s);
    }
    for (int i = 0; i < 200; ++i) {
        std::atomic<int> inner{-1};
        auto f = first.submit(square, i);
        f.add_done_callback([&second, &inner, i](const futures::Future<int>&) {
            inner = second.submit(add, i, 1).result(60s);
        });
        ASSERT_EQ(f.result(60s), i * i);
        for (int spin = 0; spin < 60000 && inner == -1; ++spin) std::this_thread::sleep_for(1ms);
        ASSERT_EQ(inner.load(), i + 1);
    }
}

// A worker that dies while a thread polls its mailbox breaks the pool as any
// other death does (Python's BrokenProcessPool), instead of leaving the
// waiting thread polling a mailbox that nothing will fill.
TEST_P(ProcessPool, AWorkerThatDiesWhileAThreadPollsBreaksThePool) {
    for (int how : {0, 2, 3}) {
        futures::ProcessPoolExecutor ex(opts(1));
        for (int i = 0; i < 200; ++i) ex.submit(square, i).result(60s);
        auto doomed = ex.submit(die_by, how);
        EXPECT_THROW(doomed.result(60s), futures::BrokenProcessPool) << "how " << how;
        EXPECT_THROW(ex.submit(square, 1), futures::BrokenProcessPool);
    }
}

INSTANTIATE_TEST_SUITE_P(StartMethods, ProcessPool, ::testing::ValuesIn(mptest::pool_start_methods()),
                         [](const auto& info) { return info.param; });
