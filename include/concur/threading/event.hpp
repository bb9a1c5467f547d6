// threading.Event: a flag that threads can wait on until another sets it.
//
// Thread safety: any member from any thread at the same time. Not movable.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "concur/detail/deadline.hpp"

namespace concur::threading {

class Event {
public:
    Event() = default;
    Event(const Event&) = delete;
    Event& operator=(const Event&) = delete;

    // Whether the flag is set now. Never blocks.
    bool is_set() const noexcept { return (word_.load(std::memory_order_acquire) & kSet) != 0; }

    // Sets the flag and wakes every waiting thread. Never blocks.
    void set() noexcept;

    // Clears the flag; wait() blocks again afterwards. Never blocks.
    void clear() noexcept { word_.fetch_and(~kSet, std::memory_order_relaxed); }

    // Blocks until the flag is set, or until `timeout` passes. Returns true if
    // the flag was set, or was set while the caller waited even if it has been
    // cleared since (as Python); false only on timeout. Throws ValueError for
    // a negative timeout.
    bool wait() { return wait_deadline(concur::detail::Deadline()); }
    template <class Rep, class Period>
    bool wait(std::chrono::duration<Rep, Period> timeout) {
        return wait_deadline(concur::detail::Deadline(timeout));
    }
    // As wait(timeout), with an absolute time (std's spelling); a time in the
    // past means "do not block".
    template <class C, class D>
    bool wait_until(const std::chrono::time_point<C, D>& when) {
        auto left = when - C::now();
        return wait_deadline(left > left.zero() ? concur::detail::Deadline(left)
                                                : concur::detail::Deadline(left.zero()));
    }

private:
    bool wait_deadline(const concur::detail::Deadline& d);

    static constexpr uint32_t kSet = 1;
    static constexpr uint32_t kWaiters = 2;
    static constexpr uint32_t kGeneration = 4;
    // The state word, three fields:
    //   bit 0 (kSet)      the flag
    //   bit 1 (kWaiters)  some thread may sleep on the word: set() must wake
    //   bits 2..31        generation, bumped by each set() that finds the flag
    //                     clear, so that a waiter woken after a set(); clear()
    //                     pair still sees that it was signalled
    std::atomic<uint32_t> word_{0};
};

}  // namespace concur::threading
