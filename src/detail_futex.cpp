#include "concur/detail/futex.hpp"

#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <ctime>

namespace concur::detail {

bool futex_wait(std::atomic<uint32_t>& word, uint32_t expected,
                const Clock::time_point* deadline) noexcept {
    static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t));
    timespec ts{};
    timespec* tsp = nullptr;
    if (deadline) {
        auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      deadline->time_since_epoch())
                      .count();
        if (ns < 0) ns = 0;
        ts.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
        ts.tv_nsec = static_cast<long>(ns % 1'000'000'000);
        tsp = &ts;
    }
    // FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline, which is
    // what steady_clock measures on Linux.
    long rc = syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word),
                      FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, expected, tsp, nullptr,
                      FUTEX_BITSET_MATCH_ANY);
    if (rc == -1 && errno == ETIMEDOUT) return false;
    return true;
}

void futex_wake(std::atomic<uint32_t>& word, int count) noexcept {
    syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAKE | FUTEX_PRIVATE_FLAG,
            count, nullptr, nullptr, 0);
}

void await_flag(const std::atomic<bool>& flag) noexcept {
    for (int spins = 0; !flag.load(std::memory_order_acquire); ++spins) {
        if (spins < 64) cpu_relax();
        else sched_yield();
    }
}

}  // namespace concur::detail
