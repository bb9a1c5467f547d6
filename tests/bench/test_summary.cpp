// The arithmetic of the tables: median, min and max of the samples (the
// median as Python's statistics.median), speedup and "vs Python" ratios.
#include <gtest/gtest.h>

#include "experiment.hpp"

using namespace concur_bench;

namespace {
Row row(const std::string& method, std::vector<double> wall, const std::string& peer = "") {
    Row r;
    r.method = method;
    r.wall_s = std::move(wall);
    r.python_peer = peer;
    return r;
}
}  // namespace

TEST(BenchSummary, OddCountTakesTheMiddleOfTheSorted) {
    Summary s = summarize({5.0, 1.0, 3.0, 2.0, 4.0});
    EXPECT_DOUBLE_EQ(s.median, 3.0);
    EXPECT_DOUBLE_EQ(s.min, 1.0);
    EXPECT_DOUBLE_EQ(s.max, 5.0);
}

TEST(BenchSummary, EvenCountAveragesTheTwoMiddleValues) {
    Summary s = summarize({4.0, 1.0, 3.0, 2.0});
    EXPECT_DOUBLE_EQ(s.median, 2.5);
    EXPECT_DOUBLE_EQ(s.min, 1.0);
    EXPECT_DOUBLE_EQ(s.max, 4.0);
}

TEST(BenchSummary, OneSampleAndNone) {
    Summary one = summarize({0.25});
    EXPECT_DOUBLE_EQ(one.median, 0.25);
    EXPECT_DOUBLE_EQ(one.min, 0.25);
    EXPECT_DOUBLE_EQ(one.max, 0.25);
    Summary none = summarize({});
    EXPECT_EQ(none.median, 0);
    EXPECT_EQ(none.min, 0);
    EXPECT_EQ(none.max, 0);
}

TEST(BenchSummary, OutliersMoveMinAndMaxButNotTheMedian) {
    Summary s = summarize({1.0, 1.0, 1.0, 1.0, 100.0});
    EXPECT_DOUBLE_EQ(s.median, 1.0);
    EXPECT_DOUBLE_EQ(s.max, 100.0);
}

TEST(BenchSummary, SpeedupIsBaselineMedianOverRowMedian) {
    Result r;
    r.rows.push_back(row("sequential", {2.0, 2.2, 1.8}));
    r.rows.push_back(row("threads", {1.0, 0.9, 1.1}));
    r.rows.push_back(row("broken", {}));
    EXPECT_DOUBLE_EQ(r.speedup(r.rows[0]), 1.0);
    EXPECT_DOUBLE_EQ(r.speedup(r.rows[1]), 2.0);
    EXPECT_EQ(r.speedup(r.rows[2]), 0);  // no samples: no speedup, not infinity
}

TEST(BenchSummary, VsPythonIsPythonsMedianOverTheRows) {
    Result r;
    r.rows.push_back(row("threads", {0.5}, "threads"));
    r.rows.push_back(row("atomic", {0.5}));
    PythonRow p;
    p.method = "threads";
    p.wall_s = {10.0, 12.0, 11.0};
    r.python.push_back(p);
    ASSERT_TRUE(r.vs_python(r.rows[0]));
    EXPECT_DOUBLE_EQ(*r.vs_python(r.rows[0]), 22.0);
    EXPECT_FALSE(r.vs_python(r.rows[1]));  // no Python peer
    r.python[0].check = Check::wrong;      // a wrong answer's time is not compared
    EXPECT_FALSE(r.vs_python(r.rows[0]));
}

TEST(BenchSummary, MeasureRecordsEverySample) {
    Settings s;
    s.repeat = 3;
    int calls = 0;
    Row m = measure(s, "m", 1, [&] { return uint64_t(++calls > 0 ? 42 : 0); });
    EXPECT_EQ(calls, 3);
    EXPECT_EQ(m.wall_s.size(), 3u);
    EXPECT_EQ(m.cpu_s.size(), 3u);
    EXPECT_EQ(m.checksum, 42u);
    EXPECT_TRUE(m.consistent);
    for (double w : m.wall_s) EXPECT_GE(w, 0);
}
