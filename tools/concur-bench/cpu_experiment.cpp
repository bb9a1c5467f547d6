#include "cpu_experiment.hpp"

#include <fmt/format.h>

#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "concur/asyncio.hpp"
#include "concur/futures.hpp"
#include "concur/threading.hpp"
#include "workload.hpp"

namespace concur_bench {

namespace {

std::vector<uint64_t> numbers_from(uint64_t base) {
    std::vector<uint64_t> numbers;
    for (uint64_t x = 0; x < 20; ++x) numbers.push_back(base + x);
    return numbers;
}

// Seed 002's find_sums: one call after another.
uint64_t sequential(const std::vector<uint64_t>& numbers) {
    uint64_t total = 0;
    for (uint64_t n : numbers) total += cpu_bound(n);
    return total;
}

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

// Seed 002's Pool.map, on threads: executor.map(cpu_bound, numbers).
uint64_t thread_pool(concur::futures::ThreadPoolExecutor& ex, const std::vector<uint64_t>& numbers) {
    uint64_t total = 0;
    for (uint64_t s : ex.map(cpu_bound, numbers)) total += s;
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
    if (s >= 0.8 * cores)
        return fmt::format(
            "CPU-bound work: {} is fastest, {:.2f}x sequential on {} cores -- every core "
            "busy, because C++ has no GIL (in the seeds Python's threads were no faster "
            "than sequential, and only processes scaled).",
            best->method, s, cores);
    if (s > 1.1)
        return fmt::format(
            "CPU-bound work: {} is fastest, {:.2f}x sequential on {} cores -- short of every core "
            "busy; the machine was likely busy with other work.",
            best->method, s, cores);
    return fmt::format(
        "CPU-bound work: no concurrent method beat sequential ({} reached {:.2f}x on {} "
        "cores); the machine was likely busy, or has a single core.",
        best->method, s, cores);
}

}  // namespace

Result run_cpu(const Settings& settings, uint64_t seed_base) {
    unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    unsigned workers = settings.workers ? settings.workers : cores;

    uint64_t base = seed_base;
    Result r;
    r.name = "cpu";
    if (!settings.seed_sizes) {
        // Calibrate: C++ finishes the seed's sizes in a fraction of a second,
        // too short to time well. Scale n so the sequential run takes about
        // settings.target_seconds.
        auto t0 = std::chrono::steady_clock::now();
        sequential(numbers_from(seed_base));
        double once = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        uint64_t factor = std::max<uint64_t>(1, uint64_t(settings.target_seconds / std::max(once, 1e-6) + 0.5));
        base = seed_base * factor;
        r.scale_note = fmt::format("sizes scaled x{} (n = {} + x) so that the sequential run takes "
                                   "about {:.1f} s; --seed-sizes runs the seed's n = {} + x",
                                   factor, base, settings.target_seconds, seed_base);
    }
    auto numbers = numbers_from(base);
    r.title = fmt::format("sum of i*i for i < n, 20 numbers n = {} + x", base);

    r.rows.push_back(measure("sequential", 1, settings.repeat, [&] { return sequential(numbers); }));
    if (wants(settings, "threads"))
        r.rows.push_back(measure("threads", unsigned(numbers.size()), settings.repeat,
                                 [&] { return threads(numbers); }));
    if (wants(settings, "asyncio"))
        r.rows.push_back(measure("asyncio", 1, settings.repeat, [&] { return coroutines(numbers); }));
    if (wants(settings, "thread-pool")) {
        concur::futures::ThreadPoolExecutor ex{{.max_workers = workers}};
        r.rows.push_back(measure("thread-pool", workers, settings.repeat,
                                 [&] { return thread_pool(ex, numbers); }));
    }
    for (Row& row : r.rows) row.checksum_ok = row.checksum_ok && row.checksum == r.rows[0].checksum;
    r.verdict = verdict(r, cores);
    for (const Row& row : r.rows)
        if (row.method == "asyncio")
            r.verdict += fmt::format(
                " asyncio ran at {:.2f}x sequential: coroutines that never await share one "
                "thread, so they bring no parallelism to CPU-bound work, in C++ as in Python.",
                r.speedup(row));
    return r;
}

}  // namespace concur_bench
