// The seeds' CPU-bound experiment (seed 000, seed 002): sum of i*i for
// i < n over 20 numbers n = base + x, sequentially and concurrently.
#pragma once

#include "experiment.hpp"

namespace concur_bench {

// Seed 002 uses base 5,000,000, seed 000 uses 1,000,000.
Result run_cpu(const Settings& settings, uint64_t seed_base = 5'000'000);

}  // namespace concur_bench
