// examples/site_server as users and the benchmark run it: it prints one URL
// per page, serves them, and exits 0 on SIGINT or SIGTERM. Found beside this
// test's build directory (BUILD/examples/site_server); skipped where the
// examples are not built.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <concur/http/server.hpp>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>

#include "server_support/raw_client.hpp"

extern char** environ;

namespace {

using namespace std::chrono_literals;

std::string example_path() {
    auto exe = std::filesystem::read_symlink("/proc/self/exe");
    for (auto dir = exe.parent_path(); !dir.empty() && dir != dir.root_path(); dir = dir.parent_path()) {
        auto p = dir / "examples" / "site_server";
        if (std::filesystem::exists(p)) return p.string();
    }
    return {};
}

// Waits for the child to exit (up to 20 s, then kills it); its exit status.
int wait_exit(pid_t pid) {
    int status = 0;
    for (int i = 0; i < 2000; ++i) {
        if (waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        std::this_thread::sleep_for(10ms);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

class SiteServerExample : public ::testing::TestWithParam<int> {};

TEST_P(SiteServerExample, PrintsUrlsServesAndStopsOnSignal) {
    std::string exe = example_path();
    if (exe.empty()) GTEST_SKIP() << "examples/site_server is not built";
    int out[2];
    ASSERT_EQ(pipe(out), 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    const char* argv[] = {exe.c_str(), "--port", "0", "--latency", "5", "--page", "/1k=1024", nullptr};
    pid_t pid;
    ASSERT_EQ(posix_spawn(&pid, exe.c_str(), &fa, nullptr, const_cast<char**>(argv), environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]);
    FILE* f = fdopen(out[0], "r");
    char line[256];
    std::string first;
    int lines = 0;
    while (lines < 5 && fgets(line, sizeof line, f)) {
        if (lines++ == 0) first = line;
    }
    EXPECT_EQ(lines, 5);  // the four seed sites and /1k
    auto colon = first.find(':', 7);
    ASSERT_NE(colon, std::string::npos) << first;
    EXPECT_EQ(first.substr(0, colon), "http://127.0.0.1");
    auto port = static_cast<std::uint16_t>(std::stoi(first.substr(colon + 1)));
    {
        concur::http::testing::RawClient c(port);
        ASSERT_TRUE(c.get("/1k"));
        auto r = c.read_response();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 200);
        EXPECT_EQ(r->body, concur::http::page_body("/1k", 1024));
    }
    kill(pid, GetParam());
    EXPECT_EQ(wait_exit(pid), 0);
    fclose(f);
}

INSTANTIATE_TEST_SUITE_P(Signals, SiteServerExample, ::testing::Values(SIGINT, SIGTERM),
                         [](const ::testing::TestParamInfo<int>& info) {
                             return std::string(info.param == SIGINT ? "SIGINT" : "SIGTERM");
                         });

}  // namespace
