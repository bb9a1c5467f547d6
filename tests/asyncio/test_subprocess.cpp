// asyncio subprocesses, after CPython's Lib/test/test_asyncio/test_subprocess.py:
// spawning, exit codes, signals, pipes and communicate, errors, and the
// reaping (no zombie, no descriptor left behind) on both loop backends and
// with the thread-based exit watcher that stands in for pidfd_open.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <concur/asyncio/subprocess.hpp>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support.hpp"

namespace asyncio = concur::asyncio;
namespace subprocess = concur::asyncio::subprocess;
using namespace std::chrono_literals;
using subprocess::Options;

namespace {

// Every test leaves as many descriptors open as it found.
class Subprocess : public ::testing::Test {
protected:
    void SetUp() override { fds_ = asyncio::testing::open_fds(); }
    void TearDown() override {
        subprocess::detail::force_pidfd_fallback_for_testing(false);
        EXPECT_EQ(asyncio::testing::open_fds(), fds_) << "a descriptor leaked";
    }

private:
    int fds_ = 0;
};

// The thread-based exit watcher (used where pidfd_open fails), same tests.
class SubprocessFallback : public Subprocess {
protected:
    void SetUp() override {
        Subprocess::SetUp();
        subprocess::detail::force_pidfd_fallback_for_testing(true);
    }
};

// True once `pid` is no child of ours any more (reaped), without reaping it.
bool reaped(pid_t pid) {
    siginfo_t si{};
    return waitid(P_PID, static_cast<id_t>(pid), &si, WEXITED | WNOHANG | WNOWAIT) < 0 && errno == ECHILD;
}
// True while `pid` runs (neither exited nor reaped).
bool running(pid_t pid) {
    siginfo_t si{};
    return waitid(P_PID, static_cast<id_t>(pid), &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == 0;
}

// Reads `fd` to EOF (blocking; for the tests' own pipes).
std::string read_all(int fd) {
    std::string out;
    char buf[4096];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n > 0) {
            out.append(buf, static_cast<std::size_t>(n));
        } else if (n == 0 || errno != EINTR) {
            break;
        }
    }
    return out;
}

struct Pipe {
    int r = -1, w = -1;
    Pipe() {
        int p[2];
        EXPECT_EQ(pipe2(p, O_CLOEXEC), 0);
        r = p[0];
        w = p[1];
    }
    void close_r() {
        if (r >= 0) close(r);
        r = -1;
    }
    void close_w() {
        if (w >= 0) close(w);
        w = -1;
    }
    ~Pipe() {
        close_r();
        close_w();
    }
};

// ---- exit status and waiting ---------------------------------------------

asyncio::Task<int> exit_code_of_sh_exit_3() {
    auto p = co_await asyncio::create_subprocess_exec("sh", "-c", "exit 3");
    EXPECT_GT(p.pid(), 0);
    EXPECT_EQ(p.returncode(), std::nullopt);
    int rc = co_await p.wait();
    EXPECT_EQ(p.returncode(), rc);
    co_return rc;
}

// CPython test_subprocess: test_exit_code / test_shell (returncode of exit 3).
TEST_F(Subprocess, ReturncodeOfShExit3) { EXPECT_EQ(asyncio::testing::run(exit_code_of_sh_exit_3()), 3); }
TEST_F(SubprocessFallback, ReturncodeOfShExit3) { EXPECT_EQ(asyncio::testing::run(exit_code_of_sh_exit_3()), 3); }

// CPython test_subprocess: test_create_subprocess_shell.
TEST_F(Subprocess, ShellRunsTheCommandWithBinSh) {
    auto main = []() -> asyncio::Task<int> {
        auto p = co_await asyncio::create_subprocess_shell("exit $((2 + 5))");
        co_return co_await p.wait();
    };
    EXPECT_EQ(asyncio::testing::run(main()), 7);
}

asyncio::Task<int> terminate_sleep() {
    auto p = co_await asyncio::create_subprocess_exec("sleep", "100");
    p.terminate();
    co_return co_await p.wait();
}

// CPython test_subprocess: test_terminate.
TEST_F(Subprocess, TerminateGivesMinusSigterm) { EXPECT_EQ(asyncio::testing::run(terminate_sleep()), -SIGTERM); }
TEST_F(SubprocessFallback, TerminateGivesMinusSigterm) {
    EXPECT_EQ(asyncio::testing::run(terminate_sleep()), -SIGTERM);
}

// CPython test_subprocess: test_kill.
TEST_F(Subprocess, KillGivesMinusSigkill) {
    auto main = []() -> asyncio::Task<int> {
        auto p = co_await asyncio::create_subprocess_exec("sleep", "100");
        p.kill();
        co_return co_await p.wait();
    };
    EXPECT_EQ(asyncio::testing::run(main()), -SIGKILL);
}

// CPython test_subprocess: test_send_signal.
TEST_F(Subprocess, SendSignalDeliversTheSignal) {
    auto main = []() -> asyncio::Task<int> {
        auto p = co_await asyncio::create_subprocess_exec("sleep", "100");
        p.send_signal(SIGUSR1);
        co_return co_await p.wait();
    };
    EXPECT_EQ(asyncio::testing::run(main()), -SIGUSR1);
}

// CPython test_subprocess: test_send_signal after exit is ignored (the pid
// may belong to another process by then).
TEST_F(Subprocess, SignalsAfterTheReapAreIgnored) {
    auto main = []() -> asyncio::Task<> {
        auto p = co_await asyncio::create_subprocess_exec("true");
        EXPECT_EQ(co_await p.wait(), 0);
        p.kill();
        p.terminate();
        p.send_signal(SIGUSR1);
        EXPECT_EQ(p.returncode(), 0);
    };
    asyncio::testing::run(main());
}

TEST_F(Subprocess, InvalidSignalIsAnOSError) {
    auto main = []() -> asyncio::Task<> {
        auto p = co_await asyncio::create_subprocess_exec("sleep", "100");
        EXPECT_THROW(p.send_signal(9999), asyncio::OSError);
        p.kill();
        co_await p.wait();
    };
    asyncio::testing::run(main());
}

// CPython test_subprocess: the child is reaped by the time wait() returns
// (no zombie), and its pidfd is closed (the fixture counts descriptors).
TEST_F(Subprocess, NoZombieOnceWaitReturns) {
    auto main = []() -> asyncio::Task<> {
        auto p = co_await asyncio::create_subprocess_exec("true");
        EXPECT_FALSE(reaped(p.pid()));
        co_await p.wait();
        EXPECT_TRUE(reaped(p.pid()));
    };
    asyncio::testing::run(main());
}

asyncio::Task<> cancelled_wait_leaves_child() {
    auto p = co_await asyncio::create_subprocess_exec("sleep", "100");
    auto waiter = asyncio::create_task(p.wait());
    co_await asyncio::sleep(0s);  // the waiter is now blocked in wait()
    EXPECT_FALSE(waiter.done());
    waiter.cancel();
    EXPECT_THROW(co_await waiter, concur::CancelledError);
    EXPECT_TRUE(running(p.pid()));
    EXPECT_EQ(p.returncode(), std::nullopt);
    p.kill();
    EXPECT_EQ(co_await p.wait(), -SIGKILL);  // waitable again
}

// CPython test_subprocess: test_cancel_process_wait.
TEST_F(Subprocess, CancellingWaitLeavesTheChildRunning) { asyncio::testing::run(cancelled_wait_leaves_child()); }
TEST_F(SubprocessFallback, CancellingWaitLeavesTheChildRunning) {
    asyncio::testing::run(cancelled_wait_leaves_child());
}

// Several tasks may wait for one child; all see the same code.
TEST_F(Subprocess, ManyWaitersAllSeeTheExit) {
    auto main = []() -> asyncio::Task<> {
        auto p = co_await asyncio::create_subprocess_exec("sleep", "100");
        std::vector<asyncio::Task<int>> waiters;
        for (int i = 0; i < 3; ++i) waiters.push_back(asyncio::create_task(p.wait()));
        co_await asyncio::sleep(0s);
        p.kill();
        auto codes = co_await asyncio::gather(std::move(waiters));
        for (int c : codes) EXPECT_EQ(c, -SIGKILL);
        EXPECT_EQ(co_await p.wait(), -SIGKILL);  // and once more, already known
    };
    asyncio::testing::run(main());
}

// Many children at once, each reaped through its own watch.
TEST_F(Subprocess, ManyChildrenExitIndependently) {
    auto one = [](int code) -> asyncio::Task<int> {
        auto p = co_await asyncio::create_subprocess_exec("sh", "-c", "exit " + std::to_string(code));
        co_return co_await p.wait();
    };
    auto main = [&]() -> asyncio::Task<> {
        std::vector<asyncio::Task<int>> all;
        for (int i = 0; i < 32; ++i) all.push_back(one(i));
        auto codes = co_await asyncio::gather(std::move(all));
        for (int i = 0; i < 32; ++i) EXPECT_EQ(codes[static_cast<std::size_t>(i)], i);
    };
    asyncio::testing::run(main());
}

// ---- errors -----------------------------------------------------------------

// CPython test_subprocess: test_create_subprocess_exec_with_path (a missing
// program is an exception from the spawn, not a child exiting 127).
TEST_F(Subprocess, MissingProgramThrowsFileNotFoundError) {
    auto main = []() -> asyncio::Task<> {
        try {
            co_await asyncio::create_subprocess_exec("concur-no-such-program-xyz", "arg");
            ADD_FAILURE() << "no exception";
        } catch (const asyncio::FileNotFoundError& e) {
            EXPECT_EQ(e.errno_value(), ENOENT);
            EXPECT_EQ(e.filename(), "concur-no-such-program-xyz");
        }
        EXPECT_THROW(co_await asyncio::create_subprocess_exec("/nonexistent/dir/prog"), asyncio::FileNotFoundError);
    };
    asyncio::testing::run(main());
}

TEST_F(Subprocess, MissingCwdThrowsFileNotFoundError) {
    auto main = []() -> asyncio::Task<> {
        Options o{.cwd = "/nonexistent-concur-dir"};
        try {
            co_await asyncio::create_subprocess_exec("true", o);
            ADD_FAILURE() << "no exception";
        } catch (const asyncio::FileNotFoundError& e) {
            EXPECT_EQ(e.filename(), "/nonexistent-concur-dir");
        }
    };
    asyncio::testing::run(main());
}

// Without any execute bit even root gets EACCES.
TEST_F(Subprocess, NonExecutableFileThrowsPermissionError) {
    char path[] = "/tmp/concur-subprocess-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(write(fd, "#!/bin/sh\n", 10), 10);
    close(fd);
    ASSERT_EQ(chmod(path, 0644), 0);
    auto main = [&]() -> asyncio::Task<> {
        EXPECT_THROW(co_await asyncio::create_subprocess_exec(path), asyncio::PermissionError);
    };
    asyncio::testing::run(main());
    unlink(path);
}

TEST_F(Subprocess, StdoutAsStdinIsAValueError) {
    auto main = []() -> asyncio::Task<> {
        EXPECT_THROW(co_await asyncio::create_subprocess_exec("true", Options{.stdin = subprocess::STDOUT}),
                     concur::ValueError);
        EXPECT_THROW(co_await asyncio::create_subprocess_exec("true", Options{.stdout = subprocess::STDOUT}),
                     concur::ValueError);
    };
    asyncio::testing::run(main());
}

// ---- the child's standard streams --------------------------------------------

// CPython test_subprocess: stdout to a descriptor of ours (Python's int).
TEST_F(Subprocess, StdoutToACallersDescriptor) {
    Pipe out;
    auto main = [&]() -> asyncio::Task<int> {
        auto p = co_await asyncio::create_subprocess_exec("echo", "hello", "world", Options{.stdout = out.w});
        co_return co_await p.wait();
    };
    EXPECT_EQ(asyncio::testing::run(main()), 0);
    out.close_w();
    EXPECT_EQ(read_all(out.r), "hello world\n");
}

// CPython test_subprocess: test_devnull_input (cat sees EOF at once).
TEST_F(Subprocess, DevnullStdinGivesEof) {
    Pipe out;
    auto main = [&]() -> asyncio::Task<int> {
        auto p =
            co_await asyncio::create_subprocess_exec("cat", Options{.stdin = subprocess::DEVNULL, .stdout = out.w});
        co_return co_await p.wait();
    };
    EXPECT_EQ(asyncio::testing::run(main()), 0);
    out.close_w();
    EXPECT_EQ(read_all(out.r), "");
}

// CPython test_subprocess: test_devnull_output.
TEST_F(Subprocess, DevnullStdoutDiscards) {
    auto main = [&]() -> asyncio::Task<int> {
        auto p = co_await asyncio::create_subprocess_exec(
            "sh", "-c", "echo discarded; echo also >&2",
            Options{.stdout = subprocess::DEVNULL, .stderr = subprocess::DEVNULL});
        co_return co_await p.wait();
    };
    EXPECT_EQ(asyncio::testing::run(main()), 0);
}

// stderr=STDOUT onto a descriptor: both streams land in one pipe, in order.
TEST_F(Subprocess, StderrToStdoutOnADescriptor) {
    Pipe out;
    auto main = [&]() -> asyncio::Task<int> {
        auto p = co_await asyncio::create_subprocess_exec("sh", "-c", "echo out; echo err >&2",
                                                          Options{.stdout = out.w, .stderr = subprocess::STDOUT});
        co_return co_await p.wait();
    };
    EXPECT_EQ(asyncio::testing::run(main()), 0);
    out.close_w();
    EXPECT_EQ(read_all(out.r), "out\nerr\n");
}

// Python's env and cwd: the environment is replaced, and its PATH is where
// a bare program name is found.
TEST_F(Subprocess, EnvAndCwdReachTheChild) {
    Pipe out;
    std::map<std::string, std::string> env;
    env["CONCUR_GREETING"] = "hi there";
    env["PATH"] = "/usr/bin:/bin";
    Options o{.stdout = out.w, .cwd = "/", .env = env};
    auto main = [&]() -> asyncio::Task<int> {
        auto p = co_await asyncio::create_subprocess_exec("sh", "-c",
                                                          "echo \"$CONCUR_GREETING\"; pwd; echo ${HOME-unset}", o);
        co_return co_await p.wait();
    };
    EXPECT_EQ(asyncio::testing::run(main()), 0);
    out.close_w();
    EXPECT_EQ(read_all(out.r), "hi there\n/\nunset\n");
}

// Arguments may come as a vector, spliced in place (Python's *args).
TEST_F(Subprocess, ArgumentVectorsAreSplicedIn) {
    Pipe out;
    std::vector<std::string> args;
    args.push_back("b c");
    args.push_back("d");
    auto main = [&]() -> asyncio::Task<int> {
        auto p = co_await asyncio::create_subprocess_exec("echo", "a", args, "e", Options{.stdout = out.w});
        co_return co_await p.wait();
    };
    EXPECT_EQ(asyncio::testing::run(main()), 0);
    out.close_w();
    EXPECT_EQ(read_all(out.r), "a b c d e\n");
}

// The child sees 0..2 and nothing else of ours (Python's close_fds=True),
// even a descriptor we left inheritable.
TEST_F(Subprocess, ChildInheritsOnlyStdio) {
    Pipe out;
    int leaky = dup(out.w);  // no CLOEXEC
    auto main = [&]() -> asyncio::Task<int> {
        auto p =
            co_await asyncio::create_subprocess_exec("sh", "-c", "ls /proc/self/fd | wc -l", Options{.stdout = out.w});
        co_return co_await p.wait();
    };
    EXPECT_EQ(asyncio::testing::run(main()), 0);
    close(leaky);
    out.close_w();
    // 0, 1, 2 and the descriptor ls opens to read the directory.
    EXPECT_EQ(std::stoi(read_all(out.r)), 4);
}

// ---- the child outliving its Process -----------------------------------------

asyncio::Task<pid_t> drop_running_process(int stdin_fd) {
    pid_t pid;
    {
        auto p =
            co_await asyncio::create_subprocess_exec("cat", Options{.stdin = stdin_fd, .stdout = subprocess::DEVNULL});
        pid = p.pid();
    }  // the Process is gone; cat still runs
    co_return pid;
}

asyncio::Task<> dropped_process_is_reaped_by_the_loop() {
    Pipe in;
    pid_t pid = co_await drop_running_process(in.r);
    in.close_w();  // cat sees EOF and exits
    // The loop reaps it when it exits; poll for that without reaping ourselves.
    for (int i = 0; i < 10000 && !reaped(pid); ++i) co_await asyncio::sleep(1ms);
    EXPECT_TRUE(reaped(pid));
}

// CPython test_subprocess: the transport is dropped while the process runs;
// Python neither kills nor leaks it.
TEST_F(Subprocess, DroppedProcessIsReapedByTheLoop) { asyncio::testing::run(dropped_process_is_reaped_by_the_loop()); }
TEST_F(SubprocessFallback, DroppedProcessIsReapedByTheLoop) {
    asyncio::testing::run(dropped_process_is_reaped_by_the_loop());
}

void child_outlives_loop() {
    Pipe in;
    pid_t pid = asyncio::testing::run(drop_running_process(in.r));
    EXPECT_TRUE(running(pid));  // the loop is gone; the child is not
    in.close_w();
    for (int i = 0; i < 10000 && !reaped(pid); ++i) std::this_thread::sleep_for(1ms);
    EXPECT_TRUE(reaped(pid));
}

// The loop is destroyed before the child exits: a background reaper takes over.
TEST_F(Subprocess, ChildOutlivingTheLoopIsStillReaped) { child_outlives_loop(); }
TEST_F(SubprocessFallback, ChildOutlivingTheLoopIsStillReaped) { child_outlives_loop(); }

// A Process kept past its loop: signals still reach the child (through the
// pidfd, never a possibly reused pid), and wait() on another loop says why
// it cannot work instead of hanging.
TEST_F(Subprocess, ProcessOutlivingItsLoopCanBeSignalledButNotAwaited) {
    auto start = []() -> asyncio::Task<subprocess::Process> {
        co_return co_await asyncio::create_subprocess_exec("sleep", "100");
    };
    subprocess::Process p = asyncio::testing::run(start());
    EXPECT_TRUE(running(p.pid()));
    auto other = [&]() -> asyncio::Task<> {
        EXPECT_THROW(co_await p.wait(), concur::RuntimeError);
        p.kill();
        co_return;
    };
    asyncio::testing::run(other());
    pid_t pid = p.pid();
    for (int i = 0; i < 10000 && !reaped(pid); ++i) std::this_thread::sleep_for(1ms);
    EXPECT_TRUE(reaped(pid));
}

// ---- pipes and communicate -----------------------------------------------------

// CPython test_subprocess: test_stdin_stdout (echo through a PIPE).
TEST_F(Subprocess, EchoIntoAStdoutPipe) {
    auto main = []() -> asyncio::Task<std::string> {
        auto p = co_await asyncio::create_subprocess_exec("/bin/echo", "hello", Options{.stdout = subprocess::PIPE});
        EXPECT_EQ(p.stdin(), nullptr);  // Python's None
        EXPECT_EQ(p.stderr(), nullptr);
        std::string out = co_await p.stdout()->read();
        EXPECT_EQ(co_await p.wait(), 0);
        co_return out;
    };
    EXPECT_EQ(asyncio::testing::run(main()), "hello\n");
}

// CPython test_subprocess: test_stdin_stdout (a line through cat and back).
TEST_F(Subprocess, CatRoundTripsStdinToStdout) {
    auto main = []() -> asyncio::Task<> {
        auto p = co_await asyncio::create_subprocess_exec(
            "cat", Options{.stdin = subprocess::PIPE, .stdout = subprocess::PIPE});
        for (std::string line : {"first\n", "second\n"}) {
            p.stdin()->write(line);
            co_await p.stdin()->drain();
            EXPECT_EQ(co_await p.stdout()->readline(), line);  // one at a time: cat answers each
        }
        p.stdin()->close();
        EXPECT_EQ(co_await p.stdout()->read(), "");  // EOF once stdin closed
        EXPECT_EQ(co_await p.wait(), 0);
    };
    asyncio::testing::run(main());
}

// CPython test_subprocess: test_communicate.
TEST_F(Subprocess, CommunicateFeedsStdinAndCollectsBothOutputs) {
    auto main = []() -> asyncio::Task<> {
        Options o{.stdin = subprocess::PIPE, .stdout = subprocess::PIPE, .stderr = subprocess::PIPE};
        auto p = co_await asyncio::create_subprocess_exec("sh", "-c", "cat; echo oops >&2; exit 5", o);
        auto r = co_await p.communicate("some input");
        EXPECT_EQ(r.first, "some input");
        EXPECT_EQ(r.second, "oops\n");
        EXPECT_EQ(p.returncode(), 5);  // communicate() waited for the exit
    };
    asyncio::testing::run(main());
}

// CPython test_subprocess: test_communicate_ignore_broken_pipe (the child
// exits without reading its stdin).
TEST_F(Subprocess, CommunicateIgnoresAChildThatDoesNotRead) {
    auto main = []() -> asyncio::Task<> {
        Options o{.stdin = subprocess::PIPE, .stdout = subprocess::PIPE};
        auto p = co_await asyncio::create_subprocess_exec("sh", "-c", "exec 0<&-; echo done", o);
        std::string big(4 << 20, 'x');  // more than any pipe buffer
        auto r = co_await p.communicate(big);
        EXPECT_EQ(r.first, "done\n");
        EXPECT_EQ(r.second, "");  // not PIPE
        EXPECT_EQ(p.returncode(), 0);
    };
    asyncio::testing::run(main());
}

asyncio::Task<> communicate_large_both_ways() {
    // The child echoes stdin to stdout and writes as much to stderr as it
    // reads, so every pipe fills up many times over: reading stdout only,
    // or writing all input before reading, would deadlock.
    Options o{.stdin = subprocess::PIPE, .stdout = subprocess::PIPE, .stderr = subprocess::PIPE};
    auto p = co_await asyncio::create_subprocess_exec("sh", "-c", "tee /dev/stderr", o);
    std::string input;
    input.reserve(3 << 20);
    for (int i = 0; input.size() < (3u << 20); ++i) input += "line " + std::to_string(i) + "\n";
    auto r = co_await p.communicate(input);
    EXPECT_EQ(r.first.size(), input.size());
    EXPECT_TRUE(r.first == input);
    EXPECT_TRUE(r.second == input);
    EXPECT_EQ(p.returncode(), 0);
}

// CPython test_subprocess: test_communicate with large data (no deadlock
// with megabytes on all three pipes).
TEST_F(Subprocess, CommunicateMovesMegabytesOnAllPipesWithoutDeadlock) {
    asyncio::testing::run(communicate_large_both_ways());
}
TEST_F(SubprocessFallback, CommunicateMovesMegabytesOnAllPipesWithoutDeadlock) {
    asyncio::testing::run(communicate_large_both_ways());
}

// CPython test_subprocess: stderr=STDOUT merges both into the stdout pipe.
TEST_F(Subprocess, StderrToStdoutPipe) {
    auto main = []() -> asyncio::Task<> {
        Options o{.stdout = subprocess::PIPE, .stderr = subprocess::STDOUT};
        auto p = co_await asyncio::create_subprocess_exec("sh", "-c", "echo out; echo err >&2", o);
        EXPECT_EQ(p.stderr(), nullptr);
        auto r = co_await p.communicate();
        EXPECT_EQ(r.first, "out\nerr\n");
        EXPECT_EQ(r.second, "");
    };
    asyncio::testing::run(main());
}

// CPython test_subprocess: test_read_stdout_after_process_exit: what the
// child wrote stays readable after it was reaped.
TEST_F(Subprocess, OutputOutlivesTheExit) {
    auto main = []() -> asyncio::Task<> {
        auto p =
            co_await asyncio::create_subprocess_exec("sh", "-c", "echo a; echo b", Options{.stdout = subprocess::PIPE});
        EXPECT_EQ(co_await p.wait(), 0);  // small output: the pipe holds it
        EXPECT_EQ(co_await p.stdout()->readline(), "a\n");
        EXPECT_EQ(co_await p.stdout()->read(), "b\n");
        EXPECT_TRUE(p.stdout()->at_eof());
    };
    asyncio::testing::run(main());
}

// Cancelling communicate() leaves the child running and its pipes usable.
TEST_F(Subprocess, CancellingCommunicateLeavesTheChildRunning) {
    auto main = []() -> asyncio::Task<> {
        Options o{.stdin = subprocess::PIPE, .stdout = subprocess::PIPE};
        auto p = co_await asyncio::create_subprocess_exec("sh", "-c", "cat; sleep 100", o);
        auto t = asyncio::create_task(p.communicate("abc"));
        for (int i = 0; i < 3; ++i) co_await asyncio::sleep(0s);
        t.cancel();
        EXPECT_THROW(co_await t, concur::CancelledError);
        EXPECT_TRUE(running(p.pid()));
        p.kill();
        EXPECT_EQ(co_await p.wait(), -SIGKILL);
    };
    asyncio::testing::run(main());
}

}  // namespace
