// A short run of every experiment at --tiny sizes, every method, with the
// Python programs when python3 is there: each row must check out against
// the sequential result, and each experiment must say something.
//
// Its own main(): the process methods use concur's default start method,
// which re-executes this binary, so freeze_support() must come first.
#include <gtest/gtest.h>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "concur/multiprocessing/context.hpp"
#include "cpu_experiment.hpp"
#include "experiments.hpp"
#include "fib_experiment.hpp"
#include "io_clients.hpp"
#include "io_experiment.hpp"
#include "python_runner.hpp"
#include "race_experiment.hpp"
#include "scale_experiment.hpp"
#include "sleep_experiment.hpp"

extern char** environ;

using namespace concur_bench;

namespace {

Settings tiny() {
    Settings s;
    s.tiny = true;
    s.repeat = 2;
    s.workers = 2;
    s.quiet = true;
    return s;
}

void expect_checked(const Result& r, std::size_t min_rows) {
    EXPECT_GE(r.rows.size(), min_rows) << r.name;
    for (const Row& row : r.rows) {
        EXPECT_EQ(row.wall_s.size(), 2u) << r.name << " " << row.method;
        EXPECT_NE(row.check, Check::wrong) << r.name << " " << row.method;
        EXPECT_NE(row.check, Check::not_checked) << r.name << " " << row.method;
    }
    for (const PythonRow& p : r.python) EXPECT_NE(p.check, Check::wrong) << r.name << " Python " << p.method;
    EXPECT_TRUE(r.all_ok()) << r.name;
    EXPECT_FALSE(r.verdict.empty()) << r.name;
    EXPECT_FALSE(r.title.empty()) << r.name;
}

bool have_python() {
    Settings s;
    return !find_python(s).exe.empty();
}

// tests/bench/site_server.py, started for one test: a real HTTP server on
// 127.0.0.1 (port 0) for the io experiment's Python rows. It exits when its
// stdin closes; the destructor also terminates and reaps it.
class SiteServer {
public:
    explicit SiteServer(const std::string& python) {
        std::string script = (std::filesystem::path(__FILE__).parent_path() / "site_server.py").string();
        int in[2], out[2];
        if (::pipe(in) != 0 || ::pipe(out) != 0) return;
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, in[0], 0);
        posix_spawn_file_actions_adddup2(&fa, out[1], 1);
        posix_spawn_file_actions_addclose(&fa, in[1]);
        posix_spawn_file_actions_addclose(&fa, out[0]);
        std::vector<std::string> argv{python, "-u", script};
        std::vector<char*> args;
        for (auto& a : argv) args.push_back(a.data());
        args.push_back(nullptr);
        if (posix_spawnp(&pid_, args[0], &fa, nullptr, args.data(), environ) != 0) pid_ = -1;
        posix_spawn_file_actions_destroy(&fa);
        ::close(in[0]);
        ::close(out[1]);
        stdin_ = in[1];
        std::string line;
        char c;
        while (::read(out[0], &c, 1) == 1 && c != '\n') line += c;
        ::close(out[0]);
        if (line.rfind("PORT ", 0) == 0) port_ = std::stoi(line.substr(5));
    }
    ~SiteServer() {
        if (stdin_ >= 0) ::close(stdin_);
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            ::waitpid(pid_, nullptr, 0);
        }
    }
    int port() const { return port_; }

private:
    pid_t pid_ = -1;
    int stdin_ = -1;
    int port_ = 0;
};

}  // namespace

TEST(BenchExperiments, CpuRunsEveryMethodAndTheyAgree) {
    Result r = run_cpu(tiny());
    expect_checked(r, kCpuMethods.size());
    if (have_python()) {
        EXPECT_EQ(r.python.size(), kCpuMethods.size());
        for (const Row& row : r.rows) EXPECT_TRUE(r.vs_python(row)) << row.method;
    } else {
        ASSERT_FALSE(r.skipped.empty());
    }
}

TEST(BenchExperiments, FibRunsSequentialThreadsAndProcesses) {
    Result r = run_fib(tiny());
    expect_checked(r, 3);
    EXPECT_EQ(r.rows[0].checksum, 4181u + 6765u);  // fib(20) + fib(21)
}

TEST(BenchExperiments, SleepRunsEveryRowThatCanRunHere) {
    Result r = run_sleep(tiny());
    expect_checked(r, 4);  // io_uring may be refused by a container: then it says so
    EXPECT_EQ(r.rows[0].checksum, 45u);
    if (!r.row("asyncio-io_uring")) {
        EXPECT_FALSE(r.skipped.empty());
    }
}

TEST(BenchExperiments, RaceCountsExactlyWithALockAndAnAtomic) {
    Result r = run_race(tiny());
    expect_checked(r, 4);
    EXPECT_EQ(r.rows[0].checksum, 200u * 100u);
    EXPECT_EQ(r.row("lock")->check, Check::ok);
    EXPECT_EQ(r.row("atomic")->check, Check::ok);
    Check u = r.row("unprotected")->check;
    EXPECT_TRUE(u == Check::ok || u == Check::lost_updates);
}

TEST(BenchExperiments, ScaleGivesACurveFromOneToTwiceTheWorkers) {
    Result r = run_scale(tiny());
    expect_checked(r, 1 + 2 * 4);
    for (unsigned w = 1; w <= 4; ++w) {
        EXPECT_TRUE(r.row("threads", w)) << w;
        EXPECT_TRUE(r.row("processes", w)) << w;
    }
}

TEST(BenchExperiments, MethodsSelectRows) {
    Settings s = tiny();
    s.methods = {"threads"};
    s.python = PythonMode::off;
    Result r = run_cpu(s);
    ASSERT_EQ(r.rows.size(), 2u);  // sequential always: it is the baseline
    EXPECT_EQ(r.rows[0].method, "sequential");
    EXPECT_EQ(r.rows[1].method, "threads");
    EXPECT_FALSE(r.skipped.empty());  // says --no-python
}

TEST(BenchExperiments, IoWithoutClientsOrUrlsSaysWhyNothingRan) {
    Settings s = tiny();
    s.python = PythonMode::off;
    Result r = run_io(s);
    EXPECT_TRUE(r.all_ok());
    EXPECT_FALSE(r.verdict.empty());
    if (r.rows.empty()) {
        EXPECT_FALSE(r.skipped.empty());
    }
}

TEST(BenchExperiments, IoPythonRowsDownloadFromTheGivenUrls) {
    if (!have_python()) GTEST_SKIP() << "no python3: the io experiment's Python rows cannot run";
    Settings s = tiny();
    SiteServer server(find_python(s).exe);
    ASSERT_GT(server.port(), 0) << "site_server.py did not start";
    std::string base = "http://127.0.0.1:" + std::to_string(server.port());
    s.urls = {base + "/a", base + "/b"};
    Result r = run_io(s);
    for (const std::string& why : r.skipped) std::printf("skipped: %s\n", why.c_str());
    if (!r.python_row("sequential")) {
        bool no_requests = false;
        for (const std::string& why : r.skipped) no_requests = no_requests || why.find("requests") != std::string::npos;
        if (no_requests) GTEST_SKIP() << "python3 has no requests";
        FAIL() << "Python's sequential io row did not run";
    }
    // 2 sites x 2 downloads x 1000 bytes, whichever methods could run.
    for (const PythonRow& p : r.python) {
        EXPECT_EQ(p.checksum, 4000u) << p.method;
        EXPECT_EQ(p.check, Check::ok) << p.method;
    }
    EXPECT_TRUE(r.python_row("threads"));
    EXPECT_TRUE(r.python_row("processes"));
    EXPECT_NE(r.verdict.find("downloads"), std::string::npos) << r.verdict;
}

TEST(BenchExperiments, IoCppRowsRunWhenTheClientsAreBuilt) {
    if (!io::clients_available()) GTEST_SKIP() << io::unavailable_reason() << " (CMake: CONCUR_BENCH_HTTP=OFF)";
    Settings s = tiny();
    s.python = PythonMode::off;
    s.latency = std::chrono::milliseconds(5);
    Result r = run_io(s);
    expect_checked(r, 4);
    // Two downloads each of the local server's /baidu and /weibo pages.
    auto local = io::start_local_sites(s.latency);
    uint64_t expected = 0;
    for (const std::string& url : local->urls()) expected += 2 * io::download_sequential({url});
    EXPECT_EQ(r.rows[0].checksum, expected);
    EXPECT_GT(expected, 0u);
}

TEST(BenchExperiments, IoDownloadListRepeatsTheSitesAsTheSeed) {
    auto d = io_downloads({"a", "b"}, 80);
    ASSERT_EQ(d.size(), 160u);
    EXPECT_EQ(d[0], "a");
    EXPECT_EQ(d[1], "b");
    EXPECT_EQ(d[159], "b");
}

TEST(BenchExperiments, PythonRowsRunWhenPythonIsThereElseTheySaySo) {
    Settings s = tiny();
    Result r = run_race(s);
    if (have_python()) {
        EXPECT_TRUE(r.python_row("sequential"));
        EXPECT_TRUE(r.python_row("lock"));
        EXPECT_EQ(r.python_row("lock")->check, Check::ok);
    } else {
        bool said = false;
        for (const std::string& why : r.skipped) said = said || why.find("Python") != std::string::npos;
        EXPECT_TRUE(said);
    }
    // A missing interpreter is a reason, not a failure.
    s.python_exe = "/nonexistent/python3";
    Result none = run_race(s);
    EXPECT_TRUE(none.python.empty());
    ASSERT_FALSE(none.skipped.empty());
    EXPECT_NE(none.skipped.front().find("no Python interpreter"), std::string::npos) << none.skipped.front();
}

int main(int argc, char** argv) {
    concur::multiprocessing::freeze_support();
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
