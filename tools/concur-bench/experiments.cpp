#include "experiments.hpp"

#include "cpu_experiment.hpp"
#include "fib_experiment.hpp"
#include "io_experiment.hpp"
#include "race_experiment.hpp"
#include "scale_experiment.hpp"
#include "sleep_experiment.hpp"

namespace concur_bench {

namespace {
template <class F>
std::function<std::vector<Result>(const Settings&)> one(F run) {
    return [run](const Settings& s) { return std::vector<Result>{run(s)}; };
}
}  // namespace

const std::vector<ExperimentInfo>& experiments() {
    static const std::vector<ExperimentInfo> all{
        {"cpu", "CPU-bound: sum of i*i over 20 numbers, 5 ways (seeds 000, 002)", kCpuMethods,
         run_cpu_experiments, 5},
        {"fib", "CPU-bound: fib(40) and fib(41), sequential, 2 threads, 2 processes (seed 002)",
         kFibMethods, one(run_fib), 3},
        {"io", "I/O-bound: 160 downloads, sequential, threads, asyncio, processes (seed 004)",
         kIoMethods, one(run_io), 4},
        {"sleep", "I/O-bound waiting: 10 queries that sleep, on each loop backend (seed 001)",
         kSleepMethods, one(run_sleep), 5},
        {"race", "a shared counter: unprotected, with a Lock, with an atomic (seed 004)",
         kRaceMethods, one(run_race), 4},
        {"scale", "speedup curve: the CPU workload on 1..2N threads and processes", kScaleMethods,
         one(run_scale), 9},
    };
    return all;
}

const ExperimentInfo* find_experiment(const std::string& name) {
    for (const ExperimentInfo& e : experiments())
        if (e.name == name) return &e;
    return nullptr;
}

}  // namespace concur_bench
