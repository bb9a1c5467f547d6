// The multiprocessing examples. They start their children with the default
// start method, "forkserver", so their worker names ("ForkServerProcess-1",
// "ForkServerPoolWorker-2") are checked as such.
#include <gtest/gtest.h>

#include "support.hpp"

using namespace examples_test;

namespace {

// Python's os.cpu_count() as concur::multiprocessing::cpu_count() sees it
// (the affinity mask): how many workers a Pool() starts by default.
int affinity_cpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
    return CPU_COUNT(&set);
}

// Whether `s` is `prefix` followed by a number in 1..max ("ForkServerProcess-2").
bool is_numbered(std::string_view s, std::string_view prefix, int max) {
    if (s.substr(0, prefix.size()) != prefix || !is_digits(s.substr(prefix.size()))) return false;
    int n = std::stoi(std::string(s.substr(prefix.size())));
    return n >= 1 && n <= max;
}

// sum(i * i for i in range(n)), the plain way, as Python's unbounded int
// would print it.
__extension__ typedef unsigned __int128 uint128;
std::string sequential_square_sum(long n) {
    uint128 sum = 0;
    for (long i = 0; i < n; ++i) sum += static_cast<uint128>(i) * static_cast<uint128>(i);
    std::string digits;
    do {
        digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(sum % 10)));
        sum /= 10;
    } while (sum != 0);
    return digits;
}

TEST(Seed000Multiprocessing, TwentyProcessesCountAndReportTheTime) {
    Outcome o = run_example(EXAMPLE_SEED000_MULTIPROCESSING_COUNT, {"20", "100000"});
    // Exit 0 also says every child exited 0 (the example checks their exit codes).
    ASSERT_TRUE(o.exited && o.exit_code == 0) << describe(o);
    auto out = lines(o.out);
    ASSERT_EQ(out.size(), 1u) << describe(o);
    EXPECT_TRUE(is_timing_line(out[0], "Total cost time is:  ", "")) << out[0];
    EXPECT_EQ(o.err, "") << describe(o);
}

TEST(Seed000Multiprocessing, BadArgumentsPrintUsage) {
    for (auto args : {std::vector<std::string>{"x"}, {"-1"}, {"3", "y"}, {"1", "2", "3"}}) {
        Outcome o = run_example(EXAMPLE_SEED000_MULTIPROCESSING_COUNT, args);
        EXPECT_TRUE(o.exited && o.exit_code == 2) << describe(o);
        EXPECT_NE(o.err.find("usage:"), std::string::npos) << describe(o);
        EXPECT_EQ(o.out, "");
    }
}

// submit(action, 3): one worker name, then 103; map(action, [1, 3, 5]): three
// worker names (each printed when its call starts, so in any order with the
// results) and 101, 103, 105 in input order.
TEST(Seed001ProcessPool, ActionPrintsItsWorkerAndReturnsNumPlus100) {
    Outcome o = run_example(EXAMPLE_SEED001_PROCESS_POOL_ACTION, {"0.01"});
    ASSERT_TRUE(o.exited && o.exit_code == 0) << describe(o);
    auto out = lines(o.out);
    ASSERT_EQ(out.size(), 9u) << describe(o);
    EXPECT_TRUE(is_numbered(out[0], "ForkServerProcess-", 3)) << out[0];
    EXPECT_EQ(out[1], "单个任务返回:103");
    EXPECT_EQ(out[2], std::string(30, '-'));
    std::vector<std::string> results;
    int names = 0;
    for (std::size_t i = 3; i < out.size(); ++i) {
        if (out[i].rfind("多个任务返回:", 0) == 0) {
            results.push_back(out[i]);
        } else {
            EXPECT_TRUE(is_numbered(out[i], "ForkServerProcess-", 3)) << out[i];
            ++names;
        }
    }
    EXPECT_EQ(names, 3) << describe(o);
    EXPECT_EQ(results, (std::vector<std::string>{"多个任务返回:101", "多个任务返回:103", "多个任务返回:105"}));
    EXPECT_EQ(o.err, "") << describe(o);

    o = run_example(EXAMPLE_SEED001_PROCESS_POOL_ACTION, {"-1"});
    EXPECT_TRUE(o.exited && o.exit_code == 2) << describe(o);
    EXPECT_NE(o.err.find("usage:"), std::string::npos) << describe(o);
}

TEST(Seed001Fragments, EveryFragmentRunsThenTheQueriesOnAProcessPool) {
    Outcome o = run_example(EXAMPLE_SEED001_MULTIPROCESSING_FRAGMENTS, {"0.01"});
    ASSERT_TRUE(o.exited && o.exit_code == 0) << describe(o);
    auto out = lines(o.out);
    const std::vector<std::string> fragments = {
        "== 多进程引用模块",
        "Process-1 exitcode: 0",  // Python's name for multiprocessing.Process's first child
        "== 数据通信: Queue",
        "item: 1",
        "== 数据通信: Lock",
        "locked inside `with lock`: True",
        "locked after it: False",
        "== 池化技术",
        "results: [1, 2, 3]",
        "result: 1",
        "== 多进程",
    };
    ASSERT_EQ(out.size(), fragments.size() + 11) << describe(o);
    EXPECT_EQ(std::vector<std::string>(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(fragments.size())),
              fragments);
    std::vector<int> nums;  // the workers print them as they run: any order
    for (std::size_t i = fragments.size(); i + 1 < out.size(); ++i) {
        ASSERT_TRUE(is_digits(out[i])) << out[i];
        nums.push_back(std::stoi(out[i]));
    }
    std::sort(nums.begin(), nums.end());
    EXPECT_EQ(nums, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
    EXPECT_TRUE(is_timing_line(out.back(), "时间差:", "")) << out.back();
    EXPECT_EQ(o.err, "") << describe(o);
}

TEST(Seed002DownloadPool, EveryPageIsReadByAPoolWorkerWithItsOwnSession) {
    TestHttpServer server;
    std::vector<std::string> urls = server.pages(20);
    Outcome o = run_example(EXAMPLE_SEED002_DOWNLOAD_POOL, urls);
    ASSERT_TRUE(o.exited && o.exit_code == 0) << describe(o);
    auto out = lines(o.out);
    ASSERT_EQ(out.size(), 21u) << describe(o);
    EXPECT_TRUE(is_timing_line(out.back(), "Downloaded 20 in ", " seconds")) << out.back();
    out.pop_back();
    const int workers = affinity_cpus();  // Pool() starts cpu_count() workers
    std::vector<std::string> reads, want;
    for (const auto& line : out) {
        std::size_t colon = line.find(":Read ");
        ASSERT_NE(colon, std::string::npos) << line;
        EXPECT_TRUE(is_numbered(line.substr(0, colon), "ForkServerPoolWorker-", workers)) << line;
        reads.push_back(line.substr(colon + 1));
    }
    for (const auto& url : urls)
        want.push_back("Read " + std::to_string(TestHttpServer::kBodySize) + " from " + url);
    std::sort(reads.begin(), reads.end());  // the workers finish them in any order
    std::sort(want.begin(), want.end());
    EXPECT_EQ(reads, want);
    EXPECT_EQ(server.requests(), 20);
    // One global session, hence one keep-alive connection, per worker process.
    EXPECT_GE(server.connections(), 1);
    EXPECT_LE(server.connections(), workers);
}

TEST(Seed002DownloadPool, AFailedDownloadIsAClearErrorFromTheWorker) {
    RefusingPort refusing;
    std::string url = "http://127.0.0.1:" + std::to_string(refusing.port()) + "/";
    Outcome o = run_example(EXAMPLE_SEED002_DOWNLOAD_POOL, {url, url, url});
    ASSERT_TRUE(o.exited) << describe(o);
    EXPECT_EQ(o.exit_code, 1) << describe(o);
    EXPECT_NE(o.err.find(url), std::string::npos) << describe(o);
    EXPECT_NE(o.err.find("refused"), std::string::npos) << describe(o);
    EXPECT_EQ(o.out.find("Downloaded"), std::string::npos) << describe(o);
}

TEST(Seed002DownloadPool, NoUrlDownloadsTheSeedSitesFromTheLocalServer) {
    Outcome o = run_example(EXAMPLE_SEED002_DOWNLOAD_POOL, {});
    expect_the_seed_sites(o, "Downloaded 160 in ", false);
    EXPECT_NE(o.out.find("ForkServerPoolWorker-"), std::string::npos) << describe(o);
}

TEST(Seed002CpuPool, SumsMatchASequentialComputation) {
    Outcome o = run_example(EXAMPLE_SEED002_CPU_POOL, {"8", "30000"});
    ASSERT_TRUE(o.exited && o.exit_code == 0) << describe(o);
    auto out = lines(o.out);
    ASSERT_EQ(out.size(), 9u) << describe(o);
    for (long x = 0; x < 8; ++x) {  // pool.map keeps the input order
        long n = 30000 + x;
        EXPECT_EQ(out[static_cast<std::size_t>(x)],
                  "cpu_bound(" + std::to_string(n) + ") = " + sequential_square_sum(n));
    }
    EXPECT_TRUE(is_timing_line(out.back(), "Duration ", " seconds")) << out.back();

    // The seed's first number: a sum past 2^64, printed as Python prints it.
    o = run_example(EXAMPLE_SEED002_CPU_POOL, {"1", "5000000"});
    ASSERT_TRUE(o.exited && o.exit_code == 0) << describe(o);
    out = lines(o.out);
    ASSERT_EQ(out.size(), 2u) << describe(o);
    EXPECT_EQ(out[0], "cpu_bound(5000000) = 41666654166667500000");

    o = run_example(EXAMPLE_SEED002_CPU_POOL, {"two"});
    EXPECT_TRUE(o.exited && o.exit_code == 2) << describe(o);
    EXPECT_NE(o.err.find("usage:"), std::string::npos) << describe(o);
}

// Each MyProcess is started and joined before the next: one line each, in order.
TEST(Seed003ProcessSubclass, EachChildRunsTheOverriddenRunAndKnowsItsName) {
    Outcome o = run_example(EXAMPLE_SEED003_PROCESS_SUBCLASS, {});
    ASSERT_TRUE(o.exited && o.exit_code == 0) << describe(o);
    std::vector<std::string> want;
    for (int i = 1; i <= 5; ++i)
        want.push_back("called run method in process: ForkServerProcess-" + std::to_string(i));
    EXPECT_EQ(lines(o.out), want) << describe(o);
    EXPECT_EQ(o.err, "") << describe(o);
}

TEST(Seed003ProcessPoolAsCompleted, PrintsEveryResult) {
    Outcome o = run_example(EXAMPLE_SEED003_PROCESS_POOL_AS_COMPLETED, {});
    ASSERT_TRUE(o.exited && o.exit_code == 0) << describe(o);
    auto out = lines(o.out);
    ASSERT_EQ(out.size(), 11u) << describe(o);
    // count(x) loops i over range(10_000_000), adds 1 to the last i: 10_000_000 * x.
    std::vector<long> got, want;
    for (std::size_t i = 0; i < 10; ++i) {
        ASSERT_TRUE(is_digits(out[i])) << out[i];
        got.push_back(std::stol(out[i]));
        want.push_back(10'000'000L * static_cast<long>(i + 1));
    }
    std::sort(got.begin(), got.end());  // completion order varies
    EXPECT_EQ(got, want);
    EXPECT_TRUE(is_timing_line(out[10], "Process pool execution in ", " seconds")) << out[10];
}

}  // namespace
