#include "sizes.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <ctime>

#include "workload.hpp"

namespace concur_bench {

double thread_cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}

CpuSize cpu_size(const Settings& s, uint64_t seed_base, double target) {
    CpuSize size;
    if (s.tiny) {
        size.base = 20'000;
        size.note = "tiny sizes (--tiny): n = 20000 + x";
        return size;
    }
    size.base = seed_base;
    if (s.seed_sizes) return size;
    // Time the seed's size once (20 numbers), then scale n linearly. This
    // thread's CPU time, not wall time: on a busy machine the wall clock
    // would count other programs' turns and make the sizes too small.
    double t0 = thread_cpu_seconds();
    uint64_t sink = 0;
    for (uint64_t x = 0; x < 20; ++x) sink += cpu_bound(seed_base + x);
    asm volatile("" : : "r"(sink));
    double once = thread_cpu_seconds() - t0;
    size.factor = std::max<uint64_t>(1, uint64_t(target / std::max(once, 1e-6) + 0.5));
    size.base = seed_base * size.factor;
    size.note = fmt::format(
        "sizes scaled x{} (n = {} + x; the seed's n = {} + x took {:.3f} s here) so that the "
        "sequential run takes about {:.1f} s; --seed-sizes runs the seed's sizes",
        size.factor, size.base, seed_base, once, target);
    return size;
}

std::optional<concur::multiprocessing::Context> mp_context(const Settings& s) {
    if (s.start_method.empty()) return std::nullopt;
    return concur::multiprocessing::get_context(s.start_method);
}

}  // namespace concur_bench
