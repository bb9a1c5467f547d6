// Python's queue.SimpleQueue: an unbounded FIFO with no task tracking and no
// shutdown, for when Queue's bookkeeping is not wanted.
//
//   put() (never waits for space) ---> [ deque, one mutex ] ---> get()
//                                        notify one getter        parks on
//                                        per item                 not_empty_
//
// Users include <concur/queue.hpp>.
#pragma once

#include <chrono>
#include <concepts>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <utility>

#include "concur/detail/deadline.hpp"
#include "concur/errors.hpp"

namespace concur::queue {

// Any thread may call any member. Destroying the queue while another thread
// is still inside one of its members is undefined behaviour.
template <class T>
class SimpleQueue {
public:
    using value_type = T;

    SimpleQueue() = default;
    SimpleQueue(const SimpleQueue&) = delete;
    SimpleQueue& operator=(const SimpleQueue&) = delete;

    // Appends `item` and wakes one getter. Blocks only on the mutex. Throws
    // only what allocating or constructing the item throws, and then leaves
    // `item` untouched.
    template <class U = T>
        requires std::convertible_to<U&&, T>
    void put(U&& item) {
        std::lock_guard lock(mutex_);
        items_.emplace_back(std::forward<U>(item));
        not_empty_.notify_one();
    }

    // The same as put(item): the queue has no bound to wait on.
    template <class U = T>
        requires std::convertible_to<U&&, T>
    void put_nowait(U&& item) {
        put(std::forward<U>(item));
    }

    // Removes and returns the oldest item, blocking on not_empty until there
    // is one. Throws nothing of its own.
    T get() { return get_impl(true, NoTimeout{}); }

    // get(false) is get_nowait(); get(true) is get().
    T get(bool block) { return get_impl(block, NoTimeout{}); }

    // Like get(), but throws Empty if no item arrives within `timeout`, and
    // ValueError for a negative timeout when `block` is true (even if an item
    // is ready, as Python). `timeout` is ignored when `block` is false.
    template <class Rep, class Period>
    T get(bool block, std::chrono::duration<Rep, Period> timeout) {
        return get_impl(block, &timeout);
    }

    // get(timeout) is get(true, timeout).
    template <class Rep, class Period>
    T get(std::chrono::duration<Rep, Period> timeout) {
        return get_impl(true, &timeout);
    }

    // Removes and returns the oldest item if there is one; never blocks
    // (beyond the mutex). Throws Empty.
    T get_nowait() { return get_impl(false, NoTimeout{}); }

    // The number of items queued now; stale as soon as it returns.
    [[nodiscard]] std::size_t qsize() const {
        std::lock_guard lock(mutex_);
        return items_.size();
    }

    // qsize() == 0, with the same caveat.
    [[nodiscard]] bool empty() const {
        std::lock_guard lock(mutex_);
        return items_.empty();
    }

private:
    using NoTimeout = const std::chrono::nanoseconds*;

    template <class Timeout>
    T get_impl(bool block, const Timeout* timeout) {
        // Validated before looking at the queue, as CPython's _queue does.
        concur::detail::Deadline deadline;
        if (block && timeout != nullptr) deadline = concur::detail::Deadline(*timeout);
        std::unique_lock lock(mutex_);
        while (items_.empty()) {
            if (!block || deadline.expired()) throw Empty();
            if (deadline.forever())
                not_empty_.wait(lock);
            else
                not_empty_.wait_until(lock, deadline.at());
        }
        T item = std::move(items_.front());
        items_.pop_front();
        return item;
    }

    mutable std::mutex mutex_;
    std::condition_variable not_empty_;  // put() -> one getter
    std::deque<T> items_;
};

}  // namespace concur::queue
