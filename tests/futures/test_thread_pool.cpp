// ThreadPoolExecutor, after CPython's Lib/test/test_concurrent_futures/
// (test_thread_pool.py, test_shutdown.py, test_init.py, executor.py).
#include <gtest/gtest.h>

#include <dirent.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "concur/futures.hpp"
#include "concur/threading.hpp"

using namespace concur;
using namespace concur::futures;
using namespace std::chrono_literals;

namespace {
// A gate that tests open when they are ready to let pool work finish.
struct Gate {
    std::atomic<bool> open{false};
    void wait() const {
        while (!open.load()) std::this_thread::sleep_for(1ms);
    }
};

std::set<std::string> thread_names() {
    std::set<std::string> names;
    DIR* d = opendir("/proc/self/task");
    while (dirent* e = readdir(d)) {
        if (e->d_name[0] == '.') continue;
        std::ifstream comm(std::string("/proc/self/task/") + e->d_name + "/comm");
        std::string name;
        std::getline(comm, name);
        names.insert(name);
    }
    closedir(d);
    return names;
}

double process_cpu_seconds() {
    std::ifstream stat("/proc/self/stat");
    std::string s((std::istreambuf_iterator<char>(stat)), {});
    std::istringstream in(s.substr(s.rfind(')') + 2));
    std::string field;
    long utime = 0, stime = 0;
    for (int i = 3; i <= 15; ++i) {
        in >> field;
        if (i == 14) utime = std::stol(field);
        if (i == 15) stime = std::stol(field);
    }
    return double(utime + stime) / double(sysconf(_SC_CLK_TCK));
}
}  // namespace

TEST(ThreadPool, SubmitReturnsValue) {
    ThreadPoolExecutor ex;
    EXPECT_EQ(ex.submit([](int a, int b) { return a * b; }, 6, 7).result(), 42);
}

TEST(ThreadPool, SubmitVoidAndMoveOnly) {
    ThreadPoolExecutor ex{{.max_workers = 2}};
    std::atomic<int> hits{0};
    ex.submit([&] { hits++; }).result();
    EXPECT_EQ(hits.load(), 1);
    auto f = ex.submit([](std::unique_ptr<int> p) { return std::make_unique<int>(*p + 1); },
                       std::make_unique<int>(1));
    EXPECT_EQ(*std::move(f).result(), 2);
}

TEST(ThreadPool, ExceptionPropagatesAndPoolSurvives) {
    ThreadPoolExecutor ex{{.max_workers = 1}};
    auto bad = ex.submit([]() -> int { throw std::invalid_argument("nope"); });
    EXPECT_THROW(bad.result(), std::invalid_argument);
    EXPECT_EQ(ex.submit([] { return 5; }).result(), 5);
}

// CPython ThreadPoolExecutorTest.test_default_workers
TEST(ThreadPool, DefaultMaxWorkersIsPythons) {
    ThreadPoolExecutor ex;
    unsigned cores = std::thread::hardware_concurrency();
    EXPECT_EQ(ex.max_workers(), std::min<std::size_t>(32, cores + 4));
}

TEST(ThreadPool, ZeroWorkersIsValueError) {
    EXPECT_THROW(ThreadPoolExecutor({.max_workers = 0}), ValueError);
}

// CPython ThreadPoolExecutorTest.test_idle_thread_reuse: sequential work
// reuses one thread instead of starting max_workers of them.
TEST(ThreadPool, WorkersStartLazily) {
    ThreadPoolExecutor ex{{.max_workers = 8}};
    EXPECT_EQ(ex.num_threads(), 0u);
    for (int i = 0; i < 20; ++i) ex.submit([] {}).result();
    EXPECT_GE(ex.num_threads(), 1u);
    EXPECT_LE(ex.num_threads(), 8u);
}

TEST(ThreadPool, ThreadNamePrefixIsVisibleToTheKernelAndThreading) {
    ThreadPoolExecutor ex{{.max_workers = 1, .thread_name_prefix = "dl"}};
    std::string name = ex.submit([] { return threading::current_thread().name(); }).result();
    EXPECT_EQ(name, "dl_0");
    EXPECT_TRUE(thread_names().count("dl_0"));
}

TEST(ThreadPool, DefaultThreadNameIsPythons) {
    ThreadPoolExecutor ex{{.max_workers = 1}};
    std::string name = ex.submit([] { return threading::current_thread().name(); }).result();
    EXPECT_EQ(name.rfind("ThreadPoolExecutor-", 0), 0u) << name;
    EXPECT_EQ(name.substr(name.size() - 2), "_0") << name;
}

TEST(ThreadPool, InitializerRunsInEveryWorker) {
    static thread_local int initialized = 0;
    ThreadPoolExecutor ex{{.max_workers = 2, .initializer = [] { initialized = 1; }}};
    for (int i = 0; i < 10; ++i) EXPECT_EQ(ex.submit([] { return initialized; }).result(), 1);
}

// CPython FailingInitializerMixin.test_initializer: a failing initializer
// breaks the pool; pending and later work fails with BrokenThreadPool.
TEST(ThreadPool, FailingInitializerBreaksThePool) {
    ThreadPoolExecutor ex{
        {.max_workers = 2, .initializer = [] { throw std::runtime_error("init failed"); }}};
    auto f = ex.submit([] { return 1; });
    EXPECT_THROW(f.result(), BrokenThreadPool);
    // Once broken, submit itself raises (it may take a moment for the
    // worker to report the failure, but the future above already did).
    EXPECT_THROW(ex.submit([] { return 2; }), BrokenThreadPool);
    try {
        ex.submit([] {});
    } catch (const BrokenExecutor& e) {
        EXPECT_NE(std::string(e.what()).find("initializer failed"), std::string::npos);
    }
}

TEST(ThreadPool, SubmitAfterShutdownThrows) {
    ThreadPoolExecutor ex;
    ex.shutdown();
    EXPECT_THROW(ex.submit([] {}), RuntimeError);
    ex.shutdown();  // idempotent
}

// CPython ThreadPoolShutdownTest.test_cancel_futures: only pending work is
// cancelled; the running call finishes.
TEST(ThreadPool, ShutdownCancelFuturesCancelsOnlyPending) {
    ThreadPoolExecutor ex{{.max_workers = 1}};
    Gate gate;
    threading::Event started;
    auto running = ex.submit([&] {
        started.set();
        gate.wait();
        return 1;
    });
    ASSERT_TRUE(started.wait(60s));
    std::vector<Future<int>> pending;
    for (int i = 0; i < 10; ++i) pending.push_back(ex.submit([i] { return i; }));
    std::thread opener([&] {
        std::this_thread::sleep_for(20ms);
        gate.open = true;
    });
    ex.shutdown(true, true);
    opener.join();
    EXPECT_EQ(running.result(), 1);
    for (auto& f : pending) EXPECT_TRUE(f.cancelled());
}

// CPython ThreadPoolShutdownTest.test_threads_terminate: shutdown(wait)
// runs every queued call first.
TEST(ThreadPool, ShutdownWaitRunsQueuedWork) {
    std::atomic<int> ran{0};
    std::vector<Future<void>> fs;
    {
        ThreadPoolExecutor ex{{.max_workers = 2}};
        for (int i = 0; i < 100; ++i) fs.push_back(ex.submit([&] { ran++; }));
    }  // destructor == shutdown(wait = true)
    EXPECT_EQ(ran.load(), 100);
    for (auto& f : fs) EXPECT_TRUE(f.done());
}

TEST(ThreadPool, ShutdownWithoutWaitStillCompletesWork) {
    ThreadPoolExecutor ex{{.max_workers = 1}};
    auto f = ex.submit([] {
        std::this_thread::sleep_for(10ms);
        return 3;
    });
    ex.shutdown(false);
    EXPECT_EQ(f.result(), 3);
}

TEST(ThreadPool, CancelPendingSubmission) {
    ThreadPoolExecutor ex{{.max_workers = 1}};
    Gate gate;
    threading::Event started;
    auto blocker = ex.submit([&] {
        started.set();
        gate.wait();
    });
    ASSERT_TRUE(started.wait(60s));
    bool ran = false;
    auto f = ex.submit([&] { ran = true; });
    EXPECT_TRUE(f.cancel());
    EXPECT_FALSE(blocker.cancel());  // running
    gate.open = true;
    blocker.result();
    ex.shutdown();
    EXPECT_FALSE(ran);
    EXPECT_THROW(f.result(), CancelledError);
}

// Python deadlocks here (a worker waiting on a future queued behind it in a
// saturated pool); concur's waiting worker runs the queued work itself.
TEST(ThreadPool, ResultOnSaturatedPoolDoesNotDeadlock) {
    ThreadPoolExecutor ex{{.max_workers = 1}};
    auto outer = ex.submit([&ex] {
        auto inner = ex.submit([] { return 20; });
        return inner.result() + 1;
    });
    EXPECT_EQ(outer.result(30s), 21);
}

TEST(ThreadPool, RecursiveForkJoin) {
    ThreadPoolExecutor ex{{.max_workers = 2}};
    std::function<long(int)> fib = [&](int n) -> long {
        if (n < 2) return n;
        auto a = ex.submit(fib, n - 1);
        auto b = ex.submit(fib, n - 2);
        return a.result() + b.result();
    };
    EXPECT_EQ(ex.submit(fib, 18).result(), 2584);
}

TEST(ThreadPool, WaitAndAsCompletedInsideWorkersDoNotDeadlock) {
    ThreadPoolExecutor ex{{.max_workers = 1}};
    auto outer = ex.submit([&ex] {
        std::vector<Future<int>> fs;
        for (int i = 0; i < 10; ++i) fs.push_back(ex.submit([i] { return i; }));
        auto r = wait(fs);
        int n = 0;
        for (auto& f : as_completed(fs)) n += f.result();
        return int(r.done.size()) + n;
    });
    EXPECT_EQ(outer.result(30s), 10 + 45);
}

TEST(ThreadPool, CallbacksRunExactlyOnce) {
    ThreadPoolExecutor ex{{.max_workers = 2}};
    std::atomic<int> calls{0};
    std::vector<Future<int>> fs;
    for (int i = 0; i < 1000; ++i) {
        fs.push_back(ex.submit([i] { return i; }));
        fs.back().add_done_callback([&] { calls++; });
    }
    wait(fs);
    ex.shutdown();
    EXPECT_EQ(calls.load(), 1000);
}

TEST(ThreadPool, ThrowingCallbackDoesNotBreakThePool) {
    ThreadPoolExecutor ex{{.max_workers = 1}};
    testing::internal::CaptureStderr();
    auto f = ex.submit([] { return 1; });
    f.add_done_callback([] { throw std::runtime_error("bad callback"); });
    f.result();
    EXPECT_EQ(ex.submit([] { return 2; }).result(), 2);
    ex.shutdown();
    testing::internal::GetCapturedStderr();
}

TEST(ThreadPool, ParallelismAcrossWorkers) {
    // Two calls that can only finish together prove two workers run at once.
    ThreadPoolExecutor ex{{.max_workers = 2}};
    threading::Barrier barrier(2);
    auto a = ex.submit([&] { return barrier.wait(60s); });
    auto b = ex.submit([&] { return barrier.wait(60s); });
    EXPECT_EQ(a.result() + b.result(), 1);  // arrival indexes 0 and 1
}

// An idle pool parks its workers instead of spinning.
TEST(ThreadPool, IdlePoolUsesNoCpu) {
    ThreadPoolExecutor ex{{.max_workers = 4}};
    std::vector<Future<int>> fs;
    for (int i = 0; i < 1000; ++i) fs.push_back(ex.submit([i] { return i; }));
    wait(fs);
    std::this_thread::sleep_for(100ms);  // let the spinning phase end
    double before = process_cpu_seconds();
    std::this_thread::sleep_for(1s);
    double used = process_cpu_seconds() - before;
    EXPECT_LT(used, 0.1) << "an idle pool burned " << used << " s of CPU in 1 s";
}
