// multiprocessing::Pool and AsyncResult on every start method. Ideas ported
// from CPython's Lib/test/_test_multiprocessing.py (_TestPool: test_apply,
// test_map, test_starmap, test_imap, test_imap_unordered, test_async,
// test_async_timeout, test_terminate, test_context; _TestPoolWorkerLifetime).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <thread>

#include "concur/multiprocessing.hpp"
#include "support.hpp"

namespace mp = concur::multiprocessing;
using namespace std::chrono_literals;

namespace {

int square(int x) { return x * x; }
int mul(int a, int b) { return a * b; }
int my_pid() { return static_cast<int>(::getpid()); }
std::string whoami() { return mp::current_process().name(); }
int sleep_ms(int ms) {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    return ms;
}
int raise_if_odd(int x) {
    if (x % 2) throw std::domain_error("odd " + std::to_string(x));
    return x;
}
std::string g_session = "none";
void set_session(std::string s) { g_session = s + "@" + std::to_string(::getpid()); }
std::string get_session() { return g_session; }

class PoolTest : public ::testing::TestWithParam<std::string> {
protected:
    mp::PoolOptions opts(int n = 2) const { return {.processes = n, .context = mp::get_context(GetParam())}; }
};

}  // namespace

TEST_P(PoolTest, ApplyAndApplyAsync) {
    mp::Pool pool(opts());
    EXPECT_EQ(pool.apply(square, 7), 49);
    auto r = pool.apply_async(sleep_ms, 50);
    EXPECT_THROW(r.successful(), concur::ValueError);  // not ready yet (Python)
    EXPECT_EQ(r.get(60s), 50);
    EXPECT_TRUE(r.ready());
    EXPECT_TRUE(r.successful());
    auto slow = pool.apply_async(sleep_ms, 2000);
    EXPECT_THROW(slow.get(10ms), concur::TimeoutError);
    auto bad = pool.apply_async(raise_if_odd, 3);
    bad.wait(60s);
    EXPECT_FALSE(bad.successful());
    EXPECT_THROW(bad.get(), std::domain_error);
    std::string prefix = GetParam() == "fork" ? "Fork" : GetParam() == "spawn" ? "Spawn" : "ForkServer";
    EXPECT_EQ(pool.apply(whoami).rfind(prefix + "PoolWorker-", 0), 0u);
}

TEST_P(PoolTest, MapStarmapAndTheirAsyncForms) {
    mp::Pool pool(opts());
    std::vector<int> xs(1000);
    for (int i = 0; i < 1000; ++i) xs[i] = i;
    auto got = pool.map(square, xs);
    for (int i = 0; i < 1000; ++i) ASSERT_EQ(got[i], i * i);
    EXPECT_EQ(pool.map(square, xs, 7).size(), 1000u);
    EXPECT_TRUE(pool.map(square, std::vector<int>{}).empty());
    std::vector<std::tuple<int, int>> pairs{{1, 2}, {3, 4}, {5, 6}};
    EXPECT_EQ(pool.starmap(mul, pairs), (std::vector<int>{2, 12, 30}));
    auto r = pool.map_async(square, std::vector<int>{1, 2, 3});
    EXPECT_EQ(r.get(60s), (std::vector<int>{1, 4, 9}));
    EXPECT_EQ(pool.starmap_async(mul, pairs).get(60s), (std::vector<int>{2, 12, 30}));
    EXPECT_THROW(pool.map(raise_if_odd, std::vector<int>{2, 4, 5}), std::domain_error);
}

TEST_P(PoolTest, ImapInOrderAndImapUnorderedComplete) {
    mp::Pool pool(opts());
    std::vector<int> xs{5, 4, 3, 2, 1, 0};
    std::vector<int> ordered;
    for (int v : pool.imap(square, xs)) ordered.push_back(v);
    EXPECT_EQ(ordered, (std::vector<int>{25, 16, 9, 4, 1, 0}));
    std::vector<int> any = pool.imap_unordered(square, xs, 2).list();
    std::sort(any.begin(), any.end());
    EXPECT_EQ(any, (std::vector<int>{0, 1, 4, 9, 16, 25}));
}

TEST_P(PoolTest, InitializerRunsOncePerWorker) {
    auto o = opts();
    o.initializer = {set_session, std::string("s")};
    mp::Pool pool(o);
    auto sessions = pool.map([](int) { return get_session(); }, std::vector<int>(50, 0), 1);
    std::set<std::string> distinct(sessions.begin(), sessions.end());
    EXPECT_LE(distinct.size(), 2u);
    for (auto& s : distinct) EXPECT_EQ(s.rfind("s@", 0), 0u) << s;
}

TEST_P(PoolTest, MaxTasksPerChildReplacesWorkers) {
    auto o = opts(1);
    o.maxtasksperchild = 2;
    mp::Pool pool(o);
    std::set<int> pids;
    for (int i = 0; i < 6; ++i) pids.insert(pool.apply(my_pid));
    EXPECT_EQ(pids.size(), 3u);
}

TEST_P(PoolTest, CloseJoinAndTerminate) {
    mp::Pool pool(opts());
    auto r = pool.apply_async(sleep_ms, 100);
    EXPECT_THROW(pool.join(), concur::ValueError);  // still running
    pool.close();
    EXPECT_THROW(pool.apply_async(square, 1), concur::ValueError);
    pool.join();
    EXPECT_EQ(r.get(), 100);  // close() lets submitted work finish

    mp::Pool busy(opts());
    auto stuck = busy.apply_async(sleep_ms, 600000);
    auto start = std::chrono::steady_clock::now();
    busy.terminate();
    EXPECT_LT(std::chrono::steady_clock::now() - start, 30s);  // promptly, not after the task
    EXPECT_THROW(stuck.get(60s), concur::CancelledError);
}

TEST_P(PoolTest, DestructorDuringRunningWorkReturns) {
    mp::AsyncResult<int> r(concur::futures::Future<int>{});
    {
        mp::Pool pool(opts());
        r = pool.apply_async(sleep_ms, 600000);
    }
    EXPECT_THROW(r.get(60s), concur::CancelledError);
}

INSTANTIATE_TEST_SUITE_P(StartMethods, PoolTest, ::testing::ValuesIn(mptest::pool_start_methods()),
                         [](const auto& info) { return info.param; });
