// Seed 004's I/O-bound experiment: 160 downloads (two sites x 80) --
// sequential Session, ThreadPoolExecutor(5), asyncio ClientSession,
// multiprocessing Pool with an initializer -- against the local site server
// (--latency per request, default 50 ms) or the --url sites a user gives.
#pragma once

#include "experiment.hpp"

namespace concur_bench {

inline const std::vector<std::string> kIoMethods{"sequential", "threads", "asyncio", "processes"};

// The list of downloads: `sites` repeated `times` times, as the seed's
// `[a, b] * 80`.
std::vector<std::string> io_downloads(const std::vector<std::string>& sites, int times);

Result run_io(const Settings& settings);

}  // namespace concur_bench
