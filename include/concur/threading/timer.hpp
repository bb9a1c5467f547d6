// threading.Timer: a Thread that calls a function after an interval, unless
// cancelled first.
//
//   start() -> new thread: wait on `cancelled` for the interval
//                          then fate 0 -> 1 (CAS) ? f(args...) : nothing
//   cancel() ------------> fate 0 -> 2 (CAS), set `cancelled`
//
// The compare-and-swap on `fate` is the single decision point, so cancel()
// and the interval's end can race without f running after a cancel() that
// returned true.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <utility>

#include "concur/threading/event.hpp"
#include "concur/threading/thread.hpp"

namespace concur::threading {

namespace detail {

struct TimerState {
    Event cancelled;
    // 0 pending; 1 fired: f runs or has run; 2 cancelled: f never runs.
    std::atomic<uint32_t> fate{0};
};

// The timer thread's whole life (src/threading/timer.cpp).
void run_timer(TimerState& st, std::chrono::nanoseconds interval, Task& fn);

template <class Rep, class Period>
std::chrono::nanoseconds timer_interval(std::chrono::duration<Rep, Period> d) {
    using namespace std::chrono;
    // Python fires a Timer with a negative interval at once; a century is forever.
    constexpr hours kForever{24 * 365 * 100};
    if (d <= d.zero()) return nanoseconds::zero();
    if (duration<double>(d) >= duration<double>(kForever)) return kForever;
    return ceil<nanoseconds>(d);
}

}  // namespace detail

// Python's threading.Timer(interval, function, args). Like every Thread it
// runs once start() is called; name() and daemon() are set as for a Thread.
// Destroying a started, non-daemon Timer waits for it to fire: cancel() first
// to avoid that.
class Timer : public Thread {
public:
    template <class Rep, class Period, class F, class... Args>
        requires thread_target<F, Args...>
    Timer(std::chrono::duration<Rep, Period> interval, F&& f, Args&&... args)
        : Timer(std::make_shared<detail::TimerState>(), detail::timer_interval(interval),
                detail::make_task(std::forward<F>(f), std::forward<Args>(args)...)) {}

    ~Timer() override { finalize(); }

    // Stops the timer if it has not fired yet. Returns true if this call
    // stopped it (the function will never run), false if it had already fired
    // or been cancelled. Never blocks; any thread, before or after start().
    bool cancel() noexcept {
        uint32_t expected = 0;
        bool stopped = timer_->fate.compare_exchange_strong(expected, 2, std::memory_order_acq_rel);
        timer_->cancelled.set();
        return stopped;
    }

private:
    Timer(std::shared_ptr<detail::TimerState> st, std::chrono::nanoseconds interval,
          std::unique_ptr<detail::Task> fn)
        : Thread([st, interval, fn = std::move(fn)] { detail::run_timer(*st, interval, *fn); }),
          timer_(std::move(st)) {}

    std::shared_ptr<detail::TimerState> timer_;
};

}  // namespace concur::threading
