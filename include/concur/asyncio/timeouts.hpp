// Python's asyncio.timeout / timeout_at (3.11): a deadline over a stretch of
// work in the *current* task. C++ has no `async with`, so the stretch is a
// coroutine:
//
//   co_await asyncio::timeout(2s, fetch(url));            // Task<T> body
//   co_await asyncio::timeout(2s, [&](asyncio::Timeout& cm) -> asyncio::Task<> {
//       cm.reschedule(asyncio::Clock::now() + 5s); ... });
//
// When the deadline passes, the task is cancelled; the CancelledError that
// ends the body is turned into TimeoutError at the scope's end, unless the
// task was also cancelled from elsewhere (then CancelledError goes on).
#pragma once

#include <chrono>
#include <optional>
#include <type_traits>
#include <utility>

#include "concur/asyncio/task.hpp"

namespace concur::asyncio {

class Timeout {
public:
    // Arms the deadline for the current task (none: no deadline yet).
    explicit Timeout(std::optional<Clock::time_point> when);
    Timeout(const Timeout&) = delete;
    ~Timeout() { disarm(); }

    std::optional<Clock::time_point> when() const noexcept { return when_; }
    // Moves the deadline (std::nullopt: none). Throws RuntimeError once
    // the timeout has expired or the scope has ended.
    void reschedule(std::optional<Clock::time_point> when);
    bool expired() const noexcept { return state_ == State::expiring || state_ == State::expired; }

    // The scope's end: returns true if `cancelled` (the body ended with
    // CancelledError) is to become TimeoutError. Python's __aexit__.
    bool exit(bool cancelled) noexcept;

private:
    enum class State { entered, expiring, expired, exited };
    struct Timer : detail::TimerEntry {
        Timeout* owner = nullptr;
    };
    void disarm() noexcept;
    void on_timeout() noexcept;

    detail::TaskBase* task_;
    std::optional<Clock::time_point> when_;
    Timer timer_;
    Handle expiry_;  // on_timeout() queued by the timer, until it runs
    uint32_t cancelling_ = 0;
    State state_ = State::entered;
};

namespace detail {
template <class T>
Task<T> run_with_timeout(std::optional<Clock::time_point> when, Task<T> body) {
    Timeout cm(when);
    bool timed_out = false;
    try {
        if constexpr (std::is_void_v<T>) {
            co_await std::move(body);
            cm.exit(false);
            co_return;
        } else {
            T v = co_await std::move(body);
            cm.exit(false);
            co_return v;
        }
    } catch (const CancelledError&) {
        timed_out = cm.exit(true);
        if (!timed_out) throw;
    } catch (...) {
        cm.exit(false);
        throw;
    }
    throw TimeoutError("the timeout expired");
}
}  // namespace detail

// Runs `body` with a deadline at `when`. Throws TimeoutError if it passed
// (after the body has finished unwinding), or what the body throws.
template <class T>
Task<T> timeout_at(std::optional<Clock::time_point> when, Task<T> body) {
    return detail::run_with_timeout(when, std::move(body));
}
template <class T, class Rep, class Period>
Task<T> timeout(std::chrono::duration<Rep, Period> delay, Task<T> body) {
    return detail::run_with_timeout(detail::deadline_after(delay), std::move(body));
}

// The same with a body that receives the Timeout, to read or move it.
template <class F>
    requires std::is_invocable_v<F&, Timeout&>
auto timeout_at(std::optional<Clock::time_point> when, F body) -> std::invoke_result_t<F&, Timeout&> {
    using T = typename std::invoke_result_t<F&, Timeout&>::value_type;
    Timeout cm(when);
    try {
        if constexpr (std::is_void_v<T>) {
            co_await body(cm);
            cm.exit(false);
            co_return;
        } else {
            T v = co_await body(cm);
            cm.exit(false);
            co_return v;
        }
    } catch (const CancelledError&) {
        if (!cm.exit(true)) throw;
    } catch (...) {
        cm.exit(false);
        throw;
    }
    throw TimeoutError("the timeout expired");
}
template <class F, class Rep, class Period>
    requires std::is_invocable_v<F&, Timeout&>
auto timeout(std::chrono::duration<Rep, Period> delay, F body) {
    return timeout_at(detail::deadline_after(delay), std::move(body));
}

}  // namespace concur::asyncio
