// How an MPI executor's threads wait for messages. MPI has no descriptor to
// block on, and Open MPI's blocking receive spins a core at 100%, which on a
// small machine takes the core from the workers; so both ends poll: yielding
// for the first kSpin after the last message (a reply to a short call comes
// within microseconds), then sleeping longer and longer, up to the caller's
// cap: kMaxSleep while calls are outstanding, kIdleWorkerSleep for a worker
// with nothing to do. reset() starts over whenever something arrived.
#pragma once

#include <sched.h>
#include <sys/prctl.h>

#include <algorithm>
#include <chrono>
#include <thread>

namespace concur::mpi::detail {

// For the life of a polling loop, the calling thread's sleeps end within a
// microsecond of when they are due instead of Linux's default 50 us slack:
// otherwise every short wait above is a 50 us one.
class PreciseSleep {
public:
    PreciseSleep() : saved_(::prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0)) { ::prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0); }
    ~PreciseSleep() {
        if (saved_ > 0) ::prctl(PR_SET_TIMERSLACK, static_cast<unsigned long>(saved_), 0, 0, 0);
    }
    PreciseSleep(const PreciseSleep&) = delete;
    PreciseSleep& operator=(const PreciseSleep&) = delete;

private:
    long saved_;
};

class Backoff {
public:
    static constexpr std::chrono::microseconds kSpin{20};
    static constexpr std::chrono::microseconds kMaxSleep{250};
    // A worker with no call to run: each look at the wire costs ~30 us of
    // a core on this VM (a wake-up, the probes), taken from whatever else
    // runs there; at 1 ms apart (mpi4py.futures' backoff too) an idle
    // worker costs ~3% of a core instead of ~12%, and since a sleep is a
    // quarter of the time idle so far, only a worker idle for 4 ms or more
    // is that slow to see its next call.
    static constexpr std::chrono::microseconds kIdleWorkerSleep{1000};

    void reset() noexcept { idle_since_ = {}; }
    // The wait before the next poll (zero: just yield), at most `cap`.
    std::chrono::microseconds next(std::chrono::microseconds cap = kMaxSleep) noexcept {
        auto now = std::chrono::steady_clock::now();
        if (idle_since_ == std::chrono::steady_clock::time_point{}) idle_since_ = now;
        auto idle = std::chrono::duration_cast<std::chrono::microseconds>(now - idle_since_);
        if (idle < kSpin) return std::chrono::microseconds(0);
        // Sleep about a quarter of the time idle so far: short waits stay short.
        return std::clamp(idle / 4, std::chrono::microseconds(5), std::max(cap, std::chrono::microseconds(5)));
    }
    void wait(std::chrono::microseconds cap = kMaxSleep) {
        auto d = next(cap);
        if (d.count() == 0) {
            sched_yield();
        } else {
            std::this_thread::sleep_for(d);
        }
    }

private:
    std::chrono::steady_clock::time_point idle_since_{};
};

}  // namespace concur::mpi::detail
