// Target a: one thread submits many tiny calls, then waits for them all.
//
//   main thread --submit x N--> pool (cores workers) --settle--> N futures
//   main thread --wait for all, sum the N results (checked)
//
// Every method runs the same body and its pool is built and warmed up
// (threads started) before the clock starts; the clock covers submitting,
// waiting, reading every result and freeing the futures.
#include <cstdio>
#include <future>
#include <thread>
#include <vector>

#include "concur/futures.hpp"
#include "peers/common.hpp"

#if CONCUR_BENCH_HAVE_ASIO
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#endif
#if CONCUR_BENCH_HAVE_TBB
#include <tbb/task_arena.h>
#include <tbb/task_group.h>
#endif

namespace peers {

namespace {

constexpr int kTasks = 1'000'000;
constexpr int kAsyncTasks = 10'000;  // std::async starts a thread per call
constexpr int kWarmup = 10'000;

int body(int i) noexcept { return i & 0xff; }

uint64_t expected_sum(int n) {
    uint64_t s = 0;
    for (int i = 0; i < n; ++i) s += static_cast<uint64_t>(body(i));
    return s;
}

struct Phases {
    double submit_s = 0, total_s = 0;
};

// use_wait = false reads each result() in turn instead of futures::wait:
// the same work without wait()'s set semantics (dedup, copies).
Phases run_concur(concur::futures::ThreadPoolExecutor& ex, int n, bool use_wait = true) {
    namespace futures = concur::futures;
    auto t0 = Clock::now();
    Phases p;
    uint64_t sum = 0;
    {
        std::vector<futures::Future<int>> fs;
        fs.reserve(n);
        for (int i = 0; i < n; ++i) fs.push_back(ex.submit([i] { return body(i); }));
        p.submit_s = seconds_since(t0);
        if (use_wait) futures::wait(fs);
        for (auto& f : fs) sum += static_cast<uint64_t>(f.result());
    }
    p.total_s = seconds_since(t0);
    check(sum == expected_sum(n), "concur submit: sum of results");
    return p;
}

#if CONCUR_BENCH_HAVE_ASIO
Phases run_asio(boost::asio::thread_pool& pool, int n) {
    auto t0 = Clock::now();
    Phases p;
    uint64_t sum = 0;
    {
        std::vector<std::future<int>> fs;
        fs.reserve(n);
        for (int i = 0; i < n; ++i) {
            std::packaged_task<int()> task([i] { return body(i); });
            fs.push_back(task.get_future());
            boost::asio::post(pool, std::move(task));
        }
        p.submit_s = seconds_since(t0);
        for (auto& f : fs) sum += static_cast<uint64_t>(f.get());
    }
    p.total_s = seconds_since(t0);
    check(sum == expected_sum(n), "asio submit: sum of results");
    return p;
}
#endif

#if CONCUR_BENCH_HAVE_TBB
// task_group has no futures: each call writes its slot of a results array.
Phases run_tbb(tbb::task_arena& arena, int n) {
    auto t0 = Clock::now();
    Phases p;
    uint64_t sum = 0;
    {
        std::vector<int> out(static_cast<std::size_t>(n));
        arena.execute([&] {
            tbb::task_group g;
            for (int i = 0; i < n; ++i) g.run([&out, i] { out[static_cast<std::size_t>(i)] = body(i); });
            p.submit_s = seconds_since(t0);
            g.wait();
        });
        for (int v : out) sum += static_cast<uint64_t>(v);
    }
    p.total_s = seconds_since(t0);
    check(sum == expected_sum(n), "tbb submit: sum of results");
    return p;
}
#endif

Phases run_async(int n) {
    auto t0 = Clock::now();
    Phases p;
    uint64_t sum = 0;
    {
        std::vector<std::future<int>> fs;
        fs.reserve(n);
        for (int i = 0; i < n; ++i) fs.push_back(std::async(std::launch::async, [i] { return body(i); }));
        p.submit_s = seconds_since(t0);
        for (auto& f : fs) sum += static_cast<uint64_t>(f.get());
    }
    p.total_s = seconds_since(t0);
    check(sum == expected_sum(n), "std::async: sum of results");
    return p;
}

}  // namespace

void bench_submit(const Config& cfg, Report& report) {
    Table t;
    t.key = "submit";
    t.title = "a. 1,000,000 submits with futures from one thread, then wait for all";
    t.unit = "tasks/s";
    t.add("concur ThreadPoolExecutor", "concur_tasks_per_s");
#if CONCUR_BENCH_HAVE_ASIO
    t.add("Boost.Asio thread_pool + packaged_task", "asio_packaged_task_tasks_per_s");
#endif
#if CONCUR_BENCH_HAVE_TBB
    t.add("oneTBB task_group (no futures)", "tbb_task_group_tasks_per_s");
#endif
    t.add("std::async(launch::async), 10,000 tasks", "std_async_tasks_per_s");
    std::vector<double> concur_submit_ns, concur_wait_ns;
    // Not targets: concur variants that show where its time goes.
    Row no_wait{"concur, result() per future instead of futures::wait", "concur_result_loop_tasks_per_s", {}};
    Row fewer{"concur, max_workers = cores - 1 (TBB's thread count)", "concur_cores_minus_1_tasks_per_s", {}};

    for (int rep = 0; rep < cfg.repeat; ++rep) {
        std::size_t row = 0;
        {
            concur::futures::ThreadPoolExecutor ex{{.max_workers = cfg.cores}};
            run_concur(ex, kWarmup);
            Phases p = run_concur(ex, kTasks);
            t.rows[row++].samples.push_back(kTasks / p.total_s);
            concur_submit_ns.push_back(p.submit_s / kTasks * 1e9);
            concur_wait_ns.push_back((p.total_s - p.submit_s) / kTasks * 1e9);
            no_wait.samples.push_back(kTasks / run_concur(ex, kTasks, false).total_s);
        }
        settle();
        if (cfg.cores > 1) {
            concur::futures::ThreadPoolExecutor ex{{.max_workers = cfg.cores - 1}};
            run_concur(ex, kWarmup);
            fewer.samples.push_back(kTasks / run_concur(ex, kTasks).total_s);
        }
        settle();
#if CONCUR_BENCH_HAVE_ASIO
        {
            boost::asio::thread_pool pool(cfg.cores);
            run_asio(pool, kWarmup);
            t.rows[row++].samples.push_back(kTasks / run_asio(pool, kTasks).total_s);
            pool.join();
        }
        settle();
#endif
#if CONCUR_BENCH_HAVE_TBB
        {
            // An arena of `cores` slots: cores - 1 TBB workers plus the calling
            // thread, which runs tasks inside wait(), as TBB is meant to be used.
            tbb::task_arena arena(static_cast<int>(cfg.cores));
            run_tbb(arena, kWarmup);
            t.rows[row++].samples.push_back(kTasks / run_tbb(arena, kTasks).total_s);
        }
        settle();
#endif
        t.rows[row++].samples.push_back(kAsyncTasks / run_async(kAsyncTasks).total_s);
        settle();
    }

    report.print(t);
#if !CONCUR_BENCH_HAVE_ASIO
    report.missing_peer("Boost.Asio", "libboost-dev");
#endif
#if !CONCUR_BENCH_HAVE_TBB
    report.missing_peer("oneTBB", "libtbb-dev");
#endif
    Row submit{"", "", concur_submit_ns}, wait{"", "", concur_wait_ns};
    char buf[160];
    std::snprintf(buf, sizeof buf,
                  "concur split (median): submit loop %.0f ns/task, wait + read + free %.0f ns/task",
                  submit.median(), wait.median());
    report.note(buf);
    report.value("submit.concur_submit_ns_per_task", submit.median());
    report.value("submit.concur_wait_ns_per_task", wait.median());
    for (const Row* info : {&no_wait, &fewer}) {
        if (info->samples.empty()) continue;
        std::string vs;
        for (const Row& r : t.rows)
            if (r.key.starts_with("tbb")) {
                std::snprintf(buf, sizeof buf, ", %.2fx TBB", info->median() / r.median());
                vs = buf;
            }
        std::snprintf(buf, sizeof buf, "info: %s: %s tasks/s (min %s, max %s)%s", info->name.c_str(),
                      format_value(info->median()).c_str(), format_value(info->min()).c_str(),
                      format_value(info->max()).c_str(), vs.c_str());
        report.note(buf);
        report.value("submit." + info->key, info->median());
    }

    for (const Row& r : t.rows) {
        if (r.key.starts_with("asio")) {
            double x = t.speedup(r);
            std::snprintf(buf, sizeof buf, "%.2fx", x);
            report.target("concur >= 3x Boost.Asio thread_pool + packaged_task (tasks/s)", x >= 3.0, buf);
        } else if (r.key.starts_with("tbb")) {
            double x = t.speedup(r);
            std::snprintf(buf, sizeof buf, "%.2fx", x);
            report.target("concur >= 1.0x oneTBB task_group (tasks/s)", x >= 1.0, buf);
        }
    }
}

}  // namespace peers
