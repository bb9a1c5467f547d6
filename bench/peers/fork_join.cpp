// Target b: recursive fork-join fib(25) with no sequential cut-off, so every
// call above the leaves spawns two tasks and joins them.
//
//   fib(n) on a worker --submit fib(n-1), fib(n-2)--> that worker's deque
//          <--result() x 2: the worker runs queued jobs (its own or stolen)
//             while it waits, so the pool never deadlocks
//
// TBB does the same with task_group::run x 2 + wait(). A sequential fib(25)
// is printed for reference.
#include <cstdio>
#include <functional>

#include "concur/futures.hpp"
#include "peers/common.hpp"

#if CONCUR_BENCH_HAVE_TBB
#include <tbb/task_arena.h>
#include <tbb/task_group.h>
#endif

namespace peers {

namespace {

constexpr int kN = 25;
constexpr int kFib25 = 75025;
constexpr long kTasks = 2 * 121393 - 1;  // calls of fib(25) = 2 fib(26) - 1, each one a task

[[gnu::noinline]] int fib_seq(int n) noexcept { return n < 2 ? n : fib_seq(n - 1) + fib_seq(n - 2); }

int fib_concur(concur::futures::ThreadPoolExecutor& ex, int n) {
    if (n < 2) return n;
    auto a = ex.submit([&ex, n] { return fib_concur(ex, n - 1); });
    auto b = ex.submit([&ex, n] { return fib_concur(ex, n - 2); });
    return a.result() + b.result();
}

#if CONCUR_BENCH_HAVE_TBB
int fib_tbb(int n) {
    if (n < 2) return n;
    int x = 0, y = 0;
    tbb::task_group g;
    g.run([&] { x = fib_tbb(n - 1); });
    g.run([&] { y = fib_tbb(n - 2); });
    g.wait();
    return x + y;
}
#endif

template <class F>
double time_ms(F&& f, const char* what) {
    auto t0 = Clock::now();
    int r = f();
    double ms = seconds_since(t0) * 1e3;
    check(r == kFib25, what);
    return ms;
}

}  // namespace

void bench_fork_join(const Config& cfg, Report& report) {
    Table t;
    t.key = "fib25";
    t.title = "b. fork-join fib(25): two submits + two result() per call, no cut-off";
    t.unit = "ms per fib(25)";
    t.higher_is_better = false;
    t.add("concur ThreadPoolExecutor", "concur_ms");
#if CONCUR_BENCH_HAVE_TBB
    t.add("oneTBB task_group (run x2 + wait)", "tbb_task_group_ms");
#endif
    t.add("sequential (reference, no tasks)", "sequential_ms");

    for (int rep = 0; rep < cfg.repeat; ++rep) {
        std::size_t row = 0;
        {
            concur::futures::ThreadPoolExecutor ex{{.max_workers = cfg.cores}};
            auto root = [&] { return ex.submit([&ex] { return fib_concur(ex, kN); }).result(); };
            time_ms(root, "concur fib(25)");  // warm-up: starts the workers
            t.rows[row++].samples.push_back(time_ms(root, "concur fib(25)"));
        }
        settle();
#if CONCUR_BENCH_HAVE_TBB
        {
            tbb::task_arena arena(static_cast<int>(cfg.cores));
            auto root = [&] { return arena.execute([] { return fib_tbb(kN); }); };
            time_ms(root, "tbb fib(25)");
            t.rows[row++].samples.push_back(time_ms(root, "tbb fib(25)"));
        }
        settle();
#endif
        t.rows[row++].samples.push_back(time_ms([] { return fib_seq(kN); }, "sequential fib(25)"));
    }

    report.print(t);
    char buf[160];
    std::snprintf(buf, sizeof buf, "%ld tasks per fib(25); concur: %.0f ns per task (median)",
                  kTasks, t.rows.front().median() * 1e6 / static_cast<double>(kTasks));
    report.note(buf);
#if CONCUR_BENCH_HAVE_TBB
    double x = t.speedup(t.rows[1]);
    std::snprintf(buf, sizeof buf, "concur time = %.2fx TBB's", 1 / x);
    report.target("concur fib(25) within 2x of oneTBB task_group (time <= 2x)", 1 / x <= 2.0, buf);
#else
    report.missing_peer("oneTBB", "libtbb-dev");
#endif
}

}  // namespace peers
