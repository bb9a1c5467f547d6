// The seeds' CPU-bound experiment (seed 000, seed 002): sum of i*i for
// i < n over 20 numbers n = base + x, sequentially and concurrently.
#pragma once

#include <vector>

#include "experiment.hpp"

namespace concur_bench {

inline const std::vector<std::string> kCpuMethods{"sequential", "threads", "asyncio", "processes",
                                                  "thread-pool"};

// Seed 002 uses base 5,000,000, seed 000 uses 1,000,000. `name` is the
// result's name ("cpu", or "cpu-000" for seed 000's size).
Result run_cpu(const Settings& settings, uint64_t seed_base = 5'000'000,
               const std::string& name = "cpu");

// The default run: seed 002's workload, scaled; under --seed-sizes both
// seeds' sizes, seed 002's then seed 000's.
std::vector<Result> run_cpu_experiments(const Settings& settings);

// The sums, one way each (exposed for the scale experiment and tests).
std::vector<uint64_t> numbers_from(uint64_t base, uint64_t count = 20);
uint64_t cpu_sequential(const std::vector<uint64_t>& numbers);
uint64_t cpu_thread_pool(const std::vector<uint64_t>& numbers, unsigned workers);
uint64_t cpu_process_pool(const Settings& settings, const std::vector<uint64_t>& numbers,
                          unsigned workers);

}  // namespace concur_bench
