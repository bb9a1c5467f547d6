// threading::Thread and the module functions, ported from CPython's
// Lib/test/test_threading.py (ThreadTests, ThreadJoinOnShutdown,
// ThreadingExceptionTests, ExceptHookTests, MiscTestCase).
#include <gtest/gtest.h>
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "concur/detail/thread_name.hpp"
#include "concur/threading.hpp"

using namespace std::chrono_literals;
namespace threading = concur::threading;
using threading::Event;
using threading::Thread;
using threading::ThreadHandle;
using Clock = std::chrono::steady_clock;

namespace {

std::string kernel_name() {
    char buf[32] = {};
    pthread_getname_np(pthread_self(), buf, sizeof buf);
    return buf;
}

// The N of a name "PREFIXN", or -1 if it has another form. (std::regex
// trips a bogus -Wmaybe-uninitialized in g++ 12 with ASan.)
long number_after(const std::string& name, const std::string& prefix) {
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) return -1;
    std::string digits = name.substr(prefix.size());
    if (digits.find_first_not_of("0123456789") != std::string::npos) return -1;
    return std::stol(digits);
}

bool contains(const std::vector<ThreadHandle>& v, const ThreadHandle& h) {
    return std::find(v.begin(), v.end(), h) != v.end();
}

// Restores the default excepthook when a test ends, whatever happens.
struct HookGuard {
    ~HookGuard() { threading::set_excepthook({}); }
};

}  // namespace

// CPython test_threading.ThreadTests.test_various_ops
TEST(Thread, RunsTargetWithArguments) {
    int sum = 0;
    std::string text;
    Thread t(
        [&](int a, const char* b) {
            sum = a + 1;
            text = b;
        },
        41, "x");
    t.start();
    t.join();
    EXPECT_EQ(sum, 42);
    EXPECT_EQ(text, "x");
    EXPECT_FALSE(t.is_alive());
}

TEST(Thread, MoveOnlyAndReferenceArguments) {
    int out = 0;
    Thread t([](std::unique_ptr<int> p, int& o) { o = *p; }, std::make_unique<int>(7),
             std::ref(out));
    t.start();
    t.join();
    EXPECT_EQ(out, 7);
}

TEST(Thread, Options) {
    Thread t({.name = "worker", .daemon = true}, [] {});
    EXPECT_EQ(t.name(), "worker");
    EXPECT_TRUE(t.daemon());
    t.start();
    t.join();
}

// CPython test_threading.ThreadTests.test_default_name / test_various_ops
TEST(Thread, DefaultNamesCountUp) {
    Thread a([] {}), b([] {});
    long na = number_after(a.name(), "Thread-"), nb = number_after(b.name(), "Thread-");
    ASSERT_GT(na, 0) << a.name();
    ASSERT_GT(nb, 0) << b.name();
    EXPECT_LT(na, nb);
}

class Doubler : public Thread {
public:
    explicit Doubler(int x) : Thread({.name = "doubler"}), x_(x) {}
    ~Doubler() override { finalize(); }
    void run() override { result = 2 * x_; }
    int result = 0;

private:
    int x_;
};

TEST(Thread, SubclassOverridesRun) {
    Doubler d(21);
    d.start();
    d.join();
    EXPECT_EQ(d.result, 42);
    EXPECT_EQ(d.name(), "doubler");
}

TEST(Thread, SubclassDestructorJoinsViaFinalize) {
    std::atomic<bool> ran{false};
    struct Slow : Thread {
        std::atomic<bool>* flag;
        explicit Slow(std::atomic<bool>* f) : flag(f) {}
        ~Slow() override { finalize(); }
        void run() override {
            std::this_thread::sleep_for(20ms);
            *flag = true;
        }
    };
    {
        Slow s(&ran);
        s.start();
    }
    EXPECT_TRUE(ran.load());
}

// CPython test_threading.ThreadTests.test_start_thread_again
TEST(Thread, StartTwiceIsRuntimeError) {
    Thread t([] {});
    t.start();
    try {
        t.start();
        FAIL() << "second start() did not throw";
    } catch (const concur::RuntimeError& e) {
        EXPECT_STREQ(e.what(), "threads can only be started once");
    }
    t.join();
    EXPECT_THROW(t.start(), concur::RuntimeError);
}

// CPython test_threading.ThreadTests.test_joining_current_thread
TEST(Thread, JoiningCurrentThreadIsRuntimeError) {
    std::string message;
    Thread* self = nullptr;
    Thread t([&] {
        try {
            self->join();
        } catch (const concur::RuntimeError& e) {
            message = e.what();
        }
    });
    self = &t;
    t.start();
    t.join();
    EXPECT_EQ(message, "cannot join current thread");
    EXPECT_THROW(threading::current_thread().join(), concur::RuntimeError);
}

// CPython test_threading.ThreadTests.test_joining_inactive_thread
TEST(Thread, JoiningUnstartedThreadIsRuntimeError) {
    Thread t([] {});
    EXPECT_THROW(t.join(), concur::RuntimeError);
    EXPECT_THROW(t.join(1ms), concur::RuntimeError);
    EXPECT_THROW(t.handle().join(), concur::RuntimeError);
}

// CPython test_threading.ThreadTests.test_daemonize_active_thread
TEST(Thread, SettingDaemonAfterStartIsRuntimeError) {
    Event release;
    Thread t([&] { release.wait(); });
    t.daemon(true);
    t.daemon(false);
    t.start();
    try {
        t.daemon(true);
        FAIL() << "daemon() after start() did not throw";
    } catch (const concur::RuntimeError& e) {
        EXPECT_STREQ(e.what(), "cannot set daemon status of active thread");
    }
    release.set();
    t.join();
    EXPECT_FALSE(t.daemon());
}

// CPython test_threading.ThreadTests.test_daemon_param
TEST(Thread, DaemonIsInheritedFromTheCreator) {
    EXPECT_FALSE(Thread([] {}).daemon());
    bool inner_daemon = false;
    Thread outer({.daemon = true}, [&] { inner_daemon = Thread([] {}).daemon(); });
    outer.start();
    outer.join();
    EXPECT_TRUE(inner_daemon);
}

// CPython test_threading.ThreadTests.test_various_ops (ident) / test_native_id
TEST(Thread, IdentAndNativeId) {
    unsigned long inner_ident = 0;
    long inner_native = 0;
    Thread t([&] {
        inner_ident = threading::get_ident();
        inner_native = threading::get_native_id();
    });
    EXPECT_FALSE(t.ident().has_value());
    EXPECT_FALSE(t.native_id().has_value());
    t.start();
    ASSERT_TRUE(t.ident().has_value());  // set when start() returns
    ASSERT_TRUE(t.native_id().has_value());
    t.join();
    EXPECT_EQ(*t.ident(), inner_ident);
    EXPECT_EQ(*t.native_id(), inner_native);
    EXPECT_NE(inner_ident, threading::get_ident());
    EXPECT_NE(inner_native, threading::get_native_id());
    EXPECT_EQ(threading::main_thread().native_id(), std::optional<long>(getpid()));
}

TEST(Thread, IsAliveFromStartToEndOfRun) {
    Event release;
    Thread t([&] { release.wait(); });
    EXPECT_FALSE(t.is_alive());
    t.start();
    EXPECT_TRUE(t.is_alive());
    release.set();
    t.join();
    EXPECT_FALSE(t.is_alive());
}

// CPython test_threading.ThreadTests.test_join_timeout (BaseLockTests style)
TEST(Thread, JoinWithTimeout) {
    Event release;
    Thread t([&] { release.wait(); });
    t.start();
    auto t0 = Clock::now();
    EXPECT_FALSE(t.join(50ms));
    EXPECT_GE(Clock::now() - t0, 50ms);
    EXPECT_TRUE(t.is_alive());
    EXPECT_FALSE(t.join(-1s));  // negative counts as zero, as in Python
    release.set();
    EXPECT_TRUE(t.join(60s));
    EXPECT_FALSE(t.is_alive());
    EXPECT_TRUE(t.join(0s));
}

TEST(Thread, SeveralThreadsJoinOneHandle) {
    Event release;
    Thread t([&] { release.wait(); });
    t.start();
    ThreadHandle h = t.handle();
    std::atomic<int> joined{0};
    std::vector<std::thread> joiners;
    for (int i = 0; i < 4; ++i)
        joiners.emplace_back([&] {
            h.join();
            ++joined;
        });
    std::this_thread::sleep_for(20ms);
    EXPECT_EQ(joined.load(), 0);
    release.set();
    for (auto& j : joiners) j.join();
    EXPECT_EQ(joined.load(), 4);
    t.join();
}

// CPython test_threading.ThreadTests.test_current_thread / test_main_thread
TEST(Thread, CurrentAndMainThread) {
    EXPECT_EQ(threading::current_thread(), threading::main_thread());
    EXPECT_EQ(threading::main_thread().name(), "MainThread");
    EXPECT_FALSE(threading::main_thread().daemon());
    EXPECT_TRUE(threading::main_thread().is_alive());
    EXPECT_EQ(threading::main_thread().ident(), std::optional<unsigned long>(threading::get_ident()));
    std::optional<ThreadHandle> inner;
    std::string inner_name;
    bool main_is_main = false;
    Thread t({.name = "inner"}, [&] {
        inner = threading::current_thread();
        inner_name = threading::current_thread().name();
        main_is_main = threading::main_thread().name() == "MainThread";
    });
    t.start();
    t.join();
    ASSERT_TRUE(inner.has_value());
    EXPECT_EQ(*inner, t.handle());
    EXPECT_NE(*inner, threading::main_thread());
    EXPECT_EQ(inner_name, "inner");
    EXPECT_TRUE(main_is_main);
}

// CPython test_threading.ThreadTests.test_ident_of_no_threading_threads /
// test_dummy_thread_after_fork: a foreign thread gets a daemon "Dummy-N".
TEST(Thread, ForeignThreadGetsADummyRecord) {
    std::size_t before = threading::active_count();
    Event checked, release;
    std::string name;
    bool daemon = false, alive = false, ident_ok = false, join_threw = false;
    std::size_t during = 0;
    std::optional<ThreadHandle> dummy;
    std::thread foreign([&] {
        ThreadHandle me = threading::current_thread();
        dummy = me;
        name = me.name();
        daemon = me.daemon();
        alive = me.is_alive();
        ident_ok = me.ident() == std::optional<unsigned long>(threading::get_ident());
        during = threading::active_count();
        EXPECT_EQ(threading::current_thread(), me);  // the same record each time
        try {
            me.join();
        } catch (const concur::RuntimeError&) {
            join_threw = true;
        }
        checked.set();
        release.wait();
    });
    checked.wait();
    EXPECT_GT(number_after(name, "Dummy-"), 0) << name;
    EXPECT_TRUE(daemon);
    EXPECT_TRUE(alive);
    EXPECT_TRUE(ident_ok);
    EXPECT_TRUE(join_threw);
    EXPECT_EQ(during, before + 1);
    EXPECT_TRUE(contains(threading::enumerate(), *dummy));
    EXPECT_THROW(dummy->join(), concur::RuntimeError);  // Python: cannot join a dummy thread
    release.set();
    foreign.join();
    EXPECT_FALSE(dummy->is_alive());  // dropped at thread exit
    EXPECT_EQ(threading::active_count(), before);
    EXPECT_FALSE(contains(threading::enumerate(), *dummy));
}

// CPython test_threading.ThreadTests.test_enumerate_after_join / test_limbo_cleanup
TEST(Thread, ActiveCountAndEnumerate) {
    std::size_t before = threading::active_count();
    EXPECT_EQ(threading::enumerate().size(), before);
    EXPECT_EQ(threading::enumerate().front(), threading::main_thread());
    Event release;
    std::vector<std::unique_ptr<Thread>> threads;
    for (int i = 0; i < 3; ++i) {
        threads.push_back(std::make_unique<Thread>([&] { release.wait(); }));
        threads.back()->start();
    }
    EXPECT_EQ(threading::active_count(), before + 3);
    auto all = threading::enumerate();
    for (auto& t : threads) EXPECT_TRUE(contains(all, t->handle()));
    release.set();
    for (auto& t : threads) t->join();
    EXPECT_EQ(threading::active_count(), before);
    all = threading::enumerate();
    for (auto& t : threads) EXPECT_FALSE(contains(all, t->handle()));
}

// CPython test_threading.ThreadJoinOnShutdown: C++ joins in the destructor.
TEST(Thread, DestructorJoinsANonDaemonThread) {
    std::atomic<bool> done{false};
    {
        Thread t([&] {
            std::this_thread::sleep_for(30ms);
            done = true;
        });
        t.start();
    }
    EXPECT_TRUE(done.load());
}

TEST(Thread, DestroyingARunningDaemonDetachesIt) {
    auto release = std::make_shared<Event>();
    auto finished = std::make_shared<Event>();
    std::optional<ThreadHandle> h;
    {
        Thread t({.daemon = true}, [release, finished] {
            release->wait();
            finished->set();
        });
        t.start();
        h = t.handle();
    }  // returns at once, the thread keeps running
    EXPECT_TRUE(h->is_alive());
    EXPECT_FALSE(finished->is_set());
    release->set();
    h->join();  // the handle still works after the Thread is gone
    EXPECT_TRUE(finished->is_set());
    EXPECT_FALSE(h->is_alive());
}

TEST(Thread, ThreadMayDestroyItsOwnThreadObject) {
    Event created, done;
    Thread* t = nullptr;
    t = new Thread([&] {
        created.wait();
        delete t;  // its destructor cannot join: it detaches
        done.set();
    });
    t->start();
    ThreadHandle h = t->handle();
    created.set();
    done.wait();
    h.join();
    EXPECT_FALSE(h.is_alive());
}

TEST(Thread, NeverStartedThreadDestroysQuietly) {
    bool ran = false;
    { Thread t([&] { ran = true; }); }
    EXPECT_FALSE(ran);
}

// CPython test_threading.ExceptHookTests.test_excepthook
TEST(Thread, EscapedExceptionGoesToStderr) {
    testing::internal::CaptureStderr();
    Thread t({.name = "failing"}, [] { throw std::runtime_error("bug in thread"); });
    t.start();
    t.join();
    std::string err = testing::internal::GetCapturedStderr();
    EXPECT_NE(err.find("Exception in thread failing:"), std::string::npos) << err;
    EXPECT_NE(err.find("std::runtime_error: bug in thread"), std::string::npos) << err;
    EXPECT_FALSE(t.is_alive());
}

TEST(Thread, NonStdExceptionIsReportedByType) {
    testing::internal::CaptureStderr();
    Thread t({.name = "int-thrower"}, [] { throw 42; });
    t.start();
    t.join();
    std::string err = testing::internal::GetCapturedStderr();
    EXPECT_NE(err.find("Exception in thread int-thrower:\nint"), std::string::npos) << err;
}

// CPython test_threading.ExceptHookTests.test_custom_excepthook
TEST(Thread, CustomExcepthook) {
    HookGuard restore;
    std::string message, thread_name;
    threading::set_excepthook([&](const threading::ExceptHookArgs& args) {
        try {
            std::rethrow_exception(args.exc_value);
        } catch (const concur::ValueError& e) {
            message = e.what();
        }
        thread_name = args.thread ? args.thread->name() : "";
    });
    Thread t({.name = "hooked"}, [] { throw concur::ValueError("bad value"); });
    t.start();
    t.join();
    EXPECT_EQ(message, "bad value");
    EXPECT_EQ(thread_name, "hooked");
    auto previous = threading::set_excepthook({});
    EXPECT_TRUE(static_cast<bool>(previous));
}

// CPython test_threading.ExceptHookTests.test_custom_excepthook_fail
TEST(Thread, ThrowingExcepthookIsReportedNotFatal) {
    HookGuard restore;
    threading::set_excepthook([](const threading::ExceptHookArgs&) {
        throw std::logic_error("hook failed");
    });
    testing::internal::CaptureStderr();
    Thread t([] { throw std::runtime_error("x"); });
    t.start();
    t.join();
    std::string err = testing::internal::GetCapturedStderr();
    EXPECT_NE(err.find("Exception in threading.excepthook:"), std::string::npos) << err;
    EXPECT_NE(err.find("hook failed"), std::string::npos) << err;
}

TEST(Thread, KernelNameIsSetAndTruncated) {
    std::string short_name, long_name, utf8_name, renamed;
    Thread a({.name = "short"}, [&] { short_name = kernel_name(); });
    Thread b({.name = "a-name-longer-than-fifteen"}, [&] { long_name = kernel_name(); });
    // 9 two-byte characters: 15 bytes would split the 8th.
    Thread c({.name = "ééééééééé"}, [&] { utf8_name = kernel_name(); });
    Thread d({.name = "before"}, [&] {
        threading::current_thread().name("after");
        renamed = kernel_name();
    });
    for (Thread* t : {&a, &b, &c, &d}) t->start();
    for (Thread* t : {&a, &b, &c, &d}) t->join();
    EXPECT_EQ(short_name, "short");
    EXPECT_EQ(long_name, "a-name-longer-t");
    EXPECT_EQ(utf8_name, "ééééééé");
    EXPECT_EQ(renamed, "after");
    EXPECT_EQ(d.name(), "after");
}

TEST(Thread, NameSetterFromAnotherThread) {
    Event release;
    Thread t({.name = "old"}, [&] { release.wait(); });
    t.start();
    t.name("new");
    EXPECT_EQ(t.name(), "new");
    EXPECT_EQ(t.handle().name(), "new");
    release.set();
    t.join();
}

// What ThreadPoolExecutor workers do to be named as in Python.
TEST(Thread, NameCurrentThreadInAForeignThread) {
    std::string reported, kernel;
    std::thread([&] {
        threading::detail::name_current_thread("ThreadPoolExecutor-0_1");
        reported = threading::current_thread().name();
        kernel = kernel_name();
    }).join();
    EXPECT_EQ(reported, "ThreadPoolExecutor-0_1");
    EXPECT_EQ(kernel, "ThreadPoolExecu");
}

// CPython test_threading.ThreadTests.test_main_thread_after_fork
TEST(Thread, AfterForkOnlyTheForkingThreadIsAlive) {
    Event release;
    Thread other([&] { release.wait(); });
    other.start();
    ASSERT_GE(threading::active_count(), 2u);
    pid_t pid = fork();
    ASSERT_NE(pid, -1);
    if (pid == 0) {
        bool ok = threading::active_count() == 1 &&
                  threading::main_thread() == threading::current_thread() &&
                  threading::main_thread().name() == "MainThread" &&
                  threading::current_thread().native_id() == std::optional<long>(getpid()) &&
                  !other.is_alive() && other.join(0s);
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
    release.set();
    other.join();
}
