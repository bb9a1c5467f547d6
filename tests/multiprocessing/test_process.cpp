// multiprocessing::Process on every start method. Ported ideas from CPython's
// Lib/test/_test_multiprocessing.py (_TestProcess: test_process,
// test_terminate, test_kill, test_exitcode, test_subclassing, test_sentinel).
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "concur/multiprocessing.hpp"

namespace mp = concur::multiprocessing;
using namespace std::chrono_literals;

namespace {

class ProcessTest : public ::testing::TestWithParam<std::string> {
protected:
    mp::Context ctx() const { return mp::get_context(GetParam()); }
};

// Writes what the child saw to a file the parent reads back.
void write_file(std::string path, std::string text) {
    std::ofstream(path) << text;
}
std::string read_file(const std::string& path) {
    std::ifstream in(path);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}
std::string temp_path(const char* tag) {
    std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::replace(test.begin(), test.end(), '/', '_');  // parameterized names hold a slash
    return "/tmp/concur-test-" + std::string(tag) + "-" + std::to_string(::getpid()) + "-" + test;
}

void report_identity(std::string path) {
    const auto& me = mp::current_process();
    const auto* parent = mp::parent_process();
    write_file(path, me.name() + "|" + std::to_string(me.pid()) + "|" + std::to_string(parent ? parent->pid() : 0) +
                         "|" + (parent ? parent->name() : std::string("none")));
}

void exit_with(int code) { std::exit(code); }
void throw_in_child(std::string message) { throw std::runtime_error(message); }
void sleep_forever() {
    for (;;) ::pause();
}
void crash() { std::abort(); }

}  // namespace

TEST_P(ProcessTest, RunsTargetWithArgumentsInAnotherProcess) {
    std::string path = temp_path("args");
    mp::Process p(ctx(), [](std::string path, int a, std::vector<std::string> v) { write_file(path, std::to_string(a) + v.at(1) + std::to_string(::getpid())); },
                  path, 42, std::vector<std::string>{"x", "y"});
    EXPECT_FALSE(p.pid());
    EXPECT_FALSE(p.exitcode());
    p.start();
    ASSERT_TRUE(p.pid());
    EXPECT_NE(*p.pid(), ::getpid());
    EXPECT_TRUE(p.join());
    EXPECT_EQ(p.exitcode(), 0);
    EXPECT_FALSE(p.is_alive());
    EXPECT_EQ(read_file(path), "42y" + std::to_string(*p.pid()));
    std::remove(path.c_str());
}

TEST_P(ProcessTest, NamesAndParentFollowPython) {
    std::string path = temp_path("names");
    mp::Process p(ctx(), report_identity, path);
    p.start();
    p.join();
    std::string prefix = GetParam() == "fork" ? "Fork" : GetParam() == "spawn" ? "Spawn" : "ForkServer";
    std::string got = read_file(path);
    EXPECT_EQ(got.substr(0, got.find('|')), p.name());
    EXPECT_EQ(p.name().rfind(prefix + "Process-", 0), 0u) << p.name();
    EXPECT_NE(got.find("|" + std::to_string(*p.pid()) + "|" + std::to_string(::getpid()) + "|MainProcess"),
              std::string::npos)
        << got;
    std::remove(path.c_str());

    mp::Process named(ctx(), report_identity, path);
    named.name("worker-a");
    named.start();
    named.join();
    EXPECT_EQ(read_file(path).substr(0, 9), "worker-a|");
    std::remove(path.c_str());
    EXPECT_EQ(mp::current_process().name(), "MainProcess");
    EXPECT_EQ(mp::parent_process(), nullptr);
}

TEST_P(ProcessTest, ExitCodesFollowPython) {
    mp::Process ok(ctx(), exit_with, 0), seven(ctx(), exit_with, 7), thrower(ctx(), throw_in_child, std::string("boom"));
    ok.start();
    seven.start();
    thrower.start();
    ok.join();
    seven.join();
    thrower.join();
    EXPECT_EQ(ok.exitcode(), 0);
    EXPECT_EQ(seven.exitcode(), 7);
    EXPECT_EQ(thrower.exitcode(), 1);  // Python: an exception escaping run() exits 1

    mp::Process aborts(ctx(), crash);
    aborts.start();
    aborts.join();
    EXPECT_EQ(aborts.exitcode(), -SIGABRT);
}

TEST_P(ProcessTest, TerminateKillAndJoinTimeout) {
    mp::Process p(ctx(), sleep_forever);
    p.start();
    EXPECT_TRUE(p.is_alive());
    EXPECT_FALSE(p.join(50ms));  // Python: join(timeout) returns with the child still running
    EXPECT_FALSE(p.exitcode());
    p.terminate();
    EXPECT_TRUE(p.join(60s));
    EXPECT_EQ(p.exitcode(), -SIGTERM);

    mp::Process q(ctx(), sleep_forever);
    q.start();
    q.kill();
    EXPECT_TRUE(q.join(60s));
    EXPECT_EQ(q.exitcode(), -SIGKILL);
}

TEST_P(ProcessTest, SentinelBecomesReadableAtExit) {
    mp::Process p(ctx(), exit_with, 3);
    EXPECT_THROW(p.sentinel(), concur::RuntimeError);
    p.start();
    pollfd pfd{p.sentinel(), POLLIN, 0};
    ASSERT_EQ(::poll(&pfd, 1, 60000), 1);
    p.join();
    EXPECT_EQ(p.exitcode(), 3);
}

TEST_P(ProcessTest, MisuseIsAnError) {
    mp::Process p(ctx(), exit_with, 0);
    EXPECT_THROW(p.join(), concur::RuntimeError);  // not started
    p.start();
    EXPECT_THROW(p.start(), concur::RuntimeError);  // twice
    p.join();
    p.close();
    EXPECT_THROW(p.is_alive(), concur::RuntimeError);

    mp::Process running(ctx(), sleep_forever);
    running.start();
    EXPECT_THROW(running.close(), concur::ValueError);
    running.kill();
    running.join();
}

TEST_P(ProcessTest, ActiveChildrenListsRunningOnes) {
    mp::Process p(ctx(), sleep_forever);
    p.start();
    auto kids = mp::active_children();
    EXPECT_NE(std::find(kids.begin(), kids.end(), &p), kids.end());
    p.kill();
    p.join();
    kids = mp::active_children();
    EXPECT_EQ(std::find(kids.begin(), kids.end(), &p), kids.end());
}

namespace {
// Python's test_subclassing: a Process subclass overriding run(), sent to the
// child by value so that it works with every start method.
struct Writer : mp::Process {
    std::string path;
    int value = 0;
    Writer() : Process(this) {}
    Writer(const mp::Context& c, std::string p, int v) : Process(this, c), path(std::move(p)), value(v) {}
    void run() override { write_file(path, "subclass " + std::to_string(value) + " in " + name()); }
    MSGPACK_DEFINE(path, value)
};
}  // namespace

TEST_P(ProcessTest, SubclassOverridingRun) {
    std::string path = temp_path("subclass");
    Writer w(ctx(), path, 9);
    w.start();
    w.join();
    EXPECT_EQ(w.exitcode(), 0);
    EXPECT_EQ(read_file(path), "subclass 9 in " + w.name());
    std::remove(path.c_str());
}

INSTANTIATE_TEST_SUITE_P(StartMethods, ProcessTest, ::testing::Values("fork", "spawn", "forkserver"),
                         [](const auto& info) { return info.param; });

namespace {
struct ForkOnly : mp::Process {
    explicit ForkOnly(const mp::Context& c, std::string p) : Process(c), path(std::move(p)) {}
    std::string path;
    void run() override { write_file(path, "fork-only"); }
};
}  // namespace

TEST(ProcessForkOnly, SubclassWithoutSerializationNeedsFork) {
    std::string path = temp_path("forkonly");
    ForkOnly f(mp::get_context("fork"), path);
    f.start();
    f.join();
    EXPECT_EQ(f.exitcode(), 0);
    EXPECT_EQ(read_file(path), "fork-only");
    std::remove(path.c_str());
    ForkOnly s(mp::get_context("spawn"), path);
    EXPECT_THROW(s.start(), concur::ValueError);
}

namespace {
void report_children(std::string path) { write_file(path, std::to_string(mp::active_children().size())); }
void do_nothing() {}
}  // namespace

// Python's bootstrap empties process._children in a new child: a forked child
// does not inherit its parent's children (CPython's test_active_children idea).
TEST(ProcessForkOnly, ForkedChildHasNoChildrenOfItsOwn) {
    mp::Process sleeper(mp::get_context("fork"), sleep_forever);
    sleeper.start();
    std::string path = temp_path("children");
    mp::Process p(mp::get_context("fork"), report_children, path);
    p.start();
    EXPECT_TRUE(p.join(60s));
    EXPECT_EQ(read_file(path), "0");
    EXPECT_EQ(mp::active_children().size(), 1u);
    sleeper.kill();
    sleeper.join();
    std::remove(path.c_str());
}

// A forked child takes the library's process lock to become itself; another
// thread of the parent that held it at the fork must not leave it held in the
// child (the lock is made anew there, as Python's locks are after fork).
TEST(ProcessForkOnly, ForkWhileAnotherThreadHoldsTheProcessLock) {
    std::atomic<bool> stop{false};
    std::thread holder([&] {
        while (!stop.load(std::memory_order_relaxed)) (void)mp::current_process().pid();
    });
    for (int i = 0; i < 50; ++i) {
        mp::Process p(mp::get_context("fork"), do_nothing);
        p.start();
        bool ended = p.join(60s);
        if (!ended) {
            p.kill();
            p.join();
        }
        ASSERT_TRUE(ended) << "child " << i << " hung on a lock held at the fork";
        EXPECT_EQ(p.exitcode(), 0);
    }
    stop = true;
    holder.join();
}

TEST(Context, StartMethodsAndCpuCount) {
    EXPECT_EQ(mp::get_start_method(), "forkserver");
    auto all = mp::get_all_start_methods();
    EXPECT_EQ(all.size(), 3u);
    EXPECT_THROW(mp::get_context("thread"), concur::ValueError);
    EXPECT_GE(mp::cpu_count(), 1);
    EXPECT_TRUE(mp::freeze_support_called());
}
