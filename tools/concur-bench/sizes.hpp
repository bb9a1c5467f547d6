// How big each experiment's work is: the seeds' sizes (--seed-sizes), sizes
// scaled so a sequential run takes about --target seconds (the default:
// C++ finishes the seeds' CPU sizes too quickly to time well), or tiny sizes
// for tests (--tiny).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "concur/multiprocessing/context.hpp"
#include "experiment.hpp"

namespace concur_bench {

struct CpuSize {
    uint64_t base = 0;     // numbers are base + x, x < count
    uint64_t factor = 1;   // base / the seed's base
    std::string note;      // says how it was scaled; empty at the seed's size
};

// Seed 002 uses base 5,000,000, seed 000 1,000,000. `target` overrides
// settings.target_seconds (scale runs shorter).
CpuSize cpu_size(const Settings& s, uint64_t seed_base, double target);

// The calling thread's CPU time, for calibrating sizes on a busy machine.
double thread_cpu_seconds();

// The processes' start method: settings.start_method, or concur's default.
std::optional<concur::multiprocessing::Context> mp_context(const Settings& s);

}  // namespace concur_bench
