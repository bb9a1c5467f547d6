// Seed 001's experiment: 10 queries that each wait (sleep) to mimic a
// database call, run sequentially, on a process pool, on a thread pool, and
// as asyncio tasks on each event-loop backend (the seed's asyncio and
// asyncio+uvloop rows).
#pragma once

#include "experiment.hpp"

namespace concur_bench {

inline const std::vector<std::string> kSleepMethods{"sequential", "processes", "threads", "asyncio",
                                                    "asyncio-io_uring", "asyncio-epoll"};

// The seed sleeps 1 s per query; by default the bench sleeps 0.1 s (the
// ratios are the same, the run ten times shorter); --seed-sizes uses 1 s.
// "asyncio" in --methods selects both loop rows.
Result run_sleep(const Settings& settings);

}  // namespace concur_bench
