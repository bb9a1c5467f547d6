// concur's side of the asyncio benchmarks (bench/asyncio/run_peers.sh runs it
// beside Boost.Asio, Python asyncio and uvloop, and a plain C epoll server):
//
//   bench_asyncio tasks [N] [REPEAT]     create_task + gather of N trivial tasks
//   bench_asyncio sleep                  gather of 10 sleep(1 s): wall time
//   bench_asyncio task-memory [N]        RSS growth per parked trivial task
//   bench_asyncio echo-server PORT       the streams echo server (one loop thread)
//   bench_asyncio idle-connections [N]   RSS growth per idle connection parked in read()
//
// Each prints one JSON object per line; CONCUR_LOOP picks the loop backend.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "concur/asyncio.hpp"

namespace asyncio = concur::asyncio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

long rss_bytes() {
    long pages = 0, resident = 0;
    if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
        if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
        std::fclose(f);
    }
    return resident * sysconf(_SC_PAGESIZE);
}

std::string backend() {
    asyncio::EventLoop loop;
    return std::string(loop.backend_name());
}

// ---- tasks ------------------------------------------------------------------

asyncio::Task<long> trivial(long i) { co_return i; }

asyncio::Task<long> spawn_and_gather(long n) {
    std::vector<asyncio::Task<long>> tasks;
    tasks.reserve(n);
    for (long i = 0; i < n; ++i) tasks.push_back(asyncio::create_task(trivial(i)));
    auto results = co_await asyncio::gather(std::move(tasks));
    long sum = 0;
    for (long r : results) sum += r;
    co_return sum;
}

int run_tasks(long n, int repeat) {
    std::vector<double> rates;
    for (int r = 0; r < repeat; ++r) {
        auto t0 = Clock::now();
        long sum = asyncio::run(spawn_and_gather(n));
        double s = seconds_since(t0);
        if (sum != n * (n - 1) / 2) {
            std::fprintf(stderr, "bench_asyncio tasks: wrong sum %ld\n", sum);
            return 1;
        }
        rates.push_back(n / s);
    }
    std::printf("{\"bench\":\"tasks\",\"backend\":\"%s\",\"tasks\":%ld,\"median_tasks_per_s\":%.0f,"
                "\"min\":%.0f,\"max\":%.0f}\n",
                backend().c_str(), n, median(rates), *std::min_element(rates.begin(), rates.end()),
                *std::max_element(rates.begin(), rates.end()));
    return 0;
}

// ---- sleep ------------------------------------------------------------------

asyncio::Task<> sleep_one() { co_await asyncio::sleep(1s); }

asyncio::Task<> gather_ten_sleeps() {
    std::vector<asyncio::Task<>> tasks;
    for (int i = 0; i < 10; ++i) tasks.push_back(sleep_one());
    co_await asyncio::gather(std::move(tasks));
}

int run_sleep(int repeat) {
    std::vector<double> walls;
    for (int r = 0; r < repeat; ++r) {
        auto t0 = Clock::now();
        asyncio::run(gather_ten_sleeps());
        walls.push_back(seconds_since(t0));
    }
    std::printf("{\"bench\":\"sleep\",\"backend\":\"%s\",\"median_s\":%.6f,\"max_s\":%.6f}\n", backend().c_str(),
                median(walls), *std::max_element(walls.begin(), walls.end()));
    return 0;
}

// ---- memory of parked tasks --------------------------------------------------

asyncio::Task<> parked(asyncio::Future<> gate) { co_await gate; }

// Two batches of n parked tasks; only the second is measured, so that the
// loop's ready queue (grown once to hold n wake-ups, then reused) is not
// charged to the tasks. The handles' vector is counted: a program keeps its
// tasks somewhere.
asyncio::Task<> park_many(long n, long* growth) {
    asyncio::Future<> gate;
    std::vector<asyncio::Task<>> first, second;
    first.reserve(n);
    for (long i = 0; i < n; ++i) first.push_back(asyncio::create_task(parked(gate)));
    co_await asyncio::sleep(0s);  // every task runs to its co_await and parks
    long before = rss_bytes();
    second.reserve(n);
    for (long i = 0; i < n; ++i) second.push_back(asyncio::create_task(parked(gate)));
    co_await asyncio::sleep(0s);
    *growth = rss_bytes() - before;
    gate.set_result();
    co_await asyncio::gather(std::move(first));
    co_await asyncio::gather(std::move(second));
}

int run_task_memory(long n) {
    long growth = 0;
    asyncio::run(park_many(n, &growth));
    std::printf("{\"bench\":\"task-memory\",\"tasks\":%ld,\"rss_bytes_per_task\":%.1f}\n", n,
                static_cast<double>(growth) / n);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::string cmd = argc > 1 ? argv[1] : "";
    auto arg = [&](int i, long def) { return argc > i ? std::atol(argv[i]) : def; };
    try {
        if (cmd == "tasks") return run_tasks(arg(2, 1'000'000), static_cast<int>(arg(3, 5)));
        if (cmd == "sleep") return run_sleep(static_cast<int>(arg(2, 1)));
        if (cmd == "task-memory") return run_task_memory(arg(2, 100'000));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_asyncio %s: %s\n", cmd.c_str(), e.what());
        return 1;
    }
    std::fprintf(stderr, "usage: bench_asyncio tasks [N] [REPEAT] | sleep [REPEAT] | task-memory [N]\n");
    return 2;
}
