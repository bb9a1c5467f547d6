// Seed 004's race condition: 5,000 calls, each adding 1 to a shared counter
// 100 times, on ThreadPoolExecutor(max_workers=5000). Rows: the same work on
// one thread (the expected count, and the baseline), unprotected (updates
// lost, shown without undefined behaviour), with a Lock, with an atomic.
#pragma once

#include "experiment.hpp"

namespace concur_bench {

inline const std::vector<std::string> kRaceMethods{"sequential", "unprotected", "lock", "atomic"};

struct RaceSize {
    int calls = 5000;      // the seed's fake_data and max_workers
    int increments = 100;  // per call
};

// The seed's sizes always (they take well under a second); --tiny: 200 x 100.
Result run_race(const Settings& settings);

// One way each; returns the counter's final value (exposed for tests).
uint64_t race_unprotected(RaceSize size);
uint64_t race_lock(RaceSize size);
uint64_t race_atomic(RaceSize size);

}  // namespace concur_bench
