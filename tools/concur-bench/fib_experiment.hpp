// Seed 002's "CPU-bound work: threads are no better" experiment: fib(40) and
// fib(41), one after the other, on two threads, and on two processes.
#pragma once

#include "experiment.hpp"

namespace concur_bench {

inline const std::vector<std::string> kFibMethods{"sequential", "threads", "processes"};

// By default the pair (n, n+1) is chosen so the sequential run takes about
// settings.target_seconds; --seed-sizes runs the seed's (40, 41).
Result run_fib(const Settings& settings);

}  // namespace concur_bench
