// The sleep experiment's methods, ten waits each:
//
//   sequential   main thread sleeps ten times
//   processes    ProcessPoolExecutor(cores): (wait, n) out, n back as futures
//   threads      ThreadPoolExecutor(min(32, cores + 4)).map
//   asyncio-*    one loop thread, ten tasks in asyncio::sleep at once
#include "sleep_experiment.hpp"

#include <fmt/format.h>

#include <chrono>
#include <thread>
#include <vector>

#include "concur/asyncio.hpp"
#include "concur/futures.hpp"
#include "concur/futures/process.hpp"
#include "concur/multiprocessing.hpp"
#include "python_runner.hpp"
#include "sizes.hpp"

namespace concur_bench {

namespace {

namespace asyncio = concur::asyncio;
using Seconds = std::chrono::duration<double>;
constexpr int kQueries = 10;

// A plain function of plain values, so a process pool can run it too.
uint64_t query(double wait_s, int num) {
    std::this_thread::sleep_for(Seconds(wait_s));
    return static_cast<uint64_t>(num);
}

uint64_t sequential(double wait) {
    uint64_t total = 0;
    for (int h = 0; h < kQueries; ++h) total += query(wait, h);
    return total;
}

// Seed 001's "多进程": ProcessPoolExecutor().map(query, range(10)) -- one
// worker per core, so ten queries take ceil(10 / cores) rounds.
uint64_t processes(const Settings& s, double wait, unsigned workers) {
    concur::futures::ProcessPoolExecutor ex{{.max_workers = int(workers), .mp_context = mp_context(s)}};
    std::vector<concur::futures::Future<uint64_t>> fs;
    for (int h = 0; h < kQueries; ++h) fs.push_back(ex.submit(query, wait, h));
    uint64_t total = 0;
    for (auto& f : fs) total += f.result();
    return total;
}

// Seed 001's "多线程": ThreadPoolExecutor().map(query, range(10)).
uint64_t thread_pool(double wait, unsigned workers) {
    concur::futures::ThreadPoolExecutor ex{{.max_workers = workers}};
    std::vector<int> nums;
    for (int h = 0; h < kQueries; ++h) nums.push_back(h);
    uint64_t total = 0;
    for (uint64_t v : ex.map([wait](int h) { return query(wait, h); }, nums)) total += v;
    return total;
}

asyncio::Task<uint64_t> query_async(Seconds wait, int num) {
    co_await asyncio::sleep(wait);
    co_return static_cast<uint64_t>(num);
}

asyncio::Task<uint64_t> all_queries(Seconds wait) {
    std::vector<asyncio::Task<uint64_t>> tasks;
    for (int h = 0; h < kQueries; ++h) tasks.push_back(query_async(wait, h));
    auto values = co_await asyncio::gather(std::move(tasks));
    uint64_t total = 0;
    for (uint64_t v : values) total += v;
    co_return total;
}

unsigned rounds(unsigned workers) { return (kQueries + workers - 1) / workers; }

}  // namespace

Result run_sleep(const Settings& settings) {
    double wait = settings.tiny ? 0.01 : settings.seed_sizes ? 1.0 : 0.1;
    unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    // Python's defaults: ThreadPoolExecutor min(32, cores + 4), ProcessPoolExecutor cores.
    unsigned thread_workers = settings.workers ? settings.workers : std::min(32u, cores + 4);
    unsigned process_workers = default_workers(settings);

    Result r;
    r.name = "sleep";
    r.title = fmt::format("{} queries that each wait {:g} s (seed 001)", kQueries, wait);
    if (!settings.seed_sizes)
        r.scale_note = fmt::format("each query waits {:g} s instead of the seed's 1 s (--seed-sizes: 1 s)", wait);

    auto add = [&](const std::string& method, const std::string& peer, unsigned w,
                   const std::function<uint64_t()>& fn) {
        r.rows.push_back(measure(settings, method, w, fn));
        r.rows.back().python_peer = peer;
    };
    add("sequential", "sequential", 1, [&] { return sequential(wait); });
    if (wants(settings, "processes")) {
        add("processes", "processes", process_workers, [&] { return processes(settings, wait, process_workers); });
        r.rows.back().cpu_complete = false;
    }
    if (wants(settings, "threads"))
        add("threads", "threads", thread_workers, [&] { return thread_pool(wait, thread_workers); });
    // Each concur loop backend beside one of Python's: io_uring is the
    // alternative, faster loop as uvloop is in the seed; epoll is the one
    // CPython's default loop uses.
    for (auto [name, peer, backend] :
         {std::tuple{"asyncio-io_uring", "asyncio-uvloop", asyncio::LoopBackend::io_uring},
          std::tuple{"asyncio-epoll", "asyncio", asyncio::LoopBackend::epoll}}) {
        if (!wants(settings, name) && !wants(settings, "asyncio")) continue;
        try {
            asyncio::EventLoop probe(backend);
        } catch (const concur::RuntimeError&) {
            r.skipped.push_back(fmt::format("{}: this kernel or container refuses io_uring", name));
            continue;
        }
        add(name, peer, 1, [&, backend = backend] {
            return asyncio::run(all_queries(Seconds(wait)), {.backend = backend});
        });
    }
    if (python_gate(settings, r, true, "")) {
        std::vector<std::string> methods;
        for (const Row& row : r.rows) methods.push_back(row.python_peer);
        run_python_rows(settings, r, "sleep.py",
                        {"--wait", fmt::format("{:g}", wait), "--threads", std::to_string(thread_workers),
                         "--processes", std::to_string(process_workers)},
                        methods);
    }
    r.check_rows();

    const Row* fastest = &r.rows.front();
    for (const Row& row : r.rows)
        if (row.wall().median < fastest->wall().median) fastest = &row;
    r.verdict = fmt::format(
        "Waiting on I/O: {} is fastest at {:.3f} s ({:.1f}x sequential; the floor is one wait, "
        "{:g} s). Coroutines wait for all ten at once on one thread; {} threads need {} round{}, "
        "{} processes {} rounds plus start-up; sequential waits ten times.",
        fastest->method, fastest->wall().median, r.speedup(*fastest), wait, thread_workers,
        rounds(thread_workers), rounds(thread_workers) == 1 ? "" : "s", process_workers,
        rounds(process_workers));
    const Row* loop = r.row("asyncio-epoll");
    if (const PythonRow* p = r.python_row("asyncio"); p && loop && loop->wall().median > 0) {
        double ratio = p->wall().median / loop->wall().median;
        r.verdict += fmt::format(" Python's asyncio took {:.3f} s for the same waits ({:.2f}x concur's): {}",
                                 p->wall().median, ratio,
                                 ratio < 1.5 ? "when the work is waiting, the language matters little."
                                             : "even waiting, Python's loop overhead shows.");
    }
    return r;
}

}  // namespace concur_bench
