// threading.Semaphore and threading.BoundedSemaphore: a counter that
// acquire() decrements, blocking while it is zero, and release() increments.
//
// Meets the std Lockable requirements (lock/unlock/try_lock), so a
// std::lock_guard holds one unit, as Python's `with sem:`.
//
// Thread safety: any member from any thread at the same time; release()
// need not come from a thread that acquired. Not movable. Wake-ups are not
// FIFO (nor are they in CPython).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "concur/detail/deadline.hpp"
#include "concur/errors.hpp"

namespace concur::threading {

class Semaphore {
public:
    // Throws ValueError for a negative value, or one above UINT32_MAX.
    explicit Semaphore(long long value = 1) : Semaphore(value, false) {}
    Semaphore(const Semaphore&) = delete;
    Semaphore& operator=(const Semaphore&) = delete;

    // Blocks until the counter is positive, then decrements it; returns true.
    bool acquire() { return try_lock() || acquire_slow(concur::detail::Deadline()); }
    // acquire(false) decrements only if the counter is positive now.
    bool acquire(bool blocking) { return blocking ? acquire() : try_lock(); }
    // Blocks at most `timeout`: false if the counter stayed zero that long.
    // Throws ValueError for a negative timeout.
    template <class Rep, class Period>
    bool acquire(std::chrono::duration<Rep, Period> timeout) {
        concur::detail::Deadline d(timeout);
        return try_lock() || acquire_slow(d);
    }

    // Adds `n` to the counter and wakes up to `n` waiters. Never blocks; any
    // thread. Throws ValueError if n < 1, if the counter would overflow, and
    // for a BoundedSemaphore if it would pass the initial value ("Semaphore
    // released too many times"); the counter is unchanged then.
    void release(int n = 1);

    void lock() { acquire(); }
    void unlock() { release(); }
    bool try_lock() noexcept {
        uint32_t v = value_.load(std::memory_order_relaxed);
        while (v != 0)
            if (value_.compare_exchange_weak(v, v - 1, std::memory_order_acquire,
                                             std::memory_order_relaxed))
                return true;
        return false;
    }

protected:
    Semaphore(long long value, bool bounded);

private:
    bool acquire_slow(const concur::detail::Deadline& d);

    // The counter: its value is the number of acquire() calls that may
    // succeed without blocking. Sleepers park on it while it reads 0.
    std::atomic<uint32_t> value_{0};
    // How many threads are in, or about to enter, a futex wait on value_:
    // release() skips the wake syscall while it reads 0.
    std::atomic<uint32_t> sleepers_{0};
    uint32_t bound_;   // the most value_ may reach through release()
    bool bounded_;     // whether passing bound_ is Python's ValueError
};

// Python's threading.BoundedSemaphore: release() past the initial value is a
// ValueError, which catches a release() without a matching acquire().
class BoundedSemaphore : public Semaphore {
public:
    explicit BoundedSemaphore(long long value = 1) : Semaphore(value, true) {}
};

}  // namespace concur::threading
