#include "sleep_experiment.hpp"

#include <fmt/format.h>

#include <chrono>
#include <thread>
#include <vector>

#include "concur/asyncio.hpp"
#include "concur/futures.hpp"

namespace concur_bench {

namespace {

namespace asyncio = concur::asyncio;
using Seconds = std::chrono::duration<double>;
constexpr int kQueries = 10;

uint64_t query(Seconds wait, int num) {
    std::this_thread::sleep_for(wait);
    return static_cast<uint64_t>(num);
}

uint64_t sequential(Seconds wait) {
    uint64_t total = 0;
    for (int h = 0; h < kQueries; ++h) total += query(wait, h);
    return total;
}

// Seed 001's "多线程": ThreadPoolExecutor().map(query, range(10)).
uint64_t thread_pool(Seconds wait, unsigned workers) {
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

}  // namespace

Result run_sleep(const Settings& settings) {
    Seconds wait(settings.seed_sizes ? 1.0 : 0.1);
    // Python's ThreadPoolExecutor default: min(32, cores + 4) workers.
    unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    unsigned workers = settings.workers ? settings.workers : std::min(32u, cores + 4);

    Result r;
    r.name = "sleep";
    r.title = fmt::format("{} queries that each wait {:.1f} s", kQueries, wait.count());
    if (!settings.seed_sizes)
        r.scale_note = "each query waits 0.1 s instead of the seed's 1 s (--seed-sizes: 1 s)";

    r.rows.push_back(measure("sequential", 1, settings.repeat, [&] { return sequential(wait); }));
    if (wants(settings, "threads"))
        r.rows.push_back(measure("threads", workers, settings.repeat, [&] { return thread_pool(wait, workers); }));
    for (auto [name, backend] : {std::pair{"asyncio-io_uring", asyncio::LoopBackend::io_uring},
                                 std::pair{"asyncio-epoll", asyncio::LoopBackend::epoll}}) {
        if (!wants(settings, name) && !wants(settings, "asyncio")) continue;
        try {
            asyncio::EventLoop probe(backend);
        } catch (const concur::RuntimeError&) {
            r.skipped.push_back(fmt::format("{}: this kernel or container refuses io_uring", name));
            continue;
        }
        r.rows.push_back(measure(name, 1, settings.repeat, [&, backend = backend] {
            return asyncio::run(all_queries(wait), {.backend = backend});
        }));
    }
    for (Row& row : r.rows) row.checksum_ok = row.checksum_ok && row.checksum == r.rows[0].checksum;

    const Row* fastest = &r.rows.front();
    for (const Row& row : r.rows)
        if (row.wall().median < fastest->wall().median) fastest = &row;
    double floor = wait.count();
    r.verdict = fmt::format(
        "Waiting on I/O: {} is fastest at {:.3f} s ({:.1f}x sequential; the floor is one wait, "
        "{:.1f} s). Coroutines wait on one thread for all ten at once; a pool of {} threads needs "
        "{} rounds; sequential waits ten times.",
        fastest->method, fastest->wall().median, r.speedup(*fastest), floor, workers,
        (kQueries + workers - 1) / workers);
    return r;
}

}  // namespace concur_bench
