// concur's side of the mpi benchmarks (bench/mpi/run_all.py runs it beside
// mpi4py.futures, peers_mpi4py.py). One case per run, one JSON line out:
//
//   mpirun -n 1 bench_mpi map N CHUNKSIZE WORKERS [REPEATS]
//                                                   N trivial calls through map()
//                                                   (the median of REPEATS maps)
//   mpirun -n 1 bench_mpi rtt N 0 WORKERS         N calls one after another (round trip)
//   mpirun -n 1 bench_mpi cpu HOW_MANY BASE WORKERS the seed's cpu_bound over
//                                                   BASE..BASE+HOW_MANY-1: sequential
//                                                   in this process before the workers
//                                                   start, on as many plain threads
//                                                   (the machine's own limit), then
//                                                   on the workers
//   bench_mpi cpu-calibrate SECONDS                 prints the BASE for which 20
//                                                   sequential calls take SECONDS
//
// The workers are spawned (MPIPoolExecutor) and warmed up by a small map
// before the clock starts, as the peer does: start-up is not what is measured.
#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "concur/mpi.hpp"

namespace mpi = concur::mpi;
using Clock = std::chrono::steady_clock;

namespace {

template <class T>
inline void keep(T& v) {
    asm volatile("" : "+r"(v));
}

long trivial(long x) { return x + 1; }

__extension__ typedef unsigned __int128 uint128;

// The seed's cpu_bound: sum(i * i for i in range(number)), in 128 bits (the
// sums pass 2^64), returned as Python would print it.
std::string cpu_bound(long number) {
    uint128 sum = 0;
    for (long i = 0; i < number; ++i) {
        sum += static_cast<uint128>(static_cast<unsigned long>(i) * static_cast<unsigned long>(i));
        keep(i);
    }
    std::string digits;
    do {
        digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(sum % 10)));
        sum /= 10;
    } while (sum != 0);
    return digits;
}

// mpirun binds rank 0 (this process) to one core, and its threads inherit
// the binding; the sequential run and the reference threads may run on
// every core, as the spawned workers (not bound) do.
void unbind_this_thread() {
    cpu_set_t all;
    CPU_ZERO(&all);
    for (unsigned c = 0; c < std::thread::hardware_concurrency() && c < CPU_SETSIZE; ++c) CPU_SET(c, &all);
    pthread_setaffinity_np(pthread_self(), sizeof all, &all);
}

double seconds(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

int usage() {
    std::fprintf(stderr, "usage: bench_mpi map N CHUNKSIZE WORKERS | rtt N 0 WORKERS | cpu HOW_MANY BASE WORKERS | cpu-calibrate SECONDS\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    mpi::freeze_support();  // the spawned workers serve from here
    if (argc < 3) return usage();
    std::string what = argv[1];
    if (what == "cpu-calibrate") {
        double want = std::atof(argv[2]);
        long probe = 2000000;
        auto t0 = Clock::now();
        for (int k = 0; k < 3; ++k) cpu_bound(probe);
        double per_item = seconds(t0) / 3 / static_cast<double>(probe);
        std::printf("%ld\n", static_cast<long>(want / 20 / per_item));
        return 0;
    }
    if (argc != 5 && !(argc == 6 && what == "map")) return usage();
    long a = std::atol(argv[2]), b = std::atol(argv[3]);
    int workers = std::atoi(argv[4]);
    // The sequential run of the cpu case comes first, before any worker
    // exists: idle workers poll, and would share the cores with it.
    // Then the same work on `workers` plain threads, each taking every
    // workers-th number: what this machine gives two computations at once
    // right now, with no executor at all (the reference for the ratio).
    std::vector<long> numbers;
    std::vector<std::string> seq;
    double sequential = 0, plain_threads = 0;
    if (what == "cpu") {
        // Unbound for the sequential run too (then bound again, so that the
        // executor's threads start as they would): bound, it shares its one
        // core with whatever else the scheduler puts there while the other
        // core may sit idle.
        cpu_set_t bound;
        pthread_getaffinity_np(pthread_self(), sizeof bound, &bound);
        unbind_this_thread();
        for (long x = 0; x < a; ++x) numbers.push_back(b + x);
        auto t0 = Clock::now();
        for (long n : numbers) seq.push_back(cpu_bound(n));
        sequential = seconds(t0);
        std::vector<std::string> out(numbers.size());
        t0 = Clock::now();
        {
            std::vector<std::jthread> threads;
            for (int w = 0; w < workers; ++w)
                threads.emplace_back([&, w] {
                    unbind_this_thread();
                    for (std::size_t i = static_cast<std::size_t>(w); i < numbers.size(); i += static_cast<std::size_t>(workers))
                        out[i] = cpu_bound(numbers[i]);
                });
        }
        plain_threads = seconds(t0);
        pthread_setaffinity_np(pthread_self(), sizeof bound, &bound);
        if (out != seq) return 3;
    }
    mpi::MPIPoolExecutor ex{{.max_workers = workers}};
    // Warm: every worker up and serving, the functions' addresses resolved.
    {
        std::vector<long> warm(1000, 1);
        ex.map(trivial, warm, mpi::MapOptions{.chunksize = 10}).list();
    }
    if (what == "map") {
        std::vector<long> xs(static_cast<std::size_t>(a));
        std::iota(xs.begin(), xs.end(), 0L);
        // The median of `repeats` maps in this process (default 1).
        int repeats = argc > 5 ? std::max(1, std::atoi(argv[5])) : 1;
        std::vector<double> times;
        bool ok = true;
        for (int r = 0; r < repeats; ++r) {
            auto t0 = Clock::now();
            std::vector<long> out =
                ex.map(trivial, xs, mpi::MapOptions{.chunksize = static_cast<std::size_t>(b)}).list();
            times.push_back(seconds(t0));
            ok = ok && out.size() == xs.size() && out.back() == a;
        }
        std::sort(times.begin(), times.end());
        double s = times[times.size() / 2];
        std::printf("{\"impl\": \"concur\", \"case\": \"map\", \"n\": %ld, \"chunksize\": %ld, \"workers\": %d, "
                    "\"seconds\": %.6f, \"ok\": %s}\n",
                    a, b, workers, s, ok ? "true" : "false");
    } else if (what == "rtt") {
        auto t0 = Clock::now();
        for (long i = 0; i < a; ++i) {
            auto f = ex.submit(trivial, i);
            // Future::result() would do; wait_done sidesteps the waker spin
            // described in map_result.hpp, so that this measures MPI.
            mpi::detail::wait_done(f, std::chrono::hours(1));
            f.result();
        }
        double s = seconds(t0);
        std::printf("{\"impl\": \"concur\", \"case\": \"rtt\", \"n\": %ld, \"workers\": %d, \"seconds\": %.6f, "
                    "\"us_per_call\": %.2f}\n",
                    a, workers, s, s / static_cast<double>(a) * 1e6);
    } else if (what == "cpu") {
        auto t0 = Clock::now();
        std::vector<std::string> par = ex.map(cpu_bound, numbers, mpi::MapOptions{.chunksize = 1}).list();
        double parallel = seconds(t0);
        std::printf("{\"impl\": \"concur\", \"case\": \"cpu\", \"n\": %ld, \"base\": %ld, \"workers\": %d, "
                    "\"sequential\": %.6f, \"plain_threads\": %.6f, \"seconds\": %.6f, \"ok\": %s}\n",
                    a, b, workers, sequential, plain_threads, parallel, seq == par ? "true" : "false");
    } else {
        return usage();
    }
}
