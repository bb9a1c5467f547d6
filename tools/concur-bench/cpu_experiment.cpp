// The cpu experiment's methods, each summing cpu_bound(n) over 20 numbers:
//
//   sequential   main thread: n0, n1, ... n19
//   threads      20 Threads, one number each, results into a shared vector (own slot each)
//   asyncio      one loop thread, 20 tasks that never suspend
//   processes    Pool(workers): numbers out over pipes, sums back (chunked map)
//   thread-pool  ThreadPoolExecutor(workers).map
#include "cpu_experiment.hpp"

#include <fmt/format.h>

#include <memory>
#include <thread>
#include <vector>

#include "concur/asyncio.hpp"
#include "concur/futures.hpp"
#include "concur/multiprocessing.hpp"
#include "concur/threading.hpp"
#include "python_runner.hpp"
#include "sizes.hpp"
#include "workload.hpp"

namespace concur_bench {

std::vector<uint64_t> numbers_from(uint64_t base, uint64_t count) {
    std::vector<uint64_t> numbers;
    for (uint64_t x = 0; x < count; ++x) numbers.push_back(base + x);
    return numbers;
}

// Seed 002's find_sums: one call after another.
uint64_t cpu_sequential(const std::vector<uint64_t>& numbers) {
    uint64_t total = 0;
    for (uint64_t n : numbers) total += cpu_bound(n);
    return total;
}

// Seed 002's Pool.map on threads: executor.map(cpu_bound, numbers), the
// executor made inside, as Python's `with` block.
uint64_t cpu_thread_pool(const std::vector<uint64_t>& numbers, unsigned workers) {
    concur::futures::ThreadPoolExecutor ex{{.max_workers = workers}};
    uint64_t total = 0;
    for (uint64_t s : ex.map(cpu_bound, numbers)) total += s;
    return total;
}

// Seed 002's `with multiprocessing.Pool() as pool: pool.map(cpu_bound,
// numbers)`: the pool's start-up is part of the time, as in the seed.
uint64_t cpu_process_pool(const Settings& settings, const std::vector<uint64_t>& numbers,
                          unsigned workers) {
    concur::multiprocessing::Pool pool{{.processes = int(workers), .context = mp_context(settings)}};
    uint64_t total = 0;
    for (uint64_t s : pool.map(cpu_bound, numbers)) total += s;
    return total;
}

namespace {

// Seed 000's threading version: a Thread per number, started, then joined.
uint64_t threads(const std::vector<uint64_t>& numbers) {
    std::vector<uint64_t> sums(numbers.size());
    std::vector<std::unique_ptr<concur::threading::Thread>> ts;
    for (std::size_t i = 0; i < numbers.size(); ++i)
        ts.push_back(std::make_unique<concur::threading::Thread>(
            [&sums, i](uint64_t n) { sums[i] = cpu_bound(n); }, numbers[i]));
    for (auto& t : ts) t->start();
    for (auto& t : ts) t->join();
    uint64_t total = 0;
    for (uint64_t s : sums) total += s;
    return total;
}

// Seed 000's asyncio version: a task per number on one loop, gathered. The
// coroutines never suspend, so they run one after another on one thread.
concur::asyncio::Task<uint64_t> count_task(uint64_t n) { co_return cpu_bound(n); }

concur::asyncio::Task<uint64_t> gather_counts(std::vector<uint64_t> numbers) {
    std::vector<concur::asyncio::Task<uint64_t>> tasks;
    for (uint64_t n : numbers) tasks.push_back(concur::asyncio::create_task(count_task(n)));
    auto sums = co_await concur::asyncio::gather(std::move(tasks));
    uint64_t total = 0;
    for (uint64_t s : sums) total += s;
    co_return total;
}

uint64_t coroutines(const std::vector<uint64_t>& numbers) {
    return concur::asyncio::run(gather_counts(numbers));
}

std::string verdict(const Result& r, unsigned cores) {
    const Row* best = nullptr;
    for (const Row& row : r.rows)
        if (&row != &r.rows.front() && (!best || r.speedup(row) > r.speedup(*best))) best = &row;
    if (!best) return "Only the sequential method ran.";
    double s = r.speedup(*best);
    std::string v;
    if (s > 1.2 * cores)
        v = fmt::format("CPU-bound work: {} ran {:.2f}x sequential on {} cores -- more than the "
                        "cores allow, so the machine was busier while sequential ran; rerun on a "
                        "quiet machine for figures to trust.",
                        best->method, s, cores);
    else if (s >= 0.8 * cores && cores > 1)
        v = fmt::format("CPU-bound work: {} is fastest, {:.2f}x sequential on {} cores: every core "
                        "busy, because C++ has no GIL (in the seeds Python's threads were no faster "
                        "than sequential, and only processes scaled).",
                        best->method, s, cores);
    else if (s > 1.1)
        v = fmt::format("CPU-bound work: {} is fastest, {:.2f}x sequential on {} cores, short of "
                        "every core busy (other work on the machine, or start-up costs).",
                        best->method, s, cores);
    else
        v = fmt::format("CPU-bound work: no concurrent method beat sequential ({} reached {:.2f}x "
                        "on {} cores); the machine was busy, has one core, or the work was too "
                        "small to pay for starting workers.",
                        best->method, s, cores);
    if (const Row* a = r.row("asyncio"))
        v += fmt::format(" asyncio ran at {:.2f}x sequential: coroutines that never await share "
                         "one thread, so they bring no parallelism to CPU-bound work.",
                         r.speedup(*a));
    std::optional<double> t = r.row("threads") ? r.vs_python(*r.row("threads")) : std::nullopt;
    if (t) v += fmt::format(" Against Python's threads, C++ threads were {:.0f}x faster.", *t);
    const PythonRow* ps = r.python_row("sequential");
    const PythonRow* pt = r.python_row("threads");
    const PythonRow* pp = r.python_row("processes");
    if (ps && pt && pp && pt->wall().median > 0 && pp->wall().median > 0)
        v += fmt::format(" In Python, threads ran {:.2f}x its sequential and processes {:.2f}x: {}.",
                         ps->wall().median / pt->wall().median, ps->wall().median / pp->wall().median,
                         ps->wall().median / pt->wall().median < 1.2 ? "the GIL lets one thread compute at a time"
                                                                     : "its threads gained something here");
    return v;
}

}  // namespace

Result run_cpu(const Settings& settings, uint64_t seed_base, const std::string& name) {
    unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    unsigned workers = default_workers(settings);
    CpuSize size = cpu_size(settings, seed_base, settings.target_seconds);
    auto numbers = numbers_from(size.base);

    Result r;
    r.name = name;
    r.scale_note = size.note;
    r.title = fmt::format("sum of i*i for i < n, 20 numbers n = {} + x (seed {})", size.base,
                          seed_base == 1'000'000 ? "000" : "002");

    auto add = [&](const std::string& method, unsigned w, const std::function<uint64_t()>& fn) {
        r.rows.push_back(measure(settings, method, w, fn));
        r.rows.back().python_peer = method;
    };
    add("sequential", 1, [&] { return cpu_sequential(numbers); });
    if (wants(settings, "threads")) add("threads", unsigned(numbers.size()), [&] { return threads(numbers); });
    if (wants(settings, "asyncio")) add("asyncio", 1, [&] { return coroutines(numbers); });
    if (wants(settings, "processes")) {
        add("processes", workers, [&] { return cpu_process_pool(settings, numbers, workers); });
        r.rows.back().cpu_complete = false;
    }
    if (wants(settings, "thread-pool"))
        add("thread-pool", workers, [&] { return cpu_thread_pool(numbers, workers); });

    bool affordable = settings.seed_sizes || settings.tiny;
    if (python_gate(settings, r, affordable,
                    fmt::format("run with --seed-sizes (C++ ran {}x the seed's work; Python at "
                                "that size would take minutes)", size.factor))) {
        std::vector<std::string> methods;
        for (const Row& row : r.rows) methods.push_back(row.method);
        run_python_rows(settings, r, "cpu.py",
                        {"--base", std::to_string(size.base), "--workers", std::to_string(workers)},
                        methods);
    }
    r.check_rows();
    r.verdict = verdict(r, cores);
    return r;
}

std::vector<Result> run_cpu_experiments(const Settings& settings) {
    std::vector<Result> out{run_cpu(settings, 5'000'000, "cpu")};
    if (settings.seed_sizes) out.push_back(run_cpu(settings, 1'000'000, "cpu-000"));
    return out;
}

}  // namespace concur_bench
