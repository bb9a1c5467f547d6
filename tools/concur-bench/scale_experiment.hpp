// The speedup curve: the CPU workload (seed 002's sums) on 1..2N workers
// (N cores, or --workers) as a thread pool and as a process pool.
#pragma once

#include "experiment.hpp"

namespace concur_bench {

inline const std::vector<std::string> kScaleMethods{"sequential", "threads", "processes"};

// Rows: sequential, then threads x1..x2N, then processes x1..x2N (the
// method names repeat; `workers` tells them apart). Sizes are scaled so
// sequential takes about half of settings.target_seconds.
Result run_scale(const Settings& settings);

}  // namespace concur_bench
