// How a thread that waits for futures sleeps and is woken.
//
//   waiting thread                          completing thread
//   --------------                          -----------------
//   seq = parker.seq                        future settles
//   install Wakers on the futures  <------  each Waker calls parker.unpark()
//   re-check the condition                    (seq += 1, futex wake)
//   park(seq, deadline)
//
// Every thread has one Parker. A thread-pool worker's Parker is its pool
// parking spot, and parking there *runs other pool jobs* while it waits:
// that is why Future::result() on a worker whose pool is saturated cannot
// deadlock, unlike Python's.
#pragma once

#include <atomic>
#include <cstdint>

#include "concur/detail/deadline.hpp"
#include "concur/detail/futex.hpp"

namespace concur::detail {

class Parker {
public:
    // seq: bumped by 2 on every unpark(); bit 0 (kSleeping) is set while the
    // owner is (about to be) blocked in the kernel, so that unpark() makes a
    // futex syscall only when someone sleeps. A park(seen) that observes a
    // change returns at once: a wake between the caller's check and its
    // sleep is never lost.
    std::atomic<uint32_t> seq{0};
    static constexpr uint32_t kSleeping = 1;

    uint32_t prepare() const noexcept { return seq.load(std::memory_order_acquire) & ~kSleeping; }

    // Wakes the owner if it is parked, or makes its next park() return.
    // Any thread; never blocks.
    void unpark() noexcept {
        if (seq.fetch_add(2, std::memory_order_acq_rel) & kSleeping) futex_wake(seq, 1);
    }

    // Sleeps until unpark() after prepare() returned `seen`, the deadline
    // passes, or spuriously. A pool worker may run queued jobs instead of
    // sleeping (and returns after each). Owner thread only.
    void park(uint32_t seen, const Deadline& deadline);

    // The kernel-sleep part of park(), without helping. Owner thread only.
    void sleep(uint32_t seen, const Deadline& deadline) noexcept {
        uint32_t expected = seen;
        if (!seq.compare_exchange_strong(expected, seen | kSleeping, std::memory_order_acq_rel,
                                         std::memory_order_acquire))
            return;  // unparked since prepare()
        futex_wait(seq, seen | kSleeping, deadline.get());
        seq.fetch_and(~kSleeping, std::memory_order_acq_rel);
    }

    // Set by a thread-pool worker for its own Parker; null for other threads.
    class Helper {
    public:
        virtual void help_or_park(Parker& p, uint32_t seen, const Deadline& d) = 0;
        // Runs one queued job if there is one; returns whether it did.
        virtual bool try_help() = 0;

    protected:
        ~Helper() = default;
    };
    Helper* helper = nullptr;
};

// The calling thread's Parker.
Parker& current_parker() noexcept;

// Pool workers install their own Parker for the life of the thread.
void set_current_parker(Parker* p) noexcept;

}  // namespace concur::detail
