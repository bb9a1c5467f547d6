// Python's timeouts, C++'s durations: converting an optional relative timeout
// into an absolute deadline once, so that loops which wake spuriously never
// stretch the caller's timeout.
#pragma once

#include <chrono>
#include <optional>

#include "concur/errors.hpp"
#include "concur/detail/futex.hpp"

namespace concur::detail {

// An absolute steady-clock deadline, or none (wait forever).
class Deadline {
public:
    Deadline() = default;

    // Throws ValueError for a negative timeout, as Python does.
    template <class Rep, class Period>
    explicit Deadline(std::chrono::duration<Rep, Period> timeout) {
        if (timeout < timeout.zero())
            throw ValueError("timeout must be a non-negative duration");
        auto now = Clock::now();
        // Saturate instead of overflowing for huge timeouts (e.g. hours::max()).
        auto max_left = Clock::time_point::max() - now;
        if (std::chrono::duration_cast<std::chrono::duration<double>>(timeout) >=
            std::chrono::duration_cast<std::chrono::duration<double>>(max_left))
            return;
        at_ = now + std::chrono::ceil<Clock::duration>(timeout);
        has_ = true;
    }

    template <class Rep, class Period>
    static Deadline from(const std::optional<std::chrono::duration<Rep, Period>>& t) {
        return t ? Deadline(*t) : Deadline();
    }

    bool forever() const noexcept { return !has_; }
    bool expired() const noexcept { return has_ && Clock::now() >= at_; }
    const Clock::time_point* get() const noexcept { return has_ ? &at_ : nullptr; }
    Clock::time_point at() const noexcept { return has_ ? at_ : Clock::time_point::max(); }

private:
    Clock::time_point at_{};
    bool has_ = false;
};

}  // namespace concur::detail
