// Micro-benchmarks of concur's futures hot paths, so a change that slows one
// down shows up. Peers are compared in bench_peers_thread_pool.
//
//   ./bench_futures --benchmark_repetitions=5 --benchmark_report_aggregates_only
#include <benchmark/benchmark.h>

#include <thread>
#include <vector>

#include "concur/futures.hpp"

namespace futures = concur::futures;

namespace {

unsigned cores() {
    unsigned n = std::thread::hardware_concurrency();
    return n ? n : 1;
}

// submit + result() from a foreign thread: the latency of one round trip
// (inject, wake or find a worker, run, settle, wake the caller).
void BM_SubmitResult(benchmark::State& state) {
    futures::ThreadPoolExecutor ex{{.max_workers = static_cast<std::size_t>(state.range(0))}};
    int i = 0;
    for (auto _ : state) benchmark::DoNotOptimize(ex.submit([i] { return i + 1; }).result());
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SubmitResult)->Arg(1)->Arg(static_cast<int>(cores()))->UseRealTime();

// Submit N calls, then futures::wait on all: the throughput of a burst.
void BM_SubmitNThenWait(benchmark::State& state) {
    futures::ThreadPoolExecutor ex{{.max_workers = cores()}};
    const auto n = static_cast<int>(state.range(0));
    std::vector<futures::Future<int>> fs;
    for (auto _ : state) {
        fs.clear();
        fs.reserve(static_cast<std::size_t>(n));
        for (int i = 0; i < n; ++i) fs.push_back(ex.submit([i] { return i; }));
        futures::wait(fs);
    }
    state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_SubmitNThenWait)->Arg(1'000)->Arg(100'000)->UseRealTime()->Unit(benchmark::kMicrosecond);

// One thread, no pool: the cost of the shared state itself.
void BM_PromiseSetGet(benchmark::State& state) {
    for (auto _ : state) {
        futures::Promise<int> p;
        auto f = p.get_future();
        p.set_result(42);
        benchmark::DoNotOptimize(f.result());
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PromiseSetGet);

// A callback registered on a pending future, fired by set_result().
void BM_AddDoneCallbackPending(benchmark::State& state) {
    int fired = 0;
    for (auto _ : state) {
        futures::Promise<int> p;
        auto f = p.get_future();
        f.add_done_callback([&fired](futures::Future<int>&) { ++fired; });
        p.set_result(1);
    }
    benchmark::DoNotOptimize(fired);
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AddDoneCallbackPending);

// A callback registered on a settled future runs at once on this thread.
void BM_AddDoneCallbackDone(benchmark::State& state) {
    auto f = futures::make_ready_future<int>(1);
    int fired = 0;
    for (auto _ : state) f.add_done_callback([&fired] { ++fired; });
    benchmark::DoNotOptimize(fired);
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AddDoneCallbackDone);

// as_completed over 10,000 pool futures, consumed as they settle.
void BM_AsCompletedPool10k(benchmark::State& state) {
    futures::ThreadPoolExecutor ex{{.max_workers = cores()}};
    constexpr int kN = 10'000;
    for (auto _ : state) {
        std::vector<futures::Future<int>> fs;
        fs.reserve(kN);
        for (int i = 0; i < kN; ++i) fs.push_back(ex.submit([i] { return i; }));
        long sum = 0;
        for (auto& f : futures::as_completed(fs)) sum += f.result();
        benchmark::DoNotOptimize(sum);
    }
    state.SetItemsProcessed(state.iterations() * kN);
}
BENCHMARK(BM_AsCompletedPool10k)->UseRealTime()->Unit(benchmark::kMicrosecond);

// as_completed over 10,000 futures that are already settled: the iterator's
// own overhead (dedup, registration, completion-order bookkeeping).
void BM_AsCompletedReady10k(benchmark::State& state) {
    constexpr int kN = 10'000;
    std::vector<futures::Future<int>> fs;
    for (int i = 0; i < kN; ++i) fs.push_back(futures::make_ready_future<int>(i));
    for (auto _ : state) {
        long sum = 0;
        for (auto& f : futures::as_completed(fs)) sum += f.result();
        benchmark::DoNotOptimize(sum);
    }
    state.SetItemsProcessed(state.iterations() * kN);
}
BENCHMARK(BM_AsCompletedReady10k)->Unit(benchmark::kMicrosecond);

// map() over 100,000 tiny calls: chunksize trades per-item overhead for
// load balance.
void BM_MapChunksize(benchmark::State& state) {
    futures::ThreadPoolExecutor ex{{.max_workers = cores()}};
    std::vector<int> xs(100'000);
    for (int i = 0; i < static_cast<int>(xs.size()); ++i) xs[static_cast<std::size_t>(i)] = i;
    const auto chunk = static_cast<std::size_t>(state.range(0));
    for (auto _ : state) {
        long sum = 0;
        for (int r : ex.map([](int x) { return x * 2; }, xs, futures::MapOptions{.chunksize = chunk}))
            sum += r;
        benchmark::DoNotOptimize(sum);
    }
    state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(xs.size()));
}
BENCHMARK(BM_MapChunksize)->Arg(1)->Arg(16)->Arg(256)->Arg(4096)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
