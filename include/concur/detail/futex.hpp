// Parking a thread on a 32-bit atomic word: a thin layer over Linux futexes.
//
// Used instead of std::atomic::wait because concur needs deadlines (Python's
// every blocking call takes a timeout) and because callers keep their own
// "someone is waiting" bit, so the uncontended path never enters the kernel.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace concur::detail {

using Clock = std::chrono::steady_clock;  // CLOCK_MONOTONIC on Linux

// Blocks while `word` holds `expected`, until woken, until `deadline` passes,
// or spuriously. Returns false only when the deadline has passed. Callers
// re-check their condition in a loop in every case.
bool futex_wait(std::atomic<uint32_t>& word, uint32_t expected,
                const Clock::time_point* deadline = nullptr) noexcept;

// Wakes at most `count` threads parked on `word` (INT32_MAX for all).
void futex_wake(std::atomic<uint32_t>& word, int count) noexcept;

inline void futex_wake_all(std::atomic<uint32_t>& word) noexcept {
    futex_wake(word, 0x7fffffff);
}

// A CPU hint for busy-wait loops.
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}

// Waits for `flag` to become true when another thread is about to set it
// (it has already been scheduled to, e.g. a waker detached for firing).
// Spins briefly, then yields the CPU: the setter may be preempted on this
// very core, and pure spinning would burn our whole time slice (milliseconds
// on a loaded 2-core machine) before it runs again.
void await_flag(const std::atomic<bool>& flag) noexcept;

}  // namespace concur::detail
