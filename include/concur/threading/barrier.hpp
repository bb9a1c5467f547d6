// threading.Barrier: `parties` threads wait until all of them have arrived,
// then all go on together. Reusable: once released it fills up again.
//
// A port of CPython's Barrier, state machine and all:
//   filling   threads arrive; the last one runs `action`, then -> draining
//   draining  the released threads leave; the last out -> filling
//   resetting reset() while threads wait: they leave with BrokenBarrierError;
//             the last out -> filling
//   broken    abort(), a timeout, or a throwing action: every wait(), now
//             and later, throws BrokenBarrierError until reset()
// Threads that arrive while it drains or resets wait for the next round.
//
// Thread safety: any member from any thread. Not movable.
#pragma once

#include <chrono>
#include <functional>
#include <optional>

#include "concur/threading/condition.hpp"
#include "concur/threading/lock.hpp"

namespace concur::threading {

class Barrier {
public:
    // `action` (optional) runs in the last arriving thread before the others
    // are released. `timeout` (optional) is the default for wait(). Throws
    // ValueError if parties < 1.
    explicit Barrier(int parties, std::function<void()> action = {},
                     std::optional<std::chrono::nanoseconds> timeout = std::nullopt);
    Barrier(const Barrier&) = delete;
    Barrier& operator=(const Barrier&) = delete;

    // Blocks until `parties` threads have called wait(); returns this thread's
    // arrival index, 0 .. parties-1 (Python's return value: pick one thread
    // with `if (b.wait() == 0)`). Throws BrokenBarrierError if the barrier is
    // or becomes broken or reset while waiting, or if the timeout (this one,
    // else the constructor's) passes, which breaks it for all. In the thread
    // that runs `action`, an exception from it breaks the barrier and
    // propagates; ValueError for a negative timeout.
    int wait() { return wait_impl(timeout_); }
    template <class Rep, class Period>
    int wait(std::chrono::duration<Rep, Period> timeout) {
        if (timeout < timeout.zero()) throw ValueError("timeout must be a non-negative duration");
        // A century or more is forever (and would overflow nanoseconds).
        if (std::chrono::duration<double>(timeout) >= std::chrono::hours(24 * 365 * 100))
            return wait_impl(std::nullopt);
        return wait_impl(std::chrono::ceil<std::chrono::nanoseconds>(timeout));
    }

    // Back to the empty, unbroken state; threads waiting now get
    // BrokenBarrierError. Blocks only on the internal lock.
    void reset();
    // Breaks the barrier: every current and future wait() throws
    // BrokenBarrierError until reset(). Blocks only on the internal lock.
    void abort();

    int parties() const noexcept { return parties_; }
    // Threads waiting in the current round (0 while draining/resetting/broken).
    int n_waiting();
    bool broken();

private:
    enum class State { filling, draining, resetting, broken };

    int wait_impl(std::optional<std::chrono::nanoseconds> timeout);
    void enter();
    void release_all();
    void wait_release(std::optional<std::chrono::nanoseconds> timeout);
    void exit();
    void break_barrier();

    Lock lock_;
    Condition cond_{lock_};
    std::function<void()> action_;
    std::optional<std::chrono::nanoseconds> timeout_;
    int parties_;
    State state_ = State::filling;  // guarded by lock_
    int count_ = 0;                  // threads inside wait(); guarded by lock_
};

}  // namespace concur::threading
