// The seed ports on threads (seeds 000-004: counting, fib, the queries, the
// race, the downloads on http::Session), each run as a child process with
// small arguments: the exit status and the values it prints are checked,
// never how long it took. The example paths come from CMake
// (tests/examples/CMakeLists.txt) as EXAMPLE_<STEM> macros.
#include <gtest/gtest.h>

#include "support.hpp"

using namespace examples_test;

TEST(Helpers, RecogniseWhatTheExamplesPrint) {
    for (auto good : {"0.043357638", "2.0", "1e-05", "1.5e-05", "12.25"})
        EXPECT_TRUE(is_python_float(good)) << good;
    for (auto bad : {"", "2", ".5", "1.", "1e5", "1.0e", "x1.0", "1.0 "})
        EXPECT_FALSE(is_python_float(bad)) << bad;
    EXPECT_TRUE(is_timing_line("Threads took 0.5 seconds.", "Threads took ", " seconds."));
    EXPECT_FALSE(is_timing_line("Threads took  seconds.", "Threads took ", " seconds."));
    EXPECT_EQ(expected_fib(1), 0);
    EXPECT_EQ(expected_fib(2), 1);
    EXPECT_EQ(expected_fib(40), 63245986);  // the seed's "fib(40)"
}

TEST(Seed000, TwentyThreadsCountAndReportTheTime) {
    Outcome o = run_example(EXAMPLE_SEED000_THREADING_COUNT, {});
    ASSERT_TRUE(o.exited && o.exit_code == 0) << describe(o);
    auto out = lines(o.out);
    ASSERT_EQ(out.size(), 1u) << describe(o);
    EXPECT_TRUE(is_timing_line(out[0], "Total cost time is:  ", "")) << out[0];
}

TEST(Seed000, TwentyAsyncioTasksCountAndReportTheTime) {
    Outcome o = run_example(EXAMPLE_SEED000_ASYNCIO_COUNT, {});
    ASSERT_TRUE(o.exited && o.exit_code == 0) << describe(o);
    auto out = lines(o.out);
    ASSERT_EQ(out.size(), 1u) << describe(o);
    EXPECT_TRUE(is_timing_line(out[0], "Total cost time is:  ", "")) << out[0];
}

// Each method prints its header, the ten query numbers (any order for the
// thread pool, 0..9 in order for the sequential and asyncio runs), and a
// time line.
TEST(Seed001, EveryMethodRunsTheTenQueries) {
    Outcome o = run_example(EXAMPLE_SEED001_QUERY, {"all", "0.01"});
    ASSERT_TRUE(o.exited && o.exit_code == 0) << describe(o);
    auto out = lines(o.out);
    std::vector<std::string> headers;
    for (std::size_t i = 0; i < out.size();) {
        ASSERT_EQ(out[i].rfind("== ", 0), 0u) << describe(o);
        std::string method = out[i].substr(3);
        headers.push_back(method);
        ++i;
        if (i < out.size() && out[i].rfind("skipped: ", 0) == 0) {  // io_uring forbidden here
            ++i;
            continue;
        }
        ASSERT_LE(i + 11, out.size()) << describe(o);
        std::vector<int> nums;
        for (int k = 0; k < 10; ++k, ++i) {
            ASSERT_TRUE(is_digits(out[i])) << out[i];
            nums.push_back(std::stoi(out[i]));
        }
        if (method != "threads") {
            EXPECT_EQ(nums, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})) << method;
        } else {
            std::sort(nums.begin(), nums.end());
            EXPECT_EQ(nums, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
        }
        EXPECT_TRUE(is_timing_line(out[i], "时间差:", "")) << out[i];
        ++i;
    }
    EXPECT_EQ(headers, (std::vector<std::string>{"sequential", "threads", "asyncio", "asyncio-io_uring",
                                                 "asyncio-epoll"}));
}

TEST(Seed001, BadArgumentsPrintUsage) {
    Outcome o = run_example(EXAMPLE_SEED001_QUERY, {"fibers"});
    EXPECT_TRUE(o.exited && o.exit_code == 2) << describe(o);
    EXPECT_NE(o.err.find("usage:"), std::string::npos) << describe(o);
    o = run_example(EXAMPLE_SEED001_QUERY, {"asyncio", "-1"});
    EXPECT_TRUE(o.exited && o.exit_code == 2) << describe(o);
}

TEST(Seed002, FibWithoutThreadsPrintsBothValuesInOrder) {
    Outcome o = run_example(EXAMPLE_SEED002_FIB, {"25", "26"});
    ASSERT_TRUE(o.exited && o.exit_code == 0) << describe(o);
    auto out = lines(o.out);
    ASSERT_EQ(out.size(), 3u) << describe(o);
    EXPECT_EQ(expected_fib(25), 46368);  // the seed's own numbering
    EXPECT_EQ(out[0], "fib(25) is " + std::to_string(expected_fib(25)));
    EXPECT_EQ(out[1], "fib(26) is " + std::to_string(expected_fib(26)));
    EXPECT_TRUE(is_timing_line(out[2], "Completed in ", " seconds.")) << out[2];
}

TEST(Seed002, FibWithThreadsPrintsBothValues) {
    Outcome o = run_example(EXAMPLE_SEED002_FIB_THREADS, {"27", "24"});
    ASSERT_TRUE(o.exited && o.exit_code == 0) << describe(o);
    auto out = lines(o.out);
    ASSERT_EQ(out.size(), 3u) << describe(o);
    std::vector<std::string> values(out.begin(), out.begin() + 2);  // either order
    std::sort(values.begin(), values.end());
    EXPECT_EQ(values, (std::vector<std::string>{"fib(24) is " + std::to_string(expected_fib(24)),
                                                "fib(27) is " + std::to_string(expected_fib(27))}));
    EXPECT_TRUE(is_timing_line(out[2], "Threads took ", " seconds.")) << out[2];
}

TEST(Seed002, FibRejectsBadArguments) {
    for (auto* example : {EXAMPLE_SEED002_FIB, EXAMPLE_SEED002_FIB_THREADS}) {
        for (auto args : {std::vector<std::string>{"0", "1"}, {"x", "3"}, {"5"}}) {
            Outcome o = run_example(example, args);
            EXPECT_TRUE(o.exited && o.exit_code == 2) << describe(o);
            EXPECT_EQ(o.out, "");
            EXPECT_FALSE(o.err.empty());
        }
    }
}

TEST(Seed003, ThreadWithTargetSaysHello) {
    Outcome o = run_example(EXAMPLE_SEED003_THREAD, {"0"});
    ASSERT_TRUE(o.exited && o.exit_code == 0) << describe(o);
    auto out = lines(o.out);
    std::sort(out.begin(), out.end());  // which line comes first is up to the scheduler
    EXPECT_EQ(out, (std::vector<std::string>{"egon say hello", "主线程"})) << describe(o);
}

TEST(Seed003, ThreadSubclassPrintsItsOwnName) {
    Outcome o = run_example(EXAMPLE_SEED003_THREAD_SUBCLASS, {"0"});
    ASSERT_TRUE(o.exited && o.exit_code == 0) << describe(o);
    auto out = lines(o.out);
    std::sort(out.begin(), out.end());
    EXPECT_EQ(out, (std::vector<std::string>{"egon say hello", "主线程"})) << describe(o);

    o = run_example(EXAMPLE_SEED003_THREAD_SUBCLASS, {"0.01", "Thread-Alex"});
    ASSERT_TRUE(o.exited && o.exit_code == 0) << describe(o);
    out = lines(o.out);
    std::sort(out.begin(), out.end());
    EXPECT_EQ(out, (std::vector<std::string>{"Thread-Alex say hello", "主线程"})) << describe(o);
}

TEST(Seed003, AsCompletedPrintsEveryResult) {
    Outcome o = run_example(EXAMPLE_SEED003_AS_COMPLETED, {});
    ASSERT_TRUE(o.exited && o.exit_code == 0) << describe(o);
    auto out = lines(o.out);
    ASSERT_EQ(out.size(), 11u) << describe(o);
    // count(x) loops i over range(10_000_000), adds 1 to the last i: 10_000_000 * x.
    std::vector<long> got, want;
    for (int i = 0; i < 10; ++i) {
        ASSERT_TRUE(is_digits(out[static_cast<size_t>(i)])) << out[static_cast<size_t>(i)];
        got.push_back(std::stol(out[static_cast<size_t>(i)]));
        want.push_back(10'000'000L * (i + 1));
    }
    std::sort(got.begin(), got.end());  // completion order varies
    EXPECT_EQ(got, want);
    EXPECT_TRUE(is_timing_line(out[10], "Thread pool execution in ", " seconds")) << out[10];
}

TEST(Seed004, RaceLosesUpdatesOnlyWithoutTheLock) {
    Outcome o = run_example(EXAMPLE_SEED004_RACE, {});
    ASSERT_TRUE(o.exited && o.exit_code == 0) << describe(o);  // a TSan report would exit 66
    auto out = lines(o.out);
    ASSERT_EQ(out.size(), 2u) << describe(o);
    long unprotected = -1, lost = -1, locked = -1, locked_lost = -1;
    ASSERT_EQ(std::sscanf(out[0].c_str(),
                          "without a lock: counter = %ld (expected 500000, %ld updates lost)",
                          &unprotected, &lost), 2)
        << out[0];
    EXPECT_LE(unprotected, 500000);  // losses are likely, but not certain
    EXPECT_EQ(lost, 500000 - unprotected);
    ASSERT_EQ(std::sscanf(out[1].c_str(),
                          "with a lock:    counter = %ld (expected 500000, %ld updates lost)",
                          &locked, &locked_lost), 2)
        << out[1];
    EXPECT_EQ(locked, 500000);
    EXPECT_EQ(locked_lost, 0);
}

TEST(Seed002Download, DownloadsEveryPageOnKeepAliveSessions) {
    TestHttpServer server;
    std::vector<std::string> urls = server.pages(20);
    Outcome o = run_example(EXAMPLE_SEED002_DOWNLOAD_THREADS, urls);
    ASSERT_TRUE(o.exited && o.exit_code == 0) << describe(o);
    auto out = lines(o.out);
    ASSERT_EQ(out.size(), 21u) << describe(o);
    EXPECT_TRUE(is_timing_line(out.back(), "Downloaded 20 in ", " seconds")) << out.back();
    out.pop_back();
    std::vector<std::string> want;
    for (const auto& url : urls)
        want.push_back("Read " + std::to_string(TestHttpServer::kBodySize) + " from " + url);
    std::sort(out.begin(), out.end());  // the pool finishes them in any order
    std::sort(want.begin(), want.end());
    EXPECT_EQ(out, want);
    EXPECT_EQ(server.requests(), 20);
    // One session, hence one connection, per worker thread: at most 5.
    EXPECT_GE(server.connections(), 1);
    EXPECT_LE(server.connections(), 5);
}

TEST(Seed002Download, ReconnectsWhenTheServerDroppedAKeepAliveConnection) {
    TestHttpServer server;
    std::vector<std::string> urls;
    for (int i = 0; i < 12; ++i) urls.push_back(server.url("/once/" + std::to_string(i)));
    Outcome o = run_example(EXAMPLE_SEED002_DOWNLOAD_THREADS, urls);
    ASSERT_TRUE(o.exited && o.exit_code == 0) << describe(o);
    auto out = lines(o.out);
    ASSERT_EQ(out.size(), 13u) << describe(o);
    EXPECT_TRUE(is_timing_line(out.back(), "Downloaded 12 in ", " seconds")) << out.back();
    EXPECT_EQ(server.requests(), 12);
    EXPECT_EQ(server.connections(), 12);  // each request on a fresh connection
}

TEST(Seed002Download, RefusedConnectionIsAClearErrorNotACrash) {
    RefusingPort refusing;
    std::string url = "http://127.0.0.1:" + std::to_string(refusing.port()) + "/";
    for (const char* example : {EXAMPLE_SEED002_DOWNLOAD_THREADS, EXAMPLE_SEED002_DOWNLOAD_SEQUENTIAL}) {
        Outcome o = run_example(example, {url, url, url});
        ASSERT_TRUE(o.exited) << describe(o);
        EXPECT_EQ(o.exit_code, 1) << describe(o);
        EXPECT_NE(o.err.find(url), std::string::npos) << describe(o);
        EXPECT_NE(o.err.find("refused"), std::string::npos) << describe(o);
        EXPECT_EQ(o.out.find("Downloaded"), std::string::npos) << describe(o);
    }
}

TEST(Seed002Download, MalformedUrlIsAClearError) {
    for (std::string bad : {"127.0.0.1/page", "http://", "http://127.0.0.1:99999/", "gopher://127.0.0.1/"}) {
        Outcome o = run_example(EXAMPLE_SEED002_DOWNLOAD_THREADS, {bad});
        ASSERT_TRUE(o.exited) << describe(o);
        EXPECT_EQ(o.exit_code, 1) << describe(o);
        EXPECT_NE(o.err.find(bad), std::string::npos) << describe(o);
    }
}

TEST(Seed002Download, SequentialReadsEveryPageOnOneConnection) {
    TestHttpServer server;
    std::vector<std::string> urls = server.pages(20);
    Outcome o = run_example(EXAMPLE_SEED002_DOWNLOAD_SEQUENTIAL, urls);
    ASSERT_TRUE(o.exited && o.exit_code == 0) << describe(o);
    auto out = lines(o.out);
    ASSERT_EQ(out.size(), 21u) << describe(o);
    EXPECT_TRUE(is_timing_line(out.back(), "Downloaded 20 in ", " seconds")) << out.back();
    for (std::size_t i = 0; i < urls.size(); ++i)  // in order: one after the other
        EXPECT_EQ(out[i], "Read " + std::to_string(TestHttpServer::kBodySize) + " from " + urls[i]);
    EXPECT_EQ(server.requests(), 20);
    EXPECT_EQ(server.connections(), 1);  // one Session: one keep-alive connection
}

TEST(Seed002Download, NoUrlDownloadsTheSeedSitesFromTheLocalServer) {
    expect_the_seed_sites(run_example(EXAMPLE_SEED002_DOWNLOAD_THREADS, {}), "Downloaded 160 in ", false);
}
